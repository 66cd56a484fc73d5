"""No stock below zero under concurrency: 50 threads, each with its own connection and
session, reserve one unit each against a stock of 10. Exactly 10 succeed and 40 get a
clear refusal. On PostgreSQL the conditional UPDATE re-checks the row after waiting
for the concurrent writer; on SQLite BEGIN IMMEDIATE serialises the writers."""
from __future__ import annotations

from sqlmodel import func, select

from inventory import stock
from inventory.models import Reservation, StockMove
from tests.builders.stock import level
from tests.builders.workorders import make_work_order
from tests.builders.world import make_world
from tests.concurrency import run_at_once

THREADS = 50


def test_fifty_concurrent_reservations_against_ten_give_ten(db, db_url, engine):
    world = make_world(db)
    wo = make_work_order(db, world)
    loc, part = world.depot_location.id, world.part.id
    assert level(db, loc, part) == (10, 0, 0)
    results = run_at_once(
        db_url, THREADS, lambda session: stock.reserve_parts(session, wo.id, loc, part, 1),
        refused=(stock.InsufficientStock,), describe=lambda e: f"refused:{type(e).__name__}:{e.code}")
    db.rollback()  # end the test session's read snapshot from before the crowd

    assert len(results) == THREADS
    assert results.count("ok") == 10, results
    assert results.count("refused:InsufficientStock:insufficient_stock") == 40, results
    assert level(db, loc, part) == (10, 10, 0)
    assert db.exec(select(func.count()).select_from(Reservation)).one() == 10
    assert db.exec(select(func.count()).select_from(StockMove)
                   .where(StockMove.kind == "reserve")).one() == 10
    assert stock.ledger_mismatches(db) == []
