"""Fault intake and remote triage: the service agent's side of every job.

A fault is recorded against a merchant (and usually one terminal), the agent walks
the category's remote checklist recording each step's outcome, and the fault is
either closed as resolved remotely (it stays in the history) or escalated into a work
order whose SLA, skills, parts and service time come from the category and the SLA
policy."""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import or_
from sqlmodel import Session, select

from core.audit import record_audit
from core.db import is_sqlite, unit_of_work
from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import lazy_word, msgid
from core.models import MAX_ID, Region, User
from core.search import contains
from core.timeutil import region_timezone, utcnow
from dispatch.desk.catalog import CATEGORIES, TRIAGE_OUTCOMES, TRIAGE_STEPS, FaultCategory
from dispatch.models import (
    FaultReport,
    Merchant,
    Terminal,
    TriageStep,
    WorkOrder,
    WorkOrderKind,
)
from dispatch.words import keep_description_as_data
from dispatch.workorders.service import PRIORITIES, create_work_order
from dispatch.workorders.sla import priority_for, sla_due_at

CHANNELS = ("phone", "sms", "web", "email")
FAULT_STATUSES = ("open", "resolved_remotely", "escalated")


def _actor(actor: User | None) -> tuple[int | None, str]:
    return (actor.id, actor.username) if actor is not None else (None, "")


def search_merchants(session: Session, q: str, limit: int = 20) -> list[Merchant]:
    """Merchants whose name, code or phone matches, or who have a terminal with that serial."""
    q = (q or "").strip()
    if not q:
        return []
    conds = [contains(Merchant.name, q), contains(Merchant.code, q)]
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 4:
        conds.append(contains(Merchant.phone, digits, case_sensitive=True))
    by_serial = select(Terminal.merchant_id).where(contains(Terminal.serial, q),
                                                   Terminal.merchant_id.is_not(None))
    conds.append(Merchant.id.in_(by_serial))
    return list(session.exec(select(Merchant).where(or_(*conds))
                             .order_by(Merchant.name, Merchant.id).limit(limit)).all())


def category_of(fault: FaultReport) -> FaultCategory:
    try:
        return CATEGORIES[fault.category]
    except KeyError:
        raise InvalidInput(_l("unknown fault category"), field="category") from None


def get_fault(session: Session, fault_id: int) -> FaultReport:
    fault = session.get(FaultReport, fault_id) if 0 < fault_id <= MAX_ID else None
    if fault is None:
        raise NotFound(_l("no fault %(id)s", id=fault_id), field="id")
    return fault


def record_fault(session: Session, *, photos: Sequence[tuple[bytes, str]] = (),
                 upload_dir: str, actor: User | None = None, **fields: Any) -> FaultReport:
    """A fault recorded at the desk with the photos taken while recording it, in one
    unit of work: the fault and its photos are stored together or not at all.
    `fields` are `create_fault`'s (merchant, terminal, category, symptoms, ...)."""
    from dispatch.workorders.attachments import store_attachment

    with unit_of_work(session):
        fault = create_fault(session, actor=actor, commit=False, **fields)
        for data, filename in photos:
            store_attachment(session, data=data, filename=filename, upload_dir=upload_dir,
                             actor=actor, fault=fault, commit=False)
    return fault


