// Agent desk: refuse too-large images before uploading them (the server checks again).
document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
  input.addEventListener("change", function () {
    var max = parseInt(input.dataset.maxBytes, 10);
    var big = Array.prototype.some.call(input.files || [], function (f) { return f.size > max; });
    input.setCustomValidity(big ? input.dataset.tooBig : "");
    input.reportValidity();
  });
});

// Record-fault form: show what merchants typically say for the chosen category.
(function () {
  var select = document.getElementById("category");
  var hint = document.querySelector("[data-category-hint] span");
  if (!select || !hint) return;
  function show() {
    var opt = select.options[select.selectedIndex];
    hint.textContent = opt ? opt.dataset.symptoms || "" : "";
  }
  select.addEventListener("change", show);
  show();
})();
