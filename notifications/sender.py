"""Draining the outbox: claim due rows, send them, record what the provider said.

Protocol (one key is sent at most once, even with two senders or a restart):

1. **Claim** in a short write transaction (SQLite ``BEGIN IMMEDIATE``; PostgreSQL
   ``SELECT ... FOR UPDATE SKIP LOCKED``): due ``pending`` rows, and ``sending`` rows
   whose lease has expired, become ``sending`` with a fresh ``claim_token`` and
   ``lease_until = now + lease`` (longer than the HTTP timeout); ``attempts`` counts up.
   Opted-out numbers are suppressed here; rows over a number's hourly limits (every
   message: ``SMS_MAX_PER_NUMBER_PER_HOUR``, 10 by default; non-urgent ones: 3) and
   non-urgent rows inside quiet hours stay ``pending``, pushed later, and audited
   (``deferred``). On PostgreSQL a per-number advisory lock makes concurrent claims
   count each other's sends. The claim commits before any HTTP call.
2. **Send** outside any transaction, then **record** in a new transaction, only if the
   row still carries our claim token (so a sender whose lease was taken over never
   overwrites the new holder).
3. Failures: 429, 5xx and network errors go back to ``pending`` with exponential
   backoff (30 s, 60 s, ... capped at 1 h; ``failed`` with the last code after
   ``max_attempts``), or later if Twilio's answer carried ``Retry-After`` (seconds or
   an HTTP-date; honoured up to 1 h); other 4xx are permanent: ``failed`` with
   Twilio's error code. Retries and give-ups are audited (``outbound_message``), since
   the row itself forgets them once the message goes out.

**What remains possible**: a crash (or lost connection) after Twilio accepted the
message but before our record committed leaves the row in ``sending`` without a SID.
Nothing retakes it until its lease expires, and then it is narrowed twice before a
second send: (a) the status callback URL carries the outbox id (``?o=<id>``), so
Twilio's first status callback attaches the SID and moves the row out of ``sending``;
(b) a stuck row is first *looked up* at Twilio (recent messages to that number with
the same body, created since the row was) and adopted if found. A duplicate can then
only happen if Twilio accepted the message, sent no callback yet and does not list it
yet when the lease expires (minutes later), or the lookup itself is unavailable (then
the row is retried later, not resent blind).
"""
from __future__ import annotations

import bisect
import logging
import threading
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

from sqlalchemy import Engine, and_, or_, text
from sqlmodel import Session, select

from core.audit import record_audit
from core.db import end_transaction, is_sqlite, unit_of_work
from core.timeutil import as_utc, utcnow
from notifications.models import OutboundMessage
from notifications.outbox import (
    STATUS_DEV_DELIVERED,
    STATUS_PENDING,
    STATUS_SENDING,
    STATUS_SUPPRESSED,
    is_opted_out,
    quiet_until,
)

log = logging.getLogger("fixroute.sms")

LEASE_SECONDS = 300
MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
RETRY_AFTER_CAP_SECONDS = 3600  # a longer Retry-After is shortened to this
NON_URGENT_PER_NUMBER_PER_HOUR = 3
# every message to one number, urgent or not, in a rolling hour (SMS_MAX_PER_NUMBER_PER_HOUR)
PER_NUMBER_PER_HOUR = 10
SEND_WINDOW = timedelta(hours=1)

# how far each status is along the way; a callback never moves a message backwards
STATUS_RANK = {
    STATUS_PENDING: 0, STATUS_SENDING: 1, "queued": 2, "sent": 3,
    "undelivered": 4, "failed": 4, "delivered": 5,
}
FINAL = {"delivered", STATUS_DEV_DELIVERED, STATUS_SUPPRESSED}

AUDIT_ENTITY = "outbound_message"
AUDIT_ACTOR = "sms sender"


def map_provider_status(raw: str | None) -> str:
    """Twilio's message status -> ours. Twilio's own intermediate states (accepted,
    scheduled, sending) are all 'queued' here: 'sending' means claimed by our sender."""
    raw = (raw or "").lower()
    if raw in ("sent", "delivered", "undelivered", "failed", "read"):
        return "delivered" if raw == "read" else raw
    if raw == "canceled":
        return "failed"
    return "queued"


