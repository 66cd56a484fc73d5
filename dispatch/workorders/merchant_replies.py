"""What merchants text back, as dispatch understands it (notifications.signals.inbound_reply).

- "1" .. "5" shortly after a completed visit records a SurveyResponse for it, on the work
  order's timeline; 1 or 2 also puts the work order on the dispatcher's follow-up list;
- YES / NO belong to the backup-terminal offer (dispatch.backup) and are left alone;
- free text (anything with a letter in it) is a message a person must read: an item in
  the replies inbox of agents and dispatchers (handled by whoever answers), and a note
  on the merchant's open work order;
- anything else ("9", "0", a lone "?") is left unhandled: notifications answers it with
  the HELP text.
Receivers set `message.handled_as` and never commit (notifications commits)."""
from __future__ import annotations

import logging
import re
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from core.audit import record_audit
from core.db import unit_of_work
from core.errors import Conflict, InvalidInput, NotFound
from core.models import MAX_ID, User
from core.timeutil import utcnow
from dispatch.models import (
    OPEN_WORK_ORDER_STATUSES,
    Merchant,
    MerchantReply,
    SurveyResponse,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderStatus,
)
from dispatch.words import said
from notifications.signals import inbound_reply

log = logging.getLogger("fixroute.dispatch.replies")

SURVEY_WINDOW = timedelta(days=7)
BACKUP_WORDS = {"YES", "NO", "Y", "N", "是", "否"}
_SCORE = re.compile(r"^\s*([1-5])\s*[.!。！]?\s*$")
_LETTER = re.compile(r"[^\W\d_]")  # any letter of any script: a person wrote words
LOW_SCORE = 2  # 1 and 2 are followed up


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
            record_rating(session, target, int(score.group(1)), inbound_message_id=message.id)
            message.handled_as = "survey"
        return  # a bare number with nothing to rate: answered with HELP
    if not _LETTER.search(message.body or ""):
        return  # "9", "?": not understood, notifications answers with HELP
    wo = _open_work_order(session, ids)
    session.add(MerchantReply(inbound_message_id=message.id, phone=phone, merchant_id=merchants[0].id
                              if wo is None else wo.merchant_id,
                              work_order_id=wo.id if wo is not None else None,
                              body=(message.body or "").strip()[:4000]))
    if wo is not None:
        from dispatch.workorders.service import add_note

        add_note(session, wo, f"SMS from merchant ({phone}): {message.body.strip()}"[:4000],
                 actor="sms", commit=False,
                 data={"inbound_message_id": message.id,
                       **said("event_note", "sms_from_merchant", phone=phone,
                              body=message.body.strip()[:3800])})
    message.handled_as = "note"


# ---------------------------------------------------------------- ratings


def record_rating(session: Session, wo: WorkOrder, score: int, *,
                  inbound_message_id: int | None = None) -> SurveyResponse:
    """Store a 1-5 score on the work order's timeline; 1-2 opens a follow-up. No commit."""
    if not 1 <= score <= 5:
        raise InvalidInput(_l("must be between 1 and %(max)s", max=5), field="score")
    row = SurveyResponse(work_order_id=wo.id, merchant_id=wo.merchant_id, score=score,
                         inbound_message_id=inbound_message_id,
                         follow_up="open" if score <= LOW_SCORE else "")
    session.add(row)
    session.add(WorkOrderEvent(work_order_id=wo.id, actor_label="sms", action="rating",
                               from_status=wo.status, to_status=wo.status,
                               note=f"Merchant rated the visit {score}/5",
                               data={"score": score, "follow_up": row.follow_up == "open",
                                     "inbound_message_id": inbound_message_id,
                                     **said("event_note", "rated", score=score)}))
    session.flush()
    return row


