// 综合态势一张图: the chosen area's children coloured by an indicator; click to drill down
// county → town → community → grid; at a grid, its cases as points linking to the case page.
(function () {
  "use strict";
  var el = document.getElementById("situation-map");
  if (!el || typeof L === "undefined") return;
  var config = JSON.parse(el.dataset.config);
  var state = { area: config.area, from: config.from, to: config.to, category: config.category, indicator: config.indicator };
  var map = L.map(el, { attributionControl: true, zoomSnap: 0.25 });
  map.attributionControl.setPrefix("Leaflet");
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  } else {
    el.classList.add("no-tiles");
  }
  var layer = null;
  var outline = null;
  var pointsLayer = null;
  var ramp = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
  // For these indicators a higher value is better: colour them the other way round.
  var higherIsBetter = { on_time_rate: true, satisfaction_rate: true, grid_settled_rate: true };

  function query() {
    var params = new URLSearchParams();
    params.set("area", state.area);
    params.set("from", state.from);
    params.set("to", state.to);
    if (state.category) params.set("category", state.category);
    params.set("indicator", state.indicator);
    return params.toString();
  }

  function colour(value, min, max) {
    if (value === null || value === undefined) return "#cfd6dd";
    var t = max > min ? (value - min) / (max - min) : 0.5;
    if (higherIsBetter[state.indicator]) t = 1 - t;
    return ramp[Math.min(ramp.length - 1, Math.floor(t * ramp.length))];
  }

  function text(node, value) { node.textContent = value === null || value === undefined ? "—" : String(value); }

  function renderBreadcrumbs(trail) {
    var box = document.getElementById("map-breadcrumbs");
    box.textContent = "";
    trail.forEach(function (node, i) {
      if (i) box.appendChild(document.createTextNode(" › "));
      var a = document.createElement("a");
      a.href = "#";
      a.textContent = node.name;
      a.dataset.code = node.code;
      a.addEventListener("click", function (event) { event.preventDefault(); go(node.code); });
      box.appendChild(a);
    });
  }

  function renderList(collection) {
    var list = document.getElementById("map-list");
    list.textContent = "";
    document.getElementById("map-list-title").textContent = collection.kind === "cases" ? config.caseLabel : config.indicators[state.indicator];
    collection.features.forEach(function (feature) {
      var p = feature.properties;
      var li = document.createElement("li");
      var a = document.createElement("a");
      if (collection.kind === "cases") {
        a.href = p.url;
        a.textContent = p.number + " " + p.category + " · " + p.status_label;
      } else {
        a.href = "#";
        a.textContent = p.name;
        a.addEventListener("click", function (event) { event.preventDefault(); go(p.code); });
        var value = document.createElement("span");
        value.className = "num";
        text(value, p[state.indicator]);
        li.appendChild(a);
        li.appendChild(document.createTextNode(" "));
        li.appendChild(value);
        list.appendChild(li);
        return;
      }
      li.appendChild(a);
      list.appendChild(li);
    });
  }

  function caseMarkers(collection) {
    return L.geoJSON(collection, {
      pointToLayer: function (feature, latlng) {
        var red = feature.properties.sla_light === "red";
        return L.circleMarker(latlng, { radius: 6, color: red ? "#a50f15" : "#1b5e9e", weight: 1, fillOpacity: 0.7 });
      },
      onEachFeature: function (feature, marker) {
        var p = feature.properties;
        var a = document.createElement("a");
        a.href = p.url;
        a.textContent = p.number + " " + p.category + " · " + p.status_label;
        marker.bindPopup(a);
      }
    });
  }

  function loadPoints() {
    if (pointsLayer) { map.removeLayer(pointsLayer); pointsLayer = null; }
    if (!form.elements.points.checked || el.dataset.kind === "cases") return;
    fetch(config.dataUrl + "?" + query() + "&points=1", { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (collection) { pointsLayer = caseMarkers(collection).addTo(map); el.dataset.points = String(collection.features.length); })
      .catch(function () { el.dataset.points = "0"; });
  }

  function draw(collection) {
    if (layer) map.removeLayer(layer);
    if (outline) map.removeLayer(outline);
    outline = null;
    document.getElementById("map-area-name").textContent = collection.area.name;
    document.getElementById("map-to-panels").href = config.panelsUrl + "?" + query();
    renderBreadcrumbs(collection.breadcrumbs);
    renderList(collection);
    if (collection.area.geometry) {
      outline = L.geoJSON(collection.area.geometry, { style: { color: "#333", weight: 2, fill: false, dashArray: "4 4" }, interactive: false }).addTo(map);
    }
    if (collection.kind === "cases") {
      layer = caseMarkers(collection).addTo(map);
    } else {
      var values = collection.features.map(function (f) { return f.properties[state.indicator]; }).filter(function (v) { return v !== null && v !== undefined; });
      var min = values.length ? Math.min.apply(null, values) : 0;
      var max = values.length ? Math.max.apply(null, values) : 0;
      var drawable = collection.features.filter(function (f) { return f.geometry; });
      layer = L.geoJSON({ type: "FeatureCollection", features: drawable }, {
        style: function (feature) {
          return { color: "#555", weight: 1, fillColor: colour(feature.properties[state.indicator], min, max), fillOpacity: 0.75 };
        },
        onEachFeature: function (feature, polygon) {
          var p = feature.properties;
          var value = p[state.indicator];
          polygon.bindTooltip(p.name + "：" + (value === null || value === undefined ? "—" : value), { sticky: true });
          polygon.on("click", function () { go(p.code); });
        }
      }).addTo(map);
      var legend = document.getElementById("map-legend");
      legend.textContent = config.indicators[state.indicator] + "：" + min + " – " + max;
    }
    var bounds = layer.getBounds();
    if (outline && (!bounds.isValid() || collection.kind === "cases")) bounds = outline.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12] });
    else map.setView([36.25, 119.95], 9);
    el.dataset.level = collection.area.level;
    el.dataset.kind = collection.kind;
    el.dataset.area = collection.area.code;
  }

  function load() {
    el.classList.add("loading");
    history.replaceState(null, "", "?" + query());
    fetch(config.dataUrl + "?" + query(), { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (collection) { draw(collection); el.classList.remove("loading"); loadPoints(); })
      .catch(function () { el.classList.remove("loading"); map.setView([36.25, 119.95], 9); });
  }

  function go(code) { state.area = code; load(); }

  var form = document.getElementById("map-filters");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    state.indicator = form.elements.indicator.value;
    state.from = form.elements.from.value;
    state.to = form.elements.to.value;
    state.category = form.elements.category.value;
    load();
  });
  form.elements.indicator.addEventListener("change", function () { state.indicator = form.elements.indicator.value; load(); });
  form.elements.points.addEventListener("change", loadPoints);
  load();
})();
