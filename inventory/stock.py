"""The stock ledger's service functions: receive, transfer, reserve, release, consume,
return faulty, adjust.

Every change writes StockMove rows (the ledger) and updates the StockLevel row of the
same location and part in the same transaction, so on-hand, reserved and faulty always
equal the sums of the ledger's deltas. A level only changes through one conditional
UPDATE whose WHERE clause carries the rule "nothing below zero, reserved within on
hand": on PostgreSQL a concurrent UPDATE of the same row waits for the first to commit
and then re-checks the WHERE clause against the new row, so two reservations can never
both take the last unit; on SQLite `begin_write` (BEGIN IMMEDIATE) serialises writers.
A refused change raises `InsufficientStock` (a Conflict) and nothing is written.

Each function validates, writes the ledger, records one audit event and commits once;
on any error it rolls back and re-raises (a `core.errors` error names the field). With
commit=False a function joins the caller's transaction instead (flush only)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import and_, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from core.audit import actor_fields, record_audit
from core.db import is_sqlite, unit_of_work
from core.errors import Conflict, InvalidInput, NotFound
from core.i18n import lazy_word
from core.models import MAX_ID
from inventory import refs
from inventory.models import (
    Part,
    PartFit,
    Reservation,
    SerialUnit,
    StockLevel,
    StockLocation,
    StockMove,
)

MOVE_KINDS = ("receive", "transfer", "reserve", "release", "consume", "return_faulty", "adjust")


class InsufficientStock(Conflict):
    """The location does not have enough available (on hand minus reserved) units."""

    code = "insufficient_stock"


# ---------------------------------------------------------------------------------
# validation helpers


def check_qty(qty: Any, field: str = "qty") -> int:
    if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
        raise InvalidInput(_l("must be a whole number greater than zero"), field=field)
    return qty


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def get_part(session: Session, part_id: Any, field: str = "part_id") -> Part:
    part = session.get(Part, part_id) if _is_id(part_id) else None
    if part is None:
        raise InvalidInput(_l("unknown part %(id)s", id=repr(part_id)), field=field)
    return part


def _location_kind_words() -> dict[str, str]:
    return {"depot": pgettext("stock location kind", "depot"),
            "van": pgettext("stock location kind", "van")}


def get_location(session: Session, location_id: Any, field: str = "location_id",
                 kind: str | None = None) -> StockLocation:
    loc = session.get(StockLocation, location_id) if _is_id(location_id) else None
    if loc is None:
        raise InvalidInput(_l("unknown stock location %(id)s", id=repr(location_id)),
                           field=field)
    if kind is not None and loc.kind != kind:
        raise InvalidInput(_l("must be a %(kind)s location, %(code)s is a %(actual)s",
                              kind=lazy_word(_location_kind_words, kind), code=loc.code,
                              actual=lazy_word(_location_kind_words, loc.kind)), field=field)
    return loc


def _work_order_row(session: Session, work_order_id: Any, field: str = "work_order_id"):
    wo = refs.work_order()
    row = None
    if _is_id(work_order_id):
        row = session.execute(
            sa_select(wo.c.id, wo.c.number, wo.c.terminal_id, wo.c.status)
            .where(wo.c.id == work_order_id)).first()
    if row is None:
        raise InvalidInput(_l("unknown work order %(id)s", id=repr(work_order_id)), field=field)
    return row


def part_fits_model(session: Session, part_id: int, terminal_model_id: int) -> bool:
    """A part with no fit rows (paper, generic chargers) fits every model."""
    fits = session.exec(select(PartFit.terminal_model_id).where(PartFit.part_id == part_id)).all()
    return not fits or terminal_model_id in fits


def _check_fits_work_order(session: Session, part: Part, wo_row) -> None:
    if wo_row.terminal_id is None:
        return
    t = refs.terminal()
    model_id = session.execute(sa_select(t.c.model_id).where(t.c.id == wo_row.terminal_id)).scalar()
    if model_id is not None and not part_fits_model(session, part.id, model_id):
        raise InvalidInput(
            _l("part %(sku)s does not fit the terminal model of work order %(number)s",
               sku=part.sku, number=wo_row.number),
            field="part_id", code="wrong_model")


def _check_serials(serials: Sequence[str] | None, part: Part, qty: int) -> list[str]:
    if not part.serialized:
        if serials:
            raise InvalidInput(_l("part %(sku)s is not serial-tracked", sku=part.sku),
                               field="serials")
        return []
    serials = [str(s).strip() for s in (serials or [])]
    if len(serials) != qty or any(not s for s in serials):
        raise InvalidInput(
            _l("part %(sku)s is serial-tracked: give exactly %(n)s serial numbers",
               sku=part.sku, n=qty),
            field="serials")
    if len(set(serials)) != len(serials):
        raise InvalidInput(_l("serial numbers repeat"), field="serials")
    if any(len(s) > 40 for s in serials):
        raise InvalidInput(_l("a serial number is longer than 40 characters"), field="serials")
    return serials


def _units_at(session: Session, part: Part, location: StockLocation,
              serials: list[str]) -> list[SerialUnit]:
    """The in-stock units with these serials at this location, or InvalidInput naming the
    first serial that is not there."""
    units = []
    for s in serials:
        unit = session.exec(select(SerialUnit).where(SerialUnit.serial == s)).first()
        if (unit is None or unit.part_id != part.id or unit.location_id != location.id
                or unit.status != "in_stock"):
            raise InvalidInput(_l("serial %(serial)s is not in stock at %(location)s",
                                  serial=s, location=location.code),
                               field="serials", code="serial_not_here")
        units.append(unit)
    return units


# ---------------------------------------------------------------------------------
# the one place levels change


def _ensure_level(session: Session, location_id: int, part_id: int) -> None:
    insert = sqlite_insert if is_sqlite(session) else pg_insert
    stmt = insert(StockLevel.__table__).values(
        location_id=location_id, part_id=part_id, on_hand=0, reserved=0, faulty=0
    ).on_conflict_do_nothing(index_elements=["location_id", "part_id"])
    session.execute(stmt)


def available(session: Session, location_id: int, part_id: int) -> int:
    row = session.exec(select(StockLevel).where(StockLevel.location_id == location_id,
                                                StockLevel.part_id == part_id)).first()
    if row is None:
        return 0
    session.refresh(row)
    return row.on_hand - row.reserved


def _apply(session: Session, *, kind: str, location: StockLocation, part: Part,
           on_hand: int = 0, reserved: int = 0, faulty: int = 0, actor=None,
           **fields: Any) -> StockMove:
    """Change one level by these deltas and write the ledger row, or refuse (InsufficientStock)."""
    if on_hand > 0 or reserved > 0 or faulty > 0:
        _ensure_level(session, location.id, part.id)
    lvl = StockLevel.__table__.c
    stmt = (
        update(StockLevel.__table__)
        .where(lvl.location_id == location.id, lvl.part_id == part.id,
               lvl.reserved + reserved >= 0,
               lvl.on_hand + on_hand >= lvl.reserved + reserved,
               lvl.faulty + faulty >= 0)
        .values(on_hand=lvl.on_hand + on_hand, reserved=lvl.reserved + reserved,
                faulty=lvl.faulty + faulty)
    )
    if session.execute(stmt).rowcount != 1:
        have = available(session, location.id, part.id)
        need = max(-on_hand, reserved, 1)
        raise InsufficientStock(
            _l("not enough %(sku)s at %(location)s: %(have)s available, %(need)s needed",
               sku=part.sku, location=location.code, have=have, need=need),
            field="qty")
    actor_id, _label = actor_fields(actor)
    move = StockMove(kind=kind, part_id=part.id, location_id=location.id,
                     on_hand_delta=on_hand, reserved_delta=reserved, faulty_delta=faulty,
                     actor_user_id=actor_id, **fields)
    session.add(move)
    return move


def _audit(session: Session, action: str, location: StockLocation, part: Part, actor,
           **data: Any) -> None:
    actor_id, label = actor_fields(actor)
    record_audit(session, "stock", f"{location.code}/{part.sku}", action,
                 actor_user_id=actor_id, actor_label=label, location_id=location.id,
                 part_id=part.id, **data)


# ---------------------------------------------------------------------------------
# service functions


def receive(session: Session, location_id: int, part_id: int, qty: int, actor=None, *,
            serials: Sequence[str] | None = None, reason: str = "", commit: bool = True) -> list[StockMove]:
    """Goods in at a location (a depot normally; a van for an initial load)."""
    with unit_of_work(session, commit):
        qty = check_qty(qty)
        part = get_part(session, part_id)
        loc = get_location(session, location_id)
        serials = _check_serials(serials, part, qty)
        moves = []
        if serials:
            for s in serials:
                if session.exec(select(SerialUnit).where(SerialUnit.serial == s)).first():
                    raise InvalidInput(_l("serial %(serial)s is already known", serial=s),
                                       field="serials")
                session.add(SerialUnit(serial=s, part_id=part.id, location_id=loc.id))
                moves.append(_apply(session, kind="receive", location=loc, part=part, on_hand=1,
                                    serial=s, reason=reason[:255], actor=actor))
        else:
            moves.append(_apply(session, kind="receive", location=loc, part=part, on_hand=qty,
                                reason=reason[:255], actor=actor))
        _audit(session, "receive", loc, part, actor, qty=qty, serials=serials, reason=reason)
    return moves


def _transfer(session: Session, actor, from_location_id, to_location_id, part_id, qty,
              serials, reason) -> list[StockMove]:
    qty = check_qty(qty)
    part = get_part(session, part_id)
    src = get_location(session, from_location_id, "from_location_id")
    dst = get_location(session, to_location_id, "to_location_id")
    if src.id == dst.id:
        raise InvalidInput(_l("must differ from from_location_id"), field="to_location_id")
    serials = _check_serials(serials, part, qty)
    moves = []
    chunks: list[tuple[int, str | None]] = [(1, s) for s in serials] or [(qty, None)]
    units = {u.serial: u for u in _units_at(session, part, src, serials)}
    for n, serial in chunks:
        moves.append(_apply(session, kind="transfer", location=src, part=part, on_hand=-n,
                            counter_location_id=dst.id, serial=serial, reason=reason[:255],
                            actor=actor))
        moves.append(_apply(session, kind="transfer", location=dst, part=part, on_hand=n,
                            counter_location_id=src.id, serial=serial, reason=reason[:255],
                            actor=actor))
        if serial:
            units[serial].location_id = dst.id
            session.add(units[serial])
    _audit(session, "transfer", src, part, actor, qty=qty, to_location_id=dst.id,
           serials=serials, reason=reason)
    return moves


def transfer(session: Session, from_location_id: int, to_location_id: int, part_id: int,
             qty: int, actor=None, *, serials: Sequence[str] | None = None,
             reason: str = "", commit: bool = True) -> list[StockMove]:
    """Move available units between locations (depot → van restock, van → depot)."""
    with unit_of_work(session, commit):
        return _transfer(session, actor, from_location_id, to_location_id, part_id, qty,
                         serials, reason)


def restock_van(session: Session, from_location_id: int, van_id: int,
                lines: Iterable[tuple[int, int]], actor=None, *,
                reason: str = "restock", commit: bool = True) -> list[StockMove]:
    """Several transfers (part_id, qty) into a van as one unit: all or nothing."""
    with unit_of_work(session, commit):
        get_location(session, van_id, "van_id", kind="van")
        moves = []
        for part_id, qty in lines:
            moves += _transfer(session, actor, from_location_id, van_id, part_id, qty, None,
                               reason)
        return moves


def reserve_parts(session: Session, work_order_id: int, location_id: int, part_id: int,
                  qty: int, actor=None, *, commit: bool = True) -> Reservation:
    """Set units aside at a location for a work order; refuses (InsufficientStock) when fewer than
    `qty` are available, also against concurrent reservations."""
    with unit_of_work(session, commit):
        qty = check_qty(qty)
        part = get_part(session, part_id)
        loc = get_location(session, location_id)
        wo = _work_order_row(session, work_order_id)
        _check_fits_work_order(session, part, wo)
        actor_id, _ = actor_fields(actor)
        reservation = Reservation(work_order_id=wo.id, part_id=part.id, location_id=loc.id,
                                  qty=qty, created_by_user_id=actor_id)
        # the conditional UPDATE first: a refusal leaves nothing to undo
        move = _apply(session, kind="reserve", location=loc, part=part, reserved=qty,
                      work_order_id=wo.id, actor=actor)
        session.add(reservation)
        session.flush()
        move.reservation_id = reservation.id
        _audit(session, "reserve", loc, part, actor, qty=qty, work_order_id=wo.id,
               reservation_id=reservation.id)
    return reservation


def _get_reservation(session: Session, reservation_id: Any, lock: bool = True) -> Reservation:
    stmt = select(Reservation).where(Reservation.id == reservation_id)
    if lock and not is_sqlite(session):
        stmt = stmt.with_for_update()
    r = session.exec(stmt).first() if _is_id(reservation_id) else None
    if r is None:
        raise NotFound(_l("unknown reservation %(id)s", id=repr(reservation_id)),
                       field="reservation_id")
    return r


def _reservation_status_words() -> dict[str, str]:
    return {"active": pgettext("reservation status", "active"),
            "consumed": pgettext("reservation status", "consumed"),
            "released": pgettext("reservation status", "released")}


def remaining(r: Reservation) -> int:
    return r.qty - r.consumed_qty - r.released_qty


def _settle(r: Reservation) -> None:
    if remaining(r) == 0:
        r.status = "consumed" if r.consumed_qty else "released"


def release(session: Session, reservation_id: int, actor=None, *, qty: int | None = None,
            reason: str = "", commit: bool = True) -> Reservation:
    """Give reserved units back to the location's available stock (all by default)."""
    with unit_of_work(session, commit):
        r = _get_reservation(session, reservation_id)
        if r.status != "active":
            raise Conflict(_l("reservation %(id)s is %(status)s", id=r.id,
                              status=lazy_word(_reservation_status_words, r.status)),
                           field="reservation_id")
        qty = remaining(r) if qty is None else check_qty(qty)
        if qty > remaining(r):
            raise InvalidInput(_l("only %(n)s still reserved", n=remaining(r)), field="qty")
        part = session.get(Part, r.part_id)
        loc = session.get(StockLocation, r.location_id)
        _apply(session, kind="release", location=loc, part=part, reserved=-qty,
               work_order_id=r.work_order_id, reservation_id=r.id, reason=reason[:255],
               actor=actor)
        r.released_qty += qty
        _settle(r)
        session.add(r)
        _audit(session, "release", loc, part, actor, qty=qty, work_order_id=r.work_order_id,
               reservation_id=r.id, reason=reason)
    return r


