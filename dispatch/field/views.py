"""The technician's phone: today's route page, and the JSON API the page (or any
client with a bearer token) uses to start travel, arrive, complete, report a visit
that could not be completed and upload photos. Thin: parse, call
`dispatch.tech_service`, answer."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, render_template, request, send_file, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import Session, select

from core import openapi
from core.api import NotFound, ValidationFailed, api_v1, parse_body
from core.auth import STAFF, roles_required
from core.db import get_session
from core.models import Depot, Region, Role
from core.settings import PROJECT_ROOT
from core.timeutil import to_local
from core.words import has_word, word
from dispatch import tech_service as svc
from dispatch import words as dwords
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
    TriageStep,
    Visit,
    WorkOrder,
)
from dispatch.signoff import NO_SIGNATURE_REASONS, signoff_view
from inventory import words as iwords
from inventory.models import Part, Reservation, SerialUnit, StockLevel, StockLocation

bp = Blueprint("tech", __name__)
TECH_ROLES = (Role.TECHNICIAN, *STAFF)

# The phone's words live in the vocabularies (core.words); these names stay for old callers.
PART_KIND_LABELS = iwords.PART_KIND
KIND_LABELS = dwords.WORK_ORDER_KIND
OUTCOME_LABELS = dwords.TRIAGE_OUTCOME


# ---------------------------------------------------------------- presentation


def _tz(session: Session, region_id: int) -> str:
    region = session.get(Region, region_id)
    return region.timezone if region else "Asia/Shanghai"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _hhmm(value: datetime | None, tz: str) -> str:
    return to_local(value, tz).strftime("%H:%M") if value else ""


def _checklist_label(item) -> str:
    """Triage codes, or preventive items ({"code", "label", "terminal", "done"})."""
    if isinstance(item, dict):
        code = item.get("code") or ""
        label = item.get("label") or item.get("text") or item.get("title") or ""
        if has_word("pm_checklist", code):
            text = word("pm_checklist", code)
        elif has_word("triage_step", code):
            text = word("triage_step", code)
        else:
            text = _(label) if label else code
        if item.get("terminal"):
            text = f"{text} · {item['terminal']}"
        return text
    return word("triage_step", item)


def _pickup_label(session: Session, item, tz: str) -> str:
    """A depot stop before this visit (from the plan): where, when, what."""
    if not isinstance(item, dict):
        return str(item)
    if isinstance(item.get("parts"), dict):
        depot = session.get(Depot, item.get("depot_id")) if item.get("depot_id") else None
        what = ", ".join(f"{n} × {word('part_kind', kind)}"
                         for kind, n in item["parts"].items())
        when = ""
        if item.get("arrival"):
            try:
                when = _hhmm(datetime.fromisoformat(item["arrival"]), tz)
            except (TypeError, ValueError):
                when = ""
        return _("Pick up at %(depot)s %(time)s: %(parts)s", depot=depot.name if depot else "-",
                 time=when, parts=what)
    return str(item.get("label") or item.get("name") or item.get("sku")
               or item.get("serial") or item.get("kind") or "")


def map_links(lat: float, lon: float, name: str) -> dict[str, str]:
    """geo: opens the phone's map app on Android; the https link works everywhere."""
    return {
        "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({quote(name)})",
        "web": f"https://uri.amap.com/marker?position={lon:.6f},{lat:.6f}&name={quote(name)}",
    }


