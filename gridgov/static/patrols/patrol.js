// Patrol pages: current position for a finding, the walked route, photo previews,
// and no double submits. No inline script (CSP): everything is wired by data attributes.
(function () {
  "use strict";

  var ROUTE_MAX = 500;
  var ROUTE_MIN_SECONDS = 30;

  function setPosition(position) {
    var lon = document.querySelector("[data-geo-lon]");
    var lat = document.querySelector("[data-geo-lat]");
    var status = document.querySelector("[data-geo-status]");
    if (!lon || !lat) return;
    lon.value = position.coords.longitude.toFixed(7);
    lat.value = position.coords.latitude.toFixed(7);
    if (status) {
      status.textContent = (status.getAttribute("data-geo-ok") || "%s").replace("%s", String(Math.round(position.coords.accuracy || 0)));
    }
  }

  function positionFailed() {
    var status = document.querySelector("[data-geo-status]");
    if (status) status.textContent = status.getAttribute("data-geo-failed") || "";
  }

  function locate() {
    if (!document.querySelector("[data-geo-lon]")) return;
    if (!("geolocation" in navigator)) { positionFailed(); return; }
    navigator.geolocation.getCurrentPosition(setPosition, positionFailed, {
      enableHighAccuracy: true, timeout: 15000, maximumAge: 60000
    });
  }

  // The route is kept on the phone and sent once, with "结束巡查": no extra requests on a slow connection.
  function routeKey(id) { return "gridgov-patrol-route-" + id; }

  function loadRoute(id) {
    try { return JSON.parse(window.localStorage.getItem(routeKey(id)) || "[]"); } catch (e) { return []; }
  }

  function trackRoute(id) {
    if (!("geolocation" in navigator) || !window.localStorage) return;
    navigator.geolocation.watchPosition(function (position) {
      var route = loadRoute(id);
      var now = Math.floor(Date.now() / 1000);
      var last = route[route.length - 1];
      if (last && now - last[2] < ROUTE_MIN_SECONDS) return;
      route.push([+position.coords.longitude.toFixed(6), +position.coords.latitude.toFixed(6), now]);
      if (route.length > ROUTE_MAX) route = route.filter(function (_, i) { return i % 2 === 0; });
      try { window.localStorage.setItem(routeKey(id), JSON.stringify(route)); } catch (e) { /* storage full */ }
    }, function () {}, { enableHighAccuracy: true, maximumAge: 30000 });
  }

  function previewPhotos(input) {
    var target = input.form && input.form.querySelector("[data-photo-preview-target]");
    if (!target) return;
    target.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      if (!/^image\//.test(file.type)) return;
      var img = document.createElement("img");
      img.alt = file.name;
      img.src = URL.createObjectURL(file);
      target.appendChild(img);
    });
  }

  function init() {
    locate();
    var locateButton = document.querySelector("[data-geo-locate]");
    if (locateButton) locateButton.addEventListener("click", locate);
    // GPS drifting into the neighbouring grid: the worker may file the finding without a position.
    var clearButton = document.querySelector("[data-geo-clear]");
    if (clearButton) {
      clearButton.addEventListener("click", function () {
        document.querySelectorAll("[data-geo-lon], [data-geo-lat]").forEach(function (input) { input.value = ""; });
        var status = document.querySelector("[data-geo-status]");
        if (status) status.textContent = clearButton.getAttribute("data-geo-cleared") || "";
      });
    }

    var page = document.querySelector("[data-patrol-route]");
    if (page) {
      var id = page.getAttribute("data-patrol-route");
      trackRoute(id);
      var field = document.querySelector("[data-route-field]");
      if (field && field.form) {
        field.form.addEventListener("submit", function () {
          field.value = JSON.stringify(loadRoute(id));
        });
      }
    } else {
      // A finished patrol: its route went to the server; forget the phone's copy.
      var finished = document.querySelector("[data-patrol-finished]");
      if (finished && window.localStorage) window.localStorage.removeItem(routeKey(finished.getAttribute("data-patrol-finished")));
    }

    document.querySelectorAll("input[data-photo-preview]").forEach(function (input) {
      input.addEventListener("change", function () { previewPhotos(input); });
    });

    // One tap files one case: a second submit of the same form is ignored (the server is idempotent too).
    document.querySelectorAll("form").forEach(function (form) {
      if (form.hasAttribute("hx-post")) return;
      form.addEventListener("submit", function (event) {
        if (form.dataset.submitted) { event.preventDefault(); return; }
        form.dataset.submitted = "1";
        var button = event.submitter;
        if (button) window.setTimeout(function () { button.setAttribute("aria-busy", "true"); button.disabled = true; }, 0);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