def release_for_work_order(session: Session, work_order_id: int, actor=None, *,
                           reason: str = "", commit: bool = True) -> int:
    """Release every active reservation of a work order (cancelled, or the parts were
    not needed); returns the number of units released. With commit=False it joins the
    caller's transaction (signal receivers)."""
    def run() -> int:
        total = 0
        rows = session.exec(select(Reservation).where(Reservation.work_order_id == work_order_id,
                                                      Reservation.status == "active")).all()
        for r in rows:
            n = remaining(r)
            part = session.get(Part, r.part_id)
            loc = session.get(StockLocation, r.location_id)
            _apply(session, kind="release", location=loc, part=part, reserved=-n,
                   work_order_id=work_order_id, reservation_id=r.id, reason=reason[:255],
                   actor=actor)
            r.released_qty += n
            _settle(r)
            session.add(r)
            _audit(session, "release", loc, part, actor, qty=n, work_order_id=work_order_id,
                   reservation_id=r.id, reason=reason)
            total += n
        return total

    with unit_of_work(session, commit):
        return run()


def consume(session: Session, work_order_id: int, location_id: int, part_id: int, qty: int,
            actor=None, *, serials: Sequence[str] | None = None,
            commit: bool = True) -> list[StockMove]:
    """Parts used on a work order, taken from the location (the technician's van):
    the work order's active reservations there are used first, then available stock.
    Serial-tracked parts need the serials used; they become 'installed'.
    With commit=False it joins the caller's transaction (completing a visit)."""
    with unit_of_work(session, commit):
        qty = check_qty(qty)
        part = get_part(session, part_id)
        loc = get_location(session, location_id)
        wo = _work_order_row(session, work_order_id)
        _check_fits_work_order(session, part, wo)
        serials = _check_serials(serials, part, qty)
        units = _units_at(session, part, loc, serials)
        stmt = select(Reservation).where(
            Reservation.work_order_id == wo.id, Reservation.part_id == part.id,
            Reservation.location_id == loc.id, Reservation.status == "active",
        ).order_by(Reservation.id)
        if not is_sqlite(session):
            stmt = stmt.with_for_update()
        reservations = list(session.exec(stmt).all())
        # plan the takes: (reservation or None, count)
        takes: list[tuple[Reservation | None, int]] = []
        left = qty
        for r in reservations:
            n = min(left, remaining(r))
            if n:
                takes.append((r, n))
                left -= n
        if left:
            takes.append((None, left))
        moves = []
        unit_iter = iter(units)
        for r, n in takes:
            pieces = [1] * n if part.serialized else [n]
            for piece in pieces:
                unit = next(unit_iter) if part.serialized else None
                moves.append(_apply(session, kind="consume", location=loc, part=part,
                                    on_hand=-piece, reserved=-piece if r else 0,
                                    work_order_id=wo.id, reservation_id=r.id if r else None,
                                    serial=unit.serial if unit else None, actor=actor))
                if unit:
                    unit.status = "installed"
                    unit.location_id = None
                    unit.work_order_id = wo.id
                    session.add(unit)
            if r:
                r.consumed_qty += n
                _settle(r)
                session.add(r)
        _audit(session, "consume", loc, part, actor, qty=qty, work_order_id=wo.id,
               serials=serials)
    return moves


