"""JSON API for stock (all in the OpenAPI document): levels, the ledger, serials,
restock and reorder suggestions, and the stock operations. Thin: validate, check
who may do it, call inventory.stock / inventory.forecast, answer."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from flask import Flask, current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from core import openapi
from core.api import MAX_ID, Id, Strict, Text, api_v1, paginate, parse_body, read_page
from core.auth import login_required, roles_required
from core.db import get_session
from core.errors import InvalidInput, NotAllowed
from core.models import Role
from core.timeutil import as_utc
from inventory import forecast, stock
from inventory.models import Part, Reservation, SerialUnit, StockLocation, StockMove

TAG = "inventory"
WRITERS = (Role.DISPATCHER,)

WorkOrderScope = Callable[[Session, object, int], object]


def set_work_order_scope(app: Flask, check: WorkOrderScope) -> None:
    """Register the rule for a technician acting on a work order (parts consumed, faulty
    returns tagged to it): `check(session, actor, work_order_id)` raises if they may not.
    The rule is dispatch's (it knows visits and plans), and dispatch sits above
    inventory, so dispatch registers it here instead of inventory importing it."""
    app.extensions["fixroute.work_order_scope"] = check


def require_technician_scope(session: Session, actor, work_order_id: int) -> None:
    """Apply the registered work-order rule; without one the app is miswired, and a
    technician's stock move is refused rather than let through."""
    check = current_app.extensions.get("fixroute.work_order_scope")
    if check is None:
        raise RuntimeError("no work-order scope registered (dispatch.field.init_app sets it)")
    check(session, actor, work_order_id)


Qty = Annotated[int, Field(gt=0, le=100000)]
Serials = Annotated[list[Annotated[Text, Field(min_length=1, max_length=40)]],
                    Field(max_length=500)]


class ReserveIn(Strict):
    work_order_id: Id
    location_id: Id
    part_id: Id
    qty: Qty


class ReleaseIn(Strict):
    qty: Qty | None = None
    reason: Annotated[Text, Field(max_length=255)] = ""


class ConsumeIn(Strict):
    work_order_id: Id
    location_id: Id
    part_id: Id
    qty: Qty
    serials: Serials | None = None


class TransferIn(Strict):
    from_location_id: Id
    to_location_id: Id
    part_id: Id
    qty: Qty
    serials: Serials | None = None
    reason: Annotated[Text, Field(max_length=255)] = ""


class ReceiveIn(Strict):
    location_id: Id
    part_id: Id
    qty: Qty
    serials: Serials | None = None
    reason: Annotated[Text, Field(max_length=255)] = ""


class AdjustIn(Strict):
    location_id: Id
    part_id: Id
    delta: Annotated[int, Field(ge=-100000, le=100000)]
    reason: Annotated[Text, Field(min_length=1, max_length=255)]
    serials: Serials | None = None


class ReturnFaultyIn(Strict):
    location_id: Id
    part_id: Id
    qty: Qty
    work_order_id: Id | None = None
    from_location_id: Id | None = None
    serials: Serials | None = None
    reason: Annotated[Text, Field(max_length=255)] = ""


class MoveOut(BaseModel):
    id: int
    at: str
    kind: str
    part_id: int
    location_id: int
    on_hand_delta: int
    reserved_delta: int
    faulty_delta: int
    counter_location_id: int | None
    work_order_id: int | None
    reservation_id: int | None
    serial: str | None
    reason: str
    actor_user_id: int | None


class MovesOut(BaseModel):
    moves: list[MoveOut]


class ReservationOut(BaseModel):
    id: int
    work_order_id: int
    part_id: int
    location_id: int
    qty: int
    consumed_qty: int
    released_qty: int
    remaining: int
    status: str


def _move(m: StockMove) -> dict:
    return {"id": m.id, "at": m.at.isoformat(), "kind": m.kind, "part_id": m.part_id,
            "location_id": m.location_id, "on_hand_delta": m.on_hand_delta,
            "reserved_delta": m.reserved_delta, "faulty_delta": m.faulty_delta,
            "counter_location_id": m.counter_location_id, "work_order_id": m.work_order_id,
            "reservation_id": m.reservation_id, "serial": m.serial, "reason": m.reason,
            "actor_user_id": m.actor_user_id}


def _reservation(r: Reservation) -> dict:
    return {"id": r.id, "work_order_id": r.work_order_id, "part_id": r.part_id,
            "location_id": r.location_id, "qty": r.qty, "consumed_qty": r.consumed_qty,
            "released_qty": r.released_qty, "remaining": stock.remaining(r), "status": r.status}


def _part(p: Part) -> dict:
    return {"id": p.id, "sku": p.sku, "name": p.name, "name_zh": p.name_zh, "kind": p.kind,
            "serialized": p.serialized, "unit_cost_cents": p.unit_cost_cents,
            "reorder_point": p.reorder_point}


