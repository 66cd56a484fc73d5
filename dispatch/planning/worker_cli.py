"""`fixroute worker`: an RQ worker for the solve and SMS queues.

    fixroute worker                      # both queues, runs until stopped (SIGTERM: warm shutdown)
    fixroute worker -q solves            # only solves (e.g. on the big machines)
    fixroute worker -q sms --burst       # drain what is queued, then exit

It is `rq worker` with FixRoute's settings (REDIS_URL) and its exception handler
(`dispatch.planning.queues.record_lost_job`, and `record_killed_work_horse` for a horse
killed under it), which marks a plan's solve failed when its job
dies, so use this rather than a bare `rq worker`.
"""
from __future__ import annotations

import logging

import click

from dispatch.planning.queues import (
    DEFAULT_QUEUES,
    queue_names,
    record_killed_work_horse,
    record_lost_job,
    redis_connection,
)


@click.command("worker")
@click.option("--queues", "-q", "queues", default=",".join(DEFAULT_QUEUES), show_default=True,
              help="comma-separated: solves, sms, or raw RQ queue names")
@click.option("--burst", is_flag=True, help="exit when the queues are empty")
@click.option("--simple", is_flag=True,
              help="run jobs inside the worker process instead of a forked work horse")
@click.option("--name", default=None, help="worker name (default: host and pid)")
@click.option("--max-jobs", type=int, default=None, help="exit after this many jobs")
@click.option("--job-monitoring-interval", type=int, default=10, show_default=True,
              help="seconds between heartbeats while a job runs (a dead worker's job is "
                   "declared lost this + 60 s after its last heartbeat)")
@click.option("--maintenance-interval", type=int, default=45, show_default=True,
              help="seconds between registry clean-ups (where abandoned jobs are found)")
@click.option("--redis-url", envvar="REDIS_URL", default=None, help="default: $REDIS_URL")
def worker_command(queues: str, burst: bool, simple: bool, name: str | None, max_jobs: int | None,
                   job_monitoring_interval: int, maintenance_interval: int, redis_url: str | None) -> None:
    """Run an RQ worker for solves and outgoing SMS (needs REDIS_URL)."""
    from rq import Queue, SimpleWorker, Worker

    from core.settings import load_settings
    from dispatch.planning.queues import worker_name

    redis_url = redis_url or load_settings().redis_url
    if not redis_url:
        raise click.UsageError("REDIS_URL is not set: workers need Redis "
                               "(on one machine, solves run in a local process instead)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    conn = redis_connection(redis_url)
    names = queue_names(queues)
    worker_class = SimpleWorker if simple else Worker
    worker = worker_class([Queue(n, connection=conn) for n in names], connection=conn,
                          name=name or worker_name(), exception_handlers=[record_lost_job],
                          work_horse_killed_handler=record_killed_work_horse,
                          job_monitoring_interval=job_monitoring_interval,
                          maintenance_interval=maintenance_interval,
                          # an idle worker blocks on Redis for worker_ttl - 15 s between clean-ups
                          worker_ttl=max(30, maintenance_interval))
    click.echo(f"worker {worker.name} on {', '.join(names)}")
    worker.work(burst=burst, max_jobs=max_jobs, with_scheduler=False)
