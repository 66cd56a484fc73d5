"""The dispatcher board: plan, adjust and publish a region's day on one screen.

The page is rendered on the server (technicians, work orders, timelines,
unassigned with reasons, figures); `static/js/board.js` draws the map from the
JSON embedded in the page and sends the dispatcher's actions to the JSON API
below, reloading the board after each saved change.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from core import openapi
from core.api import NotFound, ValidationFailed, api_v1, parse_body
from core.auth import roles_required
from core.db import get_session
from core.models import Region, Role
from core.timeutil import utcnow
from dispatch import board_live, plan_jobs, planning, replan
from dispatch.models import Merchant, Plan, Shift, Technician, Visit, WorkOrder

bp = Blueprint("board", __name__)
ROLES = (Role.DISPATCHER,)
TIMELINE_START_H, TIMELINE_END_H = 7, 21
ROUTE_COLOURS = ["#0b5fff", "#c62828", "#1b7f3b", "#b26a00", "#6a1b9a", "#00838f", "#ad1457",
                 "#4e342e", "#283593", "#2e7d32", "#ef6c00", "#37474f"]


def _settings():
    return current_app.config["FIXROUTE"]


def _parse_day(value: str | None, tz: str) -> date:
    if not value:
        return utcnow().astimezone(ZoneInfo(tz)).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(_l("must be a date YYYY-MM-DD"), field="day") from None


def _fmt(dt: datetime | None, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%H:%M") if dt else ""


def board_data(session: Session, region_id: int | None, day_text: str | None) -> dict:
    """Everything the board shows for a region's day, in a few bulk queries."""
    regions = list(session.exec(select(Region).order_by(Region.code)).all())
    if not regions:
        return {"regions": [], "region": None}
    region = next((r for r in regions if r.id == region_id), None)
    if region_id is not None and region is None:
        raise NotFound(_l("no such region"), field="region_id")
    region = region or regions[0]
    tz = region.timezone
    day = _parse_day(day_text, tz)
    t0 = planning.local_midnight(day, tz)
    shifts = session.exec(select(Shift, Technician).join(Technician, Technician.id == Shift.technician_id)
                          .where(Shift.day == day, Technician.region_id == region.id,
                                 Technician.active == True).order_by(Technician.code)).all()
    # 07-21 unless a shift starts earlier or ends later (an evening shift ran off the edge)
    start_h, end_h = TIMELINE_START_H, TIMELINE_END_H
    for sh, _t in shifts:
        start_h = min(start_h, max(0, int((sh.start_at - t0).total_seconds() // 3600)))
        end_h = max(end_h, min(48, -int(-(sh.end_at - t0).total_seconds() // 3600)))
    span0 = t0 + timedelta(hours=start_h)
    span_s = (end_h - start_h) * 3600

    def pct(dt: datetime | None) -> float:
        if dt is None:
            return 0.0
        return max(0.0, min(100.0, (dt - span0).total_seconds() / span_s * 100))

    draft = planning.draft_plan(session, region.id, day)
    published = planning.published_plan(session, region.id, day)
    plan = draft or published
    visits = planning.plan_visits(session, plan.id) if plan else []
    ready = planning.candidate_work_orders(session, region.id, day, plan)
    wo_ids = {w.id for w in ready} | {v.work_order_id for v in visits}
    wos = {w.id: w for w in session.exec(select(WorkOrder).where(WorkOrder.id.in_(list(wo_ids) or [-1]))).all()}
    merchants = {m.id: m for m in session.exec(select(Merchant).where(
        Merchant.id.in_(list({w.merchant_id for w in wos.values()}) or [-1]))).all()}
    routes_meta = (plan.solver_stats or {}).get("routes", {}) if plan else {}
    depot_rows = {d.id: d for d in session.exec(select(planning.DepotRow).where(
        planning.DepotRow.region_id == region.id)).all()}

    by_tech: dict[int, list[Visit]] = {}
    for v in visits:
        by_tech.setdefault(v.technician_id, []).append(v)
    techs = []
    map_routes = []
    for i, (sh, tech) in enumerate(shifts):
        colour = ROUTE_COLOURS[i % len(ROUTE_COLOURS)]
        depot = depot_rows.get(tech.depot_id)
        if tech.start_at == "home" and tech.home_lat is not None:
            home = (tech.home_lat, tech.home_lon)
        elif depot is not None:
            home = (depot.lat, depot.lon)
        else:
            home = (region.center_lat, region.center_lon)
        segs = [{"kind": "shift", "left": pct(sh.start_at), "width": pct(sh.end_at) - pct(sh.start_at),
                 "label": f"{_fmt(sh.start_at, tz)}–{_fmt(sh.end_at, tz)}"}]
        stops = []
        path = [list(home)]
        meta = routes_meta.get(str(tech.id), {})
        for v in sorted(by_tech.get(tech.id, []), key=lambda v: v.sequence):
            wo = wos[v.work_order_id]
            m = merchants[wo.merchant_id]
            for pk in v.pickups or []:
                d = depot_rows.get(pk.get("depot_id"))
                ps, pe = datetime.fromisoformat(pk["start"]), datetime.fromisoformat(pk["end"])
                pa = datetime.fromisoformat(pk["arrival"])
                segs.append({"kind": "travel", "left": pct(pa - timedelta(seconds=pk["travel_seconds"])),
                             "width": pct(pa) - pct(pa - timedelta(seconds=pk["travel_seconds"])), "label": ""})
                segs.append({"kind": "pickup", "left": pct(ps), "width": pct(pe) - pct(ps),
                             "label": d.code if d else ""})
                if d:
                    path.append([d.lat, d.lon])
            if v.planned_arrival and v.planned_start and v.planned_end:
                dep = v.planned_arrival - timedelta(seconds=v.travel_seconds)
                segs.append({"kind": "travel", "left": pct(dep), "width": pct(v.planned_arrival) - pct(dep),
                             "label": ""})
                if v.planned_start > v.planned_arrival:
                    segs.append({"kind": "wait", "left": pct(v.planned_arrival),
                                 "width": pct(v.planned_start) - pct(v.planned_arrival), "label": ""})
                segs.append({"kind": "service", "left": pct(v.planned_start),
                             "width": pct(v.planned_end) - pct(v.planned_start), "label": m.name,
                             "title": f"{m.name} · {wo.number} · {_fmt(v.planned_start, tz)}–"
                                      f"{_fmt(v.planned_end, tz)}",
                             "visit_id": v.id, "work_order_id": wo.id, "status": v.status})
            late = bool(wo.sla_due_at and v.planned_start and v.planned_start > wo.sla_due_at)
            stops.append({"visit": v, "wo": wo, "merchant": m, "late": late,
                          "arrival": _fmt(v.planned_arrival, tz), "start": _fmt(v.planned_start, tz),
                          "end": _fmt(v.planned_end, tz),
                          "window": f"{_fmt(v.window_start, tz)}–{_fmt(v.window_end, tz)}"})
            path.append([m.lat, m.lon])
        if meta.get("break"):
            bs, be = datetime.fromisoformat(meta["break"]["start"]), datetime.fromisoformat(meta["break"]["end"])
            segs.append({"kind": "break", "left": pct(bs), "width": pct(be) - pct(bs), "label": ""})
        if meta.get("end") and stops:
            end = datetime.fromisoformat(meta["end"])
            dep = end - timedelta(seconds=meta.get("end_travel_seconds", 0))
            segs.append({"kind": "travel", "left": pct(dep), "width": pct(end) - pct(dep), "label": ""})
        path.append(list((tech.home_lat, tech.home_lon) if tech.start_at == "home" and tech.home_lat is not None
                         else home))
        techs.append({"tech": tech, "shift": sh, "colour": colour, "segments": segs, "stops": stops,
                      "shift_label": f"{_fmt(sh.start_at, tz)}–{_fmt(sh.end_at, tz)}"})
        map_routes.append({"technician_id": tech.id, "name": tech.name, "colour": colour,
                           "home": list(home), "path": path,
                           "stops": [{"lat": s["merchant"].lat, "lon": s["merchant"].lon,
                                      "label": f"{s['visit'].sequence}. {s['wo'].number} {s['merchant'].name}",
                                      "seq": s["visit"].sequence, "visit_id": s["visit"].id}
                                     for s in stops]})
    unassigned = []
    for u in (plan.unassigned or []) if plan else []:
        wo = wos.get(u["work_order_id"])
        if wo is None:
            continue
        unassigned.append({"wo": wo, "merchant": merchants.get(wo.merchant_id), "code": u["code"],
                           "reason": planning.REASON_LABELS.get(u["code"], u["code"])})
    planned_ids = {v.work_order_id for v in visits}
    unplaced_markers = [{"lat": u["merchant"].lat, "lon": u["merchant"].lon, "label": u["wo"].number}
                        for u in unassigned if u["merchant"] is not None]
    hours = [{"label": f"{h % 24:02d}", "left": (h - start_h) / (end_h - start_h) * 100}
             for h in range(start_h, end_h + 1, 2)]
    live = board_live.live_state(session, plan)
    return {
        "hand_moves": replan.hand_moves(plan), "changes": replan.changes_against_published(session, draft, tz),
        "live": live, "late_by_tech": {t["technician_id"]: t for t in live["technicians"]},
        "regions": regions, "region": region, "day": day, "tz": tz, "plan": plan, "draft": draft,
        "published": published, "technicians": techs, "ready": ready, "merchants": merchants,
        "planned_ids": planned_ids, "unassigned": unassigned, "figures": (plan.figures or {}) if plan else {},
        "hours": hours,
        "map": {"center": [region.center_lat, region.center_lon],
                "bounds": [[region.min_lat, region.min_lon], [region.max_lat, region.max_lon]],
                "tile_url": _settings().map_tile_url, "routes": map_routes, "unassigned": unplaced_markers},
    }


@bp.get("/board")
@roles_required(*ROLES)
def board():
    session = get_session()
    region_id = request.args.get("region_id", type=int)
    data = board_data(session, region_id, request.args.get("day"))
    return render_template("dispatch/board.html", **data, timeline_start=TIMELINE_START_H,
                           timeline_end=TIMELINE_END_H, labels=_labels())


def _labels() -> dict:
    """Codes the board shows as words in the reader's language (priority, skills, visit states)."""
    from dispatch.catalog import SKILLS
    from dispatch.desk import PRIORITY_LABELS
    from dispatch.tech_service import VISIT_STATUSES

    return {"priority": PRIORITY_LABELS, "skill": SKILLS, "visit": VISIT_STATUSES}


# ------------------------------------------------------------------ JSON API


def plan_json(plan: Plan) -> dict:
    return {"id": plan.id, "region_id": plan.region_id, "day": plan.day.isoformat(), "status": plan.status,
            "version": plan.version, "job_status": plan.job_status, "progress": plan.progress or {},
            "figures": plan.figures or {}, "unassigned": plan.unassigned or [],
            "published_at": plan.published_at.isoformat() if plan.published_at else None,
            "board_url": url_for("board.board", region_id=plan.region_id, day=plan.day.isoformat())}


def visit_json(v: Visit) -> dict:
    iso = lambda d: d.isoformat() if d else None
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
    out["visits"] = [visit_json(v) for v in planning.plan_visits(session, plan.id)]
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

NAV_LABEL = _l("Board")


def init_board(app) -> None:
    """Register the board's page, make it the dispatcher's home and put it in the menu."""
    from core.web import add_nav, set_role_home

    app.register_blueprint(bp)
    add_nav(app, NAV_LABEL, "board.board", ROLES, order=10)
    set_role_home(app, Role.DISPATCHER, "board.board")
