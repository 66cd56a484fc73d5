"""Planning a region's day: from the database to a solver problem and back.

`build_input(session, region_id, day)` gathers everything one solve needs (the
technicians on shift with their start and end places, shift, lunch break,
skills and van stock; the work orders ready to plan with their merchants'
opening hours on that day, SLA deadline, service time, skills, parts, priority;
visits already started or pinned) and turns it into a pure
`dispatch.solver.Problem`, with times in seconds since the region's local
midnight of the day.

`apply_solution(...)` writes a solver `Solution` back as the plan's `Visit`
rows (planned arrival, start, end, the arrival window the merchant will be
told) and its unassigned work orders with their reasons, and recomputes the
plan's figures.

Hand edits (move, pin, unassign, assign) do not call the solver: the edited
routes are re-timed by `schedule_routes` (earliest schedule, lunch taken in the
first gap inside its window) and checked by the solver's independent validator,
so a broken time window, a missing skill or a missing part is found before the
dispatcher saves.  `best_insertions` tries an urgent work order in every
position after the started and completed visits of each technician.

Why the board re-times edits itself instead of re-solving: the dispatcher's
order must be kept exactly as given; the solver would reorder it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from core.api import NotFound, ValidationFailed
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
from dispatch.replan import keep_commitments, record_hand_move, told_window, window_moved
from dispatch.solver import (
    Break,
    Depot,
    Job,
    Problem,
    Route,
    Solution,
    SolverStats,
    Step,
    Summary,
    Unassigned,
    Vehicle,
    VehicleStep,
    validate,
)
from dispatch.solver.matrix import provider as matrix_provider
from dispatch.words import said
from inventory.models import Part, StockLevel, StockLocation

DAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PLANNABLE_STATUSES = (WorkOrderStatus.READY, WorkOrderStatus.PLANNED)
STARTED_VISIT_STATUSES = ("en_route", "on_site")
FINISHED_VISIT_STATUSES = ("done", "not_done")
DEFAULT_BREAK = ("11:30", "14:00")
PIN_SKILL = "pinned-to-{}"
ARRIVAL_WINDOW_MINUTES = 60
WINDOW_ROUNDING_MINUTES = 30

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
    return session.exec(select(Plan).where(Plan.region_id == region_id, Plan.day == day,
                                           Plan.status == "published")
                        .order_by(Plan.id.desc())).first()


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
    """
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound(_l("no such region"), field="region_id")
    tz = region.timezone
    t0 = local_midnight(day, tz)
    now = now or utcnow()

    def secs(dt: datetime) -> int:
        return int(round((dt - t0).total_seconds()))

    shifts = session.exec(
        select(Shift, Technician).join(Technician, Technician.id == Shift.technician_id)
        .where(Shift.day == day, Technician.region_id == region_id, Technician.active == True)
        .order_by(Technician.code)).all()
    technicians = {t.id: t for _, t in shifts}
    shift_of = {t.id: s for s, t in shifts}
    depot_rows = {d.id: d for d in session.exec(select(DepotRow).where(DepotRow.region_id == region_id)).all()}
    for t in technicians.values():
        if t.depot_id not in depot_rows:
            d = session.get(DepotRow, t.depot_id)
            if d is not None:
                depot_rows[d.id] = d

    visits = plan_visits(session, plan.id) if plan is not None and plan.id is not None else []
    cands = candidate_work_orders(session, region_id, day, plan)
    if work_order_ids is not None:
        wanted = set(work_order_ids)
        cands = [w for w in cands if w.id in wanted]
    merchants = {m.id: m for m in session.exec(select(Merchant).where(
        Merchant.id.in_([w.merchant_id for w in cands] or [-1]))).all()}
    visit_of = {v.work_order_id: v for v in visits}

    part_kinds = sorted({p.get("kind") for w in cands for p in (w.predicted_parts or []) if p.get("kind")})
    kidx = {k: i for i, k in enumerate(part_kinds)}
    van = _van_stock(session, technicians)
    dstock = _depot_stock(session, depot_rows)
    # parts already reserved for these very work orders (a published plan) count as theirs
    from inventory.models import Reservation

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

    coords: list[tuple[float, float]] = []

    def loc(lon: float, lat: float) -> int:
        coords.append((lon, lat))
        return len(coords) - 1

    # finished visits: out of the problem, the technician continues from the last one
    finished: dict[int, list[Visit]] = {}
    for v in visits:
        if v.status in FINISHED_VISIT_STATUSES:
            finished.setdefault(v.technician_id, []).append(v)

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
        cap = [0] * len(part_kinds)
        for kind, qty in van.get(tid, {}).items():
            if kind in kidx:
                cap[kidx[kind]] = qty
        vehicles.append(Vehicle(
            id=tid, start_index=loc(*start_xy), end_index=loc(*home), time_window=(start_s, end_s),
            capacity=cap, skills=list(tech.skills or []), breaks=breaks,
            description=tech.name, start=start_xy, end=home))

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
        delivery = [0] * len(part_kinds)
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
            id=w.id, location_index=loc(m.lon, m.lat), service=max(0, int(w.service_minutes)) * 60,
            delivery=delivery, skills=list(w.required_skills or []), priority=prio,
            time_windows=wins, due=due, lateness_cost_per_minute=late if due is not None else 0.0,
            optional=optional and not started, description=w.number, location=(m.lon, m.lat)))

    depots = []
    for did, d in depot_rows.items():
        stock = [0] * len(part_kinds)
        for kind, qty in dstock.get(did, {}).items():
            if kind in kidx:
                stock[kidx[kind]] = qty
        depots.append(Depot(id=did, location_index=loc(d.lon, d.lat), stock=stock, service=600,
                            description=d.name))

    # started visits are the fixed beginning of their route; a pinned visit stays
    # with its technician through a skill only the two share (as a fixed step the
    # solver had to put it first, and relaxed every pin when that was infeasible)
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
    if keep_pins:  # hand moves and announced windows of a published day (dispatch/replan.py)
        keep_commitments(session, plan, vehicles, jobs, secs)

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
    if veh.time_window and route.steps[-1].arrival > veh.time_window[1]:
        return False
    return True


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
            van_need = [a + b for a, b in zip(van_need, _pad(jobs[j].delivery, K))]
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
            load = [a + b for a, b in zip(load, step.parts)]
        else:
            load = [a - b for a, b in zip(load, _pad(jobs[step.id].delivery, K))]
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
        delivery = [a + b for a, b in zip(delivery, _pad(by_id[s.id].delivery, K))]
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


