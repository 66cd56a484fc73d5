"""The merchant's sign-off at completion: a signature drawn on the phone's screen with
the printed name, or the technician's reason why there is no signature.

It is written with the completion (`tech_service.complete(..., signoff=...)`), in the
same transaction and under the same phone id, so an offline completion replayed twice
stores one sign-off. A visit completed without one (an older phone, the API) can get
it afterwards through `add_signoff`, once. Every sign-off is on the work order's
timeline (the audit trail)."""
from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlmodel import Session, select

from core.errors import Conflict, InvalidInput
from core.models import User
from core.timeutil import utcnow
from dispatch.models import Signoff, Visit, WorkOrder, WorkOrderEvent

NO_SIGNATURE_REASONS: dict[str, object] = {
    "merchant_absent": _l("The merchant was not there"),
    "refused": _l("The merchant refused to sign"),
    "unattended": _l("Unattended terminal (no one to sign)"),
    "other": _l("Other reason"),
}
MAX_SIGNATURE_BYTES = 200_000  # a 600 x 200 canvas PNG is 5-20 KB
MAX_SIGNATURE_SIDE = 2000
MAX_NAME = 120
MAX_NOTE = 500


@dataclass(frozen=True)
class SignoffIn:
    """What the phone sends: `signature` is a PNG as a data URL or plain base64."""

    signer_name: str = ""
    signature: str | None = None
    no_signature_reason: str = ""
    no_signature_note: str = ""


@dataclass(frozen=True)
class CheckedSignoff:
    signer_name: str
    signature_png: bytes | None
    no_signature_reason: str
    no_signature_note: str


def decode_signature(value: str) -> bytes:
    """The PNG bytes of a data URL or base64 text, checked to be a PNG of sane size
    with at least one stroke (a blank canvas is not a signature)."""
    text = value.strip()
    if text.startswith("data:"):
        head, _, text = text.partition(",")
        if head != "data:image/png;base64":
            raise InvalidInput(_l("the signature must be a PNG image"), field="signoff.signature")
    if len(text) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
        raise InvalidInput(_l("the signature image is too large"), field="signoff.signature")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(_l("the signature is not valid base64"),
                           field="signoff.signature") from None
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG":
                raise InvalidInput(_l("the signature must be a PNG image"),
                                   field="signoff.signature")
            if max(img.size) > MAX_SIGNATURE_SIDE:
                raise InvalidInput(_l("the signature image is too large"),
                                   field="signoff.signature")
            img.load()
            gray = img.convert("LA") if "A" in img.getbands() else img.convert("L")
            extrema = gray.getextrema()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidInput(_l("the signature must be a PNG image"),
                           field="signoff.signature") from None
    # (min, max) per band: one value everywhere is an empty canvas
    if all(lo == hi for lo, hi in (extrema if isinstance(extrema[0], tuple) else [extrema])):
        raise InvalidInput(_l("the signature is empty: ask the merchant to sign"),
                           field="signoff.signature")
    return data


def check_signoff(value: SignoffIn) -> CheckedSignoff:
    """Either a signature with the printed name, or a reason for none (and a note for
    "other"). Checked before anything is written."""
    name = (value.signer_name or "").strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(_l("must be at most %(n)s characters", n=MAX_NAME),
                           field="signoff.signer_name")
    note = (value.no_signature_note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(_l("must be at most %(n)s characters", n=MAX_NOTE),
                           field="signoff.no_signature_note")
    reason = (value.no_signature_reason or "").strip()
    if value.signature:
        if reason:
            raise InvalidInput(_l("give a signature or a reason for none, not both"),
                               field="signoff.no_signature_reason")
        if not name:
            raise InvalidInput(_l("the signer's printed name is needed with the signature"),
                               field="signoff.signer_name")
        return CheckedSignoff(name, decode_signature(value.signature), "", "")
    if reason not in NO_SIGNATURE_REASONS:
        raise InvalidInput(_l("without a signature, say why: one of %(choices)s",
                              choices=", ".join(NO_SIGNATURE_REASONS)),
                           field="signoff.no_signature_reason")
    if reason == "other" and not note:
        raise InvalidInput(_l("say why there is no signature"), field="signoff.no_signature_note")
    return CheckedSignoff(name, None, reason, note)


def signoff_of(session: Session, work_order_id: int) -> Signoff | None:
    return session.exec(select(Signoff).where(Signoff.work_order_id == work_order_id)).first()


def record_signoff(session: Session, wo: WorkOrder, visit: Visit | None, checked: CheckedSignoff,
                   actor: User, *, client_action_id: str | None = None
                   ) -> tuple[Signoff, WorkOrderEvent]:
    """Store the sign-off and its timeline entry; never commits (the caller's unit)."""
    if signoff_of(session, wo.id) is not None:
        raise Conflict(_l("this work order is already signed off"), field="signoff")
    row = Signoff(work_order_id=wo.id, visit_id=visit.id if visit else None,
                  signer_name=checked.signer_name, signature_png=checked.signature_png,
                  no_signature_reason=checked.no_signature_reason,
                  no_signature_note=checked.no_signature_note, signed_at=utcnow(),
                  recorded_by_user_id=actor.id)
    session.add(row)
    data = {"signed": checked.signature_png is not None, "signer_name": checked.signer_name,
            "no_signature_reason": checked.no_signature_reason,
            "visit_id": visit.id if visit else None}
    if client_action_id is not None:
        data["tech_action"] = "signoff"
    event = WorkOrderEvent(
        work_order_id=wo.id, actor_user_id=actor.id, actor_label=actor.username,
        action="signoff", from_status=wo.status, to_status=wo.status,
        note=checked.no_signature_note, data=data, client_action_id=client_action_id)
    session.add(event)
    session.flush()
    return row, event


def signoff_view(row: Signoff | None) -> dict | None:
    """What pages and the API show (the image itself is served separately)."""
    if row is None:
        return None
    return {
        "signed": row.signature_png is not None,
        "signer_name": row.signer_name,
        "no_signature_reason": row.no_signature_reason,
        "no_signature_reason_label": str(NO_SIGNATURE_REASONS.get(row.no_signature_reason,
                                                                  row.no_signature_reason))
        if row.no_signature_reason else "",
        "no_signature_note": row.no_signature_note,
        "signed_at": row.signed_at.isoformat() if row.signed_at else None,
    }


def signature_data_url(row: Signoff | None) -> str | None:
    """The signature inline (img-src allows data:), for pages without a second request."""
    if row is None or row.signature_png is None:
        return None
    return "data:image/png;base64," + base64.b64encode(row.signature_png).decode("ascii")


__all__ = [
    "NO_SIGNATURE_REASONS",
    "CheckedSignoff",
    "SignoffIn",
    "check_signoff",
    "decode_signature",
    "record_signoff",
    "signature_data_url",
    "signoff_of",
    "signoff_view",
]