def create_fault(
    session: Session,
    *,
    merchant: Merchant | int,
    terminal: Terminal | int | None = None,
    category: str,
    symptoms: str = "",
    error_code: str = "",
    channel: str = "phone",
    actor: User | None = None,
    reported_at: datetime | None = None,
    commit: bool = True,
) -> FaultReport:
    """Record a merchant's fault report (status open), audited, as one unit of work. With
    commit=False the caller adds to the same unit (the images taken with the report)."""
    if category not in CATEGORIES:
        raise InvalidInput(_l("unknown fault category"), field="category")
    if channel not in CHANNELS:
        raise InvalidInput(_l("must be one of %(choices)s", choices=", ".join(CHANNELS)),
                           field="channel")
    if len(symptoms) > 4000:
        raise InvalidInput(_l("must be at most %(n)s characters", n=4000), field="symptoms")
    if len(error_code) > 64:
        raise InvalidInput(_l("must be at most %(n)s characters", n=64), field="error_code")
    with unit_of_work(session, commit):
        m = merchant if isinstance(merchant, Merchant) else session.get(Merchant, merchant)
        if m is None:
            raise NotFound(_l("no merchant %(id)s", id=merchant), field="merchant_id")
        t = None
        if terminal is not None:
            t = terminal if isinstance(terminal, Terminal) else session.get(Terminal, terminal)
            if t is None:
                raise NotFound(_l("no terminal %(id)s", id=terminal), field="terminal_id")
            if t.merchant_id != m.id:
                raise InvalidInput(_l("this terminal is not at this merchant"), field="terminal_id")
        user_id, label = _actor(actor)
        fault = FaultReport(merchant_id=m.id, terminal_id=t.id if t else None, category=category,
                            symptoms=symptoms.strip(), error_code=error_code.strip(), channel=channel,
                            status="open", reported_by_user_id=user_id,
                            created_at=reported_at or utcnow())
        session.add(fault)
        session.flush()
        record_audit(session, "fault", fault.id, "created", user_id, label, category=category,
                     merchant_id=m.id, terminal_id=fault.terminal_id, channel=channel)
    return fault


def open_related(session: Session, merchant_id: int, terminal_id: int | None = None
                 ) -> dict[str, list]:
    """Faults in triage and open work orders of the merchant (or of the terminal): an
    agent about to record a new fault should look at them first, it is often the same
    problem called in twice."""
    from dispatch.models import OPEN_WORK_ORDER_STATUSES

    faults = session.exec(select(FaultReport).where(
        FaultReport.merchant_id == merchant_id, FaultReport.status == "open")
        .order_by(FaultReport.created_at.desc())).all()
    wos = session.exec(select(WorkOrder).where(
        WorkOrder.merchant_id == merchant_id,
        WorkOrder.status.in_([s.value for s in OPEN_WORK_ORDER_STATUSES]))
        .order_by(WorkOrder.created_at.desc())).all()
    if terminal_id is not None:  # the terminal's own first, then the merchant's others
        faults = sorted(faults, key=lambda f: f.terminal_id != terminal_id)
        wos = sorted(wos, key=lambda w: w.terminal_id != terminal_id)
    return {"faults": list(faults), "work_orders": list(wos)}


def _fault_status_words() -> dict[str, str]:
    return {"open": pgettext("fault status", "open"),
            "resolved_remotely": pgettext("fault status", "resolved remotely"),
            "escalated": pgettext("fault status", "escalated")}


def _lock_open_fault(session: Session, fault: FaultReport) -> None:
    """Inside the caller's unit of work: re-read the fault under the lock; it must be open."""
    session.refresh(fault, with_for_update=not is_sqlite(session))
    if fault.status != "open":
        raise Conflict(_l("the fault is already %(status)s",
                          status=lazy_word(_fault_status_words, fault.status)), field="status")


def record_triage(
    session: Session,
    fault: FaultReport,
    steps: list[tuple[str, str, str]],
    *,
    actor: User | None = None,
) -> list[TriageStep]:
    """Record the outcome of checklist steps: [(step_code, outcome, note), ...].
    A step recorded again keeps both rows; the latest is its current outcome."""
    if not steps:
        raise InvalidInput(_l("record at least one step"), field="steps")
    for i, (code, outcome, note) in enumerate(steps):
        if code not in TRIAGE_STEPS:
            raise InvalidInput(_l("unknown checklist step"), field=f"steps[{i}].step")
        if outcome not in TRIAGE_OUTCOMES:
            raise InvalidInput(_l("must be one of %(choices)s",
                                  choices=", ".join(TRIAGE_OUTCOMES)),
                               field=f"steps[{i}].outcome")
        if len(note or "") > 2000:
            raise InvalidInput(_l("must be at most %(n)s characters", n=2000),
                               field=f"steps[{i}].note")
    with unit_of_work(session):
        _lock_open_fault(session, fault)
        user_id, label = _actor(actor)
        now = utcnow()
        rows = []
        for code, outcome, note in steps:
            row = TriageStep(fault_id=fault.id, step_code=code, outcome=outcome, note=(note or "").strip(),
                             recorded_by_user_id=user_id, recorded_at=now)
            session.add(row)
            rows.append(row)
        session.flush()
        record_audit(session, "fault", fault.id, "triage", user_id, label,
                     steps=[[c, o] for c, o, _n in steps])
    return rows


