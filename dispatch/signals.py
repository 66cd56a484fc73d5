"""Signals dispatch sends so that other modules (merchant SMS notices, inventory
reservations, the board) react to work-order changes without the state machine
importing them.

`work_order_changed` is sent by the state-machine service *before* it commits, with
the session, so that receivers add their rows (an outbox SMS, a reservation) to the
same transaction: the change and its consequences land together or not at all.
Receivers must not commit."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the WorkOrder; kwargs: session, event (WorkOrderEvent), actor (User | None)
work_order_changed = _signals.signal("work-order-changed")
