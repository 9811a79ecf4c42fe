// The resident's report page: show the map only when "在地图上选点" is chosen,
// fill the hidden longitude/latitude from a tap or from the phone's position,
// and preview the photos picked. No tiles unless a tile server is configured.
(function () {
  "use strict";
  var form = document.querySelector(".report-form");
  if (!form) return;
  var box = form.querySelector(".pin-map");
  var el = document.getElementById("report-map");
  var lonInput = form.querySelector("input[name=longitude]");
  var latInput = form.querySelector("input[name=latitude]");
  var label = form.querySelector("[data-pin-label]");
  var map = null;
  var pin = null;
  var located = false;
  var pinStyle = { radius: 9, color: "#b3261e", weight: 2, fillColor: "#b3261e", fillOpacity: 0.6 };

  function place(lat, lon) {
    lat = Math.round(lat * 1e6) / 1e6;
    lon = Math.round(lon * 1e6) / 1e6;
    if (pin) pin.setLatLng([lat, lon]);
    else pin = L.circleMarker([lat, lon], pinStyle).addTo(map);
    lonInput.value = lon;
    latInput.value = lat;
    if (label) label.textContent = "✓";
  }

  function locate() {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(function (position) {
      // Browser positions are WGS84 already.
      place(position.coords.latitude, position.coords.longitude);
      map.setView([position.coords.latitude, position.coords.longitude], 17);
    }, function () {}, { enableHighAccuracy: true, timeout: 10000 });
  }

  function ensureMap() {
    if (map || typeof L === "undefined") return;
    var config = JSON.parse(el.dataset.config || "{}");
    map = L.map(el, { zoomSnap: 0.25 });
    map.attributionControl.setPrefix("Leaflet");
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
    } else {
      el.classList.add("no-tiles");
    }
    if (config.center) map.setView(config.center, config.zoom || 16);
    else if (config.bounds) map.fitBounds(config.bounds, { padding: [8, 8] });
    else map.setView([36.25, 119.95], 11);
    map.on("click", function (event) { place(event.latlng.lat, event.latlng.lng); });
    if (lonInput.value && latInput.value) place(parseFloat(latInput.value), parseFloat(lonInput.value));
  }

  function sync() {
    var chosen = form.querySelector("input[name=location]:checked");
    var pinMode = chosen && chosen.value === box.dataset.pinMode;
    box.hidden = !pinMode;
    if (pinMode) {
      ensureMap();
      if (map) map.invalidateSize();
      if (!located && !lonInput.value) { located = true; locate(); }
    }
  }

  form.querySelectorAll("input[name=location]").forEach(function (input) {
    input.addEventListener("change", sync);
  });
  var locateButton = form.querySelector("[data-locate]");
  if (locateButton) {
    if (!navigator.geolocation) locateButton.hidden = true;
    locateButton.addEventListener("click", function () { ensureMap(); locate(); });
  }
  sync();

  var photos = form.querySelector("input[name=photos]");
  var previews = form.querySelector("[data-photo-previews]");
  if (photos && previews && window.URL) {
    photos.addEventListener("change", function () {
      previews.textContent = "";
      Array.prototype.forEach.call(photos.files, function (file) {
        if (!/^image\//.test(file.type)) return;
        var img = document.createElement("img");
        img.alt = file.name;
        img.src = URL.createObjectURL(file);
        previews.appendChild(img);
      });
    });
  }
})();
