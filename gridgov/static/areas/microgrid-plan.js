// Proposal map (micro-grids of a grid, or general grids of a community):
// current areas (grey, dashed) beside the proposed ones (coloured), and the
// buildings coloured by their proposed area. Data comes from the page
// (data-config), nothing is fetched.
(function () {
  "use strict";
  var el = document.getElementById("microgrid-map");
  if (!el || typeof L === "undefined") return;
  var config = JSON.parse(el.dataset.config);
  var map = L.map(el, { attributionControl: true, zoomSnap: 0.25 });
  map.attributionControl.setPrefix("Leaflet");
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  } else {
    el.classList.add("no-tiles");
  }
  var palette = ["#c0392b", "#2471a3", "#229954", "#b9770e", "#7d3c98", "#17a589", "#a04000", "#2e4053"];
  function colour(code) {
    return code ? palette[parseInt(code.slice(-3), 10) % palette.length] : "#666";
  }
  function label(lines) {
    var box = document.createElement("div");
    lines.forEach(function (text, i) {
      var line = document.createElement("div");
      if (i > 0) line.className = "mono";
      line.textContent = text;
      box.appendChild(line);
    });
    return box;
  }
  var bounds = L.latLngBounds([]);
  if (config.selfGeometry) {
    var outline = L.geoJSON(config.selfGeometry, { style: { color: "#333", weight: 2, fill: false }, interactive: false }).addTo(map);
    bounds.extend(outline.getBounds());
  }
  var labels = config.labels || { current: "现有微网格", proposed: "方案微网格" };
  var overlays = {};
  if (config.current && config.current.features.length) {
    overlays[labels.current] = L.geoJSON(config.current, {
      className: "microgrid-current",
      style: { color: "#555", weight: 2, dashArray: "6 4", fillOpacity: 0.05 },
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        layer.bindTooltip(label(["现有：" + p.name, p.code + " · " + p.households + " 户"]), { sticky: true });
      }
    }).addTo(map);
  }
  if (config.proposed) {
    overlays[labels.proposed] = L.geoJSON(config.proposed, {
      className: "microgrid-proposed",
      style: function (feature) {
        var p = feature.properties;
        return { color: colour(p.code), weight: p.in_band ? 1.5 : 3, fillOpacity: 0.25 };
      },
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        var lines = ["方案：" + p.name, p.code + " · " + p.households + " 户 · " + p.buildings + " 栋"];
        if (p.polsby_popper !== null) lines.push("紧凑度 " + p.polsby_popper);
        if (!p.in_band) lines.push("户数不在区间内");
        layer.bindTooltip(label(lines), { sticky: true });
        layer.bindPopup(label(lines));
      }
    }).addTo(map);
  }
  if (config.buildings) {
    overlays["楼栋"] = L.geoJSON(config.buildings, {
      pointToLayer: function (feature, latlng) {
        var p = feature.properties;
        var moved = p.current !== p.proposed;
        return L.circleMarker(latlng, {
          className: "microgrid-building",
          radius: moved ? 6 : 4,
          color: moved ? "#000" : colour(p.proposed),
          weight: moved ? 2 : 1,
          fillColor: colour(p.proposed),
          fillOpacity: 0.9
        });
      },
      onEachFeature: function (feature, layer) {
        var p = feature.properties;
        var lines = [p.name, p.households + " 户", "现：" + (p.current || "无") + " → 方案：" + p.proposed];
        layer.bindTooltip(label(lines));
      }
    }).addTo(map);
  }
  Object.keys(overlays).forEach(function (name) {
    var b = overlays[name].getBounds();
    if (b.isValid()) bounds.extend(b);
  });
  if (Object.keys(overlays).length) L.control.layers(null, overlays, { collapsed: false }).addTo(map);
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12] });
  else map.setView([36.25, 119.95], 9);
})();
