// Progress bars of the task page: widths from data-rate (no inline styles from the server).
(function () {
  "use strict";
  document.querySelectorAll("[data-rate]").forEach(function (bar) {
    var rate = parseFloat(bar.dataset.rate) || 0;
    bar.style.width = Math.max(0, Math.min(100, rate)) + "%";
  });
})();
