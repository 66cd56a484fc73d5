"""What merchants text back, as dispatch understands it (notifications.signals.inbound_reply).

- "1" .. "5" shortly after a completed visit records a SurveyResponse for it;
- YES / NO belong to the backup-terminal offer (dispatch.backup) and are left alone;
- anything else becomes a note on the merchant's open work order, on the timeline the
  dispatchers read.
Receivers set `message.handled_as` and never commit (notifications commits)."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlmodel import Session, select

from core.timeutil import utcnow
from dispatch.models import (
    OPEN_WORK_ORDER_STATUSES,
    Merchant,
    SurveyResponse,
    WorkOrder,
    WorkOrderStatus,
)
from notifications.signals import inbound_reply

log = logging.getLogger("fixroute.dispatch.replies")

SURVEY_WINDOW = timedelta(days=7)
BACKUP_WORDS = {"YES", "NO", "Y", "N", "是", "否"}
_SCORE = re.compile(r"^\s*([1-5])\s*[.!。！]?\s*$")


def _merchants(session: Session, phone: str) -> list[Merchant]:
    return list(session.exec(select(Merchant).where(Merchant.phone == phone)).all())


def _survey_target(session: Session, merchant_ids: list[int]) -> WorkOrder | None:
    """The latest work order completed within the survey window and not rated yet."""
    since = utcnow() - SURVEY_WINDOW
    rated = select(SurveyResponse.work_order_id)
    return session.exec(
        select(WorkOrder).where(WorkOrder.merchant_id.in_(merchant_ids),
                                WorkOrder.status == WorkOrderStatus.COMPLETED,
                                WorkOrder.completed_at >= since,
                                WorkOrder.id.not_in(rated))
        .order_by(WorkOrder.completed_at.desc(), WorkOrder.id.desc())
    ).first()


def _open_work_order(session: Session, merchant_ids: list[int]) -> WorkOrder | None:
    return session.exec(
        select(WorkOrder).where(WorkOrder.merchant_id.in_(merchant_ids),
                                WorkOrder.status.in_([s.value for s in OPEN_WORK_ORDER_STATUSES]))
        .order_by(WorkOrder.updated_at.desc(), WorkOrder.id.desc())
    ).first()


@inbound_reply.connect
def handle_merchant_reply(phone: str, *, session: Session, message, keyword: str = "", **_kw) -> None:
    if message.handled_as:
        return
    if keyword in BACKUP_WORDS:
        return  # dispatch.backup answers the backup-terminal offer
    merchants = _merchants(session, phone)
    if not merchants:
        return
    ids = [m.id for m in merchants]
    score = _SCORE.match(message.body or "")
    if score:
        target = _survey_target(session, ids)
        if target is not None:
            session.add(SurveyResponse(work_order_id=target.id, merchant_id=target.merchant_id,
                                       score=int(score.group(1)), inbound_message_id=message.id))
            message.handled_as = "survey"
            return
    wo = _open_work_order(session, ids)
    if wo is None:
        return  # stays unhandled: shown in the inbox of the SMS page
    from dispatch.workorders import add_note

    add_note(session, wo, f"SMS from merchant ({phone}): {message.body.strip()}"[:4000],
             actor="sms", data={"inbound_message_id": message.id}, commit=False)
    message.handled_as = "note"
