"""Jobs queued in Redis before dispatch/ became feature packages name their function by
its old dotted path (RQ stores the path, not the code). A worker of this release must
still run them: the alias modules `dispatch.plan_jobs`, `dispatch.queues` and
`dispatch.large_plans` keep those paths resolving for one release."""
from __future__ import annotations

import importlib

import pytest
from rq import Queue
from rq.job import Job
from sqlmodel import Session, select

from dispatch.models import Plan, Visit
from dispatch.planning import jobs as plan_jobs
from dispatch.planning.queues import PLAN_JOB_FUNCS, record_lost_job
from notifications.models import OutboundMessage
from tests.builders.planning import BEFORE, make_draft_plan
from tests.builders.sms import queue_sms
from tests.integration.conftest import run_worker_burst, worker_env
from tests.notifications.fake_twilio import FakeTwilio


@pytest.mark.parametrize("old_path", ["dispatch.plan_jobs.run_plan_job",
                                      "dispatch.queues.drain_outbox_job",
                                      "dispatch.large_plans.solve_part"])
def test_old_dotted_job_paths_resolve_to_the_moved_functions(old_path):
    from rq.utils import import_attribute

    module, _, name = old_path.rpartition(".")
    new_module = {"dispatch.plan_jobs": "dispatch.planning.jobs",
                  "dispatch.queues": "notifications.sender",
                  "dispatch.large_plans": "dispatch.planning.large_plans"}[module]
    assert import_attribute(old_path) is getattr(importlib.import_module(new_module), name)


def test_plan_solve_queued_under_the_old_name_runs(db, engine, db_url, redis_url, redis_conn,
                                                   rq_queue, monkeypatch):
    w, orders, plan = make_draft_plan(db, 6)
    monkeypatch.setattr(plan_jobs, "RQ_QUEUE", rq_queue)
    plan = plan_jobs.start_plan_job(db, plan.id, version=plan.version, database_url=db_url,
                                    redis_url=redis_url, time_limit_s=5, solution_limit=20,
                                    now=BEFORE)
    # the job as the previous release queued it: same arguments, the old dotted name
    queued = Job.fetch(plan.job_id, connection=redis_conn)
    args = queued.args
    queued.delete()
    job = Queue(rq_queue, connection=redis_conn).enqueue(
        "dispatch.plan_jobs.run_plan_job", *args, job_id=plan.job_id, job_timeout=305)
    assert job.func_name == "dispatch.plan_jobs.run_plan_job"

    done = run_worker_burst(rq_queue, redis_url)
    assert done.returncode == 0, done.stderr[-2000:]
    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == "done"
    with Session(engine) as s:
        finished = s.get(Plan, plan.id)
        assert finished.job_status == "done"
        visits = s.exec(select(Visit).where(Visit.plan_id == plan.id)).all()
    assert visits and {v.work_order_id for v in visits} <= {o.id for o in orders}


def test_sms_drain_queued_under_the_old_name_runs(db, db_url, redis_url, redis_conn, rq_queue):
    numbers = [f"+86139{i:08d}" for i in range(2)]
    for i, number in enumerate(numbers):
        queue_sms(db, f"old-name-{i}", number, context={"ref": f"WO-{i:04d}"})
    job = Queue(rq_queue, connection=redis_conn).enqueue(
        "dispatch.queues.drain_outbox_job", db_url, 200, None)
    fake = FakeTwilio()
    base = fake.start()
    try:
        env = worker_env(TWILIO_ACCOUNT_SID=fake.account_sid, TWILIO_AUTH_TOKEN=fake.auth_token,
                         TWILIO_FROM_NUMBER="+15005550006", TWILIO_API_BASE_URL=base,
                         PUBLIC_BASE_URL="https://fixroute.example.com")
        done = run_worker_burst(rq_queue, redis_url, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        fake.stop()
    assert sorted(m["to"] for m in fake.accepted()) == numbers
    job.refresh()
    assert job.get_status() == "finished" and job.return_value()["sent"] == 2
    db.expire_all()
    assert {r.status for r in db.exec(select(OutboundMessage)).all()} == {"queued"}


def test_a_lost_solve_under_the_old_name_still_fails_its_plan(db, engine, db_url):
    """The worker's lost-job handler recognises plan solves by function name: one queued
    under the old name must still be marked failed instead of staying 'running'."""
    assert "dispatch.plan_jobs.run_plan_job" in PLAN_JOB_FUNCS
    w, _orders, plan = make_draft_plan(db, 2)
    plan.job_id, plan.job_status = "old-name-job", "running"
    db.add(plan)
    db.commit()

    class LostJob:
        id = "old-name-job"
        func_name = "dispatch.plan_jobs.run_plan_job"
        args = (db_url, plan.id, "old-name-job")

    assert record_lost_job(LostJob(), TimeoutError, None, None) is True
    with Session(engine) as s:
        lost = s.get(Plan, plan.id)
        assert lost.job_status == "failed" and "lost" in lost.progress["error"]
