"""Work orders: creation (numbering, deduplication) and the one state machine.

Every status change of a work order goes through `transition()`: it checks the move
against `ALLOWED_TRANSITIONS`, writes a `WorkOrderEvent` (who, when, from, to, note),
sends `dispatch.signals.work_order_changed` *before* committing so receivers add their
rows to the same transaction, and commits once. A refused move raises
`core.errors.Conflict` with the reason.

Concurrency: each function is a `core.db.unit_of_work`. It starts with
`core.db.begin_write()` (SQLite: BEGIN IMMEDIATE, which serialises writers) unless the
caller already wrote in this transaction (commit=False callers that group several
changes): then we stay in the caller's transaction. On PostgreSQL the rows we
decide on are locked with SELECT ... FOR UPDATE and work-order numbers are drawn under
a transaction-scoped advisory lock.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.audit import actor_fields
from core.db import is_sqlite, unit_of_work
from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import lazy_word
from core.models import MAX_ID, User
from core.timeutil import utcnow
from dispatch import signals
from dispatch.models import (
    OPEN_WORK_ORDER_STATUSES,
    Merchant,
    Priority,
    Terminal,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderKind,
    WorkOrderStatus,
)
from dispatch.words import said

S = WorkOrderStatus

# from-status -> the statuses it may move to. Anything else is refused with a reason.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.READY, S.CANCELLED}),
    S.READY: frozenset({S.PLANNED, S.CANCELLED}),
    # a draft plan can be dropped (back to ready) or published (dispatched)
    S.PLANNED: frozenset({S.READY, S.DISPATCHED, S.CANCELLED}),
    # a published visit can be re-planned, started, or (no "en route" tap) arrived at
    S.DISPATCHED: frozenset({S.READY, S.PLANNED, S.EN_ROUTE, S.ON_SITE, S.CANCELLED}),
    # turned back (tapped by mistake, or called off on the way)
    S.EN_ROUTE: frozenset({S.DISPATCHED, S.READY, S.ON_SITE}),
    S.ON_SITE: frozenset({S.COMPLETED, S.NEEDS_FOLLOW_UP}),
    # a follow-up visit is planned again, or closed without one
    S.NEEDS_FOLLOW_UP: frozenset({S.READY, S.PLANNED, S.COMPLETED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Why a move is refused, per target, when the table does not allow it.
_REFUSAL_HINTS = {
    S.COMPLETED: _l("only a work order on site (or needing follow-up) can be completed"),
    S.NEEDS_FOLLOW_UP: _l("only a work order on site can need a follow-up"),
    S.ON_SITE: _l("the work order must be dispatched or en route before the technician is on site"),
    S.EN_ROUTE: _l("the work order must be dispatched before the technician is en route"),
    S.DISPATCHED: _l("the work order must be in a plan (planned) before it is dispatched"),
    S.PLANNED: _l("only a ready work order (or one needing follow-up, or a dispatched one being "
                  "re-planned) can be planned"),
    S.READY: _l("this work order cannot be put back to ready from its current status"),
    S.CANCELLED: _l("a work order cannot be cancelled once the technician is on site or en route"),
    S.NEW: _l("a work order never goes back to new"),
}


def _status_words() -> dict[str, str]:
    return {
        S.NEW: pgettext("work order status", "new"),
        S.READY: pgettext("work order status", "ready"),
        S.PLANNED: pgettext("work order status", "planned"),
        S.DISPATCHED: pgettext("work order status", "dispatched"),
        S.EN_ROUTE: pgettext("work order status", "en_route"),
        S.ON_SITE: pgettext("work order status", "on_site"),
        S.COMPLETED: pgettext("work order status", "completed"),
        S.NEEDS_FOLLOW_UP: pgettext("work order status", "needs_follow_up"),
        S.CANCELLED: pgettext("work order status", "cancelled"),
    }


def status_word(status: str):
    """A work-order status inside a reason: the code in English, its name in Chinese."""
    return lazy_word(_status_words, status)

TERMINAL_STATUSES = frozenset({S.COMPLETED, S.CANCELLED})
PRIORITY_RANK = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}
KINDS = tuple(k.value for k in WorkOrderKind)
STATUSES = tuple(s.value for s in WorkOrderStatus)
PRIORITIES = tuple(p.value for p in Priority)
SEVERITIES = ("down", "degraded", "cosmetic")
NUMBER_PREFIX = "WO-"
_PG_NUMBER_LOCK = 0x46_52_57_4F  # "FRWO": advisory lock key for drawing numbers


def refusal_reason(from_status: str, to_status: str):
    """None if the move is allowed, else a sentence saying why not (a lazy string:
    it reads in the language of whoever is shown it)."""
    if to_status not in STATUSES:
        return _l("unknown status '%(status)s'", status=to_status)
    if from_status == to_status:
        return _l("the work order is already %(status)s", status=status_word(from_status))
    allowed = ALLOWED_TRANSITIONS.get(from_status)
    if allowed is None:
        return _l("unknown current status '%(status)s'", status=from_status)
    if to_status in allowed:
        return None
    if from_status in TERMINAL_STATUSES:
        return _l("the work order is %(status)s; closed work orders do not change status",
                  status=status_word(from_status))
    old, new = status_word(from_status), status_word(to_status)
    hint = _REFUSAL_HINTS.get(to_status)
    if hint is None:
        return _l("cannot go from %(old)s to %(new)s", old=old, new=new)
    return _l("cannot go from %(old)s to %(new)s: %(hint)s", old=old, new=new, hint=hint)


def allowed_next(status: str) -> list[str]:
    """The statuses reachable from `status`, in the order of the lifecycle."""
    allowed = ALLOWED_TRANSITIONS.get(status, frozenset())
    return [s for s in STATUSES if s in allowed]


# --- unit-of-work helpers -------------------------------------------------------------


def _lock_row(session: Session, obj) -> None:
    """Reload `obj` (after flushing the caller's changes); on PostgreSQL lock its row."""
    session.flush()
    session.refresh(obj, with_for_update=not is_sqlite(session))


def _event(work_order: WorkOrder, action: str, *, actor, from_status: str = "",
           to_status: str = "", note: str = "", data: dict | None = None,
           client_action_id: str | None = None) -> WorkOrderEvent:
    user_id, label = actor_fields(actor)
    return WorkOrderEvent(work_order_id=work_order.id, at=utcnow(), actor_user_id=user_id,
                          actor_label=label, action=action, from_status=from_status,
                          to_status=to_status, note=note or "", data=dict(data or {}),
                          client_action_id=client_action_id)


# --- numbering ------------------------------------------------------------------------

def _parse_number(number: str | None) -> int:
    if not number or not number.startswith(NUMBER_PREFIX):
        return 0
    try:
        return int(number[len(NUMBER_PREFIX):])
    except ValueError:
        return 0


def format_number(n: int) -> str:
    return f"{NUMBER_PREFIX}{n:06d}"


def _next_number(session: Session) -> str:
    """The next WO-000123. Called inside a write unit: on SQLite the unit holds the
    database write lock, on PostgreSQL we take a transaction-scoped advisory lock, so
    two creators never draw the same number (the unique index is the last guard)."""
    if not is_sqlite(session):
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_NUMBER_LOCK))
    last = session.exec(
        select(WorkOrder.number)
        .where(WorkOrder.number.like(f"{NUMBER_PREFIX}%"))
        .order_by(func.length(WorkOrder.number).desc(), WorkOrder.number.desc())
        .limit(1)
    ).first()
    return format_number(_parse_number(last) + 1)


