"""The outbox sender against a local fake of Twilio's REST API, through the real
twilio-python client: retries, permanent failures, restarts, concurrency, limits."""
from __future__ import annotations

import contextlib
import json
import threading
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlmodel import Session, select

from notifications.models import OutboundMessage, SmsOptOut
from notifications.outbox import enqueue_sms
from notifications.sender import (
    DevSender,
    TwilioSender,
    apply_status_callback,
    claim_due,
    drain_outbox,
)
from tests.builders.sms import queue_sms
from tests.notifications.conftest import FROM

NUMBER = "+8613812345678"
T0 = datetime(2030, 1, 7, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, outside quiet hours


_enqueue = partial(queue_sms, due_at=T0 - timedelta(minutes=1))  # due when the tests' clock reads T0


def _row(engine, key="k1") -> OutboundMessage:
    with Session(engine) as s:
        return s.exec(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).one()


def test_fake_implements_the_spec_path_and_message_fields():
    from tests.notifications.fake_twilio import SPEC_PATH as spec_path

    if not spec_path.exists():
        pytest.skip("vendor spec not available")
    spec = json.loads(spec_path.read_text())
    from tests.notifications.fake_twilio import MESSAGES_PATH, FakeTwilio

    assert "post" in spec["paths"][MESSAGES_PATH]
    fields = set(spec["components"]["schemas"]["api.v2010.account.message"]["properties"])
    status, payload, _headers = FakeTwilio()._create("AC" + "0" * 32, {"To": NUMBER, "From": FROM, "Body": "x"}, True)
    assert status == 201
    assert fields <= set(payload)


def test_sends_once_with_from_body_and_status_callback(db, engine, fake_twilio, twilio_sender):
    row = _enqueue(db)
    report = drain_outbox(engine, twilio_sender, now=T0)
    assert (report.sent, report.failed, report.retry) == (1, 0, 0)
    [post] = fake_twilio.posts()
    assert post.form["To"] == NUMBER and post.form["From"] == FROM
    assert post.form["Body"] == row.body
    assert post.form["StatusCallback"] == f"https://fixroute.example.com/webhooks/twilio/status?o={row.id}"
    sent = _row(engine)
    assert sent.status == "queued"
    assert sent.provider_sid == fake_twilio.accepted()[0]["sid"]
    assert sent.attempts == 1 and sent.sent_at == T0 and sent.claim_token is None
    # nothing left to do: a second drain sends nothing
    assert drain_outbox(engine, twilio_sender, now=T0 + timedelta(hours=1)).claimed == 0
    assert len(fake_twilio.posts()) == 1


def test_messaging_service_sid_is_used_instead_of_from(db, engine, fake_twilio):
    sender = TwilioSender(fake_twilio.account_sid, fake_twilio.auth_token,
                          messaging_service_sid="MG" + "1" * 32, api_base_url=fake_twilio.base_url)
    _enqueue(db)
    drain_outbox(engine, sender, now=T0)
    [post] = fake_twilio.posts()
    assert post.form["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in post.form
    assert "StatusCallback" not in post.form  # no public URL configured


def test_429_and_500_are_retried_with_exponential_backoff(db, engine, fake_twilio, twilio_sender):
    _enqueue(db)
    fake_twilio.script(429, 500)
    report = drain_outbox(engine, twilio_sender, now=T0)
    assert report.retry == 1
    row = _row(engine)
    assert (row.status, row.error_code, row.attempts) == ("pending", "20429", 1)
    assert row.next_attempt_at == T0 + timedelta(seconds=30)
    # not due yet: nothing is sent
    assert drain_outbox(engine, twilio_sender, now=T0 + timedelta(seconds=29)).claimed == 0
    drain_outbox(engine, twilio_sender, now=T0 + timedelta(seconds=30))
    row = _row(engine)
    assert (row.status, row.error_code, row.attempts) == ("pending", "20500", 2)
    assert row.next_attempt_at == T0 + timedelta(seconds=30 + 60)
    drain_outbox(engine, twilio_sender, now=T0 + timedelta(seconds=90))
    row = _row(engine)
    assert (row.status, row.error_code, row.attempts) == ("queued", None, 3)
    assert [p.status for p in fake_twilio.posts()] == [429, 500, 201]
    assert len(fake_twilio.accepted()) == 1


def test_permanent_4xx_gives_up_with_twilio_error_code(db, engine, fake_twilio, twilio_sender):
    _enqueue(db)
    fake_twilio.script((400, 21211))
    report = drain_outbox(engine, twilio_sender, now=T0)
    assert (report.failed, report.retry) == (1, 0)
    row = _row(engine)
    assert (row.status, row.error_code) == ("failed", "21211")
    assert "not a valid phone number" in row.error_message
    assert drain_outbox(engine, twilio_sender, now=T0 + timedelta(days=1)).claimed == 0
    assert len(fake_twilio.posts()) == 1


def test_gives_up_after_max_attempts_keeping_the_last_code(db, engine, fake_twilio, twilio_sender):
    _enqueue(db)
    fake_twilio.script(503, 503, 503)
    at = T0
    for _ in range(3):
        drain_outbox(engine, twilio_sender, now=at, max_attempts=3)
        at += timedelta(hours=2)
    row = _row(engine)
    assert (row.status, row.error_code, row.attempts) == ("failed", "20503", 3)
    assert row.error_message.startswith("gave up after 3 attempts")


def test_network_error_is_retried(db, engine, fake_twilio):
    from tests.notifications.fake_twilio import FakeTwilio

    closed = FakeTwilio()
    url = closed.start()
    closed.stop()  # nothing listens there any more: connection refused
    sender = TwilioSender(closed.account_sid, closed.auth_token, from_number=FROM,
                          api_base_url=url, timeout=2)
    _enqueue(db)
    report = drain_outbox(engine, sender, now=T0)
    assert report.retry == 1
    row = _row(engine)
    assert (row.status, row.error_code) == ("pending", "network")


def test_restart_after_claim_before_send_sends_exactly_once(db, engine, fake_twilio, twilio_sender):
    """A sender claimed the row and died before calling Twilio: nobody touches the row
    while its lease runs, then it is looked up at Twilio (not there) and sent once."""
    _enqueue(db)
    with Session(engine, expire_on_commit=False) as s:
        assert len(claim_due(s, limit=10, now=T0)) == 1  # ... and the process dies here
    assert _row(engine).status == "sending"
    assert drain_outbox(engine, twilio_sender, now=T0 + timedelta(minutes=4)).claimed == 0
    report = drain_outbox(engine, twilio_sender, now=T0 + timedelta(minutes=6))
    assert (report.sent, report.recovered) == (1, 0)
    assert [r.method for r in fake_twilio.requests] == ["GET", "POST"]  # looked up first
    assert _row(engine).status == "queued" and _row(engine).attempts == 2


def test_restart_after_twilio_accepted_adopts_the_message_instead_of_resending(
        db, engine, fake_twilio, twilio_sender):
    """The window between Twilio's accept and our commit: the row is stuck in
    'sending' without a SID, but Twilio has the message. It is found, not resent."""
    row = _enqueue(db)
    with Session(engine, expire_on_commit=False) as s:
        claim_due(s, limit=10, now=T0)
        claimed = s.get(OutboundMessage, row.id)
        accepted = twilio_sender.send(claimed)  # Twilio accepts ... and we crash before recording
    report = drain_outbox(engine, twilio_sender, now=T0 + timedelta(minutes=6))
    assert (report.recovered, report.sent) == (1, 0)
    assert len(fake_twilio.posts()) == 1
    final = _row(engine)
    assert final.provider_sid == accepted.sid and final.status == "queued"


def test_status_callback_heals_a_row_stuck_in_sending(db, engine, fake_twilio, twilio_sender):
    row = _enqueue(db)
    with Session(engine, expire_on_commit=False) as s:
        claim_due(s, limit=10, now=T0)
        accepted = twilio_sender.send(s.get(OutboundMessage, row.id))  # then crash
    with Session(engine) as s:
        apply_status_callback(s, sid=accepted.sid, status="sent", error_code=None,
                              outbox_id=str(row.id))
        s.commit()
    assert drain_outbox(engine, twilio_sender, now=T0 + timedelta(hours=1)).claimed == 0
    assert len(fake_twilio.posts()) == 1
    healed = _row(engine)
    assert (healed.status, healed.provider_sid) == ("sent", accepted.sid)


def test_two_senders_at_once_send_each_key_once(db, engine, fake_twilio, twilio_sender):
    for i in range(12):
        _enqueue(db, key=f"k{i}")
    barrier = threading.Barrier(2)
    reports = []

    def run():  # all to one number: lift the per-number cap, this is about duplicates
        barrier.wait()
        for _ in range(3):
            reports.append(drain_outbox(engine, twilio_sender, limit=5, now=T0,
                                        per_number_per_hour=50))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bodies = [p.form["Body"] for p in fake_twilio.posts()]
    assert len(bodies) == 12 and len(set(bodies)) == 12
    assert sum(r.sent for r in reports) == 12
    with Session(engine) as s:
        assert {m.status for m in s.exec(select(OutboundMessage)).all()} == {"queued"}


def test_number_that_opted_out_after_enqueue_is_not_sent(db, engine, fake_twilio, twilio_sender):
    _enqueue(db)
    db.add(SmsOptOut(phone=NUMBER))
    db.commit()
    report = drain_outbox(engine, twilio_sender, now=T0)
    assert report.suppressed == 1
    assert _row(engine).status == "suppressed"
    assert fake_twilio.requests == []


def test_non_urgent_messages_are_rate_limited_per_number(db, engine, fake_twilio, twilio_sender):
    for i in range(5):
        _enqueue(db, key=f"n{i}", urgent=False)
    _enqueue(db, key="other", to="+8613900001111", urgent=False)
    _enqueue(db, key="urgent", urgent=True)
    report = drain_outbox(engine, twilio_sender, now=T0, non_urgent_per_hour=3)
    assert report.sent == 5 and report.deferred == 2  # 3 non-urgent + other + urgent
    deferred = [_row(engine, f"n{i}") for i in range(5)]
    waiting = [r for r in deferred if r.status == "pending"]
    assert len(waiting) == 2
    assert all(r.next_attempt_at == T0 + timedelta(hours=1) for r in waiting)
    assert drain_outbox(engine, twilio_sender, now=T0 + timedelta(minutes=59),
                        non_urgent_per_hour=3).sent == 0
    assert drain_outbox(engine, twilio_sender, now=T0 + timedelta(hours=1),
                        non_urgent_per_hour=3).sent == 2


def test_non_urgent_retry_falling_in_quiet_hours_waits(db, engine, fake_twilio, twilio_sender):
    _enqueue(db, urgent=False, region_tz="Asia/Shanghai", quiet_hours=(21, 8))
    night = datetime(2030, 1, 7, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    report = drain_outbox(engine, twilio_sender, now=night)
    assert report.deferred == 1 and fake_twilio.requests == []
    assert _row(engine).next_attempt_at == datetime(2030, 1, 8, 0, 0, tzinfo=UTC)


def test_dev_sender_keeps_messages_visible_as_dev_delivered(db, engine):
    _enqueue(db)
    report = drain_outbox(engine, DevSender(), now=T0)
    assert report.sent == 1
    row = _row(engine)
    assert row.status == "dev_delivered" and row.provider_sid.startswith("DEV")


@pytest.mark.parametrize("sequence,expected", [
    (["sent", "delivered"], "delivered"),
    (["delivered", "sent"], "delivered"),  # out of order: never backwards
    (["sent", "undelivered"], "undelivered"),
    (["delivered", "failed"], "delivered"),
    (["queued", "sent", "sent"], "sent"),
])
def test_status_callbacks_never_move_backwards(db, engine, fake_twilio, twilio_sender, sequence, expected):
    _enqueue(db)
    drain_outbox(engine, twilio_sender, now=T0)
    sid = _row(engine).provider_sid
    for status in sequence:
        with Session(engine) as s:
            apply_status_callback(s, sid=sid, status=status, error_code="30003")
            s.commit()
    row = _row(engine)
    assert row.status == expected
    assert row.error_code == ("30003" if expected == "undelivered" else None)


# --- Retry-After --------------------------------------------------------------------

def _audits(engine, action: str) -> list:
    from core.models import AuditEvent

    with Session(engine) as s:
        return s.exec(select(AuditEvent).where(AuditEvent.entity == "outbound_message",
                                               AuditEvent.action == action)
                      .order_by(AuditEvent.id)).all()


def test_retry_after_seconds_on_429_is_honoured(db, engine, fake_twilio, twilio_sender):
    row = _enqueue(db)
    fake_twilio.script((429, None, {"Retry-After": "600"}))
    report = drain_outbox(engine, twilio_sender, now=T0)
    assert report.retry == 1
    waiting = _row(engine)
    assert (waiting.status, waiting.error_code) == ("pending", "20429")
    assert waiting.next_attempt_at == T0 + timedelta(seconds=600)  # not the 30 s backoff
    assert "retry after 600 s" in waiting.error_message
    [audit] = _audits(engine, "retry_scheduled")
    assert audit.entity_id == str(row.id)
    assert audit.data["retry_after_seconds"] == 600 and audit.data["http_status"] == 429
    assert drain_outbox(engine, twilio_sender, now=T0 + timedelta(seconds=599)).claimed == 0
    drain_outbox(engine, twilio_sender, now=T0 + timedelta(seconds=600))
    assert _row(engine).status == "queued"
    assert [p.status for p in fake_twilio.posts()] == [429, 201]


def test_retry_after_http_date_on_503_is_measured_from_twilios_date_header(
        db, engine, fake_twilio, twilio_sender):
    """The date is read against the answer's own Date header: our clock (here T0, years
    away from the fake's real clock) does not matter."""
    from email.utils import format_datetime

    _enqueue(db)
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
    fake_twilio.script((503, None, {"Retry-After": later}))
    drain_outbox(engine, twilio_sender, now=T0)
    row = _row(engine)
    assert (row.status, row.error_code) == ("pending", "20503")
    # both HTTP-dates have whole seconds: the fake's Date may be a second later
    assert T0 + timedelta(seconds=299) <= row.next_attempt_at <= T0 + timedelta(seconds=300)


@pytest.mark.parametrize("header,expected", [
    ("5", timedelta(seconds=30)),       # shorter than our backoff: the backoff stands
    ("86400", timedelta(hours=1)),      # a day: capped at an hour
    ("soon", timedelta(seconds=30)),    # malformed: ignored
])
def test_retry_after_is_bounded_by_backoff_and_cap(db, engine, fake_twilio, twilio_sender,
                                                   header, expected):
    _enqueue(db)
    fake_twilio.script((429, None, {"Retry-After": header}))
    drain_outbox(engine, twilio_sender, now=T0)
    assert _row(engine).next_attempt_at == T0 + expected


def test_retry_after_does_not_buy_attempts_beyond_the_maximum(db, engine, fake_twilio, twilio_sender):
    _enqueue(db)
    fake_twilio.script((429, None, {"Retry-After": "60"}))
    report = drain_outbox(engine, twilio_sender, now=T0, max_attempts=1)
    assert (report.failed, report.retry) == (1, 0)
    row = _row(engine)
    assert row.status == "failed" and row.error_message.startswith("gave up after 1 attempts")
    [audit] = _audits(engine, "failed")
    assert audit.data["code"] == "20429"


def test_parse_retry_after_reads_seconds_and_http_dates():
    from notifications.sender import parse_retry_after

    date = "Mon, 07 Jan 2030 03:00:00 GMT"
    assert parse_retry_after("120") == timedelta(seconds=120)
    assert parse_retry_after(" 0 ") == timedelta(0)
    assert parse_retry_after("Mon, 07 Jan 2030 03:02:30 GMT", date=date) == timedelta(seconds=150)
    assert parse_retry_after("Mon, 07 Jan 2030 03:02:30 GMT", now=T0) == timedelta(seconds=150)
    assert parse_retry_after("Mon, 07 Jan 2030 02:00:00 GMT", date=date) == timedelta(0)  # past
    for junk in (None, "", "-5", "1.5", "tomorrow", "١٢"):
        assert parse_retry_after(junk) is None


# --- per-number cap -----------------------------------------------------------------

def test_urgent_messages_over_the_per_number_cap_wait_for_the_rolling_hour(
        db, engine, fake_twilio, twilio_sender):
    """Urgent notices skip quiet hours, but not the per-number cap: at most N to one
    number in any rolling hour; the rest stay pending (not lost), in order, audited."""
    for i, minutes in enumerate((0, 10, 20)):
        _enqueue(db, key=f"u{i}")
        drain_outbox(engine, twilio_sender, now=T0 + timedelta(minutes=minutes), per_number_per_hour=3)
    for i in range(3, 6):
        _enqueue(db, key=f"u{i}")
    _enqueue(db, key="other", to="+8613900001111")
    at = T0 + timedelta(minutes=30)
    report = drain_outbox(engine, twilio_sender, now=at, per_number_per_hour=3)
    assert (report.sent, report.deferred) == (1, 3)  # only the other number's message
    waiting = [_row(engine, f"u{i}") for i in range(3, 6)]
    assert [r.status for r in waiting] == ["pending"] * 3
    # each takes the slot freed by one of the earlier three, an hour after it went out
    assert [r.next_attempt_at for r in waiting] == [
        T0 + timedelta(minutes=60), T0 + timedelta(minutes=70), T0 + timedelta(minutes=80)]
    assert waiting[0].error_message.startswith("rate limited until 04:00 UTC: at most 3 messages")
    audits = _audits(engine, "deferred")
    assert [a.data["reason"] for a in audits] == ["per_number_cap"] * 3
    assert [a.entity_id for a in audits] == [str(r.id) for r in waiting]
    assert audits[0].data["until"] == (T0 + timedelta(minutes=60)).isoformat()
    # the window rolls: one more each time a slot frees, and nothing is lost
    for minutes in (60, 70, 80):
        assert drain_outbox(engine, twilio_sender, now=T0 + timedelta(minutes=minutes),
                            per_number_per_hour=3).sent == 1
    assert {_row(engine, f"u{i}").status for i in range(6)} == {"queued"}
    assert _row(engine, "u3").error_message == ""
    assert len(fake_twilio.posts()) == 7


def test_non_urgent_messages_count_against_the_per_number_cap(db, engine, fake_twilio, twilio_sender):
    _enqueue(db, key="n0", urgent=False)
    _enqueue(db, key="n1", urgent=False)
    drain_outbox(engine, twilio_sender, now=T0, per_number_per_hour=3)
    _enqueue(db, key="u0")
    _enqueue(db, key="u1")
    report = drain_outbox(engine, twilio_sender, now=T0 + timedelta(minutes=5), per_number_per_hour=3)
    assert (report.sent, report.deferred) == (1, 1)
    assert _row(engine, "u1").next_attempt_at == T0 + timedelta(hours=1)


def test_a_stuck_row_is_retaken_even_when_the_number_is_at_its_cap(db, engine, fake_twilio, twilio_sender):
    """A row left in 'sending' was counted when first claimed: retaking it after its
    lease must not be blocked by its own slot."""
    _enqueue(db)
    with Session(engine, expire_on_commit=False) as s:
        claim_due(s, limit=10, now=T0, per_number_per_hour=1)  # ... and the process dies
    report = drain_outbox(engine, twilio_sender, now=T0 + timedelta(minutes=6), per_number_per_hour=1)
    assert (report.sent, report.deferred) == (1, 0)


def test_two_senders_at_once_stay_within_the_per_number_cap(db, engine, fake_twilio, twilio_sender,
                                                            monkeypatch):
    """Two claims race on one number: each holds different rows (SKIP LOCKED on
    PostgreSQL), so each must count the other's. The first claim to count waits at a
    barrier for the second: without serialisation both count zero and both send 3."""
    import notifications.sender as sender_module

    for i in range(6):
        _enqueue(db, key=f"r{i}")
    counted = threading.Barrier(2)
    original = sender_module._recent_sends

    def recent_sends_then_wait(*args, **kwargs):
        result = original(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            counted.wait(timeout=2)  # the other claim is blocked (correct) or counting too
        return result

    monkeypatch.setattr(sender_module, "_recent_sends", recent_sends_then_wait)
    start = threading.Barrier(2)
    reports = []

    def run():
        start.wait()
        reports.append(drain_outbox(engine, twilio_sender, limit=3, now=T0, per_number_per_hour=3))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake_twilio.posts()) == 3
    assert sorted((r.sent, r.deferred) for r in reports) == [(0, 3), (3, 0)]
    with Session(engine) as s:
        rows = s.exec(select(OutboundMessage)).all()
    assert sorted(r.status for r in rows) == ["pending"] * 3 + ["queued"] * 3
    assert {r.next_attempt_at for r in rows if r.status == "pending"} == {T0 + timedelta(hours=1)}


def test_send_pending_command_takes_the_cap_from_settings(app, db, monkeypatch):

    monkeypatch.setitem(app.config, "FIXROUTE", app.config["FIXROUTE"].model_copy(
        update={"sms_max_per_number_per_hour": 2}))
    for i in range(3):
        row = enqueue_sms(db, key=f"s{i}", to=NUMBER, template="visit_done", locale="en",
                          context={"ref": i})
    db.commit()
    result = app.test_cli_runner().invoke(args=["sms", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "sent 2" in result.output and "deferred 1" in result.output
    with Session(app.extensions["fixroute.engine"]) as s:
        assert s.get(OutboundMessage, row.id).status == "pending"


def test_settings_read_the_per_number_cap_and_refuse_zero(monkeypatch):
    from core.settings import load_settings

    monkeypatch.setenv("SMS_MAX_PER_NUMBER_PER_HOUR", "4")
    assert load_settings({"database_url": "sqlite://", "secret_key": "x"}).sms_max_per_number_per_hour == 4
    monkeypatch.delenv("SMS_MAX_PER_NUMBER_PER_HOUR")
    assert load_settings({"database_url": "sqlite://", "secret_key": "x"}).sms_max_per_number_per_hour == 10
    with pytest.raises(ValueError, match="SMS_MAX_PER_NUMBER_PER_HOUR"):
        load_settings({"database_url": "sqlite://", "secret_key": "x", "sms_max_per_number_per_hour": 0})
