"""Preventive work orders: once per plan/terminal/due date, merged into open visits,
escalated as their window closes, caught up once after downtime."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from dispatch.models import WorkOrderStatus
from dispatch.workorders.service import create_work_order
from maintenance.generation import escalate_closing_windows, generate_due
from maintenance.models import PMOccurrence
from tests.builders.maintenance import make_pm_plan, occurrences
from tests.builders.workorders import events, work_orders
from tests.builders.world import make_terminal, make_world


def test_rule_plan_creates_one_optional_low_priority_work_order_per_due_date(db):
    w = make_world(db)
    make_pm_plan(db, rrule="FREQ=MONTHLY;BYMONTHDAY=-1", service_minutes=25)
    stats = generate_due(db, date(2026, 11, 25), horizon_days=14)
    assert (stats.created, stats.merged, stats.existing) == (1, 0, 0)
    [occ] = occurrences(db)
    assert (occ.terminal_id, occ.due_date, occ.window_end) == (w.terminal.id, date(2026, 11, 30), date(2026, 12, 9))
    [wo] = work_orders(db, "preventive")
    assert occ.work_order_id == wo.id
    assert (wo.optional, wo.priority, wo.status, wo.service_minutes) == (True, "low", "ready", 25)
    assert wo.required_skills == ["preventive"]
    # window: local midnight Nov 30 to local midnight Dec 10 (Shanghai, UTC+8)
    assert wo.window_start_at == datetime(2026, 11, 29, 16, tzinfo=UTC)
    assert wo.window_end_at == datetime(2026, 12, 9, 16, tzinfo=UTC)
    assert [c["code"] for c in wo.checklist] == ["clean_card_slot", "clean_printer_head"]
    assert events(db, wo.id)[0].action == "created"


def test_running_generation_twice_changes_nothing_the_second_time(db):
    make_world(db)
    make_pm_plan(db, rrule="FREQ=WEEKLY;BYDAY=MO,TH")
    first = generate_due(db, date(2026, 11, 24), horizon_days=14)
    snapshot = [(o.plan_id, o.terminal_id, o.due_date, o.work_order_id) for o in occurrences(db)]
    second = generate_due(db, date(2026, 11, 24), horizon_days=14)
    # window 10 days: Nov 16 .. Dec 7 (Mon/Thu) = 7 dates; one visit, the others join it
    assert first.created == 1 and first.merged == 6
    [wo] = work_orders(db)
    assert wo.service_minutes == 30  # the same work on the same terminal is not added twice
    assert second.created == second.merged == 0
    assert second.existing == len(snapshot)
    assert [(o.plan_id, o.terminal_id, o.due_date, o.work_order_id) for o in occurrences(db)] == snapshot
    assert len(work_orders(db)) == 1


def test_the_database_refuses_a_second_occurrence_for_the_same_plan_terminal_and_date(db):
    w = make_world(db)
    plan = make_pm_plan(db, rrule="FREQ=MONTHLY")
    db.add(PMOccurrence(plan_id=plan.id, terminal_id=w.terminal.id, due_date=date(2026, 12, 1)))
    db.commit()
    db.add(PMOccurrence(plan_id=plan.id, terminal_id=w.terminal.id, due_date=date(2026, 12, 1)))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_preventive_work_joins_the_merchants_open_repair_instead_of_a_second_visit(db):
    w = make_world(db)
    repair = create_work_order(db, merchant=w.merchant, terminal=w.terminal, kind="repair",
                               priority="high", severity="down", required_skills=["card_reader"],
                               predicted_parts=[], service_minutes=45, actor="agent")
    second = make_terminal(db, w.merchant, w.model.id, "PAX0100002")
    make_pm_plan(db, rrule="FREQ=MONTHLY;BYMONTHDAY=1", service_minutes=20,
             checklist=["check_battery"])
    stats = generate_due(db, date(2026, 11, 25), horizon_days=10)
    assert (stats.created, stats.merged) == (0, 2)
    assert work_orders(db, "preventive") == []
    db.refresh(repair)
    assert repair.service_minutes == 45 + 20 + 20
    assert sorted(c["terminal"] for c in repair.checklist) == sorted([w.terminal.serial, second.serial])
    assert repair.optional is False and repair.priority == "high"
    notes = [e for e in events(db, repair.id) if e.action == "note"]
    assert len(notes) == 2 and "joined this visit" in notes[0].note
    assert {o.outcome for o in occurrences(db)} == {"merged"}
    assert {o.work_order_id for o in occurrences(db)} == {repair.id}


def test_a_visit_already_on_site_is_not_merged_into(db):
    w = make_world(db)
    repair = create_work_order(db, merchant=w.merchant, terminal=w.terminal, kind="repair",
                               priority="high", severity="down", required_skills=[],
                               predicted_parts=[], service_minutes=45)
    repair.status = WorkOrderStatus.ON_SITE
    db.add(repair)
    db.commit()
    make_pm_plan(db, rrule="FREQ=MONTHLY;BYMONTHDAY=1")
    stats = generate_due(db, date(2026, 11, 25), horizon_days=10)
    assert (stats.created, stats.merged) == (1, 0)


def test_scope_by_model_region_tier_and_serial(db):
    w = make_world(db)
    other = make_terminal(db, w.merchant, w.model.id, "PAX0100009")
    make_pm_plan(db, rrule="FREQ=MONTHLY;BYMONTHDAY=1", scope={"terminals": [other.serial]})
    make_pm_plan(db, name="gold only", rrule="FREQ=MONTHLY;BYMONTHDAY=2", scope={"tiers": ["gold"]})
    make_pm_plan(db, name="model+region", rrule="FREQ=MONTHLY;BYMONTHDAY=3",
             scope={"models": ["PAX-A920PRO"], "regions": ["PX"]})
    make_pm_plan(db, name="other region", rrule="FREQ=MONTHLY;BYMONTHDAY=4", scope={"regions": ["PD"]})
    generate_due(db, date(2026, 11, 28), horizon_days=10)
    got = {(o.plan_id, o.terminal_id) for o in occurrences(db)}
    plans = sorted({p for p, _ in got})
    assert len(got) == 3  # serial plan: 1 terminal; model+region: 2; tier gold: none (standard)
    assert {t for p, t in got if p == plans[0]} == {other.id}
    assert {t for p, t in got if p == plans[1]} == {w.terminal.id, other.id}


def test_escalation_makes_preventive_work_required_as_its_window_closes_once(db):
    make_world(db)
    make_pm_plan(db, rrule="FREQ=MONTHLY;BYMONTHDAY=1", due_window_days=7)
    generate_due(db, date(2026, 11, 28), horizon_days=7)
    [wo] = work_orders(db, "preventive")
    # window Dec 1..Dec 7 local; closes at local midnight Dec 8; escalation 2 days before
    assert escalate_closing_windows(db, date(2026, 12, 5)) == 0
    assert escalate_closing_windows(db, date(2026, 12, 6)) == 1
    assert escalate_closing_windows(db, date(2026, 12, 6)) == 0
    db.refresh(wo)
    assert (wo.optional, wo.priority) == (False, "normal")
    assert any(e.data.get("escalated") for e in events(db, wo.id))


def test_catch_up_after_downtime_creates_each_missed_occurrence_once_and_skips_closed_windows(db):
    make_world(db)
    make_pm_plan(db, rrule="FREQ=DAILY;INTERVAL=3", due_window_days=5, active_from=date(2026, 11, 1))
    # daily runs would have generated these; the scheduler was down from Nov 2 to Nov 20
    generate_due(db, date(2026, 11, 1), horizon_days=0)
    stats = generate_due(db, date(2026, 11, 20), horizon_days=0)
    got = [o.due_date for o in occurrences(db)]
    # Nov 1 (earlier run); Nov 4..Nov 13 windows closed before Nov 20; Nov 16 and 19 open
    assert got == [date(2026, 11, 1), date(2026, 11, 16), date(2026, 11, 19)]
    assert stats.merged + stats.created == 2
    assert generate_due(db, date(2026, 11, 20), horizon_days=0).existing == 2


def test_interval_plan_waits_for_the_last_service_before_the_next_occurrence(db):
    make_world(db)
    make_pm_plan(db, interval_days=30, active_from=date(2026, 11, 1), due_window_days=10)
    generate_due(db, date(2026, 11, 1), horizon_days=3)
    [occ] = occurrences(db)
    assert occ.due_date == date(2026, 11, 1)
    # nothing new while it is not served
    generate_due(db, date(2026, 11, 9), horizon_days=3)
    assert len(occurrences(db)) == 1
    [wo] = work_orders(db)
    wo.status = WorkOrderStatus.COMPLETED
    wo.completed_at = datetime(2026, 11, 9, 3, tzinfo=UTC)  # Nov 9 local
    db.add(wo)
    db.commit()
    generate_due(db, date(2026, 11, 30), horizon_days=10)
    got = [o.due_date for o in occurrences(db)]
    assert got == [date(2026, 11, 1), date(2026, 12, 9)]
    generate_due(db, date(2026, 12, 5), horizon_days=7)
    assert len(occurrences(db)) == 2


def test_generation_reads_today_in_each_regions_zone_from_an_instant(db):
    make_world(db)  # Shanghai, UTC+8
    make_pm_plan(db, rrule="FREQ=DAILY", due_window_days=1, active_from=date(2026, 11, 1))
    # 17:00 UTC on Nov 24 is already Nov 25 in Shanghai
    generate_due(db, datetime(2026, 11, 24, 17, tzinfo=UTC), horizon_days=0)
    assert [o.due_date for o in occurrences(db)] == [date(2026, 11, 25)]


def test_an_inactive_or_ended_plan_generates_nothing(db):
    make_world(db)
    make_pm_plan(db, rrule="FREQ=DAILY", active=False)
    make_pm_plan(db, name="ended", rrule="FREQ=DAILY", active_to=date(2026, 11, 10),
             due_window_days=1)
    stats = generate_due(db, date(2026, 11, 20), horizon_days=5)
    assert stats.created == stats.merged == 0
    assert occurrences(db) == []
