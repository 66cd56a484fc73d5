"""The board's JSON API: open a day's draft, optimise it in the background, edit,
publish, and insert urgent work orders during the day (all in the OpenAPI document).

Thin: validate the body, call `dispatch.planning.service` / `dispatch.planning.jobs`, answer."""
from __future__ import annotations

from datetime import date

from flask import jsonify, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlmodel import Session

from core import openapi
from core.api import api_v1, parse_body
from core.auth import roles_required
from core.db import get_session
from core.errors import NotFound
from dispatch.models import Plan, Visit
from dispatch.planning import board_live, replan
from dispatch.planning import jobs as plan_jobs
from dispatch.planning import service as planning
from dispatch.planning.problem import plan_visits
from dispatch.planning.views import ROLES, _settings


def plan_json(plan: Plan) -> dict:
    return {"id": plan.id, "region_id": plan.region_id, "day": plan.day.isoformat(), "status": plan.status,
            "version": plan.version, "job_status": plan.job_status, "progress": plan.progress or {},
            "figures": plan.figures or {}, "unassigned": plan.unassigned or [],
            "published_at": plan.published_at.isoformat() if plan.published_at else None,
            "board_url": url_for("board.board", region_id=plan.region_id, day=plan.day.isoformat())}


def visit_json(v: Visit) -> dict:
    def iso(d):
        return d.isoformat() if d else None
    return {"id": v.id, "work_order_id": v.work_order_id, "technician_id": v.technician_id,
            "sequence": v.sequence, "pinned": v.pinned, "status": v.status,
            "planned_arrival": iso(v.planned_arrival), "planned_start": iso(v.planned_start),
            "planned_end": iso(v.planned_end), "window_start": iso(v.window_start),
            "window_end": iso(v.window_end)}


