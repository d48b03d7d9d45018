/* AI City Index: /explore — re-rank with the reader's pillar weights.
 *
 * The server renders the page for the URL's weights; this script re-reads
 * /api/v1/rankings?weights=…&aggregation=… as the sliders move (at most one request in
 * flight, the latest state wins), redraws the table and the biggest movers from that
 * document, and keeps the state in the URL (history.replaceState) so it can be shared.
 * Every number shown is the API's; untrusted text only goes into textContent.
 */
(function () {
  "use strict";
  var A = window.AICity;
  var cfg = JSON.parse(document.getElementById("page-data").textContent);
  var form = document.getElementById("explore");
  var tbody = document.getElementById("whatif-rows");
  var status = document.getElementById("explore-status");
  var sliders = cfg.pillars.map(function (code) { return document.getElementById("w-" + code); });
  var shown = null;  // the query string of the document on screen

  function cityUrl(id) { return cfg.cityBase.replace("CITY", encodeURIComponent(id)); }

  function aggregation() {
    var checked = form.querySelector("input[name=aggregation]:checked");
    return checked ? checked.value : cfg.official.aggregation;
  }

  function query() {
    var weights = cfg.pillars.map(function (code, i) {
      return code + ":" + Number(sliders[i].value);
    }).join(",");
    return "weights=" + encodeURIComponent(weights).replace(/%3A/g, ":").replace(/%2C/g, ",") +
      "&aggregation=" + encodeURIComponent(aggregation());
  }

  function setShares(shares) {
    cfg.pillars.forEach(function (code, i) {
      var out = document.querySelector("[data-share=\"" + code + "\"]");
      out.textContent = shares === null ? "—" : Math.round(shares[i] * 100) + "%";
    });
  }

  function localShares() {
    var values = sliders.map(function (s) { return Number(s.value); });
    var total = values.reduce(function (a, b) { return a + b; }, 0);
    return total > 0 ? values.map(function (v) { return v / total; }) : null;
  }

  function moveCell(td, move) {
    td.textContent = "";
    var span = document.createElement("span");
    if (move > 0) { span.className = "mv up"; span.textContent = "▲ " + move; }
    else if (move < 0) { span.className = "mv down"; span.textContent = "▼ " + (-move); }
    else { span.className = "mv same"; span.textContent = "–"; }
    td.appendChild(span);
  }

  function cell(tag, cls, name, text) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    el.setAttribute("data-f", name);
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function row(item) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-city", item.city_id);
    tr.appendChild(cell("td", "c-rank", "rank", String(item.rank)));
    var mv = cell("td", "c-move", "move");
    moveCell(mv, item.official_rank - item.rank);
    tr.appendChild(mv);
    var th = document.createElement("th");
    th.setAttribute("scope", "row");
    th.className = "c-city";
    var a = cell("a", "", "link", item.name || item.city_id);
    a.setAttribute("href", cityUrl(item.city_id));
    th.appendChild(a);
    tr.appendChild(th);
    tr.appendChild(cell("td", "c-score", "score", A.fmt1(item.score)));
    tr.appendChild(cell("td", "num", "official-rank", String(item.official_rank)));
    tr.appendChild(cell("td", "num", "official-score", A.fmt1(item.official_score)));
    return tr;
  }

  function moverList(el, items, up) {
    el.textContent = "";
    if (!items.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "None";
      el.appendChild(none);
      return;
    }
    items.forEach(function (i) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.setAttribute("href", cityUrl(i.city_id));
      a.textContent = i.name || i.city_id;
      var mv = document.createElement("span");
      mv.className = "mv " + (up ? "up" : "down");
      mv.textContent = (up ? "▲ " : "▼ ") + Math.abs(i.official_rank - i.rank);
      var span = document.createElement("span");
      span.className = "muted";
      span.textContent = i.official_rank + " → " + i.rank;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(mv);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(span);
      el.appendChild(li);
    });
  }

  function movers(items) {
    var moved = items.filter(function (i) { return i.official_rank !== i.rank; });
    var up = moved.filter(function (i) { return i.official_rank > i.rank; }).sort(function (a, b) {
      return (a.rank - a.official_rank) - (b.rank - b.official_rank) || a.rank - b.rank;
    });
    var down = moved.filter(function (i) { return i.official_rank < i.rank; }).sort(function (a, b) {
      return (a.official_rank - a.rank) - (b.official_rank - b.rank) || a.rank - b.rank;
    });
    moverList(document.getElementById("movers-up"), up.slice(0, cfg.movers), true);
    moverList(document.getElementById("movers-down"), down.slice(0, cfg.movers), false);
  }

  function render(doc, qs) {
    var frag = document.createDocumentFragment();
    doc.items.forEach(function (item) { frag.appendChild(row(item)); });
    tbody.textContent = "";
    tbody.appendChild(frag);
    movers(doc.items);
    setShares(cfg.pillars.map(function (code) { return doc.weights[code]; }));
    document.getElementById("dl-json").setAttribute("href", cfg.api + "?" + qs);
    var changed = doc.items.filter(function (i) { return i.official_rank !== i.rank; }).length;
    status.textContent = doc.items.length + " cities re-ranked; " + changed +
      (changed === 1 ? " city changes" : " cities change") + " rank against the official ranking.";
    shown = qs;
    document.documentElement.setAttribute("data-ready", qs);
  }

  var refresh = A.serial(function () {
    var qs = query();
    if (localShares() === null) {
      status.textContent = "Give at least one pillar some weight to rank the cities.";
      return null;
    }
    window.history.replaceState(null, "", cfg.page + "?" + qs);
    if (qs === shown) return null;
    return A.getJSON(cfg.api + "?" + qs).then(function (doc) {
      if (qs === query()) render(doc, qs);  // a newer state is on its way otherwise
    }).catch(function () {
      status.textContent = "Could not re-rank just now; move a slider to try again.";
    });
  }, 120);

  form.addEventListener("input", function () { setShares(localShares()); refresh(); });
  form.addEventListener("change", function () { refresh(); });
  form.addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
  document.getElementById("reset").addEventListener("click", function (e) {
    e.preventDefault();
    sliders.forEach(function (s, i) { s.value = Math.round(cfg.official.weights[i] * 100); });
    var official = form.querySelector("input[name=aggregation][value=\"" + cfg.official.aggregation + "\"]");
    if (official) official.checked = true;
    setShares(localShares());
    refresh();
  });

  shown = window.location.search.indexOf("weights=") >= 0 ? query() : null;
  document.documentElement.setAttribute("data-ready", "server");
})();