def triage_results(session: Session, fault_id: int) -> dict[str, TriageStep]:
    """The latest outcome per checklist step."""
    rows = session.exec(select(TriageStep).where(TriageStep.fault_id == fault_id)
                        .order_by(TriageStep.recorded_at, TriageStep.id)).all()
    return {r.step_code: r for r in rows}


def checklist_for(fault: FaultReport) -> list[str]:
    """The category's remote checklist (plus any other step already recorded)."""
    return list(category_of(fault).checklist)


REOPEN_DAYS = 3  # a fault closed by phone that comes back within this many days is reopened


def resolve_remotely(session: Session, fault: FaultReport, note: str = "", *,
                     actor: User | None = None) -> FaultReport:
    """Close the fault as fixed over the phone; it stays in the history.

    Someone must be able to say later what fixed it: the agent's words, or a checklist
    step recorded as having fixed it. A bare close is refused."""
    note = (note or "").strip()
    if len(note) > 4000:
        raise InvalidInput(_l("must be at most %(n)s characters", n=4000), field="note")
    with unit_of_work(session):
        _lock_open_fault(session, fault)
        fixed_by = [code for code, r in triage_results(session, fault.id).items()
                    if r.outcome == "fixed"]
        if not note and not fixed_by:
            raise InvalidInput(_l("say what fixed it, or record the checklist step that did"),
                               field="note")
        fault.status = "resolved_remotely"
        fault.resolution_note = note
        fault.closed_at = utcnow()
        session.add(fault)
        user_id, label = _actor(actor)
        record_audit(session, "fault", fault.id, "resolved_remotely", user_id, label, note=note,
                     fixed_by=fixed_by)
    return fault


def may_reopen(fault: FaultReport, now: datetime | None = None) -> bool:
    if fault.status != "resolved_remotely" or fault.closed_at is None:
        return False
    return (now or utcnow()) - fault.closed_at <= timedelta(days=REOPEN_DAYS)


