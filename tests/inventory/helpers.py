"""Small builders shared by the inventory tests."""
from __future__ import annotations

from itertools import count

from dispatch.models import WorkOrder

_n = count(1)


def make_work_order(session, world, **kw) -> WorkOrder:
    fields = {"number": f"WO-T{next(_n):05d}", "region_id": world.region.id,
                  "merchant_id": world.merchant.id, "terminal_id": world.terminal.id}
    fields.update(kw)
    wo = WorkOrder(**fields)
    session.add(wo)
    session.commit()
    return wo


def level(session, location_id, part_id):
    from sqlmodel import select

    from inventory.models import StockLevel

    row = session.exec(select(StockLevel).where(StockLevel.location_id == location_id,
                                                StockLevel.part_id == part_id)).first()
    if row is None:
        return (0, 0, 0)
    session.refresh(row)
    return (row.on_hand, row.reserved, row.faulty)
