"""Small builders for maintenance tests (plans, terminals, a merchant per region)."""
from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from dispatch.models import Merchant, Terminal, WorkOrder, WorkOrderEvent
from maintenance.models import PMOccurrence, PMPlan


def add_plan(session: Session, **kw) -> PMPlan:
    kw.setdefault("name", "Quarterly clean")
    kw.setdefault("scope", {})
    kw.setdefault("checklist", ["clean_card_slot", "clean_printer_head"])
    kw.setdefault("active_from", date(2026, 11, 1))
    kw.setdefault("due_window_days", 10)
    plan = PMPlan(**kw)
    session.add(plan)
    session.commit()
    return plan


def add_terminal(session: Session, merchant: Merchant, model_id: int, serial: str) -> Terminal:
    t = Terminal(serial=serial, model_id=model_id, merchant_id=merchant.id)
    session.add(t)
    session.commit()
    return t


def occurrences(session: Session) -> list[PMOccurrence]:
    session.expire_all()
    return list(session.exec(select(PMOccurrence).order_by(PMOccurrence.due_date,
                                                           PMOccurrence.terminal_id)).all())


def work_orders(session: Session, kind: str | None = None) -> list[WorkOrder]:
    session.expire_all()
    stmt = select(WorkOrder).order_by(WorkOrder.id)
    if kind:
        stmt = stmt.where(WorkOrder.kind == kind)
    return list(session.exec(stmt).all())


def events(session: Session, work_order_id: int) -> list[WorkOrderEvent]:
    return list(session.exec(select(WorkOrderEvent).where(
        WorkOrderEvent.work_order_id == work_order_id).order_by(WorkOrderEvent.id)).all())
