"""No stock below zero under concurrency: 50 threads, each with its own connection and
session, reserve one unit each against a stock of 10. Exactly 10 succeed and 40 get a
clear refusal. On PostgreSQL the conditional UPDATE re-checks the row after waiting
for the concurrent writer; on SQLite BEGIN IMMEDIATE serialises the writers."""
from __future__ import annotations

import threading

from sqlmodel import Session, func, select

from core.db import make_engine
from inventory import stock
from inventory.models import Reservation, StockMove
from tests.factories import make_world
from tests.inventory.helpers import level, make_work_order

THREADS = 50


def test_fifty_concurrent_reservations_against_ten_give_ten(db, db_url, engine):
    world = make_world(db)
    wo = make_work_order(db, world)
    loc, part = world.depot_location.id, world.part.id
    assert level(db, loc, part) == (10, 0, 0)
    # one connection per thread: a pool as large as the crowd, nobody waits for a slot
    crowd = make_engine(db_url, pool_size=THREADS, max_overflow=0)
    barrier = threading.Barrier(THREADS, timeout=60)
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        with Session(crowd, expire_on_commit=False) as session:
            session.connection()  # check out this thread's own connection before the start
            barrier.wait()
            try:
                stock.reserve_parts(session, wo.id, loc, part, 1)
                outcome = "ok"
            except stock.InsufficientStock as exc:
                outcome = f"refused:{exc.status}:{exc.code}"
            except Exception as exc:  # noqa: BLE001 - anything else fails the guarantee
                outcome = f"error:{exc!r}"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    crowd.dispose()
    db.rollback()  # end the test session's read snapshot from before the crowd

    assert len(results) == THREADS
    assert results.count("ok") == 10, results
    assert results.count("refused:409:insufficient_stock") == 40, results
    assert level(db, loc, part) == (10, 10, 0)
    assert db.exec(select(func.count()).select_from(Reservation)).one() == 10
    assert db.exec(select(func.count()).select_from(StockMove)
                   .where(StockMove.kind == "reserve")).one() == 10
    assert stock.ledger_mismatches(db) == []
