"""Cluster-first, route-second for large days.

Why: on a 1,000-job / 60-technician day with every FixRoute constraint (lunch
breaks, soft due times, overtime, parts with depot alternatives, skills) OR-Tools'
insertion heuristics did not return a first solution within 60 s on this
machine (measured for PARALLEL_CHEAPEST_INSERTION, LOCAL_CHEAPEST_INSERTION,
SAVINGS, PATH_CHEAPEST_ARC, LOCAL_CHEAPEST_ARC).  Groups of ~10 technicians with
their nearest jobs are solved in a few seconds each, then every group is
re-solved from its plan with the jobs left over nearby, so work that did not
fit in one group can still land in a neighbouring one.

Grouping uses only the travel matrix (no coordinates needed): technicians are
split into balanced groups around far-apart seeds; each job goes to the group
whose technicians are closest, by regret order, within a share of jobs
proportional to the group's size.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from .analysis import Analysis, analyse
from .model import REASONS, Problem, Route, Solution, SolverStats, Unassigned, Vehicle
from .ortools_model import solve_with_config
from .schedule import make_solution
from .search import ProgressFn, SearchConfig

LARGE_JOBS = 250  # above this many jobs the day is split
#: above this many jobs a builder's routes are finished by groups (``finish_by_groups``):
#: one model restored 300 visits in 0.24 s but 1,000 in 14-33 s (loaded machine)
FINISH_GROUPS_JOBS = 600
GROUP_VEHICLES = 5


def _anchor(v: Vehicle) -> int:
    """Where the vehicle's day is anchored: its start, else its end.

    Grouping needs a place for every vehicle: one with neither cannot be grouped
    (an IndexError from NumPy before this said so less clearly).
    """
    anchor = v.start_index if v.start_index is not None else v.end_index
    if anchor is None:
        raise IndexError(f"vehicle {v.id} has neither a start nor an end to group it by")
    return anchor


class Matrices:
    """The day's matrices as NumPy arrays, converted once per large solve.

    Why: a 5,300-location day has 28 million entries per matrix; converting them for
    every group, or handing every group's model the whole day, cost seconds per group."""

    def __init__(self, problem: Problem) -> None:
        self.durations = np.asarray(problem.durations, dtype=np.int64)
        self.distances = None if problem.distances is None else np.asarray(problem.distances, dtype=np.int64)


def group_vehicles(problem: Problem, n_groups: int, mx: Matrices | None = None) -> list[list[int]]:
    """Balanced vehicle groups around far-apart seeds (farthest-point seeding)."""
    D = (mx or Matrices(problem)).durations
    anchors = [_anchor(v) for v in problem.vehicles]
    V = len(anchors)
    sym = D + D.T
    seeds = [0]
    while len(seeds) < n_groups:
        dist = np.min(sym[np.ix_(anchors, [anchors[s] for s in seeds])], axis=1)
        seeds.append(int(np.argmax(dist)))
    cap = math.ceil(V / n_groups)
    cost = sym[np.ix_(anchors, [anchors[s] for s in seeds])]
    order = np.argsort(-(np.sort(cost, axis=1)[:, min(1, n_groups - 1)] - cost.min(axis=1)), kind="stable")
    groups: list[list[int]] = [[] for _ in range(n_groups)]
    for v in order:
        for g in np.argsort(cost[v], kind="stable"):
            if len(groups[g]) < cap:
                groups[g].append(int(v))
                break
    return [sorted(g) for g in groups if g]


