"""One solve: a route builder proposes, FixRoute's OR-Tools model finishes.

Stages, inside one time limit:

1. build FixRoute's full OR-Tools model (``RoutingModel``) and its analysis
   (eligibility, a-priori reasons);
2. the builder (PyVRP or VROOM, ``builders.py``) searches for ``BUILD_SHARE`` of the
   limit on the problem as it can state it;
3. its routes become the full model's initial assignment (``read_routes``: a route the
   model refuses is repaired by dropping the visits that break it), and the rest of the
   limit goes to OR-Tools' guided local search from there, on FixRoute's full objective
   (due times, overtime, breaks, depot pickups, pins).  The finish keeps its best, never
   worse than its start.

Why GLS and not iterated local search for the finish: in OR-Tools 9.15 ILS runs only
through ``RoutingModel.SolveWithIteratedLocalSearch``, which takes no initial solution,
so it cannot finish a builder's routes.

If the builder is missing or fails, the same model answers alone (OR-Tools' first
solution heuristics and GLS): that is also the ``builder="ortools"`` setting.
"""

from __future__ import annotations

import time

from . import decompose
from .analysis import analyse
from .model import Problem, Solution
from .ortools_model import RoutingModel, solve_with_config
from .search import PORTFOLIO, ProgressFn, SearchConfig

#: share of the time limit the builder gets (the finish gets the rest); measured in
#: docs/benchmarks.md ("Solver: route builders and the OR-Tools finish")
BUILD_SHARE = {"pyvrp": 0.85, "vroom": 0.7}
#: the same on days finished by groups (more than ``decompose.FINISH_GROUPS_JOBS`` jobs)
BUILD_SHARE_LARGE = {"pyvrp": 0.85, "vroom": 0.85}
#: with ``solution_limit`` (reproducible runs) the builders are bounded by work, not time
BUILD_ITERATIONS = {"pyvrp": 2000, "vroom": 1}
#: the OR-Tools configuration that finishes a builder's routes
FINISH_CONFIG = PORTFOLIO[0]
#: what runs for each day shape (``builders.day_shape``), best first: one worker runs the
#: first, two workers race the first two (measured, docs/benchmarks.md)
RACE_FOR_SHAPE = {
    "required": ["pyvrp", "vroom"],
    "overfull": ["vroom", "pyvrp"],
    "extended": ["vroom", "ortools"],
    "extended-large": ["ortools", "vroom"],
    "committed": ["ortools", "vroom"],
}


def race_for(problem: Problem) -> list[str]:
    """The plans' builders for this problem, best first, skipping what is not installed."""
    from .builders import available, day_shape

    shape = day_shape(problem)
    if shape == "extended" and len(problem.jobs) > decompose.FINISH_GROUPS_JOBS:
        # measured on the 1,000/60 day: VROOM + finish placed 557 of 707 required
        # visits, OR-Tools by groups 649 (VROOM cannot see that a visit may be late)
        shape = "extended-large"
    names = [b for b in RACE_FOR_SHAPE[shape] if b == "ortools" or available(b)]
    if not names:
        names = ["ortools"]
    if "ortools" not in names and len(names) < 2:
        names.append("ortools")
    return names


def choose_builder(problem: Problem) -> str:
    """What one worker runs for this problem's shape (see ``RACE_FOR_SHAPE``)."""
    return race_for(problem)[0]


def solve_built(
    problem: Problem,
    builder: str,
    time_limit_s: float,
    seed: int | None = None,
    solution_limit: int | None = None,
    progress: ProgressFn | None = None,
    config: SearchConfig | None = None,
) -> Solution:
    """Builder + finish on one core; OR-Tools alone if ``builder == "ortools"`` or it fails."""
    t0 = time.monotonic()
    config = config or FINISH_CONFIG
    if builder == "ortools":
        return solve_with_config(problem, config, time_limit_s, solution_limit, progress)
    from .builders import build

    if solution_limit is None and len(problem.jobs) > decompose.FINISH_GROUPS_JOBS:
        return _solve_built_large(problem, builder, time_limit_s, seed, progress, config)
    try:
        model = RoutingModel(problem)
        budget = BUILD_SHARE.get(builder, 0.5) * time_limit_s - (time.monotonic() - t0)
        iterations = BUILD_ITERATIONS.get(builder) if solution_limit else None
        built = build(builder, problem, model.an, max(0.05, budget), seed, iterations)
    except Exception as exc:  # noqa: BLE001 - a builder must never cost the answer
        return _ortools_alone(problem, config, t0, time_limit_s, solution_limit, progress,
                              f"{builder} failed ({exc!r:.200})")
    remaining = max(0.05, time_limit_s - (time.monotonic() - t0))
    assignment, stats = model.solve(config, remaining, solution_limit, progress, initial=built.routes)
    if assignment is None:  # nothing readable and no first solution (e.g. pins): the full path
        return _ortools_alone(problem, config, t0, time_limit_s, solution_limit, progress,
                              f"{builder}'s routes unreadable ({built.detail})")
    sol = model.extract(assignment, stats)
    start = model.start_objective
    sol.stats.config = f"{builder}+{config.name}"
    sol.stats.builder = builder
    sol.stats.detail = (f"{built.detail}; built in {built.wall_s:.2f}s; start objective {start}, "
                        f"{model.repair_dropped} visits dropped by the repair, {model.reinserted} jobs inserted")
    sol.stats.wall_time_s = round(time.monotonic() - t0, 3)
    return sol


def _ortools_alone(problem: Problem, config: SearchConfig, t0: float, time_limit_s: float,
                   solution_limit: int | None, progress: ProgressFn | None, why: str) -> Solution:
    """The fallback when a builder gives nothing usable: the full model answers alone."""
    remaining = max(0.05, time_limit_s - (time.monotonic() - t0))
    sol = solve_with_config(problem, config, remaining, solution_limit, progress)
    sol.stats.detail = f"{why}: OR-Tools alone"
    sol.stats.wall_time_s = round(time.monotonic() - t0, 3)
    return sol


def _solve_built_large(problem: Problem, builder: str, time_limit_s: float, seed: int | None,
                       progress: ProgressFn | None, config: SearchConfig) -> Solution:
    """A large day: the builder routes the whole day, the finish goes group by group.

    Why: one OR-Tools model of 1,000 visits took 5 s to build and 14-33 s to restore a
    builder's routes (docs/benchmarks.md); by groups of technicians the finish costs a
    few seconds, so the builder gets most of the limit (``BUILD_SHARE_LARGE``).
    """
    from .builders import build
    from .decompose import finish_by_groups

    t0 = time.monotonic()
    try:
        an = analyse(problem)
        budget = BUILD_SHARE_LARGE.get(builder, 0.5) * time_limit_s - (time.monotonic() - t0)
        built = build(builder, problem, an, max(0.05, budget), seed, None)
    except Exception as exc:  # noqa: BLE001 - a builder must never cost the answer
        return _ortools_alone(problem, config, t0, time_limit_s, None, progress, f"{builder} failed ({exc!r:.200})")
    remaining = max(0.05, time_limit_s - (time.monotonic() - t0))
    sol = finish_by_groups(problem, built.routes, config, remaining, progress)
    sol.stats.config = f"{builder}+{sol.stats.config}"
    sol.stats.builder = builder
    sol.stats.detail = f"{built.detail}; built in {built.wall_s:.2f}s; finished by groups"
    sol.stats.wall_time_s = round(time.monotonic() - t0, 3)
    return sol