# --- creation -------------------------------------------------------------------------

def _resolve(session: Session, model: type[Merchant | Terminal], value, field: str):
    if value is None:
        return None
    if isinstance(value, model):
        return value
    obj = session.get(model, value)
    if obj is None:
        if model is Merchant:
            raise NotFound(_l("no merchant %(id)s", id=value), field=field)
        raise NotFound(_l("no terminal %(id)s", id=value), field=field)
    return obj


def find_open_repair(session: Session, terminal_id: int) -> WorkOrder | None:
    """The open repair work order of a terminal, if any (oldest first)."""
    return session.exec(
        select(WorkOrder)
        .where(WorkOrder.terminal_id == terminal_id,
               WorkOrder.kind == WorkOrderKind.REPAIR,
               WorkOrder.status.in_([s.value for s in OPEN_WORK_ORDER_STATUSES]))
        .order_by(WorkOrder.created_at, WorkOrder.id)
        .limit(1)
    ).first()


def create_work_order(
    session: Session,
    *,
    merchant: Merchant | int,
    terminal: Terminal | int | None = None,
    kind: str,
    priority: str,
    severity: str,
    required_skills: list[str],
    predicted_parts: list[dict],
    service_minutes: int,
    sla_due_at: datetime | None = None,
    title: str = "",
    description: str = "",
    optional: bool = False,
    window_start_at: datetime | None = None,
    window_end_at: datetime | None = None,
    checklist: list | None = None,
    actor: User | str | None = None,
    status: str = "ready",
    commit: bool = True,
) -> WorkOrder:
    """Create a work order numbered WO-000123 with its creation event.

    For a repair on a terminal that already has an open repair work order, that one is
    returned instead (with a note event saying so; priority and SLA are raised if the
    new report is more urgent). The signal `work_order_changed` is sent for a new work
    order (event action "created", from "" to `status`) before the commit."""
    if kind not in KINDS:
        raise InvalidInput(_l("must be one of %(choices)s", choices=", ".join(KINDS)),
                           field="kind")
    if priority not in PRIORITIES:
        raise InvalidInput(_l("must be one of %(choices)s", choices=", ".join(PRIORITIES)),
                           field="priority")
    if severity not in SEVERITIES:
        raise InvalidInput(_l("must be one of %(choices)s", choices=", ".join(SEVERITIES)),
                           field="severity")
    if status not in (S.NEW, S.READY):
        raise InvalidInput(_l("a work order starts as new or ready"), field="status")
    if not isinstance(service_minutes, int) or not 1 <= service_minutes <= 24 * 60:
        raise InvalidInput(_l("must be between 1 and 1440 minutes"), field="service_minutes")
    if window_start_at and window_end_at and window_end_at <= window_start_at:
        raise InvalidInput(_l("must be after window_start_at"), field="window_end_at")

    with unit_of_work(session, commit):
        merchant_obj: Merchant = _resolve(session, Merchant, merchant, "merchant")
        terminal_obj: Terminal | None = _resolve(session, Terminal, terminal, "terminal")
        if terminal_obj is not None and terminal_obj.merchant_id not in (None, merchant_obj.id):
            raise InvalidInput(_l("this terminal belongs to another merchant"),
                               field="terminal")

        if kind == WorkOrderKind.REPAIR and terminal_obj is not None:
            if not is_sqlite(session):
                session.refresh(terminal_obj, with_for_update=True)
            existing = find_open_repair(session, terminal_obj.id)
            if existing is not None:
                _merge_into_existing(session, existing, priority=priority, sla_due_at=sla_due_at,
                                     severity=severity, title=title, actor=actor)
                return existing

        now = utcnow()
        wo = WorkOrder(
            number=_next_number(session), kind=kind, status=status, priority=priority,
            region_id=merchant_obj.region_id, merchant_id=merchant_obj.id,
            terminal_id=terminal_obj.id if terminal_obj else None,
            title=title[:200], description=description, severity=severity,
            sla_due_at=sla_due_at, required_skills=list(required_skills),
            predicted_parts=[dict(p) for p in predicted_parts], service_minutes=service_minutes,
            optional=optional, window_start_at=window_start_at, window_end_at=window_end_at,
            checklist=list(checklist or []), created_by_user_id=actor_fields(actor)[0],
            created_at=now, updated_at=now,
        )
        session.add(wo)
        session.flush()
        ev = _event(wo, "created", actor=actor, from_status="", to_status=status,
                    data={"number": wo.number, "kind": kind, "priority": priority})
        session.add(ev)
        session.flush()
        signals.work_order_changed.send(wo, session=session, event=ev, actor=actor)
        return wo