def return_faulty(session: Session, location_id: int, part_id: int, qty: int, actor=None, *,
                  work_order_id: int | None = None, from_location_id: int | None = None,
                  serials: Sequence[str] | None = None, reason: str = "",
                  commit: bool = True) -> list[StockMove]:
    """Faulty units back to a depot, where they count as faulty (never available).
    They come from the field (taken out of a merchant's terminal on a work order) or,
    with from_location_id, out of a location's stock (a unit found faulty in a van)."""
    with unit_of_work(session, commit):
        qty = check_qty(qty)
        part = get_part(session, part_id)
        depot = get_location(session, location_id, kind="depot")
        src = None
        if from_location_id is not None:
            src = get_location(session, from_location_id, "from_location_id")
        wo = _work_order_row(session, work_order_id) if work_order_id is not None else None
        serials = _check_serials(serials, part, qty)
        units: dict[str, SerialUnit] = {}
        if src is not None:
            units = {u.serial: u for u in _units_at(session, part, src, serials)}
        else:
            for s in serials:
                unit = session.exec(select(SerialUnit).where(SerialUnit.serial == s)).first()
                if unit is not None and (unit.part_id != part.id or unit.status == "in_stock"):
                    raise InvalidInput(
                        _l("serial %(serial)s is in stock, not in the field: give from_location_id",
                           serial=s),
                        field="serials", code="serial_not_here")
                units[s] = unit or SerialUnit(serial=s, part_id=part.id)
        moves = []
        chunks: list[tuple[int, str | None]] = [(1, s) for s in serials] or [(qty, None)]
        wo_id = wo.id if wo else None
        for n, serial in chunks:
            if src is not None:
                moves.append(_apply(session, kind="return_faulty", location=src, part=part,
                                    on_hand=-n, counter_location_id=depot.id, serial=serial,
                                    work_order_id=wo_id, reason=reason[:255], actor=actor))
            moves.append(_apply(session, kind="return_faulty", location=depot, part=part,
                                faulty=n, counter_location_id=src.id if src else None,
                                serial=serial, work_order_id=wo_id, reason=reason[:255],
                                actor=actor))
            if serial:
                unit = units[serial]
                unit.status = "faulty"
                unit.location_id = depot.id
                unit.work_order_id = wo_id
                session.add(unit)
        _audit(session, "return_faulty", depot, part, actor, qty=qty, work_order_id=wo_id,
               from_location_id=src.id if src else None, serials=serials, reason=reason)
    return moves