def _plan_or_404(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(_l("no such plan"), field="plan_id")
    return plan


class PlanRequest(BaseModel):
    region_id: int
    day: date


class SolveRequest(BaseModel):
    version: int | None = None
    time_limit_s: float = Field(default=10.0, ge=0.1, le=300)
    solution_limit: int | None = Field(default=None, ge=1, le=plan_jobs.MAX_SOLUTION_LIMIT)
    keep_announced: bool = True  # a published day's merchants keep their technician and window


class EditRequest(BaseModel):
    op: str = Field(pattern="^(move|assign|unassign|pin|unpin)$")
    version: int
    visit_id: int | None = None
    work_order_id: int | None = None
    technician_id: int | None = None
    position: int | None = Field(default=None, ge=1)
    confirm: bool = False


class VersionRequest(BaseModel):
    version: int


class InsertionRequest(BaseModel):
    work_order_id: int
    limit: int = Field(default=5, ge=1, le=20)


class ReleaseRequest(BaseModel):
    work_order_id: int
    version: int


class AcceptInsertionRequest(BaseModel):
    work_order_id: int
    technician_id: int
    position: int = Field(ge=1)
    version: int


@api_v1.post("/plans")
@roles_required(*ROLES)
def create_plan():
    body = parse_body(PlanRequest)
    plan, created = planning.get_or_create_draft(get_session(), body.region_id, body.day, current_user)
    return jsonify(plan_json(plan)), 201 if created else 200


@api_v1.get("/plans/<int:plan_id>")
@roles_required(*ROLES)
def get_plan(plan_id: int):
    session = get_session()
    plan = _plan_or_404(session, plan_id)
    out = plan_json(plan)
    out["visits"] = [visit_json(v) for v in plan_visits(session, plan.id)]
    return jsonify(out)


@api_v1.post("/plans/<int:plan_id>/solve")
@roles_required(*ROLES)
def solve_plan(plan_id: int):
    body = parse_body(SolveRequest)
    s = _settings()
    plan = plan_jobs.start_plan_job(get_session(), plan_id, version=body.version, database_url=s.database_url,
                                    redis_url=s.redis_url, time_limit_s=body.time_limit_s,
                                    solution_limit=body.solution_limit, osrm_url=s.osrm_url,
                                    actor=current_user, keep_announced=body.keep_announced)
    return jsonify(plan_json(plan)), 202


@api_v1.post("/plans/<int:plan_id>/cancel")
@roles_required(*ROLES)
def cancel_plan(plan_id: int):
    plan = plan_jobs.cancel_plan_job(get_session(), plan_id, redis_url=_settings().redis_url, actor=current_user)
    return jsonify(plan_json(plan))


@api_v1.post("/plans/<int:plan_id>/edits")
@roles_required(*ROLES)
def edit_plan(plan_id: int):
    body = parse_body(EditRequest)
    session = get_session()
    _plan_or_404(session, plan_id)
    result = planning.edit_plan(session, plan_id, body.op, version=body.version, visit_id=body.visit_id,
                                work_order_id=body.work_order_id, technician_id=body.technician_id,
                                position=body.position, confirm=body.confirm, actor=current_user,
                                osrm_url=_settings().osrm_url)
    return jsonify({"applied": result["applied"], "violations": result["violations"],
                    "plan": plan_json(result["plan"])})


@api_v1.post("/plans/<int:plan_id>/publish")
@roles_required(*ROLES)
def publish_plan(plan_id: int):
    body = parse_body(VersionRequest)
    session = get_session()
    result = planning.publish_plan(session, plan_id, version=body.version, actor=current_user,
                                   osrm_url=_settings().osrm_url)
    return jsonify({"plan": plan_json(result["plan"]), "dispatched": result["dispatched"],
                    "corrections": result["corrections"], "reserved_units": result["reserved_units"],
                    "loaners": result["loaners"], "returned_to_ready": result["returned_to_ready"],
                    "warnings": result["warnings"]})


@api_v1.post("/plans/<int:plan_id>/insertions")
@roles_required(*ROLES)
def plan_insertions(plan_id: int):
    body = parse_body(InsertionRequest)
    options = planning.best_insertions(get_session(), plan_id, body.work_order_id, limit=body.limit,
                                       osrm_url=_settings().osrm_url)
    return jsonify({"items": options})


@api_v1.post("/plans/<int:plan_id>/insertions/accept")
@roles_required(*ROLES)
def accept_insertion(plan_id: int):
    body = parse_body(AcceptInsertionRequest)
    result = planning.accept_insertion(get_session(), plan_id, body.work_order_id, body.technician_id,
                                       body.position, version=body.version, actor=current_user,
                                       osrm_url=_settings().osrm_url)
    return jsonify({"plan": plan_json(result["plan"]), "visit": visit_json(result["visit"]),
                    "dispatched": result["dispatched"], "corrections": result["corrections"],
                    "warnings": result["warnings"]})


@api_v1.post("/plans/<int:plan_id>/hand-moves/release")
@roles_required(*ROLES)
def release_hand_move(plan_id: int):
    body = parse_body(ReleaseRequest)
    plan = replan.release_hand_move(get_session(), plan_id, body.work_order_id, version=body.version,
                                    actor=current_user)
    return jsonify({"plan": plan_json(plan)})


@api_v1.get("/plans/<int:plan_id>/live")
@roles_required(*ROLES)
def plan_live(plan_id: int):
    session = get_session()
    plan = _plan_or_404(session, plan_id)
    return jsonify(dict(board_live.live_state(session, plan), version=plan.version,
                        job_status=plan.job_status, status=plan.status))


_PLAN = {"type": "object", "properties": {"id": {"type": "integer"}, "status": {"type": "string"},
                                          "version": {"type": "integer"}, "job_status": {"type": "string"}}}
_pid = [openapi.path_param("plan_id")]
openapi.document("/api/v1/plans", "post", summary="Open the draft plan of a region's day (one per day)",
                 tag="planning", request=PlanRequest, response=_PLAN, status=201, errors=(401, 403, 409, 422))
openapi.document("/api/v1/plans/{plan_id}", "get", summary="A plan with its visits", tag="planning",
                 response=_PLAN, parameters=_pid, errors=(401, 403, 404))
openapi.document("/api/v1/plans/{plan_id}/solve", "post", summary="Optimise a draft in the background",
                 tag="planning", request=SolveRequest, response=_PLAN, status=202, parameters=_pid,
                 errors=(401, 403, 404, 409, 422))
openapi.document("/api/v1/plans/{plan_id}/cancel", "post", summary="Cancel the running optimisation",
                 tag="planning", response=_PLAN, parameters=_pid, errors=(401, 403, 404, 409))
openapi.document("/api/v1/plans/{plan_id}/edits", "post",
                 summary="Move, assign, unassign or pin a visit, checked by the validator",
                 tag="planning", request=EditRequest, parameters=_pid, errors=(401, 403, 404, 409, 422))
openapi.document("/api/v1/plans/{plan_id}/publish", "post",
                 summary="Publish: reserve parts, dispatch work orders, notify merchants",
                 tag="planning", request=VersionRequest, parameters=_pid, errors=(401, 403, 404, 409, 422))
openapi.document("/api/v1/plans/{plan_id}/insertions", "post",
                 summary="Best insertions of an urgent work order into the day's routes",
                 tag="planning", request=InsertionRequest, parameters=_pid, errors=(401, 403, 404, 409, 422))
openapi.document("/api/v1/plans/{plan_id}/insertions/accept", "post",
                 summary="Insert an urgent work order into a technician's route",
                 tag="planning", request=AcceptInsertionRequest, parameters=_pid,
                 errors=(401, 403, 404, 409, 422))
openapi.document("/api/v1/plans/{plan_id}/hand-moves/release", "post",
                 summary="Let the optimiser place a hand-moved visit freely again",
                 tag="planning", request=ReleaseRequest, parameters=_pid, errors=(401, 403, 404, 409, 422))
openapi.document("/api/v1/plans/{plan_id}/live", "get",
                 summary="The day's visit states from the phones and the technicians running late",
                 tag="planning", parameters=_pid, errors=(401, 403, 404))
