"""An independent check of a solution against its problem.

Why independent: it recomputes every route from the problem alone (matrix,
windows, shifts, skills, stock, breaks, pins) and never imports the OR-Tools
model, so a modelling slip in the solver shows up here instead of being
confirmed by the same code.  It also checks answers from other engines (VROOM)
once converted to ``Solution`` (see ``vroom_json.solution_from_json``).

Timing rule (the same for every engine): between two located steps the
technician needs ``travel`` seconds plus any breaks taken in between; a break may
be taken on the road, while waiting, or at either end, but never during a visit.
So a step is *ready* at ``max(prev_end + travel + breaks, last_break_end)``;
its reported ``arrival`` may not be earlier, service starts no earlier than the
arrival and inside a window, and ends ``service`` seconds later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Depot, Job, Problem, Route, Solution, Step, Vehicle, Window


@dataclass
class Violation:
    """One broken hard constraint or inconsistent figure, and where."""

    kind: str
    message: str
    vehicle: int | None = None
    job: int | None = None

    def __str__(self) -> str:
        where = []
        if self.vehicle is not None:
            where.append(f"vehicle {self.vehicle}")
        if self.job is not None:
            where.append(f"job {self.job}")
        return f"{self.kind} ({', '.join(where)}): {self.message}" if where else f"{self.kind}: {self.message}"


def _in_windows(t: int, windows: list[Window]) -> bool:
    return not windows or any(a <= t <= b for a, b in windows)


def _pad(v: list[int], n: int) -> list[int]:
    return list(v) + [0] * (n - len(v))


def validate(problem: Problem, solution: Solution) -> list[Violation]:
    """List every violated hard constraint and every inconsistent figure.

    In named checks: each route (``_Validation.check_route``: its shape and ends, then
    step by step its breaks, travel, pickups and visits, then its totals), then the
    day: pinned technicians without a route, depot stock, every job served or listed
    unassigned once, and the summary's figures.
    """
    return _Validation(problem, solution).run()


@dataclass
class _Walk:
    """Where the walk along one route stands: what the steps so far add up to."""

    prev_loc: int | None
    prev_end: int
    free: int
    K: int
    acc_break: int = 0
    break_leg: int = 0  # travel some engines (VROOM) report on a break step
    travel_total: int = 0
    dist_total: int = 0
    breaks_taken: list[int] = field(default_factory=list)
    job_order: list[int] = field(default_factory=list)
    picked: dict[int, list[int]] = field(default_factory=dict)  # job id -> parts collected for it
    loads_after: list[list[int]] = field(default_factory=list)
    van_load: list[int] = field(init=False)
    load: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.van_load = [0] * self.K
        self.load = [0] * self.K

    def done(self, end: int, loc: int | None) -> None:
        """A pickup or visit ended at ``end`` at ``loc``: the next step starts from there."""
        self.prev_end = end
        self.free = end
        self.acc_break = 0
        self.prev_loc = loc


class _Validation:
    """One run of ``validate``: the problem's lookups, what the routes so far served, the findings."""

    def __init__(self, problem: Problem, solution: Solution) -> None:
        self.problem, self.solution = problem, solution
        self.out: list[Violation] = []
        self.jobs: dict[int, Job] = {j.id: j for j in problem.jobs}
        self.vehicles: dict[int, Vehicle] = {v.id: v for v in problem.vehicles}
        self.depots: dict[int, Depot] = {d.id: d for d in problem.depots}
        self.K = problem.n_kinds
        self.seen: dict[int, int] = {}
        self.used_vehicles: set[int] = set()
        self.depot_taken: dict[int, list[int]] = {}
        self.tot = {"duration": 0, "distance": 0, "service": 0, "waiting_time": 0, "priority": 0}

    def add(self, kind: str, message: str, vehicle: int | None = None, job: int | None = None) -> None:
        self.out.append(Violation(kind, message, vehicle, job))

    def run(self) -> list[Violation]:
        for route in self.solution.routes:
            self.check_route(route)
        self.check_pinned_technicians_have_routes()
        self.check_depot_stock()
        self.check_every_job_once()
        self.check_summary()
        return self.out

    # -- one route -------------------------------------------------------------
    def check_route(self, route: Route) -> None:
        vid = route.vehicle
        veh = self.vehicles.get(vid)
        if veh is None:
            self.add("unknown_vehicle", f"route for unknown vehicle {vid}", vid)
            return
        if vid in self.used_vehicles:
            self.add("duplicate_route", "vehicle has two routes", vid)
        self.used_vehicles.add(vid)
        steps = route.steps
        if not steps or steps[0].type != "start" or steps[-1].type != "end":
            self.add("route_shape", "a route must begin with start and finish with end", vid)
            return
        self.check_ends(veh, steps)
        shift = veh.time_window
        walk = _Walk(veh.start_index, steps[0].service_start, steps[0].service_start, self.K)
        for si, st in enumerate(steps[1:], start=1):
            if st.type == "start":
                self.add("route_shape", "start in the middle of a route", vid)
                continue
            if st.type == "break":
                self.check_break(veh, st, walk)
                continue
            loc, ready = self.check_travel(veh, si, st, walk)
            if st.type == "end":
                if shift is not None and max(ready, st.arrival) > shift[1]:
                    self.add("shift", f"cannot be back before shift end {shift[1]} (earliest {ready})", vid)
                break
            if st.service_start < st.arrival:
                self.add("time_window", f"step {si} starts before it arrives", vid, st.id)
            if st.type == "pickup":
                self.check_pickup(vid, st, loc, walk)
                continue
            if st.type != "job":
                self.add("route_shape", f"unknown step type {st.type}", vid)
                continue
            self.check_visit(veh, st, loc, walk)
        self.check_route_totals(route, veh, walk)

    def check_ends(self, veh: Vehicle, steps: list[Step]) -> None:
        """Where the route starts and ends, and when, against the technician's shift."""
        vid, shift = veh.id, veh.time_window
        if veh.start_index is not None and steps[0].location_index not in (None, veh.start_index):
            self.add("start_location", f"starts at {steps[0].location_index}, not {veh.start_index}", vid)
        if veh.end_index is not None and steps[-1].location_index not in (None, veh.end_index):
            self.add("end_location", f"ends at {steps[-1].location_index}, not {veh.end_index}", vid)
        if shift is not None:
            if steps[0].service_start < shift[0]:
                self.add("shift", f"leaves at {steps[0].service_start} before shift start {shift[0]}", vid)
            if steps[-1].arrival > shift[1]:
                self.add("shift", f"returns at {steps[-1].arrival} after shift end {shift[1]}", vid)

    def check_break(self, veh: Vehicle, st: Step, walk: _Walk) -> None:
        """A break: one of the technician's, in its windows, never during other work."""
        vid = veh.id
        brk = next((b for b in veh.breaks if b.id == st.id), None)
        if brk is None:
            self.add("break", f"unknown break {st.id}", vid)
            return
        walk.breaks_taken.append(brk.id)
        if st.service_start < walk.free:
            self.add("break", f"break {brk.id} starts at {st.service_start} during other work (free at {walk.free})",
                     vid)
        if not _in_windows(st.service_start, brk.time_windows):
            self.add("break", f"break {brk.id} starts at {st.service_start} outside its windows", vid)
        if st.service != brk.service and st.end - st.service_start != brk.service:
            self.add("break", f"break {brk.id} lasts {st.end - st.service_start}, not {brk.service}", vid)
        walk.free = max(walk.free, st.service_start + brk.service)
        walk.acc_break += brk.service
        walk.break_leg += st.duration

    def check_travel(self, veh: Vehicle, si: int, st: Step, walk: _Walk) -> tuple[int | None, int]:
        """The leg to a located step: its reported figures and arrival; returns (location, ready)."""
        vid = veh.id
        D, Dist = self.problem.durations, self.problem.distances
        loc = st.location_index
        if st.type == "end" and veh.end_index is not None:
            loc = veh.end_index
        if st.type == "end" and veh.end_index is None:
            travel = 0
            dist = 0
        elif walk.prev_loc is None or loc is None:
            travel, dist = 0, 0
        else:
            travel = D[walk.prev_loc][loc]
            dist = Dist[walk.prev_loc][loc] if Dist is not None else 0
        walk.travel_total += travel
        walk.dist_total += dist
        if st.duration + walk.break_leg != travel:
            self.add("figures", f"step {si} reports travel {st.duration}, matrix says {travel}", vid, st.id)
        walk.break_leg = 0
        if Dist is not None and st.distance != dist:
            self.add("figures", f"step {si} reports distance {st.distance}, matrix says {dist}", vid, st.id)
        ready = max(walk.prev_end + travel + walk.acc_break, walk.free)
        if st.arrival < ready:
            self.add("travel_time", f"step {si} arrives at {st.arrival}, cannot before {ready}", vid, st.id)
        return loc, ready

    def check_pickup(self, vid: int, st: Step, loc: int | None, walk: _Walk) -> None:
        """A depot pickup: at the depot, in its hours, and what it gives out."""
        K = self.K
        dep = self.depots.get(st.depot) if st.depot is not None else None
        if dep is None:
            self.add("pickup", f"pickup at unknown depot {st.depot}", vid, st.for_job)
        else:
            if loc != dep.location_index:
                self.add("pickup", f"pickup not at depot {dep.id}'s location", vid, st.for_job)
            if not _in_windows(st.service_start, dep.time_windows):
                self.add("time_window", f"pickup at depot {dep.id} outside opening hours", vid, st.for_job)
            if st.service_start + dep.service > st.end:
                self.add("figures", "pickup shorter than the depot's service time", vid, st.for_job)
            taken = self.depot_taken.setdefault(dep.id, [0] * K)
            for k, a in enumerate(_pad(st.parts, K)):
                taken[k] += a
        parts = _pad(st.parts, K)
        # strict=False: a step may list more part kinds than the problem has; the extra are ignored
        if st.for_job is not None:
            walk.picked[st.for_job] = [a + b for a, b in zip(walk.picked.get(st.for_job, [0] * K), parts,
                                                             strict=False)]
        walk.load = [a + b for a, b in zip(walk.load, parts, strict=False)]
        walk.loads_after.append(list(walk.load))
        walk.done(max(st.end, st.service_start), loc)

    def check_visit(self, veh: Vehicle, st: Step, loc: int | None, walk: _Walk) -> None:
        """A job's visit: the job's place, skills, windows, service time and parts."""
        vid, K = veh.id, self.K
        job = self.jobs.get(st.id) if st.id is not None else None
        if job is None:
            self.add("unknown_job", f"job {st.id} is not in the problem", vid, st.id)
            return
        self.seen[job.id] = self.seen.get(job.id, 0) + 1
        walk.job_order.append(job.id)
        if loc != job.location_index:
            self.add("location", f"job served at {loc}, not {job.location_index}", vid, job.id)
        if not set(job.skills) <= set(veh.skills):
            self.add("skill", f"missing skills {sorted(map(str, set(job.skills) - set(veh.skills)))}", vid, job.id)
        if not _in_windows(st.service_start, job.time_windows):
            self.add("time_window", f"service starts at {st.service_start} outside {job.time_windows}", vid, job.id)
        if st.end - st.service_start < job.service:
            self.add("figures", f"service lasts {st.end - st.service_start} < {job.service}", vid, job.id)
        need = _pad(job.delivery, K)
        if st.depot is not None:
            got = walk.picked.get(job.id)
            if got is None:
                self.add("pickup", "served via a depot but no pickup earlier in the route", vid, job.id)
            elif any(g < n for g, n in zip(got, need, strict=True)):
                self.add("pickup", f"collected {got} but needs {need}", vid, job.id)
            walk.load = [a - b for a, b in zip(walk.load, need, strict=True)]
        else:
            walk.van_load = [a + b for a, b in zip(walk.van_load, need, strict=True)]
            walk.load = [a - b for a, b in zip(walk.load, need, strict=True)]
        walk.loads_after.append(list(walk.load))
        walk.done(max(st.end, st.service_start + job.service), loc)

    def check_route_totals(self, route: Route, veh: Vehicle, walk: _Walk) -> None:
        """Van stock, breaks taken, task and travel limits, pins, and the route's own figures."""
        vid = veh.id
        # loads: van stock loaded at start covers van-served jobs
        caps = _pad(veh.capacity, self.K)
        if any(a > c for a, c in zip(walk.van_load, caps, strict=True)):
            self.add("capacity", f"route needs {walk.van_load} from the van, stock is {caps}", vid)
        for ld in walk.loads_after:
            real = [a + b for a, b in zip(ld, walk.van_load, strict=True)]
            if any(x < 0 for x in real):
                self.add("capacity", f"load becomes negative {real}", vid)
                break
        job_order = walk.job_order
        if job_order:
            for brk in veh.breaks:
                n = walk.breaks_taken.count(brk.id)
                if n != 1:
                    self.add("break", f"break {brk.id} taken {n} times", vid)
        if veh.max_tasks is not None and len(job_order) > veh.max_tasks:
            self.add("max_tasks", f"{len(job_order)} tasks > {veh.max_tasks}", vid)
        if veh.max_travel_time is not None and walk.travel_total > veh.max_travel_time:
            self.add("max_travel_time", f"travels {walk.travel_total} > {veh.max_travel_time}", vid)
        pins = [s.id for s in veh.steps if s.type == "job"]
        if pins and job_order[: len(pins)] != pins:
            self.add("pinned", f"route begins {job_order[: len(pins)]}, pinned {pins}", vid)
        if route.duration != walk.travel_total:
            self.add("figures", f"route duration {route.duration} != travel {walk.travel_total}", vid)
        if self.problem.distances is not None and route.distance != walk.dist_total:
            self.add("figures", f"route distance {route.distance} != {walk.dist_total}", vid)
        self.tot["duration"] += walk.travel_total
        self.tot["distance"] += walk.dist_total
        self.tot["service"] += route.service
        self.tot["waiting_time"] += route.waiting_time
        self.tot["priority"] += sum(self.jobs[j].priority for j in job_order if j in self.jobs)

    # -- the day ---------------------------------------------------------------
    def check_pinned_technicians_have_routes(self) -> None:
        for veh in self.problem.vehicles:
            if any(s.type == "job" for s in veh.steps) and veh.id not in self.used_vehicles:
                self.add("pinned", "pinned visits but no route", veh.id)

    def check_depot_stock(self) -> None:
        for dep_id, taken in self.depot_taken.items():
            stock = _pad(self.depots[dep_id].stock, self.K)
            if any(t > s for t, s in zip(taken, stock, strict=True)):
                self.add("pickup", f"depot {dep_id} gives {taken}, stocks {stock}")

    def check_every_job_once(self) -> None:
        """Every job served once or listed unassigned, never both."""
        un_ids = [u.id for u in self.solution.unassigned]
        for jid, n in self.seen.items():
            if n > 1:
                self.add("duplicate_job", f"served {n} times", job=jid)
            if jid in un_ids:
                self.add("unassigned", "both served and unassigned", job=jid)
        for jid in self.jobs:
            if jid not in self.seen and jid not in un_ids:
                self.add("unassigned", "neither served nor listed unassigned", job=jid)

    def check_summary(self) -> None:
        s, tot = self.solution.summary, self.tot
        if s.routes != len(self.solution.routes):
            self.add("figures", f"summary.routes {s.routes} != {len(self.solution.routes)}")
        if s.unassigned != len(self.solution.unassigned):
            self.add("figures", f"summary.unassigned {s.unassigned} != {len(self.solution.unassigned)}")
        if s.duration != tot["duration"]:
            self.add("figures", f"summary.duration {s.duration} != {tot['duration']}")
        if self.problem.distances is not None and s.distance != tot["distance"]:
            self.add("figures", f"summary.distance {s.distance} != {tot['distance']}")
        if s.priority != tot["priority"]:
            self.add("figures", f"summary.priority {s.priority} != {tot['priority']}")
