"""The service report of a work order: what was done (resolution, checklist), the parts
used with their serials (from the stock ledger, the record of what left the van), the
photos, the merchant's sign-off and the times on site. Shown on the work order, as a
printable page, and to the merchant through a signed, expiring link in the completion
SMS, without an account.

The link carries only the work order's id, signed with the app's secret key
(itsdangerous) under a salt of its own, so a link made for anything else, or changed by
one character, does not verify; it is refused once older than `LINK_MAX_AGE`."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

from flask import current_app, has_app_context, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session, select

from core.errors import Expired, NotFound
from core.models import MAX_ID, Region
from core.timeutil import region_timezone, to_local
from dispatch.field.signoff import signature_data_url, signoff_view
from dispatch.models import (
    Attachment,
    FaultReport,
    Merchant,
    Plan,
    Signoff,
    SurveyResponse,
    Technician,
    Terminal,
    TerminalModel,
    Visit,
    WorkOrder,
    WorkOrderEvent,
)
from inventory.models import Part, StockMove

LINK_MAX_AGE = timedelta(days=30)
REPORT_PATH = "/r/"  # the public page's route (report_views.public_report)
_SALT = "fixroute.service-report.v1"


class ReportLinkInvalid(NotFound):
    """A report link that was not made here, or was changed."""


class ReportLinkExpired(Expired):
    """A report link older than LINK_MAX_AGE."""

    code = "gone"


# ---------------------------------------------------------------- the signed link


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def report_token(wo: WorkOrder) -> str:
    return _serializer().dumps(wo.id)  # short: the SMS carries it


def work_order_for_token(session: Session, token: str, *, now: float | None = None) -> WorkOrder:
    """The work order a link names; ReportLinkInvalid for a changed or foreign token,
    ReportLinkExpired once it is older than LINK_MAX_AGE."""
    try:
        payload, signed_at = _serializer().loads(token, return_timestamp=True)
    except BadSignature:
        raise ReportLinkInvalid(_l("this report link is not valid")) from None
    if not isinstance(payload, int) or isinstance(payload, bool):
        raise ReportLinkInvalid(_l("this report link is not valid"))
    age = (now if now is not None else time.time()) - signed_at.timestamp()
    if age > LINK_MAX_AGE.total_seconds():
        raise ReportLinkExpired(_l("this report link has expired: ask us for a new one"))
    wo = session.get(WorkOrder, payload) if 0 < payload <= MAX_ID else None
    if wo is None:
        raise ReportLinkInvalid(_l("this report link is not valid"))
    return wo


def report_link(wo: WorkOrder) -> str | None:
    """The absolute link for the SMS: PUBLIC_BASE_URL when set, else the address the
    current request came to; None outside a request without a public URL."""
    if not has_app_context():
        return None  # a script without the app: the SMS goes without the link
    settings = current_app.config.get("FIXROUTE")
    token = report_token(wo)
    base = getattr(settings, "public_base_url", None)
    if base:  # also from the scheduler or a worker, where there is no request
        return f"{base.rstrip('/')}{REPORT_PATH}{token}"
    if has_request_context():
        return url_for("service_report.public_report", token=token, _external=True)
    return None


# ---------------------------------------------------------------- the report


def _tz(session: Session, region_id: int) -> str:
    region = session.get(Region, region_id)
    return region_timezone(region)


def _local(value: datetime | None, tz: str) -> str:
    local = to_local(value, tz) if value else None
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def completed_visit(session: Session, wo: WorkOrder) -> Visit | None:
    """The visit that completed the work order (else the latest with times on site)."""
    event = session.exec(
        select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == wo.id,
                                     WorkOrderEvent.to_status == "completed",
                                     WorkOrderEvent.action == "transition")
        .order_by(WorkOrderEvent.id.desc())).first()
    visit_id = (event.data or {}).get("visit_id") if event else None
    if visit_id:
        visit = session.get(Visit, visit_id)
        if visit is not None:
            return visit
    return session.exec(
        select(Visit).join(Plan, Plan.id == Visit.plan_id)
        .where(Visit.work_order_id == wo.id, Visit.actual_arrival.is_not(None))
        .order_by(Visit.actual_arrival.desc(), Visit.id.desc())).first()


def parts_used(session: Session, work_order_id: int) -> list[dict]:
    """Parts taken out of stock for this work order, per part, with serials."""
    rows = session.exec(
        select(StockMove, Part).join(Part, Part.id == StockMove.part_id)
        .where(StockMove.work_order_id == work_order_id, StockMove.kind == "consume")
        .order_by(StockMove.id)).all()
    out: dict[int, dict] = {}
    for move, part in rows:
        item = out.setdefault(part.id, {"part_id": part.id, "sku": part.sku, "name": part.name,
                                        "name_zh": part.name_zh, "qty": 0, "serials": []})
        item["qty"] += -move.on_hand_delta
        if move.serial:
            item["serials"].append(move.serial)
    return [p for p in out.values() if p["qty"] > 0]


def rating_of(session: Session, work_order_id: int) -> SurveyResponse | None:
    return session.exec(select(SurveyResponse).where(SurveyResponse.work_order_id == work_order_id)
                        .order_by(SurveyResponse.id.desc())).first()


def service_report(session: Session, wo: WorkOrder) -> dict:
    """Everything the report shows, for the pages and the API."""
    from dispatch.field.service import RESOLUTION_CODES

    tz = _tz(session, wo.region_id)
    merchant = session.get(Merchant, wo.merchant_id)
    terminal = session.get(Terminal, wo.terminal_id) if wo.terminal_id else None
    model = session.get(TerminalModel, terminal.model_id) if terminal else None
    loaner = session.get(Terminal, wo.loaner_terminal_id) if wo.loaner_terminal_id else None
    visit = completed_visit(session, wo)
    tech = session.get(Technician, visit.technician_id) if visit else None
    on_site_minutes = None
    if visit and visit.actual_arrival and visit.actual_end:
        on_site_minutes = max(0, int((visit.actual_end - visit.actual_arrival).total_seconds() // 60))
    fault_ids = select(FaultReport.id).where(FaultReport.work_order_id == wo.id)
    from sqlalchemy import or_

    photos = list(session.exec(select(Attachment).where(
        or_(Attachment.work_order_id == wo.id, Attachment.fault_id.in_(fault_ids)))
        .order_by(Attachment.uploaded_at, Attachment.id)).all())
    signoff = session.exec(select(Signoff).where(Signoff.work_order_id == wo.id)).first()
    rating = rating_of(session, wo.id)
    return {
        "work_order": {"id": wo.id, "number": wo.number, "kind": wo.kind, "status": wo.status,
                       "title": wo.title},
        "completed": wo.status == "completed",
        "merchant": {"name": merchant.name if merchant else "",
                     "address": merchant.address if merchant else ""},
        "terminal": ({"serial": terminal.serial,
                      "model": f"{model.vendor} {model.name}" if model else ""} if terminal else None),
        "loaner_serial": loaner.serial if loaner else None,
        "technician": tech.name if tech else "",
        "resolution_code": wo.resolution_code,
        "resolution_label": str(RESOLUTION_CODES.get(wo.resolution_code, wo.resolution_code))
        if wo.resolution_code else "",
        "resolution_note": wo.resolution_note,
        "checklist_done": [c for c in (wo.checklist or []) if isinstance(c, dict) and c.get("done")],
        "times": {
            "departure": _local(visit.actual_departure, tz) if visit else "",
            "arrival": _local(visit.actual_arrival, tz) if visit else "",
            "end": _local(visit.actual_end, tz) if visit else "",
            "on_site_minutes": on_site_minutes,
            "timezone": tz,
        },
        "parts": parts_used(session, wo.id),
        "photos": [{"id": a.id, "filename": a.filename, "content_type": a.content_type}
                   for a in photos],
        "signoff": signoff_view(signoff),
        "signature": signature_data_url(signoff),
        "rating": rating.score if rating else None,
    }


def photo_of_report(session: Session, wo: WorkOrder, attachment_id: int) -> Attachment:
    """A photo shown in this work order's report, and no other file."""
    att = session.get(Attachment, attachment_id) if 0 < attachment_id <= MAX_ID else None
    if att is None:
        raise ReportLinkInvalid(_l("no such photo in this report"))
    if att.work_order_id != wo.id:
        fault = session.get(FaultReport, att.fault_id) if att.fault_id else None
        if fault is None or fault.work_order_id != wo.id:
            raise ReportLinkInvalid(_l("no such photo in this report"))
    return att


def signoff_for(session: Session, wo: WorkOrder) -> Signoff | None:
    return session.exec(select(Signoff).where(Signoff.work_order_id == wo.id)).first()


__all__ = [
    "LINK_MAX_AGE",
    "ReportLinkExpired",
    "ReportLinkInvalid",
    "completed_visit",
    "parts_used",
    "photo_of_report",
    "rating_of",
    "report_link",
    "report_token",
    "service_report",
    "signoff_for",
    "work_order_for_token",
]
