"""What the technician's phone shows, as plain dicts: a day's visits in route order,
one visit (merchant, terminal, fault, checklist, parts to pick up, map links), the van's
stock. Read-only; the pages (`views`) and the JSON API (`api`) both answer with these."""
from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from flask_babel import gettext as _
from sqlalchemy import func
from sqlmodel import Session, select

from core.models import Depot, Region
from core.timeutil import region_timezone, to_local
from core.words import has_word, word
from dispatch import words as dwords
from dispatch.field import service as svc
from dispatch.field.signoff import signoff_view
from dispatch.models import (
    Attachment,
    FaultReport,
    Merchant,
    Signoff,
    SurveyResponse,
    Technician,
    Terminal,
    TerminalModel,
    TriageStep,
    Visit,
    WorkOrder,
)
from inventory import words as iwords
from inventory.models import Part, Reservation, SerialUnit, StockLevel, StockLocation

# The phone's words live in the vocabularies (core.words); these names stay for old callers.
PART_KIND_LABELS = iwords.PART_KIND
KIND_LABELS = dwords.WORK_ORDER_KIND
OUTCOME_LABELS = dwords.TRIAGE_OUTCOME


# ---------------------------------------------------------------- presentation


def region_tz(session: Session, region_id: int) -> str:
    region = session.get(Region, region_id)
    return region_timezone(region)


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


def day_view(session: Session, tech: Technician, day: date | None) -> dict:
    tz = region_tz(session, tech.region_id)
    day = day or svc.region_today(session, tech.region_id)
    visits = svc.visits_for_day(session, tech, day)
    pre = _Prefetched(session, visits)
    return {
        "date": day.isoformat(),
        "timezone": tz,
        "technician": {"id": tech.id, "code": tech.code, "name": tech.name},
        "visits": [visit_view(session, v, tz, pre) for v in visits],
    }
