"""The backup-terminal switch: a merchant whose terminal is down, and whose repair
will take a while, gets a loaner from the depot's pool until the repair is done.

    ""/eligible --offer--> offered --YES / dispatcher--> accepted (+ loaner reserved)
    offered --NO--> declined            accepted --deliver--> delivered --swap back--> returned
    eligible/offered/accepted --cancel--> cancelled (the loaner goes back to the pool)

`WorkOrder.backup_status` holds the step, `WorkOrder.loaner_terminal_id` the reserved
or delivered loaner. A loaner is reserved while an open work order with backup status
'accepted' points at it; it travels with the repair visit (planning reserves it when
the plan is published, see dispatch.planning.service). On delivery the loaner becomes the
merchant's active terminal (status 'loaned', merchant set, replaces_terminal_id the
faulty unit) and the faulty unit goes to repair (status 'in_repair', at the loaner's
depot); the swap-back puts the repaired unit back and the loaner into the pool.

Every step writes a WorkOrderEvent (the work order's timeline) and, for terminals,
an audit event. The merchant's offer and confirmation go through the SMS outbox.
Each function validates, writes and commits once (commit=False joins the caller's
transaction, for signal receivers)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import and_, false, or_
from sqlmodel import Session, select

from core.audit import actor_fields, record_audit
from core.db import is_sqlite, unit_of_work
from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import lazy_word
from core.models import MAX_ID
from core.timeutil import utcnow
from dispatch import signals
from dispatch.models import (
    OPEN_WORK_ORDER_STATUSES,
    Merchant,
    Plan,
    Terminal,
    TerminalModel,
    TerminalStatus,
    Visit,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderKind,
    WorkOrderStatus,
)
from dispatch.words import said
from dispatch.workorders.service import _event, _lock_row, status_word

DEFAULT_THRESHOLD_HOURS = 4
DEFAULT_ALWAYS_TIERS = ("platinum",)
OPEN = tuple(s.value for s in OPEN_WORK_ORDER_STATUSES)
# the same words dispatch.merchant_replies leaves to us
YES_WORDS = frozenset({"YES", "Y", "是"})
NO_WORDS = frozenset({"NO", "N", "否"})
BACKUP_STATUSES = ("", "eligible", "offered", "accepted", "declined", "delivered", "returned",
                   "cancelled")


def threshold_hours() -> float:
    """Hours until restoration above which a down terminal gets a backup
    (FIXROUTE_BACKUP_THRESHOLD_HOURS, default 4)."""
    raw = None
    if has_app_context():
        raw = current_app.config.get("BACKUP_THRESHOLD_HOURS")
    raw = raw if raw is not None else os.environ.get("FIXROUTE_BACKUP_THRESHOLD_HOURS")
    try:
        return float(raw) if raw not in (None, "") else DEFAULT_THRESHOLD_HOURS
    except ValueError:
        return DEFAULT_THRESHOLD_HOURS


def always_tiers() -> tuple[str, ...]:
    """Merchant tiers that always get a backup when down (FIXROUTE_BACKUP_ALWAYS_TIERS,
    comma separated, default platinum)."""
    raw = current_app.config.get("BACKUP_ALWAYS_TIERS") if has_app_context() else None
    raw = raw if raw is not None else os.environ.get("FIXROUTE_BACKUP_ALWAYS_TIERS")
    if raw is None:
        return DEFAULT_ALWAYS_TIERS
    if isinstance(raw, str):
        raw = raw.split(",")
    return tuple(t.strip() for t in raw if t.strip())


# ---------------------------------------------------------------------------------
# reading


def expected_restoration(session: Session, wo: WorkOrder) -> datetime | None:
    """When the terminal should work again: the end of the repair visit in the latest
    draft or published plan, else the SLA deadline, else unknown."""
    row = session.exec(
        select(Visit.planned_end).join(Plan, Plan.id == Visit.plan_id)
        .where(Visit.work_order_id == wo.id, Plan.status.in_(("draft", "published")),
               Visit.planned_end.is_not(None))
        .order_by(Plan.status.desc(), Visit.planned_end.desc())  # published before draft
    ).first()
    return row or wo.sla_due_at


@dataclass
class Eligibility:
    eligible: bool
    reason: str  # English, for the API and the timeline
    restoration: datetime | None = None
    code: str = ""  # for the page's translated text
    hours: float | None = None


def eligibility(session: Session, wo: WorkOrder, *, now: datetime | None = None,
                threshold: float | None = None, tiers: tuple[str, ...] | None = None) -> Eligibility:
    """Whether this work order should get a backup terminal, and why (or why not)."""
    now = now or utcnow()
    threshold = threshold_hours() if threshold is None else threshold
    tiers = always_tiers() if tiers is None else tiers
    if wo.kind != WorkOrderKind.REPAIR:
        return Eligibility(False, "only repairs get a backup terminal", code="not_repair")
    if wo.status not in OPEN:
        return Eligibility(False, f"the work order is {wo.status}", code="closed")
    if wo.terminal_id is None:
        return Eligibility(False, "the work order names no terminal", code="no_terminal")
    terminal = session.get(Terminal, wo.terminal_id)
    if terminal is None or terminal.is_loaner:
        return Eligibility(False, "the terminal is itself a loaner", code="is_loaner")
    if wo.severity != "down":
        return Eligibility(False, "the terminal still works (not down)", code="not_down")
    merchant = session.get(Merchant, wo.merchant_id)
    restoration = expected_restoration(session, wo)
    if merchant is not None and merchant.sla_tier in tiers:
        return Eligibility(True, f"{merchant.sla_tier} merchants always get a backup", restoration,
                           code="tier")
    if restoration is None:
        return Eligibility(True, "no restoration time known yet", restoration, code="unknown")
    hours = (restoration - now).total_seconds() / 3600
    if hours < 0:  # the repair is late: nobody can say when it will work again
        return Eligibility(True, f"restoration overdue by {-hours:.1f} h", restoration,
                           code="overdue", hours=-hours)
    if hours > threshold:
        return Eligibility(True, f"restoration expected in {hours:.1f} h (over {threshold:g} h)",
                           restoration, code="over", hours=hours)
    return Eligibility(False, f"restoration expected in {hours:.1f} h (within {threshold:g} h)",
                       restoration, code="within", hours=hours)


def compatible_models(session: Session, model: TerminalModel) -> list[TerminalModel]:
    """The model itself first, then models that can stand in: same form factor, every
    connection the original has, and a printer if the original has one."""
    out = [model]
    for m in session.exec(select(TerminalModel).order_by(TerminalModel.code)).all():
        if m.id == model.id:
            continue
        if (m.form_factor == model.form_factor
                and set(model.connectivity or []) <= set(m.connectivity or [])
                and (m.has_printer or not model.has_printer)):
            out.append(m)
    return out


def reserved_loaner_ids(session: Session, exclude_work_order_id: int | None = None) -> set[int]:
    stmt = select(WorkOrder.loaner_terminal_id).where(
        WorkOrder.backup_status == "accepted", WorkOrder.loaner_terminal_id.is_not(None))
    if exclude_work_order_id is not None:
        stmt = stmt.where(WorkOrder.id != exclude_work_order_id)
    return set(session.exec(stmt).all())


def _depots_of_region(session: Session, region_id: int) -> list[int]:
    from core.models import Depot

    return list(session.exec(select(Depot.id).where(Depot.region_id == region_id)
                             .order_by(Depot.id)).all())


def candidate_loaners(session: Session, wo: WorkOrder) -> list[Terminal]:
    """Free pool loaners that fit the work order's terminal, best first: same model,
    then a compatible model; the region's depots before others."""
    terminal = session.get(Terminal, wo.terminal_id) if wo.terminal_id else None
    if terminal is None:
        return []
    model = session.get(TerminalModel, terminal.model_id)
    order = {m.id: i for i, m in enumerate(compatible_models(session, model))}
    taken = reserved_loaner_ids(session, exclude_work_order_id=wo.id)
    depots = _depots_of_region(session, wo.region_id)
    pool = session.exec(select(Terminal).where(Terminal.is_loaner.is_(True),
                                               Terminal.status == TerminalStatus.POOL,
                                               Terminal.model_id.in_(list(order)))).all()
    free = [t for t in pool if t.id not in taken]
    return sorted(free, key=lambda t: (t.depot_id not in depots, order[t.model_id], t.serial))