def _violation_reason(v: dict):
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


# ------------------------------------------------------------------ write back


def _round_down(dt: datetime, minutes: int, tz: str) -> datetime:
    local = dt.astimezone(ZoneInfo(tz))
    m = (local.hour * 60 + local.minute) // minutes * minutes
    return local.replace(hour=m // 60, minute=m % 60, second=0, microsecond=0).astimezone(UTC)


def arrival_window(arrival: datetime, tz: str) -> tuple[datetime, datetime]:
    """The window the merchant is told: the half hour the technician is due in,
    for an hour (arriving 14:25 -> 14:00-15:00)."""
    start = _round_down(arrival, WINDOW_ROUNDING_MINUTES, tz)
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
                pickups_for[st.for_job if st.for_job is not None else st.id] = {"depot_id": st.depot, "parts": {k: q for k, q in zip(inp.part_kinds, st.parts) if q},
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
            v.window_start, v.window_end = told_window(v, v.planned_arrival,
                                                       arrival_window(v.planned_arrival, tz))
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
        raise ValidationFailed(_l("no such region"), field="region_id")
    return region




# ------------------------------------------------------------------ plan services

from core.api import Conflict
from core.audit import record_audit
from core.db import begin_write, is_sqlite
from dispatch.planning.jobs import plan_status_word

RUNNING_JOB_STATUSES = ("queued", "running")


def _lock_region(session: Session, region_id: int) -> Region:
    """Serialise plan creation per region: BEGIN IMMEDIATE on SQLite, a row lock on
    the region on PostgreSQL."""
    begin_write(session)
    stmt = select(Region).where(Region.id == region_id)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    region = session.exec(stmt).first()
    if region is None:
        session.rollback()
        raise ValidationFailed(_l("no such region"), field="region_id")
    return region


def draft_plan(session: Session, region_id: int, day: date) -> Plan | None:
    return session.exec(select(Plan).where(Plan.region_id == region_id, Plan.day == day,
                                           Plan.status == "draft").order_by(Plan.id)).first()


def get_or_create_draft(session: Session, region_id: int, day: date, actor=None) -> tuple[Plan, bool]:
    """The one draft of a region's day: an existing draft is returned as it is (a
    second dispatcher sees the first one's work); a new draft starts from the
    day's published plan, if any. Returns (plan, created)."""
    _lock_region(session, region_id)
    try:
        plan = draft_plan(session, region_id, day)
        if plan is not None:
            session.commit()
            return plan, False
        plan = Plan(region_id=region_id, day=day, status="draft",
                    created_by_user_id=getattr(actor, "id", None))
        session.add(plan)
        session.flush()
        pub = published_plan(session, region_id, day)
        if pub is not None:
            for v in plan_visits(session, pub.id):
                session.add(Visit(
                    plan_id=plan.id, work_order_id=v.work_order_id, technician_id=v.technician_id,
                    sequence=v.sequence, planned_arrival=v.planned_arrival, planned_start=v.planned_start,
                    planned_end=v.planned_end, window_start=v.window_start, window_end=v.window_end,
                    travel_seconds=v.travel_seconds, travel_meters=v.travel_meters, pickups=v.pickups,
                    pinned=v.pinned, status=v.status, actual_departure=v.actual_departure,
                    actual_arrival=v.actual_arrival, actual_end=v.actual_end,
                    notified_window_start=v.notified_window_start,
                    notified_window_end=v.notified_window_end))
            plan.unassigned = list(pub.unassigned or [])
            plan.figures = dict(pub.figures or {})
            plan.solver_stats = dict(pub.solver_stats or {})
        record_audit(session, "plan", plan.id, "draft_created", getattr(actor, "id", None),
                     region_id=region_id, day=day.isoformat(), from_plan=pub.id if pub else None)
        session.commit()
        return plan, True
    except BaseException:
        session.rollback()
        raise


def _check_editable(plan: Plan, version: int | None, statuses=("draft",)) -> None:
    if plan.status not in statuses:
        raise Conflict(_l("the plan is %(status)s; open the day's draft to change it",
                          status=plan_status_word(plan.status)), field="plan")
    if plan.job_status in RUNNING_JOB_STATUSES:
        raise Conflict(_l("the optimizer is working on this plan; wait or cancel it"), field="plan")
    if version is not None and int(version) != plan.version:
        raise Conflict(_l("the plan changed meanwhile (version %(now)s, you had %(had)s); "
                          "reload the board", now=plan.version, had=version),
                       code="stale_version", field="version")


def _locked_plan(session: Session, plan_id: int) -> Plan:
    """The plan, re-read under the write lock (BEGIN IMMEDIATE on SQLite, a row lock
    on PostgreSQL). `populate_existing` matters: sessions keep objects after commit,
    and without it the re-select hands back the stale plan already in the session, so
    concurrent callers would all pass their version check."""
    begin_write(session)
    stmt = select(Plan).where(Plan.id == plan_id).execution_options(populate_existing=True)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    plan = session.exec(stmt).first()
    if plan is None:
        session.rollback()
        raise NotFound(_l("no such plan"), field="plan_id")
    return plan


EDIT_OPS = ("move", "assign", "unassign", "pin", "unpin")


def edit_plan(session: Session, plan_id: int, op: str, *, version: int, visit_id: int | None = None,
              work_order_id: int | None = None, technician_id: int | None = None,
              position: int | None = None, confirm: bool = False, actor=None,
              now: datetime | None = None, osrm_url: str | None = None) -> dict:
    """One hand edit of a draft, checked at once by the solver's validator.

    Returns ``{"applied", "violations", "plan"}``: with new violations (a broken
    time window, a missing skill or part, ...) and without ``confirm`` nothing is
    saved and the violations say why; otherwise the routes are re-timed and saved
    and the plan's version goes up by one."""
    if op not in EDIT_OPS:
        raise ValidationFailed(_l("must be one of %(choices)s", choices=", ".join(EDIT_OPS)),
                               field="op")
    plan = _locked_plan(session, plan_id)
    try:
        _check_editable(plan, version)
        visit = None
        if op in ("move", "unassign", "pin", "unpin"):
            if visit_id is None:
                raise ValidationFailed(_l("which visit?"), field="visit_id")
            visit = session.get(Visit, visit_id)
            if visit is None or visit.plan_id != plan.id:
                raise NotFound(_l("no such visit in this plan"), field="visit_id")
            if visit.status != "planned" and op != "pin":
                raise Conflict(_l("the technician has started or finished this visit; it stays as it is"),
                               field="visit_id")
        if op in ("pin", "unpin"):
            visit.pinned = op == "pin"
            session.add(visit)
            plan.version += 1
            session.add(plan)
            record_audit(session, "plan", plan.id, op, getattr(actor, "id", None), visit_id=visit.id,
                         work_order_id=visit.work_order_id)
            session.commit()
            return {"applied": True, "violations": [], "plan": plan}
        inp = build_input(session, plan.region_id, plan.day, plan=plan, now=now, osrm_url=osrm_url,
                          keep_pins=False)
        order, via = plan_order(session, plan, inp)
        _, before = check_routes(inp, order, via)
        new = {t: list(ids) for t, ids in order.items()}
        target_wo = visit.work_order_id if visit is not None else work_order_id
        if op == "assign":
            if work_order_id is None:
                raise ValidationFailed(_l("which work order?"), field="work_order_id")
            if work_order_id not in {j.id for j in inp.problem.jobs}:
                raise ValidationFailed(_l("this work order cannot be planned on this day"), field="work_order_id")
            if any(work_order_id in ids for ids in new.values()):
                raise Conflict(_l("the work order is already in a route"), field="work_order_id")
        for ids in new.values():
            if target_wo in ids:
                ids.remove(target_wo)
        if op in ("move", "assign"):
            if technician_id not in inp.technicians:
                raise ValidationFailed(_l("not a technician on shift that day"), field="technician_id")
            ids = new.setdefault(technician_id, [])
            started = sum(1 for v in plan_visits(session, plan.id)
                          if v.technician_id == technician_id and v.status in STARTED_VISIT_STATUSES)
            pos = len(ids) + 1 if position is None else int(position)
            if pos < 1:
                raise ValidationFailed(_l("positions start at 1"), field="position")
            pos -= inp.fixed_prefix.get(technician_id, 0)  # positions count finished visits too
            ids.insert(max(started, min(pos - 1, len(ids))), target_wo)
        sol, after = check_routes(inp, new, via)
        known = {(v["kind"], v["technician_id"], v["work_order_id"]) for v in before}
        fresh = [v for v in after if (v["kind"], v["technician_id"], v["work_order_id"]) not in known]
        if fresh and not confirm:
            session.rollback()
            return {"applied": False, "violations": fresh, "plan": plan}
        prior = {u["work_order_id"]: u["code"] for u in plan.unassigned or []}
        reasons = {u.id: prior.get(u.id, "manual") for u in sol.unassigned}
        if op == "unassign":
            reasons[target_wo] = "manual"
        apply_solution(session, plan, inp, sol, reasons=reasons)
        if op in ("move", "assign"):
            moved = session.exec(select(Visit).where(Visit.plan_id == plan.id,
                                                     Visit.work_order_id == target_wo)).first()
            if moved is not None and visit is not None and visit.technician_id != technician_id:
                moved.pinned = False
        # a hand move stays with its technician through re-optimising, until released
        record_hand_move(plan, target_wo, technician_id if op in ("move", "assign") else None)
        plan.version += 1
        session.add(plan)
        record_audit(session, "plan", plan.id, op, getattr(actor, "id", None), work_order_id=target_wo,
                     technician_id=technician_id, position=position, forced=bool(fresh),
                     violations=[v["kind"] for v in fresh])
        session.commit()
        return {"applied": True, "violations": fresh, "plan": plan}
    except BaseException:
        session.rollback()
        raise


# ------------------------------------------------------------------ publish


def _reserve_for_visit(session: Session, visit: Visit, wo: WorkOrder, actor, warnings: list[dict]) -> int:
    """Reserve the visit's predicted parts (van, or the depot of its pickup) through
    the inventory service, once per work order, inside the caller's transaction (a
    publish or an insertion reserves all or nothing). Returns units reserved."""
    from dispatch.models import Terminal
    from inventory import stock

    if not wo.predicted_parts or stock.reservations_for(session, wo.id):
        return 0
    if visit.pickups:
        loc = stock.depot_location(session, visit.pickups[0]["depot_id"])
    else:
        loc = stock.van_for_technician(session, visit.technician_id)
    if loc is None:
        warnings.append({"work_order": wo.number, "reason": "no stock location for the parts"})
        return 0
    model_id = None
    if wo.terminal_id is not None:
        term = session.get(Terminal, wo.terminal_id)
        model_id = term.model_id if term else None
    n = 0
    for need in wo.predicted_parts:
        kind, qty = need.get("kind"), int(need.get("qty", 1) or 1)
        parts = [p for p in stock.parts_for_kind(session, kind, model_id)
                 if stock.available(session, loc.id, p.id) >= qty]
        if not parts:
            warnings.append({"work_order": wo.number, "reason": f"no {kind} available at {loc.code}"})
            continue
        try:
            with session.begin_nested():  # a refusal undoes only this reservation
                stock.reserve_parts(session, wo.id, loc.id, parts[0].id, qty, actor=actor,
                                    commit=False)
            n += qty
        except Conflict as exc:  # warnings are kept in the audit trail: English
            warnings.append({"work_order": wo.number, "reason": exc.message_en})
    return n


def _reserve_loaner(session: Session, wo: WorkOrder, visit: Visit, actor, warnings: list[dict]) -> bool:
    """A backup terminal the merchant accepted rides along on the visit."""
    if wo.backup_status != "accepted" or wo.loaner_terminal_id is not None:
        return False
    try:
        from dispatch.backup import service as backup
    except ImportError:  # the loaner service is not there yet
        return False
    fn = getattr(backup, "reserve_loaner", None)
    if fn is None:
        return False
    try:
        with session.begin_nested():
            fn(session, wo, actor=actor, commit=False)
        return True
    except Conflict as exc:
        warnings.append({"work_order": wo.number, "reason": exc.message_en})
        return False


def _window_changed(v: Visit) -> bool:
    return (v.notified_window_start != v.window_start) or (v.notified_window_end != v.window_end)


def send_window_correction(session: Session, visit: Visit, wo: WorkOrder, region: Region) -> None:
    """The 'technician assigned, arriving ...' SMS again with the new window, once per
    window (the idempotency key names it). The caller commits."""
    from notifications.outbox import enqueue_sms
    from notifications.sms_templates import window_context

    m = session.get(Merchant, wo.merchant_id)
    tech = session.get(Technician, visit.technician_id)
    ctx = {"technician": tech.name, "ref": wo.number,
           **window_context(visit.window_start, visit.window_end, region.timezone, m.locale)}
    key = f"wo-{wo.id}-window-{int(visit.window_start.timestamp())}-{int(visit.window_end.timestamp())}"
    enqueue_sms(session, key=key, to=m.phone, template="technician_assigned", locale=m.locale,
                context=ctx, urgent=True, region_tz=region.timezone,
                quiet_hours=(region.quiet_start_hour, region.quiet_end_hour))


def _dispatch_visits(session: Session, plan: Plan, visits: list[Visit], region: Region, actor,
                     counts: dict) -> None:
    """Move each visit's work order to dispatched (the state machine's receivers send
    the arrival-window SMS) or, if already dispatched, correct the window when it
    moved. Within the caller's transaction."""
    from dispatch.workorders.service import transition

    for v in visits:
        if v.status != "planned" or v.window_start is None:
            continue
        wo = session.get(WorkOrder, v.work_order_id)
        if wo.status in (WorkOrderStatus.READY, WorkOrderStatus.NEEDS_FOLLOW_UP):
            transition(session, wo, WorkOrderStatus.PLANNED, actor=actor, commit=False,
                       note=f"plan {plan.id}", data=said("event_note", "plan", plan=plan.id))
        if wo.status == WorkOrderStatus.PLANNED:
            transition(session, wo, WorkOrderStatus.DISPATCHED, actor=actor, commit=False,
                       note=f"plan {plan.id}", data={"plan_id": plan.id, "visit_id": v.id,
                                                     **said("event_note", "plan", plan=plan.id)})
            counts["dispatched"] += 1
        elif wo.status == WorkOrderStatus.DISPATCHED and v.notified_window_start is not None \
                and _window_changed(v):
            send_window_correction(session, v, wo, region)
            counts["corrections"] += 1
        v.notified_window_start, v.notified_window_end = v.window_start, v.window_end
        session.add(v)


def publish_plan(session: Session, plan_id: int, *, version: int, actor=None,
                 now: datetime | None = None, osrm_url: str | None = None) -> dict:
    """Publish a draft: checked by the validator (refused with the violations
    otherwise), parts and loaners reserved, the day's older published plan
    superseded, work orders dispatched (one SMS each with the arrival window) and
    corrections sent only where a window changed since the merchant was told.

    One transaction under the plan's write lock, from the version check to the last
    outbox row: of N concurrent publishes of one version exactly one passes, and a
    publish that fails half-way (a refusal, a crash) leaves no reservation, SMS or
    event behind."""
    plan = _locked_plan(session, plan_id)
    try:
        _check_editable(plan, version)
        inp = build_input(session, plan.region_id, plan.day, plan=plan, now=now, osrm_url=osrm_url,
                          keep_pins=False)
        order, via = plan_order(session, plan, inp)
        _, violations = check_routes(inp, order, via)
        if violations:
            raise Conflict(_l("the plan breaks hard constraints; fix them before publishing"),
                           code="plan_invalid", fields=[{"field": v["work_order"] or "plan",
                                                          "reason": _violation_reason(v)}
                                                         for v in violations])
        warnings: list[dict] = []
        reserved = loaners = 0
        for v in plan_visits(session, plan.id):
            if v.status != "planned":
                continue
            wo = session.get(WorkOrder, v.work_order_id)
            reserved += _reserve_for_visit(session, v, wo, actor, warnings)
            loaners += int(_reserve_loaner(session, wo, v, actor, warnings))
        counts = {"dispatched": 0, "corrections": 0, "returned_to_ready": 0}
        region = session.get(Region, plan.region_id)
        old = session.exec(select(Plan).where(Plan.region_id == plan.region_id, Plan.day == plan.day,
                                              Plan.status == "published", Plan.id != plan.id)).all()
        mine = {v.work_order_id for v in plan_visits(session, plan.id)}
        from dispatch.workorders.service import transition
        for o in old:
            o.status = "superseded"
            session.add(o)
            for v in plan_visits(session, o.id):
                wo = session.get(WorkOrder, v.work_order_id)
                if v.work_order_id not in mine and wo.status == WorkOrderStatus.DISPATCHED:
                    transition(session, wo, WorkOrderStatus.READY, actor=actor, commit=False,
                               note=f"left out of plan {plan.id}",
                               data=said("event_note", "left_out_of_plan", plan=plan.id))
                    counts["returned_to_ready"] += 1
        plan.status = "published"
        plan.published_at = utcnow()
        plan.version += 1
        session.add(plan)
        session.flush()
        _dispatch_visits(session, plan, plan_visits(session, plan.id), region, actor, counts)
        record_audit(session, "plan", plan.id, "published", getattr(actor, "id", None),
                     superseded=[o.id for o in old], reserved_units=reserved, loaners=loaners,
                     warnings=warnings, **counts)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return {"plan": plan, "reserved_units": reserved, "loaners": loaners, "warnings": warnings, **counts}


# ------------------------------------------------------------------ during the day


def _route_windows(sol: Solution, inp: PlanInput, tech_id: int) -> dict[int, tuple[datetime, datetime]]:
    out = {}
    for r in sol.routes:
        if r.vehicle != tech_id:
            continue
        for st in r.steps:
            if st.type == "job":
                out[st.id] = arrival_window(inp.at(st.arrival), inp.region.timezone)
    return out


def best_insertions(session: Session, plan_id: int, work_order_id: int, *, now: datetime | None = None,
                    limit: int = 5, osrm_url: str | None = None) -> list[dict]:
    """Where an urgent work order fits best in a day's routes: every position after
    each technician's started and finished visits, checked by the validator, ranked
    by added travel, the order's own lateness and how far others' windows move."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(_l("no such plan"), field="plan_id")
    inp = build_input(session, plan.region_id, plan.day, plan=plan, now=now, osrm_url=osrm_url,
                      keep_pins=False)
    if work_order_id not in {j.id for j in inp.problem.jobs}:
        raise ValidationFailed(_l("this work order cannot be planned on this day"), field="work_order_id")
    order, via = plan_order(session, plan, inp)
    if any(work_order_id in ids for ids in order.values()):
        raise Conflict(_l("the work order is already in a route"), field="work_order_id")
    visits = {v.work_order_id: v for v in plan_visits(session, plan.id)}
    tz = inp.region.timezone
    out = []
    for tid, tech in inp.technicians.items():
        ids = order.get(tid, [])
        started = sum(1 for j in ids if visits.get(j) is not None and visits[j].status in STARTED_VISIT_STATUSES)
        base_sol, _ = check_routes(inp, {tid: ids}, via)
        base_travel = sum(r.duration for r in base_sol.routes)
        for pos in range(started, len(ids) + 1):
            cand = ids[:pos] + [work_order_id] + ids[pos:]
            sol, viol = check_routes(inp, {tid: cand}, via)
            viol = [v for v in viol if v["technician_id"] in (tid, None)]
            if viol:
                continue
            wins = _route_windows(sol, inp, tid)
            steps = {s.id: s for r in sol.routes for s in r.steps if s.type == "job"}
            moved = []
            sla_broken = []
            delay = 0
            for j in ids:
                v = visits.get(j)
                old = (v.notified_window_start or v.window_start, v.notified_window_end or v.window_end) \
                    if v is not None else None
                if old and wins.get(j) and window_moved(old, inp.at(steps[j].arrival), wins[j]):
                    moved.append({"work_order_id": j, "number": inp.work_orders[j].number,
                                  "from": _hm(old[0], tz) + "–" + _hm(old[1], tz),
                                  "to": _hm(wins[j][0], tz) + "–" + _hm(wins[j][1], tz)})
                    delay += max(0, int((wins[j][0] - old[0]).total_seconds()))
                due = inp.work_orders[j].sla_due_at
                if due is not None and j in steps and inp.at(steps[j].service_start) > due \
                        and not (v is not None and v.planned_start is not None and v.planned_start > due):
                    sla_broken.append({"work_order_id": j, "number": inp.work_orders[j].number,
                                       "sla_due": _hm(due, tz)})
            step = steps[work_order_id]
            added = sum(r.duration for r in sol.routes) - base_travel
            out.append({
                "technician_id": tid, "technician": tech.name,
                "position": inp.fixed_prefix.get(tid, 0) + pos + 1,
                "arrival": inp.at(step.arrival).isoformat(), "arrival_local": _hm(inp.at(step.arrival), tz),
                "added_travel_minutes": round(added / 60, 1), "lateness_minutes": round(step.lateness / 60, 1),
                "windows_moved": moved, "sla_broken": sla_broken,
                "score": added + step.lateness * 2 + delay // 2 + 3600 * len(sla_broken),
            })
    out.sort(key=lambda c: (c["score"], c["technician_id"], c["position"]))
    return out[:limit]


def _hm(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def accept_insertion(session: Session, plan_id: int, work_order_id: int, technician_id: int,
                     position: int, *, version: int, actor=None, now: datetime | None = None,
                     osrm_url: str | None = None) -> dict:
    """Put an urgent work order into a technician's route of the published day:
    the route is re-timed, the order dispatched (its SMS), parts reserved, and
    merchants whose window moved get a correction. One transaction under the plan's
    write lock: concurrent insertions of one version insert once, text once."""
    plan = _locked_plan(session, plan_id)
    try:
        _check_editable(plan, version, statuses=("published", "draft"))
        inp = build_input(session, plan.region_id, plan.day, plan=plan, now=now, osrm_url=osrm_url,
                          keep_pins=False)
        if work_order_id not in {j.id for j in inp.problem.jobs}:
            raise ValidationFailed(_l("this work order cannot be planned on this day"),
                                   field="work_order_id")
        if technician_id not in inp.technicians:
            raise ValidationFailed(_l("not a technician on shift that day"), field="technician_id")
        order, via = plan_order(session, plan, inp)
        if any(work_order_id in ids for ids in order.values()):
            raise Conflict(_l("the work order is already in a route"), field="work_order_id")
        visits = {v.work_order_id: v for v in plan_visits(session, plan.id)}
        ids = order.get(technician_id, [])
        started = sum(1 for j in ids
                      if visits.get(j) is not None and visits[j].status in STARTED_VISIT_STATUSES)
        pos = max(started, min(int(position) - 1 - inp.fixed_prefix.get(technician_id, 0), len(ids)))
        cand = ids[:pos] + [work_order_id] + ids[pos:]
        sol, viol = check_routes(inp, {technician_id: cand}, via)
        viol = [v for v in viol if v["technician_id"] in (technician_id, None)]
        if viol:
            raise Conflict(_l("this insertion breaks hard constraints"), code="insertion_invalid",
                           fields=[{"field": v["work_order"] or "route", "reason": _violation_reason(v)}
                                   for v in viol])
        apply_solution(session, plan, inp, sol, technician_ids={technician_id})
        plan.version += 1
        session.add(plan)
        session.flush()
        warnings: list[dict] = []
        new_visit = session.exec(select(Visit).where(Visit.plan_id == plan.id,
                                                     Visit.work_order_id == work_order_id)).one()
        wo = session.get(WorkOrder, work_order_id)
        reserved = 0
        counts = {"dispatched": 0, "corrections": 0}
        if plan.status == "published":
            reserved = _reserve_for_visit(session, new_visit, wo, actor, warnings)
            region = session.get(Region, plan.region_id)
            route = [v for v in plan_visits(session, plan.id) if v.technician_id == technician_id]
            _dispatch_visits(session, plan, route, region, actor, counts)
        record_audit(session, "plan", plan.id, "insertion", getattr(actor, "id", None),
                     work_order_id=work_order_id, technician_id=technician_id, position=pos + 1,
                     reserved_units=reserved, warnings=warnings, **counts)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return {"plan": plan, "visit": new_visit, "reserved_units": reserved, "warnings": warnings, **counts}
