"""Travel matrices from coordinates.

Default: great-circle (haversine) distance x a detour factor, divided by an
average speed, computed for all pairs at once with NumPy (a 2,000-point matrix
takes well under a second; a Python double loop takes about a minute).  When a
road engine is configured, ``osrm_matrices`` asks an OSRM server's table
service for real road durations and distances.

Coordinates are ``(lon, lat)`` in degrees, like VROOM and OSRM.  Durations are
integer seconds, distances integer metres.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8
DEFAULT_DETOUR = 1.3  # road distance / straight line, typical for a city
DEFAULT_SPEED_KMH = 30.0  # average urban van speed including stops at lights

#: coordinates (lon, lat) -> (durations s, distances m), all pairs
MatrixProvider = Callable[[Sequence[tuple[float, float]]], tuple[list[list[int]], list[list[int]]]]


class MatrixError(RuntimeError):
    """The matrix provider could not answer (network, server, malformed reply)."""


def haversine_m(coords: Sequence[tuple[float, float]]) -> npt.NDArray[np.float64]:
    """Great-circle distances in metres between all pairs of (lon, lat) points."""
    a = np.radians(np.asarray(coords, dtype=np.float64).reshape(-1, 2))
    lon, lat = a[:, 0], a[:, 1]
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    metres: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return metres


def haversine_matrices(
    coords: Sequence[tuple[float, float]],
    detour: float = DEFAULT_DETOUR,
    speed_kmh: float = DEFAULT_SPEED_KMH,
) -> tuple[list[list[int]], list[list[int]]]:
    """(durations s, distances m): straight line x ``detour`` at ``speed_kmh``."""
    if speed_kmh <= 0 or detour <= 0:
        raise ValueError("speed and detour must be positive")
    dist = haversine_m(coords) * detour
    dur = dist / (speed_kmh / 3.6)
    return np.rint(dur).astype(np.int64).tolist(), np.rint(dist).astype(np.int64).tolist()


def osrm_matrices(
    coords: Sequence[tuple[float, float]],
    base_url: str,
    profile: str = "driving",
    timeout_s: float = 30.0,
) -> tuple[list[list[int]], list[list[int]]]:
    """(durations s, distances m) from OSRM's table service.

    ``GET {base_url}/table/v1/{profile}/{lon,lat;...}?annotations=duration,distance``.
    Unreachable pairs (``null``) become a very long time so the solver avoids them.
    """
    if not coords:
        return [], []
    locs = ";".join(f"{lon:.6f},{lat:.6f}" for lon, lat in coords)
    url = f"{base_url.rstrip('/')}/table/v1/{profile}/{locs}?annotations=duration,distance"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            body = json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, TimeoutError, ValueError, OSError) as exc:
        raise MatrixError(f"OSRM table request failed: {exc}") from exc
    if body.get("code") != "Ok":
        raise MatrixError(f"OSRM answered {body.get('code')}: {body.get('message', '')}")
    n = len(coords)
    unreachable = 10**7

    def grid(key: str) -> list[list[int]]:
        rows = body.get(key)
        if rows is None or len(rows) != n or any(len(r) != n for r in rows):
            raise MatrixError(f"OSRM reply has no {n}x{n} '{key}'")
        a = np.array([[unreachable if x is None else x for x in r] for r in rows], dtype=np.float64)
        out: list[list[int]] = np.rint(a).astype(np.int64).tolist()
        return out

    return grid("durations"), grid("distances")


def provider(
    osrm_url: str | None = None, detour: float = DEFAULT_DETOUR, speed_kmh: float = DEFAULT_SPEED_KMH
) -> MatrixProvider:
    """A ``coords -> (durations, distances)`` function: OSRM if a URL is given."""
    if osrm_url:
        url = osrm_url
        return lambda coords: osrm_matrices(coords, url)
    return lambda coords: haversine_matrices(coords, detour, speed_kmh)