class _Prefetched:
    """What a list of visits needs, loaded in a handful of queries instead of several
    per visit (the day view was 87 statements for 16 visits under load)."""

    def __init__(self, session: Session, visits: list[Visit]) -> None:
        wo_ids = {v.work_order_id for v in visits}
        wos = session.exec(select(WorkOrder).where(WorkOrder.id.in_(wo_ids))).all() if wo_ids else []
        # loading rows puts them in the session's identity map: session.get() is free after
        merchant_ids = {w.merchant_id for w in wos}
        if merchant_ids:
            session.exec(select(Merchant).where(Merchant.id.in_(merchant_ids))).all()
        term_ids = {w.terminal_id for w in wos if w.terminal_id} | {
            w.loaner_terminal_id for w in wos if w.loaner_terminal_id}
        terms = session.exec(select(Terminal).where(Terminal.id.in_(term_ids))).all() if term_ids else []
        model_ids = {t.model_id for t in terms}
        if model_ids:
            session.exec(select(TerminalModel).where(TerminalModel.id.in_(model_ids))).all()
        self.faults: dict[int, list] = {}
        self.steps: dict[int, list] = {}
        self.reservations: dict[int, list] = {}
        self.photos: dict[int, int] = {}
        self.signoffs: dict[int, Signoff] = {}
        self.ratings: dict[int, int] = {}
        if not wo_ids:
            return
        for row in session.exec(select(Signoff).where(Signoff.work_order_id.in_(wo_ids))).all():
            self.signoffs[row.work_order_id] = row
        for wo_id, score in session.exec(
            select(SurveyResponse.work_order_id, SurveyResponse.score)
            .where(SurveyResponse.work_order_id.in_(wo_ids)).order_by(SurveyResponse.id)
        ).all():
            self.ratings[wo_id] = score  # the latest answer counts
        faults = session.exec(select(FaultReport).where(FaultReport.work_order_id.in_(wo_ids))
                              .order_by(FaultReport.created_at, FaultReport.id)).all()
        for f in faults:
            self.faults.setdefault(f.work_order_id, []).append(f)
        fault_ids = [f.id for f in faults]
        if fault_ids:
            for st in session.exec(select(TriageStep).where(TriageStep.fault_id.in_(fault_ids))
                                   .order_by(TriageStep.recorded_at, TriageStep.id)).all():
                self.steps.setdefault(st.fault_id, []).append(st)
        for row in session.exec(
            select(Reservation, Part, StockLocation)
            .join(Part, Part.id == Reservation.part_id)
            .join(StockLocation, StockLocation.id == Reservation.location_id)
            .where(Reservation.work_order_id.in_(wo_ids), Reservation.status == "active")
        ).all():
            self.reservations.setdefault(row[0].work_order_id, []).append(row)
        for wo_id, n in session.exec(
            select(Attachment.work_order_id, func.count()).where(Attachment.work_order_id.in_(wo_ids))
            .group_by(Attachment.work_order_id)
        ).all():
            self.photos[wo_id] = n


def visit_view(session: Session, visit: Visit, tz: str, pre: _Prefetched | None = None) -> dict:
    """Everything the phone shows for one visit (and the API returns)."""
    pre = pre or _Prefetched(session, [visit])
    wo = session.get(WorkOrder, visit.work_order_id)
    merchant = session.get(Merchant, wo.merchant_id)
    terminal = session.get(Terminal, wo.terminal_id) if wo.terminal_id else None
    model = session.get(TerminalModel, terminal.model_id) if terminal else None
    faults = []
    for f in pre.faults.get(wo.id, []):
        steps = pre.steps.get(f.id, [])
        faults.append({
            "id": f.id, "category": f.category, "category_name": word("fault_category", f.category),
            "symptoms": f.symptoms, "error_code": f.error_code,
            "triage": [{"step": s.step_code, "label": word("triage_step", s.step_code),
                        "outcome": s.outcome, "outcome_label": word("triage_outcome", s.outcome),
                        "note": s.note} for s in steps],
        })
    reservations = []
    for r, part, loc in pre.reservations.get(wo.id, []):
        reservations.append({"part_id": part.id, "sku": part.sku, "name": _part_name(part),
                             "qty": r.qty, "location": loc.code, "location_name": loc.name})
    loaner = session.get(Terminal, wo.loaner_terminal_id) if wo.loaner_terminal_id else None
    start = visit.notified_window_start or visit.window_start or wo.window_start_at
    end = visit.notified_window_end or visit.window_end or wo.window_end_at
    return {
        "id": visit.id,
        "sequence": visit.sequence,
        "status": visit.status,
        "status_label": word("visit_status", visit.status),
        "window_start": _iso(start), "window_end": _iso(end),
        "window_local": f"{_hhmm(start, tz)}–{_hhmm(end, tz)}" if start and end else "",
        "planned_arrival": _iso(visit.planned_arrival),
        "planned_arrival_local": _hhmm(visit.planned_arrival, tz),
        "actual_departure": _iso(visit.actual_departure),
        "actual_arrival": _iso(visit.actual_arrival),
        "actual_arrival_local": _hhmm(visit.actual_arrival, tz),
        "actual_end": _iso(visit.actual_end),
        "work_order": {
            "id": wo.id, "number": wo.number, "kind": wo.kind,
            "kind_label": word("work_order_kind", wo.kind), "status": wo.status,
            "priority": wo.priority, "severity": wo.severity, "title": wo.title,
            "title_label": dwords.work_order_title(wo),
            "description": wo.description, "description_label": dwords.description_of(session, wo),
            "resolution_code": wo.resolution_code,
            "resolution_label": word("resolution_code", wo.resolution_code),
            "resolution_note": wo.resolution_note, "backup_status": wo.backup_status,
        },
        "merchant": {
            "name": merchant.name, "contact_name": merchant.contact_name, "phone": merchant.phone,
            "address": merchant.address, "lat": merchant.lat, "lon": merchant.lon,
            "maps": map_links(merchant.lat, merchant.lon, merchant.name),
        },
        "terminal": ({"serial": terminal.serial, "model": f"{model.vendor} {model.name}" if model else ""}
                     if terminal else None),
        "faults": faults,
        "bring": {
            "predicted_parts": [{"kind": p.get("kind"), "qty": p.get("qty", 1),
                                 "label": word("part_kind", p.get("kind"))}
                                for p in (wo.predicted_parts or []) if isinstance(p, dict)],
            "reserved": reservations,
            "pickups": [label for label in (_pickup_label(session, p, tz) for p in visit.pickups or [])
                        if label],
            "loaner_serial": loaner.serial if loaner else None,
            "loaner_needed": wo.kind == "backup_swap" or wo.backup_status in ("accepted", "offered"),
        },
        "checklist": [{"label": _checklist_label(c),
                       "done": bool(c.get("done")) if isinstance(c, dict) else False}
                      for c in (wo.checklist or [])],
        "photo_count": pre.photos.get(wo.id, 0),
        "map_stop": {"sequence": visit.sequence, "lat": merchant.lat, "lon": merchant.lon,
                     "name": merchant.name, "number": wo.number, "status": visit.status,
                     "visit_id": visit.id},
        "signoff": signoff_view(pre.signoffs.get(wo.id)),
        "rating": pre.ratings.get(wo.id),
    }


