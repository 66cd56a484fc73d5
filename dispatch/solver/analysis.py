"""What can be decided about a problem before searching: eligibility, reasons, horizon.

Shared by the OR-Tools model (``ortools_model.py``) and the route builders
(``builders.py``), so both see the same eligible vehicles and the same a-priori reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Job, Problem, Vehicle


def _pad(v: list[int], n: int) -> list[int]:
    return list(v) + [0] * (n - len(v))


@dataclass
class Analysis:
    """What can be decided before searching: eligibility and a-priori reasons."""

    reasons: dict[int, str]  # job list index -> reason code (not modelled)
    van_vehicles: dict[int, list[int]]  # job -> vehicles that may serve it from the van
    depot_vehicles: dict[int, list[int]]  # job -> vehicles that may serve it via its depot
    depot_of: dict[int, int]  # job -> depot list index used for its pickup
    horizon: int
    unusable: set[int]  # vehicles whose shift cannot even cover start -> end (and breaks)


def _windows_or(job_windows: list[tuple[int, int]], horizon: int) -> list[tuple[int, int]]:
    return list(job_windows) if job_windows else [(0, horizon)]


def horizon_of(problem: Problem) -> int:
    """A time bound past every window, or long enough to do every job in a row."""
    D = problem.durations
    max_d = max((max(r) for r in D if r), default=0)
    h = sum(j.service for j in problem.jobs) + sum(d.service for d in problem.depots)
    h += max_d * (len(problem.jobs) + len(problem.depots) + 2)
    h += sum(b.service for v in problem.vehicles for b in v.breaks)
    ends = [w[1] for j in problem.jobs for w in j.time_windows]
    ends += [v.time_window[1] for v in problem.vehicles if v.time_window]
    ends += [w[1] for v in problem.vehicles for b in v.breaks for w in b.time_windows]
    ends += [w[1] for d in problem.depots for w in d.time_windows]
    ends += [j.due for j in problem.jobs if j.due is not None]
    return int(max([h + 1] + [e + 1 for e in ends]))


def analyse(problem: Problem) -> Analysis:
    """Decide eligibility and the reasons a job cannot be planned at all."""
    K = problem.n_kinds
    D = problem.durations
    H = horizon_of(problem)
    pinned = {s.id for v in problem.vehicles for s in v.steps if s.type == "job"}
    reasons: dict[int, str] = {}
    van_vehicles: dict[int, list[int]] = {}
    depot_vehicles: dict[int, list[int]] = {}
    depot_of: dict[int, int] = {}
    vskills = [set(v.skills) for v in problem.vehicles]
    caps = [_pad(v.capacity, K) for v in problem.vehicles]
    stocks = [_pad(d.stock, K) for d in problem.depots]
    demand_total = [0] * K
    for job in problem.jobs:
        for k, a in enumerate(_pad(job.delivery, K)):
            demand_total[k] += a
    cap_total = [sum(c[k] for c in caps) for k in range(K)]
    unusable: set[int] = set()
    for v, veh in enumerate(problem.vehicles):
        s, e = veh.time_window if veh.time_window else (0, H)
        back = D[veh.start_index][veh.end_index] if veh.start_index is not None and veh.end_index is not None else 0
        if s + back + sum(b.service for b in veh.breaks) > e:
            unusable.add(v)

    def reach(v: Vehicle, job: Job, via: int | None) -> bool:
        s, e = v.time_window if v.time_window else (0, H)
        t = s
        here = v.start_index
        if via is not None:
            dep = problem.depots[via]
            t += D[here][dep.location_index] if here is not None else 0
            if dep.time_windows:
                ok = [max(t, a) for a, z in dep.time_windows if max(t, a) <= z]
                if not ok:
                    return False
                t = ok[0]
            t += dep.service
            here = dep.location_index
        t += D[here][job.location_index] if here is not None else 0
        back = D[job.location_index][v.end_index] if v.end_index is not None else 0
        for a, z in _windows_or(job.time_windows, H):
            st = max(t, a)
            if st <= z and st + job.service + back <= e:
                return True
        return False

    for j, job in enumerate(problem.jobs):
        need = _pad(job.delivery, K)
        skilled = [v for v, sk in enumerate(vskills) if set(job.skills) <= sk and v not in unusable]
        if job.id in pinned:
            owner = [v for v, veh in enumerate(problem.vehicles)
                     if v not in unusable and any(s.type == "job" and s.id == job.id for s in veh.steps)]
            van_vehicles[j] = owner
            depot_vehicles[j] = []
            continue
        if not skilled:
            reasons[j] = "no_skill"
            continue
        van = [v for v in skilled if all(caps[v][k] >= need[k] for k in range(K))]
        depot = None
        if any(need):
            cands = [d for d, st in enumerate(stocks) if all(st[k] >= need[k] for k in range(K))]
            scarce = not van or any(need[k] > 0 and demand_total[k] > cap_total[k] for k in range(K))
            if cands and scarce:
                depot = min(cands, key=lambda d: (D[problem.depots[d].location_index][job.location_index], d))
        if not van and depot is None:
            reasons[j] = "no_part"
            continue
        van = [v for v in van if reach(problem.vehicles[v], job, None)]
        via = [v for v in skilled if reach(problem.vehicles[v], job, depot)] if depot is not None else []
        if not van and not via:
            reasons[j] = "unreachable_time_window"
            continue
        van_vehicles[j] = van
        depot_vehicles[j] = via
        if via and depot is not None:  # (via is empty without a depot)
            depot_of[j] = depot
    return Analysis(reasons, van_vehicles, depot_vehicles, depot_of, H, unusable)
