"""The stock service: every operation writes the ledger and keeps levels equal to it;
bad input changes nothing."""
from __future__ import annotations

import pytest
from sqlmodel import func, select

from core.errors import Conflict, InvalidInput, NotFound
from core.models import AuditEvent
from dispatch.models import TerminalModel
from inventory import stock
from inventory.models import Part, PartFit, Reservation, SerialUnit, StockMove
from tests.builders.stock import level, make_part
from tests.builders.workorders import make_work_order


def _count_moves(db) -> int:
    return db.exec(select(func.count()).select_from(StockMove)).one()


@pytest.fixture
def board(db, world):
    """A serial-tracked main board fitting the world's model, 3 units in the van."""
    part = make_part(db, "MB-T", "Main board", "main_board", fits=world.model, serialized=True)
    stock.receive(db, world.van.id, part.id, 3, serials=["MB1", "MB2", "MB3"], reason="load")
    return part


def test_reserve_then_consume_moves_levels_and_ledger(db, world):
    wo = make_work_order(db, world)
    r = stock.reserve_parts(db, wo.id, world.van.id, world.part.id, 2, world.users["dispatcher"])
    assert r.status == "active" and r.qty == 2
    assert level(db, world.van.id, world.part.id) == (2, 2, 0)
    with pytest.raises(stock.InsufficientStock):
        stock.reserve_parts(db, wo.id, world.van.id, world.part.id, 1)
    moves = stock.consume(db, wo.id, world.van.id, world.part.id, 2, world.users["tech01"])
    assert [m.reservation_id for m in moves] == [r.id]
    assert level(db, world.van.id, world.part.id) == (0, 0, 0)
    db.refresh(r)
    assert (r.status, r.consumed_qty) == ("consumed", 2)
    assert stock.ledger_mismatches(db) == []
    actions = db.exec(select(AuditEvent.action).where(AuditEvent.entity == "stock").order_by(AuditEvent.id)).all()
    assert actions == ["reserve", "consume"]


def test_release_returns_reserved_units_to_available(db, world):
    wo = make_work_order(db, world)
    r = stock.reserve_parts(db, wo.id, world.depot_location.id, world.part.id, 4)
    stock.release(db, r.id, qty=1)
    assert level(db, world.depot_location.id, world.part.id) == (10, 3, 0)
    assert stock.available(db, world.depot_location.id, world.part.id) == 7
    r = stock.release(db, r.id)
    assert r.status == "released" and r.released_qty == 4
    with pytest.raises(Conflict):
        stock.release(db, r.id)
    assert stock.ledger_mismatches(db) == []


def test_consume_beyond_reservation_takes_available_stock(db, world):
    wo = make_work_order(db, world)
    stock.reserve_parts(db, wo.id, world.depot_location.id, world.part.id, 1)
    moves = stock.consume(db, wo.id, world.depot_location.id, world.part.id, 3)
    assert [(m.on_hand_delta, m.reserved_delta) for m in moves] == [(-1, -1), (-2, 0)]
    assert level(db, world.depot_location.id, world.part.id) == (7, 0, 0)


def test_transfer_restocks_a_van_and_refuses_more_than_available(db, world):
    stock.transfer(db, world.depot_location.id, world.van.id, world.part.id, 4)
    assert level(db, world.depot_location.id, world.part.id) == (6, 0, 0)
    assert level(db, world.van.id, world.part.id) == (6, 0, 0)
    wo = make_work_order(db, world)
    stock.reserve_parts(db, wo.id, world.depot_location.id, world.part.id, 5)
    before = _count_moves(db)
    with pytest.raises(stock.InsufficientStock) as exc:
        stock.transfer(db, world.depot_location.id, world.van.id, world.part.id, 2)
    assert "1 available" in exc.value.message
    assert _count_moves(db) == before
    assert level(db, world.van.id, world.part.id) == (6, 0, 0)


def test_serialized_consume_records_serials_and_installs_units(db, world, board):
    wo = make_work_order(db, world)
    stock.reserve_parts(db, wo.id, world.van.id, board.id, 1)
    moves = stock.consume(db, wo.id, world.van.id, board.id, 1, serials=["MB2"])
    assert [m.serial for m in moves] == ["MB2"]
    unit = db.exec(select(SerialUnit).where(SerialUnit.serial == "MB2")).one()
    db.refresh(unit)
    assert (unit.status, unit.location_id, unit.work_order_id) == ("installed", None, wo.id)
    assert level(db, world.van.id, board.id) == (2, 0, 0)


def test_serialized_transfer_moves_the_units(db, world, board):
    stock.transfer(db, world.van.id, world.depot_location.id, board.id, 2, serials=["MB1", "MB3"])
    locs = {u.serial: u.location_id for u in db.exec(select(SerialUnit)).all()}
    assert locs == {"MB1": world.depot_location.id, "MB2": world.van.id,
                    "MB3": world.depot_location.id}
    assert level(db, world.depot_location.id, board.id) == (2, 0, 0)
    assert stock.ledger_mismatches(db) == []