def _location(loc: StockLocation) -> dict:
    return {"id": loc.id, "code": loc.code, "name": loc.name, "kind": loc.kind,
            "depot_id": loc.depot_id, "technician_id": loc.technician_id}


def _int_arg(name: str, required: bool = False) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        if required:
            raise InvalidInput(_l("is required"), field=name)
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(_l("must be an integer"), field=name) from None
    if not 1 <= value <= MAX_ID:
        raise InvalidInput(_l("must be between 1 and %(max)s", max=MAX_ID), field=name)
    return value


def _dt_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return as_utc(datetime.fromisoformat(raw))
    except ValueError:
        raise InvalidInput(_l("must be an ISO 8601 date-time"), field=name) from None


def _choice_arg(name: str, choices: tuple[str, ...]) -> str | None:
    raw = request.args.get(name) or None
    if raw is not None and raw not in choices:
        raise InvalidInput(_l("must be one of %(choices)s", choices=", ".join(choices)),
                           field=name)
    return raw


def _technician_may_use(location_id: int) -> None:
    """Technicians work from their own van only."""
    if current_user.role != Role.TECHNICIAN:
        return
    loc = get_session().get(StockLocation, location_id)
    if loc is not None and loc.technician_id != current_user.technician_id:
        raise NotAllowed(_l("technicians use the stock of their own van"), field="location_id")


# ---------------------------------------------------------------------------------
# reads


@api_v1.get("/inventory/parts")
@login_required
def api_parts():
    stmt = select(Part).order_by(Part.sku)
    kind = request.args.get("kind")
    if kind:
        stmt = stmt.where(Part.kind == kind)
    return jsonify(paginate(get_session(), stmt, read_page(), _part))


@api_v1.get("/inventory/locations")
@login_required
def api_locations():
    stmt = select(StockLocation).order_by(StockLocation.kind, StockLocation.code)
    kind = _choice_arg("kind", ("depot", "van"))
    if kind:
        stmt = stmt.where(StockLocation.kind == kind)
    return jsonify(paginate(get_session(), stmt, read_page(), _location))


@api_v1.get("/inventory/stock")
@login_required
def api_stock():
    stmt = stock.levels_statement(location_id=_int_arg("location_id"), part_id=_int_arg("part_id"),
                                  location_kind=_choice_arg("location_kind", ("depot", "van")),
                                  depot_id=_int_arg("depot_id"))

    def row(r):
        lv, loc, part = r
        return {"location": _location(loc), "part": _part(part), "on_hand": lv.on_hand,
                "reserved": lv.reserved, "available": lv.on_hand - lv.reserved,
                "faulty": lv.faulty}

    return jsonify(paginate(get_session(), stmt, read_page(), row))


@api_v1.get("/inventory/moves")
@login_required
def api_moves():
    stmt = stock.moves_statement(
        location_id=_int_arg("location_id"), part_id=_int_arg("part_id"),
        kind=_choice_arg("kind", stock.MOVE_KINDS), work_order_id=_int_arg("work_order_id"),
        serial=request.args.get("serial") or None, since=_dt_arg("since"), until=_dt_arg("until"))
    return jsonify(paginate(get_session(), stmt, read_page(), _move))


@api_v1.get("/inventory/serials")
@login_required
def api_serials():
    stmt = select(SerialUnit).order_by(SerialUnit.serial)
    if (part_id := _int_arg("part_id")) is not None:
        stmt = stmt.where(SerialUnit.part_id == part_id)
    if (location_id := _int_arg("location_id")) is not None:
        stmt = stmt.where(SerialUnit.location_id == location_id)
    status = _choice_arg("status", ("in_stock", "installed", "faulty", "scrapped"))
    if status:
        stmt = stmt.where(SerialUnit.status == status)
    return jsonify(paginate(get_session(), stmt, read_page(), lambda u: {
        "serial": u.serial, "part_id": u.part_id, "location_id": u.location_id,
        "status": u.status, "work_order_id": u.work_order_id}))


@api_v1.get("/inventory/reservations")
@login_required
def api_reservations():
    stmt = select(Reservation).order_by(Reservation.id.desc())
    if (wo := _int_arg("work_order_id")) is not None:
        stmt = stmt.where(Reservation.work_order_id == wo)
    if (loc := _int_arg("location_id")) is not None:
        stmt = stmt.where(Reservation.location_id == loc)
    status = _choice_arg("status", ("active", "released", "consumed"))
    if status:
        stmt = stmt.where(Reservation.status == status)
    return jsonify(paginate(get_session(), stmt, read_page(), _reservation))


def _horizon() -> int:
    raw = request.args.get("horizon_days", "7")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(_l("must be an integer"), field="horizon_days") from None
    if not 1 <= value <= 90:
        raise InvalidInput(_l("must be between 1 and %(max)s", max=90), field="horizon_days")
    return value


