"""A region's day as a solver problem.

`build_input(session, region_id, day)` gathers everything one solve needs (the
technicians on shift with their start and end places, shift, lunch break,
skills and van stock; the work orders ready to plan with their merchants'
opening hours on that day, SLA deadline, service time, skills, parts, priority;
visits already started or pinned) and turns it into a pure
`dispatch.solver.Problem`, with times in seconds since the region's local
midnight of the day. `PlanInput` carries the problem with the rows it was built
from, for the re-timing (`retiming`) and the write-back (`writeback`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from core.errors import NotFound
from core.models import Depot as DepotRow
from core.models import Region
from core.timeutil import utcnow
from dispatch.models import (
    Merchant,
    Plan,
    Priority,
    Shift,
    Technician,
    Visit,
    WorkOrder,
    WorkOrderKind,
    WorkOrderStatus,
)
from dispatch.planning.replan import keep_commitments
from dispatch.solver import (
    Break,
    Depot,
    Job,
    Problem,
    Vehicle,
    VehicleStep,
)
from dispatch.solver.matrix import provider as matrix_provider
from inventory.models import Part, StockLevel, StockLocation

DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PLANNABLE_STATUSES = (WorkOrderStatus.READY, WorkOrderStatus.PLANNED)
STARTED_VISIT_STATUSES = ("en_route", "on_site")
FINISHED_VISIT_STATUSES = ("done", "not_done")
DEFAULT_BREAK = ("11:30", "14:00")
PIN_SKILL = "pinned-to-{}"

#: priority in the solver's 0..100 scale and lateness cost per minute (VROOM units).
# A minute of driving costs 60 (the
# solver's default 3,600 per hour), so a minute past a high-priority SLA deadline
# weighs as two minutes of driving: with lower weights the solver saved a few minutes
# of travel by leaving a down terminal hours late while technicians stood idle.
PRIORITY_WEIGHTS = {
    Priority.CRITICAL: (100, 300.0),
    Priority.HIGH: (70, 120.0),
    Priority.NORMAL: (40, 60.0),
    Priority.LOW: (10, 15.0),
}
PREVENTIVE_PRIORITY = 5

#: why a work order is not in the plan, as the dispatcher reads it
REASON_LABELS = {
    "no_skill": _l("No technician on shift has all the required skills"),
    "no_part": _l("No van carries the parts and no depot stocks them"),
    "unreachable_time_window": _l("Cannot be reached within opening hours and shifts"),
    "capacity_of_day": _l("Left out for more urgent work (the day is full)"),
    "pinned_infeasible": _l("Pinned visits cannot be kept as they are"),
    "merchant_closed": _l("The merchant is closed that day"),
    "manual": _l("Unassigned by the dispatcher"),
    "no_technicians": _l("No technician is on shift"),
}


# ------------------------------------------------------------------ input


@dataclass
class PlanInput:
    """A solver problem plus what it takes to map its answer back to rows."""

    problem: Problem
    region: Region
    day: date
    t0: datetime  # local midnight of the day, aware
    technicians: dict[int, Technician]
    shifts: dict[int, Shift]
    work_orders: dict[int, WorkOrder]
    merchants: dict[int, Merchant]
    coords: list[tuple[float, float]]  # (lon, lat) per location index
    part_kinds: list[str]
    depots: dict[int, DepotRow]
    skipped: list[dict] = field(default_factory=list)  # work orders left out before solving
    fixed_prefix: dict[int, int] = field(default_factory=dict)  # tech -> visits already finished

    def secs(self, dt: datetime) -> int:
        return int(round((dt - self.t0).total_seconds()))

    def at(self, secs: int) -> datetime:
        return (self.t0 + timedelta(seconds=int(secs))).astimezone(UTC)

    def vehicle(self, tech_id: int) -> Vehicle:
        return next(v for v in self.problem.vehicles if v.id == tech_id)

    def job(self, wo_id: int) -> Job:
        return next(j for j in self.problem.jobs if j.id == wo_id)


def local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz))


def _hhmm(value: str) -> int:
    h, m = value.split(":")
    return int(h) * 3600 + int(m) * 60


def opening_windows(merchant: Merchant, day: date) -> list[tuple[int, int]] | None:
    """The merchant's opening hours that day in seconds since local midnight;
    None when the merchant keeps no hours (open whenever), [] when closed."""
    hours = merchant.opening_hours or {}
    if not hours:
        return None
    spans = hours.get(DAY_KEYS[day.weekday()], [])
    out = []
    for a, b in spans:
        s, e = _hhmm(a), _hhmm(b)
        if e <= s:  # closes after midnight
            e += 24 * 3600
        out.append((s, e))
    return sorted(out)


def _intersect(windows: list[tuple[int, int]], lo: int | None, hi: int | None) -> list[tuple[int, int]]:
    out = []
    for a, b in windows:
        a2 = max(a, lo) if lo is not None else a
        b2 = min(b, hi) if hi is not None else b
        if a2 <= b2:
            out.append((a2, b2))
    return out


def plan_visits(session: Session, plan_id: int) -> list[Visit]:
    return list(session.exec(select(Visit).where(Visit.plan_id == plan_id)
                             .order_by(Visit.technician_id, Visit.sequence)).all())


def published_plan(session: Session, region_id: int, day: date) -> Plan | None:
    """The day's published plan: the newest, should an older one not be superseded yet
    (versions count the edits of one plan and do not order plans). The board, a new
    draft and the technician's day all read it through here."""
    return session.exec(select(Plan).where(Plan.region_id == region_id, Plan.day == day,
                                           Plan.status == "published")
                        .order_by(Plan.id.desc())).first()