@dataclass
class Accepted:
    sid: str
    status: str  # ours, after map_provider_status (or dev_delivered)
    provider_status: str = ""


class SendFailed(Exception):
    """`retry_after`: how long the provider asked us to wait (its Retry-After), if it did."""

    def __init__(self, message: str, *, retryable: bool, code: str | None = None,
                 http_status: int | None = None, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, date: str | None = None,
                      now: datetime | None = None) -> timedelta | None:
    """An HTTP Retry-After value as a wait: delta-seconds (``120``) or an HTTP-date
    (``Wed, 21 Oct 2030 07:28:00 GMT``). A date is measured from the same answer's
    ``Date`` header when there is one (so our clock's skew does not matter), else from
    `now`; a date in the past gives zero. None when absent or malformed."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return timedelta(seconds=min(int(value), 366 * 86400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    reference = None
    if date:
        try:
            reference = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            reference = None
    reference = reference or now or utcnow()
    # HTTP-dates are GMT; parsedate_to_datetime leaves "-0000" naive
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    reference = reference if reference.tzinfo else reference.replace(tzinfo=UTC)
    return max(when - reference, timedelta(0))


class SmsSender(Protocol):
    name: str

    def send(self, message: OutboundMessage) -> Accepted: ...

    def find_sent(self, message: OutboundMessage) -> Accepted | None: ...


def _recording_http_client(timeout: float):
    """A TwilioHttpClient that remembers, per thread, the last answer it received.

    Why: twilio-python turns an error answer into ``TwilioRestException(status, uri,
    msg, code, method, details)`` and drops the answer's headers (twilio 9.x,
    ``twilio.base.version.Version.exception``), so a ``Retry-After`` on a 429 or 503
    never reaches the caller. The stock client does keep its last answer, but in
    ``_test_only_last_response``: private, meant for twilio's own tests, and one slot
    shared by every thread using the client (one TwilioSender may serve several
    threads). This subclass keeps the answer in a thread-local instead; the sender
    reads it right after the failing call, in the same thread."""
    from twilio.http.http_client import TwilioHttpClient

    class RecordingHttpClient(TwilioHttpClient):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            self._seen = threading.local()

        def request(self, *args, **kwargs):
            self._seen.response = None
            response = super().request(*args, **kwargs)
            self._seen.response = response
            return response

        def last_response(self):
            """This thread's last answer (twilio.http.response.Response), or None."""
            return getattr(self._seen, "response", None)

    return RecordingHttpClient(timeout=timeout)


