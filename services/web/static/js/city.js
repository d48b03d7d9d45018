/* AI City Index: live figures on a city page.
 *
 * Any change in the ranking can move this city's rank, so each change re-reads the city's
 * JSON and updates the key figures and pillar table in place (textContent only). When the
 * city's own scores change, a note offers a reload for the indicators and history.
 */
(function () {
  "use strict";
  var A = window.AICity;
  var cfg = JSON.parse(document.getElementById("page-data").textContent);
  if (cfg.asOf) return;  // a past profile never changes: no stream
  var figs = document.getElementById("keyfigs");
  var lastScore = cfg.score;
  var lastPillars = null;

  function set(root, name, text) {
    var el = root.querySelector("[data-f=\"" + name + "\"]");
    if (el) el.textContent = text;
  }

  function ordinal(n) {
    var s = (n % 100 >= 10 && n % 100 <= 20) ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th");
    return n + s;
  }

  function pct(v) { return v === null || v === undefined ? "—" : Math.round(v * 100) + "%"; }

  function update(doc) {
    set(figs, "score", A.fmt1(doc.score));
    set(figs, "rank", doc.rank || "—");
    set(figs, "region-rank", doc.region_rank || "—");
    set(figs, "coverage", pct(doc.coverage));
    var fresh = document.getElementById("freshness");
    if (fresh) {
      fresh.className = "badge " + (doc.stale === false ? "badge-fresh" : "badge-stale");
      fresh.textContent = (doc.stale === false ? "Current data" : "Stale data") + " · newest " +
        A.fmtDay(doc.last_data_at);
    }
    var band = document.getElementById("rank-band");
    if (band) {
      var b = doc.rank_band;
      band.hidden = !b;
      if (b) {
        var text = b.p05 === b.p95 ? "ranks " + ordinal(b.p05)
          : "ranks between " + ordinal(b.p05) + " and " + ordinal(b.p95);
        document.getElementById("rank-band-text").textContent = doc.name + " " + text +
          " in 90% of plausible weightings (median " + ordinal(b.median) + " over " +
          b.draws.toLocaleString("en") + " draws).";
      }
    }
    var pillars = JSON.stringify(doc.pillars);
    Object.keys(doc.pillars).forEach(function (code) {
      var tr = document.querySelector("#pillar-table tr[data-p=\"" + code + "\"]");
      if (!tr) return;
      var p = doc.pillars[code];
      set(tr, "score", A.fmt1(p.score));
      set(tr, "rank", p.rank || "—");
      set(tr, "coverage", pct(p.coverage));
      tr.querySelector("rect.fill").setAttribute("width", (p.score || 0) + "%");
    });
    var changed = doc.score !== lastScore || (lastPillars !== null && pillars !== lastPillars);
    if (changed) {
      A.flash(figs, "flash");
      document.getElementById("stale-note").hidden = false;
    }
    lastScore = doc.score;
    lastPillars = pillars;
  }

  // "What it takes" depends on the whole ranking: re-read this page's own rendering of the
  // section (the same query: the picked target, or by default the city now ranked above) and
  // put its body in place; nothing is built from strings here.
  var gap = document.getElementById("what-it-takes");
  function refreshGap() {
    if (!gap) return Promise.resolve();
    var url = window.location.pathname + window.location.search;
    return fetch(url, { cache: "no-store", headers: { "Accept": "text/html" } }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) return;
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("gap-body");
      var body = document.getElementById("gap-body");
      if (fresh && body && fresh.innerHTML !== body.innerHTML) {
        body.replaceWith(document.importNode(fresh, true));
      }
    });
  }

  var bandTimer = null;
  var refresh = A.serial(function () {
    return A.getJSON(cfg.api).then(update).then(refreshGap);
  }, 100);

  A.connect({
    url: cfg.stream,
    status: document.getElementById("live-status"),
    onChange: function () {
      refresh();
      // Rank bands follow a change by up to ~10 s (a debounced worker task): read again then.
      window.clearTimeout(bandTimer);
      bandTimer = window.setTimeout(refresh, 12000);
    },
    onResync: refresh
  });
  document.querySelector("#stale-note a").addEventListener("click", function (e) {
    e.preventDefault();
    window.location.reload();
  });
})();
