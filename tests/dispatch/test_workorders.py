"""The work-order service: numbering, deduplication and the state machine."""
from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from core.errors import Conflict, InvalidInput
from core.models import AuditEvent
from dispatch import signals
from dispatch.models import Merchant, Terminal, WorkOrder, WorkOrderEvent, WorkOrderStatus
from dispatch.workorders.service import (
    ALLOWED_TRANSITIONS,
    add_note,
    allowed_next,
    create_work_order,
    refusal_reason,
    timeline,
    transition,
)
from tests.builders.world import make_world

S = WorkOrderStatus


def _new(db, world, *, terminal="default", kind="repair", priority="normal", status="ready",
         **kw) -> WorkOrder:
    return create_work_order(
        db, merchant=world.merchant, terminal=world.terminal if terminal == "default" else terminal,
        kind=kind, priority=priority, severity=kw.pop("severity", "degraded"),
        required_skills=["hardware"], predicted_parts=[{"kind": "card_reader", "qty": 1}],
        service_minutes=45, actor=world.users["agent"], status=status, **kw)


def test_numbers_are_sequential_and_creation_is_recorded(db):
    w = make_world(db)
    a = _new(db, w, terminal=None)
    b = _new(db, w, terminal=None, kind="preventive")
    assert (a.number, b.number) == ("WO-000001", "WO-000002")
    assert a.region_id == w.region.id and a.status == "ready"
    events = timeline(db, a.id)
    assert [(e.action, e.from_status, e.to_status, e.actor_user_id) for e in events] == [
        ("created", "", "ready", w.users["agent"].id)]


def test_numbering_continues_after_existing_numbers(db):
    w = make_world(db)
    db.add(WorkOrder(number="WO-000041", region_id=w.region.id, merchant_id=w.merchant.id))
    db.commit()
    assert _new(db, w, terminal=None).number == "WO-000042"


def test_numbering_is_unique_under_concurrent_creators(db, engine):
    w = make_world(db)
    merchant_id = w.merchant.id
    numbers: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                for _ in range(4):
                    wo = create_work_order(s, merchant=merchant_id, kind="install",
                                           priority="normal", severity="cosmetic",
                                           required_skills=[], predicted_parts=[],
                                           service_minutes=30)
                    numbers.append(wo.number)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers) == [f"WO-{n:06d}" for n in range(1, 17)]


def test_repair_for_a_terminal_with_an_open_repair_reuses_it(db):
    w = make_world(db)
    first = _new(db, w, priority="normal",
                 sla_due_at=datetime(2026, 11, 26, 8, tzinfo=UTC))
    sooner = datetime(2026, 11, 25, 8, tzinfo=UTC)
    again = _new(db, w, priority="high", severity="down", sla_due_at=sooner, title="Reader dead")
    assert again.id == first.id
    assert db.exec(select(WorkOrder)).all() == [first]
    db.refresh(first)
    assert first.priority == "high" and first.severity == "down" and first.sla_due_at == sooner
    merged = [e for e in timeline(db, first.id) if e.action == "duplicate_merged"]
    assert len(merged) == 1 and "Reader dead" in merged[0].note
    assert merged[0].data["changes"]["priority"] == ["normal", "high"]


def test_no_reuse_for_other_kinds_closed_orders_or_other_terminals(db):
    w = make_world(db)
    first = _new(db, w)
    assert _new(db, w, kind="preventive").id != first.id
    other = Terminal(serial="PAX0100002", model_id=w.model.id, merchant_id=w.merchant.id)
    db.add(other)
    db.commit()
    assert _new(db, w, terminal=other).id != first.id
    transition(db, first, S.CANCELLED)
    assert _new(db, w).id != first.id


def test_terminal_of_another_merchant_is_refused(db):
    w = make_world(db)
    m2 = Merchant(code="M2", name="Other", phone="+8613900000000", lat=31.2, lon=121.4,
                  region_id=w.region.id)
    db.add(m2)
    db.commit()
    with pytest.raises(InvalidInput) as exc:
        create_work_order(db, merchant=m2, terminal=w.terminal, kind="repair", priority="normal",
                          severity="down", required_skills=[], predicted_parts=[],
                          service_minutes=30)
    assert exc.value.fields[0]["field"] == "terminal"
    assert db.exec(select(WorkOrder)).all() == []


