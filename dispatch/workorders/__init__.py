"""Work orders: the state machine and what hangs off it.

- `service`: every state change (checked transition, audit event, one commit) and
  the `work_order_changed` signal sent inside its transaction.
- `sla`: SLA deadlines, business calendars, opening windows, priorities.
- `attachments`: photos and files on faults and work orders.
- `merchant_notices`: the merchant's SMS when a work order changes (a receiver of
  `dispatch.signals.work_order_changed`).
- `merchant_replies`: survey scores and notes texted back by merchants (a receiver
  of `notifications.signals.inbound_reply`); `replies_views`: the inbox of replies a
  person must read and the follow-ups of poor ratings.

Its pages and JSON routes live with the desk (`dispatch.desk.views`, `dispatch.desk.api`).
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Connect the merchant SMS receivers (importing them connects them) and register
    the replies pages."""
    from dispatch.workorders import merchant_notices, merchant_replies  # noqa: F401
    from dispatch.workorders.replies_views import init_replies

    init_replies(app)  # the replies inbox and the follow-ups of poor ratings
