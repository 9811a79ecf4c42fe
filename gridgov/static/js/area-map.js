// Map of one area's children: polygons from our own GeoJSON endpoint, and
// background tiles only when an (intranet) tile server is configured.
(function () {
  "use strict";
  var el = document.getElementById("area-map");
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
  var bounds = null;
  if (config.selfGeometry) {
    var outline = L.geoJSON(config.selfGeometry, { style: { color: "#333", weight: 2, fill: false, dashArray: "4 4" }, interactive: false }).addTo(map);
    bounds = outline.getBounds();
  }
  fetch(config.childrenUrl, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
    .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
    .then(function (collection) {
      var drawable = collection.features.filter(function (f) { return f.geometry; });
      var layer = L.geoJSON({ type: "FeatureCollection", features: drawable }, {
        style: function (feature) {
          var i = parseInt(feature.properties.code.slice(-3), 10) % palette.length;
          return { color: palette[i], weight: 1.5, fillOpacity: 0.25 };
        },
        onEachFeature: function (feature, polygon) {
          var p = feature.properties;
          var label = document.createElement("div");
          var link = document.createElement("a");
          link.href = "/areas/" + encodeURIComponent(p.code) + "/";
          link.textContent = p.name;
          label.appendChild(link);
          var detail = document.createElement("div");
          detail.className = "mono";
          detail.textContent = p.code + " · " + p.households + " 户";
          label.appendChild(detail);
          polygon.bindTooltip(p.name, { sticky: true });
          polygon.bindPopup(label);
        }
      }).addTo(map);
      if (drawable.length) bounds = layer.getBounds();
      if (bounds && bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12] });
      else map.setView([36.25, 119.95], 9);
    })
    .catch(function () {
      if (bounds && bounds.isValid()) map.fitBounds(bounds);
      else map.setView([36.25, 119.95], 9);
    });
})();