def reopen(session: Session, fault: FaultReport, reason: str, *, actor: User | None = None,
           now: datetime | None = None) -> FaultReport:
    """The merchant calls back: the remote fix did not hold. Within REOPEN_DAYS the same
    fault goes back to triage (its history and the earlier resolution stay in the audit);
    later, it is a new fault."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_l("say why the fault is reopened"), field="reason")
    if len(reason) > 2000:
        raise InvalidInput(_l("must be at most %(n)s characters", n=2000), field="reason")
    with unit_of_work(session):
        session.refresh(fault, with_for_update=not is_sqlite(session))
        if fault.status != "resolved_remotely":
            raise Conflict(_l("only a fault resolved remotely can be reopened"), field="status")
        if not may_reopen(fault, now):
            raise Conflict(_l("resolved more than %(n)s days ago: record a new fault", n=REOPEN_DAYS),
                           field="status")
        previous = fault.resolution_note
        fault.status = "open"
        fault.closed_at = None
        fault.resolution_note = ""
        session.add(fault)
        user_id, label = _actor(actor)
        record_audit(session, "fault", fault.id, "reopened", user_id, label, reason=reason,
                     previous_resolution=previous)
    return fault


def escalation_plan(session: Session, fault: FaultReport, now: datetime | None = None,
                    priority: str | None = None) -> dict:
    """What escalating would create: severity, priority, SLA due time, skills, parts,
    service minutes (shown to the agent before they confirm)."""
    cat = category_of(fault)
    merchant = session.get(Merchant, fault.merchant_id)
    region = session.get(Region, merchant.region_id)
    reported = fault.created_at or now or utcnow()
    due = sla_due_at(reported, tier=merchant.sla_tier, severity=cat.severity,
                     tz_name=region_timezone(region), merchant=merchant)
    return {
        "severity": cat.severity,
        "priority": priority or priority_for(merchant.sla_tier, cat.severity),
        "sla_due_at": due,
        "required_skills": list(cat.skills),
        "predicted_parts": [{"kind": p, "qty": 1} for p in cat.parts],
        "service_minutes": cat.service_minutes,
        "title": msgid(cat.name),
    }


def _description(session: Session, fault: FaultReport) -> str:
    lines = []
    if fault.symptoms:
        lines.append(fault.symptoms)
    if fault.error_code:
        lines.append(f"Error code: {fault.error_code}")
    results = triage_results(session, fault.id)
    if results:
        lines.append("Remote checks: " + ", ".join(
            f"{code}={row.outcome}" for code, row in results.items()))
    return "\n".join(lines)


def _description_data(session: Session, fault: FaultReport, note: str) -> dict:
    """The description's parts as codes (the page says them in the reader's language)."""
    return {"symptoms": fault.symptoms, "error_code": fault.error_code,
            "checks": [[code, row.outcome] for code, row in triage_results(session, fault.id).items()],
            "note": note.strip()}


def escalate(session: Session, fault: FaultReport, *, actor: User | None = None,
             priority: str | None = None, note: str = "", kind: str = WorkOrderKind.REPAIR
             ) -> WorkOrder:
    """Turn an open fault into a work order (or join the terminal's open repair)."""
    if priority is not None and priority not in PRIORITIES:
        raise InvalidInput(_l("must be one of %(choices)s", choices=", ".join(PRIORITIES)),
                           field="priority")
    if kind not in (WorkOrderKind.REPAIR, WorkOrderKind.BACKUP_SWAP):
        raise InvalidInput(_l("a fault escalates to a repair or a backup swap"), field="kind")
    if len(note) > 4000:
        raise InvalidInput(_l("must be at most %(n)s characters", n=4000), field="note")
    with unit_of_work(session):
        _lock_open_fault(session, fault)
        plan = escalation_plan(session, fault, priority=priority)
        description = _description(session, fault)
        if note.strip():
            description += ("\n" if description else "") + note.strip()
        fault.status = "escalated"
        fault.closed_at = utcnow()
        session.add(fault)
        session.flush()  # our writes: create_work_order joins this transaction
        wo = create_work_order(
            session, merchant=fault.merchant_id, terminal=fault.terminal_id, kind=kind,
            priority=plan["priority"], severity=plan["severity"],
            required_skills=plan["required_skills"], predicted_parts=plan["predicted_parts"],
            service_minutes=plan["service_minutes"], sla_due_at=plan["sla_due_at"],
            title=plan["title"], description=description, actor=actor, status="ready",
            commit=False)
        if wo.description == description:  # new, not the terminal's open repair it joined
            keep_description_as_data(session, wo, **_description_data(session, fault, note))
        fault.work_order_id = wo.id
        session.add(fault)
        # earlier attachments of the fault go with the work order
        from dispatch.models import Attachment

        for att in session.exec(select(Attachment).where(Attachment.fault_id == fault.id,
                                                         Attachment.work_order_id.is_(None))):
            att.work_order_id = wo.id
            session.add(att)
        user_id, label = _actor(actor)
        record_audit(session, "fault", fault.id, "escalated", user_id, label,
                     work_order_id=wo.id, number=wo.number)
    return wo


def faults_for_work_order(session: Session, work_order_id: int) -> list[FaultReport]:
    return list(session.exec(select(FaultReport).where(FaultReport.work_order_id == work_order_id)
                             .order_by(FaultReport.created_at)).all())