def assign_jobs(problem: Problem, groups: list[list[int]], jobs: list[int], eligible: dict[int, set[int]],
                slack: float = 1.1, mx: Matrices | None = None) -> list[list[int]]:
    """Jobs (list indices) to groups: nearest eligible group, regret first, capped by size."""
    D = (mx or Matrices(problem)).durations
    V = len(problem.vehicles)
    anchors = np.array([_anchor(v) for v in problem.vehicles])
    locs = np.array([problem.jobs[j].location_index for j in jobs], dtype=np.int64)
    to_v = D[np.ix_(anchors, locs)] + D[np.ix_(locs, anchors)].T  # vehicles x jobs
    G = len(groups)
    big = np.iinfo(np.int64).max // 4
    cost = np.full((len(jobs), G), big, dtype=np.int64)
    for gi, g in enumerate(groups):
        for ji, j in enumerate(jobs):
            ok = [v for v in g if v in eligible.get(j, set())]
            if ok:
                cost[ji, gi] = to_v[ok, ji].min()
    caps = [math.ceil(slack * len(jobs) * len(g) / V) for g in groups]
    srt = np.sort(cost, axis=1)
    regret = (srt[:, 1] if G > 1 else srt[:, 0]) - srt[:, 0]
    out: list[list[int]] = [[] for _ in groups]
    for ji in np.argsort(-np.minimum(regret, big // 2), kind="stable"):
        choices = [g for g in np.argsort(cost[ji], kind="stable") if cost[ji, g] < big]
        if not choices:
            continue
        pick = next((g for g in choices if len(out[g]) < caps[g]), choices[0])
        out[pick].append(jobs[ji])
    return out


def _sub(problem: Problem, mx: Matrices, vehicles: list[int], jobs: list[int],
         stock: list[list[int]]) -> tuple[Problem, list[int]]:
    """The group's own problem on its own locations; depots offer only the stock other
    groups left.  Why its own locations: with the whole day's matrix every group's model
    read 28 million entries on a 5,000-job day, and 60 groups ran out of time with one
    visit planned.  Returns the problem and the whole day's index of each of its
    locations, for ``_globalise`` to map the group's routes back."""
    vs = [problem.vehicles[v] for v in vehicles]
    js = [problem.jobs[j] for j in sorted(jobs)]
    locs = sorted({i for v in vs for i in (v.start_index, v.end_index) if i is not None}
                  | {j.location_index for j in js} | {d.location_index for d in problem.depots})
    at = {loc: i for i, loc in enumerate(locs)}

    def local(i: int | None) -> int | None:
        return None if i is None else at[i]

    def part(full: np.ndarray) -> list[list[int]]:
        m: list[list[int]] = full[np.ix_(locs, locs)].tolist()
        return m

    sub = Problem(
        vehicles=[replace(v, start_index=local(v.start_index), end_index=local(v.end_index)) for v in vs],
        jobs=[replace(j, location_index=at[j.location_index]) for j in js],
        durations=part(mx.durations),
        distances=part(mx.distances) if mx.distances is not None else None,
        depots=[replace(d, stock=list(st), location_index=at[d.location_index])
                for d, st in zip(problem.depots, stock, strict=True)],
        part_kinds=problem.part_kinds)
    return sub, locs


def _globalise(locs: list[int], routes: list[Route]) -> list[Route]:
    """A group's routes with the whole day's location indices."""
    for r in routes:
        for st in r.steps:
            if st.location_index is not None:
                st.location_index = locs[st.location_index]
    return routes


def _taken(problem: Problem, routes: list[Route]) -> list[list[int]]:
    """Parts collected at each depot by these routes."""
    K = problem.n_kinds
    index = {d.id: i for i, d in enumerate(problem.depots)}
    out = [[0] * K for _ in problem.depots]
    for r in routes:
        for s in r.steps:
            if s.type == "pickup" and s.depot in index:
                for k, a in enumerate(s.parts):
                    out[index[s.depot]][k] += a
    return out


def _minus(a: list[list[int]], b: list[list[int]]) -> list[list[int]]:
    return [[x - y for x, y in zip(ra, rb, strict=True)] for ra, rb in zip(a, b, strict=True)]


def _plus(a: list[list[int]], b: list[list[int]]) -> list[list[int]]:
    return [[x + y for x, y in zip(ra, rb, strict=True)] for ra, rb in zip(a, b, strict=True)]


def solve_large(problem: Problem, config: SearchConfig, time_limit_s: float,
                progress: ProgressFn | None = None) -> Solution:
    """Solve by groups of technicians, then re-solve each group with nearby leftovers."""
    t0 = time.monotonic()
    an = analyse(problem)
    mx = Matrices(problem)
    V = len(problem.vehicles)
    n_groups = max(1, round(V / GROUP_VEHICLES))
    groups = group_vehicles(problem, n_groups, mx)
    eligible = {j: set(an.van_vehicles.get(j, [])) | set(an.depot_vehicles.get(j, []))
                for j in range(len(problem.jobs)) if j not in an.reasons}
    pinned_owner = {s.id: v for v, veh in enumerate(problem.vehicles) for s in veh.steps
                    if s.type == "job" and s.id is not None}
    id_to_j = {job.id: j for j, job in enumerate(problem.jobs)}
    free_jobs = [j for j in eligible if problem.jobs[j].id not in pinned_owner]
    parts = assign_jobs(problem, groups, free_jobs, eligible, mx=mx)
    for jid, v in pinned_owner.items():
        j = id_to_j[jid]
        if j in eligible:
            parts[next(i for i, g in enumerate(groups) if v in g)].append(j)

    best: list[int | None] = [None]
    found = [0]

    def relay(_elapsed: float, obj: int | None, n: int) -> None:
        found[0] += 1
        if progress is not None:
            progress(time.monotonic() - t0, obj, found[0])

    routes_by_group: list[list[Route]] = []
    objective = 0
    K = problem.n_kinds
    stock = [list(d.stock) + [0] * (K - len(d.stock)) for d in problem.depots]
    phase1 = 0.55 * time_limit_s
    for gi, (g, js) in enumerate(zip(groups, parts, strict=True)):
        remaining = phase1 - (time.monotonic() - t0)
        share = max(0.5, remaining / (len(groups) - gi))
        sub, locs = _sub(problem, mx, g, js, stock)
        sol = solve_with_config(sub, config, share, progress=relay, allow_split=False)
        routes_by_group.append(_globalise(locs, sol.routes))
        stock = _minus(stock, _taken(problem, sol.routes))
    served = {s.id for rs in routes_by_group for r in rs for s in r.steps if s.type == "job"}
    left = [j for j in eligible if problem.jobs[j].id not in served]
    status = "decomposed"
    if left and time.monotonic() - t0 < 0.9 * time_limit_s:
        # second round: each group again with its served jobs and the nearest leftovers
        extra = assign_jobs(problem, groups, left, eligible, slack=10.0, mx=mx)
        for gi, g in enumerate(groups):
            if not extra[gi]:
                continue
            remaining = 0.95 * time_limit_s - (time.monotonic() - t0)
            todo = sum(1 for k in range(gi, len(groups)) if extra[k])
            if remaining <= 0.3:
                break
            mine = [id_to_j[jid] for r in routes_by_group[gi] for jid in r.job_ids]
            mine_stock = _plus(stock, _taken(problem, routes_by_group[gi]))
            sub, locs = _sub(problem, mx, g, mine + extra[gi], mine_stock)
            initial = {r.vehicle: [(s.id, s.depot is not None, s.service_start) for s in r.steps
                                   if s.type == "job" and s.id is not None]
                       for r in routes_by_group[gi]}
            sol = solve_with_config(sub, config, max(0.3, remaining / todo), progress=relay, initial=initial,
                                    allow_split=False)
            kept = sum(len(r.job_ids) for r in routes_by_group[gi])
            if sol.code == 0 and sum(len(r.job_ids) for r in sol.routes) >= kept:
                routes_by_group[gi] = _globalise(locs, sol.routes)
                stock = _minus(mine_stock, _taken(problem, sol.routes))
        status = "decomposed+repair"
    routes = [r for rs in routes_by_group for r in rs]
    del best, objective
    return _merged(problem, an, routes, status, config, found[0], len(groups), t0)


def finish_by_groups(problem: Problem, initial: dict[int, list[tuple[int, bool, int]]], config: SearchConfig,
                     time_limit_s: float, progress: ProgressFn | None = None) -> Solution:
    """Finish a builder's routes for a large day, one group of technicians at a time.

    Why: the builders route 1,000 visits in one piece well, but restoring their routes
    in one OR-Tools model took 14-33 s on a loaded 2-core machine (propagation over
    every variant node of every job), which ate the finish and more.  By groups of
    ``GROUP_VEHICLES`` technicians the same restore takes well under a second each.
    Each group gets its technicians' routes as they were built and the left-out jobs
    nearest to it; depot stock goes to the groups in turn (what one group collects,
    the next cannot).  Each group's finish never returns worse than its start.
    """
    t0 = time.monotonic()
    an = analyse(problem)
    mx = Matrices(problem)
    V = len(problem.vehicles)
    groups = group_vehicles(problem, max(1, round(V / GROUP_VEHICLES)), mx)
    eligible = {j: set(an.van_vehicles.get(j, [])) | set(an.depot_vehicles.get(j, []))
                for j in range(len(problem.jobs)) if j not in an.reasons}
    id_to_j = {job.id: j for j, job in enumerate(problem.jobs)}
    veh_ids = [v.id for v in problem.vehicles]
    routed: dict[int, list[int]] = {}
    for vid, steps in initial.items():
        v = veh_ids.index(vid)
        routed[v] = [id_to_j[jid] for jid, _via, _t in steps if jid in id_to_j]
    taken = {j for js in routed.values() for j in js}
    pinned = {id_to_j[s.id]: v for v, veh in enumerate(problem.vehicles) for s in veh.steps
              if s.type == "job" and s.id in id_to_j}
    left = [j for j in eligible if j not in taken and j not in pinned]
    extra = assign_jobs(problem, groups, left, eligible, slack=10.0, mx=mx) if left else [[] for _ in groups]
    K = problem.n_kinds
    stock = [list(d.stock) + [0] * (K - len(d.stock)) for d in problem.depots]
    found = [0]

    def relay(_elapsed: float, obj: int | None, n: int) -> None:
        found[0] += 1
        if progress is not None:
            progress(time.monotonic() - t0, obj, found[0])

    routes: list[Route] = []
    deadline = t0 + time_limit_s
    overhead = 0.0  # a group's cost beyond its search (model build, read, extraction), measured
    for gi, g in enumerate(groups):
        mine = [j for v in g for j in routed.get(v, [])]
        mine += [j for j, v in pinned.items() if v in g and j not in taken]
        jobs = sorted(set(mine + extra[gi]))
        if not jobs:
            continue
        sub, locs = _sub(problem, mx, g, jobs, stock)
        start = {veh_ids[v]: initial[veh_ids[v]] for v in g if veh_ids[v] in initial}
        todo = len(groups) - gi
        share = max(0.1, (deadline - time.monotonic() - overhead * todo) / todo)
        g0 = time.monotonic()
        sol = solve_with_config(sub, config, share, progress=relay, initial=start or None, allow_split=False)
        overhead = max(overhead, time.monotonic() - g0 - share)
        routes += _globalise(locs, sol.routes)
        stock = _minus(stock, _taken(problem, sol.routes))
    return _merged(problem, an, routes, "finished_by_groups", config, found[0], len(groups), t0)


def _merged(problem: Problem, an: Analysis, routes: list[Route], status: str, config: SearchConfig,
            found: int, n_groups: int, t0: float) -> Solution:
    """The groups' routes as one day: in the day's vehicle order, every job not served
    listed with its reason (from the analysis, else the day's capacity)."""
    order = {v.id: i for i, v in enumerate(problem.vehicles)}
    routes.sort(key=lambda r: order[r.vehicle])
    served = {s.id for r in routes for s in r.steps if s.type == "job"}
    unassigned = []
    for j, job in enumerate(problem.jobs):
        if job.id not in served:
            code = an.reasons.get(j, "capacity_of_day")
            unassigned.append(Unassigned(job.id, job.location_index, code, REASONS[code]))
    stats = SolverStats(status=status, wall_time_s=round(time.monotonic() - t0, 3), objective=None,
                        first_solution_strategy=config.first_solution,
                        metaheuristic=("ILS+" if config.ils else "") + config.metaheuristic,
                        solutions_found=found, config=f"{config.name} x {n_groups} groups")
    return make_solution(problem, routes, unassigned, stats)
