"""The OR-Tools routing model behind ``dispatch.solver.solve``.

How the FixRoute problem maps onto OR-Tools (and why):

* Nodes: one start and one end node per vehicle, one node per job served from the
  van, and, for jobs whose parts are scarce, an alternative "served through a
  depot" node paired (``AddPickupAndDelivery``) with a pickup node at the nearest
  depot stocking them.  The two variants of a job share one disjunction, so the
  job is done at most once, and the pair forces the pickup to come earlier in the
  same route.  Why not a free pickup node feeding a stock dimension: the pair lets
  OR-Tools' pair operators move pickup and job together, and the plan can say
  which part is collected where for which visit.
* Travel is given as node-by-node matrices built with NumPy
  (``RegisterTransitMatrix``): per-pair Python callbacks were ~10x slower here.
  The time transit of arc i->j is ``service(i) + travel(i, j)``; cumul = service
  start; slack = waiting.  Several windows per job use ``RemoveInterval`` for the
  gaps (lunch closures).  ``due`` is ``SetCumulVarSoftUpperBound``; overtime is a
  soft upper bound on the vehicle's end.
* Skills restrict the vehicles of each node (``VehicleVar(i).SetValues``; the
  ``SetAllowedVehiclesForIndex`` binding rejects Python lists in 9.15);
  parts are one capacity dimension per part kind (van stock); ``max_tasks`` and
  ``max_travel_time`` are dimensions too.  Lunch breaks are break intervals of the
  time dimension (``SetBreakIntervalsOfVehicle``); they may be taken while
  waiting or on the road, never during a visit.
* Priorities: every job is in a disjunction whose penalty grows with priority;
  required repairs cost far more to drop than optional preventive visits, so PM
  visits fill gaps and go first when the day is full.
* Pinned steps: ``NextVar`` equalities fix the first visits of the route.
* What a published day told merchants (``Job.preferred_vehicle``/``preferred_window``)
  is soft: a "keep_vehicle" dimension prices serving a job on another vehicle, and
  soft lower/upper bounds of the time cumul price a start outside the window.

Times reported in the solution are the *earliest* schedule of the routes the
solver chose (recomputed in Python): never later than the solver's own cumuls,
so every window the solver respected stays respected, and lateness and overtime
only shrink.

Objective units: ``COST_SCALE`` internal units per VROOM cost unit, so that a
lateness cost per minute becomes an integer coefficient per second.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import (
    pywrapcp,
    routing_enums_pb2,
    routing_ils_pb2,
    routing_parameters_pb2,
)

from .model import (
    REASONS,
    Job,
    Problem,
    Route,
    Solution,
    SolverStats,
    Step,
    Summary,
    Unassigned,
    Vehicle,
)

COST_SCALE = 60
#: VROOM cost units (default: seconds of travel) lost when a required job is dropped,
#: multiplied by (1 + priority); must exceed any detour one visit can cause
REQUIRED_DROP_BASE = 100_000
#: the same for optional (preventive) jobs: worth up to about an hour of detour
OPTIONAL_DROP_BASE = 3_600
OPTIONAL_DROP_PER_PRIORITY = 36

LEAN_OFF = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_shortest_path_swap_active",
    "use_shortest_path_two_opt",
    "use_swap_active_chain",
    "use_relocate_expensive_chain",
)

ProgressFn = Callable[[float, int | None, int], None]


@dataclass(frozen=True)
class SearchConfig:
    """One way of searching; ``seed`` and ``workers`` pick from a portfolio of these."""

    name: str
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    ils: bool = False
    gls_lambda: float = 0.1
    neighbors_ratio: float = 1.0
    min_neighbors: int = 1
    mab: bool = False
    ruins: tuple[str, ...] = ("sisr",)
    ruin_size: int = 10
    sa_temperature: float = 0.0  # 0: automatic temperatures
    lean: bool = False  # switch off the slow insertion-LNS operators
    fs_neighbors_ratio: float = 1.0  # insertion heuristics: share of neighbours considered
    scheduling: str = "default"  # "off": no LP/MIP cumul scheduling in filters; "glop": LP only


#: ordered: seed 0 (and None) uses the first, workers run consecutive entries.
PORTFOLIO: list[SearchConfig] = [
    SearchConfig("lci-gls-lean", first_solution="LOCAL_CHEAPEST_INSERTION", lean=True),
    SearchConfig("pci-gls-lean", lean=True),
    SearchConfig("savings-gls-lean", first_solution="SAVINGS", lean=True),
    SearchConfig("pci-gls"),
    SearchConfig("lci-sa-lean", first_solution="LOCAL_CHEAPEST_INSERTION", metaheuristic="SIMULATED_ANNEALING",
                 lean=True),
    SearchConfig("lci-tabu-lean", first_solution="LOCAL_CHEAPEST_INSERTION", metaheuristic="TABU_SEARCH",
                 lean=True),
]


def required_base(problem: Problem) -> int:
    """The drop cost of a priority-0 required job: more than any detour one visit can cause."""
    max_arc = max((max(r) for r in problem.durations if r), default=0)
    return max(REQUIRED_DROP_BASE, 4 * int(max_arc))


def drop_penalty(job: Job, req_base: int) -> int:
    """What leaving ``job`` out costs, in VROOM cost units (the builders use the same prizes).

    Required repairs cost ``req_base`` (above any detour) times (1 + priority), so a
    higher-priority job is never dropped to save driving; optional (preventive) visits
    are worth up to about an hour of detour.
    """
    if job.optional:
        return OPTIONAL_DROP_BASE + OPTIONAL_DROP_PER_PRIORITY * job.priority
    return req_base * (1 + job.priority)


def plan_cost(problem: Problem, solution: Solution) -> float:
    """FixRoute's objective of any plan, in VROOM cost units, from the plan itself.

    Travel and fixed costs, lateness after soft due times, overtime, and the drop penalty
    of every job left out.  Why not ``stats.objective``: a decomposed day has none, and
    races must compare answers from different paths on the same scale.
    """
    req_base = required_base(problem)
    jobs = {j.id: j for j in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    total = 0.0
    for r in solution.routes:
        veh = vehicles[r.vehicle]
        total += veh.costs.fixed + veh.costs.per_hour * r.duration / 3600.0 + veh.costs.per_km * r.distance / 1000.0
        total += veh.costs.overtime_per_hour * r.overtime / 3600.0
        for st in r.steps:
            if st.type != "job":
                continue
            job = jobs[st.id]
            if st.lateness:
                total += job.lateness_cost_per_minute * st.lateness / 60.0
            total += commitment_cost(job, r.vehicle, st.service_start)
    total += sum(drop_penalty(jobs[u.id], req_base) for u in solution.unassigned if u.id in jobs)
    return total


def commitment_cost(job: Job, vehicle_id: int, service_start: int) -> float:
    """What serving ``job`` on ``vehicle_id`` starting at ``service_start`` costs against
    what its merchant was told (preferred vehicle and window), in VROOM cost units."""
    cost = 0.0
    if job.preferred_vehicle is not None and vehicle_id != job.preferred_vehicle:
        cost += job.vehicle_change_cost
    if job.preferred_window is not None:
        lo, hi = job.preferred_window
        outside = max(0, lo - service_start) + max(0, service_start - hi)
        cost += job.window_change_cost_per_minute * outside / 60.0
    return cost


def _pad(v: list[int], n: int) -> list[int]:
    return list(v) + [0] * (n - len(v))


# ------------------------------------------------------------------ analysis


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
    for j in problem.jobs:
        for k, a in enumerate(_pad(j.delivery, K)):
            demand_total[k] += a
    cap_total = [sum(c[k] for c in caps) for k in range(K)]
    unusable = set()
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
        if via:
            depot_of[j] = depot  # type: ignore[assignment]
    return Analysis(reasons, van_vehicles, depot_vehicles, depot_of, H, unusable)


# ------------------------------------------------------------------ model


@dataclass
class _Node:
    kind: str  # start | end | job | jobdep | pickup
    loc: int  # location index, -1 = anywhere (vehicle without start/end)
    service: int = 0
    job: int | None = None
    vehicle: int | None = None
    depot: int | None = None
    win: tuple[int, int] | None = None  # the one window of this variant (None: job's own list)


class RoutingModel:
    """Builds the OR-Tools model for one problem; ``solve`` runs one search."""

    def __init__(self, problem: Problem, keep_pins: bool = True) -> None:
        t0 = time.monotonic()
        self.problem = problem
        self.keep_pins = keep_pins
        self.an = analyse(problem)
        self.K = problem.n_kinds
        self._build()
        self.build_time = time.monotonic() - t0

    # -- construction -------------------------------------------------------
    def _build(self) -> None:
        p, an = self.problem, self.an
        V = len(p.vehicles)
        nodes: list[_Node] = []
        for v, veh in enumerate(p.vehicles):
            loc = veh.start_index if veh.start_index is not None else -1
            nodes.append(_Node("start", loc, vehicle=v))
        for v, veh in enumerate(p.vehicles):
            loc = veh.end_index if veh.end_index is not None else -1
            nodes.append(_Node("end", loc, vehicle=v))
        # One node per (job, window, van/depot variant), all in one disjunction.  Why not
        # one node with RemoveInterval for the lunch gap: holes in a cumul domain made
        # every insertion check fall back to slow propagation (no first solution within
        # 30 s on a 300-job day, 9 s without the holes).
        self.van_node: dict[int, list[int]] = {}
        self.dep_node: dict[int, list[int]] = {}
        self.pick_node: dict[int, list[int]] = {}
        pinned_ids = {s.id for v in p.vehicles for s in v.steps if s.type == "job"} if self.keep_pins else set()
        for j, job in enumerate(p.jobs):
            if j in an.reasons:
                continue
            split = len(job.time_windows) > 1 and job.id not in pinned_ids
            wins: list[tuple[int, int] | None] = list(job.time_windows) if split else [None]
            if an.van_vehicles.get(j):
                for w in wins:
                    self.van_node.setdefault(j, []).append(len(nodes))
                    nodes.append(_Node("job", job.location_index, job.service, job=j, win=w))
            if an.depot_vehicles.get(j) and job.id not in pinned_ids:
                dep = p.depots[an.depot_of[j]]
                for w in wins:
                    self.dep_node.setdefault(j, []).append(len(nodes))
                    nodes.append(_Node("jobdep", job.location_index, job.service, job=j, win=w))
                    self.pick_node.setdefault(j, []).append(len(nodes))
                    nodes.append(_Node("pickup", dep.location_index, dep.service, job=j, depot=an.depot_of[j]))
        self.nodes = nodes
        N = len(nodes)
        loc = np.array([max(n.loc, 0) for n in nodes], dtype=np.int64)
        virtual = np.array([n.loc < 0 for n in nodes])
        Dm = np.asarray(p.durations, dtype=np.int64)
        Dist = np.asarray(p.distances, dtype=np.int64) if p.distances is not None else np.zeros_like(Dm)
        dur = Dm[np.ix_(loc, loc)]
        dist = Dist[np.ix_(loc, loc)]
        dur[virtual, :] = 0
        dur[:, virtual] = 0
        dist[virtual, :] = 0
        dist[:, virtual] = 0
        self.dur, self.dist = dur, dist
        service = np.array([n.service for n in nodes], dtype=np.int64)
        H = an.horizon

        self.manager = pywrapcp.RoutingIndexManager(N, V, list(range(V)), list(range(V, 2 * V)))
        routing = pywrapcp.RoutingModel(self.manager)
        self.routing = routing
        solver = routing.solver()
        m = self.manager

        # costs per class of (per_hour, per_km)
        classes: dict[tuple[float, float], list[int]] = {}
        for v, veh in enumerate(p.vehicles):
            classes.setdefault((veh.costs.per_hour, veh.costs.per_km), []).append(v)
        self.cost_mats: dict[int, np.ndarray] = {}
        for (ph, pk), vs in classes.items():
            cm = np.rint(COST_SCALE * (ph * dur / 3600.0 + pk * dist / 1000.0)).astype(np.int64)
            cb = routing.RegisterTransitMatrix(cm.tolist())
            for v in vs:
                routing.SetArcCostEvaluatorOfVehicle(cb, v)
                self.cost_mats[v] = cm
        for v, veh in enumerate(p.vehicles):
            if veh.costs.fixed:
                routing.SetFixedCostOfVehicle(round(veh.costs.fixed * COST_SCALE), v)

        # time
        time_cb = routing.RegisterTransitMatrix((dur + service[:, None]).tolist())
        routing.AddDimension(time_cb, H, H, False, "time")
        tdim = routing.GetDimensionOrDie("time")
        self.tdim = tdim
        for v, veh in enumerate(p.vehicles):
            s, e = veh.time_window if veh.time_window else (0, H)
            tdim.CumulVar(routing.Start(v)).SetRange(s, e)
            if v in an.unusable:  # stays empty; its impossible shift must not sink the model
                tdim.CumulVar(routing.End(v)).SetRange(s, H)
                continue
            tdim.CumulVar(routing.End(v)).SetRange(s, e)
            if veh.overtime_after is not None and veh.costs.overtime_per_hour:
                coef = round(veh.costs.overtime_per_hour * COST_SCALE / 3600.0)
                if coef > 0 and veh.overtime_after < e:
                    tdim.SetCumulVarSoftUpperBound(routing.End(v), max(s, veh.overtime_after), coef)

        def windows(idx: int, wins: list[tuple[int, int]]) -> None:
            if not wins:
                return
            var = tdim.CumulVar(idx)
            var.SetRange(wins[0][0], wins[-1][1])
            for (a0, a1), (b0, b1) in itertools.pairwise(wins):
                if b0 - a1 > 1:
                    var.RemoveInterval(a1 + 1, b0 - 1)

        for n_i, node in enumerate(nodes):
            if node.kind in ("job", "jobdep"):
                job = p.jobs[node.job]  # type: ignore[index]
                idx = m.NodeToIndex(n_i)
                windows(idx, [node.win] if node.win is not None else job.time_windows)
                soft_ub: list[tuple[int, int]] = []  # (bound, coefficient per second)
                if job.due is not None and job.lateness_cost_per_minute > 0:
                    coef = max(1, round(job.lateness_cost_per_minute * COST_SCALE / 60.0))
                    soft_ub.append((max(0, job.due), coef))
                if job.preferred_window is not None and job.window_change_cost_per_minute > 0:
                    coef = max(1, round(job.window_change_cost_per_minute * COST_SCALE / 60.0))
                    soft_ub.append((max(0, job.preferred_window[1]), coef))
                    tdim.SetCumulVarSoftLowerBound(idx, max(0, job.preferred_window[0]), coef)
                if soft_ub:
                    # A cumul has one soft upper bound.  With an SLA due time and an
                    # announced window both, charge from the earlier bound at the larger
                    # rate: past the due time the SLA rate is never undercharged, and a
                    # start between the window's end and the due time costs more than it
                    # should, which only makes the solver keep the announcement harder.
                    # (A second dimension for the window would double the propagation
                    # work of the time dimension on every move.)
                    tdim.SetCumulVarSoftUpperBound(idx, min(b for b, _ in soft_ub), max(c for _, c in soft_ub))
            elif node.kind == "pickup":
                windows(m.NodeToIndex(n_i), p.depots[node.depot].time_windows)  # type: ignore[index]

        # skills / eligibility, disjunctions, pickup pairs
        all_v = list(range(V))
        req_base = required_base(p)
        allowed: dict[int, set[int]] = {}  # node -> vehicles allowed (skills, stock, reach)
        self.pinned_jobs: set[int] = set()
        if self.keep_pins:
            for veh in p.vehicles:
                self.pinned_jobs |= {s.id for s in veh.steps if s.type == "job"}
        for j, job in enumerate(p.jobs):
            members = []
            for n_i in self.van_node.get(j, []):
                if sorted(an.van_vehicles[j]) != all_v:
                    allowed[n_i] = set(an.van_vehicles[j])
                members.append(m.NodeToIndex(n_i))
            for dn, pn in zip(self.dep_node.get(j, []), self.pick_node.get(j, [])):
                di, pi = m.NodeToIndex(dn), m.NodeToIndex(pn)
                if sorted(an.depot_vehicles[j]) != all_v:
                    allowed[dn] = set(an.depot_vehicles[j])
                    allowed[pn] = set(an.depot_vehicles[j])
                routing.AddPickupAndDelivery(pi, di)
                solver.Add(routing.VehicleVar(pi) == routing.VehicleVar(di))
                solver.Add(tdim.CumulVar(pi) <= tdim.CumulVar(di))
                routing.AddDisjunction([pi], 0)
                members.append(di)
            if not members:
                continue
            if job.id in self.pinned_jobs:
                continue  # mandatory, fixed by the pin constraints below
            routing.AddDisjunction(members, int(drop_penalty(job, req_base) * COST_SCALE), 1)

        # Eligibility as a capacity-0 dimension: each vehicle counts 1 on a node it may
        # not visit.  Why not VehicleVar(i).SetValues: the routing filters do not see
        # that restriction, so local search tried many doomed moves and ran ~10x slower
        # (SetAllowedVehiclesForIndex, which filters do see, rejects lists in 9.15).
        if allowed:
            evaluators = []
            registered: dict[tuple, int] = {}
            for v in range(V):
                vec = tuple(1 if (n_i in allowed and v not in allowed[n_i]) else 0 for n_i in range(N))
                if vec not in registered:
                    registered[vec] = routing.RegisterUnaryTransitVector(list(vec))
                evaluators.append(registered[vec])
            routing.AddDimensionWithVehicleTransits(evaluators, 0, 0, True, "eligible")
            for n_i, vs in allowed.items():  # also prune the domain for propagation
                routing.VehicleVar(m.NodeToIndex(n_i)).SetValues([-1] + sorted(vs))

        # Preferred vehicle (the technician a published day announced): a unary transit
        # of ``vehicle_change_cost`` on the job's nodes for every other vehicle, summed by
        # a dimension whose span is priced 1:1.  Why: vectors, not per-pair callbacks,
        # and the vehicle classes of the arc costs stay as they are.
        vid = {veh.id: v for v, veh in enumerate(p.vehicles)}
        change = np.zeros((V, N), dtype=np.int64)
        for n_i, node in enumerate(nodes):
            if node.kind not in ("job", "jobdep"):
                continue
            job = p.jobs[node.job]  # type: ignore[index]
            if job.preferred_vehicle in vid and job.vehicle_change_cost > 0:
                change[:, n_i] = round(job.vehicle_change_cost * COST_SCALE)
                change[vid[job.preferred_vehicle], n_i] = 0
        if change.any():
            registered_c: dict[tuple, int] = {}
            evaluators_c = []
            for v in range(V):
                vec = tuple(int(x) for x in change[v])
                if vec not in registered_c:
                    registered_c[vec] = routing.RegisterUnaryTransitVector(list(vec))
                evaluators_c.append(registered_c[vec])
            routing.AddDimensionWithVehicleTransits(evaluators_c, 0, int(change.sum(axis=1).max()), True,
                                                    "keep_vehicle")
            kdim = routing.GetDimensionOrDie("keep_vehicle")
            for v in range(V):
                kdim.SetSpanCostCoefficientForVehicle(1, v)

        # depot stock shared by pickups
        by_depot: dict[int, list[int]] = {}
        for j, pn in self.pick_node.items():
            by_depot.setdefault(self.an.depot_of[j], []).append(j)
        for d, js in by_depot.items():
            stock = _pad(p.depots[d].stock, self.K)
            for k in range(self.K):
                needs = [(j, _pad(p.jobs[j].delivery, self.K)[k]) for j in js]
                needs = [(j, a) for j, a in needs if a > 0]
                if sum(a for _, a in needs) > stock[k]:
                    solver.Add(
                        solver.Sum([routing.ActiveVar(m.NodeToIndex(pn)) * a for j, a in needs
                                    for pn in self.pick_node[j]])
                        <= stock[k]
                    )

        # parts (van stock) dimensions
        self.part_dims = []
        for k in range(self.K):
            vec = [0] * N
            for j, nis in self.van_node.items():
                for n_i in nis:
                    vec[n_i] = _pad(p.jobs[j].delivery, self.K)[k]
            if not any(vec):
                continue
            cb = routing.RegisterUnaryTransitVector(vec)
            caps = [_pad(veh.capacity, self.K)[k] for veh in p.vehicles]
            routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, f"part{k}")
            self.part_dims.append(k)

        if any(veh.max_tasks is not None for veh in p.vehicles):
            vec = [1 if n.kind in ("job", "jobdep") else 0 for n in nodes]
            cb = routing.RegisterUnaryTransitVector(vec)
            caps = [veh.max_tasks if veh.max_tasks is not None else N for veh in p.vehicles]
            routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, "tasks")
        if any(veh.max_travel_time is not None for veh in p.vehicles):
            cb = routing.RegisterTransitMatrix(dur.tolist())
            big = int(dur.max() * (N + 1)) + 1 if dur.size else 1
            caps = [veh.max_travel_time if veh.max_travel_time is not None else big for veh in p.vehicles]
            routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, "travel")

        # breaks
        self.break_vars: dict[tuple[int, int], object] = {}
        visit = [0] * routing.Size()
        for index in range(routing.Size()):
            visit[index] = int(service[m.IndexToNode(index)])
        for v, veh in enumerate(p.vehicles):
            if not veh.breaks or v in an.unusable:
                continue
            s, e = veh.time_window if veh.time_window else (0, H)
            ivs = []
            for b, brk in enumerate(veh.breaks):
                wins = [(max(a, s), min(z, e - brk.service)) for a, z in brk.time_windows]
                wins = [w for w in wins if w[0] <= w[1]]
                lo, hi = wins[0][0], wins[-1][1]
                iv = solver.FixedDurationIntervalVar(lo, hi, brk.service, False, f"break:{v}:{b}")
                for (a0, a1), (b0, b1) in itertools.pairwise(wins):
                    st = iv.StartExpr()
                    solver.Add((st <= a1) + (st >= b0) >= 1)
                ivs.append(iv)
                self.break_vars[(v, b)] = iv
            tdim.SetBreakIntervalsOfVehicle(ivs, v, visit)

        # pinned steps: fixed first visits, in order
        if self.keep_pins:
            for v, veh in enumerate(p.vehicles):
                prev = routing.Start(v)
                for st in veh.steps:
                    if st.type != "job":
                        continue
                    j = next(i for i, jb in enumerate(p.jobs) if jb.id == st.id)
                    if j not in self.van_node:
                        continue
                    idx = m.NodeToIndex(self.van_node[j][0])
                    solver.Add(routing.NextVar(prev) == idx)
                    var = tdim.CumulVar(idx)
                    if st.service_at is not None:
                        var.SetRange(st.service_at, st.service_at)
                    if st.service_after is not None:
                        var.SetMin(st.service_after)
                    if st.service_before is not None:
                        var.SetMax(st.service_before)
                    prev = idx

    # -- search ---------------------------------------------------------------
    def solve(
        self,
        config: SearchConfig,
        time_limit_s: float,
        solution_limit: int | None = None,
        progress: ProgressFn | None = None,
        log_search: bool = False,
        initial: dict[int, list[tuple[int, bool, int]]] | None = None,
    ) -> tuple[object | None, SolverStats]:
        """One search; ``initial`` = {vehicle id: [(job id, via depot)]} to start from."""
        routing = self.routing
        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, config.first_solution)
        params.local_search_metaheuristic = getattr(
            routing_enums_pb2.LocalSearchMetaheuristic, config.metaheuristic
        )
        params.guided_local_search_lambda_coefficient = config.gls_lambda
        if config.ils:
            params.use_iterated_local_search = True
            ils = params.iterated_local_search_parameters
            rr = ils.ruin_recreate_parameters
            del rr.ruin_strategies[:]
            for ruin in config.ruins:
                strat = rr.ruin_strategies.add()
                if ruin == "sisr":
                    strat.sisr.max_removed_sequence_size = config.ruin_size
                    strat.sisr.avg_num_removed_visits = config.ruin_size
                    strat.sisr.bypass_factor = 0.01
                elif ruin == "close":
                    strat.spatially_close_routes.num_ruined_routes = 2
                else:
                    strat.random_walk.num_removed_visits = config.ruin_size
            rr.ruin_composition_strategy = routing_ils_pb2.RuinCompositionStrategy.RUN_ONE_RANDOMLY
            sa = ils.reference_solution_acceptance_strategy.simulated_annealing
            if config.sa_temperature > 0:
                sa.initial_temperature = config.sa_temperature * COST_SCALE
                sa.final_temperature = config.sa_temperature * COST_SCALE / 1000.0
                sa.automatic_temperatures = False
            else:
                sa.automatic_temperatures = True
        if config.neighbors_ratio < 1.0:
            params.ls_operator_neighbors_ratio = config.neighbors_ratio
            params.ls_operator_min_neighbors = config.min_neighbors
        if config.lean:
            ops = params.local_search_operators
            for op in LEAN_OFF:
                setattr(ops, op, 2)  # BOOL_FALSE
        if config.fs_neighbors_ratio < 1.0:
            gci = params.global_cheapest_insertion_first_solution_parameters
            gci.neighbors_ratio = config.fs_neighbors_ratio
            gci.min_neighbors = 10
            params.savings_parameters.neighbors_ratio = config.fs_neighbors_ratio
        if config.scheduling == "off":
            params.disable_scheduling_beware_this_may_degrade_performance = True
        elif config.scheduling == "glop":
            params.mixed_integer_scheduling_solver = routing_parameters_pb2.RoutingSearchParameters.SCHEDULING_GLOP
        if config.mab:
            params.use_multi_armed_bandit_concatenate_operators = True
        params.time_limit.FromMilliseconds(max(50, int(time_limit_s * 1000)))
        if initial:  # restoring a start with breaks searches for their places: give it time
            params.lns_time_limit.FromMilliseconds(max(100, int(time_limit_s * 500)))
        if solution_limit:
            params.solution_limit = int(solution_limit)
        params.log_search = log_search
        t0 = time.monotonic()
        found = [0]
        best: list[int | None] = [None]

        def on_solution() -> None:
            found[0] += 1
            val = routing.CostVar().Max()
            if best[0] is None or val < best[0]:
                best[0] = val
            if progress is not None:
                progress(time.monotonic() - t0, best[0], found[0])

        routing.AddAtSolutionCallback(on_solution)
        assignment = None
        self.repair_dropped = 0
        self.start_objective = None
        if initial:
            routing.CloseModelWithParameters(params)
            # a work-bounded run (solution_limit) must not depend on the clock: no deadline
            start = self.read_routes(initial, deadline=None if solution_limit else t0 + 0.5 * time_limit_s)
            # reading (and repairing) the start is part of the limit
            left = max(0.05, time_limit_s - (time.monotonic() - t0))
            params.time_limit.FromMilliseconds(max(50, int(left * 1000)))
            if start is not None:
                self.start_objective = start.ObjectiveValue()
                assignment = routing.SolveFromAssignmentWithParameters(start, params)
                # never worse than the start: the search keeps its best, but a search that
                # stops before its first step (limit reached) answers None
                if assignment is None or assignment.ObjectiveValue() > self.start_objective:
                    assignment = start
        if assignment is None:
            assignment = routing.SolveWithParameters(params)
        wall = time.monotonic() - t0
        status_names = {
            0: "not_solved", 1: "success", 2: "partial_success_time_limit", 3: "fail",
            4: "fail_timeout", 5: "invalid", 6: "infeasible", 7: "optimal",
        }
        stats = SolverStats(
            status=status_names.get(routing.status(), str(routing.status())),
            wall_time_s=round(wall + self.build_time, 3),
            objective=assignment.ObjectiveValue() if assignment else None,
            first_solution_strategy=config.first_solution,
            metaheuristic=("ILS+" if config.ils else "") + config.metaheuristic,
            solutions_found=found[0],
            config=config.name,
        )
        return assignment, stats

    def read_routes(self, initial: dict[int, list[tuple[int, bool, int]]], deadline: float | None = None):
        """The full model's assignment of proposed routes, repaired if the model refuses them.

        A route can break what the proposer did not model (a break, a pin, a part, a
        max travel time).  It is not thrown away: its visits are kept in order as long
        as the growing route stays feasible on its own, the others stay unperformed for
        the search to reinsert.  Refused routes are found by halves and each one's longest
        readable prefix by bisection, so the reads grow with log(visits), not visits (each
        read restores the whole model: ~0.1 s on a 300-visit day with breaks).  Returns
        None only if nothing could be read.  Past ``deadline`` (``time.monotonic()``) the
        repair stops: what is not checked yet is left out.
        """
        routing = self.routing
        routes = self._routes_to_indices(initial, grouped=True)
        # a quick check in Python first (windows, shift, breaks, van stock, eligibility)
        # that also schedules the routes: restoring them with their times is propagation
        # only, where a read searches for every time and break (0.1-0.3 s on a 300-visit
        # day with breaks, 25-30 s on 1,000 visits)
        self._quick_schedule: dict[int, tuple | None] = {}
        for v in range(len(routes)):
            routes[v] = self._quick_repair(v, routes[v])
        start = self._restore_scheduled(routes)
        if start is not None:
            return start
        flat = [[i for unit in r for i in unit] for r in routes]
        start = routing.ReadAssignmentFromRoutes(flat, True)
        if start is not None:
            return start
        V = len(routes)
        # while one route is tried, the others hold only their pinned visits (pins must hold)
        pinned = {m_i for j in self.pinned_job_indices() for m_i in self._node_indices(j)}
        empty: list[list[int]] = []
        for units in routes:
            prefix: list[int] = []
            for unit in units:
                if not all(i in pinned for i in unit):
                    break
                prefix += unit
            empty.append(prefix)
        def ok(trial: list[list[int]]) -> bool:
            return routing.ReadAssignmentFromRoutes(trial, True) is not None

        def late() -> bool:
            return deadline is not None and time.monotonic() > deadline

        full = [[i for unit in units for i in unit] for units in routes]

        def refused(vs: list[int]) -> list[int]:
            """The routes refused on their own, by halves (few reads when few are bad)."""
            if late():
                return vs
            trial = list(empty)
            for v in vs:
                trial[v] = full[v]
            if ok(trial):
                return []
            if len(vs) == 1:
                return vs
            h = len(vs) // 2
            return refused(vs[:h]) + refused(vs[h:])

        kept = list(full)
        for v in refused([v for v in range(V) if routes[v]]):
            # keep the longest readable prefix, drop the visit that breaks it, go on
            units, good = routes[v], []
            trial = list(empty)
            while units:
                if late():
                    self.repair_dropped += sum(1 for u in units if not all(i in pinned for i in u))
                    break
                lo, hi = 0, len(units)  # good + units[:lo] reads; find the largest such lo
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    trial[v] = good + [i for u in units[:mid] for i in u]
                    if ok(trial):
                        lo = mid
                    else:
                        hi = mid - 1
                good = good + [i for u in units[:lo] for i in u]
                if lo < len(units):
                    self.repair_dropped += 1  # units[lo] breaks the route
                units = units[lo + 1:]
            kept[v] = good if good or not empty[v] else empty[v]
        start = routing.ReadAssignmentFromRoutes(kept, True)
        while start is None and any(kept):
            # routes fine alone but not together (shared depot stock): drop the last visits
            longest = max(range(V), key=lambda v: len(kept[v]))
            kept[longest] = kept[longest][:-1]
            self.repair_dropped += 1
            start = routing.ReadAssignmentFromRoutes(kept, True)
        return start

    def _quick_repair(self, v: int, units: list[list[int]]) -> list[list[int]]:
        """Drop the units of vehicle ``v``'s route that a forward simulation finds infeasible.

        The earliest schedule with each break taken in the last gap before it would be
        too late (or earlier where it costs no delay), the rule of ``validate.py``.  Soft
        costs are ignored; what this misses (depot stock shared between routes, pins'
        service times) is left to the model's own reads.
        """
        p, m, an = self.problem, self.manager, self.an
        veh = p.vehicles[v]
        if v in an.unusable:
            self.repair_dropped += sum(1 for u in units if not any(i in self._pinned_idx for i in u))
            return [u for u in units if any(i in self._pinned_idx for i in u)]
        H = an.horizon
        s, e = veh.time_window if veh.time_window else (0, H)
        brks = []
        for brk in veh.breaks:
            wins = [(max(a, s), min(z, e - brk.service)) for a, z in brk.time_windows]
            brks.append(([w for w in wins if w[0] <= w[1]], brk.service))
        caps = _pad(veh.capacity, self.K)
        end_node = m.IndexToNode(self.routing.End(v))
        dur = self.dur

        def windows(node: _Node) -> list[tuple[int, int]]:
            if node.win is not None:
                return [node.win]
            if node.kind == "pickup":
                return p.depots[node.depot].time_windows or [(0, H)]  # type: ignore[index]
            return p.jobs[node.job].time_windows or [(0, H)]  # type: ignore[index]

        def first_start(ready: int, wins: list[tuple[int, int]]) -> int | None:
            for a, z in wins:
                if z >= ready:
                    return max(ready, a)
            return None

        def step(state, n: int):
            """State after visiting node n (or None): (free time, node, breaks left, load, tasks, travel)."""
            t, cur, left, load, tasks, trav, sched = state
            node = self.nodes[n]
            taken = []
            travel = int(dur[cur][n])
            wins = windows(node) if node.kind != "end" else [(0, e)]
            svc = node.service if node.kind != "end" else 0
            left = list(left)
            ready = t + travel
            st = first_start(ready, wins)
            for b in list(left):
                bw, d = brks[b]
                bs = first_start(t, bw)
                if bs is None:
                    return None
                ready_b = max(t + travel + d, bs + d)
                st_b = first_start(ready_b, wins)
                last_start = bw[-1][1]
                after = (st + svc) if st is not None else None
                if st_b is not None and (st_b == st or after is None or after > last_start
                                         or node.kind == "end"):
                    left.remove(b)
                    taken.append((b, bs))
                    ready, st = ready_b, st_b
            if st is None:
                return None
            if node.kind == "end":
                if st > e or left:
                    return None
                return (st, n, left, load, tasks, trav + travel, (*sched, ("b", taken), (n, st)))
            if node.kind in ("job", "jobdep"):
                j = node.job
                ok_v = an.van_vehicles.get(j, []) if node.kind == "job" else an.depot_vehicles.get(j, [])
                if v not in ok_v:
                    return None
                tasks += 1
                if veh.max_tasks is not None and tasks > veh.max_tasks:
                    return None
            if node.kind == "job" and self.K:
                load = [a + b for a, b in zip(load, _pad(p.jobs[node.job].delivery, self.K))]  # type: ignore[index]
                if any(a > c for a, c in zip(load, caps)):
                    return None
            trav += travel
            if veh.max_travel_time is not None and trav + int(dur[n][end_node]) > veh.max_travel_time:
                return None
            return (st + svc, n, left, load, tasks, trav, (*sched, ("b", taken), (n, st)))

        start_node = m.IndexToNode(self.routing.Start(v))
        state = (s, start_node, list(range(len(brks))), [0] * self.K, 0, 0, ((start_node, s),))
        kept: list[list[int]] = []
        for unit in units:
            pinned = any(i in self._pinned_idx for i in unit)
            nxt = state
            for i in unit:
                nxt = step(nxt, m.IndexToNode(i)) if nxt is not None else None
            if nxt is not None and step(nxt, end_node) is None:
                nxt = None  # could not get back (with its breaks) in the shift
            if nxt is None and not pinned:
                self.repair_dropped += 1
                continue
            kept.append(unit)
            state = nxt if nxt is not None else state
        final = step(state, end_node)
        self._quick_schedule[v] = final[6] if final is not None else None
        return kept

    def _restore_scheduled(self, routes: list[list[list[int]]]):
        """Restore routes with the quick simulation's times and break starts, or None.

        Why: ``ReadAssignmentFromRoutes`` searches for every cumul and break start; on a
        1,000-visit day with lunch breaks one read took 25-30 s and then failed at its time
        limit.  Given the schedule, restoring is propagation only.
        """
        routing, m, tdim = self.routing, self.manager, self.tdim
        solver = routing.solver()
        a = solver.Assignment()
        nxt: dict[int, int] = {}
        for v, units in enumerate(routes):
            seq = [i for u in units for i in u]
            prev = routing.Start(v)
            for i in seq:
                nxt[prev] = i
                prev = i
            nxt[prev] = routing.End(v)
        for i in range(routing.Size()):
            a.Add(routing.NextVar(i))
            a.SetValue(routing.NextVar(i), nxt.get(i, i))
        for v in range(len(routes)):
            sched = self._quick_schedule.get(v)
            if sched is None:
                if routes[v]:
                    return None
                continue
            idx_of = {m.IndexToNode(i): i for u in routes[v] for i in u}
            idx_of[m.IndexToNode(routing.Start(v))] = routing.Start(v)
            idx_of[m.IndexToNode(routing.End(v))] = routing.End(v)
            for item in sched:
                if item[0] == "b":
                    for b, bs in item[1]:
                        iv = self.break_vars.get((v, b))
                        if iv is not None:
                            a.Add(iv)
                            a.SetStartValue(iv, bs)
                            a.SetDurationValue(iv, iv.DurationMin())
                            a.SetEndValue(iv, bs + iv.DurationMin())
                            a.SetPerformedValue(iv, 1)
                    continue
                n, t = item
                i = idx_of.get(n)
                if i is not None:
                    a.Add(tdim.CumulVar(i))
                    a.SetValue(tdim.CumulVar(i), t)
        return routing.RestoreAssignment(a)

    @property
    def _pinned_idx(self) -> set[int]:
        cached = getattr(self, "_pinned_idx_cache", None)
        if cached is None:
            cached = {i for j in self.pinned_job_indices() for i in self._node_indices(j)}
            self._pinned_idx_cache = cached
        return cached

    def pinned_job_indices(self) -> list[int]:
        ids = self.pinned_jobs if self.keep_pins else set()
        return [j for j, job in enumerate(self.problem.jobs) if job.id in ids]

    def _node_indices(self, j: int) -> list[int]:
        m = self.manager
        return [m.NodeToIndex(n) for n in self.van_node.get(j, []) + self.dep_node.get(j, [])
                + self.pick_node.get(j, [])]

    def _routes_to_indices(self, initial: dict[int, list[tuple[int, bool, int]]],
                           grouped: bool = False) -> list:
        """Initial routes {vehicle id: [(job id, via depot, service start)]} as routing indices.

        ``grouped``: each route as a list of units (a visit, or a depot pickup with its visit).
        """
        m = self.manager

        def variant(nis: list[int], t: int) -> int:
            for n_i in nis:
                w = self.nodes[n_i].win
                if w is None or w[0] <= t <= w[1]:
                    return n_i
            return nis[0]

        by_id = {job.id: j for j, job in enumerate(self.problem.jobs)}
        out = []
        seen: set[int] = set()
        for veh in self.problem.vehicles:
            seq: list[list[int]] = []
            for jid, via, t in initial.get(veh.id, []):
                j = by_id.get(jid)
                if j is None or j in seen:
                    continue
                if via and j in self.dep_node:
                    dn = variant(self.dep_node[j], t)
                    pn = self.pick_node[j][self.dep_node[j].index(dn)]
                    seq.append([m.NodeToIndex(pn), m.NodeToIndex(dn)])
                elif j in self.van_node:
                    seq.append([m.NodeToIndex(variant(self.van_node[j], t))])
                elif j in self.dep_node:
                    dn = variant(self.dep_node[j], t)
                    pn = self.pick_node[j][self.dep_node[j].index(dn)]
                    seq.append([m.NodeToIndex(pn), m.NodeToIndex(dn)])
                else:
                    continue
                seen.add(j)
            out.append(seq if grouped else [i for unit in seq for i in unit])
        return out

    # -- extraction -----------------------------------------------------------
    def extract(self, assignment, stats: SolverStats) -> Solution:
        p, m, routing = self.problem, self.manager, self.routing
        routes: list[Route] = []
        served: set[int] = set()
        for v, veh in enumerate(p.vehicles):
            idx = routing.Start(v)
            seq, idxs = [], []
            while True:
                seq.append(m.IndexToNode(idx))
                idxs.append(idx)
                if routing.IsEnd(idx):
                    break
                idx = assignment.Value(routing.NextVar(idx))
            if len(seq) <= 2:
                continue
            cumul = [assignment.Value(self.tdim.CumulVar(i)) for i in idxs]
            # place breaks after the last node starting no later than the break
            brk_after: dict[int, list[tuple[int, int]]] = {}
            for b, brk in enumerate(veh.breaks):
                iv = self.break_vars.get((v, b))
                if iv is None:
                    continue
                bs = assignment.StartValue(iv)
                pos = 0
                for i in range(len(seq) - 1):
                    if cumul[i] <= bs:
                        pos = i
                brk_after.setdefault(pos, []).append((bs, b))
            route = build_route(p, v, self.nodes, seq, brk_after, self.K, self.an.horizon)
            routes.append(route)
            served.update(s.id for s in route.steps if s.type == "job")
        unassigned = []
        for j, job in enumerate(p.jobs):
            if job.id in served:
                continue
            code = self.an.reasons.get(j, "capacity_of_day")
            unassigned.append(Unassigned(job.id, job.location_index, code, REASONS[code]))
        return make_solution(p, routes, unassigned, stats)


def build_route(
    p: Problem,
    v: int,
    nodes: list[_Node],
    seq: list[int],
    brk_after: dict[int, list[tuple[int, int]]],
    K: int,
    horizon: int | None = None,
) -> Route:
    """Earliest schedule of a node sequence (with breaks placed after positions).

    A job with a ``preferred_window`` (what its merchant was told) waits for that
    window to open when it would otherwise start early, unless waiting makes the route
    later for an SLA, a window or the shift: then the plain earliest schedule stands.

    ``horizon``: ``horizon_of(p)`` if the caller has it (it scans the whole matrix:
    3 s over 60 routes of a 1,000-visit day when computed per route).
    """
    plain = _schedule(p, v, nodes, seq, brk_after, K, horizon, wait_for_told=False)
    if not any(nodes[n].kind in ("job", "jobdep") and p.jobs[nodes[n].job].preferred_window is not None  # type: ignore[index]
               for n in seq):
        return plain
    waited = _schedule(p, v, nodes, seq, brk_after, K, horizon, wait_for_told=True)
    if waited.lateness > plain.lateness or _breaks_hard_time(p, v, waited):
        return plain
    return waited


def _breaks_hard_time(p: Problem, v: int, route: Route) -> bool:
    """Whether a schedule starts a job or break outside its windows or returns after the shift."""
    veh = p.vehicles[v]
    by_id = {j.id: j for j in p.jobs}
    for st in route.steps:
        if st.type == "job":
            wins = by_id[st.id].time_windows
            if wins and not any(a <= st.service_start <= z for a, z in wins):
                return True
        elif st.type == "break":
            wins = next((b.time_windows for b in veh.breaks if b.id == st.id), [])
            if wins and not any(a <= st.service_start <= z for a, z in wins):
                return True
        elif st.type == "end" and veh.time_window and st.arrival > veh.time_window[1]:
            return True
    return False


def _schedule(
    p: Problem,
    v: int,
    nodes: list[_Node],
    seq: list[int],
    brk_after: dict[int, list[tuple[int, int]]],
    K: int,
    horizon: int | None,
    wait_for_told: bool,
) -> Route:
    """Earliest schedule of a node sequence; with ``wait_for_told``, jobs do not start
    before their preferred window opens when one of their windows allows it."""
    veh = p.vehicles[v]
    H = horizon if horizon is not None else horizon_of(p)
    s, _e = veh.time_window if veh.time_window else (0, H)
    D = p.durations
    Dist = p.distances
    steps: list[Step] = []
    # load: van-served deliveries on board + parts picked for later jobs
    van_total = [0] * K
    for n in seq:
        if nodes[n].kind == "job":
            van_total = [a + b for a, b in zip(van_total, _pad(p.jobs[nodes[n].job].delivery, K))]
    load = list(van_total)
    prev_loc: int | None = nodes[seq[0]].loc if nodes[seq[0]].loc >= 0 else None
    start_loc = prev_loc
    steps.append(Step("start", start_loc, arrival=s, service_start=s, end=s, load=list(load)))
    prev_end = s
    free = s
    acc_break = 0
    for i, n in enumerate(seq[1:], start=1):
        node = nodes[n]
        # breaks scheduled after position i-1
        for bs, b in sorted(brk_after.get(i - 1, [])):
            brk = veh.breaks[b]
            st = free
            for a, z in brk.time_windows:
                if z >= free:
                    st = max(free, a)
                    break
            steps.append(Step("break", None, id=brk.id, arrival=st, service_start=st, end=st + brk.service,
                              service=brk.service, load=list(load)))
            free = st + brk.service
            acc_break += brk.service
        loc = node.loc if node.loc >= 0 else None
        if loc is None and node.kind == "end":
            loc_travel = 0
            dist = 0
        elif prev_loc is None:
            loc_travel, dist = 0, 0
        else:
            loc_travel = D[prev_loc][loc]
            dist = Dist[prev_loc][loc] if Dist is not None else 0
        ready = max(prev_end + loc_travel + acc_break, free)
        if node.kind == "end":
            steps.append(Step("end", loc, arrival=ready, service_start=ready, end=ready,
                              duration=loc_travel, distance=dist, load=list(load)))
            break
        if node.kind in ("job", "jobdep"):
            job = p.jobs[node.job]  # type: ignore[index]
            wins = job.time_windows or [(0, H)]
        else:
            dep = p.depots[node.depot]  # type: ignore[index]
            wins = dep.time_windows or [(0, H)]
        st = ready
        for a, z in wins:
            if z >= ready:
                st = max(ready, a)
                break
        if wait_for_told and node.kind != "pickup":
            told = p.jobs[node.job].preferred_window  # type: ignore[index]
            if told is not None and st < told[0] and any(a <= told[0] <= z for a, z in wins):
                st = told[0]
        end = st + node.service
        if node.kind == "pickup":
            job = p.jobs[node.job]  # type: ignore[index]
            parts = _pad(job.delivery, K)
            load = [a + b for a, b in zip(load, parts)]
            steps.append(Step("pickup", loc, id=job.id, arrival=ready, service_start=st, end=end,
                              service=node.service, waiting_time=st - ready, duration=loc_travel,
                              distance=dist, load=list(load), depot=p.depots[node.depot].id,  # type: ignore[index]
                              for_job=job.id, parts=parts))
        else:
            job = p.jobs[node.job]  # type: ignore[index]
            load = [a - b for a, b in zip(load, _pad(job.delivery, K))]
            late = max(0, st - job.due) if job.due is not None else 0
            steps.append(Step("job", loc, id=job.id, arrival=ready, service_start=st, end=end,
                              service=node.service, waiting_time=st - ready, duration=loc_travel,
                              distance=dist, load=list(load), lateness=late,
                              depot=p.depots[p_depot].id if (p_depot := _depot_of(nodes, seq, i)) is not None else None))
        prev_end = end
        free = end
        acc_break = 0
        if loc is not None:
            prev_loc = loc
    return finish_route(p, v, steps, K)


def _depot_of(nodes: list[_Node], seq: list[int], i: int) -> int | None:
    node = nodes[seq[i]]
    if node.kind != "jobdep":
        return None
    for n in seq[:i]:
        if nodes[n].kind == "pickup" and nodes[n].job == node.job:
            return nodes[n].depot
    return None


def finish_route(p: Problem, v: int, steps: list[Step], K: int) -> Route:
    """Route figures from its steps (VROOM's: duration = travel time)."""
    veh = p.vehicles[v]
    travel = sum(st.duration for st in steps)
    distance = sum(st.distance for st in steps)
    jobs = [p_job for p_job in steps if p_job.type == "job"]
    by_id = {j.id: j for j in p.jobs}
    cost = veh.costs.fixed + veh.costs.per_hour * travel / 3600.0 + veh.costs.per_km * distance / 1000.0
    delivery = [0] * K
    for st in jobs:
        delivery = [a + b for a, b in zip(delivery, _pad(by_id[st.id].delivery, K))]
    end = steps[-1].arrival
    overtime = max(0, end - veh.overtime_after) if veh.overtime_after is not None else 0
    return Route(
        vehicle=veh.id,
        steps=steps,
        cost=round(cost),
        service=sum(st.service for st in steps if st.type != "break"),
        duration=travel,
        waiting_time=sum(st.waiting_time for st in steps),
        distance=distance,
        priority=sum(by_id[st.id].priority for st in jobs),
        delivery=delivery,
        lateness=sum(st.lateness for st in jobs),
        overtime=overtime,
    )


def make_solution(p: Problem, routes: list[Route], unassigned: list[Unassigned], stats: SolverStats) -> Solution:
    K = p.n_kinds
    summ = Summary(
        cost=sum(r.cost for r in routes),
        routes=len(routes),
        unassigned=len(unassigned),
        assigned=sum(len(r.job_ids) for r in routes),
        service=sum(r.service for r in routes),
        duration=sum(r.duration for r in routes),
        waiting_time=sum(r.waiting_time for r in routes),
        priority=sum(r.priority for r in routes),
        delivery=[sum(r.delivery[k] for r in routes) for k in range(K)],
        distance=sum(r.distance for r in routes),
        lateness=sum(r.lateness for r in routes),
        overtime=sum(r.overtime for r in routes),
    )
    return Solution(routes=routes, unassigned=unassigned, summary=summ, stats=stats)


def _large_jobs() -> int:
    from .decompose import LARGE_JOBS

    return LARGE_JOBS


def solve_with_config(
    problem: Problem,
    config: SearchConfig,
    time_limit_s: float,
    solution_limit: int | None = None,
    progress: ProgressFn | None = None,
    log_search: bool = False,
    initial: dict[int, list[tuple[int, bool, int]]] | None = None,
    allow_split: bool = True,
) -> Solution:
    """Build, search and extract with one configuration (one core).

    Days with more than ``decompose.LARGE_JOBS`` jobs are split by groups of
    technicians (unless ``solution_limit`` asks for a reproducible single search).
    """
    t0 = time.monotonic()
    if allow_split and initial is None and solution_limit is None and len(problem.jobs) > _large_jobs():
        from .decompose import solve_large

        return solve_large(problem, config, time_limit_s, progress)
    model = RoutingModel(problem)
    remaining = max(0.05, time_limit_s - (time.monotonic() - t0))
    assignment, stats = model.solve(config, remaining, solution_limit, progress, log_search, initial)
    if assignment is None and model.pinned_jobs:
        # the pins cannot be kept: plan without them rather than answer nothing
        model = RoutingModel(problem, keep_pins=False)
        remaining = max(0.05, time_limit_s - (time.monotonic() - t0))
        assignment, stats = model.solve(config, remaining, solution_limit, progress, log_search)
        stats.status = "pins_relaxed:" + stats.status
    if assignment is None:
        stats.wall_time_s = round(time.monotonic() - t0, 3)
        unassigned = [Unassigned(j.id, j.location_index, model.an.reasons.get(i, "capacity_of_day"),
                                 REASONS[model.an.reasons.get(i, "capacity_of_day")])
                      for i, j in enumerate(problem.jobs)]
        sol = make_solution(problem, [], unassigned, stats)
        sol.code = 1
        return sol
    sol = model.extract(assignment, stats)
    sol.stats.wall_time_s = round(time.monotonic() - t0, 3)
    return sol
