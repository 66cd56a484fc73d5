"""Running a plan's solve outside the web request.

A solve holds the GIL for its whole length, so on one machine it runs in a
spawn-context process (never a thread of the web server); when ``REDIS_URL`` is
set it is an RQ job instead, picked up by ``rq worker fixroute-plans`` on any
machine (the function it runs, `run_plan_job`, needs only the database URL).

The job writes its progress into ``Plan.progress`` and its state into
``Plan.job_status`` (queued, running, done, failed, cancelled).  Every write
checks that the plan still carries this job's ``job_id`` and is not cancelled,
so a cancelled or superseded job can never overwrite a newer one's result;
cancelling also terminates the process (or stops the RQ job).
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import time
import uuid
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from core.audit import record_audit
from core.db import end_transaction, is_sqlite, make_engine, session_scope, unit_of_work
from core.db import model_modules as registered_model_modules
from core.errors import Conflict, InvalidInput, NotFound
from core.timeutil import utcnow
from dispatch.models import Plan
from dispatch.planning import problem, retiming, writeback
from dispatch.planning.service import plan_status_word

log = logging.getLogger("fixroute.plan_jobs")

RQ_QUEUE = "fixroute-plans"
PROGRESS_EVERY_S = 0.5
MAX_TIME_LIMIT_S = 300.0

# job id -> process, for jobs started by this web process (to terminate on cancel)
_PROCESSES: dict[str, mp.process.BaseProcess] = {}


def _locked(session: Session, plan_id: int) -> Plan | None:
    """The plan, read under the lock of the caller's unit of work (a row lock on
    PostgreSQL)."""
    stmt = select(Plan).where(Plan.id == plan_id)
    if not is_sqlite(session):
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()

# OR-Tools takes an int64 here; 2**70 was accepted and the job failed in the worker.
# A million improving solutions is far past any time limit the API allows.
MAX_SOLUTION_LIMIT = 1_000_000


def start_plan_job(session: Session, plan_id: int, *, version: int | None, database_url: str,
                   redis_url: str | None = None, time_limit_s: float = 10.0,
                   solution_limit: int | None = None, osrm_url: str | None = None,
                   actor=None, now: datetime | None = None, keep_announced: bool = True) -> Plan:
    """Queue a solve of a draft plan and start it (a process here, or an RQ job).
    ``keep_announced=False`` lets the solve move visits of a published day off what their
    merchants were told (dispatch/replan.py reads it from the plan's progress)."""
    if not 0.1 <= float(time_limit_s) <= MAX_TIME_LIMIT_S:
        # formatted beside the call: babel's extractor warns on an f-string inside _l(...)
        most = format(MAX_TIME_LIMIT_S, "g")  # "300", not "300.0"
        raise InvalidInput(_l("must be between 0.1 and %(max)s seconds", max=most),
                           field="time_limit_s")
    if solution_limit is not None and not 1 <= int(solution_limit) <= MAX_SOLUTION_LIMIT:
        raise InvalidInput(_l("must be between 1 and %(max)s", max=MAX_SOLUTION_LIMIT),
                           field="solution_limit")
    with unit_of_work(session):
        plan = _locked(session, plan_id)
        if plan is None:
            raise NotFound(_l("no such plan"), field="plan_id")
        if plan.status != "draft":
            raise Conflict(_l("the plan is %(status)s; only a draft is optimised",
                              status=plan_status_word(plan.status)), field="plan")
        if plan.job_status in ("queued", "running"):
            raise Conflict(_l("the optimizer is already working on this plan"), field="plan")
        if version is not None and int(version) != plan.version:
            raise Conflict(_l("the plan changed meanwhile (version %(now)s, you had %(had)s)",
                              now=plan.version, had=version), code="stale_version", field="version")
        job_id = uuid.uuid4().hex
        plan.job_id = job_id
        plan.job_status = "queued"
        plan.progress = {"phase": "queued", "time_limit_s": float(time_limit_s), "elapsed_s": 0.0,
                         "solutions": 0, "queued_at": utcnow().isoformat(),
                         "keep_announced": bool(keep_announced)}
        session.add(plan)
        record_audit(session, "plan", plan.id, "solve_started", getattr(actor, "id", None),
                     job_id=job_id, time_limit_s=float(time_limit_s), solution_limit=solution_limit)
    args = (database_url, plan_id, job_id, float(time_limit_s), solution_limit, osrm_url,
            now.isoformat() if now else None)
    if redis_url:
        from redis import Redis
        from rq import Queue

        Queue(RQ_QUEUE, connection=Redis.from_url(redis_url)).enqueue(
            run_plan_job, *args, job_id=job_id, job_timeout=int(time_limit_s) + 300,
            model_modules=registered_model_modules())
    else:
        # a spawned process starts empty: it is told which modules define the tables
        proc = mp.get_context("spawn").Process(target=run_plan_job, args=args, daemon=True,
                                               kwargs={"model_modules": registered_model_modules()},
                                               name=f"plan-{plan_id}")
        proc.start()
        _PROCESSES[job_id] = proc
    return plan


def cancel_plan_job(session: Session, plan_id: int, *, redis_url: str | None = None, actor=None) -> Plan:
    """Stop the plan's running solve; its result, if it still comes, is discarded."""
    with unit_of_work(session):
        plan = _locked(session, plan_id)
        if plan is None:
            raise NotFound(_l("no such plan"), field="plan_id")
        if plan.job_status not in ("queued", "running"):
            raise Conflict(_l("no solve is running for this plan"), field="plan")
        job_id = plan.job_id
        plan.job_status = "cancelled"
        plan.progress = dict(plan.progress or {}, phase="cancelled")
        session.add(plan)
        record_audit(session, "plan", plan.id, "solve_cancelled", getattr(actor, "id", None), job_id=job_id)
    proc = _PROCESSES.pop(job_id, None)
    if proc is not None and proc.is_alive():
        proc.terminate()
        proc.join(timeout=5)
    elif redis_url:
        try:
            from redis import Redis
            from rq.command import send_stop_job_command
            from rq.job import Job

            conn = Redis.from_url(redis_url)
            job = Job.fetch(job_id, connection=conn)
            if job.get_status() == "started":
                send_stop_job_command(conn, job_id)
            else:
                job.cancel()
        except Exception:  # the job already ended: the status check discards its result
            log.info("could not stop RQ job %s", job_id, exc_info=True)
    return plan


def wait_for_job(session: Session, plan_id: int, timeout_s: float = 60.0) -> Plan:
    """Poll until the plan's job has ended (tests, CLI)."""
    deadline = time.monotonic() + timeout_s
    while True:
        end_transaction(session, reread=True)  # SQLite WAL readers keep their snapshot
        plan = session.get(Plan, plan_id)
        if plan.job_status not in ("queued", "running") or time.monotonic() > deadline:
            return plan
        time.sleep(0.1)


def _write_if_current(engine, plan_id: int, job_id: str, update) -> bool:
    """Apply ``update(session, plan)`` as a unit of work in a session of its own, only if
    the plan still runs this job."""
    with session_scope(engine) as session, unit_of_work(session) as unit:
        plan = _locked(session, plan_id)
        if plan is None or plan.job_id != job_id or plan.job_status not in ("queued", "running"):
            unit.discard()
            return False
        update(session, plan)
        session.add(plan)
        return True


def run_plan_job(database_url: str, plan_id: int, job_id: str, time_limit_s: float = 10.0,
                 solution_limit: int | None = None, osrm_url: str | None = None,
                 now_iso: str | None = None, model_modules: tuple[str, ...] | None = None) -> str:
    """Build the plan's problem, solve it and write the routes back (in a worker
    process or an RQ worker). Returns the final job status."""
    from core.db import import_all_models
    from dispatch.solver import solve

    import_all_models(model_modules)  # None: the ones this process registered (create_app)
    engine = make_engine(database_url)
    now = datetime.fromisoformat(now_iso) if now_iso else None
    try:
        with session_scope(engine) as session:  # reads only
            plan = session.get(Plan, plan_id)
            if plan is None or plan.job_id != job_id or plan.job_status != "queued":
                return "stale"
            inp = problem.build_input(session, plan.region_id, plan.day, plan=plan, now=now,
                                       osrm_url=osrm_url)
        n_jobs, n_veh = len(inp.problem.jobs), len(inp.problem.vehicles)

        def running(session, plan):
            plan.job_status = "running"
            plan.progress = dict(plan.progress or {}, phase="solving", jobs=n_jobs, technicians=n_veh,
                                 started_at=utcnow().isoformat())

        if not _write_if_current(engine, plan_id, job_id, running):
            return "stale"
        last = [0.0]

        def progress(elapsed: float, best, found: int) -> None:
            if time.monotonic() - last[0] < PROGRESS_EVERY_S:
                return
            last[0] = time.monotonic()

            def upd(session, plan):
                plan.progress = dict(plan.progress or {}, elapsed_s=round(elapsed, 2), solutions=found,
                                     best_objective=best)

            _write_if_current(engine, plan_id, job_id, upd)

        if n_veh == 0:
            sol = None
        else:
            sol = solve(inp.problem, time_limit_s=time_limit_s, solution_limit=solution_limit,
                        progress=progress)

        def finish(session, plan):
            fresh = problem.build_input(session, plan.region_id, plan.day, plan=plan, now=now,
                                         osrm_url=osrm_url) if sol is None else inp
            if sol is None:
                empty = retiming.schedule_routes(fresh, {})
                writeback.apply_solution(session, plan, fresh, empty,
                                        reasons={j.id: "no_technicians" for j in fresh.problem.jobs})
            else:
                writeback.apply_solution(session, plan, inp, sol)
                writeback.apply_solver_stats(plan, sol)
            plan.job_status = "done"
            plan.version += 1
            plan.progress = dict(plan.progress or {}, phase="done",
                                 elapsed_s=sol.stats.wall_time_s if sol else 0.0,
                                 solutions=sol.stats.solutions_found if sol else 0)

        ok = _write_if_current(engine, plan_id, job_id, finish)
        return "done" if ok else "stale"
    except Exception as exc:  # recorded on the plan, never lost (ProblemError included)
        log.exception("plan job %s failed", job_id)
        error = str(exc)[:300]

        def failed(session, plan):
            plan.job_status = "failed"
            plan.progress = dict(plan.progress or {}, phase="failed", error=error)

        try:
            _write_if_current(engine, plan_id, job_id, failed)
        except Exception:  # pragma: no cover - the database itself is gone
            log.exception("could not record the failure of plan job %s", job_id)
        return "failed"
    finally:
        engine.dispose()
