"""Work orders and what happens to them: a row written directly, for tests about what
comes after the desk (stock, backups, planning), and reading a work order's events."""
from __future__ import annotations

from itertools import count
from typing import Any

from sqlmodel import Session, select

from dispatch.models import WorkOrder, WorkOrderEvent
from tests.builders.world import World

_numbers = count(1)


def make_work_order(db: Session, world: World, **fields: Any) -> WorkOrder:
    """A work order of the world's merchant and terminal, numbered WO-T00001 onwards
    (unique across the run), committed; `fields` set or override any column."""
    values: dict[str, Any] = {"region_id": world.region.id, "merchant_id": world.merchant.id,
                              "terminal_id": world.terminal.id, **fields}
    if "number" not in values:
        values["number"] = f"WO-T{next(_numbers):05d}"
    wo = WorkOrder(**values)
    db.add(wo)
    db.commit()
    return wo


def events(db: Session, work_order_id: int) -> list[WorkOrderEvent]:
    """A work order's events as committed, oldest first. Everything the session holds
    is read afresh."""
    db.expire_all()
    return list(db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == work_order_id)
                        .order_by(WorkOrderEvent.id)).all())


def work_orders(db: Session, kind: str | None = None) -> list[WorkOrder]:
    """Every work order (of `kind`, if given) as committed, in creation order."""
    db.expire_all()
    stmt = select(WorkOrder).order_by(WorkOrder.id)
    if kind:
        stmt = stmt.where(WorkOrder.kind == kind)
    return list(db.exec(stmt).all())
