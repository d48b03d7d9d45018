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
  var figs = document.getElementById("keyfigs");
  var lastScore = cfg.score;
  var lastPillars = null;

  function set(root, name, text) {
    var el = root.querySelector("[data-f=\"" + name + "\"]");
    if (el) el.textContent = text;
  }

  function pct(v) { return v === null || v === undefined ? "—" : Math.round(v * 100) + "%"; }

  function update(doc) {
    set(figs, "score", A.fmt1(doc.score));
    set(figs, "rank", doc.rank || "—");
    set(figs, "region-rank", doc.region_rank || "—");
    set(figs, "coverage", pct(doc.coverage));
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

  var refresh = A.serial(function () { return A.getJSON(cfg.api).then(update); }, 100);

  A.connect({
    url: cfg.stream,
    status: document.getElementById("live-status"),
    onChange: refresh,
    onResync: refresh
  });
  document.querySelector("#stale-note a").addEventListener("click", function (e) {
    e.preventDefault();
    window.location.reload();
  });
})();
