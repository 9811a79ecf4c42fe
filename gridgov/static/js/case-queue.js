// The office queue's bulk form: "select all on this page", the count of ticked cases, the
// department choice shown only for a dispatch, and the detail page's action anchors.
// Event delegation on the document, so it keeps working after HTMX swaps the results.
(function () {
  "use strict";

  function form() { return document.querySelector("[data-bulk-form]"); }

  function refresh() {
    var bulk = form();
    if (!bulk) return;
    var checks = bulk.querySelectorAll("[data-case-check]");
    var ticked = bulk.querySelectorAll("[data-case-check]:checked").length;
    var all = bulk.querySelector("[data-select-all]");
    if (all) {
      all.checked = checks.length > 0 && ticked === checks.length;
      all.indeterminate = ticked > 0 && ticked < checks.length;
    }
    var count = bulk.querySelector("[data-selected-count]");
    if (count) count.textContent = count.textContent.replace(/\d+/, String(ticked));
    var submit = bulk.querySelector("[data-bulk-submit]");
    if (submit) submit.disabled = ticked === 0;
    var action = bulk.querySelector("[data-bulk-action]");
    var department = bulk.querySelector("[data-bulk-department]");
    if (action && department) {
      var dispatching = action.value === "dispatch";
      department.hidden = !dispatching;
      department.required = dispatching;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLElement) || !target.closest("[data-bulk-form]")) return;
    if (target.matches("[data-select-all]")) {
      var checked = target.checked;
      target.closest("[data-bulk-form]").querySelectorAll("[data-case-check]").forEach(function (box) {
        box.checked = checked;
      });
    }
    refresh();
  });
  // On a phone the less used filters start folded, unless one of them is set.
  var more = document.querySelector("[data-collapse-on-phone]");
  if (more && !more.hasAttribute("data-active") && window.matchMedia("(max-width: 640px)").matches) {
    more.open = false;
  }

  document.addEventListener("htmx:afterSwap", refresh);
  document.addEventListener("DOMContentLoaded", refresh);
  refresh();
})();
