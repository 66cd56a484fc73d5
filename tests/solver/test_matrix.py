"""Matrices from coordinates: vectorised haversine and the OSRM table provider."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from dispatch.solver.matrix import (
    MatrixError,
    haversine_m,
    haversine_matrices,
    osrm_matrices,
    provider,
)

PARIS = (2.3522, 48.8566)
LONDON = (-0.1276, 51.5072)


def test_haversine_paris_london_is_about_344_km():
    d = haversine_m([PARIS, LONDON])
    assert d[0, 0] == 0 and abs(d[0, 1] - 343_900) < 1_500 and d[0, 1] == d[1, 0]


def test_detour_and_speed_scale_distance_and_time():
    dur, dist = haversine_matrices([PARIS, LONDON], detour=1.5, speed_kmh=60)
    assert abs(dist[0][1] - 1.5 * haversine_m([PARIS, LONDON])[0, 1]) <= 1
    assert abs(dur[0][1] - dist[0][1] / (60 / 3.6)) <= 1
    assert all(isinstance(x, int) for row in dur for x in row)


class _FakeOSRM(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self):
        _FakeOSRM.requests.append(self.path)
        coords = self.path.split("/table/v1/driving/")[1].split("?")[0].split(";")
        n = len(coords)
        body = {"code": "Ok",
                "durations": [[abs(i - j) * 100.4 for j in range(n)] for i in range(n)],
                "distances": [[abs(i - j) * 1000.0 if (i, j) != (0, 2) else None for j in range(n)] for i in range(n)]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def osrm_url():
    server = HTTPServer(("127.0.0.1", 0), _FakeOSRM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_osrm_table_provider_asks_for_durations_and_distances(osrm_url):
    dur, dist = osrm_matrices([PARIS, LONDON, (2.0, 48.0)], osrm_url)
    path = _FakeOSRM.requests[-1]
    assert path.startswith("/table/v1/driving/2.352200,48.856600;-0.127600,51.507200;")
    assert "annotations=duration,distance" in path
    assert dur[0][1] == 100 and dist[1][2] == 1000
    assert dist[0][2] >= 10**7  # unreachable pair (null) becomes prohibitive
    assert provider(osrm_url)([PARIS, LONDON])[0][1][0] == 100


def test_osrm_unreachable_server_raises_matrix_error():
    with pytest.raises(MatrixError):
        osrm_matrices([PARIS, LONDON], "http://127.0.0.1:9", timeout_s=2)
