"""A desk of agents on the embedded default: concurrent writes through the HTTP API
never answer 5xx. Each request runs in its own thread with its own connection (the
app's pool), as under a threaded server; on SQLite the writers queue on the write lock
(BEGIN IMMEDIATE with a busy timeout) instead of failing with "database is locked"."""
from __future__ import annotations

import threading

from sqlmodel import func, select

from dispatch.models import FaultReport, WorkOrderEvent
from tests.builders.people import bearer
from tests.builders.workorders import make_work_order
from tests.builders.world import make_world

WRITERS = 20


def _crowd(app, calls) -> list[int]:
    """Run the calls at once, each through its own test client; return status codes."""
    barrier = threading.Barrier(len(calls), timeout=60)
    codes: list[int] = []
    lock = threading.Lock()

    def run(call) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            code = call(client)
        except Exception as exc:  # noqa: BLE001 - an exception is a failure to report
            code = repr(exc)
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return codes


def test_twenty_concurrent_notes_all_land(app, db):
    world = make_world(db)
    wo = make_work_order(db, world)
    headers = bearer(app.test_client(), "dispatcher")

    def note(i: int):
        return lambda c: c.post(f"/api/v1/work-orders/{wo.id}/notes", json={"text": f"note {i}"},
                                headers=headers).status_code

    codes = _crowd(app, [note(i) for i in range(WRITERS)])
    assert codes == [201] * WRITERS, codes
    db.rollback()
    n = db.exec(select(func.count()).select_from(WorkOrderEvent)
                .where(WorkOrderEvent.work_order_id == wo.id, WorkOrderEvent.action == "note")).one()
    assert n == WRITERS


def test_twenty_concurrent_fault_reports_all_land(app, db):
    world = make_world(db)
    headers = bearer(app.test_client(), "agent")

    def fault(i: int):
        body = {"merchant_id": world.merchant.id, "terminal_id": world.terminal.id,
                "category": "hw_screen", "symptoms": f"paper jam {i}", "channel": "phone"}
        return lambda c: c.post("/api/v1/faults", json=body, headers=headers).status_code

    codes = _crowd(app, [fault(i) for i in range(WRITERS)])
    assert codes == [201] * WRITERS, codes
    db.rollback()
    assert db.exec(select(func.count()).select_from(FaultReport)).one() == WRITERS
