"""Twilio webhooks: signatures (valid, forged, missing, behind a proxy), delivery status
callbacks, inbound messages once per SID, STOP / START / HELP, replies to dispatch."""
from __future__ import annotations

from functools import partial

import pytest
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator
from werkzeug.middleware.proxy_fix import ProxyFix

from notifications.models import InboundMessage, OutboundMessage, SmsOptOut
from notifications.outbox import enqueue_sms
from notifications.sender import DevSender, drain_outbox
from notifications.signals import inbound_reply
from tests.builders.sms import queue_sms

TOKEN = "webhook-test-token"
PUBLIC = "https://fixroute.example.com"
NUMBER = "+8613812345678"


@pytest.fixture
def signed_app(app, monkeypatch):
    settings = app.config["FIXROUTE"].model_copy(
        update={"twilio_auth_token": TOKEN, "public_base_url": PUBLIC})
    monkeypatch.setitem(app.config, "FIXROUTE", settings)
    return app


def _sign(url: str, params: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def _post(client, path: str, params: dict, *, signature: str | None = "auto", url: str | None = None,
          headers: dict | None = None):
    hdrs = dict(headers or {})
    if signature == "auto":
        signature = _sign(url or PUBLIC + path, params)
    if signature is not None:
        hdrs["X-Twilio-Signature"] = signature
    return client.post(path, data=params, headers=hdrs)


def _inbound(sid: str, body: str, sender: str = NUMBER) -> dict:
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender,
            "To": "+15005550006", "Body": body, "NumMedia": "0"}


_sent_row = partial(queue_sms, context={"ref": "WO-1"})


def test_inbound_with_valid_signature_is_stored_once_per_sid(signed_app, client, engine):
    params = _inbound("SM" + "1" * 32, "Thanks, see you")
    first = _post(client, "/webhooks/twilio/inbound", params)
    assert first.status_code == 200
    assert first.mimetype == "application/xml" and b"<Response" in first.data
    again = _post(client, "/webhooks/twilio/inbound", params)  # Twilio retried
    assert again.status_code == 200
    with Session(engine) as s:
        [msg] = s.exec(select(InboundMessage)).all()
    assert (msg.from_number, msg.body, msg.handled_as) == (NUMBER, "Thanks, see you", "unhandled")


@pytest.mark.parametrize("signature", [None, "", "forged+signature=", "wrong-token"])
def test_bad_or_missing_signature_gets_403_and_stores_nothing(signed_app, client, engine, signature):
    params = _inbound("SM" + "2" * 32, "STOP")
    if signature == "wrong-token":
        signature = _sign(PUBLIC + "/webhooks/twilio/inbound", params, token="not-the-token")
    resp = _post(client, "/webhooks/twilio/inbound", params, signature=signature)
    assert resp.status_code == 403
    with Session(engine) as s:
        assert s.exec(select(InboundMessage)).all() == []
        assert s.exec(select(SmsOptOut)).all() == []


def test_signature_over_other_params_is_refused(signed_app, client, engine):
    signed = _inbound("SM" + "3" * 32, "hello")
    tampered = dict(signed, Body="STOP")
    resp = _post(client, "/webhooks/twilio/inbound", tampered,
                 signature=_sign(PUBLIC + "/webhooks/twilio/inbound", signed))
    assert resp.status_code == 403
    with Session(engine) as s:
        assert s.exec(select(SmsOptOut)).all() == []


def test_signature_for_the_internal_url_is_refused_when_a_public_url_is_set(signed_app, client):
    params = _inbound("SM" + "4" * 32, "hello")
    resp = _post(client, "/webhooks/twilio/inbound", params,
                 url="http://localhost/webhooks/twilio/inbound")
    assert resp.status_code == 403


def test_without_an_auth_token_webhooks_refuse_everything(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "FIXROUTE",
                        app.config["FIXROUTE"].model_copy(update={"twilio_auth_token": None}))
    params = _inbound("SM" + "5" * 32, "hello")
    assert _post(client, "/webhooks/twilio/inbound", params).status_code == 403


def test_behind_a_reverse_proxy_the_forwarded_public_url_is_validated(app, client, monkeypatch, engine):
    monkeypatch.setitem(app.config, "FIXROUTE", app.config["FIXROUTE"].model_copy(
        update={"twilio_auth_token": TOKEN, "public_base_url": None}))
    monkeypatch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1,
                                                  x_prefix=1))
    params = _inbound("SM" + "6" * 32, "hello")
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.fixroute.example.org",
             "X-Forwarded-For": "203.0.113.9"}
    ok = _post(client, "/webhooks/twilio/inbound", params, headers=proxy,
               url="https://sms.fixroute.example.org/webhooks/twilio/inbound")
    assert ok.status_code == 200
    bad = _post(client, "/webhooks/twilio/inbound", dict(params, MessageSid="SM" + "7" * 32),
                headers=proxy, url="http://localhost/webhooks/twilio/inbound")
    assert bad.status_code == 403