# ---------------------------------------------------------------------------------
# writing helpers


def _load(session: Session, wo_or_id) -> WorkOrder:
    if isinstance(wo_or_id, WorkOrder):
        return wo_or_id
    ok = isinstance(wo_or_id, int) and 0 < wo_or_id <= MAX_ID
    wo = session.get(WorkOrder, wo_or_id) if ok else None
    if wo is None:
        raise NotFound(_l("no work order %(id)s", id=wo_or_id), field="id")
    return wo


def _step(session: Session, wo: WorkOrder, action: str, actor, *, note: str = "",
          data: dict | None = None) -> None:
    wo.updated_at = utcnow()
    session.add(wo)
    session.add(_event(wo, action, actor=actor, from_status=wo.status, to_status=wo.status,
                       note=note, data={"backup_status": wo.backup_status, **(data or {})}))


def _audit_terminal(session: Session, terminal: Terminal, action: str, actor, **data) -> None:
    actor_id, label = actor_fields(actor)
    record_audit(session, "terminal", terminal.id, action, actor_user_id=actor_id,
                 actor_label=label, serial=terminal.serial, status=terminal.status,
                 **data)


@contextmanager
def _unit(session: Session, wo: WorkOrder, commit: bool) -> Iterator[None]:
    """A step's unit of work (commit=False: part of the caller's), the work order locked."""
    with unit_of_work(session, commit):
        _lock_row(session, wo)
        yield


