"""The SMS outbox: every merchant notice is one row, keyed by an idempotency key.

`enqueue_sms` adds the row to the caller's transaction and does not commit, so that a
work-order change and its notice land together or not at all. A sender
(notifications.sender) drains due rows later. Opted-out numbers get a row too, with
status 'suppressed': kept and visible, never sent."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.errors import InvalidInput
from core.timeutil import utcnow
from notifications.models import OutboundMessage, SmsOptOut
from notifications.segments import count_segments
from notifications.sms_templates import normalize_locale, render

STATUS_PENDING = "pending"
STATUS_SENDING = "sending"
STATUS_SUPPRESSED = "suppressed"
STATUS_DEV_DELIVERED = "dev_delivered"


def normalize_e164(number: str | None, field: str = "to") -> str:
    """The number in E.164, or InvalidInput naming `field`."""
    raw = (number or "").strip()
    if not raw:
        raise InvalidInput(_l("a phone number is required"), field=field)
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise InvalidInput(_l("not a phone number in E.164 form (+<country><number>)"),
                           field=field) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(_l("not a valid phone number"), field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_opted_out(session: Session, phone: str) -> bool:
    return session.exec(select(SmsOptOut.id).where(SmsOptOut.phone == phone)).first() is not None


def quiet_until(now: datetime, region_tz: str | None, quiet_hours: tuple[int, int] | None) -> datetime | None:
    """If `now` falls inside the region's quiet hours, the UTC time they end; else None.
    Hours are local; start > end wraps midnight (21 -> 8); start == end means none."""
    if not quiet_hours or region_tz is None:
        return None
    start, end = quiet_hours
    if start is None or end is None or start == end:
        return None
    try:
        tz = ZoneInfo(region_tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(_l("unknown time zone %(tz)s", tz=repr(region_tz)),
                           field="region_tz") from None
    local = now.astimezone(tz)
    hour = local.hour
    inside = (start <= hour < end) if start < end else (hour >= start or hour < end)
    if not inside:
        return None
    end_local = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if end_local <= local:
        end_local += timedelta(days=1)
    # re-attach the zone so a DST change between now and then is honoured
    end_local = end_local.replace(tzinfo=None).replace(tzinfo=tz)
    return end_local.astimezone(now.tzinfo)


def enqueue_sms(
    session: Session,
    *,
    key: str,
    to: str,
    template: str,
    locale: str,
    context: dict,
    urgent: bool = True,
    region_tz: str | None = None,
    quiet_hours: tuple[int, int] | None = None,
) -> OutboundMessage | None:
    """Add one SMS to the outbox, once per `key`; the caller commits.

    - `to` must be a valid number (E.164 after normalisation), else InvalidInput(field="to");
    - the same key again returns the existing row (no second message);
    - an opted-out number gives a row with status 'suppressed' (kept, visible, not sent);
    - a non-urgent notice inside the region's quiet hours waits until they end.
    Always returns the row (the `None` in the signature is kept for callers written
    against the first draft)."""
    key = (key or "").strip()
    if not key or len(key) > 160:
        raise InvalidInput(_l("an idempotency key of 1-160 characters is required"),
                           field="key")
    existing = session.exec(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).first()
    if existing is not None:
        return existing
    phone = normalize_e164(to, "to")
    locale = normalize_locale(locale)
    context = {k: (v if isinstance(v, (int, float, bool)) or v is None else str(v))
               for k, v in (context or {}).items()}
    body = render(template, locale, context)
    info = count_segments(body)
    now = utcnow()
    quiet = None if urgent else quiet_until(now, region_tz, quiet_hours)
    message = OutboundMessage(
        idempotency_key=key, to_number=phone, template=template, locale=locale,
        context=context, body=body, segments=info.segments, encoding=info.encoding,
        urgent=urgent, next_attempt_at=quiet or now, created_at=now, updated_at=now,
        region_tz=region_tz,
        quiet_start_hour=quiet_hours[0] if quiet_hours else None,
        quiet_end_hour=quiet_hours[1] if quiet_hours else None,
    )
    if is_opted_out(session, phone):
        message.status = STATUS_SUPPRESSED
        message.error_message = "recipient opted out (STOP)"
    # a concurrent transaction may insert the same key: the savepoint keeps the
    # caller's transaction usable, and we return the row that won
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        winner = session.exec(
            select(OutboundMessage).where(OutboundMessage.idempotency_key == key)
        ).first()
        if winner is None:
            raise
        return winner
    return message


def opt_out(session: Session, phone: str) -> bool:
    """Record a STOP; returns False if the number had already opted out. No commit."""
    if is_opted_out(session, phone):
        return False
    session.add(SmsOptOut(phone=phone))
    # anything still waiting for this number will not go out
    for row in session.exec(select(OutboundMessage).where(
            OutboundMessage.to_number == phone, OutboundMessage.status == STATUS_PENDING)).all():
        row.status = STATUS_SUPPRESSED
        row.error_message = "recipient opted out (STOP)"
        row.updated_at = utcnow()
        session.add(row)
    return True


def opt_in(session: Session, phone: str) -> bool:
    """Record a START; returns False if the number was not opted out. No commit."""
    row = session.exec(select(SmsOptOut).where(SmsOptOut.phone == phone)).first()
    if row is None:
        return False
    session.delete(row)
    return True
