"""JSON API for fault intake, remote triage and work orders (all in the OpenAPI document).

Thin: validate with pydantic, check who may do it, call dispatch.desk.service /
dispatch.workorders.service / dispatch.workorders.attachments, answer."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from core import openapi
from core.api import MAX_ID, Id, Strict, Text, api_v1, paginate, parse_body, read_page
from core.auth import STAFF, roles_required
from core.db import get_session
from core.errors import InvalidInput, NotAllowed
from core.models import Role
from dispatch.desk import service as fault_svc
from dispatch.desk.catalog import CATEGORIES, TRIAGE_OUTCOMES, TRIAGE_STEPS
from dispatch.field.service import require_technician_scope
from dispatch.models import Attachment, FaultReport, Terminal, Visit, WorkOrder
from dispatch.workorders import attachments as att_svc
from dispatch.workorders import service as wo_svc

TECH_STATUSES = ("en_route", "on_site", "completed", "needs_follow_up")


Category = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]
StepCode = Literal[tuple(TRIAGE_STEPS)]  # type: ignore[valid-type]
Outcome = Literal[TRIAGE_OUTCOMES]  # type: ignore[valid-type]
Channel = Literal[fault_svc.CHANNELS]  # type: ignore[valid-type]
Status = Literal[wo_svc.STATUSES]  # type: ignore[valid-type]
PriorityT = Literal[wo_svc.PRIORITIES]  # type: ignore[valid-type]


class FaultCreate(Strict):
    merchant_id: Id
    terminal_id: Id | None = None
    category: Category
    symptoms: Annotated[Text, Field(max_length=4000)] = ""
    error_code: Annotated[Text, Field(max_length=64)] = ""
    channel: Channel = "phone"


class ChecklistStepIn(Strict):
    step: StepCode
    outcome: Outcome
    note: Annotated[Text, Field(max_length=2000)] = ""


class ChecklistIn(Strict):
    steps: Annotated[list[ChecklistStepIn], Field(min_length=1, max_length=30)]


class ResolveIn(Strict):
    note: Annotated[Text, Field(max_length=4000)] = ""


class EscalateIn(Strict):
    priority: PriorityT | None = None
    kind: Literal["repair", "backup_swap"] = "repair"
    note: Annotated[Text, Field(max_length=4000)] = ""


class TransitionIn(Strict):
    to_status: Status
    note: Annotated[Text, Field(max_length=4000)] = ""
    client_action_id: Annotated[Text, Field(min_length=1, max_length=64)] | None = None


class NoteIn(Strict):
    text: Annotated[Text, Field(min_length=1, max_length=4000)]


class ChecklistStepOut(BaseModel):
    step: str
    label: str
    outcome: str | None
    note: str
    recorded_at: datetime | None


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    fault_id: int | None
    work_order_id: int | None
    url: str


class FaultOut(BaseModel):
    id: int
    merchant_id: int
    terminal_id: int | None
    category: str
    severity: str
    symptoms: str
    error_code: str
    channel: str
    status: str
    resolution_note: str
    work_order_id: int | None
    created_at: datetime
    closed_at: datetime | None
    checklist: list[ChecklistStepOut]
    attachments: list[AttachmentOut]


class WorkOrderOut(BaseModel):
    id: int
    number: str
    kind: str
    status: str
    priority: str
    severity: str
    region_id: int
    merchant_id: int
    terminal_id: int | None
    title: str
    description: str
    sla_due_at: datetime | None
    required_skills: list[str]
    predicted_parts: list[dict]
    service_minutes: int
    optional: bool
    window_start_at: datetime | None
    window_end_at: datetime | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    version: int
    allowed_next: list[str]


class WorkOrderPage(BaseModel):
    items: list[WorkOrderOut]
    page: int
    per_page: int
    total: int
    pages: int


class EventOut(BaseModel):
    id: int
    at: datetime
    action: str
    from_status: str
    to_status: str
    note: str
    actor_user_id: int | None
    actor_label: str
    data: dict
    client_action_id: str | None


class WorkOrderDetail(WorkOrderOut):
    events: list[EventOut]
    faults: list[int]
    attachments: list[AttachmentOut]


class MerchantOut(BaseModel):
    id: int
    code: str
    name: str
    phone: str
    address: str
    region_id: int
    sla_tier: str
    terminals: list[dict]


class MerchantPage(BaseModel):
    items: list[MerchantOut]


class CategoryOut(BaseModel):
    code: str
    group: str
    name: str
    severity: str
    checklist: list[str]
    skills: list[str]
    parts: list[str]
    service_minutes: int
    symptoms: list[str]


# --- serializers ----------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def attachment_dict(a: Attachment) -> dict:
    return {"id": a.id, "filename": a.filename, "content_type": a.content_type,
            "size_bytes": a.size_bytes, "sha256": a.sha256, "fault_id": a.fault_id,
            "work_order_id": a.work_order_id, "url": f"/attachments/{a.id}"}


def fault_dict(session: Session, f: FaultReport) -> dict:
    results = fault_svc.triage_results(session, f.id)
    steps = fault_svc.checklist_for(f)
    steps += [code for code in results if code not in steps]
    atts = session.exec(select(Attachment).where(Attachment.fault_id == f.id)
                        .order_by(Attachment.id)).all()
    return {
        "id": f.id, "merchant_id": f.merchant_id, "terminal_id": f.terminal_id,
        "category": f.category, "severity": CATEGORIES[f.category].severity
        if f.category in CATEGORIES else "", "symptoms": f.symptoms, "error_code": f.error_code,
        "channel": f.channel, "status": f.status, "resolution_note": f.resolution_note,
        "work_order_id": f.work_order_id, "created_at": _iso(f.created_at),
        "closed_at": _iso(f.closed_at),
        "checklist": [{"step": code, "label": str(TRIAGE_STEPS.get(code, code)),
                       "outcome": results[code].outcome if code in results else None,
                       "note": results[code].note if code in results else "",
                       "recorded_at": _iso(results[code].recorded_at) if code in results else None}
                      for code in steps],
        "attachments": [attachment_dict(a) for a in atts],
    }


def work_order_dict(wo: WorkOrder) -> dict:
    return {
        "id": wo.id, "number": wo.number, "kind": wo.kind, "status": wo.status,
        "priority": wo.priority, "severity": wo.severity, "region_id": wo.region_id,
        "merchant_id": wo.merchant_id, "terminal_id": wo.terminal_id, "title": wo.title,
        "description": wo.description, "sla_due_at": _iso(wo.sla_due_at),
        "required_skills": list(wo.required_skills or []),
        "predicted_parts": list(wo.predicted_parts or []),
        "service_minutes": wo.service_minutes, "optional": wo.optional,
        "window_start_at": _iso(wo.window_start_at), "window_end_at": _iso(wo.window_end_at),
        "created_at": _iso(wo.created_at), "updated_at": _iso(wo.updated_at),
        "completed_at": _iso(wo.completed_at), "version": wo.version,
        "allowed_next": wo_svc.allowed_next(wo.status),
    }


def event_dict(e) -> dict:
    return {"id": e.id, "at": _iso(e.at), "action": e.action, "from_status": e.from_status,
            "to_status": e.to_status, "note": e.note, "actor_user_id": e.actor_user_id,
            "actor_label": e.actor_label, "data": e.data or {},
            "client_action_id": e.client_action_id}


def work_order_detail_dict(session: Session, wo: WorkOrder) -> dict:
    out = work_order_dict(wo)
    out["events"] = [event_dict(e) for e in wo_svc.timeline(session, wo.id)]
    out["faults"] = [f.id for f in fault_svc.faults_for_work_order(session, wo.id)]
    out["attachments"] = [attachment_dict(a) for a in attachments_of_work_order(session, wo.id)]
    return out


def attachments_of_work_order(session: Session, work_order_id: int) -> list[Attachment]:
    fault_ids = select(FaultReport.id).where(FaultReport.work_order_id == work_order_id)
    from sqlalchemy import or_

    return list(session.exec(select(Attachment).where(
        or_(Attachment.work_order_id == work_order_id, Attachment.fault_id.in_(fault_ids)))
        .order_by(Attachment.uploaded_at, Attachment.id)).all())


# --- permissions ----------------------------------------------------------------------

def technician_works_on(session: Session, user, work_order_id: int) -> bool:
    if user.role != Role.TECHNICIAN or not user.technician_id:
        return False
    return session.exec(select(Visit.id).where(Visit.work_order_id == work_order_id,
                                               Visit.technician_id == user.technician_id)
                        ).first() is not None


def ensure_may_transition(session: Session, user, wo: WorkOrder, to_status: str) -> None:
    """Dispatchers (and admins) move any work order; a technician only their own, and
    only through the field statuses; agents escalate but do not dispatch."""
    if user.role in (Role.ADMIN, Role.DISPATCHER):
        return
    if user.role == Role.TECHNICIAN:
        require_technician_scope(session, user, wo.id)
        if to_status in TECH_STATUSES:
            return
        raise NotAllowed(_l("technicians may only set en route, on site, completed or "
                            "needs follow-up"), field="to_status")
    raise NotAllowed(_l("your role may not change this work order's status"))


def ensure_may_see_work_order(session: Session, user, wo: WorkOrder) -> None:
    if user.role in (Role.ADMIN, *STAFF):
        return
    if technician_works_on(session, user, wo.id):
        return
    raise NotAllowed(_l("this work order is not assigned to you"))


def upload_dir() -> str:
    return current_app.config["FIXROUTE"].upload_dir


def _read_upload() -> tuple[bytes, str]:
    f = request.files.get("file")
    if f is None:
        raise InvalidInput(_l("send the image as multipart field 'file'"), field="file")
    data = f.stream.read(att_svc.MAX_BYTES + 1)
    return data, f.filename or ""


# --- endpoints ------------------------------------------------------------------------

@api_v1.get("/fault-categories")
@roles_required(*STAFF)
def api_fault_categories():
    return jsonify({"items": [
        {"code": c.code, "group": c.group, "name": str(c.name), "severity": c.severity,
         "checklist": list(c.checklist), "skills": list(c.skills), "parts": list(c.parts),
         "service_minutes": c.service_minutes, "symptoms": [str(x) for x in c.symptoms]}
        for c in CATEGORIES.values()]})


@api_v1.get("/merchants")
@roles_required(*STAFF)
def api_search_merchants():
    q = request.args.get("q", "").replace("\x00", "")[:200]
    session = get_session()
    merchants = fault_svc.search_merchants(session, q)
    items = []
    for m in merchants:
        terms = session.exec(select(Terminal).where(Terminal.merchant_id == m.id)
                             .order_by(Terminal.serial)).all()
        items.append({"id": m.id, "code": m.code, "name": m.name, "phone": m.phone,
                      "address": m.address, "region_id": m.region_id, "sla_tier": m.sla_tier,
                      "terminals": [{"id": t.id, "serial": t.serial, "status": t.status}
                                    for t in terms]})
    return jsonify({"items": items})


@api_v1.post("/faults")
@roles_required(*STAFF)
def api_create_fault():
    body = parse_body(FaultCreate)
    session = get_session()
    fault = fault_svc.create_fault(session, merchant=body.merchant_id, terminal=body.terminal_id,
                                   category=body.category, symptoms=body.symptoms,
                                   error_code=body.error_code, channel=body.channel,
                                   actor=current_user._get_current_object())
    return jsonify(fault_dict(session, fault)), 201


@api_v1.get("/faults/<int:fault_id>")
@roles_required(*STAFF)
def api_get_fault(fault_id: int):
    session = get_session()
    return jsonify(fault_dict(session, fault_svc.get_fault(session, fault_id)))


@api_v1.post("/faults/<int:fault_id>/checklist")
@roles_required(*STAFF)
def api_record_checklist(fault_id: int):
    body = parse_body(ChecklistIn)
    session = get_session()
    fault = fault_svc.get_fault(session, fault_id)
    fault_svc.record_triage(session, fault, [(s.step, s.outcome, s.note) for s in body.steps],
                            actor=current_user._get_current_object())
    return jsonify(fault_dict(session, fault))


@api_v1.post("/faults/<int:fault_id>/resolve")
@roles_required(*STAFF)
def api_resolve_fault(fault_id: int):
    body = parse_body(ResolveIn)
    session = get_session()
    fault = fault_svc.get_fault(session, fault_id)
    fault_svc.resolve_remotely(session, fault, body.note, actor=current_user._get_current_object())
    return jsonify(fault_dict(session, fault))


class ReopenIn(Strict):
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


@api_v1.post("/faults/<int:fault_id>/reopen")
@roles_required(*STAFF)
def api_reopen_fault(fault_id: int):
    body = parse_body(ReopenIn)
    session = get_session()
    fault = fault_svc.get_fault(session, fault_id)
    fault_svc.reopen(session, fault, body.reason, actor=current_user._get_current_object())
    return jsonify(fault_dict(session, fault))


@api_v1.post("/faults/<int:fault_id>/escalate")
@roles_required(*STAFF)
def api_escalate_fault(fault_id: int):
    body = parse_body(EscalateIn)
    session = get_session()
    fault = fault_svc.get_fault(session, fault_id)
    wo = fault_svc.escalate(session, fault, actor=current_user._get_current_object(),
                            priority=body.priority, note=body.note, kind=body.kind)
    return jsonify(work_order_dict(wo)), 201


@api_v1.post("/faults/<int:fault_id>/attachments")
@roles_required(*STAFF)
def api_attach_to_fault(fault_id: int):
    session = get_session()
    fault = fault_svc.get_fault(session, fault_id)
    data, filename = _read_upload()
    att = att_svc.store_attachment(session, data=data, filename=filename, upload_dir=upload_dir(),
                                   fault=fault, actor=current_user._get_current_object())
    return jsonify(attachment_dict(att)), 201


@api_v1.get("/work-orders")
@roles_required(*STAFF)
def api_list_work_orders():
    args = request.args
    status = args.get("status") or None
    if status and status != "open" and status not in wo_svc.STATUSES:
        raise InvalidInput(_l("unknown status"), field="status")
    priority = args.get("priority") or None
    if priority and priority not in wo_svc.PRIORITIES:
        raise InvalidInput(_l("unknown priority"), field="priority")
    kind = args.get("kind") or None
    if kind and kind not in wo_svc.KINDS:
        raise InvalidInput(_l("unknown kind"), field="kind")
    region_id = None
    if args.get("region_id"):
        try:
            region_id = int(args["region_id"])
        except ValueError:
            raise InvalidInput(_l("must be an integer"), field="region_id") from None
        if not 1 <= region_id <= MAX_ID:
            raise InvalidInput(_l("out of range"), field="region_id")
    at_risk_raw = (args.get("at_risk") or "").lower()
    if at_risk_raw not in ("", "true", "false", "1", "0"):
        raise InvalidInput(_l("must be true or false"), field="at_risk")
    stmt = wo_svc.work_order_query(status=status, region_id=region_id, priority=priority,
                                   kind=kind, at_risk=at_risk_raw in ("true", "1"),
                                   q=(args.get("q") or "")[:200])
    return jsonify(paginate(get_session(), stmt, read_page(), work_order_dict))


@api_v1.get("/work-orders/<int:work_order_id>")
@roles_required(*STAFF, Role.TECHNICIAN)
def api_get_work_order(work_order_id: int):
    session = get_session()
    wo = wo_svc.get_work_order(session, work_order_id)
    ensure_may_see_work_order(session, current_user, wo)
    return jsonify(work_order_detail_dict(session, wo))


@api_v1.post("/work-orders/<int:work_order_id>/transition")
@roles_required(Role.DISPATCHER, Role.TECHNICIAN)
def api_transition(work_order_id: int):
    body = parse_body(TransitionIn)
    session = get_session()
    user = current_user._get_current_object()
    wo, ev = wo_svc.change_status(
        session, work_order_id, body.to_status, actor=user, note=body.note,
        client_action_id=body.client_action_id,
        permit=lambda wo: ensure_may_transition(session, user, wo, body.to_status))
    out = work_order_dict(wo)
    out["event_id"] = ev.id
    return jsonify(out)


@api_v1.post("/work-orders/<int:work_order_id>/notes")
@roles_required(*STAFF)
def api_add_note(work_order_id: int):
    body = parse_body(NoteIn)
    session = get_session()
    wo = wo_svc.get_work_order(session, work_order_id)
    ev = wo_svc.add_note(session, wo, body.text, actor=current_user._get_current_object())
    return jsonify(event_dict(ev)), 201


@api_v1.post("/work-orders/<int:work_order_id>/attachments")
@roles_required(*STAFF, Role.TECHNICIAN)
def api_attach_to_work_order(work_order_id: int):
    session = get_session()
    wo = wo_svc.get_work_order(session, work_order_id)
    ensure_may_see_work_order(session, current_user, wo)
    require_technician_scope(session, current_user, wo.id)
    data, filename = _read_upload()
    att = att_svc.store_attachment(session, data=data, filename=filename, upload_dir=upload_dir(),
                                   work_order=wo, actor=current_user._get_current_object())
    return jsonify(attachment_dict(att)), 201


# --- the OpenAPI document -------------------------------------------------------------

_FAULT_ID = [openapi.path_param("fault_id")]
_WO_ID = [openapi.path_param("work_order_id")]
_UPLOAD = {"type": "object", "required": ["file"],
           "properties": {"file": {"type": "string", "format": "binary"}}}
TAG = "faults and work orders"

openapi.document("/api/v1/fault-categories", "get", summary="Fault categories with their "
                 "checklist, severity, skills, parts and service time", tag=TAG,
                 response={"type": "object", "properties": {"items": {
                     "type": "array", "items": {"$ref": "#/components/schemas/CategoryOut"}}}},
                 errors=(401, 403))
openapi._schema_ref(CategoryOut)
openapi.document("/api/v1/merchants", "get", summary="Find merchants by name, phone or "
                 "terminal serial", tag=TAG, response=MerchantPage,
                 parameters=[openapi.query_param("q")], errors=(401, 403))
openapi.document("/api/v1/faults", "post", summary="Record a fault report", tag=TAG,
                 request=FaultCreate, response=FaultOut, status=201,
                 errors=(400, 401, 403, 404, 422))
openapi.document("/api/v1/faults/{fault_id}", "get", summary="A fault with its checklist "
                 "results and attachments", tag=TAG, response=FaultOut, parameters=_FAULT_ID,
                 errors=(401, 403, 404))
openapi.document("/api/v1/faults/{fault_id}/checklist", "post", summary="Record remote "
                 "checklist outcomes", tag=TAG, request=ChecklistIn, response=FaultOut,
                 parameters=_FAULT_ID, errors=(400, 401, 403, 404, 409, 422))
openapi.document("/api/v1/faults/{fault_id}/resolve", "post", summary="Close a fault as "
                 "resolved remotely", tag=TAG, request=ResolveIn, response=FaultOut,
                 parameters=_FAULT_ID, errors=(400, 401, 403, 404, 409, 422))
openapi.document("/api/v1/faults/{fault_id}/reopen", "post", summary="Reopen a fault "
                 "resolved remotely within the last days (the fix did not hold)", tag=TAG,
                 request=ReopenIn, response=FaultOut, parameters=_FAULT_ID,
                 errors=(400, 401, 403, 404, 409, 422))
openapi.document("/api/v1/faults/{fault_id}/escalate", "post", summary="Escalate a fault "
                 "into a work order (or join the terminal's open repair)", tag=TAG,
                 request=EscalateIn, response=WorkOrderOut, status=201, parameters=_FAULT_ID,
                 errors=(400, 401, 403, 404, 409, 422))
openapi.document("/api/v1/faults/{fault_id}/attachments", "post", summary="Attach a PNG, "
                 "JPEG or WebP image (at most 10 MB) to a fault", tag=TAG, multipart=_UPLOAD,
                 response=AttachmentOut, status=201, parameters=_FAULT_ID,
                 errors=(400, 401, 403, 404, 413, 422))
openapi.document("/api/v1/work-orders", "get", summary="List and filter work orders", tag=TAG,
                 response=WorkOrderPage,
                 parameters=[openapi.query_param("status", enum=["open", *wo_svc.STATUSES]),
                             openapi.query_param("region_id", "integer"),
                             openapi.query_param("priority", enum=list(wo_svc.PRIORITIES)),
                             openapi.query_param("kind", enum=list(wo_svc.KINDS)),
                             openapi.query_param("at_risk", "boolean"),
                             openapi.query_param("q"), *openapi.PAGE_PARAMS],
                 errors=(401, 403, 422))
openapi.document("/api/v1/work-orders/{work_order_id}", "get", summary="A work order with "
                 "its timeline, faults and attachments", tag=TAG, response=WorkOrderDetail,
                 parameters=_WO_ID, errors=(401, 403, 404))
openapi.document("/api/v1/work-orders/{work_order_id}/transition", "post", summary="Change a "
                 "work order's status (409 with the reason when not allowed)", tag=TAG,
                 request=TransitionIn, response=WorkOrderOut, parameters=_WO_ID,
                 errors=(400, 401, 403, 404, 409, 422))
openapi.document("/api/v1/work-orders/{work_order_id}/notes", "post", summary="Add a note to "
                 "a work order's timeline", tag=TAG, request=NoteIn, response=EventOut,
                 status=201, parameters=_WO_ID, errors=(400, 401, 403, 404, 422))
openapi.document("/api/v1/work-orders/{work_order_id}/attachments", "post", summary="Attach "
                 "a PNG, JPEG or WebP image (at most 10 MB) to a work order", tag=TAG,
                 multipart=_UPLOAD, response=AttachmentOut, status=201, parameters=_WO_ID,
                 errors=(400, 401, 403, 404, 413, 422))
