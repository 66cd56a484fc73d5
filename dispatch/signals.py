"""Signals dispatch sends so that other modules react to work-order changes without
the state machine importing them. The receivers today:

- `dispatch.workorders.merchant_notices.notify_merchant`: the merchant's SMS;
- `dispatch.backup.service._on_work_order_changed`: weighs a backup terminal when a
  down terminal's repair becomes ready, frees the loaner of a cancelled work order
  (connected by `dispatch.backup.init_app`).

Inventory reservations are made by publishing a plan (`dispatch.planning.service`),
not through this signal.

`work_order_changed` is sent by the state-machine service *before* it commits, with
the session, so that receivers add their rows (an outbox SMS, a reservation) to the
same transaction: the change and its consequences land together or not at all.
Receivers must not commit."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the WorkOrder; kwargs: session, event (WorkOrderEvent), actor (User | None)
work_order_changed = _signals.signal("work-order-changed")
