"""What a technician does on the day: start travel, arrive, complete, could not
complete, add a photo. Each is one unit of work that checks the visit belongs to the
technician, moves the work order through the state machine
(`dispatch.workorders.transition`, which writes the audit event and lets the SMS
notices react), updates the Visit and, on completion, takes the parts used out of the
technician's van, all in one transaction.

Phones queue these actions when they have no coverage and send them later, maybe
twice: every action carries a `client_action_id` made on the phone. It is stored on
the work-order event (unique), so a second send finds the first one and answers the
same result without applying anything again (stock included)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.db import is_sqlite, unit_of_work
from core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from core.models import MAX_ID, Region, Role, User
from core.timeutil import as_utc, region_timezone, utcnow
from dispatch.models import (
    OPEN_WORK_ORDER_STATUSES,
    Plan,
    Technician,
    Terminal,
    TerminalStatus,
    Visit,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderKind,
    WorkOrderStatus,
)
from dispatch.planning.problem import published_plan, published_visit
from dispatch.words import said
from inventory.models import Part, Reservation, SerialUnit, StockLocation

RESOLUTION_CODES: dict[str, object] = {
    "fixed_on_site": _l("Fixed on site (no part)"),
    "replaced_part": _l("Replaced a part"),
    "swapped_terminal": _l("Swapped the terminal (backup)"),
    "software_updated": _l("Software or firmware updated"),
    "reconfigured": _l("Configuration reloaded"),
    "preventive_done": _l("Preventive maintenance done"),
    "installed": _l("Terminal installed"),
    "retrieved": _l("Terminal retrieved"),
    "no_fault_found": _l("No fault found"),
}

NOT_DONE_REASONS: dict[str, object] = {
    "part_missing": _l("Part missing"),
    "merchant_closed": _l("Merchant closed"),
    "needs_other_skill": _l("Needs another skill"),
    "other": _l("Other reason"),
}

VISIT_STATUSES: dict[str, object] = {
    "planned": _l("Planned"),
    "en_route": _l("On the way"),
    "on_site": _l("On site"),
    "done": _l("Done"),
    "not_done": _l("Not completed"),
}

# A fresh estimate when the phone shares its position: straight line times a detour
# factor at city speed (the planner's default matrix uses the same idea).
DETOUR_FACTOR = 1.35
CITY_SPEED_KMH = 25.0
DEFAULT_TRAVEL = timedelta(minutes=20)
# The phone's clock is trusted for when something happened (actions are sent late
# after a dead zone), but never into the future.
MAX_CLIENT_CLOCK_AHEAD = timedelta(minutes=5)
MAX_CLIENT_AGE = timedelta(days=2)


@dataclass(frozen=True)
class Position:
    lat: float
    lon: float
    accuracy_m: float | None = None

    def as_dict(self) -> dict:
        out = {"lat": round(self.lat, 6), "lon": round(self.lon, 6)}
        if self.accuracy_m is not None:
            out["accuracy_m"] = round(self.accuracy_m, 1)
        return out


@dataclass(frozen=True)
class PartUsed:
    part_id: int
    qty: int = 1
    serials: tuple[str, ...] = ()


@dataclass
class ActionResult:
    visit: Visit
    work_order: WorkOrder
    replayed: bool
    event_id: int | None = None
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------- reading the day


def region_today(session: Session, region_id: int, now: datetime | None = None) -> date:
    region = session.get(Region, region_id)
    tz = ZoneInfo(region_timezone(region))
    return as_utc(now or utcnow()).astimezone(tz).date()


def visits_for_day(session: Session, technician: Technician, day: date) -> list[Visit]:
    """The technician's visits on the region's published plan of that day, in route order."""
    plan = published_plan(session, technician.region_id, day)
    if plan is None:
        return []
    return list(
        session.exec(
            select(Visit)
            .where(Visit.plan_id == plan.id, Visit.technician_id == technician.id)
            .order_by(Visit.sequence, Visit.id)
        ).all()
    )


def van_of(session: Session, technician_id: int) -> StockLocation | None:
    return session.exec(
        select(StockLocation).where(
            StockLocation.kind == "van", StockLocation.technician_id == technician_id
        )
    ).first()


def technician_of(session: Session, user: User) -> Technician:
    if user.technician_id is None:
        raise NotAllowed(_l("only a technician can do this"), field="technician")
    tech = session.get(Technician, user.technician_id)
    if tech is None:
        raise NotAllowed(_l("this account's technician no longer exists"), field="technician")
    return tech


def visit_for_user(session: Session, visit_id: int, user: User, *, for_update: bool = False) -> Visit:
    """The visit if this user may see it: technicians only their own; staff any."""
    stmt = select(Visit).where(Visit.id == visit_id)
    if for_update and not is_sqlite(session):
        stmt = stmt.with_for_update()
    visit = session.exec(stmt).first()
    if visit is None:
        raise NotFound(_l("no such visit"), field="visit_id")
    if user.role == "technician" and user.technician_id != visit.technician_id:
        raise NotAllowed(_l("this visit belongs to another technician"), field="visit_id")
    return visit


def require_technician_scope(session: Session, actor: User | None, work_order_id: int) -> WorkOrder | None:
    """The one rule for technicians acting on a work order outside their visit screens
    (parts consumed, faulty returns tagged to it, backup delivery and swap-back): a
    technician acts only on an *open* work order whose current visit (on the newest
    published plan that carries it) is assigned to them. Anything else is NotAllowed, so a
    technician cannot move stock or terminals on a colleague's job or on a closed one.
    Dispatchers, admins and system actors are not limited here (their role checks are
    the views'). Returns the work order when one was looked up."""
    if actor is None or getattr(actor, "role", None) != Role.TECHNICIAN:
        return None
    wo = session.get(WorkOrder, work_order_id) if 0 < work_order_id <= MAX_ID else None
    if wo is None:
        raise NotFound(_l("no such work order"), field="work_order_id")
    if wo.status not in OPEN_WORK_ORDER_STATUSES:
        raise NotAllowed(_l("technicians act only on open work orders"), field="work_order_id")
    current = published_visit(session, wo.id)
    if current is None or actor.technician_id is None or current.technician_id != actor.technician_id:
        raise NotAllowed(_l("this work order is not on your route"), field="work_order_id")
    return wo


# ---------------------------------------------------------------- helpers


def client_time(at: datetime | None, now: datetime | None = None) -> datetime:
    """When the technician tapped, from the phone's clock, kept sane."""
    now = as_utc(now or utcnow())
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInput(_l("must include a time zone offset"), field="at")
    at = as_utc(at)
    if at > now + MAX_CLIENT_CLOCK_AHEAD:
        return now
    if at < now - MAX_CLIENT_AGE:
        raise InvalidInput(_l("is more than two days old"), field="at")
    return min(at, now)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def estimate_arrival(visit: Visit, merchant_lat: float, merchant_lon: float, at: datetime,
                     position: Position | None) -> datetime:
    """A fresh arrival estimate for the "on the way" SMS."""
    if position is not None:
        km = haversine_km(position.lat, position.lon, merchant_lat, merchant_lon) * DETOUR_FACTOR
        travel = timedelta(hours=km / CITY_SPEED_KMH)
    elif visit.travel_seconds:
        travel = timedelta(seconds=visit.travel_seconds)
    else:
        travel = DEFAULT_TRAVEL
    eta = at + max(travel, timedelta(minutes=2))
    return eta.replace(second=0, microsecond=0)


def _check_action_id(client_action_id: str) -> str:
    value = (client_action_id or "").strip()
    if not 8 <= len(value) <= 64:
        raise InvalidInput(_l("must be 8 to 64 characters"), field="client_action_id")
    return value


def _find_replay(session: Session, client_action_id: str, visit: Visit, action: str) -> WorkOrderEvent | None:
    event = session.exec(
        select(WorkOrderEvent).where(WorkOrderEvent.client_action_id == client_action_id)
    ).first()
    if event is None:
        return None
    if event.work_order_id != visit.work_order_id or (event.data or {}).get("tech_action") != action:
        raise Conflict(_l("this action id was already used for another action"),
                       field="client_action_id")
    return event


def _current_visit(session: Session, visit: Visit) -> Visit:
    """An action queued against a plan that has since been re-published lands on the
    same work order's visit in the current plan, if it is still this technician's."""
    plan = session.get(Plan, visit.plan_id)
    if plan is not None and plan.status == "published":
        return visit
    current = published_visit(session, visit.work_order_id)
    if current is None:
        raise Conflict(_l("this visit is no longer on a published plan"), field="visit_id")
    if current.technician_id != visit.technician_id:
        raise Conflict(_l("this work order was given to another technician"), field="visit_id")
    return current


def ensure_visit_is_today(session: Session, visit: Visit, at: datetime) -> None:
    """A visit is started only on its plan's day (in the region's time zone, at the
    moment of the tap, so an update queued offline before midnight still counts for
    its day). Starting tomorrow's visit today texted the merchant "on the way" a day
    early; the dispatcher moves a visit to today's plan when it really is to be done
    today, and then this passes."""
    plan = session.get(Plan, visit.plan_id)
    if plan is None:
        raise Conflict(_l("this visit is no longer on a published plan"), field="visit_id")
    today = region_today(session, plan.region_id, at)
    if plan.day != today:
        raise Conflict(
            _l("this visit is planned for %(day)s, not today (%(today)s): it can be started "
               "only on its day, or once the dispatcher moves it to today",
               day=plan.day.isoformat(), today=today.isoformat()),
            field="visit_id")


def _ensure_assigned(visit: Visit, actor: User) -> None:
    if actor.technician_id is None or actor.technician_id != visit.technician_id:
        raise NotAllowed(_l("only the technician this visit is assigned to can update it"),
                         field="visit_id")


def _transition(session: Session, wo: WorkOrder, to_status: str, actor: User, note: str,
                data: dict, client_action_id: str) -> WorkOrderEvent:
    from dispatch.workorders.service import transition  # the state machine owns the rules

    return transition(session, wo, to_status, actor=actor, note=note, data=data,
                      client_action_id=client_action_id, commit=False)


def _run_action(session: Session, visit_id: int, actor: User, client_action_id: str, action: str,
                apply) -> ActionResult:
    """The frame every technician action shares: lock, replay check, ownership, apply,
    commit once; a concurrent duplicate that loses the race answers as a replay."""
    client_action_id = _check_action_id(client_action_id)
    try:
        with unit_of_work(session) as unit:
            visit = visit_for_user(session, visit_id, actor, for_update=True)
            _ensure_assigned(visit, actor)
            wo = _locked_work_order(session, visit.work_order_id)
            event = _find_replay(session, client_action_id, visit, action)
            if event is None:
                return apply(_current_visit(session, visit), wo)
            unit.discard()  # a replay: nothing to write
    except IntegrityError:  # rolled back
        visit = session.get(Visit, visit_id)
        event = _find_replay(session, client_action_id, visit, action)
        if event is None:
            raise
    return _replay_result(session, event)


def _replay_result(session: Session, event: WorkOrderEvent) -> ActionResult:
    wo = session.get(WorkOrder, event.work_order_id)
    visit = session.get(Visit, (event.data or {}).get("visit_id"))
    return ActionResult(visit=visit, work_order=wo, replayed=True, event_id=event.id,
                        extra={k: v for k, v in (event.data or {}).items()
                               if k in ("eta", "attachment_id")})


def _locked_work_order(session: Session, work_order_id: int) -> WorkOrder:
    stmt = select(WorkOrder).where(WorkOrder.id == work_order_id)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    return session.exec(stmt).one()


# ---------------------------------------------------------------- the actions


def start_travel(session: Session, visit_id: int, actor: User, client_action_id: str, *,
                 at: datetime | None = None, position: Position | None = None) -> ActionResult:
    """Leave for the merchant: en route, with a fresh arrival estimate for the SMS."""
    at = client_time(at)

    def apply(visit: Visit, wo: WorkOrder) -> ActionResult:
        from dispatch.models import Merchant

        ensure_visit_is_today(session, visit, at)
        merchant = session.get(Merchant, wo.merchant_id)
        eta = estimate_arrival(visit, merchant.lat, merchant.lon, at, position)
        visit.status = "en_route"
        visit.actual_departure = at
        session.add(visit)
        data = {"tech_action": "start_travel", "visit_id": visit.id, "at": at.isoformat(),
                "eta": eta.isoformat()}
        if position is not None:
            data["position"] = position.as_dict()
        event = _transition(session, wo, WorkOrderStatus.EN_ROUTE, actor, "", data,
                            client_action_id)
        return ActionResult(visit, wo, False, event.id, {"eta": eta.isoformat()})

    return _run_action(session, visit_id, actor, client_action_id, "start_travel", apply)


def arrive(session: Session, visit_id: int, actor: User, client_action_id: str, *,
           at: datetime | None = None, position: Position | None = None) -> ActionResult:
    """Check in at the merchant (time, and position if the phone shares it)."""
    at = client_time(at)

    def apply(visit: Visit, wo: WorkOrder) -> ActionResult:
        if visit.status == "planned":  # checking in without "start travel" starts it too
            ensure_visit_is_today(session, visit, at)
        visit.status = "on_site"
        visit.actual_arrival = at
        if visit.actual_departure is None:
            visit.actual_departure = at
        session.add(visit)
        data = {"tech_action": "arrive", "visit_id": visit.id, "at": at.isoformat()}
        if position is not None:
            data["position"] = position.as_dict()
        event = _transition(session, wo, WorkOrderStatus.ON_SITE, actor, "", data,
                            client_action_id)
        return ActionResult(visit, wo, False, event.id)

    return _run_action(session, visit_id, actor, client_action_id, "arrive", apply)


def complete(session: Session, visit_id: int, actor: User, client_action_id: str, *,
             resolution_code: str, notes: str = "", parts: list[PartUsed] | tuple = (),
             loaner_serial: str | None = None, faulty_serial: str | None = None,
             checklist_done: list[int] | tuple = (), at: datetime | None = None,
             signoff=None) -> ActionResult:
    """Done: resolution, parts used from the van (serials for serialized parts), notes,
    for a backup swap the loaner installed and the faulty unit taken, and the
    merchant's sign-off (a `dispatch.field.signoff.SignoffIn`: signature and printed name, or
    why there is none), all in one transaction under the phone's id."""
    from dispatch.field.signoff import check_signoff, record_signoff

    at = client_time(at)
    checked_signoff = check_signoff(signoff) if signoff is not None else None
    if resolution_code not in RESOLUTION_CODES:
        raise InvalidInput(_l("must be one of %(choices)s",
                              choices=", ".join(RESOLUTION_CODES)), field="resolution_code")
    notes = (notes or "").strip()
    if len(notes) > 4000:
        raise InvalidInput(_l("must be at most %(n)s characters", n=4000), field="notes")
    loaner_serial = (loaner_serial or "").strip() or None
    faulty_serial = (faulty_serial or "").strip() or None
    _check_parts_shape(parts)

    def apply(visit: Visit, wo: WorkOrder) -> ActionResult:
        visit.status = "done"
        visit.actual_end = at
        if visit.actual_arrival is None:
            visit.actual_arrival = at
        session.add(visit)
        wo.resolution_code = resolution_code
        wo.resolution_note = notes
        ticked = _tick_checklist(wo, checklist_done)
        session.add(wo)
        # Written first, so the stock and state-machine services see a unit under way
        # and join it (they would otherwise start their own, ending ours and its locks).
        session.flush()
        swap = _swap_terminals(session, wo, loaner_serial, faulty_serial)
        used = _consume_parts(session, visit, wo, actor, list(parts), client_action_id)
        data = {"tech_action": "complete", "visit_id": visit.id, "at": at.isoformat(),
                "resolution_code": resolution_code, "parts": used}
        if ticked:
            data["checklist_done"] = ticked
        data.update(swap)
        if checked_signoff is not None:
            data["signed_off"] = True
        event = _transition(session, wo, WorkOrderStatus.COMPLETED, actor, notes, data,
                            client_action_id)
        if checked_signoff is not None:
            record_signoff(session, wo, visit, checked_signoff, actor)
        return ActionResult(visit, wo, False, event.id)

    return _run_action(session, visit_id, actor, client_action_id, "complete", apply)


def could_not_complete(session: Session, visit_id: int, actor: User, client_action_id: str, *,
                       reason: str, note: str = "", at: datetime | None = None) -> ActionResult:
    """Back to the dispatcher: the work order needs a follow-up, with the reason."""
    at = client_time(at)
    if reason not in NOT_DONE_REASONS:
        raise InvalidInput(_l("must be one of %(choices)s",
                              choices=", ".join(NOT_DONE_REASONS)), field="reason")
    note = (note or "").strip()
    if reason == "other" and not note:
        raise InvalidInput(_l("say what stopped the visit"), field="note")
    if len(note) > 4000:
        raise InvalidInput(_l("must be at most %(n)s characters", n=4000), field="note")

    def apply(visit: Visit, wo: WorkOrder) -> ActionResult:
        visit.status = "not_done"
        visit.actual_end = at
        session.add(visit)
        follow_up = f"[{reason}] {note}".strip()
        data = {"tech_action": "could_not_complete", "visit_id": visit.id, "at": at.isoformat(),
                "reason": reason,
                **said("event_note", "not_done_note" if note else "not_done", note=note,
                       reason={"kind": "not_done_reason", "code": reason})}
        event = _transition(session, wo, WorkOrderStatus.NEEDS_FOLLOW_UP, actor, follow_up, data,
                            client_action_id)
        return ActionResult(visit, wo, False, event.id)

    return _run_action(session, visit_id, actor, client_action_id, "could_not_complete", apply)


def add_photo(session: Session, visit_id: int, actor: User, client_action_id: str, *,
              data: bytes, filename: str | None, upload_dir: str) -> ActionResult:
    """A photo of the repaired terminal or the receipt printout, kept with the work
    order; the timeline records it under the phone's id so a resend stores it once."""
    if not data:
        raise InvalidInput(_l("the file is empty"), field="file")

    def apply(visit: Visit, wo: WorkOrder) -> ActionResult:
        from dispatch.workorders.attachments import store_attachment

        if visit.status == "planned":
            raise Conflict(_l("photos are taken on site: arrive first"), field="visit_id")
        att = store_attachment(session, data=data, filename=filename, upload_dir=upload_dir,
                               work_order=wo, actor=actor, commit=False)
        event = WorkOrderEvent(
            work_order_id=wo.id, actor_user_id=actor.id, actor_label=actor.username,
            action="photo_added", from_status=wo.status, to_status=wo.status,
            data={"tech_action": "photos", "visit_id": visit.id, "attachment_id": att.id,
                  "sha256": att.sha256, "size_bytes": att.size_bytes},
            client_action_id=client_action_id,
        )
        session.add(event)
        session.flush()
        return ActionResult(visit, wo, False, event.id, {"attachment_id": att.id})

    return _run_action(session, visit_id, actor, client_action_id, "photos", apply)


def add_signoff(session: Session, visit_id: int, actor: User, client_action_id: str, *,
                signoff) -> ActionResult:
    """The merchant's sign-off for a visit completed without one (queued on the phone
    like the other updates; a resend stores it once)."""
    from dispatch.field.signoff import check_signoff, record_signoff

    checked = check_signoff(signoff)

    def apply(visit: Visit, wo: WorkOrder) -> ActionResult:
        if visit.status != "done":
            raise Conflict(_l("the merchant signs off a completed visit: complete it first"),
                           field="visit_id")
        _row, event = record_signoff(session, wo, visit, checked, actor,
                                     client_action_id=client_action_id)
        return ActionResult(visit, wo, False, event.id)

    return _run_action(session, visit_id, actor, client_action_id, "signoff", apply)


# ---------------------------------------------------------------- parts and terminals


def _tick_checklist(wo: WorkOrder, done: list[int] | tuple) -> list[str]:
    """Mark the checklist items done (by index); returns their codes for the timeline."""
    items = list(wo.checklist or [])
    ticked = []
    for i in sorted(set(done)):
        if not 0 <= i < len(items):
            raise InvalidInput(_l("there is no checklist item %(n)s", n=i),
                               field="checklist_done")
        item = items[i]
        if isinstance(item, dict):
            items[i] = {**item, "done": True}
            ticked.append(str(item.get("code") or item.get("label") or i))
        else:
            items[i] = item
            ticked.append(str(item))
    wo.checklist = items  # a new list, so the JSON column is written
    return ticked


def _check_parts_shape(parts) -> None:
    seen: set[str] = set()
    for i, p in enumerate(parts):
        if p.qty < 1 or p.qty > 20:
            raise InvalidInput(_l("must be between 1 and %(max)s", max=20),
                               field=f"parts[{i}].qty")
        for s in p.serials:
            if s in seen:
                raise InvalidInput(_l("serial %(serial)s is listed twice", serial=s),
                                   field=f"parts[{i}].serials")
            seen.add(s)


def _consume_parts(session: Session, visit: Visit, wo: WorkOrder, actor: User,
                   parts: list[PartUsed], client_action_id: str) -> list[dict]:
    if not parts:
        return []
    van = van_of(session, visit.technician_id)
    if van is None:
        raise InvalidInput(_l("this technician has no van stock to take parts from"),
                           field="parts")
    from inventory import stock

    used = []
    for i, p in enumerate(parts):
        part = session.get(Part, p.part_id)
        if part is None:
            raise InvalidInput(_l("no such part"), field=f"parts[{i}].part_id")
        serials = [s.strip() for s in p.serials if s and s.strip()]
        if part.serialized and len(serials) != p.qty:
            raise InvalidInput(_l("%(sku)s is serial-tracked: give %(n)s serial(s)",
                                  sku=part.sku, n=p.qty), field=f"parts[{i}].serials")
        if not part.serialized and serials:
            raise InvalidInput(_l("%(sku)s is not serial-tracked", sku=part.sku),
                               field=f"parts[{i}].serials")
        source = _source_location(session, wo, part, p.qty, serials, van, i)
        stock.consume(session, wo.id, source.id, part.id, p.qty, actor, serials=serials or None,
                      commit=False)
        used.append({"part_id": part.id, "sku": part.sku, "qty": p.qty, "serials": serials,
                     "location": source.code})
    return used


def _source_location(session: Session, wo: WorkOrder, part: Part, qty: int, serials: list[str],
                     van: StockLocation, index: int) -> StockLocation:
    """Parts come from the van, or from where they were reserved for this work order
    (a pickup at the depot on the way): the technician took those units along."""
    from inventory.stock import remaining

    reserved = [r for r in session.exec(select(Reservation).where(
        Reservation.work_order_id == wo.id, Reservation.part_id == part.id,
        Reservation.status == "active")).all() if remaining(r) > 0]
    allowed = {van.id} | {r.location_id for r in reserved}
    if serials:
        where = set()
        for s in serials:
            unit = session.exec(select(SerialUnit).where(SerialUnit.serial == s)).first()
            if unit is None or unit.part_id != part.id or unit.status != "in_stock" \
                    or unit.location_id not in allowed:
                raise InvalidInput(
                    _l("serial %(serial)s is not a %(sku)s in your van or picked up for this job",
                       serial=s, sku=part.sku),
                    field=f"parts[{index}].serials")
            where.add(unit.location_id)
        if len(where) > 1:
            raise InvalidInput(_l("give the serials of one place per line (van or depot)"),
                               field=f"parts[{index}].serials")
        return session.get(StockLocation, where.pop())
    for r in reserved:
        if r.location_id != van.id and remaining(r) >= qty:
            return session.get(StockLocation, r.location_id)
    return van


def _swap_terminals(session: Session, wo: WorkOrder, loaner_serial: str | None,
                    faulty_serial: str | None) -> dict:
    """The loaner goes in at the merchant, the faulty unit comes back for repair."""
    if loaner_serial is None and faulty_serial is None:
        if wo.kind == WorkOrderKind.BACKUP_SWAP:
            raise InvalidInput(_l("a backup swap needs the loaner serial installed"),
                               field="loaner_serial")
        return {}
    out: dict = {}
    faulty = None
    if faulty_serial is not None:
        faulty = session.exec(select(Terminal).where(Terminal.serial == faulty_serial)).first()
        if faulty is None or faulty.merchant_id != wo.merchant_id or faulty.is_loaner:
            raise InvalidInput(_l("is not one of this merchant's terminals"),
                               field="faulty_serial")
        faulty.status = TerminalStatus.IN_REPAIR
        session.add(faulty)
        out["faulty_serial"] = faulty.serial
    if loaner_serial is not None:
        loaner = session.exec(select(Terminal).where(Terminal.serial == loaner_serial)).first()
        if loaner is None or not loaner.is_loaner:
            raise InvalidInput(_l("is not a loaner terminal"), field="loaner_serial")
        if loaner.status != TerminalStatus.POOL and loaner.id != wo.loaner_terminal_id:
            raise InvalidInput(_l("this loaner is not available (already out)"),
                               field="loaner_serial")
        loaner.status = TerminalStatus.LOANED
        loaner.merchant_id = wo.merchant_id
        loaner.installed_at = utcnow()
        loaner.replaces_terminal_id = (faulty.id if faulty is not None else wo.terminal_id)
        session.add(loaner)
        wo.loaner_terminal_id = loaner.id
        wo.backup_status = "delivered"
        out["loaner_serial"] = loaner.serial
    return out


__all__ = [
    "NOT_DONE_REASONS",
    "RESOLUTION_CODES",
    "ActionResult",
    "PartUsed",
    "Position",
    "add_photo",
    "add_signoff",
    "arrive",
    "complete",
    "could_not_complete",
    "ensure_visit_is_today",
    "published_plan",
    "region_today",
    "require_technician_scope",
    "start_travel",
    "technician_of",
    "van_of",
    "visit_for_user",
    "visits_for_day",
]