class TwilioSender:
    """Sends through the real twilio-python client. `api_base_url` points it at another
    host (a local fake in tests): twilio-python joins each URI to `client.api.base_url`."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, *, from_number: str | None = None,
                 messaging_service_sid: str | None = None, public_base_url: str | None = None,
                 api_base_url: str | None = None, timeout: float = 15.0) -> None:
        from twilio.rest import Client

        if not (from_number or messaging_service_sid):
            raise ValueError("a from number or a messaging service SID is required")
        self.http = _recording_http_client(timeout)
        self.client = Client(account_sid, auth_token, http_client=self.http)
        if api_base_url:
            self.client.api.base_url = api_base_url.rstrip("/")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.public_base_url = (public_base_url or "").rstrip("/") or None

    def status_callback(self, message: OutboundMessage) -> str | None:
        if not self.public_base_url:
            return None
        return f"{self.public_base_url}/webhooks/twilio/status?o={message.id}"

    def send(self, message: OutboundMessage) -> Accepted:
        kwargs = {"to": message.to_number, "body": message.body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        callback = self.status_callback(message)
        if callback:
            kwargs["status_callback"] = callback
        kwargs["attempt"] = message.attempts
        created = self._call(lambda: self.client.messages.create(**kwargs))
        return Accepted(created.sid, map_provider_status(created.status), created.status or "")

    def find_sent(self, message: OutboundMessage) -> Accepted | None:
        since = as_utc(message.created_at) - timedelta(minutes=5)
        recent = self._call(lambda: self.client.messages.list(to=message.to_number, limit=50))
        for item in recent:
            created = item.date_created
            if item.body == message.body and (created is None or as_utc(created) >= since):
                return Accepted(item.sid, map_provider_status(item.status), item.status or "")
        return None

    def _call(self, fn: Callable):
        import requests
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            return fn()
        except TwilioRestException as exc:
            retryable = exc.status == 429 or exc.status >= 500
            code = str(exc.code) if exc.code is not None else f"http_{exc.status}"
            raise SendFailed(exc.msg or str(exc), retryable=retryable, code=code,
                             http_status=exc.status,
                             retry_after=self._retry_after(exc.status) if retryable else None
                             ) from exc
        except (requests.RequestException, TwilioException, OSError) as exc:
            raise SendFailed(f"network error: {exc.__class__.__name__}", retryable=True,
                             code="network") from exc

    def _retry_after(self, status: int) -> timedelta | None:
        """The Retry-After of the answer that just failed in this thread, if it has one."""
        response = self.http.last_response()
        if response is None or response.status_code != status:
            return None
        headers = response.headers or {}  # requests' case-insensitive dict
        return parse_retry_after(headers.get("Retry-After"), date=headers.get("Date"))


class DevSender:
    """Without Twilio credentials: the message stays in the outbox as 'dev_delivered'
    and shows on the development phone page (/dev/phone). Nothing leaves the machine."""

    name = "dev"

    def send(self, message: OutboundMessage) -> Accepted:
        return Accepted(f"DEV{uuid.uuid4().hex[:29]}", STATUS_DEV_DELIVERED, "dev")

    def find_sent(self, message: OutboundMessage) -> Accepted | None:
        return None


def sender_from_settings(settings) -> SmsSender:
    if settings.twilio_configured:
        return TwilioSender(
            settings.twilio_account_sid, settings.twilio_auth_token,
            from_number=settings.twilio_from_number,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            public_base_url=settings.public_base_url,
            api_base_url=settings.twilio_api_base_url,
        )
    return DevSender()


@dataclass
class DrainReport:
    claimed: int = 0
    sent: int = 0
    recovered: int = 0  # stuck rows found already sent at the provider
    retry: int = 0
    failed: int = 0
    suppressed: int = 0
    deferred: int = 0
    lost_lease: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "errors"}


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0),
                                 BACKOFF_CAP_SECONDS))


SessionSource = Engine | Callable[[], Session]


def _open(source: SessionSource) -> Session:
    if isinstance(source, Engine):
        return Session(source, expire_on_commit=False)
    return source()


@dataclass
class _Claim:
    id: int
    token: str
    was_stuck: bool


class _SendWindow:
    """Send times to one number in the rolling hour (a message in flight counts as sent
    now), plus the times this claim has already promised to rows it deferred: at most
    `cap` in any hour. Deferred rows queue in order instead of all waking up at once."""

    def __init__(self, cap: int, times: list[datetime]) -> None:
        self.cap = max(cap, 1)
        self.times = sorted(times)

    def free_at(self, now: datetime) -> datetime | None:
        """None if a message may go now, else the first time one may."""
        if len(self.times) < self.cap:
            return None
        at = self.times[-self.cap] + SEND_WINDOW
        return at if at > now else None

    def take(self, at: datetime) -> None:
        bisect.insort(self.times, at)


def _recent_sends(session: Session, phone: str, now: datetime) -> list[tuple[datetime, bool]]:
    """(send time, urgent) of every message to `phone` sent in the last hour or in flight."""
    hour_ago = now - SEND_WINDOW
    rows = session.exec(
        select(OutboundMessage.sent_at, OutboundMessage.urgent).where(
            OutboundMessage.to_number == phone,
            or_(OutboundMessage.sent_at > hour_ago, OutboundMessage.status == STATUS_SENDING),
        )
    ).all()
    return [(as_utc(sent_at) if sent_at is not None else now, bool(urgent))
            for sent_at, urgent in rows]


_PG_SEND_WINDOW_LOCK = 0x534D_5357  # "SMSW": first half of the per-number advisory lock key


def _number_lock_key(phone: str) -> int:
    key = zlib.crc32(phone.encode())
    return key - 2**32 if key >= 2**31 else key  # PostgreSQL's int4


def _lock_send_windows(session: Session, phones: set[str]) -> None:
    """Serialise the per-number limit decisions of concurrent claims on PostgreSQL.

    Rows are claimed with SKIP LOCKED, so two senders hold different rows to the same
    number; under READ COMMITTED each would count only the other's *committed* sends and
    both could fill the same hour. A transaction-scoped advisory lock per number (taken
    before counting, released at commit) makes the second claim wait and then count the
    first one's rows. Keys are taken in ascending order, so claims never wait on each
    other in a cycle; a hash collision only serialises two numbers needlessly. On SQLite
    the claim's BEGIN IMMEDIATE already serialises claims."""
    if is_sqlite(session):
        return
    for key in sorted({_number_lock_key(p) for p in phones}):
        session.exec(text("SELECT pg_advisory_xact_lock(:ns, :key)")
                     .bindparams(ns=_PG_SEND_WINDOW_LOCK, key=key))


