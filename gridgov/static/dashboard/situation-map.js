// 综合态势一张图: the chosen area's children coloured by an indicator; click to drill down
// county → town → community → grid; at a grid, its cases as points linking to the case page.
// The 热力图 layer (leaflet.heat, vendored) shows each grid's intake of the period at the grid's
// centre (from the rollups) above grid level, and the case points (weight 1) at a grid.
(function () {
  "use strict";
  var el = document.getElementById("situation-map");
  if (!el || typeof L === "undefined") return;
  var config = JSON.parse(el.dataset.config);
  var state = { area: config.area, from: config.from, to: config.to, category: config.category, indicator: config.indicator, layer: config.layer || "areas" };
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
  var heatLayer = null;
  var heatRequest = 0;
  var fitZoom = null;
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
    if (state.layer === "heat") params.set("layer", "heat");
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

  function fill(value, min, max) {
    // In heat mode the polygons stay (outlines, still clickable to drill down) but are not coloured.
    if (state.layer === "heat") return { color: "#555", weight: 1, fillColor: "#ffffff", fillOpacity: 0.05 };
    return { color: "#555", weight: 1, fillColor: colour(value, min, max), fillOpacity: 0.75 };
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) { return values[key] === undefined ? all : String(values[key]); });
  }

  function renderLegends(heat) {
    var heatBox = document.getElementById("heat-legend");
    var areaLegend = document.getElementById("map-legend");
    var isHeat = state.layer === "heat";
    heatBox.hidden = !isHeat;
    areaLegend.hidden = isHeat && el.dataset.kind !== "cases";
    if (!isHeat || !heat) return;
    var labels = config.heatLegend;
    document.getElementById("heat-low").textContent = labels.low;
    document.getElementById("heat-high").textContent = labels.high;
    var line = format(labels[heat.source] || labels.rollups, { total: heat.total, max: heat.max_weight });
    if (heat.limited) line += labels.limited;
    if (heat.unlocated) line += "；" + format(labels.unlocated, { n: heat.unlocated });
    document.getElementById("heat-legend-text").textContent = line;
  }

  function removeHeat() {
    if (heatLayer) { map.removeLayer(heatLayer); heatLayer = null; }
    delete el.dataset.heat;
  }

  function loadHeat() {
    var request = ++heatRequest;
    removeHeat();
    renderLegends(null);
    if (state.layer !== "heat" || typeof L.heatLayer !== "function") return;
    fetch(config.dataUrl + "?" + query() + "&heat=1", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (heat) {
        if (request !== heatRequest) return; // a newer area or filter was chosen meanwhile
        var big = el.clientWidth >= 1600;
        heatLayer = L.heatLayer(heat.points, {
          radius: big ? 36 : 25,
          blur: big ? 22 : 15,
          minOpacity: 0.35,
          max: heat.max_weight || 1,
          // leaflet.heat fades points by 2^(zoom - maxZoom): full strength from the fitted zoom on.
          maxZoom: fitZoom === null ? map.getZoom() : fitZoom
        }).addTo(map);
        el.dataset.heat = String(heat.points.length);
        renderLegends(heat);
      })
      .catch(function () { if (request === heatRequest) el.dataset.heat = "error"; });
  }

  function restyle() {
    if (layer && el.dataset.kind === "areas" && layer.setStyle) {
      var values = layer.getLayers().map(function (l) { return l.feature.properties[state.indicator]; }).filter(function (v) { return v !== null && v !== undefined; });
      var min = values.length ? Math.min.apply(null, values) : 0;
      var max = values.length ? Math.max.apply(null, values) : 0;
      layer.setStyle(function (feature) { return fill(feature.properties[state.indicator], min, max); });
    }
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
        style: function (feature) { return fill(feature.properties[state.indicator], min, max); },
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
    if (bounds.isValid()) {
      fitZoom = map.getBoundsZoom(bounds, false, L.point(24, 24));
      map.fitBounds(bounds, { padding: [12, 12] });
    } else {
      fitZoom = 9;
      map.setView([36.25, 119.95], 9);
    }
    el.dataset.level = collection.area.level;
    el.dataset.kind = collection.kind;
    el.dataset.area = collection.area.code;
  }

  function load() {
    el.classList.add("loading");
    history.replaceState(null, "", "?" + query());
    fetch(config.dataUrl + "?" + query(), { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (collection) { draw(collection); el.classList.remove("loading"); loadPoints(); loadHeat(); })
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
  Array.prototype.forEach.call(form.querySelectorAll("input[name=layer]"), function (radio) {
    radio.addEventListener("change", function () {
      if (!radio.checked) return;
      state.layer = radio.value;
      history.replaceState(null, "", "?" + query());
      restyle();
      loadHeat();
    });
  });
  load();
})();
