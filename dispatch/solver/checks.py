"""Input checks shared by the JSON reader and ``solve``.

Why a separate pass: the OR-Tools model would either crash or silently produce
nonsense on a negative service time or an out-of-range matrix index, so every
problem is checked first and the first fault is raised as a ``ProblemError``
naming the field.  Contradictions that are *not* errors (a skill nobody has, a
window nobody can reach) are answered later as unassigned jobs with a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

from .errors import ProblemError
from .model import Problem, Window

STEP_TYPES = {"start", "job", "break", "end"}


def _is_int(x: object) -> bool:
    return isinstance(x, Integral) and not isinstance(x, bool)


def _check_int(value: object, field: str, minimum: int | None = 0) -> None:
    if not _is_int(value):
        raise ProblemError(field, f"must be an integer, got {value!r}")
    if minimum is not None and value < minimum:  # type: ignore[operator]
        raise ProblemError(field, f"must be >= {minimum}, got {value}")


def _check_windows(windows: list[Window], field: str) -> None:
    prev_end = None
    for k, w in enumerate(windows):
        if not isinstance(w, (list, tuple)) or len(w) != 2:
            raise ProblemError(f"{field}[{k}]", "must be a pair [start, end]")
        _check_int(w[0], f"{field}[{k}][0]", None)
        _check_int(w[1], f"{field}[{k}][1]", None)
        if w[1] < w[0]:
            raise ProblemError(f"{field}[{k}]", f"window end {w[1]} is before its start {w[0]}")
        if prev_end is not None and w[0] <= prev_end:
            raise ProblemError(f"{field}[{k}]", "windows must be sorted and not overlap")
        prev_end = w[1]


def _check_skills(skills: Sequence[object], field: str) -> None:
    for k, s in enumerate(skills):
        if isinstance(s, bool) or not isinstance(s, (Integral, str)):
            raise ProblemError(f"{field}[{k}]", f"skill must be an integer or a name, got {s!r}")


def _check_matrix(m: list[list[int]], field: str, n: int) -> None:
    if len(m) != n:
        raise ProblemError(field, f"matrix has {len(m)} rows, expected {n}")
    for r, row in enumerate(m):
        if len(row) != n:
            raise ProblemError(f"{field}[{r}]", f"row has {len(row)} entries, expected {n}")


def check_problem(problem: Problem) -> None:
    """Raise ``ProblemError`` for the first malformed field of ``problem``."""
    n = len(problem.durations)
    if problem.distances is not None and len(problem.distances) != n:
        # blame the matrix that does not cover the locations in use
        used = [j.location_index for j in problem.jobs] + [d.location_index for d in problem.depots]
        used += [i for v in problem.vehicles for i in (v.start_index, v.end_index) if i is not None]
        need = max([i for i in used if isinstance(i, int)], default=-1) + 1
        if n < need <= len(problem.distances):
            raise ProblemError("matrices.durations", f"matrix is {n}x{n} but location index {need - 1} is used")
    if n == 0 and (problem.jobs or problem.vehicles):
        raise ProblemError("matrices.durations", "empty travel matrix")
    _check_matrix(problem.durations, "matrices.durations", n)
    try:
        flat_min = min((min(row) for row in problem.durations if row), default=0)
    except TypeError as exc:
        raise ProblemError("matrices.durations", "entries must be integers") from exc
    if flat_min < 0:
        raise ProblemError("matrices.durations", "travel times must be >= 0")
    if problem.distances is not None:
        _check_matrix(problem.distances, "matrices.distances", n)

    def loc(i: object, field: str) -> None:
        _check_int(i, field)
        if i >= n:  # type: ignore[operator]
            raise ProblemError(field, f"location index {i} out of range (matrix size {n})")

    if not problem.vehicles:
        raise ProblemError("vehicles", "at least one vehicle is required")
    job_ids: dict[int, int] = {}
    for j, job in enumerate(problem.jobs):
        f = f"jobs[{j}]"
        _check_int(job.id, f"{f}.id", None)
        if job.id in job_ids:
            raise ProblemError(f"{f}.id", f"duplicate job id {job.id}")
        job_ids[job.id] = j
        loc(job.location_index, f"{f}.location_index")
        _check_int(job.service, f"{f}.service")
        for k, a in enumerate(job.delivery):
            _check_int(a, f"{f}.delivery[{k}]")
        _check_skills(job.skills, f"{f}.skills")
        _check_int(job.priority, f"{f}.priority")
        if job.priority > 100:
            raise ProblemError(f"{f}.priority", "must be in [0, 100]")
        _check_windows(job.time_windows, f"{f}.time_windows")
        if job.due is not None:
            _check_int(job.due, f"{f}.due", None)
        if not isinstance(job.lateness_cost_per_minute, (int, float)) or job.lateness_cost_per_minute < 0:
            raise ProblemError(f"{f}.lateness_cost_per_minute", "must be a number >= 0")
    vehicle_ids: set[int] = set()
    pinned: set[int] = set()
    for v, veh in enumerate(problem.vehicles):
        f = f"vehicles[{v}]"
        _check_int(veh.id, f"{f}.id", None)
        if veh.id in vehicle_ids:
            raise ProblemError(f"{f}.id", f"duplicate vehicle id {veh.id}")
        vehicle_ids.add(veh.id)
        if veh.start_index is None and veh.end_index is None:
            raise ProblemError(f"{f}.start", "a vehicle needs a start or an end")
        if veh.start_index is not None:
            loc(veh.start_index, f"{f}.start_index")
        if veh.end_index is not None:
            loc(veh.end_index, f"{f}.end_index")
        if veh.time_window is not None:
            _check_windows([veh.time_window], f"{f}.time_window")
        for k, c in enumerate(veh.capacity):
            _check_int(c, f"{f}.capacity[{k}]")
        _check_skills(veh.skills, f"{f}.skills")
        if veh.max_tasks is not None:
            _check_int(veh.max_tasks, f"{f}.max_tasks")
        if veh.max_travel_time is not None:
            _check_int(veh.max_travel_time, f"{f}.max_travel_time")
        if veh.overtime_after is not None:
            _check_int(veh.overtime_after, f"{f}.overtime_after", None)
        for b, brk in enumerate(veh.breaks):
            _check_int(brk.service, f"{f}.breaks[{b}].service")
            if not brk.time_windows:
                raise ProblemError(f"{f}.breaks[{b}].time_windows", "a break needs a window")
            _check_windows(brk.time_windows, f"{f}.breaks[{b}].time_windows")
            if veh.time_window is not None:
                s, e = veh.time_window
                if not any(max(a, s) <= min(z, e - brk.service) for a, z in brk.time_windows):
                    raise ProblemError(f"{f}.breaks[{b}].time_windows", "no window fits inside the shift")
        for cost in (veh.costs.fixed, veh.costs.per_hour, veh.costs.per_km, veh.costs.overtime_per_hour):
            if not isinstance(cost, (int, float)) or cost < 0:
                raise ProblemError(f"{f}.costs", "costs must be numbers >= 0")
        for s, step in enumerate(veh.steps):
            if step.type not in STEP_TYPES:
                raise ProblemError(f"{f}.steps[{s}].type", f"unknown step type {step.type!r}")
            if step.type == "job":
                if step.id not in job_ids:
                    raise ProblemError(f"{f}.steps[{s}].id", f"unknown job id {step.id}")
                if step.id in pinned:
                    raise ProblemError(f"{f}.steps[{s}].id", f"job {step.id} is pinned twice")
                pinned.add(step.id)
            for name in ("service_at", "service_after", "service_before"):
                val = getattr(step, name)
                if val is not None:
                    _check_int(val, f"{f}.steps[{s}].{name}", None)
    for d, dep in enumerate(problem.depots):
        f = f"depots[{d}]"
        loc(dep.location_index, f"{f}.location_index")
        _check_int(dep.service, f"{f}.service")
        for k, a in enumerate(dep.stock):
            _check_int(a, f"{f}.stock[{k}]")
        _check_windows(dep.time_windows, f"{f}.time_windows")
