"""Merchant replies reaching dispatch: 1-5 after a visit is a survey score, free text is
a note on the open work order, YES/NO are left for the backup-terminal offer."""
from __future__ import annotations

from functools import partial

import pytest
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from dispatch.models import SurveyResponse, WorkOrderEvent
from dispatch.workorders.service import transition
from notifications.inbound import receive_inbound
from notifications.models import InboundMessage
from tests.builders.workorders import make_repair
from tests.builders.world import make_world

TOKEN = "replies-token"
PUBLIC = "https://fixroute.example.com"


_work_order = partial(make_repair, category="hw_printer", symptoms="printer jams", error_code="", by=None,
                      escalated_by=None)


def _complete(db, wo):
    for status in ("planned", "dispatched", "on_site", "completed"):
        transition(db, wo, status)


def _reply(db, world, sid, body):
    message, _ = receive_inbound(db, sid=sid, from_number=world.merchant.phone, body=body)
    return message


@pytest.mark.parametrize("body,score", [("5", 5), (" 3 ", 3), ("1.", 1)])
def test_score_after_a_completed_visit_is_recorded_once(db, body, score):
    world = make_world(db)
    wo = _work_order(db, world)
    _complete(db, wo)
    message = _reply(db, world, "SM1", body)
    assert message.handled_as == "survey"
    [response] = db.exec(select(SurveyResponse)).all()
    assert (response.work_order_id, response.score, response.inbound_message_id) == (wo.id, score, message.id)
    second = _reply(db, world, "SM2", "4")  # already rated: not a second response
    assert second.handled_as == "unhandled"
    assert len(db.exec(select(SurveyResponse)).all()) == 1


def test_free_text_becomes_a_note_on_the_open_work_order(db):
    world = make_world(db)
    wo = _work_order(db, world)
    message = _reply(db, world, "SM3", "The shop closes early today, come before 5pm")
    assert message.handled_as == "note"
    notes = db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == wo.id,
                                                 WorkOrderEvent.action == "note")).all()
    assert any("come before 5pm" in n.note for n in notes)


def test_a_digit_without_a_recent_visit_is_not_a_score_and_gets_the_help_answer(db):
    from notifications.models import OutboundMessage

    world = make_world(db)
    _work_order(db, world)
    assert _reply(db, world, "SM4", "4").handled_as == "unhandled"
    assert db.exec(select(SurveyResponse)).all() == []
    assert [m.template for m in db.exec(select(OutboundMessage)).all()
            if m.idempotency_key == "help:SM4"] == ["help"]


def test_yes_and_no_are_left_for_the_backup_offer(db):
    world = make_world(db)
    wo = _work_order(db, world)
    before = len(db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == wo.id)).all())
    message = _reply(db, world, "SM5", "YES")
    assert message.handled_as != "note"
    after = len(db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == wo.id,
                                                     WorkOrderEvent.note.contains("YES"))).all())
    assert after == 0 and before >= 1


def test_unknown_number_stays_unhandled(db):
    make_world(db)
    message, created = receive_inbound(db, sid="SM6", from_number="+8613900009999", body="hello?")
    assert created and message.handled_as == "unhandled"


def test_signed_webhook_reply_lands_on_the_work_order_once(app, client, db, engine, monkeypatch):
    monkeypatch.setitem(app.config, "FIXROUTE", app.config["FIXROUTE"].model_copy(
        update={"twilio_auth_token": TOKEN, "public_base_url": PUBLIC}))
    world = make_world(db)
    wo = _work_order(db, world)
    params = {"MessageSid": "SM" + "9" * 32, "From": world.merchant.phone, "To": "+15005550006",
              "Body": "Please call before coming"}
    sig = RequestValidator(TOKEN).compute_signature(PUBLIC + "/webhooks/twilio/inbound", params)
    for _ in range(2):
        assert client.post("/webhooks/twilio/inbound", data=params,
                           headers={"X-Twilio-Signature": sig}).status_code == 200
    with Session(engine) as s:
        notes = s.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == wo.id,
                                                    WorkOrderEvent.note.contains("call before"))).all()
        assert len(notes) == 1
        assert s.exec(select(InboundMessage.handled_as)).one() == "note"
