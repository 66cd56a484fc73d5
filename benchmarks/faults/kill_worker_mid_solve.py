"""Fault: an RQ worker is killed mid-solve. The job must be retried or reported
failed, never lost silently; the plan's solve must not stay "running" forever.

    .venv/bin/python -m benchmarks.faults.kill_worker_mid_solve [--db sqlite|postgresql]

Two runs, against the local Redis, real `fixroute worker` processes and a fresh
database with a small planning world (tests/builders/planning.py):

1. horse: only the work horse (the forked process running the solve) is SIGKILLed,
   as the OOM killer would; the worker survives and fails the job at once.
2. machine: the worker and its horse are SIGKILLed together (the machine is lost).
   Nobody knows until the job's heartbeat expires (job-monitoring-interval + 60 s);
   a second worker, started right away, finds the job abandoned at its next registry
   clean-up (--maintenance-interval) and fails it. We wait for real and time it.

For each: the RQ job's status and failed-registry membership, the plan's job_status
and error, and how long after the kill the plan showed "failed".
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
FIXROUTE = str(Path(sys.executable).with_name("fixroute"))


def start_worker(queue: str, redis_url: str, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen([FIXROUTE, "worker", "-q", queue, "--redis-url", redis_url, *extra], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait(pred, timeout: float, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(every)
    return pred()


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ValueError):
        return []


def scenario(name: str, db_url: str, redis_url: str) -> dict:
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from sqlmodel import Session

    from app import MODEL_MODULES
    from core.db import import_all_models, make_engine, metadata
    from dispatch.models import Plan
    from dispatch.planning import jobs as plan_jobs
    from tests.builders.planning import BEFORE, make_draft_plan

    import_all_models(MODEL_MODULES)
    engine = make_engine(db_url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    queue_name = f"fixroute-fault-{uuid.uuid4().hex[:8]}"
    plan_jobs.RQ_QUEUE = queue_name  # this run's own queue
    conn = Redis.from_url(redis_url)
    with Session(engine, expire_on_commit=False) as db:
        _w, _orders, plan = make_draft_plan(db, 8)
        plan = plan_jobs.start_plan_job(db, plan.id, version=plan.version, database_url=db_url,
                                        redis_url=redis_url, time_limit_s=120, now=BEFORE)
        plan_id, job_id = plan.id, plan.job_id

    def plan_row() -> Plan:
        with Session(engine) as s:
            return s.get(Plan, plan_id)

    worker = start_worker(queue_name, redis_url)
    second = None
    try:
        assert wait(lambda: plan_row().job_status == "running", 120), "the solve never started"
        time.sleep(2)
        if name == "horse":
            horse = wait(lambda: children(worker.pid), 10)[0]
            os.kill(horse, signal.SIGKILL)
        else:  # the horse runs in its own session (RQ calls setsid): kill both
            horses = wait(lambda: children(worker.pid), 10)
            os.killpg(worker.pid, signal.SIGKILL)
            for pid in horses:
                os.kill(pid, signal.SIGKILL)
            worker.wait(timeout=10)
            second = start_worker(queue_name, redis_url)  # defaults: monitoring 10 s, maintenance 60 s
        killed_at = time.monotonic()
        status_after_kill = plan_row().job_status
        failed = wait(lambda: plan_row().job_status == "failed", 300, every=1.0)
        detected_s = round(time.monotonic() - killed_at, 1)
        row = plan_row()
        job = Job.fetch(job_id, connection=conn)
        result = {
            "scenario": name, "plan_status_right_after_kill": status_after_kill,
            "plan_failed": bool(failed), "seconds_until_plan_failed": detected_s,
            "plan_error": (row.progress or {}).get("error"), "rq_job_status": job.get_status(),
            "in_failed_registry": job_id in Queue(queue_name, connection=conn).failed_job_registry,
        }
        print(json.dumps(result), flush=True)
        return result
    finally:
        for proc in (worker, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        from tests.integration.conftest import purge_queue

        purge_queue(conn, queue_name)
        engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    ap.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--only", choices=["horse", "machine"], default=None)
    args = ap.parse_args()
    from benchmarks.load.run_load import create_database

    results = []
    for name in ([args.only] if args.only else ["horse", "machine"]):
        if args.db == "postgresql":
            url, drop = create_database(args.pg_admin_url)
        else:
            tmp = tempfile.mkdtemp()
            url, drop = f"sqlite:///{tmp}/fault.db", (lambda: None)
        try:
            results.append(scenario(name, url, args.redis_url))
        finally:
            drop()
    ok = all(r["plan_failed"] and r["rq_job_status"] == "failed" and r["in_failed_registry"] for r in results)
    print("RESULT:", "job reported failed in every scenario" if ok else "A JOB WAS LOST")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
