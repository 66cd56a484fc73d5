"""Notifications' vocabularies (core.words): SMS templates, outbox statuses and what an
inbound reply was handled as, each code with its label in the reader's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core.words import register

SMS_STATUS = {
    "pending": _l("Waiting to be sent"),
    "sending": _l("Sending"),
    "queued": _l("Queued at Twilio"),
    "sent": _l("Sent"),
    "delivered": _l("Delivered"),
    "undelivered": _l("Not delivered"),
    "failed": _l("Failed"),
    "suppressed": _l("Not sent (opted out)"),
    "dev_delivered": _l("On the development phone"),
}
HANDLED_AS = {
    "opt_out": _l("Opted out (STOP)"),
    "opt_in": _l("Opted in again (START)"),
    "help": _l("Asked for help"),
    "unhandled": _l("Not understood"),
    "backup_yes": _l("Accepted the backup terminal"),
    "backup_no": _l("Declined the backup terminal"),
    "survey": _l("Survey score"),
    "note": _l("Passed to the desk"),
}


def _sms_template():
    from notifications.sms_templates import TEMPLATES

    return {name: t.label for name, t in TEMPLATES.items()}


register("sms_status", SMS_STATUS)
register("sms_handled_as", HANDLED_AS)
register("sms_template", _sms_template)
register("locale", {"en": "English", "zh": "中文"})