@api_v1.get("/inventory/reorder")
@roles_required(*WRITERS)
def api_reorder():
    result = forecast.reorder_suggestions(get_session(), depot_id=_int_arg("depot_id"),
                                          horizon_days=_horizon())
    return jsonify({"depots": [{
        "location": _location(d.location), "horizon_days": d.horizon_days,
        "unmatched_kinds": d.unmatched,
        "lines": [{"part": _part(x.part), "depot_on_hand": x.depot_on_hand,
                   "depot_reserved": x.depot_reserved, "depot_available": x.depot_available,
                   "depot_faulty": x.depot_faulty, "vans_on_hand": x.vans_on_hand,
                   "demand": x.demand, "reorder_point": x.reorder_point,
                   "low_stock": x.low_stock, "suggest": x.suggest,
                   "work_orders": x.work_orders} for x in d.lines],
    } for d in result]})


def _day_arg() -> date:
    raw = request.args.get("day")
    if not raw:
        from inventory.views import tomorrow_local

        return tomorrow_local()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_l("must be a date YYYY-MM-DD"), field="day") from None


@api_v1.get("/inventory/restock")
@roles_required(*WRITERS)
def api_restock():
    day = _day_arg()
    result = forecast.restock_suggestions(get_session(), day, region_id=_int_arg("region_id"))
    return jsonify({"day": day.isoformat(), "vans": [{
        "van": _location(v.van), "depot_location_id": v.depot_location.id if v.depot_location else None,
        "work_orders": v.work_orders, "unmatched_kinds": v.unmatched,
        "lines": [{"part": _part(x.part), "needed": x.needed, "have": x.have, "suggest": x.suggest,
                   "depot_available": x.depot_available, "work_orders": x.work_orders}
                  for x in v.lines],
    } for v in result]})


# ---------------------------------------------------------------------------------
# operations


@api_v1.post("/inventory/reservations")
@roles_required(*WRITERS)
def api_reserve():
    body = parse_body(ReserveIn)
    r = stock.reserve_parts(get_session(), body.work_order_id, body.location_id, body.part_id,
                            body.qty, current_user)
    return jsonify(_reservation(r)), 201


@api_v1.post("/inventory/reservations/<int:reservation_id>/release")
@roles_required(*WRITERS)
def api_release(reservation_id: int):
    body = parse_body(ReleaseIn)
    r = stock.release(get_session(), reservation_id, current_user, qty=body.qty, reason=body.reason)
    return jsonify(_reservation(r))


@api_v1.post("/inventory/consume")
@roles_required(Role.DISPATCHER, Role.TECHNICIAN)
def api_consume():
    body = parse_body(ConsumeIn)
    _technician_may_use(body.location_id)
    require_technician_scope(get_session(), current_user, body.work_order_id)
    moves = stock.consume(get_session(), body.work_order_id, body.location_id, body.part_id,
                          body.qty, current_user, serials=body.serials)
    return jsonify({"moves": [_move(m) for m in moves]}), 201


@api_v1.post("/inventory/transfers")
@roles_required(*WRITERS)
def api_transfer():
    body = parse_body(TransferIn)
    moves = stock.transfer(get_session(), body.from_location_id, body.to_location_id, body.part_id,
                           body.qty, current_user, serials=body.serials, reason=body.reason)
    return jsonify({"moves": [_move(m) for m in moves]}), 201


@api_v1.post("/inventory/receipts")
@roles_required(*WRITERS)
def api_receive():
    body = parse_body(ReceiveIn)
    moves = stock.receive(get_session(), body.location_id, body.part_id, body.qty, current_user,
                          serials=body.serials, reason=body.reason)
    return jsonify({"moves": [_move(m) for m in moves]}), 201


@api_v1.post("/inventory/adjustments")
@roles_required(*WRITERS)
def api_adjust():
    body = parse_body(AdjustIn)
    moves = stock.adjust(get_session(), body.location_id, body.part_id, body.delta, body.reason,
                         current_user, serials=body.serials)
    return jsonify({"moves": [_move(m) for m in moves]}), 201


@api_v1.post("/inventory/faulty-returns")
@roles_required(Role.DISPATCHER, Role.TECHNICIAN)
def api_return_faulty():
    body = parse_body(ReturnFaultyIn)
    if current_user.role == Role.TECHNICIAN:
        if body.from_location_id is None:
            raise NotAllowed(_l("technicians return faulty parts from their van"),
                             field="from_location_id")
        _technician_may_use(body.from_location_id)
        if body.work_order_id is not None:
            require_technician_scope(get_session(), current_user, body.work_order_id)
    moves = stock.return_faulty(get_session(), body.location_id, body.part_id, body.qty,
                                current_user, work_order_id=body.work_order_id,
                                from_location_id=body.from_location_id, serials=body.serials,
                                reason=body.reason)
    return jsonify({"moves": [_move(m) for m in moves]}), 201


