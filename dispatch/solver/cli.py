"""``fixroute solve``: answer a VROOM-format problem file with a VROOM-shaped plan.

    fixroute solve problem.json --time-limit 10 [--seed N] [--workers N] [--output FILE]
    cat problem.json | python -m dispatch.solver - --time-limit 5

The solution JSON goes to standard output (or ``--output``); progress lines go
to standard error at most every 2 seconds, so long solves show they are alive
without polluting the JSON.  Bad input exits with code 2, prints
``error: <field>: <reason>`` on standard error and a JSON error object on
standard output, so scripts can tell input faults from crashes.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO

import click

from .errors import ProblemError

PROGRESS_EVERY_S = 2.0


@click.command("solve")
@click.argument("problem_file", type=click.File("r"), metavar="PROBLEM.json|-")
@click.option("--time-limit", type=click.FloatRange(min=0.05), default=10.0, show_default=True,
              help="Seconds of search (wall time of the whole solve).")
@click.option("--seed", type=int, default=None,
              help="PyVRP's random seed; OR-Tools alone: chooses the search configuration.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Parallel searches with different configurations; the best wins.")
@click.option("--solution-limit", type=click.IntRange(min=1), default=None,
              help="Stop after this many solutions (reproducible runs).")
@click.option("--builder", type=click.Choice(["auto", "pyvrp", "vroom", "ortools"]), default=None,
              help="Route builder before OR-Tools' finish (default auto; FIXROUTE_SOLVER_BUILDER).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the solution here instead of standard output.")
@click.option("--osrm-url", envvar="FIXROUTE_OSRM_URL", default=None,
              help="OSRM server for matrices when the problem gives coordinates only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def solve_command(problem_file: IO[str], time_limit: float, seed: int | None, workers: int,
                  solution_limit: int | None, builder: str | None, output: str | None,
                  osrm_url: str | None, quiet: bool) -> None:
    """Solve a VROOM-format routing problem (FixRoute extensions allowed)."""
    from . import solve
    from .matrix import provider
    from .vroom_json import problem_from_json, solution_to_json

    def fail(err: ProblemError) -> None:
        click.echo(f"error: {err.field}: {err.reason}", err=True)
        click.echo(json.dumps(err.to_json()))
        sys.exit(2)

    try:
        data = json.load(problem_file)
    except json.JSONDecodeError as exc:
        fail(ProblemError("$", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"))
        return
    try:
        problem = problem_from_json(data, provider(osrm_url))
    except ProblemError as err:
        fail(err)
        return

    last = [0.0]
    t0 = time.monotonic()

    def progress(elapsed: float, best: int | None, found: int) -> None:
        now = time.monotonic()
        if quiet or now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        click.echo(f"progress: {now - t0:6.1f}s best objective {best} solutions {found}", err=True)

    try:
        solution = solve(problem, time_limit, seed=seed, workers=workers,
                         solution_limit=solution_limit, progress=progress, builder=builder)
    except ProblemError as err:
        fail(err)
        return
    text = json.dumps(solution_to_json(solution, problem))
    if output:
        with open(output, "w") as fh:
            fh.write(text + "\n")
    else:
        click.echo(text)
    if not quiet:
        s = solution.summary
        click.echo(f"done: {solution.stats.wall_time_s:.1f}s {s.assigned} assigned, {s.unassigned} unassigned, "
                   f"cost {s.cost}, status {solution.stats.status}", err=True)
