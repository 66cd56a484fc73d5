"""The scheduler process: one holder at a time, persistent coalescing jobs, and jobs
that change nothing when run twice."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from core.db import make_engine
from core.models import AuditEvent
from dispatch.workorders.service import create_work_order
from maintenance import jobs
from maintenance.scheduler import JOB_DEFAULTS, SchedulerGuard, build_scheduler
from notifications.models import OutboundMessage
from tests.builders.maintenance import make_pm_plan
from tests.builders.planning import make_plan, make_visit
from tests.builders.workorders import events, work_orders
from tests.builders.world import make_world

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)

RUNS: list[int] = []


def record_run() -> None:
    RUNS.append(1)


@pytest.fixture
def second_engine(app, db_url):
    """A second, independent engine on the same database: another process's view."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def test_a_second_scheduler_cannot_take_the_guard_while_the_first_holds_it(engine, second_engine):
    first = SchedulerGuard(engine, holder="first")
    second = SchedulerGuard(second_engine, holder="second")
    assert first.acquire() is True
    try:
        assert second.acquire() is False
        assert second.current_holder() is not None
    finally:
        first.release()
    assert second.acquire() is True
    second.release()


def test_the_lease_passes_to_another_holder_only_after_it_expires(engine, second_engine):
    first = SchedulerGuard(engine, holder="first", mode="lease", lease_seconds=90)
    second = SchedulerGuard(second_engine, holder="second", mode="lease", lease_seconds=90)
    assert first.acquire(T0)
    assert not second.acquire(T0 + timedelta(seconds=60))
    assert first.renew(T0 + timedelta(seconds=60))  # now valid until T0+150 s
    assert not second.acquire(T0 + timedelta(seconds=120))
    assert second.acquire(T0 + timedelta(seconds=151))  # the first one stopped renewing
    assert not first.renew(T0 + timedelta(seconds=160))  # and learns it lost the lease
    second.release()


def test_jobs_are_stored_in_the_database_with_coalesce_and_misfire_grace(engine):
    scheduler = build_scheduler(engine, blocking=False)
    scheduler.start(paused=True)
    try:
        stored = {j.id: j for j in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert set(stored) == set(jobs.JOBS)
    for job in stored.values():
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == JOB_DEFAULTS["misfire_grace_time"]
    # a restart finds the same jobs in the store (replace_existing, no duplicates)
    again = build_scheduler(engine, blocking=False)
    again.start(paused=True)
    try:
        assert sorted(j.id for j in again.get_jobs()) == sorted(jobs.JOBS)
    finally:
        again.shutdown(wait=False)


def test_missed_runs_after_downtime_run_once(engine):
    from apscheduler.events import EVENT_JOB_EXECUTED
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    RUNS.clear()
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(
        engine=engine, tablename="apscheduler_test_jobs")}, job_defaults=dict(JOB_DEFAULTS))
    done = threading.Event()
    scheduler.add_listener(lambda _e: done.set(), EVENT_JOB_EXECUTED)
    # the process was down for five nightly runs
    scheduler.add_job("tests.maintenance.test_scheduler:record_run", "interval", days=1,
                      id="nightly", replace_existing=True, next_run_time=datetime.now(UTC) - timedelta(days=5, hours=1))
    scheduler.start()
    try:
        assert done.wait(20)
    finally:
        scheduler.shutdown(wait=True)
    assert RUNS == [1]


def test_preventive_generation_job_twice_changes_nothing(db):
    make_world(db)
    make_pm_plan(db, rrule="FREQ=MONTHLY;BYMONTHDAY=1")
    first = jobs.preventive_generation(db, T0)
    second = jobs.preventive_generation(db, T0)
    assert first["created"] == 1 and second["created"] == 0 and second["existing"] == 1
    assert len(work_orders(db)) == 1


