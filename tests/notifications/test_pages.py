"""The outbox, template and development phone pages, the outbox API and the CLI."""
from __future__ import annotations

from functools import partial

from sqlmodel import Session, select

from notifications.models import InboundMessage, OutboundMessage
from tests.builders.people import login
from tests.builders.sms import queue_sms
from tests.builders.world import make_world

NUMBER = "+8613812345678"


_queue = partial(queue_sms, locale="zh", context={"ref": "WO-9"})


def test_template_page_shows_segment_counts_per_locale(client, db):
    make_world(db)
    login(client, "dispatcher")
    html = client.get("/sms/templates").get_data(as_text=True)
    assert 'data-template="fault_received" data-locale="zh"' in html
    assert "UCS-2" in html and "GSM-7" in html
    assert "1 segment(s)" in html


def test_outbox_page_lists_messages_with_status(client, db):
    make_world(db)
    _queue(db)
    login(client, "agent")
    html = client.get("/sms").get_data(as_text=True)
    assert "WO-9" in html and "pending" in html
    assert client.get("/sms?status=failed").get_data(as_text=True).count('data-testid="outbox-row"') == 0


def test_technician_cannot_see_the_outbox_or_phone(client, db):
    make_world(db)
    login(client, "tech01")
    assert client.get("/sms").status_code == 403
    assert client.get("/dev/phone").status_code == 403


def test_dev_phone_delivers_and_shows_the_conversation_and_takes_replies(app, client, db, engine, monkeypatch):
    monkeypatch.setitem(app.config, "FIXROUTE", app.config["FIXROUTE"].model_copy(
        update={"twilio_account_sid": None, "twilio_auth_token": None}))
    make_world(db)
    _queue(db)
    login(client, "dispatcher")
    assert client.post("/dev/phone/deliver").status_code == 302
    with Session(engine) as s:
        assert s.exec(select(OutboundMessage.status)).one() == "dev_delivered"
    assert NUMBER in client.get("/dev/phone").get_data(as_text=True)
    page = client.get(f"/dev/phone/{NUMBER}").get_data(as_text=True)
    assert "WO-9" in page and "On the development phone" in page  # the status in words
    client.post(f"/dev/phone/{NUMBER}/reply", data={"body": "HELP"})
    page = client.get(f"/dev/phone/{NUMBER}").get_data(as_text=True)
    assert 'data-testid="bubble-in"' in page
    with Session(engine) as s:
        assert s.exec(select(InboundMessage.handled_as)).one() == "help"
        help_row = s.exec(select(OutboundMessage).where(OutboundMessage.template == "help")).one()
        assert help_row.status == "dev_delivered" and help_row.locale == "zh"


def test_outbox_api_paginates_and_validates(client, db):
    make_world(db)
    _queue(db, "a")
    _queue(db, "b", locale="en")
    login(client, "dispatcher")
    body = client.get("/api/v1/sms/outbox?per_page=1").get_json()
    assert body["total"] == 2 and len(body["items"]) == 1
    assert body["items"][0]["status"] == "pending"
    bad = client.get("/api/v1/sms/outbox?status=nope")
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"][0]["field"] == "status"
    bad = client.get("/api/v1/sms/outbox?to=123")
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"][0]["field"] == "to"


def test_cli_send_pending_drains_the_outbox(app, db, engine, monkeypatch):
    monkeypatch.setitem(app.config, "FIXROUTE", app.config["FIXROUTE"].model_copy(
        update={"twilio_account_sid": None, "twilio_auth_token": None}))
    _queue(db)
    result = app.test_cli_runner().invoke(args=["sms", "send-pending", "--limit", "10"])
    assert result.exit_code == 0, result.output
    assert "dev: claimed 1, sent 1" in result.output
    with Session(engine) as s:
        assert s.exec(select(OutboundMessage.status)).one() == "dev_delivered"


def test_worker_job_drains_with_settings_from_the_environment(db, db_url, engine, monkeypatch):
    from notifications.sender import drain_outbox_job

    monkeypatch.setenv("DATABASE_URL", db_url)
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.setenv(name, "")
    _queue(db)
    assert drain_outbox_job(limit=10)["sent"] == 1
    with Session(engine) as s:
        assert s.exec(select(OutboundMessage.status)).one() == "dev_delivered"
