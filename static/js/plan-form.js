// Preventive plan form: the recurrence picker shows only the fields of the chosen unit,
// and the rule in words with its next dates follows the picker as the admin changes it.
// Without this script the form shows every field, and "Preview" asks the server.
(function () {
  var form = document.getElementById("plan-form");
  if (!form) return;
  var url = form.dataset.previewUrl;
  var freq = form.querySelector("#freq");
  var timer = null;
  var pending = null;

  function showUnitFields() {
    var unit = freq ? freq.value : "";
    form.querySelectorAll("[data-for-freq]").forEach(function (el) {
      el.hidden = el.dataset.forFreq !== unit;
    });
  }

  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (key !== "csrf_token" && typeof value === "string") params.append(key, value);
    });
    return params.toString();
  }

  function refresh() {
    var box = document.getElementById("recurrence-summary");
    if (!box || !url) return;
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(url + "?" + query(), {credentials: "same-origin", signal: pending.signal,
                                headers: {"Accept": "text/html"}})
      .then(function (resp) { return resp.ok ? resp.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#recurrence-summary");
        var current = document.getElementById("recurrence-summary");
        if (fresh && current) current.replaceWith(fresh);
      })
      .catch(function () { /* aborted or offline: the Preview button still works */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  var watched = "[data-recurrence] input, [data-recurrence] select, #active_from, #active_to";
  form.querySelectorAll(watched).forEach(function (el) {
    el.addEventListener("input", later);
    el.addEventListener("change", later);
  });
  if (freq) freq.addEventListener("change", showUnitFields);
  showUnitFields();
})();
