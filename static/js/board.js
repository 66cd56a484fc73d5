/* Dispatcher board: the map, the plan / cancel / publish buttons and hand edits.
   Every change goes to the JSON API; the page reloads after a saved change. */
(function () {
  "use strict";
  var root = document.getElementById("board");
  if (!root || !root.dataset.regionId) return;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var T = JSON.parse((document.getElementById("board-strings") || {}).textContent || "{}");
  var state = { planId: root.dataset.planId, version: root.dataset.version, pending: null };
  var msg = document.getElementById("board-message");

  function say(text, bad) { msg.textContent = text; msg.className = bad ? "flash flash-error" : ""; }

  function api(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { var e = new Error((data.error && data.error.message) || r.status); e.data = data; throw e; }
        return data;
      });
    });
  }
  function fail(err) {
    var fields = (err.data && err.data.error && err.data.error.fields) || [];
    say(T.error + " " + err.message + (fields.length ? " — " + fields.map(function (f) { return f.field + ": " + f.reason; }).join("; ") : ""), true);
  }
  function reload() { window.location.reload(); }

  /* the technician lists are rendered once; each select shows its visit's technician */
  root.querySelectorAll('select[data-current]').forEach(function (sel) { sel.value = sel.dataset.current; });

  /* ---- map: routes and stops are drawn even when tiles cannot load ---- */
  var mapData = JSON.parse(document.getElementById("board-map-data").textContent);
  if (window.L && document.getElementById("board-map")) {
    var map = L.map("board-map");
    map.fitBounds(mapData.bounds);
    if (mapData.tile_url) {
      L.tileLayer(mapData.tile_url, { maxZoom: 19, attribution: "&copy; OpenStreetMap" }).addTo(map);
    }
    mapData.routes.forEach(function (r) {
      if (r.stops.length) L.polyline(r.path, { color: r.colour, weight: 3, opacity: 0.85 }).addTo(map);
      L.circleMarker(r.home, { radius: 5, color: r.colour, fillOpacity: 1 }).bindTooltip(r.name).addTo(map);
      r.stops.forEach(function (s) {
        L.circleMarker([s.lat, s.lon], { radius: 7, color: r.colour, fillColor: "#fff", fillOpacity: 1, weight: 3 })
          .bindTooltip(r.name + ": " + s.label).addTo(map);
      });
    });
    mapData.unassigned.forEach(function (u) {
      L.circleMarker([u.lat, u.lon], { radius: 6, color: "#c62828", fillOpacity: 0.6 }).bindTooltip(u.label).addTo(map);
    });
  }

  /* ---- plan, progress, cancel ---- */
  var progressCard = document.getElementById("progress-card");
  var cancelBtn = root.querySelector('[data-action="cancel"]');
  function poll() {
    api("GET", "/api/v1/plans/" + state.planId).then(function (p) {
      var pr = p.progress || {};
      if (p.job_status === "queued" || p.job_status === "running") {
        progressCard.hidden = false; cancelBtn.hidden = false;
        var limit = pr.time_limit_s || 10, el = pr.elapsed_s || 0;
        document.getElementById("progress-bar").style.width = Math.min(100, 100 * el / limit) + "%";
        document.getElementById("progress-text").textContent =
          el.toFixed(1) + " s / " + limit + " s · " + (pr.solutions || 0) + " " + T.solutions;
        setTimeout(poll, 500);
      } else if (p.job_status === "failed") {
        progressCard.hidden = true; cancelBtn.hidden = true; say(T.failed + " " + (pr.error || ""), true);
      } else if (p.job_status === "cancelled") {
        progressCard.hidden = true; cancelBtn.hidden = true; say(T.cancelled);
      } else { reload(); }
    }).catch(fail);
  }
  function startPlan() {
    var limit = parseFloat(root.dataset.timeLimit || "10");
    api("POST", "/api/v1/plans", { region_id: +root.dataset.regionId, day: root.dataset.day })
      .then(function (p) {
        state.planId = p.id; state.version = p.version;
        var body = { version: p.version, time_limit_s: limit };
        if (root.dataset.solutionLimit) body.solution_limit = +root.dataset.solutionLimit;
        return api("POST", "/api/v1/plans/" + p.id + "/solve", body);
      })
      .then(function () { say(T.planning); poll(); })
      .catch(function (err) {
        if (err.data && err.data.error && err.data.error.code === "conflict" && state.planId) { poll(); return; }
        fail(err);
      });
  }
  if (root.dataset.jobStatus === "queued" || root.dataset.jobStatus === "running") poll();

  /* ---- hand edits, checked before saving ---- */
  var violBox = document.getElementById("violations");
  function edit(body) {
    body.version = +state.version;
    return api("POST", "/api/v1/plans/" + state.planId + "/edits", body).then(function (res) {
      if (res.applied) { reload(); return; }
      state.pending = body;
      var ul = document.getElementById("violation-list");
      ul.innerHTML = "";
      res.violations.forEach(function (v) {
        var li = document.createElement("li");
        li.className = "violation";
        li.textContent = (v.work_order || "") + (v.technician ? " · " + v.technician : "") + ": " + v.message;
        ul.appendChild(li);
      });
      violBox.hidden = false;
    }).catch(fail);
  }

  root.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-action]");
    if (!btn) return;
    var action = btn.dataset.action;
    var item = btn.closest("li");
    var pick = function () {
      return { technician_id: +item.querySelector('[data-role="move-tech"]').value,
               position: +item.querySelector('[data-role="move-pos"]').value || 1 };
    };
    if (action === "plan") { ev.preventDefault(); startPlan(); }
    else if (action === "cancel") {
      api("POST", "/api/v1/plans/" + state.planId + "/cancel").then(function () { poll(); }).catch(fail);
    } else if (action === "publish") {
      btn.disabled = true;
      api("POST", "/api/v1/plans/" + state.planId + "/publish", { version: +state.version }).then(function (r) {
        say(T.published.replace("{n}", r.dispatched).replace("{c}", r.corrections));
        setTimeout(reload, 600);
      }).catch(function (e) { btn.disabled = false; fail(e); });
    } else if (action === "move") {
      var p = pick(); edit({ op: "move", visit_id: +item.dataset.visitId, technician_id: p.technician_id, position: p.position });
    } else if (action === "assign") {
      var q = pick(); edit({ op: "assign", work_order_id: +item.dataset.workOrderId, technician_id: q.technician_id, position: q.position });
    } else if (action === "pin" || action === "unpin" || action === "unassign") {
      edit({ op: action, visit_id: +item.dataset.visitId });
    } else if (action === "confirm" && state.pending) {
      state.pending.confirm = true; violBox.hidden = true; edit(state.pending);
    } else if (action === "dismiss") {
      state.pending = null; violBox.hidden = true;
    } else if (action === "insertions") {
      var box = item.querySelector('[data-role="insertions"]');
      api("POST", "/api/v1/plans/" + state.planId + "/insertions", { work_order_id: +item.dataset.workOrderId })
        .then(function (r) {
          box.innerHTML = "";
          if (!r.items.length) { box.textContent = T.no_insertion; return; }
          r.items.forEach(function (o) {
            var div = document.createElement("div");
            div.textContent = o.technician + " #" + o.position + " · " + T.arrives + " " + o.arrival_local +
              " · " + T.added_travel + " " + o.added_travel_minutes + " · " + T.moves + " " + o.windows_moved.length + " ";
            var b = document.createElement("button");
            b.type = "button"; b.className = "small"; b.textContent = T.accept;
            b.addEventListener("click", function () {
              api("POST", "/api/v1/plans/" + state.planId + "/insertions/accept", {
                work_order_id: +item.dataset.workOrderId, technician_id: o.technician_id,
                position: o.position, version: +state.version }).then(reload).catch(fail);
            });
            div.appendChild(b); box.appendChild(div);
          });
        }).catch(fail);
    }
  });
})();