def _defer(session: Session, row: OutboundMessage, until: datetime, reason: str,
           report: DrainReport, *, message: str | None = None, **data) -> None:
    """Hold a due row back until `until` (it stays 'pending'), audited with the reason."""
    row.next_attempt_at = until
    if message is not None:
        row.error_message = message[:255]
    session.add(row)
    record_audit(session, AUDIT_ENTITY, row.id, "deferred", actor_label=AUDIT_ACTOR,
                 reason=reason, until=until.isoformat(), **data)
    report.deferred += 1


def claim_due(session: Session, *, limit: int, now: datetime, lease_seconds: int = LEASE_SECONDS,
              non_urgent_per_hour: int = NON_URGENT_PER_NUMBER_PER_HOUR,
              per_number_per_hour: int = PER_NUMBER_PER_HOUR,
              report: DrainReport | None = None) -> list[_Claim]:
    report = report or DrainReport()
    with unit_of_work(session):  # the claim commits before any HTTP call
        stmt = (
            select(OutboundMessage)
            .where(or_(
                and_(OutboundMessage.status == STATUS_PENDING, OutboundMessage.next_attempt_at <= now),
                and_(OutboundMessage.status == STATUS_SENDING, OutboundMessage.lease_until < now),
            ))
            .order_by(OutboundMessage.urgent.desc(), OutboundMessage.next_attempt_at, OutboundMessage.id)
            .limit(limit)
        )
        if not is_sqlite(session):
            stmt = stmt.with_for_update(skip_locked=True)
        rows = session.exec(stmt).all()
        _lock_send_windows(session, {row.to_number for row in rows if row.status == STATUS_PENDING})
        # per number: every message, and the non-urgent ones alone; loaded once per claim,
        # then kept up to date with what this claim sends or promises
        windows: dict[str, tuple[_SendWindow, _SendWindow]] = {}
        claims: list[_Claim] = []
        for row in rows:
            row.updated_at = now
            if is_opted_out(session, row.to_number) and row.status == STATUS_PENDING:
                row.status = STATUS_SUPPRESSED
                row.error_message = "recipient opted out (STOP)"
                session.add(row)
                report.suppressed += 1
                continue
            # a stuck 'sending' row is retaken as it is: it was counted when first claimed
            if row.status == STATUS_PENDING:
                if not row.urgent:
                    quiet = quiet_until(now, row.region_tz,
                                        (row.quiet_start_hour, row.quiet_end_hour)
                                        if row.quiet_start_hour is not None else None)
                    if quiet is not None:
                        _defer(session, row, quiet, "quiet_hours", report)
                        continue
                if row.to_number not in windows:
                    sends = _recent_sends(session, row.to_number, now)
                    windows[row.to_number] = (
                        _SendWindow(per_number_per_hour, [t for t, _ in sends]),
                        _SendWindow(non_urgent_per_hour, [t for t, urgent in sends if not urgent]),
                    )
                every, non_urgent = windows[row.to_number]
                applicable = [("per_number_cap", every)]
                if not row.urgent:
                    applicable.append(("non_urgent_cap", non_urgent))
                blocked = [(at, reason, w.cap) for reason, w in applicable
                           if (at := w.free_at(now)) is not None]
                if blocked:
                    until, reason, cap = max(blocked)
                    for _, window in applicable:
                        window.take(until)
                    kind = "" if reason == "per_number_cap" else "non-urgent "
                    _defer(session, row, until, reason, report, cap=cap, message=(
                        f"rate limited until {until:%H:%M} UTC: at most {cap} {kind}messages "
                        f"to this number per hour"))
                    continue
                for _, window in applicable:
                    window.take(now)
            was_stuck = row.status == STATUS_SENDING
            token = uuid.uuid4().hex
            row.status = STATUS_SENDING
            row.claim_token = token
            row.lease_until = now + timedelta(seconds=lease_seconds)
            row.attempts += 1
            session.add(row)
            claims.append(_Claim(row.id, token, was_stuck))
    report.claimed += len(claims)
    return claims