def _part_name(part: Part) -> str:
    from flask_babel import get_locale

    if str(get_locale()) == "zh" and part.name_zh:
        return part.name_zh
    return part.name


def van_stock(session: Session, technician_id: int) -> list[dict]:
    """What is in the van now: parts with units on hand, serials for serialized parts."""
    van = svc.van_of(session, technician_id)
    if van is None:
        return []
    out = []
    for level, part in session.exec(
        select(StockLevel, Part).join(Part, Part.id == StockLevel.part_id)
        .where(StockLevel.location_id == van.id, StockLevel.on_hand > 0).order_by(Part.sku)
    ).all():
        serials = []
        if part.serialized:
            serials = list(session.exec(
                select(SerialUnit.serial).where(SerialUnit.location_id == van.id,
                                                SerialUnit.part_id == part.id,
                                                SerialUnit.status == "in_stock")
                .order_by(SerialUnit.serial)).all())
        out.append({"part_id": part.id, "sku": part.sku, "name": _part_name(part),
                    "serialized": part.serialized, "on_hand": level.on_hand, "serials": serials,
                    "location": van.code})
    return out


def picked_up_stock(session: Session, visits: list[Visit], technician_id: int) -> list[dict]:
    """Parts reserved for these visits somewhere other than the van (the plan's depot
    pickups): the technician carries them too, so the completion form offers them."""
    van = svc.van_of(session, technician_id)
    wo_ids = [v.work_order_id for v in visits]
    if not wo_ids:
        return []
    out = []
    rows = session.exec(
        select(Reservation, Part, StockLocation)
        .join(Part, Part.id == Reservation.part_id)
        .join(StockLocation, StockLocation.id == Reservation.location_id)
        .where(Reservation.work_order_id.in_(wo_ids), Reservation.status == "active")
        .order_by(Part.sku)
    ).all()
    for r, part, loc in rows:
        if van is not None and loc.id == van.id:
            continue
        serials = []
        if part.serialized:
            serials = list(session.exec(
                select(SerialUnit.serial).where(SerialUnit.location_id == loc.id,
                                                SerialUnit.part_id == part.id,
                                                SerialUnit.status == "in_stock")
                .order_by(SerialUnit.serial).limit(20)).all())
        out.append({"part_id": part.id, "sku": part.sku, "name": _part_name(part),
                    "serialized": part.serialized, "on_hand": r.qty, "serials": serials,
                    "location": loc.code, "picked_up": True})
    return out


def _day_param() -> date | None:
    raw = request.args.get("date")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(_l("must be a date like 2026-11-24"), field="date") from None


def _technician_for_request(session: Session) -> Technician:
    """Technicians get their own day; staff may look at any technician's."""
    if current_user.role == Role.TECHNICIAN:
        return svc.technician_of(session, current_user)
    raw = request.args.get("technician_id")
    if not raw:
        raise ValidationFailed(_l("staff must say which technician"), field="technician_id")
    try:
        tech = session.get(Technician, int(raw))
    except ValueError:
        raise ValidationFailed(_l("must be an integer"), field="technician_id") from None
    if tech is None:  # a well-formed id of no one: 404, as for every other id
        raise NotFound(_l("no such technician"), field="technician_id")
    return tech


def day_view(session: Session, tech: Technician, day: date | None) -> dict:
    tz = _tz(session, tech.region_id)
    day = day or svc.region_today(session, tech.region_id)
    visits = svc.visits_for_day(session, tech, day)
    pre = _Prefetched(session, visits)
    return {
        "date": day.isoformat(),
        "timezone": tz,
        "technician": {"id": tech.id, "code": tech.code, "name": tech.name},
        "visits": [visit_view(session, v, tz, pre) for v in visits],
    }


