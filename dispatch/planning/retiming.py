"""Re-timing hand-edited routes and checking them.

Hand edits (move, pin, unassign, assign) do not call the solver: the edited
routes are re-timed by `schedule_routes` (earliest schedule, lunch taken in the
first gap inside its window) and checked by the solver's independent validator
(`check_routes`), so a broken time window, a missing skill or a missing part is
found before the dispatcher saves.

Why the board re-times edits itself instead of re-solving: the dispatcher's
order must be kept exactly as given; the solver would reorder it.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from dispatch.models import (
    Plan,
)
from dispatch.planning.problem import FINISHED_VISIT_STATUSES, PlanInput, plan_visits
from dispatch.solver import (
    Job,
    Problem,
    Route,
    Solution,
    SolverStats,
    Step,
    Summary,
    Unassigned,
    Vehicle,
    validate,
)

#: what an edit check found, as the dispatcher reads it
VIOLATION_LABELS = {
    "time_window": _l("outside the merchant's opening hours or requested window"),
    "skill": _l("the technician lacks a required skill"),
    "capacity": _l("the van does not carry the parts needed"),
    "pickup": _l("the parts pickup at the depot does not work out"),
    "shift": _l("the route does not fit in the technician's shift"),
    "break": _l("the lunch break cannot be taken within its window"),
    "travel_time": _l("travel times do not add up"),
}


# ------------------------------------------------------------------ re-timing


def schedule_routes(inp: PlanInput, order: dict[int, list[int]],
                    via_depot: dict[int, int] | None = None) -> Solution:
    """The earliest schedule of routes given as technician -> work order ids, as a
    solver Solution (so the independent validator can check it).

    The lunch break is taken before the first visit that would start after its
    window opens, or that would otherwise push the break past its window; a job
    in ``via_depot`` (job -> depot id) is preceded by a parts pickup there."""
    p = inp.problem
    via_depot = via_depot or {}
    jobs = {j.id: j for j in p.jobs}
    routes: list[Route] = []
    served: set[int] = set()
    for veh in p.vehicles:
        ids = [j for j in order.get(veh.id, []) if j in jobs]
        if not ids:
            continue
        route = _schedule_route(p, veh, ids, via_depot, None)
        if veh.breaks and not _route_feasible(p, veh, route, jobs):
            # The greedy break placement can push a visit past a window (a lunch
            # closure, say) where another placement keeps every window: try each
            # position and keep the earliest feasible return.
            n_stops = len(ids) + sum(1 for j in ids if j in via_depot)
            options = [_schedule_route(p, veh, ids, via_depot, k) for k in range(n_stops + 1)]
            feasible = [r for r in options if _route_feasible(p, veh, r, jobs)]
            if feasible:
                route = min(feasible, key=lambda r: r.steps[-1].arrival)
        routes.append(route)
        served.update(ids)
    unassigned = [Unassigned(j.id, j.location_index, "manual", "not in any route")
                  for j in p.jobs if j.id not in served]
    return _solution(p, routes, unassigned)


def _route_feasible(p: Problem, veh: Vehicle, route: Route, jobs: dict[int, Job]) -> bool:
    """Hard windows of one re-timed route: visits and pickups inside a window, the
    break inside its window, back before the shift ends."""
    depots = {d.id: d for d in p.depots}
    for st in route.steps:
        if st.type == "job":
            wins = jobs[st.id].time_windows
        elif st.type == "pickup":
            wins = depots[st.depot].time_windows if st.depot in depots else []
        elif st.type == "break":
            wins = veh.breaks[0].time_windows if veh.breaks else []
        else:
            continue
        if wins and not any(a <= st.service_start <= z for a, z in wins):
            return False
    return not (veh.time_window and route.steps[-1].arrival > veh.time_window[1])


def _schedule_route(p: Problem, veh: Vehicle, ids: list[int], via_depot: dict[int, int],
                    break_before: int | None) -> Route:
    """One technician's route at the earliest times. The break goes before stop
    number `break_before` (0-based, pickups count), or greedily when None."""
    jobs = {j.id: j for j in p.jobs}
    depots = {d.id: d for d in p.depots}
    K = len(p.part_kinds)
    D, Dist = p.durations, p.distances
    stop_no = 0
    s, e = veh.time_window or (0, 48 * 3600)
    steps: list[Step] = []
    van_need = [0] * K
    for j in ids:
        if j not in via_depot:
            van_need = [a + b for a, b in zip(van_need, _pad(jobs[j].delivery, K), strict=False)]
    load = list(van_need)
    steps.append(Step("start", veh.start_index, arrival=s, service_start=s, end=s, load=list(load)))
    prev_loc, prev_end = veh.start_index, s
    brk = veh.breaks[0] if veh.breaks else None
    brk_done = brk is None

    def take_break(before_ready: int) -> int:
        """Place the break at the earliest moment >= prev_end; return when free."""
        nonlocal brk_done
        a, z = brk.time_windows[0]
        bs = max(prev_end, a)
        steps.append(Step("break", None, id=brk.id, arrival=bs, service_start=bs,
                          end=bs + brk.service, service=brk.service, load=list(load)))
        brk_done = True
        return bs + brk.service

    def window_start(ready: int, wins) -> int:
        for a, z in wins:
            if z >= ready:
                return max(ready, a)
        return ready

    def visit(kind: str, loc: int, wins, service: int, extra: dict) -> None:
        nonlocal prev_loc, prev_end, load, stop_no
        travel = D[prev_loc][loc]
        dist = Dist[prev_loc][loc] if Dist is not None else 0
        ready = prev_end + travel
        st = window_start(ready, wins)
        free = prev_end
        here = stop_no
        if kind != "end":
            stop_no += 1
        if not brk_done:
            a, z = brk.time_windows[0]
            due = (here == break_before) if break_before is not None else (st >= a or st + service > z)
            if due and kind != "end":
                free = take_break(ready)
                ready = max(prev_end + travel + brk.service, free)
                st = window_start(ready, wins)
        if kind == "end":
            steps.append(Step("end", loc, arrival=ready, service_start=ready, end=ready,
                              duration=travel, distance=dist, load=list(load)))
            return
        step = Step(kind, loc, arrival=ready, service_start=st, end=st + service, service=service,
                    waiting_time=st - ready, duration=travel, distance=dist, **extra)
        if kind == "pickup":
            load = [a + b for a, b in zip(load, step.parts, strict=False)]
        else:
            load = [a - b for a, b in zip(load, _pad(jobs[step.id].delivery, K), strict=False)]
        step.load = list(load)
        steps.append(step)
        prev_loc, prev_end = loc, st + service

    for j in ids:
        job = jobs[j]
        dep_id = via_depot.get(j)
        if dep_id is not None and dep_id in depots:
            dep = depots[dep_id]
            visit("pickup", dep.location_index, dep.time_windows or [(0, 10**9)], dep.service,
                  {"id": j, "depot": dep_id, "for_job": j, "parts": _pad(job.delivery, K)})
        late_extra = {"id": j, "depot": dep_id if dep_id in depots else None}
        visit("job", job.location_index, job.time_windows or [(0, 10**9)], job.service, late_extra)
        last = steps[-1]
        last.lateness = max(0, last.service_start - job.due) if job.due is not None else 0
    if not brk_done:
        take_break(prev_end)
        # travel home after the break
        end_travel = D[prev_loc][veh.end_index]
        arrive = max(prev_end + end_travel + brk.service, steps[-1].end)
        steps.append(Step("end", veh.end_index, arrival=arrive, service_start=arrive, end=arrive,
                          duration=end_travel,
                          distance=Dist[prev_loc][veh.end_index] if Dist is not None else 0,
                          load=list(load)))
    else:
        visit("end", veh.end_index, [], 0, {})
    return _finish(p, veh, steps, K)


def _pad(v: list[int], n: int) -> list[int]:
    return list(v) + [0] * (n - len(v))


def _finish(p: Problem, veh: Vehicle, steps: list[Step], K: int) -> Route:
    by_id = {j.id: j for j in p.jobs}
    jobs = [s for s in steps if s.type == "job"]
    travel = sum(s.duration for s in steps)
    distance = sum(s.distance for s in steps)
    delivery = [0] * K
    for s in jobs:
        delivery = [a + b for a, b in zip(delivery, _pad(by_id[s.id].delivery, K), strict=False)]
    return Route(vehicle=veh.id, steps=steps, cost=travel, service=sum(s.service for s in steps if s.type != "break"),
                 duration=travel, waiting_time=sum(s.waiting_time for s in steps), distance=distance,
                 priority=sum(by_id[s.id].priority for s in jobs), delivery=delivery,
                 lateness=sum(s.lateness for s in jobs))


def _solution(p: Problem, routes: list[Route], unassigned: list[Unassigned]) -> Solution:
    K = len(p.part_kinds)
    summ = Summary(cost=sum(r.cost for r in routes), routes=len(routes), unassigned=len(unassigned),
                   assigned=sum(len(r.job_ids) for r in routes), service=sum(r.service for r in routes),
                   duration=sum(r.duration for r in routes), waiting_time=sum(r.waiting_time for r in routes),
                   priority=sum(r.priority for r in routes),
                   delivery=[sum(_pad(r.delivery, K)[k] for r in routes) for k in range(K)],
                   distance=sum(r.distance for r in routes), lateness=sum(r.lateness for r in routes))
    return Solution(routes=routes, unassigned=unassigned, summary=summ,
                    stats=SolverStats(status="manual"))


def plan_order(session: Session, plan: Plan, inp: PlanInput) -> tuple[dict[int, list[int]], dict[int, int]]:
    """The plan's routes as technician -> work order ids (visits still to do) and
    the depot pickups they carry (work order -> depot id)."""
    order: dict[int, list[int]] = {}
    via: dict[int, int] = {}
    for v in plan_visits(session, plan.id):
        if v.status in FINISHED_VISIT_STATUSES or v.work_order_id not in {j.id for j in inp.problem.jobs}:
            continue
        order.setdefault(v.technician_id, []).append(v.work_order_id)
        for pk in v.pickups or []:
            if pk.get("depot_id") is not None:
                via[v.work_order_id] = pk["depot_id"]
    return order, via


# ------------------------------------------------------------------ violations


def describe_violations(inp: PlanInput, violations) -> list[dict]:
    """The validator's findings in the dispatcher's words, one per work order and kind."""
    out: list[dict] = []
    seen = set()
    for v in violations:
        if v.kind == "figures" or v.kind == "unassigned":
            continue
        key = (v.kind, v.vehicle, v.job)
        if key in seen:
            continue
        seen.add(key)
        wo = inp.work_orders.get(v.job) if v.job is not None else None
        tech = inp.technicians.get(v.vehicle) if v.vehicle is not None else None
        out.append({
            "kind": v.kind,
            "message": str(VIOLATION_LABELS.get(v.kind, v.kind)),
            "detail": v.message,
            "work_order_id": v.job,
            "work_order": wo.number if wo else None,
            "technician_id": v.vehicle,
            "technician": tech.name if tech else None,
        })
    return out


def violation_reason(v: dict):
    """One broken constraint as a field's reason: what it means in the reader's language,
    then the validator's own (English) detail."""
    label = VIOLATION_LABELS.get(v["kind"], v["kind"])
    return _l("%(label)s: %(detail)s", label=label, detail=v["detail"])


def check_routes(inp: PlanInput, order: dict[int, list[int]], via: dict[int, int]) -> tuple[Solution, list[dict]]:
    """Re-time the routes and check them with the solver's independent validator."""
    sol = schedule_routes(inp, order, via)
    # hand-made routes are checked without the pins (they are what the dispatcher set)
    pins = {v.id: v.steps for v in inp.problem.vehicles}
    for v in inp.problem.vehicles:
        v.steps = []
    try:
        violations = validate(inp.problem, sol)
    finally:
        for v in inp.problem.vehicles:
            v.steps = pins[v.id]
    return sol, describe_violations(inp, violations)