def adjust(session: Session, location_id: int, part_id: int, delta: int, reason: str,
           actor=None, *, serials: Sequence[str] | None = None, commit: bool = True) -> list[StockMove]:
    """Correct on-hand after a count (found, lost, damaged); the reason is required and
    on-hand never drops below what is reserved."""
    with unit_of_work(session, commit):
        if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
            raise InvalidInput(_l("must be a non-zero whole number"), field="delta")
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput(_l("say why the stock is adjusted"), field="reason")
        part = get_part(session, part_id)
        loc = get_location(session, location_id)
        serials = _check_serials(serials, part, abs(delta))
        moves = []
        if not serials:
            moves.append(_apply(session, kind="adjust", location=loc, part=part, on_hand=delta,
                                reason=reason[:255], actor=actor))
        elif delta < 0:
            for unit in _units_at(session, part, loc, serials):
                moves.append(_apply(session, kind="adjust", location=loc, part=part, on_hand=-1,
                                    serial=unit.serial, reason=reason[:255], actor=actor))
                unit.status = "scrapped"
                unit.location_id = None
                session.add(unit)
        else:
            for s in serials:
                unit = session.exec(select(SerialUnit).where(SerialUnit.serial == s)).first()
                if unit is not None and (unit.part_id != part.id or unit.status == "in_stock"):
                    raise InvalidInput(_l("serial %(serial)s is already in stock", serial=s),
                                       field="serials")
                unit = unit or SerialUnit(serial=s, part_id=part.id)
                unit.status = "in_stock"
                unit.location_id = loc.id
                unit.work_order_id = None
                session.add(unit)
                moves.append(_apply(session, kind="adjust", location=loc, part=part, on_hand=1,
                                    serial=s, reason=reason[:255], actor=actor))
        _audit(session, "adjust", loc, part, actor, delta=delta, serials=serials, reason=reason)
    return moves