def _record(session: Session, claim: _Claim, now: datetime, *, accepted: Accepted | None = None,
            failure: SendFailed | None = None, max_attempts: int = MAX_ATTEMPTS,
            report: DrainReport) -> None:
    with unit_of_work(session) as unit:
        stmt = select(OutboundMessage).where(OutboundMessage.id == claim.id)
        if not is_sqlite(session):
            stmt = stmt.with_for_update()
        row = session.exec(stmt).one()
        if row.claim_token != claim.token:
            # our lease expired and another sender took the row over: it decides now
            unit.discard()
            report.lost_lease += 1
            log.warning("outbox %s: lease lost before recording the result", claim.id)
            return
        row.claim_token = None
        row.lease_until = None
        row.updated_at = now
        if accepted is not None:
            if row.provider_sid is None:
                row.provider_sid = accepted.sid
            # a status callback may already have moved the row further: keep the furthest
            if STATUS_RANK.get(accepted.status, 9) >= STATUS_RANK.get(row.status, 0) or row.status == STATUS_SENDING:
                row.status = accepted.status
                row.provider_status = accepted.provider_status
            row.sent_at = row.sent_at or now
            row.error_code = None
            row.error_message = ""
        else:
            assert failure is not None
            row.error_code = (failure.code or "")[:16] or None
            row.error_message = failure.message[:255]
            details = {"code": row.error_code, "http_status": failure.http_status,
                       "attempts": row.attempts}
            if failure.retryable and row.attempts < max_attempts:
                wait = backoff(row.attempts)
                if failure.retry_after is not None:
                    # never earlier than Twilio asked, but never parked for longer than the cap
                    asked = min(failure.retry_after, timedelta(seconds=RETRY_AFTER_CAP_SECONDS))
                    wait = max(wait, asked)
                    details["retry_after_seconds"] = int(failure.retry_after.total_seconds())
                    row.error_message = (f"{failure.message} (Twilio asked to retry after "
                                         f"{int(failure.retry_after.total_seconds())} s)")[:255]
                row.status = STATUS_PENDING
                row.next_attempt_at = now + wait
                record_audit(session, AUDIT_ENTITY, row.id, "retry_scheduled", actor_label=AUDIT_ACTOR,
                             next_attempt_at=row.next_attempt_at.isoformat(), **details)
                report.retry += 1
            else:
                row.status = "failed"
                if failure.retryable:
                    row.error_message = f"gave up after {row.attempts} attempts: {failure.message}"[:255]
                record_audit(session, AUDIT_ENTITY, row.id, "failed", actor_label=AUDIT_ACTOR, **details)
                report.failed += 1
        session.add(row)


def drain_outbox(source: SessionSource, sender: SmsSender, limit: int = 100, *,
                 now: datetime | None = None, lease_seconds: int = LEASE_SECONDS,
                 max_attempts: int = MAX_ATTEMPTS,
                 non_urgent_per_hour: int = NON_URGENT_PER_NUMBER_PER_HOUR,
                 per_number_per_hour: int = PER_NUMBER_PER_HOUR) -> DrainReport:
    """Send up to `limit` due messages; safe to run from several processes at once
    (scheduler job, RQ worker, `fixroute sms send-pending`). `source` is an Engine or
    a callable returning a new Session. `now` is for tests; production uses the clock.
    `per_number_per_hour` caps every message to one number in a rolling hour (callers
    pass `settings.sms_max_per_number_per_hour`); rows over it wait, still pending."""
    report = DrainReport()
    clock = (lambda: now) if now is not None else utcnow
    with _open(source) as session:
        claims = claim_due(session, limit=limit, now=clock(), lease_seconds=lease_seconds,
                           non_urgent_per_hour=non_urgent_per_hour,
                           per_number_per_hour=per_number_per_hour, report=report)
        for claim in claims:
            message = session.get(OutboundMessage, claim.id)
            session.expunge(message)  # a detached snapshot to send from
            end_transaction(session, reread=True)
            try:
                accepted = sender.find_sent(message) if claim.was_stuck else None
                if accepted is not None:
                    report.recovered += 1
                else:
                    accepted = sender.send(message)
                    report.sent += 1
                _record(session, claim, clock(), accepted=accepted, report=report)
            except SendFailed as failure:
                log.info("outbox %s: %s (%s)", claim.id, failure.message, failure.code)
                report.errors.append(f"{claim.id}: {failure.code}")
                _record(session, claim, clock(), failure=failure, max_attempts=max_attempts,
                        report=report)
    return report


