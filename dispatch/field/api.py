"""The technician's JSON API: the day, a visit, the van, and the actions the phone
sends (start travel, arrive, complete, could not complete, photos), usable by any
client with a bearer token. Thin: parse, call `dispatch.field.service`, answer."""
from __future__ import annotations

from datetime import datetime

from flask import current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field

from core import openapi
from core.api import api_v1, parse_body
from core.auth import roles_required
from core.db import get_session
from core.errors import InvalidInput
from core.models import Role
from dispatch.field import service as svc
from dispatch.field.queries import day_view, picked_up_stock, region_tz, van_stock, visit_view
from dispatch.field.views import TECH_ROLES, _day_param, _technician_for_request
from dispatch.models import (
    Technician,
)


class PositionIn(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100000)


class TravelIn(BaseModel):
    client_action_id: str = Field(min_length=8, max_length=64,
                                  description="made on the phone; sending twice applies once")
    at: datetime | None = Field(default=None, description="when it was tapped (phone clock)")
    position: PositionIn | None = None


class ArriveIn(TravelIn):
    pass


class PartUsedIn(BaseModel):
    part_id: int
    qty: int = Field(default=1, ge=1, le=20)
    serials: list[str] = Field(default_factory=list, max_length=20)


class SignoffBody(BaseModel):
    signer_name: str = Field(default="", max_length=120,
                             description="the merchant's printed name (needed with a signature)")
    signature: str | None = Field(default=None, max_length=300_000,
                                  description="PNG drawn on the phone, as a data URL or base64")
    no_signature_reason: str = Field(default="", json_schema_extra={
        "enum": ["", "merchant_absent", "refused", "unattended", "other"]})
    no_signature_note: str = Field(default="", max_length=500)

    def to_service(self):
        from dispatch.field.signoff import SignoffIn

        return SignoffIn(self.signer_name, self.signature, self.no_signature_reason,
                         self.no_signature_note)


class SignoffActionIn(BaseModel):
    client_action_id: str = Field(min_length=8, max_length=64)
    signoff: SignoffBody


class CompleteIn(BaseModel):
    client_action_id: str = Field(min_length=8, max_length=64)
    at: datetime | None = None
    resolution_code: str = Field(json_schema_extra={"enum": list(svc.RESOLUTION_CODES)})
    notes: str = Field(default="", max_length=4000)
    parts: list[PartUsedIn] = Field(default_factory=list, max_length=30)
    loaner_serial: str | None = Field(default=None, max_length=40)
    faulty_serial: str | None = Field(default=None, max_length=40)
    checklist_done: list[int] = Field(default_factory=list, max_length=50,
                                      description="indexes of the checklist items done")
    signoff: SignoffBody | None = Field(default=None, description=(
        "the merchant's signature with the printed name, or why there is none"))


class NotDoneIn(BaseModel):
    client_action_id: str = Field(min_length=8, max_length=64)
    at: datetime | None = None
    reason: str = Field(json_schema_extra={"enum": list(svc.NOT_DONE_REASONS)})
    note: str = Field(default="", max_length=4000)


class ActionOut(BaseModel):
    replayed: bool
    event_id: int | None
    work_order_status: str
    eta: str | None = None
    visit: dict


def _position(body) -> svc.Position | None:
    p = body.position
    return svc.Position(p.lat, p.lon, p.accuracy_m) if p else None


def _answer(result: svc.ActionResult):
    session = get_session()
    tz = region_tz(session, result.work_order.region_id)
    return jsonify({
        "replayed": result.replayed,
        "event_id": result.event_id,
        "work_order_status": result.work_order.status,
        "eta": result.extra.get("eta"),
        "visit": visit_view(session, result.visit, tz),
    })


@api_v1.get("/tech/day")
@roles_required(*TECH_ROLES)
def api_day():
    session = get_session()
    tech = _technician_for_request(session)
    return jsonify(day_view(session, tech, _day_param()))


@api_v1.get("/tech/visits/<int:visit_id>")
@roles_required(*TECH_ROLES)
def api_visit(visit_id: int):
    session = get_session()
    visit = svc.visit_for_user(session, visit_id, current_user)
    tech = session.get(Technician, visit.technician_id)
    return jsonify(visit_view(session, visit, region_tz(session, tech.region_id)))


@api_v1.get("/tech/van")
@roles_required(Role.TECHNICIAN)
def api_van():
    session = get_session()
    tech = svc.technician_of(session, current_user)
    visits = svc.visits_for_day(session, tech, svc.region_today(session, tech.region_id))
    return jsonify({"items": van_stock(session, tech.id)
                    + picked_up_stock(session, visits, tech.id)})


@api_v1.post("/tech/visits/<int:visit_id>/start-travel")
@roles_required(Role.TECHNICIAN)
def api_start_travel(visit_id: int):
    body = parse_body(TravelIn)
    result = svc.start_travel(get_session(), visit_id, current_user, body.client_action_id,
                              at=body.at, position=_position(body))
    return _answer(result)


