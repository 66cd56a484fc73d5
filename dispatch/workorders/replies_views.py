"""Pages and API for what merchants text back that a person must act on: the replies
inbox (agents and dispatchers; whoever answers marks it handled) and the follow-up list
of poorly rated visits (dispatchers). Thin: the rules are in `dispatch.merchant_replies`."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlmodel import select

from core import openapi
from core.api import api_v1, parse_body
from core.auth import STAFF, roles_required
from core.db import get_session
from core.errors import DomainError
from core.models import Role, User
from dispatch.models import MerchantReply, SurveyResponse
from dispatch.workorders import merchant_replies as replies

bp = Blueprint("replies", __name__)
FOLLOW_UP_ROLES = (Role.DISPATCHER,)


def _actor() -> User:
    return current_user._get_current_object()


def _users(ids) -> dict[int, User]:
    ids = [i for i in ids if i]
    if not ids:
        return {}
    return {u.id: u for u in get_session().exec(select(User).where(User.id.in_(ids))).all()}


@bp.get("/replies")
@roles_required(*STAFF)
def inbox():
    session = get_session()
    waiting = replies.replies_inbox(session)
    done = replies.replies_inbox(session, handled=True, limit=50)
    users = _users(r.handled_by_user_id for r, _m, _w in done)
    return render_template("dispatch/replies.html", waiting=waiting, done=done, users=users)


@bp.post("/replies/<int:reply_id>/handled")
@roles_required(*STAFF)
def handled(reply_id: int):
    try:
        replies.mark_reply_handled(get_session(), reply_id, _actor(),
                                   request.form.get("note", ""))
    except DomainError as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("Marked handled."), "success")
    return redirect(url_for("replies.inbox"))


@bp.get("/follow-ups")
@roles_required(*FOLLOW_UP_ROLES)
def follow_ups():
    session = get_session()
    region_id = current_user.region_id if current_user.role == Role.DISPATCHER else None
    rows = replies.follow_up_list(session, region_id=region_id)
    return render_template("dispatch/follow_ups.html", rows=rows)


@bp.post("/follow-ups/<int:response_id>/done")
@roles_required(*FOLLOW_UP_ROLES)
def follow_up_done(response_id: int):
    try:
        replies.close_follow_up(get_session(), response_id, _actor(), request.form.get("note", ""))
    except DomainError as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("Follow-up recorded."), "success")
    return redirect(url_for("replies.follow_ups"))


# ---------------------------------------------------------------- API


class HandledIn(BaseModel):
    note: str = Field(default="", max_length=4000, description="what was answered or done")


def _reply_dict(r: MerchantReply, merchant, wo) -> dict:
    return {"id": r.id, "phone": r.phone, "body": r.body, "received_at": r.received_at.isoformat(),
            "merchant": {"id": merchant.id, "name": merchant.name} if merchant else None,
            "work_order": {"id": wo.id, "number": wo.number} if wo else None,
            "handled_at": r.handled_at.isoformat() if r.handled_at else None,
            "handled_by_user_id": r.handled_by_user_id, "handled_note": r.handled_note}


def _rating_dict(s: SurveyResponse, wo, merchant) -> dict:
    return {"id": s.id, "score": s.score, "at": s.at.isoformat(), "follow_up": s.follow_up,
            "work_order": {"id": wo.id, "number": wo.number},
            "merchant": {"id": merchant.id, "name": merchant.name, "phone": merchant.phone}}


@api_v1.get("/replies")
@roles_required(*STAFF)
def api_replies():
    handled_ = request.args.get("handled") in ("1", "true")
    rows = replies.replies_inbox(get_session(), handled=handled_)
    return jsonify({"items": [_reply_dict(*row) for row in rows]})


@api_v1.post("/replies/<int:reply_id>/handled")
@roles_required(*STAFF)
def api_reply_handled(reply_id: int):
    body = parse_body(HandledIn)
    session = get_session()
    reply = replies.mark_reply_handled(session, reply_id, _actor(), body.note)
    from dispatch.models import Merchant, WorkOrder

    return jsonify(_reply_dict(
        reply, session.get(Merchant, reply.merchant_id) if reply.merchant_id else None,
        session.get(WorkOrder, reply.work_order_id) if reply.work_order_id else None))


@api_v1.get("/follow-ups")
@roles_required(*FOLLOW_UP_ROLES)
def api_follow_ups():
    rows = replies.follow_up_list(get_session())
    return jsonify({"items": [_rating_dict(*row) for row in rows]})


@api_v1.post("/follow-ups/<int:response_id>/done")
@roles_required(*FOLLOW_UP_ROLES)
def api_follow_up_done(response_id: int):
    body = parse_body(HandledIn)
    session = get_session()
    row = replies.close_follow_up(session, response_id, _actor(), body.note)
    return jsonify({"id": row.id, "follow_up": row.follow_up,
                    "followed_up_at": row.followed_up_at.isoformat()})


_ID = [openapi.path_param("reply_id")]
openapi.document("/api/v1/replies", "get", tag="merchant replies",
                 summary="Merchant SMS a person must read (free text), waiting or handled",
                 parameters=[openapi.query_param("handled")], errors=(401, 403))
openapi.document("/api/v1/replies/{reply_id}/handled", "post", tag="merchant replies",
                 summary="Mark a reply handled by whoever answered it", request=HandledIn,
                 parameters=_ID, errors=(401, 403, 404, 409, 422))
openapi.document("/api/v1/follow-ups", "get", tag="merchant replies",
                 summary="Work orders rated 1-2 by the merchant, waiting for a call back",
                 errors=(401, 403))
openapi.document("/api/v1/follow-ups/{response_id}/done", "post", tag="merchant replies",
                 summary="The merchant was called back: off the follow-up list", request=HandledIn,
                 parameters=[openapi.path_param("response_id")], errors=(401, 403, 404, 409, 422))


def init_replies(app) -> None:
    from core.web import add_nav

    app.register_blueprint(bp)
    add_nav(app, _l("Replies"), "replies.inbox", (Role.AGENT, Role.DISPATCHER), 25)
    add_nav(app, _l("Follow-ups"), "replies.follow_ups", (Role.DISPATCHER,), 26)

    @app.context_processor
    def _rating_helpers():
        return {"ratings_of_merchant": _ratings_of_merchant, "rating_of_work_order": _rating_of_wo}


def _ratings_of_merchant(merchant_id: int) -> dict:
    """The merchant's scores: average, count and the latest few (for the merchant card)."""
    from dispatch.models import WorkOrder

    rows = get_session().exec(
        select(SurveyResponse, WorkOrder).join(WorkOrder, WorkOrder.id == SurveyResponse.work_order_id)
        .where(SurveyResponse.merchant_id == merchant_id)
        .order_by(SurveyResponse.at.desc(), SurveyResponse.id.desc())).all()
    scores = [s.score for s, _w in rows]
    return {"count": len(scores),
            "average": round(sum(scores) / len(scores), 1) if scores else None,
            "latest": [{"score": s.score, "number": w.number, "work_order_id": w.id,
                        "follow_up": s.follow_up} for s, w in rows[:5]]}


def _rating_of_wo(work_order_id: int) -> SurveyResponse | None:
    from dispatch.field.service_report import rating_of

    return rating_of(get_session(), work_order_id)


__all__ = ["bp", "init_replies"]
