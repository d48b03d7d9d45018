/* AI City Index: the world map — country outlines, a marker per city, colour, tooltip, live.
 *
 * The server renders the markers and the list for the URL's colour; this script draws the
 * country outlines from the vendored world-atlas TopoJSON (with the vendored topojson-client,
 * same origin only), recolours on a new choice, shows a tooltip on hover and focus, and keeps
 * markers and list in step with /api/v1/rankings whenever the stream reports a change.
 */
(function () {
  "use strict";
  var A = window.AICity;
  var cfg = JSON.parse(document.getElementById("page-data").textContent);
  var P = cfg.projection;
  var SVG = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("world-map");
  var markers = document.getElementById("markers");
  var list = document.getElementById("map-list");
  var tip = document.getElementById("map-tip");
  var select = document.getElementById("colour");
  var colour = cfg.colour;
  var doc = null;

  function x(lon) { return Math.round((lon + 180) * P.scale * 100) / 100; }
  function y(lat) { return Math.round((P.north - lat) * P.scale * 100) / 100; }
  function cityUrl(id) { return cfg.cityBase.replace("CITY", encodeURIComponent(id)); }

  /* Country outlines: one path per country; a ring that jumps across the antimeridian
     starts a new subpath instead of drawing a line across the world. */
  function ringPath(ring) {
    var d = "", prev = null;
    ring.forEach(function (pt) {
      var jump = prev !== null && Math.abs(pt[0] - prev[0]) > 180;
      d += (prev === null || jump ? "M" : "L") + x(pt[0]) + "," + y(pt[1]);
      prev = pt;
    });
    return d + "Z";
  }

  function drawOutlines(topo) {
    var g = document.getElementById("countries");
    var features = window.topojson.feature(topo, topo.objects.countries).features;
    features.forEach(function (f) {
      if (!f.geometry) return;
      var polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
      var d = "";
      polys.forEach(function (poly) { poly.forEach(function (ring) { d += ringPath(ring); }); });
      var path = document.createElementNS(SVG, "path");
      path.setAttribute("class", "country");
      path.setAttribute("d", d);
      g.appendChild(path);
    });
    svg.setAttribute("data-outlines", String(features.length));
  }

  function valueOf(item) { return colour === "overall" ? item.score : item.pillars[colour]; }
  function binClass(v) {
    if (v === null || v === undefined) return "bin-none";
    return "bin-" + Math.min(P.bins - 1, Math.max(0, Math.floor(v / (100 / P.bins))));
  }
  function label(item) {
    return (item.name || item.city_id) + ": rank " + item.rank + ", " +
      cfg.names[colour].toLowerCase() + " " + A.fmt1(valueOf(item));
  }

  function markerFor(id) { return markers.querySelector("a.mk[data-city=\"" + CSS.escape(id) + "\"]"); }
  function rowFor(id) { return list.querySelector("li[data-city=\"" + CSS.escape(id) + "\"]"); }

  function newMarker(item) {
    var a = document.createElementNS(SVG, "a");
    a.setAttribute("class", "mk");
    a.setAttribute("data-city", item.city_id);
    a.setAttribute("href", cityUrl(item.city_id));
    var c = document.createElementNS(SVG, "circle");
    c.setAttribute("r", "6");
    a.appendChild(c);
    a.appendChild(document.createElementNS(SVG, "title"));
    return a;
  }

  function newRow(item) {
    var li = document.createElement("li");
    li.setAttribute("data-city", item.city_id);
    var sw = document.createElementNS(SVG, "svg");
    sw.setAttribute("class", "swatch-dot");
    sw.setAttribute("aria-hidden", "true");
    sw.setAttribute("focusable", "false");
    sw.setAttribute("width", "14");
    sw.setAttribute("height", "14");
    var c = document.createElementNS(SVG, "circle");
    c.setAttribute("cx", "7"); c.setAttribute("cy", "7"); c.setAttribute("r", "6");
    sw.appendChild(c);
    var a = document.createElement("a");
    a.setAttribute("href", cityUrl(item.city_id));
    var detail = document.createElement("span");
    detail.className = "muted";
    detail.setAttribute("data-f", "detail");
    li.appendChild(sw); li.appendChild(a); li.appendChild(document.createTextNode(" ")); li.appendChild(detail);
    return li;
  }

  function render() {
    if (!doc) return;
    var seen = {};
    doc.items.forEach(function (item) {
      seen[item.city_id] = true;
      var cls = binClass(valueOf(item));
      var text = label(item);
      var mk = markerFor(item.city_id);
      if (item.lat !== null && item.lat !== undefined && item.lon !== null && item.lon !== undefined) {
        if (!mk) { mk = newMarker(item); markers.appendChild(mk); }
        var c = mk.querySelector("circle");
        c.setAttribute("cx", x(item.lon)); c.setAttribute("cy", y(item.lat));
        c.setAttribute("class", cls);
        mk.setAttribute("aria-label", text);
        mk.querySelector("title").textContent = text;
      }
      var li = rowFor(item.city_id);
      if (!li) li = newRow(item);
      list.appendChild(li);  // in rank order
      li.querySelector("circle").setAttribute("class", cls);
      li.querySelector("a").textContent = item.name || item.city_id;
      li.querySelector("[data-f=detail]").textContent = "rank " + item.rank + " · " + A.fmt1(valueOf(item));
    });
    Array.prototype.slice.call(markers.querySelectorAll("a.mk")).forEach(function (a) {
      if (!seen[a.getAttribute("data-city")]) markers.removeChild(a);
    });
    Array.prototype.slice.call(list.children).forEach(function (li) {
      if (!seen[li.getAttribute("data-city")]) list.removeChild(li);
    });
    var name = cfg.names[colour];
    document.getElementById("legend-title").textContent = name;
    document.querySelector("#map-caption [data-f=colour-name]").textContent = name.toLowerCase();
    svg.setAttribute("data-version", String(doc.ranking_version));
  }

  /* Tooltip on hover and keyboard focus; the marker's own label says the same to readers. */
  function showTip(a) {
    var item = doc && doc.items.filter(function (i) { return i.city_id === a.getAttribute("data-city"); })[0];
    tip.querySelector("[data-f=name]").textContent = item ? (item.name || item.city_id) : "";
    tip.querySelector("[data-f=detail]").textContent = item ?
      "Rank " + item.rank + " · " + cfg.names[colour] + " " + A.fmt1(valueOf(item)) :
      a.getAttribute("aria-label");
    var box = a.getBoundingClientRect(), frame = svg.parentNode.getBoundingClientRect();
    tip.style.left = (box.left - frame.left + box.width / 2) + "px";
    tip.style.top = (box.top - frame.top) + "px";
    tip.hidden = false;
  }
  function hideTip() { tip.hidden = true; }
  ["mouseover", "focusin"].forEach(function (ev) {
    markers.addEventListener(ev, function (e) {
      var a = e.target.closest("a.mk");
      if (a) showTip(a);
    });
  });
  ["mouseout", "focusout"].forEach(function (ev) { markers.addEventListener(ev, hideTip); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") hideTip(); });

  select.addEventListener("change", function () {
    colour = select.value;
    var qs = colour === "overall" ? "" : "?colour=" + encodeURIComponent(colour);
    window.history.replaceState(null, "", window.location.pathname + qs + window.location.hash);
    render();
  });
  document.getElementById("map-controls").addEventListener("submit", function (e) { e.preventDefault(); });

  var refresh = A.serial(function () {
    return A.getJSON(cfg.api).then(function (fresh) {
      if (doc && fresh.ranking_version < doc.ranking_version) return;  // a late, older reply
      doc = fresh;
      render();
      document.documentElement.setAttribute("data-ready", "");
    });
  }, 30);

  A.getJSON(cfg.atlas).then(drawOutlines).catch(function () {
    svg.setAttribute("data-outlines", "failed");
  });
  A.connect({
    url: cfg.stream,
    status: document.getElementById("live-status"),
    onSnapshot: function (s) { if (!doc || s.ranking_version !== doc.ranking_version) refresh(); },
    onChange: refresh,
    onResync: refresh
  });
  refresh();
})();
