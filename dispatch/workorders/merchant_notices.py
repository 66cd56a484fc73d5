"""Merchant SMS for work-order changes: one outbox row per merchant per event, in the
merchant's locale, added to the state machine's transaction (work_order_changed is
sent before the commit; we never commit here).

- created (a repair or backup swap, e.g. escalated)   -> fault_received
- dispatched (a published plan)                         -> technician_assigned with the window
- en_route                                              -> technician_on_the_way, fresh estimate
- completed                                             -> visit_done_report (the signed link
                                                           to the service report, and the
                                                           1-5 score); visit_done without a URL

Idempotency keys are f"wo:{id}:{event}:{version}": a replayed signal for the same
version adds nothing, a later re-dispatch (new version, new window) is a new notice.
A number the outbox refuses (not E.164) does not block the work order: the refusal is
written on its timeline for the dispatcher instead."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, select

from core.errors import InvalidInput
from core.models import Region
from core.timeutil import utcnow
from dispatch.models import Merchant, Technician, Visit, WorkOrder, WorkOrderKind, WorkOrderStatus
from dispatch.signals import work_order_changed
from dispatch.words import said
from notifications.outbox import enqueue_sms
from notifications.sms_templates import format_time, window_context

log = logging.getLogger("fixroute.dispatch.notices")

# when no travel estimate is known, "on the way" promises this
DEFAULT_ETA_MINUTES = 30
NOTICE_KINDS = {WorkOrderKind.REPAIR, WorkOrderKind.INSTALL, WorkOrderKind.BACKUP_SWAP,
                WorkOrderKind.PREVENTIVE, WorkOrderKind.RETRIEVAL}


def _visit_for(session: Session, wo: WorkOrder, event) -> Visit | None:
    visit_id = (event.data or {}).get("visit_id") if event is not None else None
    if visit_id:
        visit = session.get(Visit, visit_id)
        if visit is not None and visit.work_order_id == wo.id:
            return visit
    return session.exec(
        select(Visit).where(Visit.work_order_id == wo.id).order_by(Visit.id.desc())
    ).first()


def _fresh_eta(value, now: datetime) -> datetime | None:
    """An ISO estimate given with the transition (tech page), if it is sane."""
    if not isinstance(value, str):
        return None
    try:
        eta = datetime.fromisoformat(value)
    except ValueError:
        return None
    if eta.tzinfo is None or not now - timedelta(minutes=5) <= eta <= now + timedelta(hours=12):
        return None
    return eta


def notice_for(session: Session, wo: WorkOrder, event) -> tuple[str, dict, bool] | None:
    """(template, context, urgent) for this change, or None when merchants are not told."""
    action, to_status = event.action, event.to_status
    merchant = session.get(Merchant, wo.merchant_id)
    region = session.get(Region, wo.region_id)
    tz = region.timezone if region else "UTC"
    if action == "created":
        if wo.kind not in (WorkOrderKind.REPAIR, WorkOrderKind.BACKUP_SWAP):
            return None  # preventive work is announced by its day-before reminder
        return "fault_received", {"ref": wo.number}, True
    if action != "transition":
        return None
    if to_status == WorkOrderStatus.DISPATCHED:
        visit = _visit_for(session, wo, event)
        start = (visit.window_start or visit.planned_arrival) if visit else None
        end = visit.window_end if visit else None
        start = start or wo.window_start_at
        end = end or wo.window_end_at
        if start is None:
            return None  # no time promised yet: nothing to tell
        if end is None or end <= start:
            end = start + timedelta(hours=1)
        tech = session.get(Technician, visit.technician_id) if visit else None
        ctx = {"ref": wo.number, "technician": tech.name if tech else "-",
               **window_context(start, end, tz, merchant.locale)}
        if visit is not None and visit.notified_window_start is None:
            visit.notified_window_start, visit.notified_window_end = start, end
            session.add(visit)
        # published the evening before is fine to wait for the morning
        return "technician_assigned", ctx, False
    if to_status == WorkOrderStatus.EN_ROUTE:
        visit = _visit_for(session, wo, event)
        now = utcnow()
        fresh = _fresh_eta((event.data or {}).get("eta"), now)
        if fresh is not None:  # the technician's phone estimated it on leaving
            eta = fresh
        elif visit is not None and visit.travel_seconds:
            eta = now + timedelta(seconds=visit.travel_seconds)
        elif visit is not None and visit.planned_arrival and visit.planned_arrival > now:
            eta = visit.planned_arrival
        else:
            eta = now + timedelta(minutes=DEFAULT_ETA_MINUTES)
        tech = session.get(Technician, visit.technician_id) if visit else None
        return "technician_on_the_way", {"ref": wo.number, "technician": tech.name if tech else "-",
                                         "eta": format_time(eta, tz)}, True
    if to_status == WorkOrderStatus.COMPLETED:
        from dispatch.field.service_report import report_link

        link = report_link(wo)  # the signed, expiring link to the service report
        if link:
            return "visit_done_report", {"ref": wo.number, "link": link}, True
        return "visit_done", {"ref": wo.number}, True
    return None


def _event_name(template: str) -> str:
    return {"fault_received": "received", "technician_assigned": "assigned",
            "technician_on_the_way": "en_route", "visit_done": "done",
            "visit_done_report": "done"}[template]


@work_order_changed.connect
def notify_merchant(wo: WorkOrder, *, session: Session, event=None, actor=None, **_kw) -> None:
    if event is None or wo.kind not in NOTICE_KINDS:
        return
    notice = notice_for(session, wo, event)
    if notice is None:
        return
    template, context, urgent = notice
    merchant = session.get(Merchant, wo.merchant_id)
    region = session.get(Region, wo.region_id)
    if merchant is None:
        return
    key = f"wo:{wo.id}:{_event_name(template)}:{wo.version}"
    try:
        row = enqueue_sms(session, key=key, to=merchant.phone, template=template, locale=merchant.locale,
                    context=context, urgent=urgent,
                    region_tz=region.timezone if region else None,
                    quiet_hours=(region.quiet_start_hour, region.quiet_end_hour) if region else None)
        if merchant.sms_opt_out and row is not None and row.status == "pending":
            # opted out on the merchant record (e.g. by phone): kept, visible, not sent
            row.status = "suppressed"
            row.error_message = "merchant opted out of SMS"
            session.add(row)
    except InvalidInput as exc:  # the log and the timeline keep English
        log.warning("work order %s: SMS %s not queued: %s", wo.number, template, exc.message_en)
        from dispatch.workorders.service import add_note

        add_note(session, wo, f"SMS '{template}' to the merchant was not queued: {exc.message_en}",
                 actor="sms", commit=False,
                 data={"sms_error": exc.fields_en,
                       **said("event_note", "sms_not_queued",
                              template={"kind": "sms_template", "code": template})})
