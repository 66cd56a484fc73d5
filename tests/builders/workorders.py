"""Work orders and what happens to them: a fault reported at the desk and the repair it
is escalated to (through the desk's service, as an agent does it), a row written
directly for tests about what comes after the desk (stock, backups, planning), and
reading work orders and their events."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import count
from typing import Any

from sqlmodel import Session, select

from dispatch.desk.service import create_fault, escalate, record_triage
from dispatch.models import FaultReport, WorkOrder, WorkOrderEvent
from tests.builders.world import World

_numbers = count(1)


def make_fault(db: Session, world: World, *, category: str = "hw_card_reader",
               symptoms: str = "Card not read", error_code: str = "E05", channel: str = "phone",
               by: str | None = "agent", reported_at: datetime | None = None) -> FaultReport:
    """The world's merchant reports a fault of its terminal (the card reader unless
    told) to `by` (a user of the world; None: nobody signed in), committed."""
    return create_fault(db, merchant=world.merchant, terminal=world.terminal, category=category,
                        symptoms=symptoms, error_code=error_code, channel=channel,
                        actor=world.users[by] if by else None, reported_at=reported_at)


def make_repair(db: Session, world: World, *, checks: Sequence[tuple[str, str, str]] = (), note: str = "",
                escalated_by: str | None = "agent", **fault: Any) -> WorkOrder:
    """The work order a fault (make_fault with `fault`) is escalated to by
    `escalated_by`, after the remote `checks` (step, outcome, note) if any."""
    reported = make_fault(db, world, **fault)
    actor = world.users[escalated_by] if escalated_by else None
    if checks:
        record_triage(db, reported, list(checks), actor=actor)
    return escalate(db, reported, actor=actor, note=note)


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
