"""The scheduler's jobs as plain functions of (session, now).

Each takes the clock as an argument (tests walk months of time by calling them with
successive `now`s) and is idempotent: running it twice for the same `now` changes
nothing the second time (unique occurrences, a flag that flips once, an audit row
per warning, an outbox idempotency key per reminder)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from core.audit import record_audit
from core.db import end_transaction, unit_of_work
from core.models import AuditEvent, Region
from dispatch.models import (
    OPEN_WORK_ORDER_STATUSES,
    Merchant,
    Plan,
    Visit,
    WorkOrder,
    WorkOrderKind,
)
from dispatch.words import said
from dispatch.workorders.service import add_note
from maintenance.generation import ACTOR, escalate_closing_windows, generate_due
from maintenance.models import PMOccurrence
from notifications.models import OutboundMessage

log = logging.getLogger("fixroute.scheduler")

HORIZON_DAYS = 14
SLA_WARN_MINUTES = 90


def _check_clock(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("the job clock must be an aware datetime")


def preventive_generation(session: Session, now: datetime, horizon_days: int = HORIZON_DAYS) -> dict:
    """Nightly: occurrences due within the horizon become work; closing windows escalate."""
    _check_clock(now)
    stats = generate_due(session, now, horizon_days)
    escalated = escalate_closing_windows(session, now)
    result = {**stats.as_dict(), "escalated": escalated}
    log.info("preventive generation at %s: %s", now.isoformat(), result)
    return result


def outbox_sweep(session: Session, now: datetime, settings=None) -> dict:
    """Send the SMS outbox's due rows (notifications.sender.drain_outbox)."""
    _check_clock(now)
    try:
        from notifications.sender import drain_with_settings
    except ImportError:  # pragma: no cover - the sender ships with notifications
        log.info("outbox sweep skipped: notifications.sender is not available")
        return {"skipped": True}
    if settings is None:
        from core.settings import load_settings

        settings = load_settings()
    end_transaction(session)  # the drain works in sessions of its own
    if getattr(settings, "redis_url", None):  # many machines: the SMS workers send
        from dispatch.planning.queues import request_outbox_drain

        return {"enqueued": request_outbox_drain(settings.redis_url, settings.database_url)}
    engine = session.get_bind()
    report = drain_with_settings(engine, settings, 200, now=now)
    return report.as_dict()


def sla_watch(session: Session, now: datetime, warn_minutes: int = SLA_WARN_MINUTES) -> int:
    """Warn dispatchers once per work order and deadline when an open work order's SLA
    ends within `warn_minutes` (or has already passed unnoticed): an audit row
    ('sla_warning', the dispatcher's list) and a note on the work order's timeline."""
    _check_clock(now)
    with unit_of_work(session):
        open_statuses = [s.value for s in OPEN_WORK_ORDER_STATUSES]
        rows = session.exec(
            select(WorkOrder).where(WorkOrder.status.in_(open_statuses),
                                    WorkOrder.sla_due_at.is_not(None),
                                    WorkOrder.sla_due_at <= now + timedelta(minutes=warn_minutes))
            .order_by(WorkOrder.sla_due_at, WorkOrder.id)
        ).all()
        if not rows:
            return 0
        keys = {_sla_key(wo) for wo in rows}
        done = set(session.exec(select(AuditEvent.entity_id).where(
            AuditEvent.entity == "work_order_sla", AuditEvent.action == "sla_warning",
            AuditEvent.entity_id.in_(keys))).all())
        warned = 0
        for wo in rows:
            key = _sla_key(wo)
            if key in done:
                continue
            minutes_left = int((wo.sla_due_at - now).total_seconds() // 60)
            missed = minutes_left < 0
            record_audit(session, "work_order_sla", key, "sla_warning", actor_label=ACTOR,
                         work_order_id=wo.id, number=wo.number, region_id=wo.region_id,
                         sla_due_at=wo.sla_due_at.isoformat(), minutes_left=minutes_left,
                         missed=missed)
            text = ("SLA deadline passed while the work order is still open" if missed
                    else f"SLA deadline in {minutes_left} min and the work order is still open")
            add_note(session, wo, text, actor=ACTOR, commit=False,
                     data={"sla_warning": True, "sla_due_at": wo.sla_due_at.isoformat(),
                           "minutes_left": minutes_left,
                           **(said("event_note", "sla_passed") if missed
                              else said("event_note", "sla_soon", minutes=minutes_left))})
            done.add(key)
            warned += 1
    return warned


def _sla_key(wo: WorkOrder) -> str:
    return f"{wo.id}@{wo.sla_due_at.strftime('%Y%m%dT%H%M')}"


def sla_warnings(session: Session, since: datetime | None = None, limit: int = 100) -> list[AuditEvent]:
    """Recent SLA warnings, newest first (for the dispatcher's view)."""
    stmt = select(AuditEvent).where(AuditEvent.entity == "work_order_sla",
                                    AuditEvent.action == "sla_warning")
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    return list(session.exec(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)).all())