def _backup_status_words() -> dict[str, str]:
    return {
        "": pgettext("backup status", "none"),
        "eligible": pgettext("backup status", "eligible"),
        "offered": pgettext("backup status", "offered"),
        "accepted": pgettext("backup status", "accepted"),
        "declined": pgettext("backup status", "declined"),
        "delivered": pgettext("backup status", "delivered"),
        "returned": pgettext("backup status", "returned"),
        "cancelled": pgettext("backup status", "cancelled"),
    }


def _terminal_status_words() -> dict[str, str]:
    return {
        TerminalStatus.INSTALLED: pgettext("terminal status", "installed"),
        TerminalStatus.POOL: pgettext("terminal status", "pool"),
        TerminalStatus.LOANED: pgettext("terminal status", "loaned"),
        TerminalStatus.IN_REPAIR: pgettext("terminal status", "in_repair"),
        TerminalStatus.RETIRED: pgettext("terminal status", "retired"),
    }


def _terminal_status(status: str):
    return lazy_word(_terminal_status_words, status)


# Why a backup step is refused, per step (the `doing` of _require).
_REFUSED = {
    "offer": lambda s: _l("cannot offer a backup: the backup status is %(status)s", status=s),
    "accept": lambda s: _l("cannot accept a backup: the backup status is %(status)s", status=s),
    "reserve": lambda s: _l("cannot reserve a loaner: the backup status is %(status)s", status=s),
    "decline": lambda s: _l("cannot decline a backup: the backup status is %(status)s", status=s),
    "cancel": lambda s: _l("cannot cancel the backup: the backup status is %(status)s", status=s),
    "deliver": lambda s: _l("cannot deliver the loaner: the backup status is %(status)s", status=s),
    "swap_back": lambda s: _l("cannot swap back: the backup status is %(status)s", status=s),
}


def _require(wo: WorkOrder, allowed: tuple[str, ...], doing: str) -> None:
    if wo.backup_status not in allowed:
        status = lazy_word(_backup_status_words, wo.backup_status or "")
        raise Conflict(_REFUSED[doing](status), field="backup_status")


def send_backup_offer(session: Session, wo: WorkOrder, merchant: Merchant, *, attempt: int):
    """The merchant's SMS offer (reply YES or NO), through the outbox; no commit."""
    from notifications.outbox import enqueue_sms

    return enqueue_sms(session, key=f"backup-offer:{wo.number}:{attempt}", to=merchant.phone,
                       template="backup_offer", locale=merchant.locale,
                       context={"ref": wo.number}, urgent=True)


def send_backup_confirmation(session: Session, wo: WorkOrder, merchant: Merchant):
    from notifications.outbox import enqueue_sms

    return enqueue_sms(session, key=f"backup-confirmed:{wo.number}", to=merchant.phone,
                       template="backup_confirmed", locale=merchant.locale,
                       context={"ref": wo.number}, urgent=True)


# ---------------------------------------------------------------------------------
# the steps


