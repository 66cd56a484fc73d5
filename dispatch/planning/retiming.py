"""Re-timing hand-edited routes and checking them.

Hand edits (move, pin, unassign, assign) do not call the solver's search: the edited
routes are re-timed by the solver's own schedule for a given order
(`dispatch.solver.route_in_order`: earliest times, lunch where it falls due, figures by
`finish_route` and `make_solution`), so a route's travel, lateness, overtime and cost
after an edit are what the solver would report for the same order. They are then
checked by the solver's independent validator (`check_routes`), so a broken time
window, a missing skill or a missing part is found before the dispatcher saves.

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
    Solution,
    SolverStats,
    Unassigned,
    make_solution,
    route_in_order,
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
    """Routes given as technician -> work order ids, as the solver times and costs
    them, in a solver Solution (so the independent validator can check it); a job in
    ``via_depot`` (job -> depot id) is preceded by a parts pickup there. Work orders
    in no route are unassigned ("manual")."""
    p = inp.problem
    known = {j.id for j in p.jobs}
    routes = []
    served: set[int] = set()
    for v, veh in enumerate(p.vehicles):
        ids = [j for j in order.get(veh.id, []) if j in known]
        if not ids:
            continue
        routes.append(route_in_order(p, v, ids, via_depot))
        served.update(ids)
    unassigned = [Unassigned(j.id, j.location_index, "manual", "not in any route")
                  for j in p.jobs if j.id not in served]
    return make_solution(p, routes, unassigned, SolverStats(status="manual"))


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
