"""Small hand-made problems: locations on a line, 60 s per unit of distance."""

from __future__ import annotations

import pytest

from dispatch.solver import Job, Problem, Vehicle

# Deterministic and fast: a handful of solutions is plenty for these sizes.
SOLUTION_LIMIT = 50
TIME_LIMIT = 1.0


def line_matrix(n: int, unit: int = 60) -> list[list[int]]:
    """Location i at position i on a line; travel |i - j| * unit seconds (metres x10)."""
    return [[abs(i - j) * unit for j in range(n)] for i in range(n)]


def make_problem(n_locations: int = 6, vehicles=None, jobs=None, **kw) -> Problem:
    m = line_matrix(n_locations)
    return Problem(
        vehicles=(vehicles if vehicles is not None
                  else [Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 36000))]),
        jobs=jobs if jobs is not None else [Job(id=i, location_index=i, service=300) for i in range(1, n_locations)],
        durations=m,
        distances=[[x * 10 for x in row] for row in m],
        **kw,
    )


@pytest.fixture
def quick():
    """solve() bound by solution count: reproducible and quick."""
    from dispatch.solver import solve

    def run(problem, **kw):
        kw.setdefault("solution_limit", SOLUTION_LIMIT)
        return solve(problem, kw.pop("time_limit_s", TIME_LIMIT), **kw)

    return run
