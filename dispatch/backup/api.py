"""JSON API of the backup-terminal switch (`dispatch.backup.service`): a work order's
backup state and its steps (offer, accept, decline, reserve loaner, deliver, swap back,
cancel), the loaner pool and the work orders in the switch. Thin: validate, call the
service, answer."""
from __future__ import annotations

from typing import Annotated

from flask import jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlmodel import select

from core import openapi
from core.api import MAX_ID, Id, Strict, api_v1, paginate, paginate_list, parse_body, read_page
from core.auth import roles_required
from core.db import get_session
from core.errors import InvalidInput
from core.models import Role
from dispatch.backup import service as backup
from dispatch.backup.views import ROLES, WHERE_LABELS
from dispatch.field.service import require_technician_scope
from dispatch.models import Terminal, WorkOrder

TAG = "backup"


class AcceptIn(Strict):
    loaner_terminal_id: Id | None = None


class LoanerIn(Strict):
    loaner_terminal_id: Id | None = None


class CancelIn(Strict):
    note: Annotated[str, Field(max_length=2000)] = ""


class EmptyIn(Strict):
    pass


class BackupOut(BaseModel):
    work_order_id: int
    number: str
    backup_status: str
    loaner_terminal_id: int | None
    loaner_serial: str | None
    eligible: bool
    reason: str
    expected_restoration: str | None


def _terminal(t: Terminal | None) -> dict | None:
    if t is None:
        return None
    return {"id": t.id, "serial": t.serial, "model_id": t.model_id, "status": t.status,
            "merchant_id": t.merchant_id, "depot_id": t.depot_id,
            "replaces_terminal_id": t.replaces_terminal_id}


def _backup_state(wo: WorkOrder) -> dict:
    session = get_session()
    e = backup.eligibility(session, wo)
    loaner = session.get(Terminal, wo.loaner_terminal_id) if wo.loaner_terminal_id else None
    return {"work_order_id": wo.id, "number": wo.number, "backup_status": wo.backup_status,
            "loaner_terminal_id": wo.loaner_terminal_id,
            "loaner_serial": loaner.serial if loaner else None, "eligible": e.eligible,
            "reason": e.reason,
            "expected_restoration": e.restoration.isoformat() if e.restoration else None}


def _wo(work_order_id: int) -> WorkOrder:
    return backup._load(get_session(), work_order_id)


@api_v1.get("/work-orders/<int:work_order_id>/backup")
@roles_required(*ROLES)
def api_backup_state(work_order_id: int):
    return jsonify(_backup_state(_wo(work_order_id)))


@api_v1.post("/work-orders/<int:work_order_id>/backup/offer")
@roles_required(*ROLES)
def api_backup_offer(work_order_id: int):
    parse_body(EmptyIn, request.get_json(silent=True) or {})
    wo = backup.offer(get_session(), _wo(work_order_id), current_user)
    return jsonify(_backup_state(wo))


@api_v1.post("/work-orders/<int:work_order_id>/backup/accept")
@roles_required(*ROLES)
def api_backup_accept(work_order_id: int):
    body = parse_body(AcceptIn, request.get_json(silent=True) or {})
    wo = backup.accept(get_session(), _wo(work_order_id), current_user,
                       loaner_terminal_id=body.loaner_terminal_id)
    return jsonify(_backup_state(wo))


@api_v1.post("/work-orders/<int:work_order_id>/backup/decline")
@roles_required(*ROLES)
def api_backup_decline(work_order_id: int):
    parse_body(EmptyIn, request.get_json(silent=True) or {})
    wo = backup.decline(get_session(), _wo(work_order_id), current_user)
    return jsonify(_backup_state(wo))


@api_v1.post("/work-orders/<int:work_order_id>/backup/loaner")
@roles_required(*ROLES)
def api_backup_loaner(work_order_id: int):
    body = parse_body(LoanerIn, request.get_json(silent=True) or {})
    wo = _wo(work_order_id)
    backup.reserve_loaner(get_session(), wo, current_user, loaner_terminal_id=body.loaner_terminal_id)
    return jsonify(_backup_state(wo))


@api_v1.post("/work-orders/<int:work_order_id>/backup/deliver")
@roles_required(Role.DISPATCHER, Role.TECHNICIAN)
def api_backup_deliver(work_order_id: int):
    parse_body(EmptyIn, request.get_json(silent=True) or {})
    wo = _wo(work_order_id)
    require_technician_scope(get_session(), current_user, wo.id)
    backup.deliver(get_session(), wo, current_user)
    return jsonify(_backup_state(wo))


