"""FixRoute's objective: what a plan costs, the same for every engine and every path.

Units: ``COST_SCALE`` internal units per VROOM cost unit, so that a lateness cost per
minute becomes an integer coefficient per second in the OR-Tools model.
"""

from __future__ import annotations

from .model import Job, Problem, Solution

COST_SCALE = 60
#: VROOM cost units (default: seconds of travel) lost when a required job is dropped,
#: multiplied by (1 + priority); must exceed any detour one visit can cause
REQUIRED_DROP_BASE = 100_000
#: the same for optional (preventive) jobs: worth up to about an hour of detour
OPTIONAL_DROP_BASE = 3_600
OPTIONAL_DROP_PER_PRIORITY = 36


def required_base(problem: Problem) -> int:
    """The drop cost of a priority-0 required job: more than any detour one visit can cause."""
    max_arc = max((max(r) for r in problem.durations if r), default=0)
    return max(REQUIRED_DROP_BASE, 4 * int(max_arc))


def drop_penalty(job: Job, req_base: int) -> int:
    """What leaving ``job`` out costs, in VROOM cost units (the builders use the same prizes).

    Required repairs cost ``req_base`` (above any detour) times (1 + priority), so a
    higher-priority job is never dropped to save driving; optional (preventive) visits
    are worth up to about an hour of detour.
    """
    if job.optional:
        return OPTIONAL_DROP_BASE + OPTIONAL_DROP_PER_PRIORITY * job.priority
    return req_base * (1 + job.priority)


def plan_cost(problem: Problem, solution: Solution) -> float:
    """FixRoute's objective of any plan, in VROOM cost units, from the plan itself.

    Travel and fixed costs, lateness after soft due times, overtime, and the drop penalty
    of every job left out.  Why not ``stats.objective``: a decomposed day has none, and
    races must compare answers from different paths on the same scale.
    """
    req_base = required_base(problem)
    jobs = {j.id: j for j in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    total = 0.0
    for r in solution.routes:
        veh = vehicles[r.vehicle]
        total += veh.costs.fixed + veh.costs.per_hour * r.duration / 3600.0 + veh.costs.per_km * r.distance / 1000.0
        total += veh.costs.overtime_per_hour * r.overtime / 3600.0
        for st in r.steps:
            if st.type != "job" or st.id is None:
                continue
            job = jobs[st.id]
            if st.lateness:
                total += job.lateness_cost_per_minute * st.lateness / 60.0
            total += commitment_cost(job, r.vehicle, st.service_start)
    total += sum(drop_penalty(jobs[u.id], req_base) for u in solution.unassigned if u.id in jobs)
    return total


def commitment_cost(job: Job, vehicle_id: int, service_start: int) -> float:
    """What serving ``job`` on ``vehicle_id`` starting at ``service_start`` costs against
    what its merchant was told (preferred vehicle and window), in VROOM cost units."""
    cost = 0.0
    if job.preferred_vehicle is not None and vehicle_id != job.preferred_vehicle:
        cost += job.vehicle_change_cost
    if job.preferred_window is not None:
        lo, hi = job.preferred_window
        outside = max(0, lo - service_start) + max(0, service_start - hi)
        cost += job.window_change_cost_per_minute * outside / 60.0
    return cost
