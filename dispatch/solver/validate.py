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

from dataclasses import dataclass

from .model import Problem, Solution


@dataclass
class Violation:
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


def _in_windows(t: int, windows: list) -> bool:
    return not windows or any(a <= t <= b for a, b in windows)


def _pad(v: list[int], n: int) -> list[int]:
    return list(v) + [0] * (n - len(v))


def validate(problem: Problem, solution: Solution) -> list[Violation]:
    """List every violated hard constraint and every inconsistent figure."""
    out: list[Violation] = []
    jobs = {j.id: j for j in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    depots = {d.id: d for d in problem.depots}
    D = problem.durations
    Dist = problem.distances
    K = problem.n_kinds
    seen: dict[int, int] = {}
    used_vehicles: set[int] = set()
    depot_taken: dict[int, list[int]] = {}
    tot = {"duration": 0, "distance": 0, "service": 0, "waiting_time": 0, "priority": 0}

    for route in solution.routes:
        vid = route.vehicle
        veh = vehicles.get(vid)
        if veh is None:
            out.append(Violation("unknown_vehicle", f"route for unknown vehicle {vid}", vid))
            continue
        if vid in used_vehicles:
            out.append(Violation("duplicate_route", "vehicle has two routes", vid))
        used_vehicles.add(vid)
        steps = route.steps
        if not steps or steps[0].type != "start" or steps[-1].type != "end":
            out.append(Violation("route_shape", "a route must begin with start and finish with end", vid))
            continue
        shift = veh.time_window
        if veh.start_index is not None and steps[0].location_index not in (None, veh.start_index):
            out.append(Violation("start_location", f"starts at {steps[0].location_index}, not {veh.start_index}", vid))
        if veh.end_index is not None and steps[-1].location_index not in (None, veh.end_index):
            out.append(Violation("end_location", f"ends at {steps[-1].location_index}, not {veh.end_index}", vid))
        if shift is not None:
            if steps[0].service_start < shift[0]:
                out.append(Violation("shift", f"leaves at {steps[0].service_start} before shift start {shift[0]}", vid))
            if steps[-1].arrival > shift[1]:
                out.append(Violation("shift", f"returns at {steps[-1].arrival} after shift end {shift[1]}", vid))
        prev_loc = veh.start_index
        prev_end = steps[0].service_start
        free = prev_end
        acc_break = 0
        break_leg = 0  # travel some engines (VROOM) report on a break step
        travel_total = 0
        dist_total = 0
        breaks_taken: list[int] = []
        van_load = [0] * K
        job_order: list[int] = []
        picked: dict[int, list[int]] = {}  # job id -> parts collected for it
        load = [0] * K
        loads_after: list[list[int]] = []
        for si, st in enumerate(steps[1:], start=1):
            if st.type == "start":
                out.append(Violation("route_shape", "start in the middle of a route", vid))
                continue
            if st.type == "break":
                brk = next((b for b in veh.breaks if b.id == st.id), None)
                if brk is None:
                    out.append(Violation("break", f"unknown break {st.id}", vid))
                    continue
                breaks_taken.append(brk.id)
                if st.service_start < free:
                    out.append(Violation("break", f"break {brk.id} starts at {st.service_start} during other work (free at {free})", vid))
                if not _in_windows(st.service_start, brk.time_windows):
                    out.append(Violation("break", f"break {brk.id} starts at {st.service_start} outside its windows", vid))
                if st.service != brk.service and st.end - st.service_start != brk.service:
                    out.append(Violation("break", f"break {brk.id} lasts {st.end - st.service_start}, not {brk.service}", vid))
                free = max(free, st.service_start + brk.service)
                acc_break += brk.service
                break_leg += st.duration
                continue
            loc = st.location_index
            if st.type == "end" and veh.end_index is not None:
                loc = veh.end_index
            if st.type == "end" and veh.end_index is None:
                travel = 0
                dist = 0
            elif prev_loc is None or loc is None:
                travel, dist = 0, 0
            else:
                travel = D[prev_loc][loc]
                dist = Dist[prev_loc][loc] if Dist is not None else 0
            travel_total += travel
            dist_total += dist
            if st.duration + break_leg != travel:
                out.append(Violation("figures", f"step {si} reports travel {st.duration}, matrix says {travel}", vid, st.id))
            break_leg = 0
            if Dist is not None and st.distance != dist:
                out.append(Violation("figures", f"step {si} reports distance {st.distance}, matrix says {dist}", vid, st.id))
            ready = max(prev_end + travel + acc_break, free)
            if st.arrival < ready:
                out.append(Violation("travel_time", f"step {si} arrives at {st.arrival}, cannot before {ready}", vid, st.id))
            if st.type == "end":
                if shift is not None and max(ready, st.arrival) > shift[1]:
                    out.append(Violation("shift", f"cannot be back before shift end {shift[1]} (earliest {ready})", vid))
                break
            if st.service_start < st.arrival:
                out.append(Violation("time_window", f"step {si} starts before it arrives", vid, st.id))
            if st.type == "pickup":
                dep = depots.get(st.depot) if st.depot is not None else None
                if dep is None:
                    out.append(Violation("pickup", f"pickup at unknown depot {st.depot}", vid, st.for_job))
                else:
                    if loc != dep.location_index:
                        out.append(Violation("pickup", f"pickup not at depot {dep.id}'s location", vid, st.for_job))
                    if not _in_windows(st.service_start, dep.time_windows):
                        out.append(Violation("time_window", f"pickup at depot {dep.id} outside opening hours", vid, st.for_job))
                    if st.service_start + dep.service > st.end:
                        out.append(Violation("figures", "pickup shorter than the depot's service time", vid, st.for_job))
                    taken = depot_taken.setdefault(dep.id, [0] * K)
                    for k, a in enumerate(_pad(st.parts, K)):
                        taken[k] += a
                parts = _pad(st.parts, K)
                if st.for_job is not None:
                    picked[st.for_job] = [a + b for a, b in zip(picked.get(st.for_job, [0] * K), parts)]
                load = [a + b for a, b in zip(load, parts)]
                loads_after.append(list(load))
                prev_end = max(st.end, st.service_start)
                free = prev_end
                acc_break = 0
                prev_loc = loc
                continue
            if st.type != "job":
                out.append(Violation("route_shape", f"unknown step type {st.type}", vid))
                continue
            job = jobs.get(st.id)  # type: ignore[arg-type]
            if job is None:
                out.append(Violation("unknown_job", f"job {st.id} is not in the problem", vid, st.id))
                continue
            seen[job.id] = seen.get(job.id, 0) + 1
            job_order.append(job.id)
            if loc != job.location_index:
                out.append(Violation("location", f"job served at {loc}, not {job.location_index}", vid, job.id))
            if not set(job.skills) <= set(veh.skills):
                out.append(Violation("skill", f"missing skills {sorted(map(str, set(job.skills) - set(veh.skills)))}", vid, job.id))
            if not _in_windows(st.service_start, job.time_windows):
                out.append(Violation("time_window", f"service starts at {st.service_start} outside {job.time_windows}", vid, job.id))
            if st.end - st.service_start < job.service:
                out.append(Violation("figures", f"service lasts {st.end - st.service_start} < {job.service}", vid, job.id))
            need = _pad(job.delivery, K)
            if st.depot is not None:
                got = picked.get(job.id)
                if got is None:
                    out.append(Violation("pickup", "served via a depot but no pickup earlier in the route", vid, job.id))
                elif any(g < n for g, n in zip(got, need)):
                    out.append(Violation("pickup", f"collected {got} but needs {need}", vid, job.id))
                load = [a - b for a, b in zip(load, need)]
            else:
                van_load = [a + b for a, b in zip(van_load, need)]
                load = [a - b for a, b in zip(load, need)]
            loads_after.append(list(load))
            prev_end = max(st.end, st.service_start + job.service)
            free = prev_end
            acc_break = 0
            prev_loc = loc
        # loads: van stock loaded at start covers van-served jobs
        caps = _pad(veh.capacity, K)
        if any(a > c for a, c in zip(van_load, caps)):
            out.append(Violation("capacity", f"route needs {van_load} from the van, stock is {caps}", vid))
        for ld in loads_after:
            real = [a + b for a, b in zip(ld, van_load)]
            if any(x < 0 for x in real):
                out.append(Violation("capacity", f"load becomes negative {real}", vid))
                break
        if job_order:
            for brk in veh.breaks:
                n = breaks_taken.count(brk.id)
                if n != 1:
                    out.append(Violation("break", f"break {brk.id} taken {n} times", vid))
        if veh.max_tasks is not None and len(job_order) > veh.max_tasks:
            out.append(Violation("max_tasks", f"{len(job_order)} tasks > {veh.max_tasks}", vid))
        if veh.max_travel_time is not None and travel_total > veh.max_travel_time:
            out.append(Violation("max_travel_time", f"travels {travel_total} > {veh.max_travel_time}", vid))
        pins = [s.id for s in veh.steps if s.type == "job"]
        if pins and job_order[: len(pins)] != pins:
            out.append(Violation("pinned", f"route begins {job_order[: len(pins)]}, pinned {pins}", vid))
        if route.duration != travel_total:
            out.append(Violation("figures", f"route duration {route.duration} != travel {travel_total}", vid))
        if Dist is not None and route.distance != dist_total:
            out.append(Violation("figures", f"route distance {route.distance} != {dist_total}", vid))
        tot["duration"] += travel_total
        tot["distance"] += dist_total
        tot["service"] += route.service
        tot["waiting_time"] += route.waiting_time
        tot["priority"] += sum(jobs[j].priority for j in job_order if j in jobs)

    # vehicles with pinned jobs but no route
    for veh in problem.vehicles:
        if any(s.type == "job" for s in veh.steps) and veh.id not in used_vehicles:
            out.append(Violation("pinned", "pinned visits but no route", veh.id))
    for dep_id, taken in depot_taken.items():
        stock = _pad(depots[dep_id].stock, K)
        if any(t > s for t, s in zip(taken, stock)):
            out.append(Violation("pickup", f"depot {dep_id} gives {taken}, stocks {stock}"))
    un_ids = [u.id for u in solution.unassigned]
    for jid, n in seen.items():
        if n > 1:
            out.append(Violation("duplicate_job", f"served {n} times", job=jid))
        if jid in un_ids:
            out.append(Violation("unassigned", "both served and unassigned", job=jid))
    for jid in jobs:
        if jid not in seen and jid not in un_ids:
            out.append(Violation("unassigned", "neither served nor listed unassigned", job=jid))
    s = solution.summary
    if s.routes != len(solution.routes):
        out.append(Violation("figures", f"summary.routes {s.routes} != {len(solution.routes)}"))
    if s.unassigned != len(solution.unassigned):
        out.append(Violation("figures", f"summary.unassigned {s.unassigned} != {len(solution.unassigned)}"))
    if s.duration != tot["duration"]:
        out.append(Violation("figures", f"summary.duration {s.duration} != {tot['duration']}"))
    if Dist is not None and s.distance != tot["distance"]:
        out.append(Violation("figures", f"summary.distance {s.distance} != {tot['distance']}"))
    if s.priority != tot["priority"]:
        out.append(Violation("figures", f"summary.priority {s.priority} != {tot['priority']}"))
    return out