def _merge_into_existing(session: Session, wo: WorkOrder, *, priority: str,
                         sla_due_at: datetime | None, severity: str, title: str,
                         actor) -> WorkOrderEvent:
    changes: dict[str, Any] = {}
    if PRIORITY_RANK.get(priority, 9) < PRIORITY_RANK.get(wo.priority, 9):
        changes["priority"] = [wo.priority, priority]
        wo.priority = priority
    if sla_due_at is not None and (wo.sla_due_at is None or sla_due_at < wo.sla_due_at):
        changes["sla_due_at"] = [wo.sla_due_at.isoformat() if wo.sla_due_at else None,
                                 sla_due_at.isoformat()]
        wo.sla_due_at = sla_due_at
    sev_rank = {"down": 0, "degraded": 1, "cosmetic": 2}
    if sev_rank.get(severity, 9) < sev_rank.get(wo.severity, 9):
        changes["severity"] = [wo.severity, severity]
        wo.severity = severity
    if changes:
        wo.updated_at = utcnow()
        wo.version += 1
        session.add(wo)
    note = "Another report for this terminal joined this open work order"
    if title:
        note += f": {title}"
    say = (said("event_note", "report_joined_title", title={"msgid": title}) if title
           else said("event_note", "report_joined"))
    ev = _event(wo, "duplicate_merged", actor=actor, from_status=wo.status,
                to_status=wo.status, note=note, data={"changes": changes, **say})
    session.add(ev)
    session.flush()
    return ev


