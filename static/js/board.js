/* Dispatcher board: the map, plan / cancel / publish, hand edits (drag and drop on the
   route lists and the timeline, the dropdowns as the keyboard path), insertions into a
   published day, and the live day from the phones.
   Every change goes to the JSON API; the page reloads after a saved change, so the
   map and the timeline follow. Messages appear next to the action that caused them. */
(function () {
  "use strict";
  var root = document.getElementById("board");
  if (!root || !root.dataset.regionId) return;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var T = JSON.parse((document.getElementById("board-strings") || {}).textContent || "{}");
  var state = { planId: root.dataset.planId, version: root.dataset.version, pending: null, anchor: null };
  var msg = document.getElementById("board-message");
  var NOTICE_KEY = "fixroute.board.notice";

  function fmt(text, values) {
    return String(text).replace(/\{(\w+)\}/g, function (_, k) { return values[k] === undefined ? "" : values[k]; });
  }
  function say(text, bad) { msg.textContent = text; msg.className = bad ? "flash flash-error" : ""; }

  /* a confirmation that stays until dismissed, also across the reload that follows it */
  var notice = document.getElementById("board-notice");
  function showNotice(text) {
    if (!notice) { say(text); return; }
    document.getElementById("board-notice-text").textContent = text;
    notice.hidden = false;
    try { sessionStorage.setItem(NOTICE_KEY, text); } catch (e) { /* private mode */ }
  }
  try {
    var kept = sessionStorage.getItem(NOTICE_KEY);
    if (kept) showNotice(kept);
  } catch (e) { /* private mode */ }

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

  /* an error said once, next to what caused it: the message, then only the reasons that
     add something (a field's reason that repeats the message is left out, codes too) */
  function errorText(err) {
    var message = err.message;
    var fields = (err.data && err.data.error && err.data.error.fields) || [];
    var extra = fields.filter(function (f) { return f.reason && String(f.reason) !== message; })
      .map(function (f) { return /^[a-z_]+$/.test(f.field || "") ? f.reason : f.field + ": " + f.reason; });
    return T.error + " " + message + (extra.length ? " — " + extra.join("; ") : "");
  }
  function messageNear(anchor, text, bad) {
    root.querySelectorAll(".action-msg").forEach(function (el) { el.remove(); });
    if (!anchor) { say(text, bad); return; }
    var el = document.createElement("div");
    el.className = "action-msg " + (bad ? "flash flash-error" : "flash");
    el.setAttribute("role", "alert");
    el.dataset.testid = "action-message";
    el.textContent = text;
    anchor.appendChild(el);
  }
  function failNear(anchor) { return function (err) { messageNear(anchor, errorText(err), true); }; }
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
  var planBar = root.querySelector(".board-bar");
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
    }).catch(function (err) { say(errorText(err), true); });
  }
  function startPlan() {
    var limit = parseFloat(root.dataset.timeLimit || "10");
    api("POST", "/api/v1/plans", { region_id: +root.dataset.regionId, day: root.dataset.day })
      .then(function (p) {
        state.planId = p.id; state.version = p.version;
        var body = { version: p.version, time_limit_s: limit };
        if (root.dataset.solutionLimit) body.solution_limit = +root.dataset.solutionLimit;
        var keep = document.getElementById("keep-announced");
        if (keep) body.keep_announced = keep.checked;
        return api("POST", "/api/v1/plans/" + p.id + "/solve", body);
      })
      .then(function () { say(T.planning); poll(); })
      .catch(function (err) {
        if (err.data && err.data.error && err.data.error.code === "conflict" && state.planId) { poll(); return; }
        say(errorText(err), true);
      });
  }
  if (root.dataset.jobStatus === "queued" || root.dataset.jobStatus === "running") poll();

  /* ---- hand edits, checked before saving; the rule check answers in place ---- */
  var violBox = document.getElementById("violations");
  function edit(body, anchor, revert) {
    body.version = +state.version;
    state.anchor = anchor || null;
    state.revert = revert || null;
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
      if (anchor) anchor.appendChild(violBox);  /* next to the visit that was moved */
      violBox.hidden = false;
    }).catch(function (err) {
      if (revert) revert();  /* the dragged item goes back where it was */
      messageNear(anchor, errorText(err), true);
    });
  }

  /* drag and drop on the route lists: a visit to another technician or place, an
     unassigned work order onto a technician */
  function positionIn(list, item) {
    var items = Array.prototype.filter.call(list.children, function (li) { return li.matches("li"); });
    return items.indexOf(item) + 1;
  }
  if (root.dataset.editable && window.Sortable) {
    var dropped = function (ev) {
      var item = ev.item, list = ev.to, from = ev.from, oldIndex = ev.oldIndex;
      if (!list.dataset.technicianId) return;
      if (from === list && ev.oldIndex === ev.newIndex) return;
      var revert = function () {
        var sibling = Array.prototype.filter.call(from.children, function (el) { return el !== item; })[oldIndex];
        from.insertBefore(item, sibling || null);
      };
      var body = { technician_id: +list.dataset.technicianId, position: positionIn(list, item) };
      if (item.dataset.visitId) { body.op = "move"; body.visit_id = +item.dataset.visitId; }
      else { body.op = "assign"; body.work_order_id = +item.dataset.workOrderId; }
      edit(body, item, revert);
    };
    var common = { handle: ".drag-handle", forceFallback: true, fallbackTolerance: 3, animation: 120 };
    root.querySelectorAll('[data-role="route-list"]').forEach(function (list) {
      Sortable.create(list, Object.assign({ group: { name: "routes", pull: true, put: true }, onEnd: dropped }, common));
    });
    var ul = root.querySelector('[data-role="unassigned-list"]');
    if (ul) Sortable.create(ul, Object.assign({ group: { name: "routes", pull: true, put: false }, sort: false,
      onEnd: dropped }, common));
  }

  /* drag a visit on the timeline onto a technician's row at the time it should go */
  if (root.dataset.editable) {
    var dragged = null;
    root.addEventListener("dragstart", function (ev) {
      var seg = ev.target.closest && ev.target.closest('[data-testid="timeline-visit"][draggable="true"]');
      if (!seg) return;
      dragged = seg;
      ev.dataTransfer.effectAllowed = "move";
      ev.dataTransfer.setData("text/plain", seg.dataset.visitId);
    });
    root.querySelectorAll('[data-role="timeline-bar"]').forEach(function (bar) {
      bar.addEventListener("dragover", function (ev) { if (dragged) { ev.preventDefault(); bar.classList.add("drop-over"); } });
      bar.addEventListener("dragleave", function () { bar.classList.remove("drop-over"); });
      bar.addEventListener("drop", function (ev) {
        ev.preventDefault();
        bar.classList.remove("drop-over");
        if (!dragged) return;
        var rect = bar.getBoundingClientRect();
        var at = (ev.clientX - rect.left) / rect.width * 100;
        var before = 0;
        bar.querySelectorAll('[data-testid="timeline-visit"]').forEach(function (s) {
          if (s !== dragged && parseFloat(s.dataset.left) < at) before += 1;
        });
        var stop = root.querySelector('[data-testid="stop"][data-visit-id="' + dragged.dataset.visitId + '"]');
        edit({ op: "move", visit_id: +dragged.dataset.visitId, technician_id: +bar.dataset.technicianId,
               position: before + 1 }, stop || bar.parentNode);
        dragged = null;
      });
    });
    root.addEventListener("dragend", function () { dragged = null; });
  }

  /* ---- insertions: where an open work order fits, and what it does to the others ---- */
  function showInsertions(item, btn) {
    var box = item.querySelector('[data-role="insertions"]');
    api("POST", "/api/v1/plans/" + state.planId + "/insertions", { work_order_id: +item.dataset.workOrderId })
      .then(function (r) {
        box.innerHTML = "";
        if (!r.items.length) { box.textContent = T.no_insertion; return; }
        r.items.forEach(function (o) {
          var div = document.createElement("div");
          div.className = "insertion";
          div.dataset.testid = "insertion-option";
          div.dataset.technicianId = o.technician_id;
          div.dataset.moved = o.windows_moved.length;
          var head = document.createElement("div");
          head.textContent = o.technician + " #" + o.position + " · " + T.arrives + " " + o.arrival_local +
            " · " + T.added_travel + " " + o.added_travel_minutes + " · " +
            (o.windows_moved.length ? fmt(T.texts, { n: o.windows_moved.length }) : T.no_texts) + " ";
          var b = document.createElement("button");
          b.type = "button"; b.className = "small"; b.textContent = T.accept;
          b.dataset.testid = "accept-insertion";
          b.addEventListener("click", function () {
            b.disabled = true;
            api("POST", "/api/v1/plans/" + state.planId + "/insertions/accept", {
              work_order_id: +item.dataset.workOrderId, technician_id: o.technician_id,
              position: o.position, version: +state.version }).then(function (res) {
                if (root.dataset.planStatus === "published") {
                  showNotice(fmt(T.inserted, { n: res.dispatched, c: res.corrections }));
                }
                reload();
              }).catch(function (err) { b.disabled = false; messageNear(div, errorText(err), true); });
          });
          head.appendChild(b);
          div.appendChild(head);
          if (o.windows_moved.length || (o.sla_broken || []).length) {
            var ul = document.createElement("ul");
            o.windows_moved.forEach(function (m) {
              var li = document.createElement("li");
              li.textContent = m.number + ": " + m.from + " → " + m.to;
              ul.appendChild(li);
            });
            (o.sla_broken || []).forEach(function (s) {
              var li = document.createElement("li");
              li.className = "violation";
              li.textContent = s.number + ": " + fmt(T.sla_broken, { t: s.sla_due });
              ul.appendChild(li);
            });
            div.appendChild(ul);
          }
          box.appendChild(div);
        });
      }).catch(failNear(item));
  }

  root.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-action]");
    if (!btn) return;
    var action = btn.dataset.action;
    var item = btn.closest("li") || btn.closest("tr");
    var pick = function () {
      return { technician_id: +item.querySelector('[data-role="move-tech"]').value,
               position: +item.querySelector('[data-role="move-pos"]').value || 1 };
    };
    if (action === "plan") { ev.preventDefault(); startPlan(); }
    else if (action === "cancel") {
      api("POST", "/api/v1/plans/" + state.planId + "/cancel").then(function () { poll(); })
        .catch(function (err) { say(errorText(err), true); });
    } else if (action === "publish") {
      btn.disabled = true;
      api("POST", "/api/v1/plans/" + state.planId + "/publish", { version: +state.version }).then(function (r) {
        var text = fmt(T.published, { n: r.dispatched, c: r.corrections });
        say(text);
        showNotice(text);
        setTimeout(reload, 600);
      }).catch(function (e) { btn.disabled = false; messageNear(planBar, errorText(e), true); });
    } else if (action === "dismiss-notice") {
      notice.hidden = true;
      try { sessionStorage.removeItem(NOTICE_KEY); } catch (e) { /* private mode */ }
    } else if (action === "move") {
      var p = pick(); edit({ op: "move", visit_id: +item.dataset.visitId, technician_id: p.technician_id, position: p.position }, item);
    } else if (action === "assign") {
      var q = pick(); edit({ op: "assign", work_order_id: +item.dataset.workOrderId, technician_id: q.technician_id, position: q.position }, item);
    } else if (action === "pin" || action === "unpin" || action === "unassign") {
      edit({ op: action, visit_id: +item.dataset.visitId }, item);
    } else if (action === "release") {
      api("POST", "/api/v1/plans/" + state.planId + "/hand-moves/release",
          { work_order_id: +item.dataset.workOrderId, version: +state.version }).then(reload).catch(failNear(item));
    } else if (action === "confirm" && state.pending) {
      state.pending.confirm = true; violBox.hidden = true; edit(state.pending, state.anchor, state.revert);
    } else if (action === "dismiss") {
      state.pending = null; violBox.hidden = true;
      if (state.revert) { state.revert(); state.revert = null; }  /* the dragged item goes back */
    } else if (action === "insertions") {
      showInsertions(item, btn);
    }
  });

  /* ---- the live day: visit states from the phones, technicians running late ---- */
  var pollSeconds = Math.max(1, parseFloat(root.dataset.pollSeconds || "15"));
  function lateHtml(box, t) {
    box.textContent = fmt(T.late, { n: t.late_minutes });
    if (t.at_risk.length) {
      var ul = document.createElement("ul");
      t.at_risk.forEach(function (r) {
        var li = document.createElement("li");
        var parts = [];
        if (r.threatens.indexOf("window") >= 0) parts.push(fmt(T.window, { w: r.window }));
        if (r.threatens.indexOf("sla") >= 0) parts.push(fmt(T.sla_due, { t: r.sla_due }));
        li.textContent = r.number + " " + r.merchant + ": " + parts.join(" ");
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
  }
  function applyLive(live) {
    Object.keys(live.visits).forEach(function (woId) {
      var v = live.visits[woId];
      root.querySelectorAll('[data-testid="stop"][data-work-order-id="' + woId + '"]').forEach(function (li) {
        li.dataset.status = v.status;
        var badge = li.querySelector('[data-testid="visit-state"]');
        if (badge) {
          badge.dataset.status = v.status;
          badge.className = "badge state-" + v.status;
          badge.textContent = v.label;
          badge.hidden = v.status === "planned";
        }
      });
      root.querySelectorAll('[data-testid="timeline-visit"][data-work-order-id="' + woId + '"]').forEach(function (seg) {
        seg.className = "tl-seg tl-service st-" + v.status;
      });
    });
    var late = {};
    live.technicians.forEach(function (t) { late[t.technician_id] = t; });
    root.querySelectorAll('[data-testid="late-flag"]').forEach(function (box) {
      var t = late[box.dataset.technicianId];
      box.hidden = !t;
      if (t) lateHtml(box, t);
    });
    root.querySelectorAll('[data-testid="timeline-row"]').forEach(function (row) {
      var t = late[row.dataset.technicianId], name = row.querySelector(".tl-name");
      var badge = name && name.querySelector('[data-testid="late-badge"]');
      if (t && !badge) {
        badge = document.createElement("span");
        badge.className = "badge danger";
        badge.dataset.testid = "late-badge";
        name.appendChild(document.createTextNode(" "));
        name.appendChild(badge);
      }
      if (badge) { badge.hidden = !t; if (t) badge.textContent = "+" + t.late_minutes + "\u2032"; }
    });
  }
  function livePoll() {
    if (!state.planId || document.hidden) { setTimeout(livePoll, pollSeconds * 1000); return; }
    api("GET", "/api/v1/plans/" + state.planId + "/live").then(function (live) {
      applyLive(live);
      setTimeout(livePoll, pollSeconds * 1000);
    }).catch(function () { setTimeout(livePoll, pollSeconds * 1000 * 2); });
  }
  if (state.planId) setTimeout(livePoll, pollSeconds * 1000);
})();