@api_v1.post("/work-orders/<int:work_order_id>/backup/swap-back")
@roles_required(Role.DISPATCHER, Role.TECHNICIAN)
def api_backup_swap_back(work_order_id: int):
    parse_body(EmptyIn, request.get_json(silent=True) or {})
    wo = _wo(work_order_id)
    require_technician_scope(get_session(), current_user, wo.id)
    backup.swap_back(get_session(), wo, current_user)
    return jsonify(_backup_state(wo))


@api_v1.post("/work-orders/<int:work_order_id>/backup/cancel")
@roles_required(*ROLES)
def api_backup_cancel(work_order_id: int):
    body = parse_body(CancelIn, request.get_json(silent=True) or {})
    wo = backup.cancel(get_session(), _wo(work_order_id), current_user, note=body.note)
    return jsonify(_backup_state(wo))


@api_v1.get("/loaners")
@roles_required(*ROLES)
def api_loaners():
    session = get_session()
    raw = request.args.get("depot_id")
    depot_id = None
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
            raise InvalidInput(_l("must be a positive integer"), field="depot_id")
        depot_id = int(raw)
    where = request.args.get("where") or None
    if where is not None and where not in WHERE_LABELS:
        raise InvalidInput(_l("must be one of %(choices)s", choices=", ".join(WHERE_LABELS)),
                           field="where")
    rows = [r for r in backup.pool(session, depot_id=depot_id) if where in (None, r.where)]
    return jsonify(paginate_list(rows, read_page(), _loaner))


def _loaner(r) -> dict:
    return {**_terminal(r.terminal), "model_code": r.model.code, "where": r.where,
            "work_order": r.work_order.number if r.work_order else None,
            "merchant": r.merchant.name if r.merchant else None,
            "replaces_serial": r.replaces.serial if r.replaces else None}


@api_v1.get("/backups")
@roles_required(*ROLES)
def api_backups():
    stmt = select(WorkOrder).where(WorkOrder.backup_status != "").order_by(WorkOrder.id.desc())
    status = request.args.get("status") or None
    if status is not None:
        if status not in backup.BACKUP_STATUSES:
            raise InvalidInput(_l("unknown backup status"), field="status")
        stmt = stmt.where(WorkOrder.backup_status == status)
    return jsonify(paginate(get_session(), stmt, read_page(), _backup_state))


_path = [openapi.path_param("work_order_id")]
_errs = (400, 401, 403, 404, 409, 422)
openapi.document("/api/v1/work-orders/{work_order_id}/backup", "get",
                 summary="Backup-terminal state and eligibility of a work order", tag=TAG,
                 response=BackupOut, parameters=_path, errors=(401, 403, 404))
for _name, _summary, _req in [
    ("offer", "Offer the merchant a backup terminal (SMS, reply YES/NO)", EmptyIn),
    ("accept", "Accept on the merchant's behalf; reserves a compatible loaner", AcceptIn),
    ("decline", "The merchant declined the offer", EmptyIn),
    ("loaner", "Reserve (or change) the loaner of an accepted backup", LoanerIn),
    ("deliver", "The loaner is installed, the faulty unit goes to repair", EmptyIn),
    ("swap-back", "Repaired unit reinstalled, loaner back to the pool", EmptyIn),
    ("cancel", "Call the backup off before delivery", CancelIn),
]:
    openapi.document(f"/api/v1/work-orders/{{work_order_id}}/backup/{_name}", "post",
                     summary=_summary, tag=TAG, request=_req, response=BackupOut,
                     parameters=_path, errors=_errs)
openapi.document("/api/v1/loaners", "get", summary="The loaner pool: where each serial is",
                 tag=TAG, errors=(400, 401, 403, 422),
                 parameters=[openapi.query_param("depot_id", "integer"),
                             openapi.query_param("where", enum=list(WHERE_LABELS)),
                             *openapi.PAGE_PARAMS])
openapi.document("/api/v1/backups", "get", summary="Work orders in the backup switch",
                 tag=TAG, errors=(400, 401, 403, 422),
                 parameters=[openapi.query_param("status", enum=list(backup.BACKUP_STATUSES[1:])),
                             *openapi.PAGE_PARAMS])