def evaluate(session: Session, wo_or_id, actor=None, *, now: datetime | None = None,
             commit: bool = True) -> Eligibility:
    """Mark an eligible work order 'eligible' (the dispatcher sees it on the backup
    page); for the merchant tiers that always get one, offer it at once (the rule)."""
    wo = _load(session, wo_or_id)
    result = eligibility(session, wo, now=now)
    if not result.eligible or wo.backup_status not in ("",):
        return result
    with _unit(session, wo, commit):
        if wo.backup_status != "":
            return result
        wo.backup_status = "eligible"
        _step(session, wo, "backup_eligible", actor, note=result.reason,
              data=said("backup_eligibility", result.code,
                        **({"h": round(result.hours, 1)} if result.hours is not None else {})))
        merchant = session.get(Merchant, wo.merchant_id)
        if merchant is not None and merchant.sla_tier in always_tiers():
            _offer(session, wo, actor or "rule")
    return result


def _offer(session: Session, wo: WorkOrder, actor) -> None:
    merchant = session.get(Merchant, wo.merchant_id)
    attempt = 1 + len(session.exec(select(WorkOrderEvent.id).where(
        WorkOrderEvent.work_order_id == wo.id, WorkOrderEvent.action == "backup_offered")).all())
    wo.backup_status = "offered"
    message = send_backup_offer(session, wo, merchant, attempt=attempt)
    _step(session, wo, "backup_offered", actor,
          data={"sms_id": getattr(message, "id", None), "attempt": attempt})


def offer(session: Session, wo_or_id, actor=None, *, commit: bool = True) -> WorkOrder:
    """The dispatcher offers a backup terminal: the merchant gets an SMS (YES / NO)."""
    wo = _load(session, wo_or_id)
    with _unit(session, wo, commit):
        _require(wo, ("", "eligible", "declined", "cancelled"), "offer")
        if wo.status not in OPEN:
            raise Conflict(_l("the work order is %(status)s", status=status_word(wo.status)),
                           field="status")
        if wo.terminal_id is None or wo.kind != WorkOrderKind.REPAIR:
            raise Conflict(_l("only a repair of a named terminal can get a backup"),
                           field="terminal_id")
        _offer(session, wo, actor)
    return wo


def _check_loaner(session: Session, wo: WorkOrder, loaner_id: int) -> Terminal:
    if not 0 < loaner_id <= MAX_ID:
        raise InvalidInput(_l("is not a loaner terminal"), field="loaner_terminal_id")
    stmt = select(Terminal).where(Terminal.id == loaner_id)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    loaner = session.exec(stmt).first()
    if loaner is None or not loaner.is_loaner:
        raise InvalidInput(_l("is not a loaner terminal"), field="loaner_terminal_id")
    if loaner.status != TerminalStatus.POOL:
        raise Conflict(_l("loaner %(serial)s is %(status)s, not in the pool", serial=loaner.serial,
                          status=_terminal_status(loaner.status)), field="loaner_terminal_id")
    if loaner.id in reserved_loaner_ids(session, exclude_work_order_id=wo.id):
        raise Conflict(_l("loaner %(serial)s is reserved for another work order",
                          serial=loaner.serial), field="loaner_terminal_id")
    terminal = session.get(Terminal, wo.terminal_id)
    model = session.get(TerminalModel, terminal.model_id)
    if loaner.model_id not in {m.id for m in compatible_models(session, model)}:
        raise InvalidInput(_l("loaner %(serial)s is not a model that can stand in for "
                              "%(model)s", serial=loaner.serial, model=model.code),
                           field="loaner_terminal_id", code="wrong_model")
    return loaner


def _reserve(session: Session, wo: WorkOrder, actor, loaner_id: int | None) -> Terminal:
    if loaner_id is not None:
        loaner = _check_loaner(session, wo, loaner_id)
    else:
        candidates = candidate_loaners(session, wo)
        if not candidates:
            raise Conflict(_l("no compatible loaner is free in the pool"),
                           field="loaner_terminal_id",
                           code="no_loaner")
        loaner = _check_loaner(session, wo, candidates[0].id)
    wo.loaner_terminal_id = loaner.id
    _step(session, wo, "backup_loaner_reserved", actor,
          data={"loaner_terminal_id": loaner.id, "loaner_serial": loaner.serial})
    _audit_terminal(session, loaner, "loaner_reserved", actor, work_order_id=wo.id)
    return loaner