def day_heading(day: date, today: date) -> dict:
    """How the page names its day: "Today, <date>" only for today (the page said
    "today's route" on tomorrow's route), the neighbours by name, any other day by
    its date alone; and the links to the day before and after."""
    when = format_date(day, format="full")
    if day == today:
        title = _("Today, %(date)s", date=when)
    elif day == today + timedelta(days=1):
        title = _("Tomorrow, %(date)s", date=when)
    elif day == today - timedelta(days=1):
        title = _("Yesterday, %(date)s", date=when)
    else:
        title = when
    return {"title": title, "is_today": day == today, "today": today.isoformat(),
            "prev": (day - timedelta(days=1)).isoformat(),
            "next": (day + timedelta(days=1)).isoformat(),
            "prev_label": format_date(day - timedelta(days=1), format="EEE d"),
            "next_label": format_date(day + timedelta(days=1), format="EEE d")}


def _day_url(day_iso: str) -> str:
    """The day page of another date, keeping the technician a staff member looks at."""
    args = {"date": day_iso}
    if request.args.get("technician_id"):
        args["technician_id"] = request.args["technician_id"]
    return url_for("tech.day", **args)


# ---------------------------------------------------------------- pages


@bp.get("/tech/")
@roles_required(*TECH_ROLES)
def day():
    session = get_session()
    if current_user.role != Role.TECHNICIAN and not request.args.get("technician_id"):
        stmt = select(Technician).where(Technician.active.is_(True)).order_by(Technician.code)
        if current_user.region_id:
            stmt = stmt.where(Technician.region_id == current_user.region_id)
        return render_template("dispatch/tech_pick.html", technicians=session.exec(stmt).all())
    tech = _technician_for_request(session)
    today = svc.region_today(session, tech.region_id)
    day_ = _day_param() or today
    data = day_view(session, tech, day_)
    heading = day_heading(day_, today)
    heading.update(prev_url=_day_url(heading["prev"]), next_url=_day_url(heading["next"]),
                   today_url=_day_url(heading["today"]))
    can_act = current_user.technician_id == tech.id
    carried = []
    if can_act:
        carried = van_stock(session, tech.id) + picked_up_stock(
            session, svc.visits_for_day(session, tech, day_), tech.id)
    return render_template(
        "dispatch/tech_day.html", day=data, can_act=can_act, van=carried, heading=heading,
        resolution_codes=svc.RESOLUTION_CODES, reasons=svc.NOT_DONE_REASONS,
        no_signature_reasons=NO_SIGNATURE_REASONS,
    )


@bp.get("/tech/visits/<int:visit_id>")
@roles_required(*TECH_ROLES)
def visit_page(visit_id: int):
    session = get_session()
    visit = svc.visit_for_user(session, visit_id, current_user)
    tech = session.get(Technician, visit.technician_id)
    plan = session.get(Plan, visit.plan_id)
    data = {"date": plan.day.isoformat(), "timezone": _tz(session, tech.region_id),
            "technician": {"id": tech.id, "code": tech.code, "name": tech.name},
            "visits": [visit_view(session, visit, _tz(session, tech.region_id))]}
    can_act = current_user.technician_id == tech.id
    carried = []
    if can_act:
        carried = van_stock(session, tech.id) + picked_up_stock(session, [visit], tech.id)
    return render_template(
        "dispatch/tech_day.html", day=data, can_act=can_act, single=True, van=carried,
        resolution_codes=svc.RESOLUTION_CODES, reasons=svc.NOT_DONE_REASONS,
        no_signature_reasons=NO_SIGNATURE_REASONS,
    )


@bp.get("/tech/sw.js")
def service_worker():
    """Served under /tech/ so that its scope covers the technician pages."""
    resp = send_file(Path(PROJECT_ROOT) / "static" / "tech-sw.js", mimetype="text/javascript",
                     max_age=0)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


# ---------------------------------------------------------------- API


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
        from dispatch.signoff import SignoffIn

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
    tz = _tz(session, result.work_order.region_id)
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
    return jsonify(visit_view(session, visit, _tz(session, tech.region_id)))


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
        raise ValidationFailed(_l("send the photo as multipart field 'file'"), field="file")
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


def init_tech(app) -> None:
    from core.web import add_nav, set_role_home

    app.register_blueprint(bp)
    add_nav(app, _l("My day"), "tech.day", (Role.TECHNICIAN,), order=5)
    set_role_home(app, Role.TECHNICIAN, "tech.day")


__all__ = ["bp", "day_view", "init_tech", "map_links", "van_stock", "visit_view"]
