"""Round trips through real RQ on the local Redis with real `fixroute worker`
processes: a plan's solve and the SMS outbox, and what happens when a worker dies
mid-job (the solve is reported failed, never left running; SMS are neither lost nor
sent twice). Runs on SQLite and on PostgreSQL like the rest of the suite."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from rq import Queue
from rq.job import Job
from sqlmodel import select

from dispatch.models import Plan, Visit
from dispatch.planning import jobs as plan_jobs
from dispatch.planning.queues import (
    enqueue_outbox_drain,
    queue_names,
    record_lost_job,
    request_outbox_drain,
)
from notifications.models import OutboundMessage
from tests.builders.planning import BEFORE, make_draft_plan
from tests.builders.sms import queue_sms
from tests.integration.conftest import run_worker_burst, start_worker, worker_env
from tests.notifications.fake_twilio import FakeTwilio

FROM = "+15005550006"


def _wait(predicate, timeout=30.0, every=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()


def _plan(engine, plan_id) -> Plan:
    from sqlmodel import Session

    with Session(engine) as s:
        return s.get(Plan, plan_id)


def test_queue_aliases_name_the_rq_queues():
    assert queue_names("solves,sms") == [plan_jobs.RQ_QUEUE, "fixroute-sms"]
    assert queue_names(["custom"]) == ["custom"]
    with pytest.raises(ValueError):
        queue_names(" , ")


def test_solve_round_trip_through_an_rq_worker(db, engine, db_url, redis_url, redis_conn, rq_queue,
                                               monkeypatch):
    _w, orders, plan = make_draft_plan(db)
    monkeypatch.setattr(plan_jobs, "RQ_QUEUE", rq_queue)  # this test's own queue
    plan = plan_jobs.start_plan_job(db, plan.id, version=plan.version, database_url=db_url,
                                    redis_url=redis_url, time_limit_s=5, solution_limit=20,
                                    now=BEFORE)
    job = Job.fetch(plan.job_id, connection=redis_conn)
    assert job.get_status() == "queued" and job.origin == rq_queue
    assert _plan(engine, plan.id).job_status == "queued"  # nothing ran in this process

    done = run_worker_burst(rq_queue, redis_url)
    assert done.returncode == 0, done.stderr[-2000:]

    finished = _plan(engine, plan.id)
    assert finished.job_status == "done", finished.progress
    assert finished.progress["phase"] == "done" and finished.progress["jobs"] == len(orders)
    visits = db.exec(select(Visit).where(Visit.plan_id == plan.id)).all()
    assert {v.work_order_id for v in visits} <= {o.id for o in orders} and visits
    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == "done"


def _slow_fake(delay_s: float) -> FakeTwilio:
    class SlowFake(FakeTwilio):
        def _create(self, sid, form, authorised):
            time.sleep(delay_s)
            return super()._create(sid, form, authorised)

    return SlowFake()


def _twilio_env(fake: FakeTwilio, base_url: str) -> dict:
    return worker_env(TWILIO_ACCOUNT_SID=fake.account_sid, TWILIO_AUTH_TOKEN=fake.auth_token,
                      TWILIO_FROM_NUMBER=FROM, TWILIO_API_BASE_URL=base_url,
                      PUBLIC_BASE_URL="https://fixroute.example.com")


def _enqueue_notices(db, n: int) -> list[str]:
    numbers = [f"+86138{i:08d}" for i in range(n)]
    for i, number in enumerate(numbers):
        queue_sms(db, f"itest-{i}", number, context={"ref": f"WO-{i:04d}"})
    return numbers


def test_sms_round_trip_through_an_rq_worker(db, db_url, redis_url, rq_queue):
    numbers = _enqueue_notices(db, 3)
    fake = FakeTwilio()
    base = fake.start()
    try:
        job = enqueue_outbox_drain(redis_url, db_url, queue_name=rq_queue)
        done = run_worker_burst(rq_queue, redis_url, env=_twilio_env(fake, base))
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        fake.stop()
    assert sorted(m["to"] for m in fake.accepted()) == numbers
    db.expire_all()
    rows = db.exec(select(OutboundMessage)).all()
    assert {r.status for r in rows} == {"queued"}
    assert {r.provider_sid for r in rows} == {m["sid"] for m in fake.accepted()}
    job.refresh()
    assert job.get_status() == "finished" and job.return_value()["sent"] == 3


def test_scheduler_sweep_queues_one_drain_at_a_time(db_url, redis_url, redis_conn, rq_queue):
    first = request_outbox_drain(redis_url, db_url, queue_name=rq_queue)
    assert first is not None
    assert request_outbox_drain(redis_url, db_url, queue_name=rq_queue) is None  # one waits already
    queue = Queue(rq_queue, connection=redis_conn)
    assert queue.job_ids == [first]
    assert Job.fetch(first, connection=redis_conn).func_name == "notifications.sender.drain_outbox_job"


def test_sms_sender_killed_mid_batch_loses_and_duplicates_nothing(db, db_url, redis_url, rq_queue):
    n = 10
    numbers = _enqueue_notices(db, n)
    fake = _slow_fake(0.25)
    base = fake.start()
    env = _twilio_env(fake, base)
    try:
        enqueue_outbox_drain(redis_url, db_url, queue_name=rq_queue, lease_seconds=2)
        proc = start_worker(rq_queue, redis_url, env=env)
        try:
            assert _wait(lambda: len(fake.requests) >= 3, timeout=60), "the sender never started"
        finally:
            horses = _children(proc.pid)  # the horse sends; RQ gives it a session of its own
            os.killpg(proc.pid, signal.SIGKILL)
            for pid in horses:
                os.kill(pid, signal.SIGKILL)
            proc.wait(timeout=10)
        assert horses, "no sender process to kill"
        sent_before_restart = len(fake.accepted())
        assert 0 < sent_before_restart < n
        time.sleep(2.5)  # the killed sender's leases expire
        enqueue_outbox_drain(redis_url, db_url, queue_name=rq_queue, lease_seconds=2)
        done = run_worker_burst(rq_queue, redis_url, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        fake.stop()
    to_numbers = [m["to"] for m in fake.accepted()]
    assert sorted(to_numbers) == numbers  # every notice once: none lost, none twice
    db.expire_all()
    rows = db.exec(select(OutboundMessage)).all()
    assert {r.status for r in rows} == {"queued"}
    assert sorted(r.provider_sid for r in rows) == sorted(m["sid"] for m in fake.accepted())


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except (FileNotFoundError, ValueError):
        return []


def _start_long_solve(db, db_url, redis_url, rq_queue, monkeypatch):
    _w, _orders, plan = make_draft_plan(db, 8)
    monkeypatch.setattr(plan_jobs, "RQ_QUEUE", rq_queue)
    plan = plan_jobs.start_plan_job(db, plan.id, version=plan.version, database_url=db_url,
                                    redis_url=redis_url, time_limit_s=60, now=BEFORE)
    return plan


def test_work_horse_killed_mid_solve_marks_the_plan_failed(db, engine, db_url, redis_url,
                                                           redis_conn, rq_queue, monkeypatch):
    plan = _start_long_solve(db, db_url, redis_url, rq_queue, monkeypatch)
    proc = start_worker(rq_queue, redis_url)
    horses = None
    try:
        assert _wait(lambda: _plan(engine, plan.id).job_status == "running", timeout=60)
        horses = _wait(lambda: _children(proc.pid), timeout=10)
        assert horses, "no work horse"
        os.kill(horses[0], signal.SIGKILL)  # e.g. the OOM killer
        assert _wait(lambda: _plan(engine, plan.id).job_status == "failed", timeout=30)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    failed = _plan(engine, plan.id)
    assert "lost" in failed.progress["error"]
    job = Job.fetch(plan.job_id, connection=redis_conn)
    assert job.get_status() == "failed"
    assert plan.job_id in Queue(rq_queue, connection=redis_conn).failed_job_registry


def test_whole_worker_killed_mid_solve_is_found_abandoned(db, engine, db_url, redis_url,
                                                          redis_conn, rq_queue, monkeypatch):
    """The worker and its horse die together (machine lost). RQ declares the job
    abandoned once its heartbeat expires (monitoring interval + 60 s); here the
    registry's cleanup is asked with a clock past that expiry instead of waiting,
    with the handler `fixroute worker` installs (benchmarks/faults/ waits for real)."""
    plan = _start_long_solve(db, db_url, redis_url, rq_queue, monkeypatch)
    proc = start_worker(rq_queue, redis_url)
    horses = None
    try:
        assert _wait(lambda: _plan(engine, plan.id).job_status == "running", timeout=60)
        horses = _wait(lambda: _children(proc.pid), timeout=10)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker ...
        for pid in horses or []:  # ... and its horse, which RQ puts in a session of its own
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)
    queue = Queue(rq_queue, connection=redis_conn)
    time.sleep(0.5)
    assert _plan(engine, plan.id).job_status == "running"  # nobody knows yet
    assert Job.fetch(plan.job_id, connection=redis_conn).get_status() == "started"
    queue.started_job_registry.cleanup(timestamp=time.time() + 3600,
                                       exception_handlers=[record_lost_job])
    assert Job.fetch(plan.job_id, connection=redis_conn).get_status() == "failed"
    assert plan.job_id in queue.failed_job_registry
    failed = _plan(engine, plan.id)
    assert failed.job_status == "failed" and "AbandonedJobError" in failed.progress["error"]
