"""notifications announces what merchants send back; it knows phone numbers, not work
orders. STOP/START/HELP are handled inside notifications; everything else is announced
through `inbound_reply` for dispatch to interpret. Its receivers today:
`dispatch.backup.service.handle_reply` (YES/NO to a backup-terminal offer) and
`dispatch.workorders.merchant_replies.handle_merchant_reply` (1-5 survey scores, other
text as a note on the merchant's open work order).

Receivers get sender=the phone number (E.164) and kwargs session, message
(InboundMessage), keyword (upper-cased first word), and must set
`message.handled_as` when they handle it; they must not commit."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

inbound_reply = _signals.signal("inbound-reply")