def pm_reminders(session: Session, now: datetime) -> int:
    """Day-before SMS for preventive visits planned tomorrow (local) in a published
    plan: one outbox row per work order and day (the idempotency key)."""
    _check_clock(now)
    try:
        from notifications.outbox import enqueue_sms
        from notifications.sms_templates import window_context
    except ImportError:  # pragma: no cover - the outbox ships with notifications
        log.info("preventive reminders skipped: notifications.outbox is not available")
        return 0
    end_transaction(session)  # a unit per reminder, each from a fresh read
    preventive_ids = select(PMOccurrence.work_order_id).where(PMOccurrence.work_order_id.is_not(None))
    open_statuses = [s.value for s in OPEN_WORK_ORDER_STATUSES]
    queued = 0
    for region in session.exec(select(Region).order_by(Region.id)).all():
        tz = ZoneInfo(region.timezone)
        tomorrow = now.astimezone(tz).date() + timedelta(days=1)
        rows = session.exec(
            select(Visit, WorkOrder, Merchant)
            .join(Plan, Plan.id == Visit.plan_id)
            .join(WorkOrder, WorkOrder.id == Visit.work_order_id)
            .join(Merchant, Merchant.id == WorkOrder.merchant_id)
            .where(Plan.region_id == region.id, Plan.day == tomorrow, Plan.status == "published",
                   Visit.status == "planned", WorkOrder.status.in_(open_statuses),
                   (WorkOrder.kind == WorkOrderKind.PREVENTIVE) | WorkOrder.id.in_(preventive_ids))
            .order_by(Visit.id)
        ).all()
        for visit, wo, merchant in rows:
            start = visit.window_start or visit.planned_start or visit.planned_arrival
            end = visit.window_end or visit.planned_end or start
            if start is None:
                continue
            key = f"pm-reminder:{wo.id}:{tomorrow.isoformat()}"
            if session.exec(select(OutboundMessage.id).where(
                    OutboundMessage.idempotency_key == key)).first() is not None:
                continue
            context = {**window_context(start, end, region.timezone, merchant.locale), "ref": wo.number}
            try:
                with unit_of_work(session):
                    enqueue_sms(session, key=key,
                                to=merchant.phone, template="pm_reminder", locale=merchant.locale,
                                context=context, urgent=False, region_tz=region.timezone,
                                quiet_hours=(region.quiet_start_hour, region.quiet_end_hour))
            except Exception as exc:  # a bad number must not stop the other reminders
                log.warning("reminder for %s not queued: %s", wo.number, exc)
                continue
            queued += 1
    return queued


# name -> (function, trigger kwargs for APScheduler)
JOBS = {
    "preventive_generation": (preventive_generation, {"trigger": "cron", "hour": 1, "minute": 15}),
    "outbox_sweep": (outbox_sweep, {"trigger": "interval", "seconds": 30}),
    "sla_watch": (sla_watch, {"trigger": "interval", "minutes": 5}),
    "pm_reminders": (pm_reminders, {"trigger": "cron", "hour": 17, "minute": 0}),
}
