"""Preventive maintenance and the maintenance archive: preventive plans and what they
generate, and a hand-made repair history whose figures are worked out by hand in
tests/maintenance/test_analytics.py."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, select

from dispatch.models import FaultReport, Terminal, TerminalModel, WorkOrder, WorkOrderEvent
from maintenance.models import PMOccurrence, PMPlan
from tests.builders.planning import make_plan, make_visit
from tests.builders.workorders import make_work_order
from tests.builders.world import World, local_dt, make_terminal, make_world

NOW = datetime(2026, 11, 5, tzinfo=UTC)  # when the repair history is read


def make_pm_plan(db: Session, **fields: Any) -> PMPlan:
    """A preventive plan ("Quarterly clean": card slot and printer head, from 1 November
    2026, due within 10 days), committed; `fields` give its recurrence and override."""
    fields.setdefault("name", "Quarterly clean")
    fields.setdefault("scope", {})
    fields.setdefault("checklist", ["clean_card_slot", "clean_printer_head"])
    fields.setdefault("active_from", date(2026, 11, 1))
    fields.setdefault("due_window_days", 10)
    plan = PMPlan(**fields)
    db.add(plan)
    db.commit()
    return plan


def occurrences(db: Session) -> list[PMOccurrence]:
    """Every preventive occurrence as committed, by due date and terminal."""
    db.expire_all()
    return list(db.exec(select(PMOccurrence).order_by(PMOccurrence.due_date,
                                                      PMOccurrence.terminal_id)).all())


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment of 2026 in UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def make_repair_history(db: Session) -> World:
    """October 2026 in the small world (shifts on 6 October): three terminals, four
    repairs (one within its SLA, two late of which one needed a follow-up, one still
    open), faults repeating within 30 days, and the visits of 6 October, committed."""
    w = make_world(db, day=date(2026, 10, 6))
    vf = TerminalModel(code="VF-V200C", vendor="Verifone", name="V200c")
    db.add(vf)
    db.flush()
    t1 = w.terminal  # PAX, no installation date: in service the whole period (31 days)
    t2 = make_terminal(db, w.merchant, vf.id, "VF0000002", installed_at=utc(9, 1))  # 31 days in the period
    t3 = make_terminal(db, w.merchant, w.model.id, "PAX0000003",
                       installed_at=utc(10, 16))  # 16 days in the period

    # faults written as rows, not through the desk (make_fault): they are back-dated
    def fault(terminal: Terminal, at: datetime, category: str, wo: WorkOrder | None = None) -> FaultReport:
        f = FaultReport(merchant_id=w.merchant.id, terminal_id=terminal.id, category=category,
                        created_at=at, work_order_id=wo.id if wo else None)
        db.add(f)
        return f

    def repair(number: str, terminal: Terminal, created: datetime, completed: datetime | None,
               sla: datetime, status: str = "completed") -> WorkOrder:
        return make_work_order(db, w, number=number, kind="repair", status=status, terminal_id=terminal.id,
                               created_at=created, completed_at=completed, sla_due_at=sla)

    wo1 = repair("WO-T1", t1, utc(10, 2, 10), utc(10, 3, 10), utc(10, 3, 12))  # 24 h, SLA met
    wo2 = repair("WO-T2", t1, utc(10, 20), utc(10, 22, 12), utc(10, 21))  # 60 h, follow-up, missed
    wo3 = repair("WO-T3", t2, utc(10, 10, 8), utc(10, 10, 14), utc(10, 10, 12))  # 6 h, missed
    # open, due 20:00 UTC Oct 31 = 04:00 Nov 1 in Shanghai: counts in November, missed by NOW
    repair("WO-T4", t3, utc(10, 31, 8), None, utc(10, 31, 20), status="ready")
    fault(t1, utc(10, 2, 10), "card_reader", wo1)
    fault(t1, utc(10, 20), "card_reader", wo2)  # repeat: 18 days after the last one
    fault(t2, utc(9, 20), "printer")  # before the period
    fault(t2, utc(10, 10, 8), "printer", wo3)  # repeat: 20 days after Sep 20
    db.add(WorkOrderEvent(work_order_id=wo2.id, action="transition", from_status="on_site",
                          to_status="needs_follow_up", at=utc(10, 21)))
    day = date(2026, 10, 6)
    plan = make_plan(db, w.region, day)
    make_visit(db, plan, wo1, w.tech, status="done", actual_arrival=local_dt(day, "10:00"),
               actual_end=local_dt(day, "11:00"))
    make_visit(db, plan, wo3, w.tech, sequence=2, status="done", actual_arrival=local_dt(day, "14:00"),
               actual_end=local_dt(day, "15:39"))
    make_visit(db, plan, wo2, w.tech2, status="planned")
    return w