def accept(session: Session, wo_or_id, actor=None, *, via: str = "dispatcher",
           loaner_terminal_id: int | None = None, commit: bool = True) -> WorkOrder:
    """The merchant said YES (by SMS, or to the dispatcher): a compatible loaner is
    reserved when one is free (else the dispatcher picks one later) and the merchant
    gets a confirmation."""
    wo = _load(session, wo_or_id)
    with _unit(session, wo, commit):
        allowed = ("offered",) if via == "sms" else ("", "eligible", "offered", "declined")
        _require(wo, allowed, "accept")
        if wo.status not in OPEN or wo.terminal_id is None:
            raise Conflict(_l("only an open repair of a named terminal can get a backup"),
                           field="status")
        wo.backup_status = "accepted"
        wo.loaner_terminal_id = None
        _step(session, wo, "backup_accepted", actor, data={"via": via})
        try:
            with session.begin_nested():
                _reserve(session, wo, actor, loaner_terminal_id)
        except Conflict as exc:
            if loaner_terminal_id is not None:
                raise
            _step(session, wo, "note", actor,
                  note=f"backup accepted, no loaner yet: {exc.message_en}",
                  data=said("event_note", "backup_no_loaner_yet"))
        send_backup_confirmation(session, wo, session.get(Merchant, wo.merchant_id))
    return wo


def reserve_loaner(session: Session, wo_or_id, actor=None, *,
                   loaner_terminal_id: int | None = None, commit: bool = True) -> Terminal:
    """Reserve (or change) the loaner of an accepted backup; Conflict if none is free,
    InvalidInput for a terminal that is not a loaner or a model that cannot stand in."""
    wo = _load(session, wo_or_id)
    with _unit(session, wo, commit):
        _require(wo, ("accepted",), "reserve")
        previous = wo.loaner_terminal_id
        loaner = _reserve(session, wo, actor, loaner_terminal_id)
        if previous and previous != loaner.id:
            _audit_terminal(session, session.get(Terminal, previous), "loaner_unreserved", actor,
                            work_order_id=wo.id)
    return loaner


def decline(session: Session, wo_or_id, actor=None, *, via: str = "dispatcher",
            commit: bool = True) -> WorkOrder:
    """The merchant said NO."""
    wo = _load(session, wo_or_id)
    with _unit(session, wo, commit):
        _require(wo, ("offered",), "decline")
        wo.backup_status = "declined"
        _step(session, wo, "backup_declined", actor, data={"via": via})
    return wo


def cancel(session: Session, wo_or_id, actor=None, *, note: str = "",
           commit: bool = True, note_code: str = "") -> WorkOrder:
    """Call the backup off before delivery (repaired quickly, work order cancelled):
    a reserved loaner is free again."""
    wo = _load(session, wo_or_id)
    with _unit(session, wo, commit):
        _require(wo, ("eligible", "offered", "accepted"), "cancel")
        loaner_id = wo.loaner_terminal_id
        wo.backup_status = "cancelled"
        wo.loaner_terminal_id = None
        _step(session, wo, "backup_cancelled", actor, note=note,
              data={"loaner_terminal_id": loaner_id,
                    **(said("event_note", note_code) if note_code else {})})
        if loaner_id:
            _audit_terminal(session, session.get(Terminal, loaner_id), "loaner_unreserved", actor,
                            work_order_id=wo.id)
    return wo


