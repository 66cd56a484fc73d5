"""Route builders: PyVRP (HGS-class iterated local search) and VROOM propose routes.

Why: OR-Tools' local search plateaus ~4 % above the best known Solomon solutions at
10 s, and behind VROOM on over-full field days (docs/benchmarks.md).  So each solve
starts with a builder that searches faster, and FixRoute's full OR-Tools model then
*finishes* from the builder's routes (``RoutingModel.read_routes``): every answer is
an assignment of the full model, with every FixRoute constraint, checked by the
validator.  A builder only has to propose good routes; what it cannot express is
approximated here, and what breaks at the finish is repaired there.

What each builder sees (beyond travel, service and the vehicles' shifts):

=========================  =====================================  ==================================
FixRoute                   PyVRP 0.14                             VROOM (pyvroom 1.15)
=========================  =====================================  ==================================
van stock per part kind    load dimensions (capacity / delivery)  capacity / delivery
depot pickups              parts of depot-servable jobs left out  same (left to the finisher)
skills (eligibility)       one routing profile per skill set:     skills
                           travel into an ineligible job costs
                           more than any prize
several time windows       mutually exclusive client group,       time_windows
                           one client per window
priorities / optional      optional clients with prizes = the     priority (0..100); optional
                           finisher's drop penalties              jobs ranked below required ones
lunch breaks               shift shortened by the breaks' length  breaks
soft due times             windows end at the due time            same
max_tasks                  an extra load dimension                max_tasks
max_travel_time            not seen                               max_travel_time
pinned first visits        not seen: prepended to the route       not seen: prepended to the route
=========================  =====================================  ==================================

Prizes are FixRoute's own drop penalties (``objective.drop_penalty``): a required
job is worth more than any detour, so a higher-priority job is never dropped to save
driving.  PyVRP's ``max_penalty`` is raised with the prize scale: with its default
(1e5) the search stayed in infeasible space on prize-heavy days.

Randomness: PyVRP takes ``seed`` (a long budget runs seeds ``seed``, ``seed + 1``, ...,
see ``PYVRP_RUN_S``), and with ``iterations`` (the ``solution_limit`` path, always one
run) its routes repeat bit for bit.  VROOM has no seed; with one thread and no timeout it
repeats its cost, but now and then (1 run in 15 on a small test day) returns another
route of equal cost, so a VROOM-built run repeats its objective, not always its order.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .analysis import Analysis, _pad, horizon_of
from .model import Job, Problem, Skill
from .objective import drop_penalty, required_base

#: {vehicle id: [(job id, via depot, planned service start)]}, as ``RoutingModel.read_routes`` reads
Routes = dict[int, list[tuple[int, bool, int]]]

BUILDERS = ("pyvrp", "vroom")
#: builders see a soft due time as the end of the job's windows (see ``builder_windows``)
DUE_AS_WINDOW = True
#: seconds VROOM runs past its timeout (measured, see docs/benchmarks.md)
VROOM_OVERRUN_S = 2.5
#: VROOM's exploration level as a builder, by day shape (``day_shape``).  Why 0 on plain
#: over-full days and not VROOM's default 5: under a time limit the lowest level searched
#: best there (plain 300/25, 18 s: travel cost 88,649 at level 0, 106,829 at 2, 111,016 at
#: 5 given 30 s, same priority; 1,000/60: priority 42,357 at level 0 in 50 s, 41,733 at
#: level 5 in 65 s; on 100 visits level 0 converges in under 2 s).  On days with FixRoute's
#: extensions level 0 left required visits out that level 5 placed (100/10: 71 of 72
#: against 72; 300/25: 223 of 228 against 226).  docs/benchmarks.md, "VROOM's exploration
#: level".
VROOM_EXPLORATION = {"overfull": 0, "required": 5, "extended": 5, "committed": 5}


class BuilderUnavailable(RuntimeError):
    """The builder's package is not installed."""