@pytest.mark.parametrize("bad", [{"kind": "teleport"}, {"priority": "asap"},
                                 {"severity": "meh"}, {"status": "completed"},
                                 {"service_minutes": 0}])
def test_invalid_creation_names_the_field(db, bad):
    w = make_world(db)
    args = {"merchant": w.merchant, "kind": "repair", "priority": "normal", "severity": "down",
                "required_skills": [], "predicted_parts": [], "service_minutes": 30}
    args.update(bad)
    with pytest.raises(InvalidInput) as exc:
        create_work_order(db, **args)
    assert exc.value.fields[0]["field"] == next(iter(bad))


# Paths from "ready" to each status through allowed moves, to set up each test.
PATH = {
    S.NEW: [],
    S.READY: [],
    S.PLANNED: [S.PLANNED],
    S.DISPATCHED: [S.PLANNED, S.DISPATCHED],
    S.EN_ROUTE: [S.PLANNED, S.DISPATCHED, S.EN_ROUTE],
    S.ON_SITE: [S.PLANNED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE],
    S.COMPLETED: [S.PLANNED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.COMPLETED],
    S.NEEDS_FOLLOW_UP: [S.PLANNED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.NEEDS_FOLLOW_UP],
    S.CANCELLED: [S.CANCELLED],
}


def _at(db, w, status) -> WorkOrder:
    wo = _new(db, w, terminal=None, status="new" if status == S.NEW else "ready")
    for step in PATH[status]:
        transition(db, wo, step)
    assert wo.status == status
    return wo


ALL_PAIRS = list(itertools.product(list(S), list(S)))


@pytest.mark.parametrize("frm,to", [p for p in ALL_PAIRS if p[1] in ALLOWED_TRANSITIONS[p[0]]],
                         ids=lambda s: str(s))
def test_allowed_transition_writes_event_and_signal(db, frm, to):
    w = make_world(db)
    wo = _at(db, w, frm)
    seen = []

    def receiver(sender, session, event, actor):
        seen.append((sender.id, event.from_status, event.to_status, actor.username))
        session.add(AuditEvent(entity="test", entity_id=str(sender.id), action="signal-row"))

    with signals.work_order_changed.connected_to(receiver):
        ev = transition(db, wo, to, actor=w.users["dispatcher"], note="why", data={"k": 1})
    assert seen == [(wo.id, frm, to, "dispatcher")]
    fresh = Session(db.get_bind())
    got = fresh.get(WorkOrder, wo.id)
    assert got.status == to
    row = fresh.get(WorkOrderEvent, ev.id)
    assert (row.from_status, row.to_status, row.note, row.data, row.actor_user_id) == (
        frm, to, "why", {"k": 1}, w.users["dispatcher"].id)
    # the receiver's row landed in the same commit
    assert fresh.exec(select(AuditEvent).where(AuditEvent.action == "signal-row")).one()
    assert (got.completed_at is not None) == (to == S.COMPLETED)
    fresh.close()


@pytest.mark.parametrize("frm,to", [p for p in ALL_PAIRS if p[1] not in ALLOWED_TRANSITIONS[p[0]]],
                         ids=lambda s: str(s))
def test_refused_transition_is_a_conflict_with_reason_and_writes_nothing(db, frm, to):
    w = make_world(db)
    wo = _at(db, w, frm)
    before = len(timeline(db, wo.id))
    with pytest.raises(Conflict) as exc:
        transition(db, wo, to, actor=w.users["dispatcher"])
    assert exc.value.message == refusal_reason(frm, to)
    assert frm in exc.value.message and (to in exc.value.message or "closed" in exc.value.message)
    db.refresh(wo)
    assert wo.status == frm
    assert len(timeline(db, wo.id)) == before


def test_unknown_status_is_refused(db):
    w = make_world(db)
    wo = _at(db, w, S.READY)
    with pytest.raises(Conflict, match="unknown status"):
        transition(db, wo, "teleported")


def test_a_failing_receiver_leaves_nothing_written(db):
    w = make_world(db)
    wo = _at(db, w, S.READY)

    def boom(sender, **kw):
        raise RuntimeError("receiver failed")

    with signals.work_order_changed.connected_to(boom), pytest.raises(RuntimeError):
        transition(db, wo, S.PLANNED)
    db.refresh(wo)
    assert wo.status == S.READY
    assert [e.action for e in timeline(db, wo.id)] == ["created"]


