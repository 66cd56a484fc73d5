"""The scheduler process: APScheduler 3.11 with its job store in the application
database, one process only.

`fixroute scheduler` (Procfile: `scheduler: .venv/bin/fixroute scheduler`) takes the
single-scheduler guard, then runs a BlockingScheduler whose jobs call the plain job
functions of `maintenance.jobs` with the real clock. Every job has coalesce=True (a
backlog of missed runs after downtime runs once), a misfire grace time (a run missed
by less than that still runs when the process comes back) and max_instances=1.

The guard: on PostgreSQL a session-level advisory lock (`pg_try_advisory_lock`) held
on a dedicated connection for the life of the process (the server drops it if the
process dies); on SQLite a lease row (`core.models.SchedulerLease`) that the holder
renews every LEASE_RENEW seconds and that a second process may take over only after
it has expired. A second scheduler waits (`--wait`) or exits with a clear message."""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time as _time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.db import is_sqlite, session_scope, unit_of_work
from core.models import SchedulerLease
from core.timeutil import default_timezone, utcnow

log = logging.getLogger("fixroute.scheduler")

LOCK_NAME = "fixroute-scheduler"
PG_LOCK_KEY = 0x46_52_53_43  # "FRSC"
LEASE_SECONDS = 90
LEASE_RENEW = 30
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600}
JOBSTORE_TABLE = "apscheduler_jobs"


class SchedulerGuard:
    """One holder at a time across processes and machines sharing the database."""

    def __init__(self, engine: Engine, holder: str | None = None, name: str = LOCK_NAME,
                 lease_seconds: int = LEASE_SECONDS, mode: str | None = None) -> None:
        self.engine = engine
        self.mode = mode  # "lease" or "advisory_lock"; default by database
        self.name = name
        self.lease_seconds = lease_seconds
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._conn = None  # PostgreSQL: the connection that holds the advisory lock
        self.held = False

    @property
    def kind(self) -> str:
        if self.mode:
            return self.mode
        return "lease" if is_sqlite(self.engine) else "advisory_lock"

    def acquire(self, now: datetime | None = None) -> bool:
        if self.kind == "advisory_lock":
            return self._acquire_pg()
        return self._acquire_lease(now or utcnow())

    def renew(self, now: datetime | None = None) -> bool:
        """Extend the lease (SQLite); False if another holder took it meanwhile."""
        if self.kind == "advisory_lock":
            return self.held
        self.held = self._acquire_lease(now or utcnow())
        return self.held

    def release(self) -> None:
        if self.kind == "advisory_lock":
            if self._conn is not None:
                try:
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
                    self._conn.commit()
                finally:
                    self._conn.close()
                    self._conn = None
        elif self.held:
            with session_scope(self.engine) as session, unit_of_work(session):
                row = session.exec(select(SchedulerLease).where(
                    SchedulerLease.name == self.name)).first()
                if row is not None and row.holder == self.holder:
                    session.delete(row)
        self.held = False

    def current_holder(self) -> str | None:
        if self.kind == "advisory_lock":
            with self.engine.connect() as conn:
                row = conn.execute(text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :k "
                    "AND granted"), {"k": PG_LOCK_KEY}).first()
                return f"postgres backend pid {row[0]}" if row else None
        with session_scope(self.engine) as session:
            row = session.exec(select(SchedulerLease).where(SchedulerLease.name == self.name)).first()
            return f"{row.holder} (lease until {row.expires_at.isoformat()})" if row else None

    def _acquire_pg(self) -> bool:
        if self._conn is None:
            self._conn = self.engine.connect()
        got = bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                      {"k": PG_LOCK_KEY}).scalar())
        self._conn.commit()  # end the transaction; a session-level lock outlives it
        if not got:
            self._conn.close()
            self._conn = None
        self.held = got
        return got

    def _acquire_lease(self, now: datetime) -> bool:
        expires = now + timedelta(seconds=self.lease_seconds)
        try:
            with session_scope(self.engine) as session, unit_of_work(session):
                row = session.exec(select(SchedulerLease).where(SchedulerLease.name == self.name)
                                   .with_for_update()).first()
                if row is None:
                    session.add(SchedulerLease(name=self.name, holder=self.holder, expires_at=expires))
                elif row.holder != self.holder and row.expires_at > now:
                    return False
                else:
                    row.holder = self.holder
                    row.expires_at = expires
                    session.add(row)
        except IntegrityError:  # another process inserted the lease first (rolled back)
            return False
        self.held = True
        return True