@api_v1.post("/tech/visits/<int:visit_id>/arrive")
@roles_required(Role.TECHNICIAN)
def api_arrive(visit_id: int):
    body = parse_body(ArriveIn)
    result = svc.arrive(get_session(), visit_id, current_user, body.client_action_id,
                        at=body.at, position=_position(body))
    return _answer(result)


@api_v1.post("/tech/visits/<int:visit_id>/complete")
@roles_required(Role.TECHNICIAN)
def api_complete(visit_id: int):
    body = parse_body(CompleteIn)
    parts = [svc.PartUsed(p.part_id, p.qty, tuple(p.serials)) for p in body.parts]
    result = svc.complete(get_session(), visit_id, current_user, body.client_action_id,
                          resolution_code=body.resolution_code, notes=body.notes, parts=parts,
                          loaner_serial=body.loaner_serial, faulty_serial=body.faulty_serial,
                          checklist_done=body.checklist_done, at=body.at,
                          signoff=body.signoff.to_service() if body.signoff else None)
    return _answer(result)


@api_v1.post("/tech/visits/<int:visit_id>/signoff")
@roles_required(Role.TECHNICIAN)
def api_signoff(visit_id: int):
    body = parse_body(SignoffActionIn)
    result = svc.add_signoff(get_session(), visit_id, current_user, body.client_action_id,
                             signoff=body.signoff.to_service())
    return _answer(result)


@api_v1.post("/tech/visits/<int:visit_id>/could-not-complete")
@roles_required(Role.TECHNICIAN)
def api_could_not_complete(visit_id: int):
    body = parse_body(NotDoneIn)
    result = svc.could_not_complete(get_session(), visit_id, current_user, body.client_action_id,
                                    reason=body.reason, note=body.note, at=body.at)
    return _answer(result)


@api_v1.post("/tech/visits/<int:visit_id>/photos")
@roles_required(Role.TECHNICIAN)
def api_photo(visit_id: int):
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput(_l("send the photo as multipart field 'file'"), field="file")
    action_id = request.form.get("client_action_id", "")
    result = svc.add_photo(get_session(), visit_id, current_user, action_id,
                           data=upload.read(), filename=upload.filename,
                           upload_dir=current_app.config["FIXROUTE"].upload_dir)
    return _answer(result)


_VISIT = [openapi.path_param("visit_id")]
_ACTION_ERRORS = (401, 403, 404, 409, 422)
openapi.document("/api/v1/tech/day", "get", tag="technician",
                 summary="The technician's visits of a day in route order (today by default)",
                 parameters=[{**openapi.query_param("date"),
                              "schema": {"type": "string", "format": "date"}},
                             openapi.query_param("technician_id", "integer")],
                 errors=(401, 403, 404, 422))
openapi.document("/api/v1/tech/visits/{visit_id}", "get", tag="technician",
                 summary="One visit as the phone shows it", parameters=_VISIT,
                 errors=(401, 403, 404))
openapi.document("/api/v1/tech/van", "get", tag="technician",
                 summary="Parts the technician carries: the van's, and those reserved for "
                         "today's visits at a depot (serials for serial-tracked parts)",
                 errors=(401, 403))
openapi.document("/api/v1/tech/visits/{visit_id}/start-travel", "post", tag="technician",
                 summary="Leave for the merchant (en route; merchant gets 'on the way')",
                 request=TravelIn, response=ActionOut, parameters=_VISIT, errors=_ACTION_ERRORS)
openapi.document("/api/v1/tech/visits/{visit_id}/arrive", "post", tag="technician",
                 summary="Check in at the merchant (time, position if shared)",
                 request=ArriveIn, response=ActionOut, parameters=_VISIT, errors=_ACTION_ERRORS)
openapi.document("/api/v1/tech/visits/{visit_id}/complete", "post", tag="technician",
                 summary="Complete: resolution, parts used from the van, notes, swap serials",
                 request=CompleteIn, response=ActionOut, parameters=_VISIT, errors=_ACTION_ERRORS)
openapi.document("/api/v1/tech/visits/{visit_id}/signoff", "post", tag="technician",
                 summary="The merchant's sign-off for a visit completed without one "
                         "(signature and printed name, or why there is none)",
                 request=SignoffActionIn, response=ActionOut, parameters=_VISIT,
                 errors=_ACTION_ERRORS)
openapi.document("/api/v1/tech/visits/{visit_id}/photos", "post", tag="technician",
                 summary="Add a photo (JPEG, PNG or WebP; resized on the phone) to the work order",
                 multipart={"type": "object", "required": ["file", "client_action_id"],
                            "properties": {"file": {"type": "string", "format": "binary"},
                                           "client_action_id": {"type": "string",
                                                                "minLength": 8, "maxLength": 64}}},
                 response=ActionOut, parameters=_VISIT, errors=_ACTION_ERRORS + (413,))
openapi.document("/api/v1/tech/visits/{visit_id}/could-not-complete", "post", tag="technician",
                 summary="Could not complete: back to the dispatcher with the reason",
                 request=NotDoneIn, response=ActionOut, parameters=_VISIT, errors=_ACTION_ERRORS)