def published_visit(session: Session, work_order_id: int) -> Visit | None:
    """The work order's visit on a published plan: its latest day's, on the newest plan
    as `published_plan` reads it. What a technician may act on."""
    return session.exec(select(Visit).join(Plan, Plan.id == Visit.plan_id)
                        .where(Visit.work_order_id == work_order_id, Plan.status == "published")
                        .order_by(Plan.day.desc(), Plan.id.desc(), Visit.id.desc())).first()


def _available_by_kind(session: Session, location_kind: str, owner, owner_ids: Iterable[int]
                       ) -> dict[int, dict[str, int]]:
    """Unreserved units per part kind at each owner's locations (vans by technician,
    depots by depot): what the solver may plan to use."""
    rows = session.exec(
        select(owner, Part.kind, func.sum(StockLevel.on_hand - StockLevel.reserved))
        .join(StockLevel, StockLevel.location_id == StockLocation.id)
        .join(Part, Part.id == StockLevel.part_id)
        .where(StockLocation.kind == location_kind, owner.in_(list(owner_ids)))
        .group_by(owner, Part.kind)
    ).all()
    out: dict[int, dict[str, int]] = {}
    for oid, kind, qty in rows:
        out.setdefault(oid, {})[kind] = max(0, int(qty or 0))
    return out