def test_status_callbacks_update_the_message_and_duplicates_are_harmless(signed_app, client, db, engine):
    row = _sent_row(db)
    drain_outbox(engine, DevSender())
    with Session(engine) as s:
        sid = s.get(OutboundMessage, row.id).provider_sid
    path = f"/webhooks/twilio/status?o={row.id}"
    for status in ("sent", "delivered", "delivered", "sent"):
        params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
        assert _post(client, path, params, url=PUBLIC + path).status_code == 204
    with Session(engine) as s:
        assert s.get(OutboundMessage, row.id).status == "dev_delivered"  # dev is final
    # a real Twilio message: queued -> undelivered with an error code
    with Session(engine) as s:
        m = s.get(OutboundMessage, row.id)
        m.status = "queued"
        s.add(m)
        s.commit()
    params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert _post(client, path, params, url=PUBLIC + path).status_code == 204
    with Session(engine) as s:
        m = s.get(OutboundMessage, row.id)
        assert (m.status, m.error_code) == ("undelivered", "30003")


def test_forged_status_callback_changes_nothing(signed_app, client, db, engine):
    row = _sent_row(db)
    drain_outbox(engine, DevSender())
    params = {"MessageSid": "SMx", "MessageStatus": "failed", "ErrorCode": "30008"}
    resp = _post(client, "/webhooks/twilio/status", params, signature="bogus")
    assert resp.status_code == 403
    with Session(engine) as s:
        assert s.get(OutboundMessage, row.id).error_code is None


@pytest.mark.parametrize("word", ["STOP", "stop", " Unsubscribe ", "STOPALL", "CANCEL", "END", "QUIT", "退订"])
def test_opt_out_words_stop_further_sms_and_start_resumes(signed_app, client, db, engine, word):
    assert _post(client, "/webhooks/twilio/inbound", _inbound("SM" + "a" * 32, word)).status_code == 200
    with Session(engine) as s:
        assert s.exec(select(SmsOptOut.phone)).all() == [NUMBER]
        assert s.exec(select(InboundMessage.handled_as)).one() == "opt_out"
    assert _sent_row(db, "after-stop").status == "suppressed"
    assert _post(client, "/webhooks/twilio/inbound", _inbound("SM" + "b" * 32, "START")).status_code == 200
    with Session(engine) as s:
        assert s.exec(select(SmsOptOut)).all() == []
    assert _sent_row(db, "after-start").status == "pending"


def test_stop_inside_a_sentence_is_not_an_opt_out(signed_app, client, engine):
    _post(client, "/webhooks/twilio/inbound", _inbound("SM" + "c" * 32, "please stop by after 3pm"))
    with Session(engine) as s:
        assert s.exec(select(SmsOptOut)).all() == []


def test_help_is_answered_in_the_merchants_language_through_the_outbox(signed_app, client, db, engine):
    enqueue_sms(db, key="earlier", to=NUMBER, template="visit_done", locale="zh", context={"ref": "WO-1"})
    db.commit()
    _post(client, "/webhooks/twilio/inbound", _inbound("SM" + "d" * 32, "HELP"))
    _post(client, "/webhooks/twilio/inbound", _inbound("SM" + "d" * 32, "HELP"))  # duplicate
    with Session(engine) as s:
        [help_msg] = s.exec(select(OutboundMessage).where(OutboundMessage.template == "help")).all()
        assert help_msg.locale == "zh" and "退订" in help_msg.body
        assert s.exec(select(InboundMessage.handled_as)).one() == "help"


def test_other_replies_are_announced_to_dispatch_once(signed_app, client, engine):
    seen = []

    def receiver(phone, *, session, message, keyword, **_kw):
        seen.append((phone, keyword, message.body))
        message.handled_as = "test"

    inbound_reply.connect(receiver)
    try:
        _post(client, "/webhooks/twilio/inbound", _inbound("SM" + "e" * 32, "yes please"))
        _post(client, "/webhooks/twilio/inbound", _inbound("SM" + "e" * 32, "yes please"))
    finally:
        inbound_reply.disconnect(receiver)
    assert seen == [(NUMBER, "YES", "yes please")]
    with Session(engine) as s:
        assert s.exec(select(InboundMessage.handled_as)).one() == "test"


def test_a_failing_receiver_keeps_the_message_as_unhandled(signed_app, client, engine):
    def broken(phone, **_kw):
        raise RuntimeError("boom")

    inbound_reply.connect(broken)
    try:
        assert _post(client, "/webhooks/twilio/inbound", _inbound("SM" + "f" * 32, "hi")).status_code == 200
    finally:
        inbound_reply.disconnect(broken)
    with Session(engine) as s:
        assert s.exec(select(InboundMessage.handled_as)).one() == "unhandled"


def test_inbound_with_an_overlong_sid_sent_twice_is_refused_both_times(signed_app, client, engine):
    """Issue 16, finding 9: the SID was cut to 64 characters when stored but looked up
    whole, so Twilio's retry missed the row and hit the unique index (500)."""
    params = _inbound("SM" + "7" * 70, "Thanks")
    answers = [_post(client, "/webhooks/twilio/inbound", params).status_code for _ in range(2)]
    assert answers == [400, 400]
    with Session(engine) as s:
        assert s.exec(select(InboundMessage)).all() == []


def test_service_refuses_an_overlong_sid_and_keeps_a_64_character_one_once(db):
    from core.errors import InvalidInput
    from notifications.inbound import receive_inbound

    with pytest.raises(InvalidInput) as exc:
        receive_inbound(db, sid="SM" + "7" * 70, from_number=NUMBER, body="hi")
    assert exc.value.fields[0]["field"] == "MessageSid"
    sid = "SM" + "8" * 62
    first, created = receive_inbound(db, sid=sid, from_number=NUMBER, body="hi")
    again, created_again = receive_inbound(db, sid=sid, from_number=NUMBER, body="hi")
    assert (created, created_again, again.id) == (True, False, first.id)
