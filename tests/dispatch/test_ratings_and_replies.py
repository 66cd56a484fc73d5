"""Survey scores reported and replies a person must read (issue 19, points 6 and 7):
a score is on the work order, the merchant and the technician's card; 1-2 goes on the
dispatcher's follow-up list; analytics give average and distribution by region,
technician, category and month (page and CSV); "9" gets the HELP answer; free text
is a note and an inbox item, marked handled by whoever answers."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from core.errors import Conflict
from core.models import AuditEvent
from dispatch.field import service as svc
from dispatch.models import FaultReport, MerchantReply, SurveyResponse, WorkOrderEvent
from dispatch.workorders.merchant_replies import close_follow_up, follow_up_list, mark_reply_handled
from maintenance.ratings import ratings_by
from notifications.inbound import receive_inbound
from notifications.models import InboundMessage, OutboundMessage
from tests.builders.field import aid, make_day, to_on_site
from tests.builders.people import login


def completed_day(db):
    """tech01 completed the first visit; its work order came from a card-reader fault."""
    day = make_day(db)
    db.add(FaultReport(merchant_id=day.world.merchant.id, terminal_id=day.world.terminal.id,
                       category="hw_card_reader", status="escalated", work_order_id=day.wo.id))
    db.commit()
    to_on_site(db, day)
    svc.complete(db, day.visit.id, day.world.users["tech01"], aid(), resolution_code="fixed_on_site")
    return day


def reply(db, day, body, sid=None):
    message, _ = receive_inbound(db, sid=sid or f"SM{uuid.uuid4().hex}",
                                 from_number=day.world.merchant.phone, body=body)
    return message


def test_a_low_score_goes_on_the_follow_up_list_and_off_it_once_handled(db):
    day = completed_day(db)
    message = reply(db, day, "2")
    assert message.handled_as == "survey"
    [rating] = db.exec(select(SurveyResponse)).all()
    assert rating.score == 2 and rating.follow_up == "open"
    events = db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == day.wo.id,
                                                  WorkOrderEvent.action == "rating")).all()
    assert len(events) == 1 and events[0].data["score"] == 2
    assert [s.id for s, _wo, _m in follow_up_list(db)] == [rating.id]
    dispatcher = day.world.users["dispatcher"]
    close_follow_up(db, rating.id, dispatcher, "Called back, apologised, free paper rolls")
    assert follow_up_list(db) == []
    db.expire_all()
    row = db.get(SurveyResponse, rating.id)
    assert row.follow_up == "done" and row.followed_up_by_user_id == dispatcher.id
    assert db.exec(select(WorkOrderEvent).where(
        WorkOrderEvent.action == "rating_followed_up")).one().note.startswith("Called back")
    audit = db.exec(select(AuditEvent).where(AuditEvent.entity == "survey_response")).one()
    assert (audit.entity_id, audit.action, audit.actor_user_id, audit.actor_label) == (
        str(rating.id), "follow_up_closed", dispatcher.id, "dispatcher")
    assert audit.data == {"note": "Called back, apologised, free paper rolls", "score": 2,
                          "work_order_id": day.wo.id}
    with pytest.raises(Conflict):
        close_follow_up(db, rating.id, dispatcher)
    db.expire_all()  # the refused second close wrote nothing
    assert len(db.exec(select(AuditEvent).where(AuditEvent.entity == "survey_response")).all()) == 1


def test_a_good_score_is_not_followed_up(db):
    day = completed_day(db)
    reply(db, day, "5")
    assert db.exec(select(SurveyResponse)).one().follow_up == ""
    assert follow_up_list(db) == []


def test_score_shown_on_work_order_merchant_card_and_technicians_phone(client, db):
    day = completed_day(db)
    reply(db, day, "1")
    login(client, "dispatcher")
    html = client.get(f"/work-orders/{day.wo.id}").get_data(as_text=True)
    assert 'data-testid="wo-rating"' in html and "1/5" in html and "follow-up open" in html
    card = client.get(f"/desk/merchants/{day.world.merchant.id}").get_data(as_text=True)
    assert 'data-testid="merchant-ratings"' in card and day.wo.number in card
    page = client.get("/follow-ups").get_data(as_text=True)
    assert day.wo.number in page
    rating = db.exec(select(SurveyResponse)).one()
    assert client.post(f"/follow-ups/{rating.id}/done", data={"note": "called"}).status_code == 302
    assert client.get("/api/v1/follow-ups").get_json()["items"] == []
    db.rollback()  # a fresh snapshot: the request wrote from another connection
    audit = db.exec(select(AuditEvent).where(AuditEvent.entity == "survey_response")).one()
    assert (audit.entity_id, audit.action, audit.actor_user_id) == (
        str(rating.id), "follow_up_closed", day.world.users["dispatcher"].id)
    client.post("/logout")
    login(client, "tech01")
    phone = client.get("/tech/").get_data(as_text=True)
    assert 'data-testid="visit-rating"' in phone


def test_unrecognised_reply_gets_the_help_answer(db):
    day = completed_day(db)
    reply(db, day, "5")  # rated already: a second number is not understood
    message = reply(db, day, "9", sid="SM-nine")
    assert message.handled_as == "unhandled"
    help_sms = db.exec(select(OutboundMessage).where(
        OutboundMessage.idempotency_key == "help:SM-nine")).one()
    assert help_sms.template == "help" and help_sms.to_number == day.world.merchant.phone
    assert db.exec(select(MerchantReply)).all() == []


def test_free_text_is_a_note_and_an_inbox_item_handled_by_whoever_answers(client, db):
    day = make_day(db)  # the work orders are open
    message = reply(db, day, "Can the technician come after 3pm? The shop is busy.")
    assert message.handled_as == "note"
    [item] = db.exec(select(MerchantReply)).all()
    assert item.work_order_id in (day.wo.id, day.wo2.id) and item.handled_at is None
    assert db.exec(select(WorkOrderEvent).where(WorkOrderEvent.action == "note",
                                                WorkOrderEvent.note.contains("after 3pm"))).one()
    assert db.exec(select(OutboundMessage).where(OutboundMessage.template == "help")).all() == []
    login(client, "agent")
    html = client.get("/replies").get_data(as_text=True)
    assert "after 3pm" in html and 'data-testid="reply"' in html
    resp = client.post(f"/replies/{item.id}/handled", data={"note": "Called: 15:30 is fine"})
    assert resp.status_code == 302
    db.rollback()  # a fresh snapshot: the request wrote from another connection
    db.expire_all()
    item = db.get(MerchantReply, item.id)
    assert item.handled_by_user_id == day.world.users["agent"].id
    assert item.handled_note == "Called: 15:30 is fine"
    audit = db.exec(select(AuditEvent).where(AuditEvent.entity == "merchant_reply")).one()
    assert audit.action == "handled" and audit.actor_user_id == day.world.users["agent"].id
    assert db.exec(select(WorkOrderEvent).where(WorkOrderEvent.action == "reply_handled")).one()
    html = client.get("/replies").get_data(as_text=True)
    assert 'data-testid="no-replies"' in html and "Called: 15:30 is fine" in html
    with pytest.raises(Conflict):
        mark_reply_handled(db, item.id, day.world.users["dispatcher"])


def test_free_text_without_an_open_work_order_still_reaches_the_inbox(client, db):
    day = completed_day(db)
    db.get(type(day.wo2), day.wo2.id).status = "cancelled"
    db.commit()
    reply(db, day, "Thank you, works fine now")
    [item] = db.exec(select(MerchantReply)).all()
    assert item.work_order_id is None and item.merchant_id == day.world.merchant.id
    login(client, "dispatcher")
    items = client.get("/api/v1/replies").get_json()["items"]
    assert [i["body"] for i in items] == ["Thank you, works fine now"]
    resp = client.post(f"/api/v1/replies/{item.id}/handled", json={"note": "nothing to do"})
    assert resp.status_code == 200 and resp.get_json()["handled_at"]
    assert resp.get_json()["merchant"]["name"] == day.world.merchant.name
    assert client.post(f"/api/v1/replies/{item.id}/handled", json={}).status_code == 409


def test_a_text_from_an_unknown_number_gets_help_and_no_inbox_item(db):
    make_day(db)
    message, _ = receive_inbound(db, sid="SM-x", from_number="+8613900009999", body="hello?")
    assert message.handled_as == "unhandled"
    assert db.exec(select(InboundMessage)).one().handled_as == "unhandled"
    assert db.exec(select(MerchantReply)).all() == []


def test_ratings_by_technician_category_region_and_month(db):
    day = completed_day(db)
    reply(db, day, "2")
    since, until = svc.utcnow() - timedelta(days=1), svc.utcnow() + timedelta(minutes=1)
    [tech] = ratings_by(db, "technician", since, until)
    assert (tech["technician"], tech["name"], tech["responses"], tech["average"], tech["low"],
            tech["s2"]) == ("tech01", "Li Wei", 1, 2.0, 1, 1)
    [cat] = ratings_by(db, "category", since, until)
    assert cat["category"] == "hw_card_reader" and cat["average"] == 2.0
    [region] = ratings_by(db, "region", since, until)
    assert region["region"] == "PX"
    [month] = ratings_by(db, "month", since, until)
    assert month["month"] == svc.utcnow().astimezone(svc.ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def test_analytics_page_and_csv_show_ratings_by_technician_and_category(client, db):
    day = completed_day(db)
    reply(db, day, "4")
    login(client, "dispatcher")
    html = client.get("/maintenance/analytics?days=30").get_data(as_text=True)
    assert 'data-table="ratings_technician"' in html and 'data-table="ratings_category"' in html
    assert "Li Wei" in html and "Merchant ratings by fault category" in html
    assert html.count('data-testid="rating-distribution"') == 4  # one chart per dimension
    csv = client.get("/maintenance/analytics/ratings_technician.csv?days=30").get_data(as_text=True)
    assert csv.splitlines()[0] == "technician,name,responses,average,low,s1,s2,s3,s4,s5"
    assert csv.splitlines()[1] == "tech01,Li Wei,1,4.0,0,0,0,0,1,0"
    csv = client.get("/maintenance/analytics/ratings_category.csv?days=30").get_data(as_text=True)
    assert "hw_card_reader,1,4.0" in csv
