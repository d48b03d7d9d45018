/* AI City Index: the live ranking table — sort, filter, search, and updates from the stream.
 *
 * The server renders the table for the URL's state; this script takes over: it keeps the
 * latest /api/v1/rankings document, re-renders rows in place (reusing each city's <tr>),
 * keeps the URL and download links in step with the view, and re-reads the ranking whenever
 * the stream reports a change. Rows are built from a <template> and filled via textContent.
 */
(function () {
  "use strict";
  var A = window.AICity;
  var cfg = JSON.parse(document.getElementById("page-data").textContent);
  var state = { sort: cfg.sort, dir: cfg.dir, region: cfg.region || "", q: cfg.q || "", fresh: !!cfg.fresh };
  var doc = null;
  var baseline = cfg.prevRanks;  // rank in the previous edition; null until we pick one
  var shown = {};  // city_id -> {score, rank} as last displayed, to highlight changes
  var pendingFlash = {};

  var table = document.getElementById("ranking");
  var tbody = document.getElementById("rows");
  var template = document.getElementById("row-template");
  var sortSel = document.getElementById("sort");
  var rows = {};

  Array.prototype.slice.call(tbody.childNodes).forEach(function (n) {
    if (n.nodeType !== 1) tbody.removeChild(n);
    else rows[n.getAttribute("data-city")] = n;
  });

  function field(tr, name) { return tr.querySelector("[data-f=\"" + name + "\"]"); }

  function newRow() {
    return template.content.querySelector("tr").cloneNode(true);
  }

  function cityUrl(base, id) { return base.replace("CITY", encodeURIComponent(id)); }

  function valueOf(item) {
    var v = state.sort === "overall" ? item.score : item.pillars[state.sort];
    return v === null || v === undefined ? -1 : v;
  }

  function compare(a, b) {
    var d = valueOf(b) - valueOf(a);
    if (d === 0) d = a.city_id < b.city_id ? -1 : (a.city_id > b.city_id ? 1 : 0);
    return state.dir === "asc" ? -d : d;
  }

  function matches(item) {
    if (state.region && (item.region || "").toLowerCase() !== state.region.toLowerCase()) return false;
    if (state.fresh && item.stale !== false) return false;
    if (!state.q) return true;
    var q = state.q.toLowerCase();
    return (item.name || "").toLowerCase().indexOf(q) >= 0 ||
      (item.country || "").toLowerCase().indexOf(q) >= 0 || item.city_id.indexOf(q) >= 0;
  }

  function setMovement(tr, item) {
    var sym = field(tr, "mv"), text = field(tr, "mv-text");
    var before = baseline ? baseline[item.city_id] : undefined;
    var cls, s, t;
    if (before === undefined || before === null) {
      cls = "new"; s = "new"; t = "new in the ranking";
    } else if (before === item.rank) {
      cls = "same"; s = "–"; t = "no change";
    } else if (before > item.rank) {
      cls = "up"; s = "▲ " + (before - item.rank); t = "up " + (before - item.rank);
    } else {
      cls = "down"; s = "▼ " + (item.rank - before); t = "down " + (item.rank - before);
    }
    sym.className = "mv " + cls;
    sym.textContent = s;
    text.textContent = t;
  }

  function fill(tr, item) {
    tr.setAttribute("data-city", item.city_id);
    field(tr, "rank").textContent = item.rank;
    var link = field(tr, "link");
    link.textContent = item.name || item.city_id;
    link.setAttribute("href", cityUrl(cfg.cityBase, item.city_id));
    field(tr, "sub").textContent = (item.country || "") + " · " + (item.region || "");
    field(tr, "country").textContent = item.country || "";
    field(tr, "region").textContent = item.region || "";
    var score = field(tr, "score");
    score.textContent = A.fmt1(item.score);
    score.classList.toggle("is-sorted", state.sort === "overall");
    var stale = field(tr, "stale");
    stale.hidden = item.stale === false;
    stale.setAttribute("title", item.last_data_at ? "Newest data: " + item.last_data_at.slice(0, 10) : "No dated data");
    Array.prototype.forEach.call(tr.querySelectorAll("td[data-p]"), function (td) {
      var code = td.getAttribute("data-p");
      var v = item.pillars[code];
      td.querySelector("rect.fill").setAttribute("width", (v === null || v === undefined ? 0 : Math.round(v * 100) / 100) + "%");
      field(td, "v").textContent = A.fmt1(v);
      td.classList.toggle("is-sorted", state.sort === code);
    });
    setMovement(tr, item);
    setBand(tr, item);
  }

  /* The rank band as an interval around the rank: 2.5% per place, 20 places each way. */
  function setBand(tr, item) {
    var el = field(tr, "band"), b = item.rank_band;
    el.hidden = !b;
    if (!b) { el.removeAttribute("title"); field(tr, "band-text").textContent = ""; return; }
    var lo = Math.min(Math.max(item.rank - b.p05, 0), 20), hi = Math.min(Math.max(b.p95 - item.rank, 0), 20);
    var span = el.querySelector("rect.span");
    span.setAttribute("x", (50 - lo * 2.5) + "%");
    span.setAttribute("width", ((lo + hi) * 2.5) + "%");
    el.setAttribute("title", "Ranks " + b.p05 + "–" + b.p95 + " in 90% of plausible weightings (median " + b.median + ")");
    field(tr, "band-text").textContent = ", ranks " + b.p05 + "–" + b.p95 + " in 90% of weightings";
  }

  function params(withPillar) {
    var p = new URLSearchParams();
    if (state.region) p.set("region", state.region);
    if (withPillar && state.sort !== "overall") p.set("pillar", state.sort);
    if (state.fresh) p.set("fresh", "true");
    return p;
  }

  function syncChrome(count) {
    var page = new URLSearchParams();
    if (state.sort !== "overall") page.set("sort", state.sort);
    if (state.dir === "asc") page.set("dir", "asc");
    if (state.region) page.set("region", state.region);
    if (state.q) page.set("q", state.q);
    if (state.fresh) page.set("fresh", "true");
    var qs = page.toString();
    window.history.replaceState(null, "", window.location.pathname + (qs ? "?" + qs : "") + window.location.hash);
    var dl = params(true).toString();
    document.getElementById("dl-csv").setAttribute("href", cfg.csv + (dl ? "?" + dl : ""));
    document.getElementById("dl-json").setAttribute("href", cfg.api + (dl ? "?" + dl : ""));
    document.getElementById("dir").value = state.dir;
    Array.prototype.forEach.call(table.tHead.querySelectorAll("th"), function (th) {
      var btn = th.querySelector("button[data-sort]");
      if (!btn) return;
      var on = btn.getAttribute("data-sort") === state.sort;
      th.classList.toggle("is-sorted", on);
      if (on) th.setAttribute("aria-sort", state.dir === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
      th.querySelector(".sort-arrow").textContent = on ? (state.dir === "asc" ? "▲" : "▼") : "";
    });
    table.setAttribute("data-sort", state.sort);
    var total = doc ? doc.items.length : count;
    var summary = "Showing " + count + " of " + total + " ranked cities" + (state.sort === "overall" ? "" :
      ", sorted by " + sortSel.options[sortSel.selectedIndex].text + " (rank is the overall rank)");
    var counter = document.getElementById("result-count");
    if (counter.textContent !== summary) counter.textContent = summary;  // announced politely
    document.getElementById("no-rows").hidden = count > 0;
  }

  function render() {
    if (!doc) return;
    var items = doc.items.filter(matches).sort(compare);
    var cursor = tbody.firstChild;
    items.forEach(function (item) {
      var tr = rows[item.city_id];
      if (!tr) { tr = newRow(); rows[item.city_id] = tr; }
      fill(tr, item);
      if (tr === cursor) cursor = cursor.nextSibling;
      else tbody.insertBefore(tr, cursor);
    });
    while (cursor) {
      var next = cursor.nextSibling;
      tbody.removeChild(cursor);
      cursor = next;
    }
    items.forEach(function (item) {
      var was = shown[item.city_id];
      if (pendingFlash[item.city_id] || (was && was.score !== item.score)) {
        A.flash(rows[item.city_id], "flash");
      } else if (was && was.rank !== item.rank) {
        A.flash(rows[item.city_id], "shift");
      }
    });
    shown = {};
    doc.items.forEach(function (item) { shown[item.city_id] = { score: item.score, rank: item.rank }; });
    pendingFlash = {};
    syncChrome(items.length);
  }

  function renderMeta() {
    document.getElementById("ranking-version").textContent = doc.ranking_version;
    document.getElementById("updated-at").textContent = A.fmtTime(doc.updated_at);
    document.getElementById("as-of").textContent = A.fmtDay(doc.as_of);
    document.getElementById("methodology-version").textContent = doc.methodology_version;
    table.setAttribute("data-version", doc.ranking_version);
  }

  var names = {};
  function renderUnranked() {
    var section = document.getElementById("unranked");
    var list = document.getElementById("unranked-list");
    Array.prototype.forEach.call(list.querySelectorAll("li[data-city] a"), function (a) {
      names[a.parentNode.getAttribute("data-city")] = a.textContent;
    });
    list.textContent = "";
    doc.unranked.forEach(function (u) {
      var li = document.createElement("li");
      li.setAttribute("data-city", u.city_id);
      var a = document.createElement("a");
      a.setAttribute("href", cityUrl(cfg.cityBase, u.city_id));
      a.textContent = names[u.city_id] || u.city_id;
      var reason = document.createElement("span");
      reason.className = "reason";
      reason.textContent = u.reason;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(reason);
      list.appendChild(li);
      if (!names[u.city_id]) {
        A.getJSON(cityUrl(cfg.cityApi, u.city_id)).then(function (c) {
          names[u.city_id] = c.name;
          a.textContent = c.name || u.city_id;
        }).catch(function () {});
      }
    });
    document.getElementById("unranked-count").textContent = doc.unranked.length;
    section.hidden = doc.unranked.length === 0;
  }

  // Rank bands follow a change by up to ~10 s (a debounced worker task): read once more then.
  var bandTimer = null;
  function bandsLater() {
    if (bandTimer) window.clearTimeout(bandTimer);
    bandTimer = window.setTimeout(function () { bandTimer = null; refresh(); }, 12000);
  }

  var refresh = A.serial(function () {
    return A.getJSON(cfg.api).then(function (fresh) {
      if (doc && fresh.ranking_version < doc.ranking_version) return;  // a late, older reply
      doc = fresh;
      if (!baseline && !cfg.prevDate) {
        // First edition: movement counts from the ranking as it was when the page opened.
        baseline = {};
        doc.items.forEach(function (i) { baseline[i.city_id] = i.rank; });
      }
      renderMeta();
      render();
      renderUnranked();
      document.documentElement.setAttribute("data-ready", "");
    });
  }, 30);

  /* Controls */
  var controls = document.getElementById("controls");
  controls.addEventListener("submit", function (e) { e.preventDefault(); render(); });
  var search = document.getElementById("q");
  search.addEventListener("input", function () { state.q = search.value.trim(); render(); });
  var region = document.getElementById("region");
  region.addEventListener("change", function () { state.region = region.value; render(); });
  var freshBox = document.getElementById("fresh");
  freshBox.addEventListener("change", function () { state.fresh = freshBox.checked; render(); });
  sortSel.addEventListener("change", function () { state.sort = sortSel.value; state.dir = "desc"; render(); });
  table.tHead.addEventListener("click", function (e) {
    var btn = e.target.closest("button[data-sort]");
    if (!btn) return;
    var key = btn.getAttribute("data-sort");
    if (key === state.sort) state.dir = state.dir === "asc" ? "desc" : "asc";
    else { state.sort = key; state.dir = "desc"; }
    sortSel.value = state.sort;
    render();
  });

  A.connect({
    url: cfg.stream,
    status: document.getElementById("live-status"),
    onSnapshot: function (s) { if (!doc || s.ranking_version !== doc.ranking_version) refresh(); },
    onChange: function (c) { pendingFlash[c.city_id] = true; refresh(); bandsLater(); },
    onResync: refresh
  });
  refresh();
})();
