"""Escalate -> assign -> en route -> complete: each sends exactly one SMS to the merchant,
in the merchant's language, visible in the outbox (and then sent through the fake
Twilio with a delivery status)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlmodel import Session, select

from dispatch.models import Merchant, Visit, WorkOrderEvent
from dispatch.workorders.service import transition
from notifications.models import OutboundMessage, SmsOptOut
from notifications.sender import TwilioSender, drain_outbox
from tests.builders.planning import make_plan, make_visit
from tests.builders.workorders import make_repair
from tests.builders.world import DAY, make_world
from tests.notifications.fake_twilio import FakeTwilio


def _outbox(engine) -> list[OutboundMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboundMessage).order_by(OutboundMessage.id)).all())


# a card-reader fault taken with nobody signed in, escalated by the agent
_escalate = partial(make_repair, symptoms="card not read", error_code="", by=None)


def _visit(db, world, wo) -> Visit:
    start = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 14:00 Shanghai
    return make_visit(db, make_plan(db, world.region, DAY), wo, world.tech,
                      planned_arrival=start + timedelta(minutes=20), window_start=start,
                      window_end=start + timedelta(hours=1), travel_seconds=1500)


def _walk(db, world, wo, visit):
    actor = world.users["dispatcher"]
    steps = [("planned", {}), ("dispatched", {"visit_id": visit.id, "plan_id": visit.plan_id})]
    for status, data in steps:
        transition(db, wo, status, actor=actor, data=data)
    transition(db, wo, "en_route", actor=world.users["tech01"])
    transition(db, wo, "on_site", actor=world.users["tech01"])
    transition(db, wo, "completed", actor=world.users["tech01"])


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_each_step_sends_exactly_one_sms_in_the_merchants_language(db, engine, locale):
    world = make_world(db, DAY)
    world.merchant.locale = locale
    db.add(world.merchant)
    db.commit()
    wo = _escalate(db, world)
    assert [m.template for m in _outbox(engine)] == ["fault_received"]
    visit = _visit(db, world, wo)
    _walk(db, world, wo, visit)
    rows = _outbox(engine)
    assert [m.template for m in rows] == ["fault_received", "technician_assigned",
                                          "technician_on_the_way", "visit_done"]
    assert {m.to_number for m in rows} == {world.merchant.phone}
    assert {m.locale for m in rows} == {locale}
    assert all(wo.number in m.body for m in rows)
    assigned = rows[1]
    assert "14:00" in assigned.body and "15:00" in assigned.body and "Li Wei" in assigned.body
    if locale == "zh":
        assert assigned.body.startswith("【FixRoute】") and "11月24日" in assigned.body
        assert all(m.encoding == "UCS-2" and m.segments == 1 for m in rows)
    else:
        assert "24 Nov" in assigned.body
        assert all(m.encoding == "GSM-7" and m.segments == 1 for m in rows)
    assert [m.idempotency_key.split(":")[2] for m in rows] == ["received", "assigned", "en_route", "done"]
    db.refresh(visit)
    assert visit.notified_window_start == visit.window_start


def test_each_sms_goes_out_once_through_twilio_with_a_delivery_status(db, engine):
    world = make_world(db, DAY)
    wo = _escalate(db, world)
    _walk(db, world, wo, _visit(db, world, wo))
    fake = FakeTwilio()
    url = fake.start()
    try:
        sender = TwilioSender(fake.account_sid, fake.auth_token, from_number="+15005550006",
                              api_base_url=url)
        # 11:00 in Shanghai, after every message was queued: outside quiet hours
        later = (datetime.now(UTC) + timedelta(days=2)).replace(hour=3, minute=0)
        report = drain_outbox(engine, sender, now=later)
        assert report.sent == 4
    finally:
        fake.stop()
    assert len(fake.posts()) == 4
    assert [p.form["To"] for p in fake.posts()] == [world.merchant.phone] * 4
    assert {m.status for m in _outbox(engine)} == {"queued"}
    assert all(m.provider_sid for m in _outbox(engine))


def test_a_replayed_transition_does_not_send_again(db, engine):
    world = make_world(db, DAY)
    wo = _escalate(db, world)
    visit = _visit(db, world, wo)
    transition(db, wo, "planned")
    transition(db, wo, "dispatched", data={"visit_id": visit.id})
    transition(db, wo, "en_route", client_action_id="tap-1")
    transition(db, wo, "en_route", client_action_id="tap-1")  # the phone replays its queue
    assert [m.template for m in _outbox(engine)].count("technician_on_the_way") == 1


def test_duplicate_fault_report_joins_the_work_order_without_a_second_notice(db, engine):
    world = make_world(db, DAY)
    _escalate(db, world)
    _escalate(db, world)
    assert [m.template for m in _outbox(engine)] == ["fault_received"]


def test_opted_out_merchant_gets_suppressed_rows_not_sms(db, engine):
    world = make_world(db, DAY)
    db.add(SmsOptOut(phone=world.merchant.phone))
    db.commit()
    _escalate(db, world)
    [row] = _outbox(engine)
    assert row.status == "suppressed"


def test_invalid_merchant_number_does_not_block_the_work_order(db, engine):
    world = make_world(db, DAY)
    merchant = db.get(Merchant, world.merchant.id)
    merchant.phone = "12345"
    db.add(merchant)
    db.commit()
    wo = _escalate(db, world)
    assert wo.id is not None and _outbox(engine) == []
    notes = db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == wo.id,
                                                 WorkOrderEvent.action == "note")).all()
    assert any("was not queued" in n.note for n in notes)