def follow_up_list(session: Session, *, region_id: int | None = None,
                   include_done: bool = False) -> list[tuple[SurveyResponse, WorkOrder, Merchant]]:
    """Poorly rated work orders waiting for a call back, oldest first."""
    stmt = (select(SurveyResponse, WorkOrder, Merchant)
            .join(WorkOrder, WorkOrder.id == SurveyResponse.work_order_id)
            .join(Merchant, Merchant.id == WorkOrder.merchant_id))
    if include_done:
        stmt = stmt.where(SurveyResponse.follow_up.in_(["open", "done"]))
    else:
        stmt = stmt.where(SurveyResponse.follow_up == "open")
    if region_id is not None:
        stmt = stmt.where(WorkOrder.region_id == region_id)
    return list(session.exec(stmt.order_by(SurveyResponse.at, SurveyResponse.id)).all())


def close_follow_up(session: Session, response_id: int, actor: User, note: str = "") -> SurveyResponse:
    """The dispatcher called the merchant back: off the list, on the timeline. Audited.
    Commits."""
    note = (note or "").replace("\x00", "").strip()
    if len(note) > 4000:
        raise InvalidInput(_l("must be at most %(n)s characters", n=4000), field="note")
    with unit_of_work(session):
        row = session.get(SurveyResponse, response_id) if 0 < response_id <= MAX_ID else None
        if row is None:
            raise NotFound(_l("no such rating"), field="id")
        if row.follow_up != "open":
            raise Conflict(_l("this rating is not waiting for a follow-up"), field="id")
        row.follow_up = "done"
        row.followed_up_at = utcnow()
        row.followed_up_by_user_id = actor.id
        row.follow_up_note = note
        session.add(row)
        wo = session.get(WorkOrder, row.work_order_id)
        record_audit(session, "survey_response", row.id, "follow_up_closed", actor.id,
                     actor.username, note=note, score=row.score, work_order_id=wo.id)
        session.add(WorkOrderEvent(work_order_id=wo.id, actor_user_id=actor.id,
                                   actor_label=actor.username, action="rating_followed_up",
                                   from_status=wo.status, to_status=wo.status, note=note,
                                   data={"survey_response_id": row.id, "score": row.score}))
    return row


# ---------------------------------------------------------------- the replies inbox


def replies_inbox(session: Session, *, handled: bool = False, limit: int = 200
                  ) -> list[tuple[MerchantReply, Merchant | None, WorkOrder | None]]:
    """Replies waiting for someone (or, with handled, the ones answered), newest first."""
    stmt = select(MerchantReply)
    stmt = stmt.where(MerchantReply.handled_at.is_not(None) if handled
                      else MerchantReply.handled_at.is_(None))
    rows = session.exec(stmt.order_by(MerchantReply.received_at.desc(), MerchantReply.id.desc())
                        .limit(limit)).all()
    return [(r, session.get(Merchant, r.merchant_id) if r.merchant_id else None,
             session.get(WorkOrder, r.work_order_id) if r.work_order_id else None) for r in rows]


def mark_reply_handled(session: Session, reply_id: int, actor: User, note: str = "") -> MerchantReply:
    """Whoever answered the merchant marks the reply handled, saying what they did.
    Audited (and on the work order's timeline when it belongs to one). Commits."""
    note = (note or "").replace("\x00", "").strip()
    if len(note) > 4000:
        raise InvalidInput(_l("must be at most %(n)s characters", n=4000), field="note")
    with unit_of_work(session):
        reply = session.get(MerchantReply, reply_id) if 0 < reply_id <= MAX_ID else None
        if reply is None:
            raise NotFound(_l("no such reply"), field="id")
        if reply.handled_at is not None:
            raise Conflict(_l("this reply was already handled"), field="id")
        reply.handled_at = utcnow()
        reply.handled_by_user_id = actor.id
        reply.handled_note = note
        session.add(reply)
        record_audit(session, "merchant_reply", reply.id, "handled", actor.id, actor.username,
                     note=note, work_order_id=reply.work_order_id)
        if reply.work_order_id:
            wo = session.get(WorkOrder, reply.work_order_id)
            session.add(WorkOrderEvent(work_order_id=wo.id, actor_user_id=actor.id,
                                       actor_label=actor.username, action="reply_handled",
                                       from_status=wo.status, to_status=wo.status, note=note,
                                       data={"merchant_reply_id": reply.id}))
    return reply
