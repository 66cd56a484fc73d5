"""Text messages in the outbox, queued the way the app queues them (enqueue_sms): for
tests of sending, delivery reports, replies and the outbox pages."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from notifications.models import OutboundMessage
from notifications.outbox import enqueue_sms

PHONE = "+8613812345678"  # the small world's merchant


def queue_sms(db: Session, key: str = "k1", to: str = PHONE, *, template: str = "visit_done",
              locale: str = "en", context: dict | None = None, due_at: datetime | None = None,
              **options: Any) -> OutboundMessage:
    """One message under idempotency `key` (a visit-done notice in English unless told,
    whose reference is the key unless `context` is given), committed. `due_at` sets its
    next attempt; `options` are enqueue_sms's (urgent, quiet hours)."""
    row = enqueue_sms(db, key=key, to=to, template=template, locale=locale,
                      context=context if context is not None else {"ref": key}, **options)
    if due_at is not None:
        row.next_attempt_at = due_at
        db.add(row)
    db.commit()
    return row
