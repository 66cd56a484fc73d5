"""Preventive work orders from plans: generation, merging and escalation.

`generate_due` turns every occurrence due within the horizon into work exactly once
per (plan, terminal, due date): the occurrence row is inserted first, under the
table's unique rule, so a second run (or a second process racing this one) finds it
or loses the insert and moves on; nothing is doubled. Each occurrence is its own
unit of work (insert occurrence, create or merge the work order, commit), so one bad
row never undoes the others.

When the merchant already has an open visit not yet started, the preventive work
joins it (checklist and minutes added, a note on its timeline) instead of sending a
second technician. Preventive work orders are optional and low priority: the solver
uses them to fill gaps. `escalate_closing_windows` makes them required (normal
priority) when their window is about to close."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.db import Unit, end_transaction, is_sqlite, unit_of_work
from core.i18n import msgid
from core.models import Region, User
from core.timeutil import utcnow
from dispatch.models import Merchant, Priority, Terminal, WorkOrder, WorkOrderKind, WorkOrderStatus
from dispatch.words import keep_description_as_data, said
from dispatch.workorders.service import add_note, create_work_order
from maintenance.catalog import PM_CHECKLIST
from maintenance.models import PMOccurrence, PMPlan
from maintenance.plans import scope_terminals_query
from maintenance.recurrence import (
    interval_due_date,
    parse_rule,
    rule_dates,
    window_bounds,
    window_end_date,
)

log = logging.getLogger("fixroute.maintenance")

S = WorkOrderStatus
# A preventive visit can join these (the technician has not set off yet).
MERGEABLE_STATUSES = (S.NEW, S.READY, S.PLANNED, S.DISPATCHED, S.NEEDS_FOLLOW_UP)
OPEN_STATUSES = MERGEABLE_STATUSES + (S.EN_ROUTE, S.ON_SITE)
# Preventive work becomes required this long before its window closes.
ESCALATE_BEFORE = timedelta(days=2)
ACTOR = "pm-scheduler"


@dataclass
class GenerationStats:
    plans: int = 0
    created: int = 0  # new preventive work orders
    merged: int = 0  # added to a visit the merchant already had open
    existing: int = 0  # already generated earlier (or by a racing process)
    expired: int = 0  # due dates whose window closed before we saw them (rule plans)
    occurrences: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = asdict(self)
        out.pop("occurrences")
        return out


def _today_in(today: date | datetime, tz_name: str) -> date:
    if isinstance(today, datetime):
        if today.tzinfo is None:
            raise ValueError("naive datetime given as the clock")
        return today.astimezone(ZoneInfo(tz_name)).date()
    return today


def _now_in(today: date | datetime, tz_name: str) -> datetime:
    """An instant for `today`: itself if it is one, else local midnight of that date."""
    if isinstance(today, datetime):
        return today
    return datetime.combine(today, time(), tzinfo=ZoneInfo(tz_name))


def last_service_dates(session: Session, terminal_ids: list[int]) -> dict[int, datetime]:
    """When each terminal last had preventive work completed: a preventive work order
    on it, or any work order a preventive occurrence of it was merged into."""
    if not terminal_ids:
        return {}
    out: dict[int, datetime] = {}
    done = [S.COMPLETED.value]
    direct = session.exec(
        select(WorkOrder.terminal_id, func.max(WorkOrder.completed_at))
        .where(WorkOrder.kind == WorkOrderKind.PREVENTIVE, WorkOrder.status.in_(done),
               WorkOrder.terminal_id.in_(terminal_ids))
        .group_by(WorkOrder.terminal_id)
    ).all()
    linked = session.exec(
        select(PMOccurrence.terminal_id, func.max(WorkOrder.completed_at))
        .join(WorkOrder, WorkOrder.id == PMOccurrence.work_order_id)
        .where(WorkOrder.status.in_(done), PMOccurrence.terminal_id.in_(terminal_ids))
        .group_by(PMOccurrence.terminal_id)
    ).all()
    for tid, at in list(direct) + list(linked):
        if at is None:
            continue
        if isinstance(at, str):  # pragma: no cover - SQLite aggregate returns text
            at = datetime.fromisoformat(at)
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo("UTC"))
        if tid not in out or at > out[tid]:
            out[tid] = at
    return out


def _latest_occurrence(session: Session, plan_id: int, terminal_ids: list[int]) -> dict[int, date]:
    rows = session.exec(
        select(PMOccurrence.terminal_id, func.max(PMOccurrence.due_date))
        .where(PMOccurrence.plan_id == plan_id, PMOccurrence.terminal_id.in_(terminal_ids))
        .group_by(PMOccurrence.terminal_id)
    ).all()
    return {tid: (d if isinstance(d, date) else date.fromisoformat(d)) for tid, d in rows}


def due_dates_for(session: Session, plan: PMPlan, rows: list, today: date | datetime,
                  horizon_days: int) -> list[tuple[Terminal, Merchant, Region, date]]:
    """The (terminal, due date) pairs of a plan whose window is open or opens within
    the horizon. Rule plans: every rule date whose window has not closed yet (so a
    scheduler that was down catches up once). Interval plans: the next date after the
    last completed service, unless an occurrence since then is still outstanding."""
    out: list[tuple[Terminal, Merchant, Region, date]] = []
    if plan.rrule:
        rule = parse_rule(plan.rrule, plan.active_from)
        by_tz: dict[str, list[date]] = {}
        for terminal, merchant, region, _model in rows:
            if region.timezone not in by_tz:
                local_today = _today_in(today, region.timezone)
                first = max(plan.active_from, local_today - timedelta(days=plan.due_window_days - 1))
                last = local_today + timedelta(days=horizon_days)
                if plan.active_to is not None:
                    last = min(last, plan.active_to)
                by_tz[region.timezone] = rule_dates(rule, first, last)
            for due in by_tz[region.timezone]:
                out.append((terminal, merchant, region, due))
        return out

    ids = [t.id for t, *_ in rows]
    last_done = last_service_dates(session, ids)
    latest = _latest_occurrence(session, plan.id, ids)
    for terminal, merchant, region, _model in rows:
        local_today = _today_in(today, region.timezone)
        done_at = last_done.get(terminal.id)
        done_day = done_at.astimezone(ZoneInfo(region.timezone)).date() if done_at else None
        pending = latest.get(terminal.id)
        if pending is not None and (done_day is None or pending > done_day):
            continue  # the last occurrence has not been served yet
        due = interval_due_date(plan.active_from, plan.interval_days, done_day)
        if window_end_date(due, plan.due_window_days) < local_today:
            due = local_today  # overdue: due now, with a fresh window
        if due > local_today + timedelta(days=horizon_days):
            continue
        if plan.active_to is not None and due > plan.active_to:
            continue
        out.append((terminal, merchant, region, due))
    return out


def generate_due(session: Session, today: date | datetime, horizon_days: int = 14,
                 actor: User | str | None = None) -> GenerationStats:
    """Create (or merge) the preventive work of every active plan due within
    `horizon_days` of `today` (a local date, or an aware instant read in each
    region's zone). Safe to run any number of times: a second run changes nothing."""
    stats = GenerationStats()
    actor = actor or ACTOR
    end_transaction(session)  # each occurrence is a unit of its own, from a fresh read
    plans = session.exec(select(PMPlan).where(PMPlan.active == True).order_by(PMPlan.id)).all()  # noqa: E712
    for plan in plans:
        rows = session.exec(scope_terminals_query(plan.scope or {})).all()
        if not rows:
            continue
        stats.plans += 1
        try:
            pairs = due_dates_for(session, plan, rows, today, horizon_days)
        except ValueError as exc:  # a rule saved before validation tightened
            log.error("plan %s has an unusable rule: %s", plan.id, exc)
            continue
        existing = {
            (o.terminal_id, o.due_date)
            for o in session.exec(
                select(PMOccurrence).where(PMOccurrence.plan_id == plan.id,
                                           PMOccurrence.due_date.in_({d for *_x, d in pairs}))
            ).all()
        } if pairs else set()
        end_transaction(session)  # end the read transaction before the write units
        for terminal, merchant, region, due in pairs:
            if (terminal.id, due) in existing:
                stats.existing += 1
                continue
            outcome, occ_id = _generate_one(session, plan, terminal, merchant, region, due, actor)
            setattr(stats, outcome, getattr(stats, outcome) + 1)
            if occ_id is not None and outcome != "existing":
                stats.occurrences.append(occ_id)
    return stats


def _checklist_items(plan: PMPlan, terminal: Terminal) -> list[dict]:
    return [{"code": code, "label": msgid(PM_CHECKLIST.get(code, code)), "terminal": terminal.serial,
             "pm_plan_id": plan.id, "done": False} for code in plan.checklist or []]


def _open_visit(session: Session, merchant_id: int) -> WorkOrder | None:
    stmt = (select(WorkOrder)
            .where(WorkOrder.merchant_id == merchant_id,
                   WorkOrder.status.in_([s.value for s in MERGEABLE_STATUSES]))
            .order_by(WorkOrder.created_at, WorkOrder.id).limit(1))
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def _generate_one(session: Session, plan: PMPlan, terminal: Terminal, merchant: Merchant,
                  region: Region, due: date, actor) -> tuple[str, int | None]:
    """One occurrence as one unit of work: returns (outcome, occurrence id)."""
    try:
        with unit_of_work(session) as unit:
            return _generate_in_unit(session, unit, plan, terminal, merchant, region, due, actor)
    except IntegrityError:  # another run made this occurrence first (rolled back)
        return "existing", None


def _generate_in_unit(session: Session, unit: Unit, plan: PMPlan, terminal: Terminal,
                      merchant: Merchant, region: Region, due: date, actor
                      ) -> tuple[str, int | None]:
    """The body of `_generate_one`, inside its unit."""
    occ = PMOccurrence(plan_id=plan.id, terminal_id=terminal.id, due_date=due,
                       window_end=window_end_date(due, plan.due_window_days))
    try:
        with session.begin_nested():
            session.add(occ)
    except IntegrityError:
        unit.discard()
        return "existing", None
    start_at, end_at = window_bounds(due, plan.due_window_days, region.timezone)
    items = _checklist_items(plan, terminal)
    target = _open_visit(session, merchant.id)
    if target is not None:
        # the same plan's work on the same terminal already waits in this visit
        covered = any(isinstance(c, dict) and c.get("pm_plan_id") == plan.id
                      and c.get("terminal") == terminal.serial and not c.get("done")
                      for c in target.checklist or [])
        added = 0 if covered else plan.service_minutes
        if not covered:
            target.checklist = list(target.checklist or []) + items
            target.service_minutes = min(24 * 60, target.service_minutes + added)
        target.updated_at = utcnow()
        target.version += 1
        session.add(target)
        occ.outcome = "merged"
        occ.work_order_id = target.id
        session.add(occ)
        session.flush()
        add_note(session, target,
                 f"Preventive maintenance '{plan.name}' for terminal {terminal.serial} "
                 f"(due {due.isoformat()}) joined this visit: +{added} min"
                 + (" (already on its checklist)" if covered else ""),
                 actor=actor, commit=False,
                 data={"pm_plan_id": plan.id, "pm_occurrence_id": occ.id,
                       "terminal": terminal.serial, "due_date": due.isoformat(),
                       "added_minutes": added,
                       **said("event_note", "pm_joined_covered" if covered else "pm_joined",
                              plan=plan.name, terminal=terminal.serial,
                              due=due.isoformat(), minutes=added)})
        outcome = "merged"
    else:
        wo = create_work_order(
            session, merchant=merchant, terminal=terminal, kind=WorkOrderKind.PREVENTIVE,
            priority=Priority.LOW, severity="cosmetic", required_skills=[plan.skill],
            predicted_parts=[], service_minutes=plan.service_minutes,
            title=f"Preventive maintenance: {plan.name}"[:200],
            description=f"Plan {plan.name}, due {due.isoformat()}",
            optional=True, window_start_at=start_at, window_end_at=end_at,
            checklist=items, actor=actor, status=WorkOrderStatus.READY, commit=False)
        keep_description_as_data(session, wo, plan=plan.name, due=due.isoformat())
        occ.work_order_id = wo.id
        occ.outcome = "created"
        session.add(occ)
        outcome = "created"
    return outcome, occ.id


def escalate_closing_windows(session: Session, today: date | datetime,
                             actor: User | str | None = None) -> int:
    """Make optional preventive work required (optional off, priority normal) once its
    window closes within ESCALATE_BEFORE. Returns how many changed; a second run
    finds nothing left to change."""
    actor = actor or ACTOR
    end_transaction(session)  # a unit per region, each from a fresh read
    changed = 0
    regions = session.exec(select(Region)).all()
    for region in regions:
        threshold = _now_in(today, region.timezone) + ESCALATE_BEFORE
        with unit_of_work(session):
            stmt = (select(WorkOrder)
                    .where(WorkOrder.region_id == region.id,
                           WorkOrder.kind == WorkOrderKind.PREVENTIVE,
                           WorkOrder.optional == True,  # noqa: E712
                           WorkOrder.status.in_([s.value for s in OPEN_STATUSES]),
                           WorkOrder.window_end_at.is_not(None),
                           WorkOrder.window_end_at <= threshold)
                    .order_by(WorkOrder.id))
            if not is_sqlite(session):
                stmt = stmt.with_for_update()
            for wo in session.exec(stmt).all():
                before = wo.priority
                wo.optional = False
                if wo.priority == Priority.LOW:
                    wo.priority = Priority.NORMAL
                wo.updated_at = utcnow()
                wo.version += 1
                session.add(wo)
                session.flush()
                add_note(session, wo, "The preventive window is closing: this visit is now required",
                         actor=actor, commit=False,
                         data={"escalated": True, "priority": [before, wo.priority],
                               **said("event_note", "preventive_window_closing")})
                changed += 1
    return changed
