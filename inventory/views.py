"""Stock pages for dispatchers and admins: stock by location and part, the ledger,
van restock for tomorrow's plans, low stock and reorder per depot. Thin: read
filters, call inventory.stock / inventory.forecast, render."""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select

from core.api import paginate, read_page
from core.auth import roles_required
from core.db import get_session
from core.errors import DomainError
from core.models import MAX_ID, Role
from core.timeutil import utcnow
from core.words import word
from inventory import forecast, stock
from inventory import words as iwords
from inventory.models import Part, SerialUnit, StockLocation

bp = Blueprint("inventory", __name__, url_prefix="/inventory")
ROLES = (Role.DISPATCHER,)  # admin always passes

MOVE_LABELS = iwords.MOVE_KIND  # the ledger's words: inventory.words


@bp.context_processor
def _labels():
    return {"move_label": lambda k: word("move_kind", k)}


def tomorrow_local() -> date:
    tz = current_app.config["FIXROUTE"].default_timezone
    return (utcnow().astimezone(ZoneInfo(tz)) + timedelta(days=1)).date()


# What each predicted part kind is called on the stock pages.
PART_KIND_LABELS = iwords.PART_KIND


def kind_label(kind: str) -> str:
    return word("part_kind", kind)


def part_name(part: Part) -> str:
    if str(get_locale()) == "zh" and part.name_zh:
        return part.name_zh
    return part.name


def _int(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def _choices(session):
    locations = session.exec(select(StockLocation).order_by(StockLocation.kind,
                                                            StockLocation.code)).all()
    parts = session.exec(select(Part).order_by(Part.sku)).all()
    return locations, parts


@bp.get("/")
@roles_required(*ROLES)
def stock_page():
    session = get_session()
    location_id, part_id = _int("location_id"), _int("part_id")
    kind = request.args.get("location_kind") if request.args.get("location_kind") in (
        "depot", "van") else None
    rows = session.exec(stock.levels_statement(location_id=location_id, part_id=part_id,
                                               location_kind=kind)).all()
    serials: dict[tuple[int, int], list[str]] = {}
    q = select(SerialUnit).where(SerialUnit.status == "in_stock")
    if location_id:
        q = q.where(SerialUnit.location_id == location_id)
    for u in session.exec(q.order_by(SerialUnit.serial)).all():
        serials.setdefault((u.location_id, u.part_id), []).append(u.serial)
    locations, parts = _choices(session)
    return render_template("inventory/stock.html", rows=rows, serials=serials,
                           locations=locations, parts=parts, location_id=location_id,
                           part_id=part_id, location_kind=kind, part_name=part_name)


@bp.get("/ledger")
@roles_required(*ROLES)
def ledger_page():
    session = get_session()
    kind = request.args.get("kind") if request.args.get("kind") in stock.MOVE_KINDS else None
    serial = (request.args.get("serial") or "").strip()[:40] or None
    filters = {"location_id": _int("location_id"), "part_id": _int("part_id"), "kind": kind,
               "work_order_id": _int("work_order_id"), "serial": serial}
    result = paginate(session, stock.moves_statement(**filters), read_page(), lambda m: m)
    locations, parts = _choices(session)
    return render_template("inventory/ledger.html", result=result, filters=filters,
                           locations={x.id: x for x in locations},
                           parts={p.id: p for p in parts}, kinds=stock.MOVE_KINDS,
                           part_name=part_name)


@bp.get("/restock")
@roles_required(*ROLES)
def restock_page():
    session = get_session()
    raw = request.args.get("day", "")
    try:
        day = date.fromisoformat(raw) if raw else tomorrow_local()
    except ValueError:
        flash(_("That is not a date; showing tomorrow."), "error")
        day = tomorrow_local()
    vans = forecast.restock_suggestions(session, day)
    return render_template("inventory/restock.html", vans=vans, day=day, part_name=part_name,
                           kind_label=kind_label)


@bp.post("/restock/<int:van_id>")
@roles_required(*ROLES)
def restock_van(van_id: int):
    session = get_session()
    day_raw = request.form.get("day", "")
    try:
        day = date.fromisoformat(day_raw)
    except ValueError:
        day = tomorrow_local()
    [van] = forecast.restock_suggestions(session, day, van_id=van_id) or [None]
    if van is None or van.depot_location is None:
        flash(_("Nothing to restock for this van."), "error")
        return redirect(url_for("inventory.restock_page", day=day.isoformat()))
    lines = [(x.part.id, min(x.suggest, x.depot_available)) for x in van.lines
             if x.suggest > 0 and not x.part.serialized and min(x.suggest, x.depot_available) > 0]
    if not lines:
        flash(_("Nothing the depot can send without picking serial numbers."), "error")
        return redirect(url_for("inventory.restock_page", day=day.isoformat()))
    try:
        stock.restock_van(session, van.depot_location.id, van.van.id, lines, current_user,
                          reason=f"restock for {day.isoformat()}")
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("%(n)s units moved into %(van)s.", n=sum(q for _p, q in lines), van=van.van.name),
              "success")
    return redirect(url_for("inventory.restock_page", day=day.isoformat()))


@bp.get("/reorder")
@roles_required(*ROLES)
def reorder_page():
    session = get_session()
    horizon = _int("horizon_days") or 7
    horizon = min(horizon, 90)
    depots = forecast.reorder_suggestions(session, horizon_days=horizon)
    return render_template("inventory/reorder.html", depots=depots, horizon=horizon,
                           part_name=part_name, kind_label=kind_label)
