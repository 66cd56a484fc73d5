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

Around it: ``analysis.py`` decides eligibility before the model is built,
``objective.py`` holds the costs, ``search.py`` the search configurations,
``repair.py`` reads a builder's routes into the model, and ``schedule.py`` turns the
chosen visit orders into the reported routes.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
from ortools.constraint_solver import pywrapcp

from .analysis import _pad, analyse
from .model import REASONS, Problem, Route, Solution, SolverStats, Unassigned
from .objective import COST_SCALE, drop_penalty, required_base
from .repair import RouteReader
from .schedule import Node, build_route, make_solution
from .search import ProgressFn, SearchConfig, search_parameters


class RoutingModel:
    """Builds the OR-Tools model for one problem; ``solve`` runs one search."""

    def __init__(self, problem: Problem, keep_pins: bool = True) -> None:
        t0 = time.monotonic()
        self.problem = problem
        self.keep_pins = keep_pins
        self.an = analyse(problem)
        self.K = problem.n_kinds
        self._build()
        self.repair_dropped = 0  # what the last read of proposed routes dropped / reinserted
        self.reinserted = 0
        self.start_objective: int | None = None
        self.build_time = time.monotonic() - t0

    # -- construction -------------------------------------------------------
    def _build(self) -> None:
        """The model in named steps; their order is the order OR-Tools gets the calls in."""
        self.pinned_jobs: set[int] = set()
        if self.keep_pins:
            for veh in self.problem.vehicles:
                self.pinned_jobs |= {s.id for s in veh.steps if s.type == "job" and s.id is not None}
        self._add_nodes()
        self._add_matrices()
        self.manager = pywrapcp.RoutingIndexManager(self.N, self.V, list(range(self.V)),
                                                    list(range(self.V, 2 * self.V)))
        self.routing = pywrapcp.RoutingModel(self.manager)
        self._add_arc_costs()
        self._add_time_dimension()
        self._add_visit_windows()
        allowed = self._add_disjunctions()
        self._add_eligibility(allowed)
        self._add_keep_vehicle()
        self._add_depot_stock()
        self._add_part_dimensions()
        self._add_task_and_travel_limits()
        self._add_breaks()
        if self.keep_pins:
            self._add_pins()

    def _add_nodes(self) -> None:
        """Start and end nodes of every vehicle, then the variants of every plannable job."""
        p, an = self.problem, self.an
        nodes: list[Node] = []
        for v, veh in enumerate(p.vehicles):
            loc = veh.start_index if veh.start_index is not None else -1
            nodes.append(Node("start", loc, vehicle=v))
        for v, veh in enumerate(p.vehicles):
            loc = veh.end_index if veh.end_index is not None else -1
            nodes.append(Node("end", loc, vehicle=v))
        # One node per (job, window, van/depot variant), all in one disjunction.  Why not
        # one node with RemoveInterval for the lunch gap: holes in a cumul domain made
        # every insertion check fall back to slow propagation (no first solution within
        # 30 s on a 300-job day, 9 s without the holes).
        self.van_node: dict[int, list[int]] = {}
        self.dep_node: dict[int, list[int]] = {}
        self.pick_node: dict[int, list[int]] = {}
        pinned_ids = self.pinned_jobs
        for j, job in enumerate(p.jobs):
            if j in an.reasons:
                continue
            split = len(job.time_windows) > 1 and job.id not in pinned_ids
            wins: list[tuple[int, int] | None] = list(job.time_windows) if split else [None]
            if an.van_vehicles.get(j):
                for w in wins:
                    self.van_node.setdefault(j, []).append(len(nodes))
                    nodes.append(Node("job", job.location_index, job.service, job=j, win=w))
            if an.depot_vehicles.get(j) and job.id not in pinned_ids:
                dep = p.depots[an.depot_of[j]]
                for w in wins:
                    self.dep_node.setdefault(j, []).append(len(nodes))
                    nodes.append(Node("jobdep", job.location_index, job.service, job=j, win=w))
                    self.pick_node.setdefault(j, []).append(len(nodes))
                    nodes.append(Node("pickup", dep.location_index, dep.service, job=j, depot=an.depot_of[j]))
        self.nodes = nodes
        self.V = len(p.vehicles)
        self.N = len(nodes)

    def _add_matrices(self) -> None:
        """Node-by-node travel time and distance (0 to and from a vehicle without a start or end)."""
        p, nodes = self.problem, self.nodes
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
        self.service = np.array([n.service for n in nodes], dtype=np.int64)

    def _add_arc_costs(self) -> None:
        """Travel costs, one matrix per class of (per_hour, per_km), and fixed costs."""
        p, routing, dur, dist = self.problem, self.routing, self.dur, self.dist
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

    def _add_time_dimension(self) -> None:
        """The time dimension (cumul = service start, slack = waiting), shifts and overtime."""
        p, an, routing = self.problem, self.an, self.routing
        H = an.horizon
        time_cb = routing.RegisterTransitMatrix((self.dur + self.service[:, None]).tolist())
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

    def _add_visit_windows(self) -> None:
        """Time windows of visits and pickups; soft bounds for due times and announced windows."""
        p, m, tdim = self.problem, self.manager, self.tdim

        def windows(idx: int, wins: list[tuple[int, int]]) -> None:
            if not wins:
                return
            var = tdim.CumulVar(idx)
            var.SetRange(wins[0][0], wins[-1][1])
            for (_a0, a1), (b0, _b1) in itertools.pairwise(wins):
                if b0 - a1 > 1:
                    var.RemoveInterval(a1 + 1, b0 - 1)

        for n_i, node in enumerate(self.nodes):
            if node.kind in ("job", "jobdep"):
                job = p.jobs[node.job_index]
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
                windows(m.NodeToIndex(n_i), p.depots[node.depot_index].time_windows)

    def _add_disjunctions(self) -> dict[int, set[int]]:
        """Pickup pairs and one disjunction per job; returns node -> vehicles allowed.

        The vehicles allowed come from skills, stock and reach (``analysis.py``).
        """
        p, an, m, routing, tdim = self.problem, self.an, self.manager, self.routing, self.tdim
        solver = routing.solver()
        all_v = list(range(self.V))
        req_base = required_base(p)
        allowed: dict[int, set[int]] = {}  # node -> vehicles allowed (skills, stock, reach)
        for j, job in enumerate(p.jobs):
            members = []
            for n_i in self.van_node.get(j, []):
                if sorted(an.van_vehicles[j]) != all_v:
                    allowed[n_i] = set(an.van_vehicles[j])
                members.append(m.NodeToIndex(n_i))
            for dn, pn in zip(self.dep_node.get(j, []), self.pick_node.get(j, []), strict=True):
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
                continue  # mandatory, fixed by the pin constraints
            routing.AddDisjunction(members, int(drop_penalty(job, req_base) * COST_SCALE), 1)
        return allowed

    def _add_eligibility(self, allowed: dict[int, set[int]]) -> None:
        """Eligibility as a capacity-0 dimension: each vehicle counts 1 on a node it may not visit.

        Why not VehicleVar(i).SetValues: the routing filters do not see that restriction,
        so local search tried many doomed moves and ran ~10x slower
        (SetAllowedVehiclesForIndex, which filters do see, rejects lists in 9.15).
        """
        if not allowed:
            return
        m, routing = self.manager, self.routing
        evaluators = []
        registered: dict[tuple[int, ...], int] = {}
        for v in range(self.V):
            vec = tuple(1 if (n_i in allowed and v not in allowed[n_i]) else 0 for n_i in range(self.N))
            if vec not in registered:
                registered[vec] = routing.RegisterUnaryTransitVector(list(vec))
            evaluators.append(registered[vec])
        routing.AddDimensionWithVehicleTransits(evaluators, 0, 0, True, "eligible")
        for n_i, vs in allowed.items():  # also prune the domain for propagation
            routing.VehicleVar(m.NodeToIndex(n_i)).SetValues([-1] + sorted(vs))

    def _add_keep_vehicle(self) -> None:
        """The preferred vehicle (the technician a published day announced), priced.

        A unary transit of ``vehicle_change_cost`` on the job's nodes for every other
        vehicle, summed by a dimension whose span is priced 1:1.  Why: vectors, not
        per-pair callbacks, and the vehicle classes of the arc costs stay as they are.
        """
        p, routing, V, N = self.problem, self.routing, self.V, self.N
        vid = {veh.id: v for v, veh in enumerate(p.vehicles)}
        change = np.zeros((V, N), dtype=np.int64)
        for n_i, node in enumerate(self.nodes):
            if node.kind not in ("job", "jobdep"):
                continue
            job = p.jobs[node.job_index]
            if job.preferred_vehicle in vid and job.vehicle_change_cost > 0:
                change[:, n_i] = round(job.vehicle_change_cost * COST_SCALE)
                change[vid[job.preferred_vehicle], n_i] = 0
        if change.any():
            registered_c: dict[tuple[int, ...], int] = {}
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

    def _add_depot_stock(self) -> None:
        """A depot's stock shared by the pickups there."""
        p, m, routing = self.problem, self.manager, self.routing
        solver = routing.solver()
        by_depot: dict[int, list[int]] = {}
        for j in self.pick_node:
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

    def _add_part_dimensions(self) -> None:
        """One capacity dimension per part kind (van stock)."""
        p, routing, N = self.problem, self.routing, self.N
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

    def _add_task_and_travel_limits(self) -> None:
        """``max_tasks`` and ``max_travel_time`` as dimensions, if any vehicle has them."""
        p, routing, dur, N = self.problem, self.routing, self.dur, self.N
        if any(veh.max_tasks is not None for veh in p.vehicles):
            vec = [1 if n.kind in ("job", "jobdep") else 0 for n in self.nodes]
            cb = routing.RegisterUnaryTransitVector(vec)
            caps = [veh.max_tasks if veh.max_tasks is not None else N for veh in p.vehicles]
            routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, "tasks")
        if any(veh.max_travel_time is not None for veh in p.vehicles):
            cb = routing.RegisterTransitMatrix(dur.tolist())
            big = int(dur.max() * (N + 1)) + 1 if dur.size else 1
            caps = [veh.max_travel_time if veh.max_travel_time is not None else big for veh in p.vehicles]
            routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, "travel")

    def _add_breaks(self) -> None:
        """Lunch breaks as break intervals of the time dimension (never during a visit)."""
        p, an, m, routing = self.problem, self.an, self.manager, self.routing
        solver = routing.solver()
        H = an.horizon
        self.break_vars: dict[tuple[int, int], pywrapcp.IntervalVar] = {}
        visit = [0] * routing.Size()
        for index in range(routing.Size()):
            visit[index] = int(self.service[m.IndexToNode(index)])
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
                for (_a0, a1), (b0, _b1) in itertools.pairwise(wins):
                    st = iv.StartExpr()
                    solver.Add((st <= a1) + (st >= b0) >= 1)
                ivs.append(iv)
                self.break_vars[(v, b)] = iv
            self.tdim.SetBreakIntervalsOfVehicle(ivs, v, visit)

    def _add_pins(self) -> None:
        """Pinned steps: fixed first visits, in order."""
        p, m, routing, tdim = self.problem, self.manager, self.routing, self.tdim
        solver = routing.solver()
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
    ) -> tuple[pywrapcp.Assignment | None, SolverStats]:
        """One search; ``initial`` = {vehicle id: [(job id, via depot)]} to start from."""
        routing = self.routing
        params = search_parameters(config, time_limit_s, solution_limit, log_search, bool(initial))
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
        self.reinserted = 0
        self.start_objective = None
        if initial:
            routing.CloseModelWithParameters(params)
            # a work-bounded run (solution_limit) must not depend on the clock: no deadline.
            # The model's own reads get at least 2 s: past their deadline they leave routes
            # out, and a group of a large day finished in 0.3 s once lost all its visits.
            read_by = t0 + max(0.5 * time_limit_s, 2.0)
            start = self.read_routes(initial, deadline=None if solution_limit else read_by,
                                     reinsert_deadline=None if solution_limit else t0 + 0.3 * time_limit_s)
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

    def read_routes(
        self,
        initial: dict[int, list[tuple[int, bool, int]]],
        deadline: float | None = None,
        reinsert_deadline: float | None = None,
    ) -> pywrapcp.Assignment | None:
        """The model's assignment of proposed routes, repaired if it refuses them (``repair.py``)."""
        reader = RouteReader(self)
        start = reader.read_routes(initial, deadline, reinsert_deadline)
        self.repair_dropped += reader.repair_dropped
        self.reinserted += reader.reinserted
        return start

    def pinned_job_indices(self) -> list[int]:
        ids = self.pinned_jobs if self.keep_pins else set()
        return [j for j, job in enumerate(self.problem.jobs) if job.id in ids]

    def node_indices(self, j: int) -> list[int]:
        m = self.manager
        return [m.NodeToIndex(n) for n in self.van_node.get(j, []) + self.dep_node.get(j, [])
                + self.pick_node.get(j, [])]

    # -- extraction -----------------------------------------------------------
    def extract(self, assignment: pywrapcp.Assignment, stats: SolverStats) -> Solution:
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
            for b in range(len(veh.breaks)):
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
            served.update(route.job_ids)
        unassigned = []
        for j, job in enumerate(p.jobs):
            if job.id in served:
                continue
            code = self.an.reasons.get(j, "capacity_of_day")
            unassigned.append(Unassigned(job.id, job.location_index, code, REASONS[code]))
        return make_solution(p, routes, unassigned, stats)


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