def deliver(session: Session, wo_or_id, actor=None, *, commit: bool = True) -> Terminal:
    """The loaner is installed at the merchant and the faulty unit taken for repair."""
    wo = _load(session, wo_or_id)
    with _unit(session, wo, commit):
        _require(wo, ("accepted",), "deliver")
        if wo.loaner_terminal_id is None:
            raise Conflict(_l("no loaner is reserved for this work order"),
                           field="loaner_terminal_id")
        loaner = session.get(Terminal, wo.loaner_terminal_id)
        faulty = session.get(Terminal, wo.terminal_id)
        if loaner.status != TerminalStatus.POOL:
            raise Conflict(_l("loaner %(serial)s is %(status)s", serial=loaner.serial,
                              status=_terminal_status(loaner.status)), field="loaner_terminal_id")
        now = utcnow()
        loaner.status = TerminalStatus.LOANED
        loaner.merchant_id = wo.merchant_id
        loaner.replaces_terminal_id = faulty.id
        loaner.installed_at = now
        faulty.status = TerminalStatus.IN_REPAIR
        faulty.depot_id = loaner.depot_id  # the loaner's depot repairs it
        session.add(loaner)
        session.add(faulty)
        wo.backup_status = "delivered"
        _step(session, wo, "backup_delivered", actor,
              data={"loaner_serial": loaner.serial, "faulty_serial": faulty.serial})
        _audit_terminal(session, loaner, "loaner_delivered", actor, work_order_id=wo.id,
                        merchant_id=wo.merchant_id, replaces_terminal_id=faulty.id)
        _audit_terminal(session, faulty, "taken_for_repair", actor, work_order_id=wo.id,
                        depot_id=faulty.depot_id)
    return loaner


def swap_back(session: Session, wo_or_id, actor=None, *, commit: bool = True) -> Terminal:
    """The repaired unit is reinstalled and the loaner goes back to its depot's pool."""
    wo = _load(session, wo_or_id)
    with _unit(session, wo, commit):
        _require(wo, ("delivered",), "swap_back")
        loaner = session.get(Terminal, wo.loaner_terminal_id) if wo.loaner_terminal_id else None
        if loaner is None or loaner.status != TerminalStatus.LOANED:
            raise Conflict(_l("the loaner is not out at the merchant"), field="loaner_terminal_id")
        repaired = session.get(Terminal, loaner.replaces_terminal_id or wo.terminal_id)
        # installed: the technician left the merchant's unit on site (delivered without
        # taking it); the swap-back then only collects the loaner
        if repaired.status not in (TerminalStatus.IN_REPAIR, TerminalStatus.INSTALLED):
            raise Conflict(_l("terminal %(serial)s is %(status)s, not in repair",
                              serial=repaired.serial, status=_terminal_status(repaired.status)),
                           field="terminal_id")
        loaner.status = TerminalStatus.POOL
        loaner.merchant_id = None
        loaner.replaces_terminal_id = None
        loaner.installed_at = None
        repaired.status = TerminalStatus.INSTALLED
        repaired.merchant_id = wo.merchant_id
        repaired.depot_id = None
        repaired.installed_at = utcnow()
        session.add(loaner)
        session.add(repaired)
        wo.backup_status = "returned"
        _step(session, wo, "backup_returned", actor,
              data={"loaner_serial": loaner.serial, "repaired_serial": repaired.serial})
        _audit_terminal(session, loaner, "loaner_returned", actor, work_order_id=wo.id,
                        depot_id=loaner.depot_id)
        _audit_terminal(session, repaired, "reinstalled", actor, work_order_id=wo.id,
                        merchant_id=wo.merchant_id)
    return loaner


# ---------------------------------------------------------------------------------
# the pool


@dataclass
class PoolRow:
    terminal: Terminal
    model: TerminalModel
    where: str  # pool, reserved, loaned, in_repair, retired
    work_order: WorkOrder | None
    merchant: Merchant | None
    replaces: Terminal | None


def pool(session: Session, *, depot_id: int | None = None) -> list[PoolRow]:
    """Every loaner and where it is: in the pool, reserved for a work order (travels
    with the visit), at a merchant (standing in for which unit), or elsewhere."""
    stmt = select(Terminal).where(Terminal.is_loaner.is_(True))
    if depot_id is not None:
        stmt = stmt.where(Terminal.depot_id == depot_id)
    loaners = session.exec(stmt.order_by(Terminal.depot_id, Terminal.serial)).all()
    by_loaner: dict[int, WorkOrder] = {}
    for wo in session.exec(select(WorkOrder).where(
            WorkOrder.loaner_terminal_id.is_not(None),
            WorkOrder.backup_status.in_(("accepted", "delivered"))).order_by(WorkOrder.id)).all():
        by_loaner[wo.loaner_terminal_id] = wo
    models = {m.id: m for m in session.exec(select(TerminalModel)).all()}
    out = []
    for t in loaners:
        wo = by_loaner.get(t.id)
        where = t.status
        if t.status == TerminalStatus.POOL and wo is not None and wo.backup_status == "accepted":
            where = "reserved"
        merchant = session.get(Merchant, t.merchant_id) if t.merchant_id else None
        replaces = session.get(Terminal, t.replaces_terminal_id) if t.replaces_terminal_id else None
        out.append(PoolRow(t, models[t.model_id], where, wo, merchant, replaces))
    return out


