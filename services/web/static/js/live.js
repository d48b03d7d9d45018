/* AI City Index: the live connection shared by the pages.
 *
 * One EventSource on /api/v1/stream. The browser reconnects by itself and sends the last
 * event id; if the source gives up (CLOSED) we open a new one with ?last_event_id= so the
 * server replays what was missed. After any reconnect the page re-reads its data, so a gap
 * can never leave stale numbers on screen. Untrusted text only ever goes into textContent.
 */
(function () {
  "use strict";

  var STATES = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    offline: "Offline — retrying"
  };

  function connect(opts) {
    var statusEl = opts.status;
    var lastId = null;
    var es = null;
    var opened = false;
    var delay = 1000;
    var timer = null;

    function setState(state) {
      if (!statusEl) return;
      statusEl.setAttribute("data-state", state);
      var text = statusEl.querySelector("[data-f=text]") || statusEl;
      text.textContent = STATES[state];
    }

    function remember(e) {
      if (e.lastEventId) lastId = e.lastEventId;
    }

    function parse(e) {
      try { return JSON.parse(e.data); } catch (err) { return null; }
    }

    function open() {
      timer = null;
      var url = opts.url;
      if (lastId) url += (url.indexOf("?") < 0 ? "?" : "&") + "last_event_id=" + encodeURIComponent(lastId);
      es = new EventSource(url);
      es.addEventListener("open", function () {
        delay = 1000;
        setState("live");
        if (opened && opts.onResync) opts.onResync();  // we may have missed something
        opened = true;
      });
      es.addEventListener("snapshot", function (e) {
        remember(e);
        var data = parse(e);
        if (data && opts.onSnapshot) opts.onSnapshot(data);
      });
      es.addEventListener("change", function (e) {
        remember(e);
        var data = parse(e);
        if (data && opts.onChange) opts.onChange(data);
      });
      es.addEventListener("reset", function () {
        lastId = null;
        if (opts.onResync) opts.onResync();
      });
      es.addEventListener("error", function () {
        // Fires for network errors and for the server's own "error" event alike.
        if (es.readyState === EventSource.CLOSED) {
          setState("offline");
          es.close();
          if (!timer) timer = window.setTimeout(open, delay);
          delay = Math.min(delay * 2, 30000);
        } else {
          setState("reconnecting");
        }
      });
    }

    setState("connecting");
    open();
    window.addEventListener("pagehide", function () { if (es) es.close(); });
    window.addEventListener("pageshow", function (e) {
      // Back from the page cache: the old connection is gone, so resume and re-read.
      if (e.persisted) { opened = true; setState("reconnecting"); open(); }
    });
    return { lastId: function () { return lastId; } };
  }

  /* Call fn at most once at a time; calls made meanwhile collapse into one more run. */
  function serial(fn, wait) {
    var running = false, again = false, timer = null;
    function run() {
      timer = null;
      if (running) { again = true; return; }
      running = true;
      Promise.resolve(fn()).catch(function () {}).then(function () {
        running = false;
        if (again) { again = false; schedule(); }
      });
    }
    function schedule() { if (!timer) timer = window.setTimeout(run, wait || 0); }
    return schedule;
  }

  function fmt1(v) {
    return v === null || v === undefined ? "—" : (Math.round(v * 10) / 10).toFixed(1);
  }

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function fmtDay(iso) {
    if (!iso) return "—";
    var p = iso.slice(0, 10).split("-");
    return Number(p[2]) + " " + MONTHS[Number(p[1]) - 1] + " " + p[0];
  }

  function fmtTime(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "—";
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + " UTC";
  }

  /* Restart a CSS animation class on an element (used for the change highlight). */
  function flash(el, cls) {
    el.classList.remove(cls);
    void el.offsetWidth;
    el.classList.add(cls);
    window.setTimeout(function () { el.classList.remove(cls); }, 2600);
  }

  function getJSON(url) {
    return fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(url + ": HTTP " + r.status);
        return r.json();
      });
  }

  window.AICity = {
    connect: connect, serial: serial, fmt1: fmt1, fmtDay: fmtDay, fmtTime: fmtTime,
    flash: flash, getJSON: getJSON
  };
})();