@dataclass
class Built:
    """Routes proposed by one builder."""

    name: str
    routes: Routes
    wall_s: float
    detail: str = ""


def available(name: str) -> bool:
    """Whether ``name``'s package is installed (both are declared dependencies).

    Why ``find_spec`` and not an import: importing vroom takes 1.5 s here (pandas), and
    choosing the plans is part of the time limit; the builder that runs imports it.
    """
    module = {"pyvrp": "pyvrp", "vroom": "vroom"}.get(name)
    return module is not None and importlib.util.find_spec(module) is not None


# ------------------------------------------------------------------ shared


@dataclass
class _Plan:
    """What both builders route: the free jobs, their eligible vehicles and pins."""

    jobs: list[int]  # job list indices given to the builder
    eligible: dict[int, set[int]]  # job -> vehicle list indices
    depot_job: set[int]  # jobs that may be served through a depot pickup (parts left out)
    pinned: dict[int, list[int]]  # vehicle -> pinned job indices, in order
    vehicles: list[int]  # usable vehicle list indices
    horizon: int
    windows: dict[int, list[tuple[int, int]]]  # job -> the windows the builder sees
    service: dict[int, int]  # job -> service the builder sees (a depot job: + the pickup's detour)


def builder_windows(job: Job, horizon: int, due_as_window: bool | None = None) -> list[tuple[int, int]]:
    """A job's windows for a builder: a soft due time (with a lateness cost) closes them.

    Why: neither builder knows soft due times, and left alone they pile late visits on
    one technician because one route drives less (the idle technician on the demo
    board).  Ending the windows at the due time makes them plan on time where they can;
    a job that cannot be on time anywhere is left out and the finisher, which prices
    lateness, inserts it late.
    """
    wins = list(job.time_windows) or [(0, horizon)]
    if due_as_window is None:
        due_as_window = DUE_AS_WINDOW
    if due_as_window and job.due is not None and job.lateness_cost_per_minute > 0:
        cut = [(a, min(z, job.due)) for a, z in wins if a <= job.due]
        if cut:
            return cut
    return wins


def _plan(problem: Problem, an: Analysis) -> _Plan:
    by_id = {j.id: i for i, j in enumerate(problem.jobs)}
    pinned: dict[int, list[int]] = {}
    pinned_jobs: set[int] = set()
    for v, veh in enumerate(problem.vehicles):
        seq = [by_id[s.id] for s in veh.steps if s.type == "job" and s.id in by_id]
        if seq:
            pinned[v] = seq
            pinned_jobs.update(seq)
    jobs, eligible, depot_job = [], {}, set()
    for j in range(len(problem.jobs)):
        if j in an.reasons or j in pinned_jobs:
            continue
        vs = set(an.van_vehicles.get(j, [])) | set(an.depot_vehicles.get(j, []))
        if not vs:
            continue
        jobs.append(j)
        eligible[j] = vs
        if an.depot_vehicles.get(j):
            depot_job.add(j)
    vehicles = [v for v in range(len(problem.vehicles)) if v not in an.unusable]
    windows = {j: builder_windows(problem.jobs[j], an.horizon) for j in jobs}
    # a job served through a depot costs the pickup too: its service plus half the round
    # trip, so the builders leave room for it (measured: without it most such routes had
    # a visit refused by the full model)
    D = problem.durations
    service = {}
    for j in jobs:
        job = problem.jobs[j]
        extra = 0
        if j in depot_job:
            dep = problem.depots[an.depot_of[j]]
            a, b = dep.location_index, job.location_index
            extra = dep.service + (D[a][b] + D[b][a]) // 2
        service[j] = job.service + extra
    return _Plan(jobs, eligible, depot_job, pinned, vehicles, an.horizon, windows, service)


