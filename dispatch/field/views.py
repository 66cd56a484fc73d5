"""The technician's phone: today's route page and one visit's page (HTML), and the
views of a day, a visit and the van that the JSON API (`dispatch.field.api`) answers
with too. Thin: read, call `dispatch.field.service`, render."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from flask import Blueprint, render_template, request, send_file, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import Session, select

from core.auth import STAFF, roles_required
from core.db import get_session
from core.errors import InvalidInput, NotFound
from core.models import Role
from core.settings import PROJECT_ROOT
from dispatch.field import service as svc
from dispatch.field.queries import day_view, picked_up_stock, region_tz, van_stock, visit_view
from dispatch.field.signoff import NO_SIGNATURE_REASONS
from dispatch.models import (
    Plan,
    Technician,
)

bp = Blueprint("tech", __name__)
TECH_ROLES = (Role.TECHNICIAN, *STAFF)

def _day_param() -> date | None:
    raw = request.args.get("date")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_l("must be a date like 2026-11-24"), field="date") from None


def _technician_for_request(session: Session) -> Technician:
    """Technicians get their own day; staff may look at any technician's."""
    if current_user.role == Role.TECHNICIAN:
        return svc.technician_of(session, current_user)
    raw = request.args.get("technician_id")
    if not raw:
        raise InvalidInput(_l("staff must say which technician"), field="technician_id")
    try:
        tech = session.get(Technician, int(raw))
    except ValueError:
        raise InvalidInput(_l("must be an integer"), field="technician_id") from None
    if tech is None:  # a well-formed id of no one: 404, as for every other id
        raise NotFound(_l("no such technician"), field="technician_id")
    return tech



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
    data = {"date": plan.day.isoformat(), "timezone": region_tz(session, tech.region_id),
            "technician": {"id": tech.id, "code": tech.code, "name": tech.name},
            "visits": [visit_view(session, visit, region_tz(session, tech.region_id))]}
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
