"""Twilio webhooks, the outbox and template pages, the development phone, the JSON API."""
from __future__ import annotations

import contextlib
import re
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import select

from core import openapi
from core.api import api_v1, paginate, read_page
from core.auth import roles_required
from core.db import get_engine, get_session
from core.errors import DomainError
from core.models import Role
from notifications import words as _words  # noqa: F401  (registers the SMS vocabularies)
from notifications.inbound import MAX_SID, receive_inbound
from notifications.models import InboundMessage, OutboundMessage
from notifications.outbox import normalize_e164
from notifications.sender import (
    DevSender,
    apply_status_callback,
    drain_beside,
)
from notifications.sms_templates import LOCALES, TEMPLATES, render_sample

bp = Blueprint("notifications", __name__)
OUTBOX_ROLES = (Role.DISPATCHER, Role.AGENT)
STATUSES = ("pending", "sending", "queued", "sent", "delivered", "undelivered", "failed",
            "suppressed", "dev_delivered")


# --- webhooks -----------------------------------------------------------------------

def public_url() -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path and query when configured, else
    the request URL as the proxy chain restored it (PROXY_FIX_HOPS -> ProxyFix)."""
    settings = current_app.config["FIXROUTE"]
    if settings.public_base_url:
        query = request.query_string.decode()
        return settings.public_base_url.rstrip("/") + request.path + (f"?{query}" if query else "")
    return request.url


def _require_twilio_signature() -> None:
    from twilio.request_validator import RequestValidator

    token = current_app.config["FIXROUTE"].twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        abort(403)
    if not RequestValidator(token).validate(public_url(), request.form.to_dict(), signature):
        abort(403)


def _twiml(text: str | None = None) -> Response:
    from twilio.twiml.messaging_response import MessagingResponse

    resp = MessagingResponse()
    if text:
        resp.message(text)
    return Response(str(resp), mimetype="application/xml")


@bp.post("/webhooks/twilio/status")
def twilio_status():
    _require_twilio_signature()
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if not sid or not status:
        return Response(status=400)
    session = get_session()
    apply_status_callback(session, sid=sid, status=status, error_code=form.get("ErrorCode"),
                          outbox_id=request.args.get("o"))
    return Response(status=204)


@bp.post("/webhooks/twilio/inbound")
def twilio_inbound():
    _require_twilio_signature()
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not sid or len(sid) > MAX_SID or not form.get("From"):
        return Response(status=400)  # Twilio's SIDs are 34 characters
    receive_inbound(get_session(), sid=sid, from_number=form["From"], to_number=form.get("To", ""),
                    body=form.get("Body", ""))
    # answers (HELP) go through the outbox so that they are visible with their status
    return _twiml()


# --- pages --------------------------------------------------------------------------

DEV_PHONE_ENDPOINTS = frozenset({"notifications.dev_phone", "notifications.dev_phone_number",
                                 "notifications.dev_phone_reply",
                                 "notifications.dev_phone_deliver"})


@bp.before_request
def _dev_phone_only_without_twilio():
    """The development phone replies as any merchant and sends outbox rows nowhere: with
    Twilio configured real phones do that, so every /dev/phone page is off (404)."""
    if (request.endpoint in DEV_PHONE_ENDPOINTS
            and current_app.config["FIXROUTE"].twilio_configured):
        abort(404)


@bp.get("/sms")
@roles_required(*OUTBOX_ROLES)
def outbox_page():
    session = get_session()
    status = request.args.get("status") or None
    stmt = select(OutboundMessage).order_by(OutboundMessage.id.desc())
    if status in STATUSES:
        stmt = stmt.where(OutboundMessage.status == status)
    messages = session.exec(stmt.limit(200)).all()
    counts = dict(session.exec(select(OutboundMessage.status, func.count())
                               .group_by(OutboundMessage.status)).all())
    inbox = session.exec(select(InboundMessage).order_by(InboundMessage.id.desc()).limit(50)).all()
    return render_template("notifications/outbox.html", messages=messages, counts=counts,
                           statuses=STATUSES, status=status, inbox=inbox,
                           twilio=current_app.config["FIXROUTE"].twilio_configured)


def _drain(settings, limit: int, sender=None):
    """Send due outbox rows now, in sessions of their own (the request's transaction
    ends first: see drain_beside)."""
    return drain_beside(get_session(), get_engine(), settings, limit, sender=sender)


@bp.post("/sms/send-pending")
@roles_required(Role.DISPATCHER)
def send_pending():
    settings = current_app.config["FIXROUTE"]
    report = _drain(settings, 200)
    flash(_("Sent %(sent)d, retrying %(retry)d, failed %(failed)d, waiting %(deferred)d.",
            sent=report.sent + report.recovered, retry=report.retry, failed=report.failed,
            deferred=report.deferred), "info")
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url)
                    else url_for("notifications.outbox_page"))


@bp.get("/sms/templates")
@roles_required(*OUTBOX_ROLES)
def templates_page():
    rows = []
    for name, template in TEMPLATES.items():
        for locale in LOCALES:
            body, info = render_sample(name, locale)
            rows.append({"name": name, "label": template.label, "locale": locale,
                         "source": template.bodies[locale], "body": body, "info": info})
    return render_template("notifications/templates.html", rows=rows)


@bp.get("/dev/phone")
@roles_required(Role.DISPATCHER)
def dev_phone():
    session = get_session()
    numbers = session.exec(
        select(OutboundMessage.to_number, func.count(), func.max(OutboundMessage.id))
        .group_by(OutboundMessage.to_number).order_by(func.max(OutboundMessage.id).desc())
    ).all()
    return render_template("notifications/phone_list.html", numbers=numbers,
                           twilio=current_app.config["FIXROUTE"].twilio_configured)


@bp.get("/dev/phone/<path:number>")
@roles_required(Role.DISPATCHER)
def dev_phone_number(number: str):
    session = get_session()
    outs = session.exec(select(OutboundMessage).where(OutboundMessage.to_number == number)).all()
    ins = session.exec(select(InboundMessage).where(InboundMessage.from_number == number)).all()
    if not outs and not ins:
        abort(404)
    thread = sorted([("out", m.created_at, m) for m in outs] + [("in", m.received_at, m) for m in ins],
                    key=lambda t: (t[1], t[2].id))
    return render_template("notifications/phone.html", number=number, thread=thread,
                           twilio=current_app.config["FIXROUTE"].twilio_configured)


@bp.post("/dev/phone/<path:number>/reply")
@roles_required(Role.DISPATCHER)
def dev_phone_reply(number: str):
    """Reply as the merchant (development: without Twilio there is no real phone)."""
    if current_app.config["FIXROUTE"].twilio_configured:
        abort(404)
    phone = normalize_e164(number, "number")
    body = (request.form.get("body") or "").strip()[:1600]
    if not body:
        flash(_("Type a reply first."), "error")
    else:
        receive_inbound(get_session(), sid=f"DEVIN{uuid.uuid4().hex[:27]}", from_number=phone,
                        body=body)
        _drain(current_app.config["FIXROUTE"], 50, sender=DevSender())
    return redirect(url_for("notifications.dev_phone_number", number=phone))


@bp.post("/dev/phone/deliver")
@roles_required(Role.DISPATCHER)
def dev_phone_deliver():
    """Deliver the due outbox rows to this page (only without Twilio)."""
    if current_app.config["FIXROUTE"].twilio_configured:
        abort(404)
    report = _drain(current_app.config["FIXROUTE"], 200, sender=DevSender())
    flash(_("Delivered %(n)d messages to the phone page.", n=report.sent), "info")
    return redirect(url_for("notifications.dev_phone"))


# --- JSON API -----------------------------------------------------------------------

def _serialize(m: OutboundMessage) -> dict:
    return {
        "id": m.id, "idempotency_key": m.idempotency_key, "to": m.to_number,
        "template": m.template, "locale": m.locale, "body": m.body, "segments": m.segments,
        "encoding": m.encoding, "urgent": m.urgent, "status": m.status, "attempts": m.attempts,
        "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None,
        "provider_sid": m.provider_sid, "error_code": m.error_code,
        "error_message": m.error_message,
        "created_at": m.created_at.isoformat(), "sent_at": m.sent_at.isoformat() if m.sent_at else None,
    }


E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@api_v1.get("/sms/outbox")
@roles_required(*OUTBOX_ROLES)
def api_outbox():
    stmt = select(OutboundMessage).order_by(OutboundMessage.id.desc())
    status = request.args.get("status")
    if status:
        if status not in STATUSES:
            from core.errors import InvalidInput

            raise InvalidInput(_l("must be one of %(choices)s", choices=", ".join(STATUSES)),
                               field="status")
        stmt = stmt.where(OutboundMessage.status == status)
    to = request.args.get("to")
    if to:
        if not E164.fullmatch(to):
            from core.errors import InvalidInput

            raise InvalidInput(_l("must be a number in E.164 form (+<country><number>)"),
                               field="to")
        with contextlib.suppress(DomainError):  # the documented form, but no such number:
            to = normalize_e164(to, "to")  # it matches nothing
        stmt = stmt.where(OutboundMessage.to_number == to)
    return paginate(get_session(), stmt, read_page(), _serialize)


openapi.document(
    "/api/v1/sms/outbox", "get", summary="SMS outbox: every merchant notice with its delivery status",
    tag="sms",
    parameters=[
        {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
        {"name": "to", "in": "query", "schema": {"type": "string", "pattern": E164.pattern},
         "description": "E.164 number"},
        *openapi.PAGE_PARAMS,
    ],
    response={"type": "object"},
    errors=(401, 403, 422),
)