# ---------------------------------------------------------------------------------
# reading


@dataclass
class LedgerMismatch:
    location_id: int
    part_id: int
    level: tuple[int, int, int]
    ledger: tuple[int, int, int]


def ledger_mismatches(session: Session,
                      location_ids: Iterable[int] | None = None) -> list[LedgerMismatch]:
    """Levels whose on-hand, reserved or faulty differ from the ledger sums (should be
    none, ever); also a ledger sum without a level row. Optionally for some locations."""
    m = StockMove.__table__.c
    sums_q = (sa_select(m.location_id, m.part_id, func.sum(m.on_hand_delta).label("oh"),
                        func.sum(m.reserved_delta).label("rs"), func.sum(m.faulty_delta).label("fl"))
              .group_by(m.location_id, m.part_id))
    levels_q = select(StockLevel).execution_options(populate_existing=True)
    if location_ids is not None:
        ids = list(location_ids)
        sums_q = sums_q.where(m.location_id.in_(ids))
        levels_q = levels_q.where(StockLevel.location_id.in_(ids))
    sums = {(r.location_id, r.part_id): (int(r.oh), int(r.rs), int(r.fl))
            for r in session.execute(sums_q)}
    out = []
    seen = set()
    for lv in session.exec(levels_q).all():
        key = (lv.location_id, lv.part_id)
        seen.add(key)
        have = (lv.on_hand, lv.reserved, lv.faulty)
        want = sums.get(key, (0, 0, 0))
        if have != want:
            out.append(LedgerMismatch(lv.location_id, lv.part_id, have, want))
    for key, want in sums.items():
        if key not in seen and want != (0, 0, 0):
            out.append(LedgerMismatch(key[0], key[1], (0, 0, 0), want))
    return out


