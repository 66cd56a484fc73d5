"""The Redis + RQ side of a many-machine deployment: queue names, the SMS drain job
and what a worker does when a job is lost.

Two queues (``fixroute worker`` serves both by default):

* ``solves`` -> RQ queue ``fixroute-plans``: `dispatch.planning.jobs.run_plan_job`, enqueued
  by `jobs.start_plan_job` when ``REDIS_URL`` is set; and the sub-problem solves of
  `dispatch.planning.large_plans`.
* ``sms`` -> RQ queue ``fixroute-sms``: `notifications.sender.drain_outbox_job`, which sends
  the outbox's due rows through `notifications.sender.drain_outbox` (safe to run from any number of
  workers at once: rows are claimed with leases).

Jobs carry the database URL, never a secret: Twilio credentials come from the worker's
own environment.

A job is never lost silently. A job that raises is moved to RQ's failed registry. A
worker killed mid-job (OOM, SIGKILL, machine gone) leaves the job in the started
registry; once its heartbeat expires (at most the monitoring interval + 60 s) the next
worker's maintenance moves it to the failed registry and calls the worker's exception
handlers: `record_lost_job` then marks the plan's solve ``failed`` (so the board shows
it and the dispatcher can start again) instead of leaving it ``running`` forever. SMS
rows held by a killed sender go back to the queue when their lease expires and are
looked up at Twilio before any resend (see notifications.sender).
"""
from __future__ import annotations

import logging
import os

from dispatch.planning import jobs as plan_jobs
from notifications.sender import drain_outbox_job  # the SMS job (re-exported for its old path)

log = logging.getLogger("fixroute.queues")

SMS_QUEUE = "fixroute-sms"
QUEUE_ALIASES = {"solves": plan_jobs.RQ_QUEUE, "sms": SMS_QUEUE}
DEFAULT_QUEUES = ("solves", "sms")
SMS_JOB_TIMEOUT_S = 600


def queue_names(spec: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """'solves,sms' -> the RQ queue names; names not in QUEUE_ALIASES are kept as given."""
    if spec is None:
        items = list(DEFAULT_QUEUES)
    elif isinstance(spec, str):
        items = [s.strip() for s in spec.split(",") if s.strip()]
    else:
        items = [s.strip() for s in spec if s and s.strip()]
    if not items:
        raise ValueError("no queue given")
    return [QUEUE_ALIASES.get(s, s) for s in items]


def redis_connection(redis_url: str):
    from redis import Redis

    return Redis.from_url(redis_url)


# --- SMS ---------------------------------------------------------------------------------

def enqueue_outbox_drain(redis_url: str, database_url: str, *, limit: int = 200,
                         lease_seconds: int | None = None, queue_name: str = SMS_QUEUE):
    """Ask the SMS workers to drain the outbox now (returns the RQ job)."""
    from rq import Queue

    queue = Queue(queue_name, connection=redis_connection(redis_url))
    return queue.enqueue(drain_outbox_job, database_url, limit, lease_seconds,
                         job_timeout=SMS_JOB_TIMEOUT_S, result_ttl=3600, failure_ttl=7 * 86400)


def request_outbox_drain(redis_url: str, database_url: str, *, queue_name: str = SMS_QUEUE) -> str | None:
    """The scheduler's outbox sweep on a many-machine deployment: queue one drain for the
    SMS workers unless one is already waiting (so a stopped worker fleet does not pile up
    sweeps). Returns the new job's id, or None if one was waiting."""
    from rq import Queue

    if Queue(queue_name, connection=redis_connection(redis_url)).count > 0:
        return None
    return enqueue_outbox_drain(redis_url, database_url, queue_name=queue_name).id


# --- lost jobs ------------------------------------------------------------------------------

PLAN_JOB_FUNC = "dispatch.planning.jobs.run_plan_job"
# the name RQ stored for plan solves queued before the move into dispatch/planning/
# (resolved by the alias module dispatch/plan_jobs.py; drop both in the release after)
PLAN_JOB_FUNCS = (PLAN_JOB_FUNC, "dispatch.plan_jobs.run_plan_job")


def record_lost_job(job, exc_type, exc_value, traceback) -> bool:
    """RQ exception handler: a plan solve that died (worker killed, timeout, abandoned)
    is marked failed on its plan, unless the plan has moved on to another job meanwhile.
    Returns True so RQ's own handling (the failed registry) continues."""
    if getattr(job, "func_name", None) not in PLAN_JOB_FUNCS:
        return True
    try:
        database_url, plan_id, job_id = job.args[0], int(job.args[1]), str(job.args[2])
    except (IndexError, TypeError, ValueError):
        log.error("cannot read the plan of lost job %s", job.id)
        return True
    reason = getattr(exc_type, "__name__", str(exc_type))
    mark_plan_job_failed(database_url, plan_id, job_id, f"the solve was lost ({reason}); start it again")
    return True


def record_killed_work_horse(job, retpid, ret_val, rusage) -> None:
    """RQ work-horse-killed handler: the process running the job died (OOM killer,
    SIGKILL) while its worker lived on; RQ fails the job, this fails the plan's solve."""
    import os

    signal_note = f"signal {os.WTERMSIG(ret_val)}" if ret_val and os.WIFSIGNALED(ret_val) else f"status {ret_val}"
    record_lost_job(job, type("WorkHorseKilled", (Exception,), {}), None, None)
    log.warning("job %s: work horse %s died (%s)", job.id, retpid, signal_note)


def mark_plan_job_failed(database_url: str, plan_id: int, job_id: str, error: str) -> bool:
    """Mark the plan's solve failed if it still runs `job_id` (True if it did)."""
    from core.db import import_all_models, make_engine

    import_all_models()
    engine = make_engine(database_url)

    def failed(session, plan):
        plan.job_status = "failed"
        plan.progress = dict(plan.progress or {}, phase="failed", error=error[:300])

    try:
        done = plan_jobs._write_if_current(engine, plan_id, job_id, failed)
        if done:
            log.warning("plan %s: solve %s marked failed: %s", plan_id, job_id, error)
        return done
    finally:
        engine.dispose()


def worker_name() -> str:
    import socket

    return f"fixroute-{socket.gethostname()}-{os.getpid()}"
