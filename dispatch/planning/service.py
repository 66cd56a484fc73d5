"""The plan's services: each a write that owns its transaction.

A region's day has one draft (`get_or_create_draft`); the dispatcher edits it by
hand (`edit_plan`, re-timed and checked by `retiming`), publishes it
(`publish_plan`: parts reserved, work orders dispatched, merchants told their
window), and during the day inserts urgent work into the published routes
(`best_insertions` tries an urgent work order in every position after the
started and completed visits of each technician; `accept_insertion` commits one).
Solving runs elsewhere (`dispatch.planning.jobs`), building the problem in
`problem` and writing the answer back in `writeback`.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlmodel import Session, select

from core.audit import record_audit
from core.db import is_sqlite, unit_of_work
from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import lazy_word
from core.models import Region
from core.timeutil import utcnow
from dispatch.models import (
    Merchant,
    Plan,
    Technician,
    Visit,
    WorkOrder,
    WorkOrderStatus,
)
from dispatch.planning.problem import (
    STARTED_VISIT_STATUSES,
    PlanInput,
    build_input,
    plan_visits,
    published_plan,
)
from dispatch.planning.replan import record_hand_move, window_moved
from dispatch.planning.retiming import check_routes, plan_order, violation_reason
from dispatch.planning.writeback import apply_solution, arrival_window
from dispatch.solver import Solution
from dispatch.words import said

# ------------------------------------------------------------------ plan services


def _plan_status_words() -> dict[str, str]:
    return {"draft": pgettext("plan status", "draft"),
            "published": pgettext("plan status", "published"),
            "superseded": pgettext("plan status", "superseded")}


def plan_status_word(status: str):
    """A plan's status inside a reason: the code in English, its name in Chinese."""
    return lazy_word(_plan_status_words, status)


RUNNING_JOB_STATUSES = ("queued", "running")


def _lock_region(session: Session, region_id: int) -> Region:
    """Serialise plan creation per region, inside the caller's unit of work (BEGIN
    IMMEDIATE on SQLite), with a row lock on the region on PostgreSQL."""
    stmt = select(Region).where(Region.id == region_id)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    region = session.exec(stmt).first()
    if region is None:
        raise InvalidInput(_l("no such region"), field="region_id")
    return region


def draft_plan(session: Session, region_id: int, day: date) -> Plan | None:
    return session.exec(select(Plan).where(Plan.region_id == region_id, Plan.day == day,
                                           Plan.status == "draft").order_by(Plan.id)).first()


