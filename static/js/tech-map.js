/* The day's route on a map on the technician's phone: the stops numbered in route
 * order and joined by a line, drawn with Leaflet on a blank map (no tile server is
 * needed, so it works without coverage too). Tapping a stop scrolls to its visit. */
(function () {
  "use strict";
  var el = document.getElementById("tech-map");
  var data = document.getElementById("tech-stops");
  if (!el || !data || !window.L) return;
  var stops = JSON.parse(data.textContent || "[]").filter(function (s) {
    return typeof s.lat === "number" && typeof s.lon === "number";
  });
  if (!stops.length) { el.hidden = true; return; }
  // Without a tile layer Leaflet knows no zoom limits: give them, or fitting stops at
  // one place zooms without end.
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.25, minZoom: 3, maxZoom: 17 });
  var line = stops.map(function (s) { return [s.lat, s.lon]; });
  L.polyline(line, { color: "#0b5fff", weight: 4, opacity: 0.8 }).addTo(map);
  stops.forEach(function (s) {
    var icon = L.divIcon({
      className: "stop-marker stop-" + s.status,
      html: "<span>" + String(s.sequence).replace(/[^0-9]/g, "") + "</span>",
      iconSize: [30, 30], iconAnchor: [15, 15]
    });
    var marker = L.marker([s.lat, s.lon], { icon: icon, title: s.number + " · " + s.name,
                                             keyboard: true, alt: String(s.sequence) });
    marker.on("click", function () {
      var card = document.getElementById("visit-" + s.visit_id);
      if (card) card.scrollIntoView({ behavior: "smooth", block: "start" });
    });
    marker.addTo(map);
  });
  var bounds = L.latLngBounds(line);
  if (bounds.getNorthEast().equals(bounds.getSouthWest())) map.setView(line[0], 15);
  else map.fitBounds(bounds, { padding: [24, 24], maxZoom: 16 });
  window.fixrouteTechMap = map;
})();