def test_return_faulty_lands_in_depot_faulty_not_available(db, world, board):
    wo = make_work_order(db, world)
    stock.consume(db, wo.id, world.van.id, board.id, 1, serials=["MB1"])
    stock.return_faulty(db, world.depot_location.id, board.id, 1, work_order_id=wo.id,
                        serials=["OLD-BOARD-9"], reason="dead on arrival")
    stock.return_faulty(db, world.depot_location.id, world.part.id, 1,
                        from_location_id=world.van.id, reason="bent pins")
    assert level(db, world.depot_location.id, board.id) == (0, 0, 1)
    assert level(db, world.van.id, world.part.id) == (1, 0, 0)
    assert level(db, world.depot_location.id, world.part.id) == (10, 0, 1)
    old = db.exec(select(SerialUnit).where(SerialUnit.serial == "OLD-BOARD-9")).one()
    assert (old.status, old.location_id) == ("faulty", world.depot_location.id)
    with pytest.raises(InvalidInput) as exc:
        stock.return_faulty(db, world.van.id, world.part.id, 1)
    assert exc.value.fields[0]["field"] == "location_id"
    assert stock.ledger_mismatches(db) == []


def test_adjust_needs_a_reason_and_never_goes_below_reserved(db, world):
    wo = make_work_order(db, world)
    stock.reserve_parts(db, wo.id, world.van.id, world.part.id, 1)
    with pytest.raises(InvalidInput) as exc:
        stock.adjust(db, world.van.id, world.part.id, -1, "  ")
    assert exc.value.fields[0]["field"] == "reason"
    with pytest.raises(stock.InsufficientStock):
        stock.adjust(db, world.van.id, world.part.id, -2, "count")
    stock.adjust(db, world.van.id, world.part.id, -1, "damaged in transit")
    assert level(db, world.van.id, world.part.id) == (1, 1, 0)
    stock.adjust(db, world.van.id, world.part.id, 5, "found in the back")
    assert level(db, world.van.id, world.part.id) == (6, 1, 0)


@pytest.mark.parametrize("call, field", [
    (lambda db, w, wo: stock.reserve_parts(db, wo.id, w.van.id, 999999, 1), "part_id"),
    (lambda db, w, wo: stock.reserve_parts(db, wo.id, w.van.id, w.part.id, 0), "qty"),
    (lambda db, w, wo: stock.reserve_parts(db, wo.id, w.van.id, w.part.id, -3), "qty"),
    (lambda db, w, wo: stock.reserve_parts(db, wo.id, 999999, w.part.id, 1), "location_id"),
    (lambda db, w, wo: stock.reserve_parts(db, 999999, w.van.id, w.part.id, 1), "work_order_id"),
    (lambda db, w, wo: stock.consume(db, wo.id, w.van.id, w.part.id, 1, serials=["X"]), "serials"),
    (lambda db, w, wo: stock.transfer(db, w.van.id, w.van.id, w.part.id, 1), "to_location_id"),
    (lambda db, w, wo: stock.receive(db, w.van.id, w.part.id, 1.5), "qty"),
])
def test_bad_input_names_the_field_and_changes_nothing(db, world, call, field):
    wo = make_work_order(db, world)
    before = (_count_moves(db), level(db, world.van.id, world.part.id))
    with pytest.raises(InvalidInput) as exc:
        call(db, world, wo)
    assert exc.value.fields[0]["field"] == field
    assert (_count_moves(db), level(db, world.van.id, world.part.id)) == before


def test_wrong_model_part_is_refused(db, world):
    other = TerminalModel(code="VF-X", vendor="Verifone", name="X")
    db.add(other)
    db.commit()
    part = Part(sku="PR-VF", name="Verifone printer", kind="printer")
    db.add(part)
    db.commit()
    db.add(PartFit(part_id=part.id, terminal_model_id=other.id))
    db.commit()
    stock.receive(db, world.van.id, part.id, 2)
    wo = make_work_order(db, world)
    with pytest.raises(InvalidInput) as exc:
        stock.reserve_parts(db, wo.id, world.van.id, part.id, 1)
    assert exc.value.code == "wrong_model"
    assert db.exec(select(func.count()).select_from(Reservation)).one() == 0


def test_serial_not_at_that_location_is_refused(db, world, board):
    stock.transfer(db, world.van.id, world.depot_location.id, board.id, 1, serials=["MB1"])
    wo = make_work_order(db, world)
    before = _count_moves(db)
    with pytest.raises(InvalidInput) as exc:
        stock.consume(db, wo.id, world.van.id, board.id, 1, serials=["MB1"])
    assert exc.value.code == "serial_not_here"
    with pytest.raises(InvalidInput):
        stock.consume(db, wo.id, world.van.id, board.id, 2, serials=["MB2"])  # count mismatch
    assert _count_moves(db) == before
    assert level(db, world.van.id, board.id) == (2, 0, 0)


def test_unknown_reservation_is_404(db, world):
    with pytest.raises(NotFound):
        stock.release(db, 424242)


def test_insufficient_stock_is_a_409(db, world):
    wo = make_work_order(db, world)
    with pytest.raises(stock.InsufficientStock) as exc:  # a Conflict: answered 409
        stock.reserve_parts(db, wo.id, world.van.id, world.part.id, 3)
    assert isinstance(exc.value, Conflict) and exc.value.code == "insufficient_stock"


def test_commit_false_joins_the_callers_transaction(db, world):
    """A caller grouping several changes (completing a visit) rolls them all back."""
    wo = make_work_order(db, world)
    stock.consume(db, wo.id, world.van.id, world.part.id, 1, commit=False)
    stock.transfer(db, world.depot_location.id, world.van.id, world.part.id, 2, commit=False)
    assert level(db, world.van.id, world.part.id) == (3, 0, 0)  # seen inside the transaction
    db.rollback()
    assert level(db, world.van.id, world.part.id) == (2, 0, 0)
    assert _count_moves(db) == 2  # the make_world receipts only
    stock.consume(db, wo.id, world.van.id, world.part.id, 1, commit=False)
    db.commit()
    assert level(db, world.van.id, world.part.id) == (1, 0, 0)