def test_replayed_client_action_returns_the_earlier_event(db):
    w = make_world(db)
    wo = _at(db, w, S.DISPATCHED)
    calls = []
    with signals.work_order_changed.connected_to(lambda s, **kw: calls.append(1)):
        first = transition(db, wo, S.EN_ROUTE, client_action_id="phone-1-abc")
        again = transition(db, wo, S.EN_ROUTE, client_action_id="phone-1-abc")
    assert again.id == first.id and len(calls) == 1
    assert wo.status == S.EN_ROUTE
    with pytest.raises(Conflict):
        transition(db, wo, S.ON_SITE, client_action_id="phone-1-abc")
    other = _at(db, w, S.DISPATCHED)
    with pytest.raises(Conflict):
        transition(db, other, S.EN_ROUTE, client_action_id="phone-1-abc")


def test_commit_false_groups_changes_in_the_callers_transaction(db):
    w = make_world(db)
    a = _at(db, w, S.READY)
    b = _at(db, w, S.READY)
    transition(db, a, S.PLANNED, commit=False)
    transition(db, b, S.PLANNED, commit=False)
    db.rollback()
    db.refresh(a)
    db.refresh(b)
    assert (a.status, b.status) == (S.READY, S.READY)


def test_notes_go_on_the_timeline(db):
    w = make_world(db)
    wo = _at(db, w, S.READY)
    add_note(db, wo, "Merchant prefers afternoons", actor=w.users["agent"])
    with pytest.raises(InvalidInput):
        add_note(db, wo, "   ")
    last = timeline(db, wo.id)[-1]
    assert (last.action, last.note, last.to_status) == ("note", "Merchant prefers afternoons", "ready")


def test_allowed_next_follows_the_table():
    assert allowed_next(S.ON_SITE) == [S.COMPLETED, S.NEEDS_FOLLOW_UP]
    assert allowed_next(S.COMPLETED) == []
    assert refusal_reason(S.READY, S.PLANNED) is None


def test_concurrent_reports_for_one_terminal_make_one_work_order(db, engine):
    w = make_world(db)
    merchant_id, terminal_id = w.merchant.id, w.terminal.id
    got: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                barrier.wait()
                wo = create_work_order(s, merchant=merchant_id, terminal=terminal_id,
                                       kind="repair", priority="high", severity="down",
                                       required_skills=[], predicted_parts=[],
                                       service_minutes=30)
                got.append(wo.id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(got)) == 1 and len(got) == 4
    assert len(db.exec(select(WorkOrder)).all()) == 1
    merged = db.exec(select(WorkOrderEvent).where(WorkOrderEvent.action == "duplicate_merged")).all()
    assert len(merged) == 3


def test_a_status_change_refused_by_its_permission_check_writes_nothing(db):
    """change_status checks who may move the work order inside its unit of work: a
    refusal there leaves the work order and its timeline as they were."""
    from core.errors import NotAllowed
    from dispatch.workorders.service import change_status

    w = make_world(db)
    wo = _at(db, w, S.DISPATCHED)

    def refuse(_wo):
        raise NotAllowed("not yours")

    with pytest.raises(NotAllowed):
        change_status(db, wo.id, S.EN_ROUTE, permit=refuse, actor=w.users["dispatcher"])
    db.refresh(wo)
    assert wo.status == S.DISPATCHED
    assert [e.to_status for e in timeline(db, wo.id)][-1] == S.DISPATCHED


def test_concurrent_status_changes_with_one_action_id_move_once(db, db_url):
    """A phone that sends the same tap four times at once (the API's transition): one
    move, one event, and every send answered with it."""
    from dispatch.workorders.service import change_status
    from tests.concurrency import run_at_once

    w = make_world(db)
    wo_id = _at(db, w, S.DISPATCHED).id
    events: list[int] = []

    def tap(s):
        _wo, ev = change_status(s, wo_id, S.EN_ROUTE, permit=lambda _w: None, actor="phone",
                                client_action_id="phone-tap-1")
        events.append(ev.id)

    assert run_at_once(db_url, 4, tap) == ["ok"] * 4
    db.expire_all()
    moved = [e for e in timeline(db, wo_id) if e.to_status == S.EN_ROUTE]
    assert len(moved) == 1 and set(events) == {moved[0].id}
    assert db.get(WorkOrder, wo_id).status == S.EN_ROUTE