def _to_routes(problem: Problem, an: Analysis, plan: _Plan, raw: dict[int, list[tuple[int, int]]]) -> Routes:
    """Builder sequences {vehicle index: [(job index, service start)]} as finisher routes.

    Pinned visits go first; a job is served from the van while the van's stock lasts
    and through its depot otherwise (the finisher's model checks both).
    """
    K = problem.n_kinds
    out: Routes = {}
    for v in range(len(problem.vehicles)):
        veh = problem.vehicles[v]
        seq = [(j, -1) for j in plan.pinned.get(v, [])] + list(raw.get(v, []))
        if not seq:
            continue
        left = _pad(veh.capacity, K)
        steps = []
        for j, t in seq:
            need = _pad(problem.jobs[j].delivery, K)
            from_van = v in an.van_vehicles.get(j, []) and all(a >= b for a, b in zip(left, need, strict=True))
            via = not from_van and v in an.depot_vehicles.get(j, [])
            if from_van or not via:
                left = [a - b for a, b in zip(left, need, strict=True)]
            steps.append((problem.jobs[j].id, via, max(t, 0)))
        out[veh.id] = steps
    return out


def _skill_key(problem: Problem, plan: _Plan, v: int) -> frozenset[int]:
    """The jobs vehicle ``v`` may not serve (its routing profile)."""
    return frozenset(j for j in plan.jobs if v not in plan.eligible[j])


# ------------------------------------------------------------------ PyVRP


#: PyVRP's iterated local search follows one trajectory and never leaves its best: on
#: some instances one seed stays trapped for the whole minute (R204: 739.5 at 10 s and at
#: 50 s with seed 0) where another seed reaches the best known in 10 s.  With a long
#: budget the builder therefore runs independent searches of at least ``PYVRP_RUN_S``
#: seconds each (seeds ``seed``, ``seed + 1``, ...), with a longer late-acceptance
#: history, and keeps the best; a short budget keeps one run, which measured best at
#: 10 s.  Measured in docs/benchmarks.md ("PyVRP restarts").
PYVRP_RUN_S = 15.0
PYVRP_MAX_RUNS = 3
#: late-acceptance history of those long runs (PyVRP's default is 300)
PYVRP_LONG_HISTORY = 1000


