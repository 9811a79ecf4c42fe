// The small map of a case: shows its point (data-mode="show") or lets the
// person registering a case pick one (data-mode="pick"), filling the hidden
// longitude/latitude inputs. Background tiles only when a tile server is configured.
(function () {
  "use strict";
  var el = document.getElementById("case-map");
  if (!el || typeof L === "undefined") return;
  var config = JSON.parse(el.dataset.config || "{}");
  var map = L.map(el, { attributionControl: true, zoomSnap: 0.25 });
  map.attributionControl.setPrefix("Leaflet");
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "", maxZoom: 19 }).addTo(map);
  } else {
    el.classList.add("no-tiles");
  }
  var pinStyle = { radius: 8, color: "#b3261e", weight: 2, fillColor: "#b3261e", fillOpacity: 0.6 };

  if (el.dataset.mode === "show") {
    L.circleMarker([config.lat, config.lon], pinStyle).addTo(map);
    map.setView([config.lat, config.lon], 16);
    return;
  }

  var lonInput = document.querySelector("input[name=longitude]");
  var latInput = document.querySelector("input[name=latitude]");
  var label = document.querySelector("[data-pin-label]");
  var pin = null;

  function place(lat, lon) {
    lat = Math.round(lat * 1e6) / 1e6;
    lon = Math.round(lon * 1e6) / 1e6;
    if (pin) pin.setLatLng([lat, lon]);
    else pin = L.circleMarker([lat, lon], pinStyle).addTo(map);
    lonInput.value = lon;
    latInput.value = lat;
    if (label) label.textContent = lon.toFixed(6) + ", " + lat.toFixed(6);
  }

  function clear() {
    if (pin) map.removeLayer(pin);
    pin = null;
    lonInput.value = "";
    latInput.value = "";
    if (label) label.textContent = "";
  }

  if (config.outlines && config.outlines.length) {
    L.geoJSON({ type: "FeatureCollection", features: config.outlines }, {
      style: { color: "#2471a3", weight: 1, fillOpacity: 0.05 },
      interactive: false
    }).addTo(map);
  }
  if (config.bounds) map.fitBounds(config.bounds, { padding: [8, 8] });
  else map.setView([36.25, 119.95], 11);

  map.on("click", function (event) { place(event.latlng.lat, event.latlng.lng); });
  if (lonInput.value && latInput.value) place(parseFloat(latInput.value), parseFloat(lonInput.value));

  var clearButton = document.querySelector("[data-clear-pin]");
  if (clearButton) clearButton.addEventListener("click", clear);
  var locate = document.querySelector("[data-locate]");
  var status = document.querySelector("[data-locate-status]");

  function say(text) { if (status) status.textContent = text || ""; }

  function inside(lat, lon) {
    if (!config.bounds) return true;
    // A little margin: a worker standing at the edge of their grid is still "here".
    var south = config.bounds[0][0] - 0.01, west = config.bounds[0][1] - 0.01;
    var north = config.bounds[1][0] + 0.01, east = config.bounds[1][1] + 0.01;
    return lat >= south && lat <= north && lon >= west && lon <= east;
  }

  // Browser positions are WGS84 already: no GCJ-02 conversion needed.
  function locateMe(automatic) {
    if (!navigator.geolocation) return;
    say(el.dataset.locatingLabel);
    navigator.geolocation.getCurrentPosition(function (position) {
      var lat = position.coords.latitude, lon = position.coords.longitude;
      if (automatic && pin) { say(""); return; }  // the person has picked a point meanwhile
      if (automatic && !inside(lat, lon)) { say(el.dataset.outsideLabel); return; }
      place(lat, lon);
      map.setView([lat, lon], 17);
      say(position.coords.accuracy ? el.dataset.accuracyLabel.replace("{n}", Math.round(position.coords.accuracy)) : "");
    }, function () {
      say(el.dataset.failedLabel);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  if (locate) {
    if (!navigator.geolocation) locate.hidden = true;
    locate.addEventListener("click", function () { locateMe(false); });
  }
  // On the phone, the current position is the likeliest place of the problem: pin it at once
  // (unless the form already has a point, e.g. after an error or from a patrol finding).
  if (el.dataset.autolocate === "1" && !pin) locateMe(true);
})();
