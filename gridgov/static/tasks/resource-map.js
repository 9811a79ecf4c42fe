// The emergency resources map: points from the scoped GeoJSON endpoint, one colour per kind.
(function () {
  "use strict";
  var el = document.getElementById("resource-map");
  if (!el || typeof L === "undefined") return;
  var map = L.map(el, { attributionControl: true });
  map.attributionControl.setPrefix("Leaflet");
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  } else {
    el.classList.add("no-tiles");
  }
  var colours = { shelter: "#2e7d32", supplies: "#1565c0", equipment: "#ef6c00", team: "#b3261e" };
  map.setView([36.28, 120.0], 10);
  fetch(el.dataset.source, { credentials: "same-origin" })
    .then(function (response) { return response.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        pointToLayer: function (feature, latlng) {
          var colour = colours[feature.properties.kind] || "#555";
          return L.circleMarker(latlng, { radius: 8, color: colour, fillColor: colour, fillOpacity: 0.7 });
        },
        onEachFeature: function (feature, marker) {
          var p = feature.properties;
          var box = document.createElement("div");
          var title = document.createElement("strong");
          title.textContent = p.name;
          box.appendChild(title);
          box.appendChild(document.createElement("br"));
          box.appendChild(document.createTextNode(p.kind_label + " · " + p.quantity + (p.unit || "") + " · " + p.area));
          marker.bindPopup(box);
        }
      }).addTo(map);
      if (data.features.length) map.fitBounds(layer.getBounds(), { maxZoom: 15, padding: [20, 20] });
    });
})();
