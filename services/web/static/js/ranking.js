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
  // Moves count from the "since" point (each row's change.rank_before); when nobody was ranked
  // then, from the previous edition (cfg.prevRanks) or from when the page was opened.
  var baseline = cfg.basis === "edition" ? cfg.prevRanks : null;
  var whys = {};  // city_id -> why it last moved, from the stream's drivers
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

  function rankThen(item) {
    if (cfg.basis === "since") return item.change ? item.change.rank_before : null;
    if (cfg.basis === "none") return item.rank;
    return baseline ? baseline[item.city_id] : undefined;
  }

  function signed(v) {
    return (v >= 0 ? "+" : "−") + Math.abs(Math.round(v * 10) / 10).toFixed(1);
  }

  /* Show a row's move as rank then - rank now; rank then is kept on the cell. */
  function showMove(tr, before, rank, scoreChange) {
    var sym = field(tr, "mv"), text = field(tr, "mv-text"), cell = field(tr, "move");
    cell.setAttribute("data-rank-then", before === undefined || before === null ? "" : before);
    var tip = scoreChange === null || scoreChange === undefined ? "" : "Score " + signed(scoreChange) + " points";
    var cls, s, t;
    if (before === undefined || before === null) {
      cls = "new"; s = "new"; t = "new in the ranking";
    } else if (before === rank) {
      cls = "same"; s = "–"; t = "no change";
    } else if (before > rank) {
      cls = "up"; s = "▲ " + (before - rank); t = "up " + (before - rank);
    } else {
      cls = "down"; s = "▼ " + (rank - before); t = "down " + (rank - before);
    }
    sym.className = "mv " + cls;
    sym.textContent = s;
    if (tip && cls !== "new") { sym.setAttribute("title", tip); t += ", " + tip.toLowerCase(); }
    else sym.removeAttribute("title");
    text.textContent = t;
  }

  function setMovement(tr, item) {
    showMove(tr, rankThen(item), item.rank,
             cfg.basis === "since" && item.change ? item.change.score_change : null);
    var why = field(tr, "why");
    why.textContent = whys[item.city_id] || "";
    why.hidden = !whys[item.city_id];
  }

  /* "▲ Research +2.1 (AI publications, feed seoul-open-data)" from a change's drivers. */
  function whyText(c) {
    var d = c.drivers || {}, ps = d.pillars || [], inds = d.indicators || [];
    if (!ps.length && !inds.length) return "";
    var p = ps[0];
    var delta = c.score_delta !== null && c.score_delta !== undefined ? c.score_delta
      : (p ? p.contribution : 0);
    var text = delta >= 0 ? "▲" : "▼";
    if (p) text += " " + (cfg.names[p.pillar] || p.pillar) + " " + signed(p.contribution);
    var ind = inds.filter(function (i) { return p && i.pillar === p.pillar; })[0] || inds[0];
    if (ind) {
      var bits = [cfg.names[ind.indicator] || ind.indicator];
      if (ind.feed) bits.push("feed " + ind.feed);
      text += " (" + bits.join(", ") + ")";
    }
    return text;
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

  function apiQuery() {
    var p = new URLSearchParams();
    Object.keys(cfg.apiArgs || {}).forEach(function (k) { p.set(k, cfg.apiArgs[k]); });
    return p;
  }

  function params(withPillar) {
    var p = apiQuery();
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
    if (cfg.asOf) page.set("as_of", cfg.asOf);
    Array.prototype.forEach.call(document.querySelectorAll("#since-nav a[data-since]"), function (a) {
      var p = new URLSearchParams(page.toString());
      var since = a.getAttribute("data-since");
      if (since) p.set("since", since);
      var q = p.toString();
      a.setAttribute("href", window.location.pathname + (q ? "?" + q : ""));
    });
    if (cfg.since) page.set("since", cfg.since);
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
    document.getElementById("as-of").textContent = A.fmtDay(doc.index_date);
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
    var q = apiQuery().toString();
    return A.getJSON(cfg.api + (q ? "?" + q : "")).then(function (fresh) {
      if (doc && fresh.ranking_version < doc.ranking_version) return;  // a late, older reply
      doc = fresh;
      if (!baseline && cfg.basis === "opened") {
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

  /* A change over the stream: say why the row moved and move it now; the refresh follows. */
  function changed(c) {
    pendingFlash[c.city_id] = true;
    var why = whyText(c);
    if (why) {
      whys[c.city_id] = why;
      var tr = rows[c.city_id];
      var name = tr ? field(tr, "link").textContent : c.city_id;
      document.getElementById("why-live").textContent = name + ": " + why;
      if (tr && c.rank !== null && c.rank !== undefined && cfg.basis === "since") {
        var then = field(tr, "move").getAttribute("data-rank-then");
        showMove(tr, then === "" ? null : Number(then), c.rank, null);
      }
      if (tr) { field(tr, "why").textContent = why; field(tr, "why").hidden = false; }
    }
    refresh();
    bandsLater();
  }

  if (!cfg.asOf) {  // a past ranking never changes: no stream
    A.connect({
      url: cfg.stream,
      status: document.getElementById("live-status"),
      onSnapshot: function (s) { if (!doc || s.ranking_version !== doc.ranking_version) refresh(); },
      onChange: changed,
      onResync: refresh
    });
  }
  refresh();
})();