def _van_stock(session: Session, tech_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    return _available_by_kind(session, "van", StockLocation.technician_id, tech_ids)


def _depot_stock(session: Session, depot_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    return _available_by_kind(session, "depot", StockLocation.depot_id, depot_ids)


def candidate_work_orders(session: Session, region_id: int, day: date,
                          plan: Plan | None = None) -> list[WorkOrder]:
    """Work orders a plan of this region and day may contain: those ready to plan,
    plus those already in this plan or in the day's published plan (not finished)."""
    ids = set(session.exec(select(WorkOrder.id).where(
        WorkOrder.region_id == region_id, WorkOrder.status.in_(PLANNABLE_STATUSES))).all())
    plan_ids = [p.id for p in (plan, published_plan(session, region_id, day)) if p is not None]
    if plan_ids:
        ids |= set(session.exec(select(Visit.work_order_id).where(Visit.plan_id.in_(plan_ids))).all())
    if not ids:
        return []
    rows = session.exec(select(WorkOrder).where(WorkOrder.id.in_(list(ids)))
                        .order_by(WorkOrder.id)).all()
    done = (WorkOrderStatus.COMPLETED, WorkOrderStatus.CANCELLED, WorkOrderStatus.NEEDS_FOLLOW_UP)
    return [w for w in rows if w.status not in done]


@dataclass
class _Locations:
    """The problem's locations as they are added: (lon, lat) per index."""

    coords: list[tuple[float, float]] = field(default_factory=list)

    def add(self, lon: float, lat: float) -> int:
        self.coords.append((lon, lat))
        return len(self.coords) - 1


def build_input(
    session: Session,
    region_id: int,
    day: date,
    *,
    plan: Plan | None = None,
    now: datetime | None = None,
    keep_pins: bool = True,
    osrm_url: str | None = None,
    work_order_ids: Iterable[int] | None = None,
) -> PlanInput:
    """The solver problem for a region's day.

    With ``plan``, its started visits (en route, on site) become the fixed
    beginning of their technician's route and, if ``keep_pins``, its pinned
    visits stay with their technician;
    finished visits are left out and the technician starts from the last one.
    Hand edits and checks use ``keep_pins=False`` (the dispatcher may move anything).
    ``now`` (default: the clock) moves each shift's start forward during the day.
    ``work_order_ids`` restricts the jobs (else: every candidate work order).

    In named steps: who is on shift (`_on_shift`), what the vans carry and the depots
    stock (`_stock`), one vehicle per technician (`_vehicles`), one job per work order
    (`_jobs`), the depots (`_depots`), then started and pinned visits (`_fix_visits`).
    """
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound(_l("no such region"), field="region_id")
    t0 = local_midnight(day, region.timezone)
    now = now or utcnow()

    def secs(dt: datetime) -> int:
        return int(round((dt - t0).total_seconds()))

    technicians, shift_of, depot_rows = _on_shift(session, region_id, day)
    visits = plan_visits(session, plan.id) if plan is not None and plan.id is not None else []
    cands = candidate_work_orders(session, region_id, day, plan)
    if work_order_ids is not None:
        wanted = set(work_order_ids)
        cands = [w for w in cands if w.id in wanted]
    merchants = {m.id: m for m in session.exec(select(Merchant).where(
        Merchant.id.in_([w.merchant_id for w in cands] or [-1]))).all()}

    part_kinds = sorted({p.get("kind") for w in cands for p in (w.predicted_parts or []) if p.get("kind")})
    kidx = {k: i for i, k in enumerate(part_kinds)}
    van, dstock = _stock(session, technicians, depot_rows, cands)
    locations = _Locations()

    # finished visits: out of the problem, the technician continues from the last one
    finished: dict[int, list[Visit]] = {}
    for v in visits:
        if v.status in FINISHED_VISIT_STATUSES:
            finished.setdefault(v.technician_id, []).append(v)

    vehicles = _vehicles(session, region, technicians, shift_of, depot_rows, finished, van, kidx,
                         locations, secs, t0, now)
    jobs, skipped = _jobs(cands, {v.work_order_id: v for v in visits}, merchants, day, kidx,
                          locations, secs)
    depots = _depots(depot_rows, dstock, kidx, locations)
    _fix_visits(vehicles, jobs, visits, keep_pins)
    if keep_pins:  # hand moves and announced windows of a published day (dispatch/replan.py)
        keep_commitments(session, plan, vehicles, jobs, secs)

    coords = locations.coords
    if coords:
        durations, distances = matrix_provider(osrm_url)(coords)
    else:
        durations, distances = [], []
    problem = Problem(vehicles=vehicles, jobs=jobs, durations=durations, distances=distances,
                      depots=depots, part_kinds=part_kinds)
    return PlanInput(
        problem=problem, region=region, day=day, t0=t0, technicians=technicians, shifts=shift_of,
        work_orders={w.id: w for w in cands}, merchants=merchants, coords=coords,
        part_kinds=part_kinds, depots=depot_rows, skipped=skipped,
        fixed_prefix={tid: len(vs) for tid, vs in finished.items()})


def _on_shift(session: Session, region_id: int, day: date
              ) -> tuple[dict[int, Technician], dict[int, Shift], dict[int, DepotRow]]:
    """The region's active technicians with a shift that day, their shifts, and the
    depots: the region's and any other a technician belongs to."""
    shifts = session.exec(
        select(Shift, Technician).join(Technician, Technician.id == Shift.technician_id)
        .where(Shift.day == day, Technician.region_id == region_id, Technician.active.is_(True))
        .order_by(Technician.code)).all()
    technicians = {t.id: t for _, t in shifts}
    shift_of = {t.id: s for s, t in shifts}
    depot_rows = {d.id: d for d in session.exec(select(DepotRow).where(DepotRow.region_id == region_id)).all()}
    for t in technicians.values():
        if t.depot_id not in depot_rows:
            d = session.get(DepotRow, t.depot_id)
            if d is not None:
                depot_rows[d.id] = d
    return technicians, shift_of, depot_rows


def _stock(session: Session, technicians: dict[int, Technician], depot_rows: dict[int, DepotRow],
           cands: list[WorkOrder]) -> tuple[dict[int, dict[str, int]], dict[int, dict[str, int]]]:
    """Parts by kind on each van and in each depot; parts already reserved for these
    very work orders (a published plan) count as theirs."""
    from inventory.models import Reservation

    van = _van_stock(session, technicians)
    dstock = _depot_stock(session, depot_rows)
    for loc, kind, qty in session.exec(
            select(StockLocation, Part.kind,
                   Reservation.qty - Reservation.consumed_qty - Reservation.released_qty)
            .join(Reservation, Reservation.location_id == StockLocation.id)
            .join(Part, Part.id == Reservation.part_id)
            .where(Reservation.status == "active",
                   Reservation.work_order_id.in_([w.id for w in cands] or [-1]))).all():
        if loc.kind == "van" and loc.technician_id in technicians:
            van.setdefault(loc.technician_id, {})[kind] = van.get(loc.technician_id, {}).get(kind, 0) + qty
        elif loc.kind == "depot" and loc.depot_id in depot_rows:
            dstock.setdefault(loc.depot_id, {})[kind] = dstock.get(loc.depot_id, {}).get(kind, 0) + qty
    return van, dstock


def _vehicles(session: Session, region: Region, technicians: dict[int, Technician],
              shift_of: dict[int, Shift], depot_rows: dict[int, DepotRow],
              finished: dict[int, list[Visit]], van: dict[int, dict[str, int]],
              kidx: dict[str, int], locations: _Locations, secs: Callable[[datetime], int],
              t0: datetime, now: datetime) -> list[Vehicle]:
    """One vehicle per technician on shift: starting at home or the depot (or after
    the last finished visit, not before now), the lunch break, the van's parts."""
    vehicles: list[Vehicle] = []
    for tid, tech in technicians.items():
        sh = shift_of[tid]
        depot = depot_rows.get(tech.depot_id)
        if tech.start_at == "home" and tech.home_lat is not None and tech.home_lon is not None:
            home = (tech.home_lon, tech.home_lat)
        elif depot is not None:
            home = (depot.lon, depot.lat)
        else:
            home = (region.center_lon, region.center_lat)
        start_s, end_s = secs(sh.start_at), secs(sh.end_at)
        start_xy = home
        done = finished.get(tid, [])
        if done:
            last = max(done, key=lambda v: v.sequence)
            m = session.get(Merchant, session.get(WorkOrder, last.work_order_id).merchant_id)
            start_xy = (m.lon, m.lat)
            last_end = last.actual_end or last.planned_end
            if last_end is not None:
                start_s = max(start_s, secs(last_end))
        if t0 <= now <= t0 + timedelta(days=1):
            start_s = max(start_s, secs(now))
        start_s = min(start_s, end_s)
        breaks = []
        if sh.break_minutes:
            be = secs(sh.break_earliest) if sh.break_earliest else _hhmm(DEFAULT_BREAK[0])
            bl = secs(sh.break_latest) if sh.break_latest else _hhmm(DEFAULT_BREAK[1])
            service = sh.break_minutes * 60
            lo, hi = max(be, start_s), min(bl - service, end_s - service)
            if lo <= hi:
                breaks.append(Break(id=tid, time_windows=[(lo, hi)], service=service,
                                    description="lunch"))
        cap = [0] * len(kidx)
        for kind, qty in van.get(tid, {}).items():
            if kind in kidx:
                cap[kidx[kind]] = qty
        vehicles.append(Vehicle(
            id=tid, start_index=locations.add(*start_xy), end_index=locations.add(*home),
            time_window=(start_s, end_s), capacity=cap, skills=list(tech.skills or []),
            breaks=breaks, description=tech.name, start=start_xy, end=home))
    return vehicles


def _jobs(cands: list[WorkOrder], visit_of: dict[int, Visit], merchants: dict[int, Merchant],
          day: date, kidx: dict[str, int], locations: _Locations,
          secs: Callable[[datetime], int]) -> tuple[list[Job], list[dict]]:
    """One job per work order still to do: the merchant's opening hours that day cut
    by the requested window, parts, skills, priority and SLA lateness; a work order
    that cannot be served at all is skipped with its reason."""
    jobs: list[Job] = []
    skipped: list[dict] = []
    for w in cands:
        v = visit_of.get(w.id)
        if v is not None and v.status in FINISHED_VISIT_STATUSES:
            continue
        m = merchants[w.merchant_id]
        started = v is not None and v.status in STARTED_VISIT_STATUSES
        wins = opening_windows(m, day)
        if started:
            wins = []
        else:
            if wins is None:
                wins = []
                if w.window_start_at or w.window_end_at:
                    wins = [(0, 2 * 24 * 3600)]
            elif not wins:
                skipped.append({"work_order_id": w.id, "number": w.number, "code": "merchant_closed"})
                continue
            if w.window_start_at or w.window_end_at:
                lo = secs(w.window_start_at) if w.window_start_at else None
                hi = secs(w.window_end_at) if w.window_end_at else None
                wins = _intersect(wins, lo, hi)
                if not wins:
                    skipped.append({"work_order_id": w.id, "number": w.number,
                                    "code": "unreachable_time_window"})
                    continue
        delivery = [0] * len(kidx)
        for p in w.predicted_parts or []:
            if p.get("kind") in kidx:
                delivery[kidx[p["kind"]]] += int(p.get("qty", 1) or 1)
        optional = bool(w.optional) or w.kind == WorkOrderKind.PREVENTIVE
        prio, late = PRIORITY_WEIGHTS.get(w.priority, PRIORITY_WEIGHTS[Priority.NORMAL])
        if optional:
            prio, late = PREVENTIVE_PRIORITY, 0.0
        due = None
        if w.sla_due_at is not None and not optional:
            due = secs(w.sla_due_at)
        jobs.append(Job(
            id=w.id, location_index=locations.add(m.lon, m.lat),
            service=max(0, int(w.service_minutes)) * 60, delivery=delivery,
            skills=list(w.required_skills or []), priority=prio, time_windows=wins, due=due,
            lateness_cost_per_minute=late if due is not None else 0.0,
            optional=optional and not started, description=w.number, location=(m.lon, m.lat)))
    return jobs, skipped


def _depots(depot_rows: dict[int, DepotRow], dstock: dict[int, dict[str, int]],
            kidx: dict[str, int], locations: _Locations) -> list[Depot]:
    """The depots with their stock by part kind (pickups on the way)."""
    depots = []
    for did, d in depot_rows.items():
        stock = [0] * len(kidx)
        for kind, qty in dstock.get(did, {}).items():
            if kind in kidx:
                stock[kidx[kind]] = qty
        depots.append(Depot(id=did, location_index=locations.add(d.lon, d.lat), stock=stock,
                            service=600, description=d.name))
    return depots


def _fix_visits(vehicles: list[Vehicle], jobs: list[Job], visits: list[Visit], keep_pins: bool) -> None:
    """Started visits are the fixed beginning of their route; a pinned visit stays
    with its technician through a skill only the two share (as a fixed step the
    solver had to put it first, and relaxed every pin when that was infeasible)."""
    job_ids = {j.id for j in jobs}
    job_by_id = {j.id: j for j in jobs}
    for veh in vehicles:
        mine = [v for v in visits if v.technician_id == veh.id and v.work_order_id in job_ids]
        fixed = [v for v in mine if v.status in STARTED_VISIT_STATUSES]
        veh.steps = [VehicleStep("job", id=v.work_order_id) for v in fixed]
        if keep_pins:
            pins = [v for v in mine if v.pinned and v.status not in STARTED_VISIT_STATUSES]
            if pins:
                veh.skills = list(veh.skills) + [PIN_SKILL.format(veh.id)]
                for v in pins:
                    job = job_by_id[v.work_order_id]
                    job.skills = list(job.skills) + [PIN_SKILL.format(veh.id)]
                    job.optional = False
