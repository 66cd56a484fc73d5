"""JSON API: preventive plans (list, create, update, preview) and analytics tables."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel
from sqlmodel import select

from core import openapi
from core.api import api_v1, paginate, parse_body, read_page
from core.auth import roles_required
from core.db import get_session
from core.errors import InvalidInput, NotFound
from core.models import Role
from core.timeutil import utcnow
from maintenance import analytics
from maintenance.models import PMPlan
from maintenance.plans import PlanInput, create_plan, plan_as_dict, preview_plan, update_plan


class PlanOut(BaseModel):
    id: int
    name: str
    scope: dict
    rrule: str | None
    interval_days: int | None
    due_window_days: int
    checklist: list[str]
    skill: str
    service_minutes: int
    active_from: str
    active_to: str | None
    active: bool


class PreviewOut(BaseModel):
    dates: list[str]
    terminal_count: int
    merchant_count: int
    kind: str
    words: str  # the recurrence in words, in the request's language
    first_date: str | None  # the plan's first due date (on or after active_from)


def _today():
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo(current_app.config["FIXROUTE"].default_timezone)).date()


@api_v1.get("/pm-plans")
@roles_required(Role.DISPATCHER)
def list_pm_plans():
    stmt = select(PMPlan).order_by(PMPlan.id)
    return jsonify(paginate(get_session(), stmt, read_page(), plan_as_dict))


@api_v1.post("/pm-plans")
@roles_required(Role.ADMIN)
def create_pm_plan():
    plan = create_plan(get_session(), parse_body(PlanInput), current_user)
    return jsonify(plan_as_dict(plan)), 201


@api_v1.get("/pm-plans/<int:plan_id>")
@roles_required(Role.DISPATCHER)
def get_pm_plan(plan_id: int):
    plan = get_session().get(PMPlan, plan_id)
    if plan is None:
        raise NotFound(_l("no such plan"), field="plan_id")
    return jsonify(plan_as_dict(plan))


@api_v1.put("/pm-plans/<int:plan_id>")
@roles_required(Role.ADMIN)
def update_pm_plan(plan_id: int):
    plan = update_plan(get_session(), plan_id, parse_body(PlanInput), current_user)
    return jsonify(plan_as_dict(plan))


@api_v1.post("/pm-plans/preview")
@roles_required(Role.ADMIN)
def preview_pm_plan():
    return jsonify(preview_plan(get_session(), parse_body(PlanInput), _today()))


@api_v1.get("/maintenance/analytics/<name>")
@roles_required(Role.DISPATCHER)
def analytics_table(name: str):
    if name not in analytics.TABLES:
        raise NotFound(_l("no analytics table %(name)s", name=repr(name)), field="name")
    try:
        days = int(request.args.get("days", "90"))
    except ValueError:
        raise InvalidInput(_l("must be a whole number of days"), field="days") from None
    if not 1 <= days <= 730:
        raise InvalidInput(_l("must be between 1 and %(max)s", max=730), field="days")
    until = utcnow()
    rows = analytics.compute_table(get_session(), name, until - timedelta(days=days), until,
                                   current_app.config["FIXROUTE"].default_timezone, until)
    return jsonify({"name": name, "days": days, "rows": rows})


_PLAN_ID = [openapi.path_param("plan_id")]
openapi.document("/api/v1/pm-plans", "get", summary="Preventive plans", tag="maintenance",
                 parameters=openapi.PAGE_PARAMS, errors=(401, 403, 422))
openapi.document("/api/v1/pm-plans", "post", summary="Create a preventive plan", tag="maintenance",
                 request=PlanInput, response=PlanOut, status=201, errors=(401, 403, 404, 422))
openapi.document("/api/v1/pm-plans/{plan_id}", "get", summary="One preventive plan",
                 tag="maintenance", parameters=_PLAN_ID, response=PlanOut, errors=(401, 403, 404))
openapi.document("/api/v1/pm-plans/{plan_id}", "put", summary="Update a preventive plan",
                 tag="maintenance", parameters=_PLAN_ID, request=PlanInput, response=PlanOut,
                 errors=(401, 403, 404, 422))
openapi.document("/api/v1/pm-plans/preview", "post",
                 summary="Next due dates and terminals covered, without saving", tag="maintenance",
                 request=PlanInput, response=PreviewOut, errors=(401, 403, 422))
openapi.document("/api/v1/maintenance/analytics/{name}", "get", summary="One analytics table",
                 tag="maintenance",
                 parameters=[openapi.path_param("name", "string"),
                             {"name": "days", "in": "query", "required": False,
                              "schema": {"type": "integer", "minimum": 1, "maximum": 730}}],
                 errors=(401, 403, 404, 422))