def apply_status_callback(session: Session, *, sid: str, status: str, error_code: str | None,
                          outbox_id: str | None = None, commit: bool = True) -> OutboundMessage | None:
    """A Twilio delivery status callback; idempotent, never moves a message backwards.
    Its own unit of work (commit=False: part of the caller's). Unknown messages are
    ignored (None)."""
    with unit_of_work(session, commit):
        return _apply_status(session, sid=sid, status=status, error_code=error_code,
                             outbox_id=outbox_id)


def _apply_status(session: Session, *, sid: str, status: str, error_code: str | None,
                  outbox_id: str | None) -> OutboundMessage | None:
    row = session.exec(select(OutboundMessage).where(OutboundMessage.provider_sid == sid)).first()
    if row is None and outbox_id and outbox_id.isdigit():
        candidate = session.get(OutboundMessage, int(outbox_id))
        # the callback arrived before (or instead of) our own record of the send
        if candidate is not None and candidate.provider_sid is None:
            row = candidate
            row.provider_sid = sid
            row.sent_at = row.sent_at or utcnow()
    if row is None:
        return None
    new = map_provider_status(status)
    current = row.status
    if current in FINAL or STATUS_RANK.get(new, 0) <= STATUS_RANK.get(current, 0):
        session.add(row)  # at most the SID was attached; the status stays
        return row
    row.status = new
    row.provider_status = (status or "")[:24]
    if error_code and new in ("failed", "undelivered"):
        row.error_code = str(error_code)[:16]
    row.updated_at = utcnow()
    session.add(row)
    return row


def drain_with_settings(source: SessionSource, settings, limit: int, *,
                        sender: SmsSender | None = None, **kwargs) -> DrainReport:
    """`drain_outbox` with what the settings name: the sender (Twilio or the dev phone
    page) unless one is given, and the per-number hourly cap. Every caller in the app
    goes through here, so a new setting of the drain is read in one place."""
    return drain_outbox(source, sender or sender_from_settings(settings), limit,
                        per_number_per_hour=settings.sms_max_per_number_per_hour, **kwargs)


def drain_beside(session: Session, source: SessionSource, settings, limit: int, *,
                 sender: SmsSender | None = None) -> DrainReport:
    """`drain_with_settings` from a caller that holds `session` (a page's request): the
    drain works in sessions of its own, so `session`'s transaction ends first. On SQLite
    a writing request holds the write lock from its start, and the drain would wait for
    it until the busy timeout."""
    end_transaction(session)
    return drain_with_settings(source, settings, limit, sender=sender)


def drain_outbox_job(database_url: str | None = None, limit: int = 200,
                     lease_seconds: int | None = None) -> dict:
    """The one outbox drain outside a request: an RQ job (`dispatch.planning.queues`
    enqueues it with the database URL, never a secret) or cron. Sends up to `limit`
    due rows with the sender this process's environment configures (Twilio, or the dev
    phone page without credentials) and returns the report as a dict."""
    from core.db import import_all_models, make_engine, model_modules
    from core.settings import load_settings

    settings = load_settings()
    if model_modules():  # a worker started by `fixroute worker` registered them
        import_all_models()
    engine = make_engine(database_url or settings.database_url)
    try:
        report = drain_with_settings(engine, settings, limit,
                                     lease_seconds=lease_seconds or LEASE_SECONDS).as_dict()
        log.info("outbox drain: %s", report)
        return report
    finally:
        engine.dispose()
