"""A solver `Solution` written back to the database.

`apply_solution(...)` writes the routes as the plan's `Visit` rows (planned
arrival, start, end, the arrival window the merchant will be told) and its
unassigned work orders with their reasons, and recomputes the plan's figures
(`compute_figures`). The caller commits.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from core.errors import InvalidInput
from core.models import Region
from dispatch.models import (
    Plan,
    Visit,
    WorkOrder,
    WorkOrderKind,
)
from dispatch.planning.problem import PlanInput, plan_visits
from dispatch.planning.replan import told_window
from dispatch.solver import (
    Solution,
)

ARRIVAL_WINDOW_MINUTES = 60
WINDOW_ROUNDING_MINUTES = 30


# ------------------------------------------------------------------ write back


def _round_down(dt: datetime, minutes: int, tz: str) -> datetime:
    local = dt.astimezone(ZoneInfo(tz))
    m = (local.hour * 60 + local.minute) // minutes * minutes
    return local.replace(hour=m // 60, minute=m % 60, second=0, microsecond=0).astimezone(UTC)


def arrival_window(service_start: datetime, tz: str) -> tuple[datetime, datetime]:
    """The window the merchant is told: the half hour the technician is due to start,
    for an hour (starting 14:25 -> 14:00-15:00).

    Why the start and not the moment the van reaches the door: a technician who gets
    there before the shop opens waits for it (an early arrival on an as-soon-as-possible
    schedule), and a shop opening at 13:00 must not be told 08:30-09:30.  The solver's
    announced-window preference is on the service start too (``Job.preferred_window``).
    """
    start = _round_down(service_start, WINDOW_ROUNDING_MINUTES, tz)
    return start, start + timedelta(minutes=ARRIVAL_WINDOW_MINUTES)


def apply_solution(session: Session, plan: Plan, inp: PlanInput, sol: Solution,
                   *, reasons: dict[int, str] | None = None,
                   technician_ids: set[int] | None = None) -> None:
    """Write routes as the plan's visits (kept by work order: pins, notified
    windows and progress survive), unassigned work orders with reasons, figures.
    ``reasons`` overrides the unassigned codes; with ``technician_ids`` only those
    technicians' routes are rewritten (an insertion during the day) and the
    other routes and unassigned entries stay. The caller commits."""
    existing = {v.work_order_id: v for v in plan_visits(session, plan.id)}
    job_ids = {j.id for j in inp.problem.jobs}
    served: set[int] = set()
    tz = inp.region.timezone
    routes_meta: dict[str, dict] = {}
    for route in sol.routes:
        tid = route.vehicle
        seq = inp.fixed_prefix.get(tid, 0)
        pickups_for: dict[int, dict] = {}
        brk = None
        for st in route.steps:
            if st.type == "pickup":
                parts = {k: q for k, q in zip(inp.part_kinds, st.parts, strict=False) if q}
                pickups_for[st.for_job if st.for_job is not None else st.id] = {
                                  "depot_id": st.depot, "parts": parts,
                                  "arrival": inp.at(st.arrival).isoformat(),
                                  "start": inp.at(st.service_start).isoformat(), "end": inp.at(st.end).isoformat(),
                                  "travel_seconds": st.duration, "travel_meters": st.distance}
                continue
            if st.type == "break":
                brk = {"start": inp.at(st.service_start).isoformat(), "end": inp.at(st.end).isoformat()}
                continue
            if st.type != "job":
                continue
            seq += 1
            v = existing.get(st.id)
            if v is None:
                v = Visit(plan_id=plan.id, work_order_id=st.id, technician_id=tid, sequence=seq)
                existing[st.id] = v
            v.technician_id = tid
            v.sequence = seq
            v.planned_arrival = inp.at(st.arrival)
            v.planned_start = inp.at(st.service_start)
            v.planned_end = inp.at(st.end)
            v.window_start, v.window_end = told_window(v, v.planned_start,
                                                       arrival_window(v.planned_start, tz))
            v.travel_seconds = st.duration
            v.travel_meters = st.distance
            pk = pickups_for.pop(st.id, None)  # collected earlier on the route for this visit
            v.pickups = [pk] if pk else []
            session.add(v)
            served.add(st.id)
        end = route.steps[-1]
        routes_meta[str(tid)] = {
            "start": inp.at(route.steps[0].service_start).isoformat(),
            "end": inp.at(end.arrival).isoformat(),
            "end_travel_seconds": end.duration, "end_travel_meters": end.distance,
            "break": brk, "travel_seconds": route.duration, "travel_meters": route.distance,
            "service_seconds": route.service, "waiting_seconds": route.waiting_time,
        }
    for wo_id, v in list(existing.items()):
        if technician_ids is not None and v.technician_id not in technician_ids:
            continue
        if wo_id in job_ids and wo_id not in served and v.id is not None:
            session.delete(v)
    stats = dict(plan.solver_stats or {})
    if technician_ids is not None:
        plan.unassigned = [u for u in plan.unassigned or [] if u["work_order_id"] not in served]
        merged = dict(stats.get("routes", {}))
        merged.update(routes_meta)
        routes_meta = merged
    else:
        reasons = reasons or {}
        unassigned = []
        for u in sol.unassigned:
            wo = inp.work_orders.get(u.id)
            code = reasons.get(u.id, u.code)
            unassigned.append({"work_order_id": u.id, "number": wo.number if wo else str(u.id), "code": code})
        unassigned += [s for s in inp.skipped]
        if not inp.problem.vehicles:
            unassigned = [dict(u, code="no_technicians") for u in unassigned]
        plan.unassigned = unassigned
    stats["routes"] = routes_meta
    plan.solver_stats = stats
    session.flush()
    plan.figures = compute_figures(session, plan, inp)
    session.add(plan)


def compute_figures(session: Session, plan: Plan, inp: PlanInput) -> dict:
    visits = plan_visits(session, plan.id)
    routes = (plan.solver_stats or {}).get("routes", {})
    travel_s = sum(v.travel_seconds + sum(p.get("travel_seconds", 0) for p in v.pickups or []) for v in visits)
    travel_m = sum(v.travel_meters + sum(p.get("travel_meters", 0) for p in v.pickups or []) for v in visits)
    travel_s += sum(r.get("end_travel_seconds", 0) for r in routes.values())
    travel_m += sum(r.get("end_travel_meters", 0) for r in routes.values())
    met = missed = pm = 0
    service_s = 0
    for v in visits:
        wo = inp.work_orders.get(v.work_order_id) or session.get(WorkOrder, v.work_order_id)
        service_s += int(wo.service_minutes) * 60
        if wo.kind == WorkOrderKind.PREVENTIVE:
            pm += 1
        if wo.sla_due_at is not None and v.planned_start is not None and not wo.optional:
            if v.planned_start <= wo.sla_due_at:
                met += 1
            else:
                missed += 1
    shift_s = sum(max(0, int((s.end_at - s.start_at).total_seconds()) - s.break_minutes * 60)
                  for s in inp.shifts.values())
    pm_total = sum(1 for w in inp.work_orders.values() if w.kind == WorkOrderKind.PREVENTIVE)
    unassigned_missed = 0
    day_end = inp.t0 + timedelta(days=1)
    for u in plan.unassigned or []:
        wo = inp.work_orders.get(u["work_order_id"])
        if wo is not None and wo.sla_due_at is not None and not wo.optional and wo.sla_due_at < day_end:
            unassigned_missed += 1
    return {
        "visits": len(visits),
        "technicians_used": len({v.technician_id for v in visits}),
        "technicians_on_shift": len(inp.shifts),
        "travel_km": round(travel_m / 1000.0, 1),
        "travel_hours": round(travel_s / 3600.0, 2),
        "service_hours": round(service_s / 3600.0, 2),
        "sla_met": met,
        "sla_missed": missed + unassigned_missed,
        "utilisation": round((service_s + travel_s) / shift_s, 3) if shift_s else 0.0,
        "pm_placed": pm,
        "pm_total": pm_total,
        "unassigned": len(plan.unassigned or []),
    }


def apply_solver_stats(plan: Plan, sol: Solution) -> None:
    stats = dict(plan.solver_stats or {})
    st = sol.stats
    stats.update({"status": st.status, "wall_time_s": st.wall_time_s, "objective": st.objective,
                  "solutions_found": st.solutions_found, "config": st.config[:200]})
    plan.solver_stats = stats


def day_bounds(inp: PlanInput) -> tuple[datetime, datetime]:
    return inp.t0.astimezone(UTC), (inp.t0 + timedelta(days=1)).astimezone(UTC)


def ensure_region_day(session: Session, region_id: int, day: date) -> Region:
    region = session.get(Region, region_id)
    if region is None:
        raise InvalidInput(_l("no such region"), field="region_id")
    return region