# --- the state machine ----------------------------------------------------------------

def _event_for_client_action(session: Session, client_action_id: str) -> WorkOrderEvent | None:
    return session.exec(
        select(WorkOrderEvent).where(WorkOrderEvent.client_action_id == client_action_id)
    ).first()


def _replay(work_order: WorkOrder, earlier: WorkOrderEvent, to_status: str) -> WorkOrderEvent:
    if earlier.work_order_id != work_order.id:
        raise Conflict(_l("this client_action_id was already used for another work order"),
                       field="client_action_id")
    if earlier.to_status != to_status:
        raise Conflict(_l("this client_action_id was already used to move to %(status)s",
                          status=status_word(earlier.to_status)), field="client_action_id")
    return earlier


def transition(
    session: Session,
    work_order: WorkOrder,
    to_status: str,
    *,
    actor: User | str | None = None,
    note: str = "",
    data: dict | None = None,
    client_action_id: str | None = None,
    commit: bool = True,
) -> WorkOrderEvent:
    """Move a work order to `to_status`, or raise Conflict saying why not.

    Writes the WorkOrderEvent, sends `work_order_changed` (receivers add rows to the
    same transaction, they must not commit), then commits (or only flushes when
    commit=False, for callers that group several changes in one unit of work; a lost
    race of two replays then propagates, and the caller's unit decides).
    A `client_action_id` already applied returns the earlier event unchanged: phones
    replay queued taps safely."""
    to_status = str(to_status)
    if client_action_id is not None:
        client_action_id = str(client_action_id)
        if not 1 <= len(client_action_id) <= 64:
            raise InvalidInput(_l("must be 1 to 64 characters"), field="client_action_id")
        earlier = _event_for_client_action(session, client_action_id)
        if earlier is not None:
            return _replay(work_order, earlier, to_status)

    try:
        with unit_of_work(session, commit):
            return _apply_transition(session, work_order, to_status, actor=actor, note=note,
                                     data=data, client_action_id=client_action_id)
    except IntegrityError:
        if not commit:
            raise  # the caller's unit rolls back and decides (a phone action replays)
        earlier = _race_winner(session, work_order, to_status, client_action_id)
        if earlier is None:
            raise
        return earlier


def _apply_transition(session: Session, work_order: WorkOrder, to_status: str, *, actor,
                      note: str, data: dict | None, client_action_id: str | None
                      ) -> WorkOrderEvent:
    _lock_row(session, work_order)
    if client_action_id is not None:
        earlier = _event_for_client_action(session, client_action_id)
        if earlier is not None:
            return _replay(work_order, earlier, to_status)
    from_status = work_order.status
    reason = refusal_reason(from_status, to_status)
    if reason is not None:
        raise Conflict(reason, field="status")

    now = utcnow()
    work_order.status = to_status
    work_order.updated_at = now
    work_order.version += 1
    if to_status == S.COMPLETED:
        work_order.completed_at = now
    elif from_status == S.COMPLETED:  # pragma: no cover - completed is final today
        work_order.completed_at = None
    session.add(work_order)
    ev = _event(work_order, "transition", actor=actor, from_status=from_status,
                to_status=to_status, note=note, data=data, client_action_id=client_action_id)
    session.add(ev)
    session.flush()
    signals.work_order_changed.send(work_order, session=session, event=ev, actor=actor)
    return ev


def _race_winner(session: Session, work_order: WorkOrder, to_status: str,
                 client_action_id: str | None) -> WorkOrderEvent | None:
    """Two replays of the same phone action raced and this one lost (its unit rolled
    back): the winner's event, answered as a replay; None if it was no such race."""
    if client_action_id is None:
        return None
    earlier = _event_for_client_action(session, client_action_id)
    if earlier is None:
        return None
    session.refresh(work_order)
    return _replay(work_order, earlier, to_status)


