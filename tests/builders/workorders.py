"""Work orders and what happens to them: a row written directly, for tests about what
comes after the desk (stock, backups, planning), and reading a work order's events."""
from __future__ import annotations

from itertools import count
from typing import Any

from sqlmodel import Session

from dispatch.models import WorkOrder
from tests.builders.world import World

_numbers = count(1)


def make_work_order(db: Session, world: World, **fields: Any) -> WorkOrder:
    """A work order of the world's merchant and terminal, numbered WO-T00001 onwards
    (unique across the run), committed; `fields` set or override any column."""
    values: dict[str, Any] = {"number": f"WO-T{next(_numbers):05d}", "region_id": world.region.id,
                              "merchant_id": world.merchant.id, "terminal_id": world.terminal.id}
    values.update(fields)
    wo = WorkOrder(**values)
    db.add(wo)
    db.commit()
    return wo
