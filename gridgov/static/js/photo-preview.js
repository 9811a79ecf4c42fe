// Previews of the photos picked on a phone (camera or album) before the form is sent:
// blob: URLs of the chosen files, a red mark on any over the size limit. Every
// <input type="file" data-photo-input> on the page gets its own list.
(function () {
  "use strict";
  if (!window.URL || !URL.createObjectURL) return;
  var inputs = document.querySelectorAll("input[type=file][data-photo-input]");
  Array.prototype.forEach.call(inputs, function (input) {
    var list = document.createElement("ul");
    list.className = "photo-previews";
    list.setAttribute("aria-live", "polite");
    var field = input.closest(".field") || input.parentNode;
    field.appendChild(list);
    var maxBytes = parseInt(input.getAttribute("data-max-bytes") || "0", 10);
    var tooBigLabel = input.getAttribute("data-too-big-label") || "";
    var urls = [];

    function sizeText(bytes) {
      return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
    }

    function show() {
      urls.forEach(function (url) { URL.revokeObjectURL(url); });
      urls = [];
      list.textContent = "";
      Array.prototype.forEach.call(input.files || [], function (file) {
        var item = document.createElement("li");
        var over = maxBytes > 0 && file.size > maxBytes;
        if (over) item.className = "too-big";
        if (file.type && file.type.indexOf("image/") === 0) {
          var url = URL.createObjectURL(file);
          urls.push(url);
          var img = document.createElement("img");
          img.src = url;
          img.alt = file.name;
          item.appendChild(img);
        }
        var caption = document.createElement("small");
        caption.textContent = over ? tooBigLabel + " (" + sizeText(file.size) + ")" : file.name + " · " + sizeText(file.size);
        item.appendChild(caption);
        list.appendChild(item);
      });
    }

    input.addEventListener("change", show);
    if (input.files && input.files.length) show();
  });
})();
