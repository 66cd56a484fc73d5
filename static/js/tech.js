/* The technician's phone page. Every update (start travel, arrive, complete, could not
 * complete, photo) is first saved in an outbox on the phone (IndexedDB) with an id made
 * here, then sent in order whenever there is coverage. The server applies an id once,
 * so an update sent twice (the answer got lost in a dead zone) counts once. */
(function () {
  "use strict";
  var app = document.getElementById("tech-app");
  if (!app) return;
  var T = JSON.parse(document.getElementById("tech-i18n").textContent);
  var VAN = JSON.parse(document.getElementById("tech-van").textContent || "[]");
  var API = app.dataset.api;
  var USER = app.dataset.user;
  var CSRF = (document.querySelector("meta[name=csrf-token]") || {}).content || "";
  var NEXT_STATUS = { "start-travel": "en_route", "arrive": "on_site", "complete": "done",
                      "could-not-complete": "not_done" };
  var counter = 0;
  var busy = 0;       // taps still being turned into outbox items
  var lastCount = 0;  // outbox size at the last render
  function hold(promise) {
    busy += 1;
    return Promise.resolve(promise).finally(function () { busy -= 1; });
  }

  // ------------------------------------------------------------------ ids
  function newId() {
    if (window.crypto && crypto.randomUUID) {
      try { return crypto.randomUUID(); } catch (e) { /* insecure context */ }
    }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ------------------------------------------------------------------ the outbox (IndexedDB)
  var dbPromise = null;
  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open("fixroute-tech", 1);
        req.onupgradeneeded = function () { req.result.createObjectStore("outbox", { keyPath: "id" }); };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }
  function withStore(mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("outbox", mode);
        var req = fn(tx.objectStore("outbox"));
        tx.oncomplete = function () { resolve(req ? req.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  var outbox = {
    all: function () {
      return withStore("readonly", function (s) { return s.getAll(); }).then(function (items) {
        return (items || []).filter(function (i) { return i.user === USER; })
          .sort(function (a, b) { return a.seq - b.seq; });
      });
    },
    put: function (item) { return withStore("readwrite", function (s) { return s.put(item); }); },
    remove: function (id) { return withStore("readwrite", function (s) { return s.delete(id); }); }
  };

  // ------------------------------------------------------------------ sending
  var flushing = false, again = false, retryTimer = null, online = navigator.onLine;

  function send(item) {
    var headers = { "X-CSRFToken": CSRF, "Accept": "application/json" };
    var body;
    if (item.action === "photos") {
      body = new FormData();
      body.append("client_action_id", item.id);
      body.append("file", item.blob, item.filename);
    } else {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(Object.assign({ client_action_id: item.id }, item.body));
    }
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, item.action === "photos" ? 90000 : 30000) : null;
    return fetch(API + "/visits/" + item.visitId + "/" + item.action, {
      method: "POST", headers: headers, body: body, credentials: "same-origin",
      signal: ctrl ? ctrl.signal : undefined
    }).finally(function () { if (timer) clearTimeout(timer); });
  }

  // After a refusal the card shows what the server has, not what the tap hoped for.
  function refreshVisit(item) {
    return fetch(API + "/visits/" + item.visitId, { headers: { "Accept": "application/json" },
                                                    credentials: "same-origin" })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (visit) { if (visit) return applyServer(item, { visit: visit }); })
      .catch(function () { /* no coverage: the next load shows it */ });
  }

  function scheduleRetry(ms) {
    if (retryTimer) return;
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, ms || 15000);
  }

  function flush() {
    if (flushing) { again = true; return Promise.resolve(); }
    flushing = true;
    var authProblem = false;
    return outbox.all().then(function (items) {
      var pending = items.filter(function (i) { return i.state !== "failed"; });
      var chain = Promise.resolve(true);
      pending.forEach(function (item) {
        chain = chain.then(function (go) {
          if (!go) return false;
          return send(item).then(function (resp) {
            setOnline(true);
            if (resp.ok) {
              return resp.json().catch(function () { return null; }).then(function (data) {
                return outbox.remove(item.id).then(function () { return applyServer(item, data); })
                  .then(function () { return true; });
              });
            }
            if (resp.status === 401) { authProblem = true; return false; }
            if (resp.status >= 500 || resp.status === 429 || resp.status === 408) {
              scheduleRetry(); return false;
            }
            // Refused for good (403, 404, 409, 422): keep it in sight, do not resend.
            return resp.json().catch(function () { return null; }).then(function (data) {
              item.state = "failed";
              item.error = (data && data.error && data.error.message) || resp.statusText;
              return outbox.put(item).then(function () { return refreshVisit(item); })
                .then(function () { return true; });
            });
          }, function () {
            // No answer: no coverage, or the answer was lost. Keep it and try again;
            // if the server did apply it, the resend is answered as a replay.
            setOnline(false);
            scheduleRetry();
            return false;
          });
        });
      });
      return chain;
    }).catch(function (e) { console.error("outbox", e); })
      .then(function () {
        flushing = false;
        showAuthProblem(authProblem);
        return render();
      }).then(function () {
        if (again) { again = false; return flush(); }
      });
  }

  function enqueue(visitId, action, body, extra) {
    counter += 1;
    var el = card(visitId);
    var item = Object.assign({
      id: newId(), seq: Date.now() * 1000 + counter, user: USER, visitId: String(visitId),
      action: action, body: body || {}, state: "pending", createdAt: new Date().toISOString(),
      // what the list shows when the item is seen from another day's page
      woNumber: el ? el.dataset.woNumber : "", merchant: el ? el.dataset.merchant : ""
    }, extra || {});
    return outbox.put(item).then(function () {
      applyLocal(item);
      return render();
    }).then(function () { flush(); return item; });
  }

  // ------------------------------------------------------------------ showing state
  function card(visitId) { return document.getElementById("visit-" + visitId); }

  function setStatus(el, status) {
    if (!el || !status) return;
    el.dataset.status = status;
    var badge = el.querySelector("[data-role=status]");
    if (badge && T.status[status]) badge.textContent = T.status[status];
    el.querySelectorAll("form.panel").forEach(function (f) { f.hidden = true; });
  }

  function applyLocal(item) {
    var el = card(item.visitId);
    if (!el) return;
    if (item.action === "photos") {
      var c = el.querySelector("[data-role=photo-count]");
      if (c) c.textContent = String(parseInt(c.textContent || "0", 10) + 1);
    } else if (item.state !== "failed") {
      setStatus(el, NEXT_STATUS[item.action]);
    }
  }

  // The server's word on a visit, unless later taps for it are still on the phone
  // (their local state is newer than this answer).
  function applyServer(item, data) {
    var el = card(item.visitId);
    if (!el || !data || !data.visit) return Promise.resolve();
    return outbox.all().then(function (items) {
      var later = items.filter(function (i) { return i.visitId === item.visitId && i.state !== "failed"; });
      if (later.length) return;
      if (data.visit.status) setStatus(el, data.visit.status);
      var c = el.querySelector("[data-role=photo-count]");
      if (c && typeof data.visit.photo_count === "number") c.textContent = String(data.visit.photo_count);
    });
  }

  function setOnline(value) {
    online = value;
    var badge = document.getElementById("net-state");
    if (!badge) return;
    badge.textContent = value ? T.online : T.offline;
    badge.className = "badge " + (value ? "ok" : "warn");
  }

  var authNote = null;
  function showAuthProblem(show) {
    if (show && !authNote) {
      authNote = document.createElement("div");
      authNote.className = "flash flash-error";
      authNote.setAttribute("role", "alert");
      authNote.innerHTML = "";
      var a = document.createElement("a");
      a.href = "/login?next=" + encodeURIComponent(location.pathname);
      a.textContent = T.signin;
      authNote.appendChild(a);
      app.insertBefore(authNote, app.firstChild.nextSibling);
    } else if (!show && authNote) {
      authNote.remove(); authNote = null;
    }
  }

  function timeOf(iso) {
    var d = new Date(iso);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function render() {
    return outbox.all().then(function (items) {
      var box = document.getElementById("outbox");
      var list = document.getElementById("outbox-list");
      lastCount = items.length;
      document.getElementById("outbox-count").textContent = String(items.length);
      box.hidden = items.length === 0;
      list.innerHTML = "";
      var waiting = {};
      items.forEach(function (item) {
        var el = card(item.visitId);
        var li = document.createElement("li");
        li.dataset.testid = "outbox-item";
        var number = item.woNumber || (el ? el.dataset.woNumber : "");
        var name = item.merchant || (el ? el.dataset.merchant : "");
        var who = [number, name].filter(Boolean).join(" · ") || "#" + item.visitId;
        li.textContent = (T.actions[item.action] || item.action) + " · " + who + " · " + timeOf(item.createdAt) +
          " · " + (item.state === "failed" ? T.failed + ": " + (item.error || "") : T.waiting);
        if (item.state === "failed") {
          li.className = "failed";
          var btn = document.createElement("button");
          btn.type = "button";
          btn.textContent = T.discard;
          btn.addEventListener("click", function () { outbox.remove(item.id).then(render); });
          li.appendChild(btn);
        } else {
          waiting[item.visitId] = true;
        }
        list.appendChild(li);
      });
      document.querySelectorAll(".visit").forEach(function (el) {
        var q = el.querySelector("[data-role=queued]");
        if (q) q.hidden = !waiting[el.dataset.visitId];
      });
    });
  }

  // ------------------------------------------------------------------ inputs
  function position() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) return resolve(null);
      var done = false;
      var timer = setTimeout(function () { if (!done) { done = true; resolve(null); } }, 4000);
      navigator.geolocation.getCurrentPosition(function (p) {
        if (done) return; done = true; clearTimeout(timer);
        resolve({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: p.coords.accuracy });
      }, function () {
        if (done) return; done = true; clearTimeout(timer); resolve(null);
      }, { enableHighAccuracy: true, timeout: 3500, maximumAge: 60000 });
    });
  }

  function loadImage(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("image")); };
      img.src = url;
    });
  }

  // Photos are made small on the phone: at most 1600 px on the long side, JPEG.
  function resizeImage(file, maxSide, quality) {
    var source = window.createImageBitmap
      ? createImageBitmap(file, { imageOrientation: "from-image" }).catch(function () { return loadImage(file); })
      : loadImage(file);
    return source.then(function (img) {
      var w = img.width, h = img.height;
      var k = Math.min(1, maxSide / Math.max(w, h));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(w * k));
      canvas.height = Math.max(1, Math.round(h * k));
      canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (blob) { blob ? resolve(blob) : reject(new Error("encode")); }, "image/jpeg", quality);
      });
    });
  }

  function addPartRow(form) {
    var tpl = document.getElementById("tech-part-row");
    var row = tpl.content.firstElementChild.cloneNode(true);
    var sel = row.querySelector(".part-select");
    var qty = row.querySelector(".part-qty");
    var serial = row.querySelector(".part-serial");
    sel.addEventListener("change", function () {
      var same = VAN.filter(function (p) { return String(p.part_id) === sel.value; });
      var part = same[0];
      serial.innerHTML = "";
      if (part && part.serialized) {
        qty.value = "1"; qty.hidden = true; serial.hidden = false;
        var all = [];
        same.forEach(function (p) { all = all.concat(p.serials); });
        all.forEach(function (s) {
          var o = document.createElement("option"); o.value = s; o.textContent = s; serial.appendChild(o);
        });
      } else {
        qty.hidden = false; serial.hidden = true;
      }
    });
    row.querySelector(".part-remove").addEventListener("click", function () { row.remove(); });
    form.querySelector(".part-rows").appendChild(row);
    return row;
  }

  function partsOf(form) {
    var byPart = {}, order = [], bad = false;
    form.querySelectorAll(".part-row").forEach(function (row) {
      var id = row.querySelector(".part-select").value;
      if (!id) return;
      var serialSel = row.querySelector(".part-serial");
      var entry = byPart[id];
      if (!entry) { entry = byPart[id] = { part_id: parseInt(id, 10), qty: 0, serials: [] }; order.push(id); }
      if (!serialSel.hidden) {
        if (!serialSel.value) { bad = true; return; }
        entry.serials.push(serialSel.value); entry.qty += 1;
      } else {
        entry.qty += Math.max(1, parseInt(row.querySelector(".part-qty").value || "1", 10));
      }
    });
    if (bad) return null;
    return order.map(function (id) { return byPart[id]; });
  }

  // The merchant signs with a finger on a canvas; it keeps whether anything was drawn.
  function wireSignature(form) {
    var canvas = form.querySelector(".sig-canvas");
    if (!canvas) return;
    var ctx = canvas.getContext("2d");
    ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
    var drawing = false;
    canvas.dataset.signed = "";
    function at(ev) {
      var r = canvas.getBoundingClientRect();
      return [(ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height];
    }
    canvas.addEventListener("pointerdown", function (ev) {
      drawing = true;
      if (canvas.setPointerCapture) { try { canvas.setPointerCapture(ev.pointerId); } catch (e) { /* synthetic */ } }
      var p = at(ev);
      ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(p[0] + 0.1, p[1] + 0.1); ctx.stroke();
      canvas.dataset.signed = "1";
      ev.preventDefault();
    });
    canvas.addEventListener("pointermove", function (ev) {
      if (!drawing) return;
      var p = at(ev);
      ctx.lineTo(p[0], p[1]); ctx.stroke();
      ev.preventDefault();
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
      canvas.addEventListener(name, function () { drawing = false; });
    });
    form.querySelector(".sig-clear").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      canvas.dataset.signed = "";
    });
    var noSig = form.querySelector(".no-sig");
    noSig.addEventListener("change", function () {
      form.querySelector("[data-role=no-sig-area]").hidden = !noSig.checked;
      form.querySelector("[data-role=sig-area]").hidden = noSig.checked;
    });
  }

  // The sign-off of the completion form, or an error text for the technician.
  function signoffOf(form, fd) {
    var canvas = form.querySelector(".sig-canvas");
    if (!canvas) return { value: null };
    if (form.querySelector(".no-sig").checked) {
      var reason = fd.get("no_signature_reason") || "";
      var note = (fd.get("no_signature_note") || "").trim();
      if (!reason) return { error: T.no_signature_reason };
      if (reason === "other" && !note) return { error: T.no_signature_note };
      return { value: { no_signature_reason: reason, no_signature_note: note,
                        signer_name: (fd.get("signer_name") || "").trim() } };
    }
    var name = (fd.get("signer_name") || "").trim();
    if (!canvas.dataset.signed) return { error: T.signature_required };
    if (!name) return { error: T.signer_required };
    return { value: { signer_name: name, signature: canvas.toDataURL("image/png") } };
  }

  function wire(el) {
    var visitId = el.dataset.visitId;
    el.querySelectorAll("form.panel[data-act=complete]").forEach(wireSignature);
    el.querySelectorAll("button[data-act]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        btn.disabled = true;
        var at = new Date().toISOString();
        hold(position().then(function (pos) {
          var body = { at: at };
          if (pos) body.position = pos;
          return enqueue(visitId, btn.dataset.act, body);
        })).finally(function () { btn.disabled = false; });
      });
    });
    el.querySelectorAll("button[data-open]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        el.querySelectorAll("form.panel").forEach(function (f) {
          f.hidden = f.dataset.panel !== btn.dataset.open;
          if (!f.hidden) f.scrollIntoView({ behavior: "smooth", block: "start" });
        });
      });
    });
    el.querySelectorAll("[data-close]").forEach(function (btn) {
      btn.addEventListener("click", function () { btn.closest("form").hidden = true; });
    });
    el.querySelectorAll(".add-part").forEach(function (btn) {
      btn.addEventListener("click", function () { addPartRow(btn.closest("form")); });
    });
    el.querySelectorAll("form.panel").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var err = form.querySelector("[data-role=error]");
        err.textContent = "";
        var fd = new FormData(form);
        var body = { at: new Date().toISOString() };
        if (form.dataset.act === "complete") {
          body.resolution_code = fd.get("resolution_code") || "";
          if (!body.resolution_code) { err.textContent = T.resolution_required; return; }
          var parts = partsOf(form);
          if (parts === null) { err.textContent = T.serial_required; return; }
          body.parts = parts;
          body.notes = fd.get("notes") || "";
          body.checklist_done = Array.prototype.map.call(
            el.querySelectorAll(".check-item:checked"), function (c) { return parseInt(c.value, 10); });
          var loaner = (fd.get("loaner_serial") || "").trim();
          var faulty = (fd.get("faulty_serial") || "").trim();
          if (loaner) body.loaner_serial = loaner;
          if (faulty && (loaner || el.dataset.kind === "backup_swap")) body.faulty_serial = faulty;
          var signoff = signoffOf(form, fd);
          if (signoff.error) { err.textContent = signoff.error; return; }
          if (signoff.value) body.signoff = signoff.value;
        } else {
          body.reason = fd.get("reason") || "";
          if (!body.reason) { err.textContent = T.reason_required; return; }
          body.note = fd.get("note") || "";
        }
        hold(enqueue(visitId, form.dataset.act, body));
      });
    });
    el.querySelectorAll(".photo-input").forEach(function (input) {
      input.addEventListener("change", function () {
        var files = Array.prototype.slice.call(input.files || []);
        input.value = "";
        hold(files.reduce(function (p, file) {
          return p.then(function () {
            return resizeImage(file, 1600, 0.85).then(function (blob) {
              return enqueue(visitId, "photos", null, { blob: blob, filename: "photo.jpg" });
            }, function () { alert(T.photo_failed); });
          });
        }, Promise.resolve()));
      });
    });
  }

  // ------------------------------------------------------------------ start
  document.querySelectorAll(".visit").forEach(wire);
  document.getElementById("outbox-send").addEventListener("click", function () { flush(); });
  window.addEventListener("online", function () { setOnline(true); flush(); });
  window.addEventListener("offline", function () { setOnline(false); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  setOnline(navigator.onLine);

  // What is still on the phone shows on the cards too (the page may be a cached copy).
  outbox.all().then(function (items) {
    items.forEach(applyLocal);
    return render();
  }).then(flush);

  // Signing out leaves no copy of this technician's day in the page cache.
  document.querySelectorAll("form[action$='/logout']").forEach(function (form) {
    form.addEventListener("submit", function () {
      if (window.caches) caches.keys().then(function (keys) {
        keys.filter(function (k) { return k.indexOf("fixroute-tech") === 0; })
          .forEach(function (k) { caches.delete(k); });
      });
    });
  });

  if ("serviceWorker" in navigator && app.dataset.sw) {
    navigator.serviceWorker.register(app.dataset.sw, { scope: app.dataset.sw.replace(/sw\.js$/, "") })
      .catch(function () { /* the page works without it, only not from a cold start offline */ });
  }
  // Keep the day that is open (and the next one) in the page cache, so that a reload
  // without coverage shows this day and not the cached "today". The first visit is
  // not yet under the service worker, which would otherwise not have stored it.
  if (window.caches && navigator.onLine && app.dataset.cache) {
    var keep = [];
    if (!(navigator.serviceWorker && navigator.serviceWorker.controller)) keep.push(location.pathname + location.search);
    var nextLink = document.querySelector(".day-nav a[rel=next]");
    if (nextLink) keep.push(nextLink.getAttribute("href"));
    caches.open(app.dataset.cache).then(function (c) {
      return Promise.all(keep.map(function (u) {
        return fetch(u, { credentials: "same-origin" }).then(function (resp) {
          if (resp.ok && !resp.redirected) return c.put(u, resp);
        });
      }));
    }).catch(function () { /* best effort */ });
  }
  window.fixrouteTech = {
    flush: flush, outbox: outbox,
    // true when every tap has been saved and everything saved has been sent
    settled: function () { return busy === 0 && !flushing && !again && lastCount === 0; }
  };
})();
