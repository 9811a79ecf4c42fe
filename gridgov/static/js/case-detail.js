// The case page: open the action named in the address (#action-report_back from the queue),
// and show the full image when a thumbnail cannot be had.
(function () {
  "use strict";

  function openFromHash() {
    if (!location.hash || location.hash.indexOf("#action-") !== 0) return;
    var panel = document.getElementById(location.hash.slice(1));
    if (panel && panel.tagName === "DETAILS") {
      panel.open = true;
      panel.scrollIntoView({ block: "start" });
    }
  }

  document.addEventListener("error", function (event) {
    var img = event.target;
    if (!(img instanceof HTMLImageElement) || !img.dataset.full || img.dataset.fellBack) return;
    img.dataset.fellBack = "1";
    img.src = img.dataset.full;
  }, true);

  window.addEventListener("hashchange", openFromHash);
  openFromHash();
})();
