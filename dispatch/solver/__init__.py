"""FixRoute's routing optimizer: pure data in, pure data out.

Public API::

    from dispatch.solver import solve, validate, Problem, Vehicle, Job, Depot, Break
    solution = solve(problem, time_limit_s=10, seed=None, workers=1)
    assert validate(problem, solution) == []

How a solve runs (``hybrid.py``): a route builder (PyVRP or VROOM, ``builders.py``)
proposes routes, FixRoute's OR-Tools model (``ortools_model.py``, every constraint)
takes them as its initial assignment, repairs what it refuses and improves them for the
rest of the limit.  Every answer is an assignment of the OR-Tools model.

``builder`` chooses the proposer: ``"auto"`` (default; the ``FIXROUTE_SOLVER_BUILDER``
environment variable overrides it), ``"pyvrp"``, ``"vroom"`` or ``"ortools"`` (OR-Tools
alone, as before the builders; also the fallback when a builder fails).  With one worker,
``"auto"`` picks by the day's shape (PyVRP when every job is required and alike, VROOM
for over-full days with priorities and breaks); with ``workers >= 2`` PyVRP and VROOM race,
each followed by the finish, further workers run OR-Tools portfolio entries, and the best
by FixRoute's objective wins.

Determinism.

* ``solution_limit`` bounds the search by work instead of time: PyVRP by iterations,
  VROOM without its timeout, OR-Tools by the number of solutions found: the answer is
  then reproducible (the tests use this): bit for bit with PyVRP and OR-Tools alone; with
  VROOM the objective repeats, but VROOM now and then returns another route of equal
  cost on identical input;
* with a time limit the stopping point depends on the machine's speed and load,
  so two runs may differ slightly;
* ``seed`` is PyVRP's random seed; on the OR-Tools-only path (which has no seed) it
  chooses the search configuration from ``PORTFOLIO`` (entry ``seed mod len``).
* ``workers=n`` (n > 1) runs the first plan in this process and the others in parallel
  spawn-context processes, and keeps
  the lowest FixRoute objective (``objective.plan_cost``, computed from each plan the
  same way, whichever path made it; ties: the first plan).

Routes in an order given from outside (the board's hand edits) are timed and costed by
the solver's own schedule: ``route_in_order`` (``ordered.py``) on ``build_route``,
``finish_route`` and ``make_solution`` (``schedule.py``); ``plan_cost`` prices any plan.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import queue as _queue
import time
from typing import TYPE_CHECKING, Literal

from .checks import check_problem
from .errors import ProblemError
from .model import (
    REASONS,
    Break,
    Costs,
    Depot,
    Job,
    Problem,
    Route,
    Solution,
    SolverStats,
    Step,
    Summary,
    Unassigned,
    Vehicle,
    VehicleStep,
)
from .objective import plan_cost
from .ordered import route_in_order
from .schedule import build_route, finish_route, make_solution
from .validate import Violation, validate

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

    from .search import ProgressFn, SearchConfig

#: what one worker runs: (builder, OR-Tools configuration)
Plan = tuple[str, "SearchConfig"]
#: what a worker tells the parent: ("progress", plan, best objective, solutions found)
#: or ("result", plan, its solution or None, the error or None)
_Message = (tuple[Literal["progress"], str, int | None, int]
            | tuple[Literal["result"], str, Solution | None, str | None])

__all__ = [
    "REASONS",
    "Break",
    "Costs",
    "Depot",
    "Job",
    "Problem",
    "ProblemError",
    "Route",
    "Solution",
    "SolverStats",
    "Step",
    "Summary",
    "Unassigned",
    "Vehicle",
    "VehicleStep",
    "Violation",
    "build_route",
    "configs_for",
    "finish_route",
    "make_solution",
    "plan_cost",
    "plans_for",
    "route_in_order",
    "solve",
    "validate",
]


def configs_for(seed: int | None, workers: int) -> list[SearchConfig]:
    """The search configurations a (seed, workers) pair runs, in order."""
    from .search import PORTFOLIO

    first = (seed or 0) % len(PORTFOLIO)
    return [PORTFOLIO[(first + i) % len(PORTFOLIO)] for i in range(max(1, workers))]


def plans_for(problem: Problem, seed: int | None, workers: int, builder: str | None = None) -> list[Plan]:
    """What each worker runs: [(builder, OR-Tools configuration)], in order of preference."""
    import os

    from .hybrid import FINISH_CONFIG, race_for

    name = builder or os.environ.get("FIXROUTE_SOLVER_BUILDER") or "auto"
    workers = max(1, workers)
    if name not in ("auto", "ortools", "pyvrp", "vroom"):
        raise ProblemError("builder", f"unknown builder {name!r} (auto, pyvrp, vroom, ortools)")
    if name == "ortools":
        return [("ortools", c) for c in configs_for(seed, workers)]
    lead = race_for(problem)[:workers] if name == "auto" else [name]
    ortools = iter(configs_for(seed, workers + 1))
    plans: list[Plan] = [(b, next(ortools) if b == "ortools" else FINISH_CONFIG) for b in lead]
    plans += [("ortools", next(ortools)) for _ in range(workers - len(plans))]
    return plans


def _run_plan(problem: Problem, plan: Plan, time_limit_s: float, seed: int | None, solution_limit: int | None,
              progress: ProgressFn | None) -> Solution:
    from .hybrid import solve_built
    from .ortools_model import solve_with_config

    builder, config = plan
    if builder == "ortools":
        return solve_with_config(problem, config, time_limit_s, solution_limit, progress)
    return solve_built(problem, builder, time_limit_s, seed, solution_limit, progress, config)


def _worker(problem: Problem, plan: Plan, deadline: float, seed: int | None, solution_limit: int | None,
            out: Queue[_Message]) -> None:  # pragma: no cover - child
    name = f"{plan[0]}:{plan[1].name}"

    def report(elapsed: float, best: int | None, found: int) -> None:
        with contextlib.suppress(Exception):  # progress is best effort, the answer is not
            out.put(("progress", name, best, found))

    try:
        remaining = max(0.05, deadline - time.monotonic())
        sol = _run_plan(problem, plan, remaining, seed, solution_limit, report)
        out.put(("result", name, sol, None))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, never lost
        out.put(("result", name, None, repr(exc)))


def solve(
    problem: Problem,
    time_limit_s: float = 10.0,
    seed: int | None = None,
    workers: int = 1,
    solution_limit: int | None = None,
    progress: ProgressFn | None = None,
    builder: str | None = None,
) -> Solution:
    """Plan the routes of ``problem``; never raises for a feasible-or-not problem.

    ``progress(elapsed_s, best_objective, solutions_found)`` is called on each
    improving solution of the finish (in the parent process, also with several
    workers).  ``builder``: see the module docstring.  Raises ``ProblemError`` for
    malformed input only.
    """
    t0 = time.monotonic()
    check_problem(problem)
    # choosing the plans imports the builders (1-2 s on a loaded machine): part of the limit
    plans = plans_for(problem, seed, workers, builder)
    if len(plans) == 1:
        remaining = max(0.05, time_limit_s - (time.monotonic() - t0))
        sol = _run_plan(problem, plans[0], remaining, seed, solution_limit, progress)
        sol.stats.seed = seed
        return sol
    ctx = mp.get_context("spawn")
    out: Queue[_Message] = ctx.Queue()
    # leave time to hand the answers back (pickling, queue, join): measured 0.4-1.3 s
    deadline = t0 + time_limit_s - min(1.0, 0.1 * time_limit_s)
    hard_stop = t0 + time_limit_s  # after this, keep what has arrived
    # the first plan runs here, the others in spawned processes.  Why: a spawned worker
    # imports the solver, OR-Tools and the builders again (several seconds on a loaded
    # machine); with every plan spawned, a 10 s race once answered with 24 PyVRP
    # iterations and VROOM's answer after the limit.  The parent has them imported.
    procs = [ctx.Process(target=_worker, args=(problem, pl, deadline, seed, solution_limit, out), daemon=True)
             for pl in plans[1:]]
    for pr in procs:
        pr.start()
    results: dict[str, Solution] = {}
    errors: list[str] = []
    first = f"{plans[0][0]}:{plans[0][1].name}"
    try:
        results[first] = _run_plan(problem, plans[0], max(0.05, deadline - time.monotonic()), seed,
                                   solution_limit, progress)
    except Exception as exc:  # noqa: BLE001 - the other workers may still answer
        errors.append(f"{first}: {exc!r}")
    best_seen: int | None = None
    found = 0
    pending = len(procs)
    give_up = t0 + time_limit_s + 60
    while pending:
        wait = (hard_stop if results else give_up) - time.monotonic()
        if wait <= 0:
            break
        try:
            msg = out.get(timeout=min(0.5, max(0.01, wait)))
        except _queue.Empty:
            if not any(pr.is_alive() for pr in procs) and out.empty():
                break  # every worker died without a word (e.g. killed): stop waiting
            continue
        if msg[0] == "progress":
            best = msg[2]
            found = max(found, 0) + 1
            if best is not None and (best_seen is None or best < best_seen):
                best_seen = best
            if progress is not None:
                progress(time.monotonic() - t0, best_seen, found)
        else:
            _, name, payload, err = msg
            pending -= 1
            if payload is None:
                errors.append(f"{name}: {err}")
            else:
                results[name] = payload
    for pr in procs:
        if pending and pr.is_alive():  # a late worker: its answer would come after the limit
            pr.terminate()
        pr.join(timeout=5)
    order = {f"{pl[0]}:{pl[1].name}": i for i, pl in enumerate(plans)}
    if not results:  # every worker failed: fall back to one in-process search
        from .ortools_model import solve_with_config

        sol = solve_with_config(problem, plans[0][1], max(0.5, time_limit_s / 4), solution_limit, progress)
    else:
        from .objective import plan_cost

        costs = {name: plan_cost(problem, s) for name, s in results.items()}

        def key(item: tuple[str, Solution]) -> tuple[int, float, int]:
            name, s = item
            return (s.code, costs[name], order[name])

        _, sol = min(results.items(), key=key)
    sol.stats.workers = len(plans)
    sol.stats.seed = seed
    sol.stats.wall_time_s = round(time.monotonic() - t0, 3)
    sol.stats.solutions_found = max(sol.stats.solutions_found, found)
    others = {n: round(costs[n]) for n in results} if results else {}
    sol.stats.config = f"{sol.stats.config} (raced: {others})"
    late = [n for n in order if n not in results and not any(e.startswith(n) for e in errors)]
    if errors or late:
        sol.stats.detail = f"{sol.stats.detail}; failed: {errors}; no answer in time: {late}"
    return sol
