"""The dispatcher board: plan, adjust and publish a region's day on one screen.

The page is rendered on the server (technicians, work orders, timelines,
unassigned with reasons, figures); `static/js/board.js` draws the map from the
JSON embedded in the page and sends the dispatcher's actions to the JSON API
(`dispatch.planning.api`), reloading the board after each saved change.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from core.auth import roles_required
from core.db import get_session
from core.errors import InvalidInput, NotFound
from core.models import Depot, Region, Role
from core.timeutil import utcnow
from dispatch.models import Merchant, Shift, Technician, Visit, WorkOrder
from dispatch.planning import board_live, replan
from dispatch.planning import service as planning
from dispatch.planning.problem import (
    REASON_LABELS,
    candidate_work_orders,
    local_midnight,
    plan_visits,
    published_plan,
)

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
        raise InvalidInput(_l("must be a date YYYY-MM-DD"), field="day") from None


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
    t0 = local_midnight(day, tz)
    shifts = session.exec(select(Shift, Technician).join(Technician, Technician.id == Shift.technician_id)
                          .where(Shift.day == day, Technician.region_id == region.id,
                                 Technician.active.is_(True)).order_by(Technician.code)).all()
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
    published = published_plan(session, region.id, day)
    plan = draft or published
    visits = plan_visits(session, plan.id) if plan else []
    ready = candidate_work_orders(session, region.id, day, plan)
    wo_ids = {w.id for w in ready} | {v.work_order_id for v in visits}
    wos = {w.id: w for w in session.exec(select(WorkOrder).where(WorkOrder.id.in_(list(wo_ids) or [-1]))).all()}
    merchants = {m.id: m for m in session.exec(select(Merchant).where(
        Merchant.id.in_(list({w.merchant_id for w in wos.values()}) or [-1]))).all()}
    routes_meta = (plan.solver_stats or {}).get("routes", {}) if plan else {}
    depot_rows = {d.id: d for d in session.exec(select(Depot).where(
        Depot.region_id == region.id)).all()}

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
                           "reason": REASON_LABELS.get(u["code"], u["code"])})
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
    from dispatch.desk.catalog import SKILLS
    from dispatch.desk.views import PRIORITY_LABELS
    from dispatch.field.service import VISIT_STATUSES

    return {"priority": PRIORITY_LABELS, "skill": SKILLS, "visit": VISIT_STATUSES}


NAV_LABEL = _l("Board")


