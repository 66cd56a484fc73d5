"""One helper to record a state change; the caller commits with its own change so
the audit row and the change land together or not at all."""
from __future__ import annotations

from typing import Any

from sqlmodel import Session

from core.models import AuditEvent


def actor_fields(actor: Any) -> tuple[int | None, str]:
    """(user id, label) of who did something: a signed-in user (id and username), a
    label such as "sms:+86..." or "scheduler", or nobody (None, ""), which pages show as
    "system" in the reader's language. The one convention for audit rows, work-order
    events and stock moves."""
    if actor is None:
        return None, ""
    if isinstance(actor, str):
        return None, actor[:64]
    return getattr(actor, "id", None), (getattr(actor, "username", "") or "")[:64]


def record_audit(
    session: Session,
    entity: str,
    entity_id: Any,
    action: str,
    actor_user_id: int | None = None,
    actor_label: str = "",
    **data: Any,
) -> AuditEvent:
    event = AuditEvent(
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        actor_user_id=actor_user_id,
        actor_label=actor_label,
        data=data,
    )
    session.add(event)
    return event