def change_status(session: Session, work_order_id: int, to_status: str, *,
                  permit: Callable[[WorkOrder], None], actor: User | str | None = None,
                  note: str = "", client_action_id: str | None = None
                  ) -> tuple[WorkOrder, WorkOrderEvent]:
    """A status change a person asks for (the work-order page, the API), as one unit of
    work: the work order is read, and `permit(work_order)` (who may move it where)
    checked, under the write lock, then `transition`."""
    work_order: WorkOrder | None = None
    try:
        with unit_of_work(session):
            work_order = get_work_order(session, work_order_id)
            permit(work_order)
            return work_order, transition(session, work_order, to_status, actor=actor, note=note,
                                          client_action_id=client_action_id, commit=False)
    except IntegrityError:
        earlier = (_race_winner(session, work_order, str(to_status), client_action_id)
                   if work_order is not None else None)
        if earlier is None:
            raise
        return work_order, earlier


def add_note(
    session: Session,
    work_order: WorkOrder,
    text: str,
    *,
    actor: User | str | None = None,
    data: dict | None = None,
    commit: bool = True,
) -> WorkOrderEvent:
    """A note on the timeline (no status change, no signal)."""
    text = (text or "").strip()
    if not text and not data:
        raise InvalidInput(_l("a note needs text"), field="text")
    if len(text) > 4000:
        raise InvalidInput(_l("must be at most %(n)s characters", n=4000), field="text")
    with unit_of_work(session, commit):
        ev = _event(work_order, "note", actor=actor, from_status=work_order.status,
                    to_status=work_order.status, note=text, data=data)
        session.add(ev)
    return ev


def timeline(session: Session, work_order_id: int) -> list[WorkOrderEvent]:
    return list(session.exec(
        select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == work_order_id)
        .order_by(WorkOrderEvent.at, WorkOrderEvent.id)
    ).all())


def get_work_order(session: Session, work_order_id: int) -> WorkOrder:
    wo = session.get(WorkOrder, work_order_id) if 0 < work_order_id <= MAX_ID else None
    if wo is None:
        raise NotFound(_l("no work order %(id)s", id=work_order_id), field="id")
    return wo


# --- lists ----------------------------------------------------------------------------

AT_RISK_WITHIN_HOURS = 2


def work_order_query(
    *,
    status: str | None = None,
    region_id: int | None = None,
    priority: str | None = None,
    kind: str | None = None,
    at_risk: bool = False,
    q: str | None = None,
    now: datetime | None = None,
):
    """A select() of work orders for the list page and the API, newest first.
    status "open" means any open status; at_risk means open and overdue or due within
    two hours."""
    from datetime import timedelta

    stmt = select(WorkOrder)
    open_values = [s.value for s in OPEN_WORK_ORDER_STATUSES]
    if status == "open":
        stmt = stmt.where(WorkOrder.status.in_(open_values))
    elif status:
        stmt = stmt.where(WorkOrder.status == status)
    if region_id is not None:
        stmt = stmt.where(WorkOrder.region_id == region_id)
    if priority:
        stmt = stmt.where(WorkOrder.priority == priority)
    if kind:
        stmt = stmt.where(WorkOrder.kind == kind)
    if at_risk:
        limit = (now or utcnow()) + timedelta(hours=AT_RISK_WITHIN_HOURS)
        stmt = stmt.where(WorkOrder.status.in_(open_values), WorkOrder.sla_due_at.is_not(None),
                          WorkOrder.sla_due_at <= limit)
    q = (q or "").replace("\x00", "").strip()
    if q:
        from sqlalchemy import or_

        from core.search import contains

        merchants = select(Merchant.id).where(contains(Merchant.name, q))
        terminals = select(Terminal.id).where(contains(Terminal.serial, q))
        stmt = stmt.where(or_(contains(WorkOrder.number, q),
                              contains(WorkOrder.title, q),
                              WorkOrder.merchant_id.in_(merchants),
                              WorkOrder.terminal_id.in_(terminals)))
    if at_risk:
        return stmt.order_by(WorkOrder.sla_due_at, WorkOrder.id)
    return stmt.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