# ---------------------------------------------------------------------------------
# the OpenAPI document

_page = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}},
                                          "page": {"type": "integer"},
                                          "per_page": {"type": "integer"},
                                          "total": {"type": "integer"},
                                          "pages": {"type": "integer"}}}
_q = openapi.query_param
def _qi(name):
    return _q(name, "integer")
_reads = (400, 401, 403, 422)
_writes = (400, 401, 403, 404, 409, 422)

openapi.document("/api/v1/inventory/parts", "get", summary="Parts catalog", tag=TAG,
                 response=_page, parameters=[_q("kind"), *openapi.PAGE_PARAMS], errors=_reads)
openapi.document("/api/v1/inventory/locations", "get", summary="Stock locations (depots, vans)",
                 tag=TAG, response=_page, errors=_reads,
                 parameters=[_q("kind", enum=["depot", "van"]), *openapi.PAGE_PARAMS])
openapi.document("/api/v1/inventory/stock", "get", summary="Stock by location and part",
                 tag=TAG, response=_page, errors=_reads,
                 parameters=[_qi("location_id"), _qi("part_id"), _qi("depot_id"),
                             _q("location_kind", enum=["depot", "van"]), *openapi.PAGE_PARAMS])
openapi.document("/api/v1/inventory/moves", "get", summary="The stock ledger, newest first",
                 tag=TAG, response=_page, errors=_reads,
                 parameters=[_qi("location_id"), _qi("part_id"), _qi("work_order_id"),
                             _q("kind", enum=list(stock.MOVE_KINDS)), _q("serial"),
                             {**_q("since"), "schema": {"type": "string", "format": "date-time"}},
                             {**_q("until"), "schema": {"type": "string", "format": "date-time"}},
                             *openapi.PAGE_PARAMS])
openapi.document("/api/v1/inventory/serials", "get", summary="Where each serial-tracked unit is",
                 tag=TAG, response=_page, errors=_reads,
                 parameters=[_qi("part_id"), _qi("location_id"),
                             _q("status", enum=["in_stock", "installed", "faulty", "scrapped"]),
                             *openapi.PAGE_PARAMS])
openapi.document("/api/v1/inventory/reservations", "get", summary="Part reservations",
                 tag=TAG, response=_page, errors=_reads,
                 parameters=[_qi("work_order_id"), _qi("location_id"),
                             _q("status", enum=["active", "released", "consumed"]),
                             *openapi.PAGE_PARAMS])
openapi.document("/api/v1/inventory/reorder", "get",
                 summary="Low-stock alerts and reorder suggestions per depot", tag=TAG,
                 errors=_reads, parameters=[_qi("depot_id"),
                                            _q("horizon_days", "integer", minimum=1, maximum=90)])
openapi.document("/api/v1/inventory/restock", "get",
                 summary="Van restock suggestions from a day's published plans", tag=TAG,
                 errors=_reads, parameters=[{**_q("day"), "schema": {"type": "string",
                                                                      "format": "date"}},
                                            _qi("region_id")])
openapi.document("/api/v1/inventory/reservations", "post",
                 summary="Reserve parts for a work order at a location", tag=TAG,
                 request=ReserveIn, response=ReservationOut, status=201, errors=_writes)
openapi.document("/api/v1/inventory/reservations/{reservation_id}/release", "post",
                 summary="Release a reservation (all, or qty)", tag=TAG, request=ReleaseIn,
                 response=ReservationOut, parameters=[openapi.path_param("reservation_id")],
                 errors=_writes)
openapi.document("/api/v1/inventory/consume", "post",
                 summary="Parts used on a work order (serials for serial-tracked parts)",
                 tag=TAG, request=ConsumeIn, response=MovesOut, status=201, errors=_writes)
openapi.document("/api/v1/inventory/transfers", "post",
                 summary="Move stock between locations (depot to van restock)", tag=TAG,
                 request=TransferIn, response=MovesOut, status=201, errors=_writes)
openapi.document("/api/v1/inventory/receipts", "post", summary="Goods received at a location",
                 tag=TAG, request=ReceiveIn, response=MovesOut, status=201, errors=_writes)
openapi.document("/api/v1/inventory/adjustments", "post",
                 summary="Correct on-hand after a count, with a reason", tag=TAG,
                 request=AdjustIn, response=MovesOut, status=201, errors=_writes)
openapi.document("/api/v1/inventory/faulty-returns", "post",
                 summary="Faulty parts back to a depot", tag=TAG, request=ReturnFaultyIn,
                 response=MovesOut, status=201, errors=_writes)
