"""Actions that change a plan, text merchants or reserve stock are all or nothing
under concurrent calls: N at once give one effect. Each caller has its own
connection and session (as concurrent requests do), on SQLite and PostgreSQL.

Before the fix, concurrent publishes of one version all passed their check (the
re-select returned the session's stale plan) and each reserved parts and queued SMS:
two 200s meant two SMS per merchant and duplicate reservations."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import func, select

from core.errors import DomainError
from dispatch.models import Merchant, Plan, Visit, WorkOrder, WorkOrderEvent, WorkOrderStatus
from dispatch.planning import service as planning
from dispatch.planning.problem import plan_visits
from inventory.models import Reservation
from notifications.models import OutboundMessage
from tests.builders.planning import BEFORE, make_solved_plan
from tests.builders.world import DAY, local_dt
from tests.concurrency import run_at_once

N = 6


def _crowd(db_url: str, action) -> list[str]:
    return run_at_once(db_url, N, action)


def _with_parts(db, w, plan) -> list[int]:
    """Two of tech01's visits need a card reader (the van holds two)."""
    ids = [v.work_order_id for v in plan_visits(db, plan.id)
           if v.technician_id == w.tech.id][:2]
    assert len(ids) == 2
    for wo_id in ids:
        o = db.get(WorkOrder, wo_id)
        o.predicted_parts = [{"kind": "card_reader", "qty": 1}]
        db.add(o)
    db.commit()
    return ids


def test_concurrent_publishes_of_one_version_publish_once(db, db_url):
    w, orders, plan, _, _ = make_solved_plan(db)
    with_parts = _with_parts(db, w, plan)
    version = plan.version

    results = _crowd(db_url, lambda s: planning.publish_plan(s, plan.id, version=version, now=BEFORE))
    db.rollback()
    db.expire_all()

    assert Counter(results) == {"ok": 1, "refused:Conflict": N - 1}, results
    assert db.get(Plan, plan.id).status == "published"
    assert db.get(Plan, plan.id).version == version + 1
    sms = db.exec(select(OutboundMessage)).all()
    assert Counter(m.to_number for m in sms) == Counter(
        db.get(Merchant, o.merchant_id).phone for o in orders)  # one each
    held = db.exec(select(Reservation.work_order_id)).all()
    assert Counter(held) == {with_parts[0]: 1, with_parts[1]: 1}
    for o in orders:
        events = db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == o.id,
                                                      WorkOrderEvent.to_status == "dispatched")).all()
        assert len(events) == 1


def test_a_publish_that_fails_half_way_keeps_nothing(db, monkeypatch):
    w, orders, plan, _, _ = make_solved_plan(db)
    _with_parts(db, w, plan)

    def boom(*_a, **_k):
        raise RuntimeError("the server died after the reservations")

    monkeypatch.setattr(planning, "_dispatch_visits", boom)
    with pytest.raises(RuntimeError):
        planning.publish_plan(db, plan.id, version=plan.version, now=BEFORE)
    db.expire_all()
    assert db.get(Plan, plan.id).status == "draft"
    assert db.exec(select(func.count()).select_from(Reservation)).one() == 0
    assert db.exec(select(func.count()).select_from(OutboundMessage)).one() == 0


def test_a_refused_publish_keeps_no_reservation(db):
    w, orders, plan, _, _ = make_solved_plan(db)
    _with_parts(db, w, plan)
    with pytest.raises(DomainError):
        planning.publish_plan(db, plan.id, version=plan.version - 1, now=BEFORE)  # stale version
    db.expire_all()
    assert db.exec(select(func.count()).select_from(Reservation)).one() == 0


def test_concurrent_edits_of_one_version_apply_once(db, db_url):
    w, orders, plan, _, _ = make_solved_plan(db)
    version = plan.version
    visit = next(v for v in plan_visits(db, plan.id))

    results = _crowd(db_url, lambda s: planning.edit_plan(s, plan.id, "pin", version=version,
                                                          visit_id=visit.id))
    db.rollback()
    db.expire_all()
    assert Counter(results) == {"ok": 1, "refused:Conflict": N - 1}, results
    assert db.get(Plan, plan.id).version == version + 1


def test_concurrent_insertions_of_one_urgent_order_insert_once(db, db_url):
    w, orders, plan, _, _ = make_solved_plan(db)
    planning.publish_plan(db, plan.id, version=plan.version, now=BEFORE)
    db.expire_all()
    plan = db.get(Plan, plan.id)
    urgent = WorkOrder(number="WO-URG9", status=WorkOrderStatus.READY, region_id=w.region.id,
                       merchant_id=orders[0].merchant_id, required_skills=["hardware"],
                       priority="critical", service_minutes=30, sla_due_at=local_dt(DAY, "13:00"),
                       predicted_parts=[{"kind": "card_reader", "qty": 1}])
    db.add(urgent)
    db.commit()
    sms_before = db.exec(select(func.count()).select_from(OutboundMessage)).one()
    best = planning.best_insertions(db, plan.id, urgent.id, now=BEFORE)[0]
    version = plan.version

    results = _crowd(db_url, lambda s: planning.accept_insertion(
        s, plan.id, urgent.id, best["technician_id"], best["position"], version=version, now=BEFORE))
    db.rollback()
    db.expire_all()
    assert results.count("ok") == 1, results
    assert all(r == "ok" or r.startswith("refused:Conflict") for r in results), results
    assert db.exec(select(func.count()).select_from(Visit).where(
        Visit.plan_id == plan.id, Visit.work_order_id == urgent.id)).one() == 1
    assert db.exec(select(func.count()).select_from(Reservation).where(
        Reservation.work_order_id == urgent.id)).one() == 1
    new_sms = db.exec(select(OutboundMessage).order_by(OutboundMessage.id)).all()[sms_before:]
    assert len(new_sms) == len({m.to_number for m in new_sms})  # nobody texted twice
    urgent_phone = db.get(Merchant, urgent.merchant_id).phone
    assert urgent_phone in {m.to_number for m in new_sms}


def test_concurrent_backup_offers_text_the_merchant_once(db, db_url):
    from datetime import timedelta

    from core.timeutil import utcnow
    from dispatch.backup import service as backup
    from tests.builders.world import make_world

    world = make_world(db)
    wo = WorkOrder(number="WO-BK001", region_id=world.region.id, merchant_id=world.merchant.id,
                   terminal_id=world.terminal.id, severity="down", status="ready",
                   sla_due_at=utcnow() + timedelta(hours=30))
    db.add(wo)
    db.commit()

    results = _crowd(db_url, lambda s: backup.offer(s, wo.id))
    db.rollback()
    db.expire_all()
    assert Counter(results) == {"ok": 1, "refused:Conflict": N - 1}, results
    assert db.exec(select(func.count()).select_from(OutboundMessage)).one() == 1
    assert db.exec(select(func.count()).select_from(WorkOrderEvent).where(
        WorkOrderEvent.action == "backup_offered")).one() == 1