def backup_work_orders(session: Session, statuses=("eligible", "offered", "accepted",
                                                   "declined", "delivered")) -> list[WorkOrder]:
    """The backup steps a dispatcher follows: a delivered loaner until it is swapped
    back, whatever the work order's state; every other step only while the work order
    is open (a closed one needs no backup any more)."""
    outstanding = [s for s in statuses if s == "delivered"]
    pending = [s for s in statuses if s != "delivered"]
    return list(session.exec(select(WorkOrder).where(or_(
        WorkOrder.backup_status.in_(outstanding) if outstanding else false(),
        and_(WorkOrder.backup_status.in_(pending), WorkOrder.status.in_(OPEN)),
    )).order_by(WorkOrder.updated_at.desc())).all())


def down_without_backup(session: Session, *, now: datetime | None = None,
                        limit: int = 100) -> list[tuple[WorkOrder, Eligibility]]:
    """Open repairs of down terminals with no backup step yet, with the advice."""
    rows = session.exec(select(WorkOrder).where(
        WorkOrder.severity == "down", WorkOrder.kind == WorkOrderKind.REPAIR,
        WorkOrder.status.in_(OPEN), WorkOrder.backup_status == "")
        .order_by(WorkOrder.created_at).limit(limit)).all()
    return [(wo, eligibility(session, wo, now=now)) for wo in rows]


# ---------------------------------------------------------------------------------
# reacting to work-order changes and merchant replies


def _on_work_order_changed(work_order: WorkOrder, *, session: Session, event, actor=None,
                           **_kw) -> None:
    """Rule: a down terminal's repair that becomes ready is evaluated for a backup;
    a cancelled work order frees its reserved loaner; a completed one whose loaner was
    reserved but not handed over by the technician delivers it."""
    to_status = getattr(event, "to_status", "")
    if to_status == WorkOrderStatus.READY and work_order.backup_status == "":
        evaluate(session, work_order, actor, commit=False)
    elif to_status == WorkOrderStatus.CANCELLED and work_order.backup_status in (
            "eligible", "offered", "accepted"):
        cancel(session, work_order, actor, note="work order cancelled", commit=False,
               note_code="work_order_cancelled")
    elif to_status == WorkOrderStatus.COMPLETED and work_order.backup_status in (
            "eligible", "offered") and work_order.loaner_terminal_id is None:
        # repaired before any loaner was handed over: the offer is moot
        cancel(session, work_order, actor, note="work order completed", commit=False,
               note_code="work_order_completed")


def _merchant_offer(session: Session, phone: str) -> WorkOrder | None:
    merchant_ids = session.exec(select(Merchant.id).where(Merchant.phone == phone)).all()
    if not merchant_ids:
        return None
    return session.exec(select(WorkOrder).where(
        WorkOrder.merchant_id.in_(list(merchant_ids)), WorkOrder.backup_status == "offered",
        WorkOrder.status.in_(OPEN)).order_by(WorkOrder.updated_at.desc(), WorkOrder.id.desc())
    ).first()


def handle_reply(phone: str, *, session: Session, message, keyword: str = "", **_kw) -> None:
    """YES / NO from a merchant with an offered backup (notifications.signals.inbound_reply).
    Joins the inbound message's transaction; does not commit."""
    if getattr(message, "handled_as", ""):
        return
    word = (keyword or "").strip().upper()
    if word not in YES_WORDS and word not in NO_WORDS:
        return
    wo = _merchant_offer(session, phone)
    if wo is None:
        return
    if word in YES_WORDS:
        accept(session, wo, f"sms:{phone}", via="sms", commit=False)
        message.handled_as = "backup_yes"
    else:
        decline(session, wo, f"sms:{phone}", via="sms", commit=False)
        message.handled_as = "backup_no"


def connect_signals() -> None:
    from notifications.signals import inbound_reply

    signals.work_order_changed.connect(_on_work_order_changed)
    inbound_reply.connect(handle_reply)
