/* FixRoute technician pages: keep the app shell so the day's route opens without
 * coverage. Served at /tech/sw.js (scope /tech/). Updates are not cached here: the
 * page keeps them in its own outbox (IndexedDB) and sends them itself. */
"use strict";
var CACHE = "fixroute-tech-v3";  // the page writes its open day here too (tech.js)
// The day page itself too (fetched with the signed-in cookie), so it opens offline.
var SHELL = ["/tech/", "/static/css/app.css", "/static/css/tech.css", "/static/js/tech.js",
             "/static/js/tech-map.js", "/static/vendor/leaflet/leaflet.js",
             "/static/vendor/leaflet/leaflet.css"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); })
    .catch(function () {}).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function remember(request, response) {
  if (response && response.ok && !response.redirected && response.type === "basic") {
    var copy = response.clone();
    caches.open(CACHE).then(function (c) { c.put(request, copy); });
  }
  return response;
}

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) return;
  if (req.mode === "navigate" && url.pathname.indexOf("/tech/") === 0) {
    // The route page: fresh when there is coverage, the last copy when there is none.
    event.respondWith(fetch(req).then(function (resp) { return remember(req, resp); })
      .catch(function () {
        // the day that was open (its URL carries ?date=), else the last copy of the day page
        return caches.match(req).then(function (hit) { return hit || caches.match("/tech/"); });
      }));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(req).then(function (hit) {
      var fresh = fetch(req).then(function (resp) { return remember(req, resp); });
      if (hit) { fresh.catch(function () {}); return hit; }
      return fresh;
    }));
  }
});