def levels_statement(location_id: int | None = None, part_id: int | None = None,
                     location_kind: str | None = None, depot_id: int | None = None,
                     only_nonzero: bool = False):
    stmt = (select(StockLevel, StockLocation, Part)
            .join(StockLocation, StockLocation.id == StockLevel.location_id)
            .join(Part, Part.id == StockLevel.part_id))
    if location_id is not None:
        stmt = stmt.where(StockLevel.location_id == location_id)
    if part_id is not None:
        stmt = stmt.where(StockLevel.part_id == part_id)
    if location_kind:
        stmt = stmt.where(StockLocation.kind == location_kind)
    if depot_id is not None:
        stmt = stmt.where(StockLocation.depot_id == depot_id)
    if only_nonzero:
        stmt = stmt.where((StockLevel.on_hand != 0) | (StockLevel.faulty != 0))
    return stmt.order_by(StockLocation.kind, StockLocation.code, Part.sku)


def moves_statement(*, location_id: int | None = None, part_id: int | None = None,
                    kind: str | None = None, work_order_id: int | None = None,
                    serial: str | None = None, since: datetime | None = None,
                    until: datetime | None = None):
    stmt = select(StockMove)
    conds = []
    if location_id is not None:
        conds.append(StockMove.location_id == location_id)
    if part_id is not None:
        conds.append(StockMove.part_id == part_id)
    if kind:
        conds.append(StockMove.kind == kind)
    if work_order_id is not None:
        conds.append(StockMove.work_order_id == work_order_id)
    if serial:
        conds.append(StockMove.serial == serial)
    if since is not None:
        conds.append(StockMove.at >= since)
    if until is not None:
        conds.append(StockMove.at < until)
    if conds:
        stmt = stmt.where(and_(*conds))
    return stmt.order_by(StockMove.id.desc())


def van_for_technician(session: Session, technician_id: int) -> StockLocation | None:
    return session.exec(select(StockLocation).where(StockLocation.kind == "van",
                                                    StockLocation.technician_id == technician_id)
                        ).first()


def depot_location(session: Session, depot_id: int) -> StockLocation | None:
    return session.exec(select(StockLocation).where(StockLocation.kind == "depot",
                                                    StockLocation.depot_id == depot_id)).first()


def parts_for_kind(session: Session, kind: str, terminal_model_id: int | None) -> list[Part]:
    """The parts of a kind that fit a model (all of the kind when the model is unknown)."""
    parts = session.exec(select(Part).where(Part.kind == kind).order_by(Part.sku)).all()
    if terminal_model_id is None:
        return list(parts)
    return [p for p in parts if part_fits_model(session, p.id, terminal_model_id)]


def reservations_for(session: Session, work_order_id: int,
                     statuses: Iterable[str] = ("active",)) -> list[Reservation]:
    return list(session.exec(select(Reservation).where(
        Reservation.work_order_id == work_order_id,
        Reservation.status.in_(tuple(statuses)))).all())