def get_or_create_draft(session: Session, region_id: int, day: date, actor=None) -> tuple[Plan, bool]:
    """The one draft of a region's day: an existing draft is returned as it is (a
    second dispatcher sees the first one's work); a new draft starts from the
    day's published plan, if any. Returns (plan, created)."""
    with unit_of_work(session):
        _lock_region(session, region_id)
        plan = draft_plan(session, region_id, day)
        if plan is not None:
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
        return plan, True


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
    """The plan, re-read under the write lock of the caller's unit of work (BEGIN
    IMMEDIATE on SQLite, a row lock on PostgreSQL). `populate_existing` matters:
    sessions keep objects after commit, and without it the re-select hands back the
    stale plan already in the session, so concurrent callers would all pass their
    version check."""
    stmt = select(Plan).where(Plan.id == plan_id).execution_options(populate_existing=True)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    plan = session.exec(stmt).first()
    if plan is None:
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
        raise InvalidInput(_l("must be one of %(choices)s", choices=", ".join(EDIT_OPS)),
                           field="op")
    with unit_of_work(session) as unit:
        plan = _locked_plan(session, plan_id)
        _check_editable(plan, version)
        visit = None
        if op in ("move", "unassign", "pin", "unpin"):
            if visit_id is None:
                raise InvalidInput(_l("which visit?"), field="visit_id")
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
            return {"applied": True, "violations": [], "plan": plan}
        inp = build_input(session, plan.region_id, plan.day, plan=plan, now=now, osrm_url=osrm_url,
                          keep_pins=False)
        order, via = plan_order(session, plan, inp)
        _, before = check_routes(inp, order, via)
        new = {t: list(ids) for t, ids in order.items()}
        target_wo = visit.work_order_id if visit is not None else work_order_id
        if op == "assign":
            if work_order_id is None:
                raise InvalidInput(_l("which work order?"), field="work_order_id")
            if work_order_id not in {j.id for j in inp.problem.jobs}:
                raise InvalidInput(_l("this work order cannot be planned on this day"), field="work_order_id")
            if any(work_order_id in ids for ids in new.values()):
                raise Conflict(_l("the work order is already in a route"), field="work_order_id")
        for ids in new.values():
            if target_wo in ids:
                ids.remove(target_wo)
        if op in ("move", "assign"):
            if technician_id not in inp.technicians:
                raise InvalidInput(_l("not a technician on shift that day"), field="technician_id")
            ids = new.setdefault(technician_id, [])
            started = sum(1 for v in plan_visits(session, plan.id)
                          if v.technician_id == technician_id and v.status in STARTED_VISIT_STATUSES)
            pos = len(ids) + 1 if position is None else int(position)
            if pos < 1:
                raise InvalidInput(_l("positions start at 1"), field="position")
            pos -= inp.fixed_prefix.get(technician_id, 0)  # positions count finished visits too
            ids.insert(max(started, min(pos - 1, len(ids))), target_wo)
        sol, after = check_routes(inp, new, via)
        known = {(v["kind"], v["technician_id"], v["work_order_id"]) for v in before}
        fresh = [v for v in after if (v["kind"], v["technician_id"], v["work_order_id"]) not in known]
        if fresh and not confirm:
            unit.discard()  # nothing is saved: the violations say why
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
        return {"applied": True, "violations": fresh, "plan": plan}


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
    with unit_of_work(session):
        plan = _locked_plan(session, plan_id)
        _check_editable(plan, version)
        inp = build_input(session, plan.region_id, plan.day, plan=plan, now=now, osrm_url=osrm_url,
                          keep_pins=False)
        order, via = plan_order(session, plan, inp)
        _, violations = check_routes(inp, order, via)
        if violations:
            raise Conflict(_l("the plan breaks hard constraints; fix them before publishing"),
                           code="plan_invalid", fields=[{"field": v["work_order"] or "plan",
                                                          "reason": violation_reason(v)}
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
    return {"plan": plan, "reserved_units": reserved, "loaners": loaners, "warnings": warnings, **counts}


# ------------------------------------------------------------------ during the day


def _route_windows(sol: Solution, inp: PlanInput, tech_id: int) -> dict[int, tuple[datetime, datetime]]:
    out = {}
    for r in sol.routes:
        if r.vehicle != tech_id:
            continue
        for st in r.steps:
            if st.type == "job":
                out[st.id] = arrival_window(inp.at(st.service_start), inp.region.timezone)
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
        raise InvalidInput(_l("this work order cannot be planned on this day"), field="work_order_id")
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
                if old and wins.get(j) and window_moved(old, inp.at(steps[j].service_start), wins[j]):
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
    with unit_of_work(session):
        plan = _locked_plan(session, plan_id)
        _check_editable(plan, version, statuses=("published", "draft"))
        inp = build_input(session, plan.region_id, plan.day, plan=plan, now=now, osrm_url=osrm_url,
                          keep_pins=False)
        if work_order_id not in {j.id for j in inp.problem.jobs}:
            raise InvalidInput(_l("this work order cannot be planned on this day"),
                               field="work_order_id")
        if technician_id not in inp.technicians:
            raise InvalidInput(_l("not a technician on shift that day"), field="technician_id")
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
                           fields=[{"field": v["work_order"] or "route", "reason": violation_reason(v)}
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
    return {"plan": plan, "visit": new_visit, "reserved_units": reserved, "warnings": warnings, **counts}