def test_sla_watch_warns_once_per_work_order_before_the_deadline(db):
    w = make_world(db)
    wo = create_work_order(db, merchant=w.merchant, terminal=w.terminal, kind="repair",
                           priority="high", severity="down", required_skills=[], predicted_parts=[],
                           service_minutes=45, sla_due_at=T0 + timedelta(hours=3))
    assert jobs.sla_watch(db, T0) == 0  # 3 h left
    assert jobs.sla_watch(db, T0 + timedelta(hours=2)) == 1  # 60 min left
    assert jobs.sla_watch(db, T0 + timedelta(hours=2, minutes=5)) == 0
    assert jobs.sla_watch(db, T0 + timedelta(hours=4)) == 0  # missed, but already warned
    warnings = db.exec(select(AuditEvent).where(AuditEvent.action == "sla_warning")).all()
    assert len(warnings) == 1 and warnings[0].data["minutes_left"] == 60
    assert [e for e in events(db, wo.id) if e.data.get("sla_warning")]
    # a tighter deadline is a new deadline: it is warned about again
    wo.sla_due_at = T0 + timedelta(hours=2, minutes=30)
    db.add(wo)
    db.commit()
    assert jobs.sla_watch(db, T0 + timedelta(hours=2)) == 1


def test_completed_work_is_not_warned_about(db):
    w = make_world(db)
    wo = create_work_order(db, merchant=w.merchant, terminal=w.terminal, kind="repair",
                           priority="high", severity="down", required_skills=[], predicted_parts=[],
                           service_minutes=45, sla_due_at=T0 + timedelta(minutes=30))
    wo.status = "completed"
    db.add(wo)
    db.commit()
    assert jobs.sla_watch(db, T0) == 0


def _plan_visit(db, w, wo, day: date, start_hour_utc: int) -> None:
    start = datetime(day.year, day.month, day.day, start_hour_utc, tzinfo=UTC)
    make_visit(db, make_plan(db, w.region, day), wo, w.tech, planned_start=start,
               planned_end=start + timedelta(minutes=30), window_start=start - timedelta(minutes=30),
               window_end=start + timedelta(minutes=30))


def test_day_before_reminder_is_queued_once_per_preventive_visit(db):
    w = make_world(db)
    make_pm_plan(db, rrule="FREQ=MONTHLY;BYMONTHDAY=25")
    jobs.preventive_generation(db, T0)
    [wo] = work_orders(db, "preventive")
    _plan_visit(db, w, wo, date(2026, 11, 25), 2)  # 10:00 Shanghai
    evening = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 17:00 local, the day before
    assert jobs.pm_reminders(db, evening) == 1
    assert jobs.pm_reminders(db, evening + timedelta(hours=1)) == 0
    [msg] = db.exec(select(OutboundMessage)).all()
    assert msg.template == "pm_reminder" and msg.to_number == w.merchant.phone
    assert msg.idempotency_key == f"pm-reminder:{wo.id}:2026-11-25"
    assert "09:30" in msg.body and wo.number in msg.body
    # two days before: nothing yet
    assert jobs.pm_reminders(db, evening - timedelta(days=1)) == 0


def test_repairs_get_no_preventive_reminder(db):
    w = make_world(db)
    wo = create_work_order(db, merchant=w.merchant, terminal=w.terminal, kind="repair",
                           priority="high", severity="down", required_skills=[], predicted_parts=[],
                           service_minutes=45)
    _plan_visit(db, w, wo, date(2026, 11, 25), 2)
    assert jobs.pm_reminders(db, datetime(2026, 11, 24, 9, tzinfo=UTC)) == 0


def test_outbox_sweep_sends_due_messages_once(db, app):
    from notifications.outbox import enqueue_sms

    make_world(db)
    enqueue_sms(db, key="t-1", to="+8613812345678", template="visit_done", locale="en",
                context={"ref": "WO-000001"})
    db.commit()
    settings = app.config["FIXROUTE"]
    first = jobs.outbox_sweep(db, datetime.now(UTC), settings=settings)
    second = jobs.outbox_sweep(db, datetime.now(UTC), settings=settings)
    assert first["sent"] == 1 and second["sent"] == 0