# --- running the jobs -----------------------------------------------------------------

_STATE: dict = {}


def run_job(name: str, engine: Engine | None = None, now: datetime | None = None, **kwargs):
    """Run one registered job now in its own session (the scheduler calls this)."""
    from maintenance.jobs import JOBS

    engine = engine or _STATE.get("engine")
    if engine is None:
        raise RuntimeError("the scheduler has no database engine configured")
    func, _trigger = JOBS[name]
    guard: SchedulerGuard | None = _STATE.get("guard")
    if guard is not None and not guard.held:
        log.error("job %s not run: this process no longer holds the scheduler guard", name)
        return None
    if name == "outbox_sweep" and "settings" not in kwargs and _STATE.get("settings"):
        kwargs["settings"] = _STATE["settings"]
    with session_scope(engine) as session:
        return func(session, now or utcnow(), **kwargs)


def build_scheduler(engine: Engine, *, blocking: bool = True, timezone: str | None = None,
                    jobstore_engine: Engine | None = None):
    """A scheduler with the SQLAlchemy job store in the application database and the
    jobs registered (replace_existing, so a restart updates triggers). Its clock runs
    in `timezone`, by default the DEFAULT_TIMEZONE setting."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    from maintenance.jobs import JOBS

    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        jobstores={"default": SQLAlchemyJobStore(engine=jobstore_engine or engine,
                                                 tablename=JOBSTORE_TABLE)},
        job_defaults=dict(JOB_DEFAULTS), timezone=timezone or default_timezone())
    for name, (_func, trigger) in JOBS.items():
        scheduler.add_job("maintenance.scheduler:run_job", args=[name], id=name, name=name,
                          replace_existing=True, **trigger)
    return scheduler


def serve(engine: Engine, settings, *, wait: bool = False, poll_seconds: int = 15,
          echo=print) -> int:
    """Take the guard, then run the scheduler until stopped. Returns an exit code."""
    guard = SchedulerGuard(engine)
    while not guard.acquire():
        holder = guard.current_holder() or "another process"
        if not wait:
            echo(f"another scheduler is already running ({holder}); not starting a second one. "
                 f"Use --wait to take over when it stops.")
            return 1
        echo(f"another scheduler is running ({holder}); waiting ...")
        _time.sleep(poll_seconds)
    _STATE.update(engine=engine, guard=guard, settings=settings)
    scheduler = build_scheduler(engine, blocking=True, timezone=settings.default_timezone)
    stop = threading.Event()

    def _renew() -> None:
        while not stop.wait(LEASE_RENEW):
            if not guard.renew():
                log.error("scheduler guard lost to another process: stopping")
                scheduler.shutdown(wait=False)
                return

    renewer = threading.Thread(target=_renew, name="scheduler-guard", daemon=True)
    renewer.start()

    def _on_term(_signum, _frame) -> None:  # a stopped process hands the guard over at once
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _on_term)
    echo(f"scheduler running as {guard.holder} ({guard.kind}); jobs: "
         + ", ".join(j.id for j in scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stop.set()
        guard.release()
        _STATE.clear()
    return 0


def run_all_once(engine: Engine, settings, now: datetime | None = None, echo=print) -> int:
    """`fixroute scheduler --once`: run every job once now (under the guard)."""
    from maintenance.jobs import JOBS

    guard = SchedulerGuard(engine)
    if not guard.acquire():
        echo(f"another scheduler is running ({guard.current_holder()}); not running the jobs")
        return 1
    try:
        _STATE.update(engine=engine, guard=guard, settings=settings)
        for name in JOBS:
            result = run_job(name, engine, now)
            echo(f"{name}: {result}")
    finally:
        guard.release()
        _STATE.clear()
    return 0
