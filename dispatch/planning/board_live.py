"""The live day on the dispatcher's board: what the phones report, and who runs late.

The phones write each visit's state into the day's published plan (on the way, on
site, done, could not complete, with the actual times). The board polls
`live_state` and updates its badges without a reload; the draft the dispatcher may
be editing is matched by work order, so the states show there too.

A technician runs late when the visit in hand will end, or the next one start,
later than planned: on site, the visit ends at the later of now and arrival plus
its service time; on the way, the technician arrives at the later of now and
departure plus the planned travel; not yet left for a visit that should already
be under way, the technician arrives now plus the travel. That delay carries down
the route, each planned wait soaking up part of it, and every visit it pushes past
its announced window or its SLA deadline is listed as at risk.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from core.timeutil import utcnow
from dispatch.models import Merchant, Plan, Technician, Visit, WorkOrder

#: minutes behind plan from which a technician is flagged as running late
LATE_AFTER_MINUTES = 15
FINISHED = ("done", "not_done")


def _visits_of(session: Session, plan: Plan) -> list[Visit]:
    return list(session.exec(select(Visit).where(Visit.plan_id == plan.id)
                             .order_by(Visit.technician_id, Visit.sequence)).all())


def _delay_now(v: Visit, wo: WorkOrder, now: datetime) -> timedelta:
    """How far behind plan the visit in hand puts its technician, at ``now``."""
    if v.status == "on_site" and v.planned_end is not None:
        arrived = v.actual_arrival or v.planned_start or now
        ends = max(now, arrived + timedelta(minutes=int(wo.service_minutes or 0)))
        return ends - v.planned_end
    if v.status == "en_route" and v.planned_arrival is not None:
        left = v.actual_departure or now
        arrives = max(now, left + timedelta(seconds=v.travel_seconds))
        return arrives - v.planned_arrival
    if v.status == "planned" and v.planned_arrival is not None:
        should_leave = v.planned_arrival - timedelta(seconds=v.travel_seconds)
        if now > should_leave:
            return now + timedelta(seconds=v.travel_seconds) - v.planned_arrival
    return timedelta(0)


def live_state(session: Session, plan: Plan | None, *, now: datetime | None = None) -> dict:
    """Each visit's state by work order and the technicians running late, for the
    day of ``plan`` (its published plan supplies what the phones reported)."""
    if plan is None:
        return {"visits": {}, "technicians": [], "now": None}
    now = now or utcnow()
    from dispatch.field.service import VISIT_STATUSES
    from dispatch.planning.problem import published_plan

    source = plan if plan.status == "published" else (published_plan(session, plan.region_id, plan.day)
                                                        or plan)
    visits = _visits_of(session, source)
    from core.models import Region

    tz = ZoneInfo(session.get(Region, plan.region_id).timezone)
    wos = {w.id: w for w in session.exec(select(WorkOrder).where(
        WorkOrder.id.in_([v.work_order_id for v in visits] or [-1]))).all()}
    merchants = {m.id: m for m in session.exec(select(Merchant).where(
        Merchant.id.in_([w.merchant_id for w in wos.values()] or [-1]))).all()}

    def hm(dt: datetime | None) -> str:
        return dt.astimezone(tz).strftime("%H:%M") if dt else ""

    out_visits = {}
    by_tech: dict[int, list[Visit]] = {}
    for v in visits:
        out_visits[str(v.work_order_id)] = {
            "status": v.status, "label": str(VISIT_STATUSES.get(v.status, v.status)),
            "arrived": hm(v.actual_arrival), "finished": hm(v.actual_end)}
        by_tech.setdefault(v.technician_id, []).append(v)
    techs = {t.id: t for t in session.exec(select(Technician).where(
        Technician.id.in_(list(by_tech) or [-1]))).all()}
    late = []
    for tid, route in by_tech.items():
        route.sort(key=lambda v: v.sequence)
        todo = [v for v in route if v.status not in FINISHED]
        if not todo:
            continue
        delay = _delay_now(todo[0], wos[todo[0].work_order_id], now)
        if delay < timedelta(minutes=LATE_AFTER_MINUTES):
            continue
        at_risk = []
        carried = delay
        for i, v in enumerate(todo):
            at_door = carried  # how late the technician reaches this door
            if i > 0 and v.planned_arrival and v.planned_start:
                carried = max(timedelta(0), carried - (v.planned_start - v.planned_arrival))
            if carried <= timedelta(0):
                break
            wo = wos[v.work_order_id]
            threatens = []
            window_end = v.notified_window_end or v.window_end
            # the merchant's window is on the start (writeback.arrival_window): waiting for
            # the shop to open absorbs part of a delay, the rest moves the start
            if v.status == "planned" and v.planned_arrival and v.planned_start and window_end \
                    and max(v.planned_start, v.planned_arrival + at_door) > window_end:
                threatens.append("window")
            if wo.sla_due_at and v.planned_start and v.planned_start + carried > wo.sla_due_at \
                    and v.planned_start <= wo.sla_due_at:
                threatens.append("sla")
            if threatens:
                m = merchants.get(wo.merchant_id)
                at_risk.append({"work_order_id": wo.id, "number": wo.number,
                                "merchant": m.name if m else "",
                                "window": f"{hm(v.notified_window_start or v.window_start)}–{hm(window_end)}",
                                "sla_due": hm(wo.sla_due_at), "threatens": threatens})
        late.append({"technician_id": tid, "technician": techs[tid].name if tid in techs else "",
                     "late_minutes": int(delay.total_seconds() // 60), "at_risk": at_risk})
    late.sort(key=lambda t: -t["late_minutes"])
    return {"visits": out_visits, "technicians": late, "now": now.isoformat()}