def pyvrp_runs(budget_s: float, n_jobs: int = 100) -> int:
    """How many independent PyVRP searches share ``budget_s`` seconds.

    ``PYVRP_RUN_S`` was measured on 100 visits; a larger day needs proportionally longer
    before one search settles, so it is split only when each run still gets that long.
    """
    per_run = PYVRP_RUN_S * max(1.0, n_jobs / 100.0)
    return max(1, min(PYVRP_MAX_RUNS, int(budget_s // per_run)))


@dataclass
class PyvrpInput:
    """The problem as PyVRP states it, and what maps its answer back."""

    data: Any | None  # pyvrp.ProblemData; None: nothing to route
    params: Any  # pyvrp.solve.SolveParams
    plan: _Plan
    client_job: list[int]  # PyVRP client -> job list index
    type_vehicles: list[list[int]]  # PyVRP vehicle type -> vehicle list indices
    required_mode: bool
    profiles: int


def pyvrp_input(problem: Problem, an: Analysis) -> PyvrpInput:
    """FixRoute's problem in PyVRP's terms (the table at the top of this module)."""
    try:
        from pyvrp import Client, ClientGroup, Depot, Location, ProblemData, VehicleType
        from pyvrp.PenaltyManager import PenaltyParams
        from pyvrp.solve import SolveParams
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise BuilderUnavailable("pyvrp") from exc
    p = problem
    plan = _plan(p, an)
    K = p.n_kinds
    H = plan.horizon
    use_tasks = any(p.vehicles[v].max_tasks is not None for v in plan.vehicles)

    # locations: depots (vehicle ends; one "anywhere" for vehicles without), then jobs
    dep_locs: list[int] = []  # problem location index, -1 = anywhere
    dep_of: dict[int, int] = {}

    def depot(loc: int | None) -> int:
        key = -1 if loc is None else loc
        if key not in dep_of:
            dep_of[key] = len(dep_locs)
            dep_locs.append(key)
        return dep_of[key]

    v_start = {v: depot(p.vehicles[v].start_index) for v in plan.vehicles}
    v_end = {v: depot(p.vehicles[v].end_index) for v in plan.vehicles}
    if not dep_locs:
        depot(None)
    job_loc = {j: len(dep_locs) + i for i, j in enumerate(plan.jobs)}
    src = np.array(dep_locs + [p.jobs[j].location_index for j in plan.jobs], dtype=np.int64)
    virtual = src < 0
    src[virtual] = 0
    Dm = np.asarray(p.durations, dtype=np.int64)[np.ix_(src, src)]
    Dist = (np.asarray(p.distances, dtype=np.int64)[np.ix_(src, src)] if p.distances is not None
            else np.zeros_like(Dm))
    Dm[virtual, :] = 0
    Dm[:, virtual] = 0
    Dist[virtual, :] = 0
    Dist[:, virtual] = 0
    np.fill_diagonal(Dm, 0)
    np.fill_diagonal(Dist, 0)

    req_base = required_base(p)
    prize = {j: drop_penalty(p.jobs[j], req_base) for j in plan.jobs}
    # everything required and alike (Solomon-like): PyVRP's required clients search best;
    # otherwise every job is optional with its prize (a day may be over-full)
    required_mode = bool(plan.jobs) and all(
        not p.jobs[j].optional and p.jobs[j].priority == p.jobs[plan.jobs[0]].priority
        and plan.windows[j] == (p.jobs[j].time_windows or [(0, H)]) for j in plan.jobs
    ) and len(plan.jobs) == len(p.jobs)
    max_prize = max(prize.values(), default=1)

    # routing profiles: (cost class, jobs not allowed); travel costs go into the distance matrix
    profiles: dict[tuple[int, int, frozenset[int]], int] = {}
    dist_mats: list[npt.NDArray[np.int64]] = []
    dur_mats: list[npt.NDArray[np.int64]] = []
    big = int(min(2 * max_prize + 10 * int(Dm.max(initial=0)) + 1, 10**12))
    v_profile: dict[int, int] = {}
    for v in plan.vehicles:
        veh = p.vehicles[v]
        key = (veh.costs.per_hour, veh.costs.per_km, _skill_key(p, plan, v))
        if key not in profiles:
            cost = np.rint(veh.costs.per_hour * Dm / 3600.0 + veh.costs.per_km * Dist / 1000.0).astype(np.int64)
            dur = Dm.copy()
            cols = [job_loc[j] for j in key[2]]
            if cols:
                cost[:, cols] = big
                dur[:, cols] = min(big, H)
                np.fill_diagonal(cost, 0)
                np.fill_diagonal(dur, 0)
            profiles[key] = len(dist_mats)
            dist_mats.append(cost)
            dur_mats.append(dur)
        v_profile[v] = profiles[key]

    locations = [Location(0.0, 0.0) for _ in range(len(src))]
    depots = [Depot(location=i) for i in range(len(dep_locs))]
    clients: list[Client] = []
    groups: list[ClientGroup] = []
    client_job: list[int] = []
    for j in plan.jobs:
        job = p.jobs[j]
        need = [0] * K if j in plan.depot_job else _pad(job.delivery, K)
        if use_tasks:
            need = need + [1]
        wins = plan.windows[j]
        required = required_mode and not job.optional
        if len(wins) == 1:
            clients.append(Client(location=job_loc[j], delivery=need, service_duration=plan.service[j],
                                  tw_early=wins[0][0], tw_late=wins[0][1], prize=prize[j], required=required))
            client_job.append(j)
            continue
        group = ClientGroup(required=required)
        gi = len(groups)
        groups.append(group)
        for a, z in wins:
            group.add_client(len(clients))
            clients.append(Client(location=job_loc[j], delivery=need, service_duration=plan.service[j],
                                  tw_early=a, tw_late=z, prize=prize[j], required=False, group=gi))
            client_job.append(j)

    # vehicle types: identical vehicles share one (fewer symmetric moves)
    types: dict[tuple[int, int, int, int, tuple[int, ...], int, int], list[int]] = {}
    for v in plan.vehicles:
        veh = p.vehicles[v]
        s, e = veh.time_window if veh.time_window else (0, H)
        # breaks are not modelled: their length comes off the shift, so routes survive
        # the finisher's break insertion (measured: whole shifts lost 5-15 % of priority)
        e = max(s, e - sum(b.service for b in veh.breaks))
        cap = _pad(veh.capacity, K) + ([veh.max_tasks if veh.max_tasks is not None else len(clients)]
                                      if use_tasks else [])
        types.setdefault((v_start[v], v_end[v], s, e, tuple(cap), v_profile[v], veh.costs.fixed), []).append(v)
    vtypes = []
    type_vehicles: list[list[int]] = []
    for (st, en, s, e, type_cap, prof, fixed), vs in types.items():
        vtypes.append(VehicleType(num_available=len(vs), capacity=list(type_cap), start_depot=st, end_depot=en,
                                  tw_early=s, tw_late=e, fixed_cost=int(fixed), unit_distance_cost=1,
                                  unit_duration_cost=0, profile=prof))
        type_vehicles.append(vs)
    max_pen = float(max(100_000.0, 2.0 * max_prize))
    params = SolveParams(penalty=PenaltyParams(max_penalty=max_pen))
    data = None
    if clients and vtypes:
        # pyvrp's stub types a matrix as ndarray[int, ...] (an int shape): NumPy's own type does not match it
        data = ProblemData(locations, clients, depots, vtypes, dist_mats, dur_mats, groups, [])  # type: ignore[arg-type]
    return PyvrpInput(data, params, plan, client_job, type_vehicles, required_mode, len(dist_mats))


def build_pyvrp(problem: Problem, an: Analysis, time_limit_s: float, seed: int | None = None,
                iterations: int | None = None) -> Built:
    """Routes from PyVRP's iterated local search on the problem as PyVRP can state it."""
    try:
        from pyvrp import solve as pyvrp_solve
        from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
        from pyvrp.solve import SolveParams
        from pyvrp.stop import MaxIterations, MaxRuntime
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise BuilderUnavailable("pyvrp") from exc
    t0 = time.monotonic()
    inp = pyvrp_input(problem, an)
    plan = inp.plan
    if inp.data is None:
        return Built("pyvrp", _to_routes(problem, an, plan, {}), time.monotonic() - t0, "nothing to route")
    data, params = inp.data, inp.params
    remaining = max(0.05, time_limit_s - (time.monotonic() - t0))
    runs = 1 if iterations else pyvrp_runs(remaining, len(plan.jobs))
    if runs > 1:
        # late acceptance: a longer history searches longer before it settles, which pays
        # off only on long runs (measured: better at 17 s a run, worse at 8.5 s)
        params = SolveParams(penalty=params.penalty,
                             ils=IteratedLocalSearchParams(history_length=PYVRP_LONG_HISTORY))
    res = None
    for run in range(runs):
        if iterations:
            stop: MaxIterations | MaxRuntime = MaxIterations(iterations)
        else:
            left = max(0.05, time_limit_s - (time.monotonic() - t0))
            stop = MaxRuntime(left / (runs - run))
        got = pyvrp_solve(data, stop, seed=(int(seed or 0) + run) % (2**31), collect_stats=False,
                          display=False, params=params)
        if res is None or got.cost() < res.cost():
            res = got
    assert res is not None
    best = res.best
    raw: dict[int, list[tuple[int, int]]] = {}
    used = {ti: list(vs) for ti, vs in enumerate(inp.type_vehicles)}
    for route in best.routes():
        vs = used[route.vehicle_type()]
        if not vs:
            continue
        v = vs.pop(0)
        raw[v] = [(inp.client_job[a.idx], int(a.start_time)) for a in route if a.is_client()]
    detail = (f"pyvrp {res.num_iterations} it (best of {runs} runs), feasible={best.is_feasible()}, "
              f"{'required' if inp.required_mode else 'prizes'}, {inp.profiles} profiles")
    return Built("pyvrp", _to_routes(problem, an, plan, raw), time.monotonic() - t0, detail)


# ------------------------------------------------------------------ VROOM


def vroom_input(problem: Problem, an: Analysis) -> tuple[dict[str, Any], _Plan]:
    """The problem in plain VROOM JSON, as VROOM can state it (ids are list indices)."""
    p = problem
    plan = _plan(p, an)
    K = p.n_kinds
    skill_ids: dict[Skill, int] = {}

    def sk(values: list[Skill]) -> list[int]:
        return [skill_ids.setdefault(x, len(skill_ids) + 1) for x in values]

    has_optional = any(p.jobs[j].optional for j in plan.jobs)
    max_p = max([100] + [p.jobs[j].priority for j in plan.jobs])

    def priority(j: int) -> int:
        job = p.jobs[j]
        if not has_optional:
            return int(min(100, max(0, job.priority)))
        # VROOM maximises the priority sum first: keep required work above optional work
        if job.optional:
            return round(20 * max(0, job.priority) / max_p)
        return 21 + round(79 * max(0, job.priority) / max_p)

    vehicles = []
    for v in plan.vehicles:
        veh = p.vehicles[v]
        d: dict[str, Any] = {"id": v, "costs": {"fixed": int(veh.costs.fixed), "per_hour": int(veh.costs.per_hour)}}
        if veh.costs.per_km:
            d["costs"]["per_km"] = int(veh.costs.per_km)
        if veh.start_index is not None:
            d["start_index"] = veh.start_index
        if veh.end_index is not None:
            d["end_index"] = veh.end_index
        if veh.time_window is not None:
            d["time_window"] = list(veh.time_window)
        if K:
            d["capacity"] = _pad(veh.capacity, K)
        d["skills"] = sk(veh.skills)
        if veh.breaks:
            d["breaks"] = [{"id": i, "time_windows": [list(w) for w in b.time_windows], "service": b.service}
                           for i, b in enumerate(veh.breaks)]
        if veh.max_tasks is not None:
            d["max_tasks"] = max(0, veh.max_tasks - len(plan.pinned.get(v, [])))
        if veh.max_travel_time is not None:
            d["max_travel_time"] = veh.max_travel_time
        vehicles.append(d)
    jobs = []
    for j in plan.jobs:
        job = p.jobs[j]
        d = {"id": j, "location_index": job.location_index, "service": plan.service[j],
             "priority": priority(j), "skills": sk(job.skills)}
        if K:
            d["delivery"] = [0] * K if j in plan.depot_job else _pad(job.delivery, K)
        if job.time_windows or job.due is not None:
            d["time_windows"] = [list(w) for w in plan.windows[j]]
        jobs.append(d)
    # eligibility beyond skills (reach, stock): a private skill per restricted vehicle set
    usable = set(plan.vehicles)
    restricted: dict[frozenset[int], int] = {}
    for d in jobs:
        j = d["id"]
        skilled = {v for v in usable if set(d["skills"]) <= set(vehicles[plan.vehicles.index(v)]["skills"])}
        if plan.eligible[j] & usable != skilled:
            key = frozenset(plan.eligible[j] & usable)
            if key not in restricted:
                restricted[key] = 1_000_000 + len(restricted)
                for vd in vehicles:
                    if vd["id"] in key:
                        vd["skills"].append(restricted[key])
            d["skills"].append(restricted[key])
    mat: dict[str, list[list[int]]] = {"durations": p.durations}
    if p.distances is not None and any(p.vehicles[v].costs.per_km for v in plan.vehicles):
        mat["distances"] = p.distances
    return {"vehicles": vehicles, "jobs": jobs, "matrices": {"car": mat}}, plan


def build_vroom(problem: Problem, an: Analysis, time_limit_s: float, seed: int | None = None,
                iterations: int | None = None, exploration_level: int | None = None) -> Built:
    """Routes from VROOM (one thread); ``iterations`` set: no timeout (reproducible)."""
    try:
        import vroom
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise BuilderUnavailable("vroom") from exc
    t0 = time.monotonic()
    if exploration_level is None:
        exploration_level = VROOM_EXPLORATION[day_shape(problem)]
    data, plan = vroom_input(problem, an)
    if not data["jobs"] or not data["vehicles"]:
        return Built("vroom", _to_routes(problem, an, plan, {}), time.monotonic() - t0, "nothing to route")
    fd, path = tempfile.mkstemp(suffix=".json", prefix="fixroute-vroom-")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        inp = vroom.Input.from_json(path)
    finally:
        os.unlink(path)
    remaining = max(0.05, time_limit_s - (time.monotonic() - t0))
    # VROOM overruns its timeout by 2.5-4 s here (100-300 jobs, 2 loaded cores)
    remaining = max(0.5 * remaining, remaining - VROOM_OVERRUN_S)
    timeout = None if iterations else datetime.timedelta(seconds=remaining)
    raw_sol = inp.solve(exploration_level=exploration_level, nb_threads=1, timeout=timeout)
    out = raw_sol.to_dict()
    raw: dict[int, list[tuple[int, int]]] = {}
    for r in out.get("routes", []):
        raw[int(r["vehicle"])] = [(int(s["id"]), int(s["arrival"]) + int(s.get("waiting_time", 0)))
                                  for s in r["steps"] if s["type"] == "job"]
    detail = f"vroom x{exploration_level}, {len(out.get('unassigned', []))} unassigned"
    return Built("vroom", _to_routes(problem, an, plan, raw), time.monotonic() - t0, detail)


def build(name: str, problem: Problem, an: Analysis, time_limit_s: float, seed: int | None = None,
          iterations: int | None = None) -> Built:
    """Run builder ``name`` ("pyvrp" or "vroom")."""
    if name == "pyvrp":
        return build_pyvrp(problem, an, time_limit_s, seed, iterations)
    if name == "vroom":
        return build_vroom(problem, an, time_limit_s, seed, iterations)
    raise ValueError(f"unknown builder {name!r}")


def day_shape(problem: Problem) -> str:
    """Which kind of day this is, for choosing the builder (measured in docs/benchmarks.md).

    * ``"required"``: every job required and alike, no breaks (Solomon-like): PyVRP wins;
    * ``"overfull"``: what VROOM's format says (priorities, skills, breaks, several
      windows, van stock) and nothing more: VROOM wins;
    * ``"extended"``: FixRoute's own extensions (soft due times, depot pickups, optional
      visits): VROOM plans them approximately (due times as window ends, a pickup as
      extra service) and the finish, which reinserts what the repair drops, plans
      less travel and lateness than OR-Tools alone with the same priority placed;
    * ``"committed"``: a published day being re-planned (a job's announced technician
      or window): the builders cannot see those soft costs and would reshuffle the
      day, so OR-Tools alone starts.
    """
    jobs = problem.jobs
    if not jobs:
        return "required"
    if any(j.preferred_vehicle is not None or j.preferred_window is not None for j in jobs):
        return "committed"
    if problem.depots or any(j.optional or (j.due is not None and j.lateness_cost_per_minute > 0) for j in jobs):
        return "extended"
    alike = len({j.priority for j in jobs}) == 1
    breaks = any(v.breaks for v in problem.vehicles)
    return "required" if alike and not breaks else "overfull"


__all__ = [
    "BUILDERS",
    "BuilderUnavailable",
    "Built",
    "available",
    "build",
    "build_pyvrp",
    "build_vroom",
    "day_shape",
    "horizon_of",
    "PyvrpInput",
    "pyvrp_input",
    "pyvrp_runs",
    "vroom_input",
]
