"""FixRoute's routing optimizer: pure data in, pure data out.

Public API::

    from dispatch.solver import solve, validate, Problem, Vehicle, Job, Depot, Break
    solution = solve(problem, time_limit_s=10, seed=None, workers=1)
    assert validate(problem, solution) == []

Determinism.  OR-Tools routing has no random seed: its search is deterministic
for a fixed configuration except where it stops.  So:

* ``solution_limit`` bounds the search by the number of solutions found: the
  answer is then reproducible bit for bit (the tests use this);
* with a time limit the stopping point depends on the machine's speed and load,
  so two runs may differ slightly;
* ``seed`` chooses the search configuration from ``PORTFOLIO`` (first-solution
  strategy x metaheuristic): ``None``/``0`` is the default (the best measured on
  the benchmarks), ``seed=k`` starts from entry ``k mod len``; the same seed
  always gives the same configuration.
* ``workers=n`` (n > 1) runs ``n`` consecutive portfolio entries in parallel in
  spawn-context processes and keeps the best objective (ties: lowest entry).
"""

from __future__ import annotations

import multiprocessing as mp
import queue as _queue
import time
from typing import Optional

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
from .validate import Violation, validate

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
    "configs_for",
    "solve",
    "validate",
]


def configs_for(seed: int | None, workers: int):
    """The search configurations a (seed, workers) pair runs, in order."""
    from .ortools_model import PORTFOLIO

    first = (seed or 0) % len(PORTFOLIO)
    return [PORTFOLIO[(first + i) % len(PORTFOLIO)] for i in range(max(1, workers))]


def _worker(problem, config, deadline, solution_limit, out) -> None:  # pragma: no cover - child
    from .ortools_model import solve_with_config

    def report(elapsed, best, found):
        try:
            out.put(("progress", config.name, best, found))
        except Exception:
            pass

    try:
        remaining = max(0.05, deadline - time.monotonic())
        sol = solve_with_config(problem, config, remaining, solution_limit, report)
        out.put(("result", config.name, sol, None))
    except Exception as exc:  # reported to the parent, never lost
        out.put(("result", config.name, None, repr(exc)))


def solve(
    problem: Problem,
    time_limit_s: float = 10.0,
    seed: int | None = None,
    workers: int = 1,
    solution_limit: int | None = None,
    progress=None,
) -> Solution:
    """Plan the routes of ``problem``; never raises for a feasible-or-not problem.

    ``progress(elapsed_s, best_objective, solutions_found)`` is called on each
    improving solution (in the parent process, also with several workers).
    Raises ``ProblemError`` for malformed input only.
    """
    check_problem(problem)
    from .ortools_model import solve_with_config

    configs = configs_for(seed, workers)
    t0 = time.monotonic()
    if len(configs) == 1:
        sol = solve_with_config(problem, configs[0], time_limit_s, solution_limit, progress)
        sol.stats.seed = seed
        return sol
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    # leave time to hand the answers back (pickling, queue, join): measured 0.4-1.3 s
    deadline = t0 + time_limit_s - min(1.0, 0.1 * time_limit_s)
    hard_stop = t0 + time_limit_s  # after this, keep what has arrived
    procs = [ctx.Process(target=_worker, args=(problem, c, deadline, solution_limit, out), daemon=True)
             for c in configs]
    for pr in procs:
        pr.start()
    results: dict[str, Solution] = {}
    errors: list[str] = []
    best_seen: int | None = None
    found = 0
    pending = len(procs)
    while pending:
        wait = hard_stop - time.monotonic() if results else time_limit_s + 60
        try:
            kind, name, payload, err = out.get(timeout=max(0.01, wait))
        except _queue.Empty:
            break
        if kind == "progress":
            found = max(found, 0) + 1
            if payload is not None and (best_seen is None or payload < best_seen):
                best_seen = payload
            if progress is not None:
                progress(time.monotonic() - t0, best_seen, found)
        else:
            pending -= 1
            if payload is None:
                errors.append(f"{name}: {err}")
            else:
                results[name] = payload
    for pr in procs:
        if pending and pr.is_alive():  # a late worker: its answer would come after the limit
            pr.terminate()
        pr.join(timeout=5)
    order = {c.name: i for i, c in enumerate(configs)}
    if not results:  # every worker failed: fall back to one in-process search
        sol = solve_with_config(problem, configs[0], max(0.5, time_limit_s / 4), solution_limit, progress)
    else:
        def key(item):
            name, s = item
            obj = s.stats.objective if s.stats.objective is not None else float("inf")
            return (s.code, obj, order[name])

        _, sol = min(results.items(), key=key)
    sol.stats.workers = len(configs)
    sol.stats.seed = seed
    sol.stats.wall_time_s = round(time.monotonic() - t0, 3)
    sol.stats.solutions_found = max(sol.stats.solutions_found, found)
    others = {n: s.stats.objective for n, s in results.items()}
    sol.stats.config = f"{sol.stats.config} (raced: {others})"
    return sol
