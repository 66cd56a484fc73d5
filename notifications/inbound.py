"""Inbound SMS: stored once per provider SID, opt-out words handled here, everything else
announced through notifications.signals.inbound_reply for dispatch to interpret."""
from __future__ import annotations

import logging
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.db import unit_of_work
from core.errors import InvalidInput
from notifications.models import InboundMessage, OutboundMessage
from notifications.outbox import enqueue_sms, normalize_e164, opt_in, opt_out
from notifications.signals import inbound_reply

log = logging.getLogger("fixroute.sms")
MAX_SID = 64  # InboundMessage.provider_sid; Twilio's own are 34 characters

# Twilio's standard opt-out / opt-in / help keywords, plus the Chinese ones
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD"}
START_WORDS = {"START", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO", "帮助"}
_TRIM = re.compile(r"^[\s\"'.,!?。，！？]+|[\s\"'.,!?。，！？]+$")


def keyword_of(body: str) -> tuple[str, str]:
    """(whole body as a keyword, first word), both upper-cased and trimmed of punctuation.
    Opt-out words count only as the whole message: "stop by at 3" is not a STOP."""
    text = _TRIM.sub("", body or "").upper()
    first = _TRIM.sub("", (text.split() or [""])[0])
    return text, first


def _reply_locale(session: Session, phone: str, body: str) -> str:
    if re.search(r"[\u4e00-\u9fff]", body or ""):
        return "zh"
    last = session.exec(select(OutboundMessage.locale).where(OutboundMessage.to_number == phone)
                        .order_by(OutboundMessage.id.desc())).first()
    return last or "en"


def _answer_help(session: Session, sid: str, phone: str, body: str) -> None:
    try:
        enqueue_sms(session, key=f"help:{sid}", to=phone, template="help",
                    locale=_reply_locale(session, phone, body), context={}, urgent=True)
    except InvalidInput as exc:  # an unusable number: keep the message, no answer possible
        log.warning("HELP to %s not queued: %s", phone, exc.message_en)


def receive_inbound(session: Session, *, sid: str, from_number: str, to_number: str = "",
                    body: str = "") -> tuple[InboundMessage, bool]:
    """Store and handle one inbound SMS; returns (message, created). A SID seen before
    returns the stored message untouched (Twilio retries webhooks), also when the retry
    races the first delivery. A SID longer than the column is refused rather than cut
    short: cut, a second delivery missed the stored row and hit the unique index (500).
    Its own unit of work."""
    if not sid or len(sid) > MAX_SID:
        raise InvalidInput(_l("must be 1 to %(n)s characters", n=MAX_SID), field="MessageSid")
    try:
        with unit_of_work(session):
            existing = session.exec(select(InboundMessage)
                                    .where(InboundMessage.provider_sid == sid)).first()
            if existing is not None:
                return existing, False
            return _store_inbound(session, sid=sid, from_number=from_number,
                                  to_number=to_number, body=body)
    except IntegrityError:  # the same SID committed by a concurrent delivery (rolled back)
        existing = session.exec(select(InboundMessage)
                                .where(InboundMessage.provider_sid == sid)).first()
        if existing is None:
            raise
        return existing, False


def _store_inbound(session: Session, *, sid: str, from_number: str, to_number: str,
                   body: str) -> tuple[InboundMessage, bool]:
    try:
        phone = normalize_e164(from_number, "From")
    except InvalidInput:  # keep what the carrier gave us; it can still be read on the page
        phone = (from_number or "")[:20]
    message = InboundMessage(provider_sid=sid, from_number=phone, to_number=(to_number or "")[:20],
                             body=(body or "").replace("\x00", ""))
    session.add(message)
    session.flush()
    whole, first = keyword_of(body)
    if whole in STOP_WORDS:
        opt_out(session, phone)
        message.handled_as = "opt_out"
    elif whole in START_WORDS:
        opt_in(session, phone)
        message.handled_as = "opt_in"
    elif whole in HELP_WORDS:
        message.handled_as = "help"
        _answer_help(session, sid, phone, body)
    else:
        try:
            with session.begin_nested():
                inbound_reply.send(phone, session=session, message=message, keyword=first)
                session.flush()
        except Exception:
            log.exception("inbound reply %s: a receiver failed; kept as unhandled", sid)
            message.handled_as = ""
        if not message.handled_as:
            # Nobody understood it ("9", a YES with no offer open): the merchant gets the
            # HELP text rather than silence; free text reaches a person through dispatch.
            message.handled_as = "unhandled"
            _answer_help(session, sid, phone, body)
    session.add(message)
    return message, True
