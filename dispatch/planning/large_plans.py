"""Large plans: a day split into sub-problems, solved in parallel, merged back.

A multi-region day is already split by region: planning builds one `Problem` per
region (one travel matrix each, never one 5,000 x 5,000 matrix). A region that is
too big for one solve (more than `max_jobs` visits) is split by geography: its
technicians are grouped around far-apart start places and each visit goes to the
nearest group that can do it, within a share proportional to the group's size (the
solver's own `dispatch.solver.decompose.group_vehicles` / `assign_jobs`). Visits
pinned to a technician stay with that technician's group; depot stock is divided
between a region's groups (so the merged plan never takes more from a depot than it
holds).

Each part is a self-contained `Problem` with its own small matrix (cheap to pickle
to another machine). Parts are solved in parallel: as RQ jobs on the ``solves``
queue when a Redis URL is given (`fixroute worker` processes on any machine), else
in a spawn-context process pool of N processes. The parts' routes are mapped back to
the region's location indices and merged into one `Solution` per region, which
`dispatch.solver.validate` checks against the whole region's problem.

Everything here but `solve_parts` is a pure function over the solver's dataclasses.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context

from dispatch.solver import (
    REASONS,
    Depot,
    Job,
    Problem,
    Solution,
    SolverStats,
    Unassigned,
    Vehicle,
    make_solution,
    solve,
)

MAX_JOBS_PER_PART = 120
VEHICLES_PER_PART = 5  # as the solver's own decomposition: small parts find good routes fast
JOB_TIMEOUT_MARGIN_S = 120


class LargePlanError(Exception):
    """A part could not be solved (its worker failed or it timed out): never silent."""


@dataclass
class Part:
    """One sub-problem: `problem` uses its own location indices; `locations[i]` is the
    region problem's index of the part's location i."""

    region: str
    index: int
    problem: Problem
    locations: list[int]
    vehicles: list[int] = field(default_factory=list)  # indices in the region's problem
    initial: dict | None = None  # routes to start from (the repair round)

    @property
    def key(self) -> str:
        return f"{self.region}/{self.index}"


@dataclass
class DayResult:
    solutions: dict[str, Solution]
    parts: int
    wall_time_s: float
    part_times_s: list[float] = field(default_factory=list)

    @property
    def assigned(self) -> int:
        return sum(s.summary.assigned for s in self.solutions.values())

    @property
    def unassigned(self) -> int:
        return sum(len(s.unassigned) for s in self.solutions.values())


# --------------------------------------------------------------------------- split

def _used_locations(vehicles: Iterable[Vehicle], jobs: Iterable[Job], depots: Iterable[Depot]) -> list[int]:
    used: set[int] = set()
    for v in vehicles:
        used.update(i for i in (v.start_index, v.end_index) if i is not None)
    used.update(j.location_index for j in jobs)
    used.update(d.location_index for d in depots)
    return sorted(used)


def sub_problem(problem: Problem, vehicle_idx: list[int], job_idx: list[int],
                depot_stock: list[list[int]] | None = None) -> tuple[Problem, list[int]]:
    """The problem restricted to these vehicles and jobs (list indices), with a matrix
    over only the locations they use; returns it and the map back to `problem`'s indices."""
    vehicles = [problem.vehicles[v] for v in vehicle_idx]
    jobs = [problem.jobs[j] for j in sorted(job_idx)]
    depots = problem.depots
    locations = _used_locations(vehicles, jobs, depots)
    new = {old: i for i, old in enumerate(locations)}

    def cut(matrix):
        if matrix is None:
            return None
        return [[matrix[a][b] for b in locations] for a in locations]

    sub = Problem(
        vehicles=[replace(v, start_index=None if v.start_index is None else new[v.start_index],
                          end_index=None if v.end_index is None else new[v.end_index]) for v in vehicles],
        jobs=[replace(j, location_index=new[j.location_index]) for j in jobs],
        durations=cut(problem.durations),
        distances=cut(problem.distances),
        depots=[replace(d, location_index=new[d.location_index],
                        stock=list(depot_stock[k]) if depot_stock is not None else list(d.stock))
                for k, d in enumerate(depots)],
        part_kinds=list(problem.part_kinds),
    )
    return sub, locations


def _split_stock(stock: list[int], shares: list[int]) -> list[list[int]]:
    """Divide a depot's stock between groups in proportion to `shares` (largest
    remainder), so the parts together never hold more than the depot."""
    total = sum(shares) or 1
    out = [[0] * len(stock) for _ in shares]
    for k, qty in enumerate(stock):
        exact = [qty * s / total for s in shares]
        floor = [math.floor(x) for x in exact]
        left = qty - sum(floor)
        for g in sorted(range(len(shares)), key=lambda g: floor[g] - exact[g])[:left]:
            floor[g] += 1
        for g, q in enumerate(floor):
            out[g][k] = q
    return out


def split_region(problem: Problem, region: str = "region", *, max_jobs: int = MAX_JOBS_PER_PART) -> list[Part]:
    """One part if the region is small enough, else geographic parts of about
    `max_jobs` visits each with their share of the technicians."""
    n_jobs, n_veh = len(problem.jobs), len(problem.vehicles)
    n_groups = 1
    if n_jobs > max_jobs:
        n_groups = max(math.ceil(n_jobs / max_jobs), round(n_veh / VEHICLES_PER_PART))
    n_groups = min(n_groups, max(1, n_veh))
    if n_groups == 1:
        return [Part(region, 0, problem, list(range(problem.n_locations)))]
    from dispatch.solver.analysis import analyse
    from dispatch.solver.decompose import assign_jobs, group_vehicles

    an = analyse(problem)
    groups = group_vehicles(problem, n_groups)
    eligible = {j: set(an.van_vehicles.get(j, [])) | set(an.depot_vehicles.get(j, []))
                for j in range(n_jobs) if j not in an.reasons}
    owner = {s.id: v for v, veh in enumerate(problem.vehicles) for s in veh.steps if s.type == "job"}
    group_of_vehicle = {v: g for g, vs in enumerate(groups) for v in vs}
    index_of_id = {job.id: j for j, job in enumerate(problem.jobs)}
    free = [j for j in eligible if problem.jobs[j].id not in owner]
    job_groups = assign_jobs(problem, groups, free, eligible)
    placed = {j for js in job_groups for j in js}
    for job_id, v in owner.items():  # pinned visits stay with their technician
        job_groups[group_of_vehicle[v]].append(index_of_id[job_id])
        placed.add(index_of_id[job_id])
    # visits nobody can do go to the first part, whose solve reports why
    job_groups[0].extend(j for j in range(n_jobs) if j not in placed)
    stock_by_depot = [_split_stock(d.stock, [len(g) for g in groups]) for d in problem.depots]
    parts = []
    for g, (vs, js) in enumerate(zip(groups, job_groups, strict=False)):
        stock = [stock_by_depot[k][g] for k in range(len(problem.depots))]
        sub, locations = sub_problem(problem, vs, js, stock)
        parts.append(Part(region, g, sub, locations, list(vs)))
    return parts


def repair_parts(problem: Problem, parts: list[Part], solutions: list[Solution]) -> list[Part]:
    """Second round for a split region: visits left out of their part go to the nearest
    other parts that can do them; each part that gets some is re-solved starting from
    its first-round routes. Returns only the parts to re-solve."""
    if len(parts) < 2:
        return []
    from dispatch.solver.analysis import analyse
    from dispatch.solver.decompose import assign_jobs

    an = analyse(problem)
    index_of_id = {job.id: j for j, job in enumerate(problem.jobs)}
    served = [{s.id for r in sol.routes for s in r.steps if s.type == "job"} for sol in solutions]
    all_served = set().union(*served)
    eligible = {j: set(an.van_vehicles.get(j, [])) | set(an.depot_vehicles.get(j, []))
                for j in range(len(problem.jobs)) if j not in an.reasons}
    left = [j for j in eligible if problem.jobs[j].id not in all_served]
    if not left:
        return []
    groups = [p.vehicles for p in parts]
    extra = assign_jobs(problem, groups, left, eligible, slack=10.0)
    depot_stock = [[list(d.stock) for d in p.problem.depots] for p in parts]
    out = []
    for g, part in enumerate(parts):
        if not extra[g]:
            continue
        mine = [index_of_id[i] for i in served[g]]
        stock = [depot_stock[g][k] for k in range(len(problem.depots))]
        sub, locations = sub_problem(problem, part.vehicles, mine + extra[g], stock)
        initial = {r.vehicle: [(s.id, s.depot is not None, s.service_start) for s in r.steps if s.type == "job"]
                   for r in solutions[g].routes}
        out.append(Part(part.region, part.index, sub, locations, part.vehicles, initial))
    return out


def split_day(problems: dict[str, Problem], *, max_jobs: int = MAX_JOBS_PER_PART) -> list[Part]:
    """A multi-region day: by region, then by geography where a region is too big."""
    parts: list[Part] = []
    for region, problem in problems.items():
        parts.extend(split_region(problem, region, max_jobs=max_jobs))
    return parts


# --------------------------------------------------------------------------- merge

def _to_parent(solution: Solution, locations: list[int]) -> Solution:
    sol = copy.deepcopy(solution)
    for route in sol.routes:
        for step in route.steps:
            if step.location_index is not None:
                step.location_index = locations[step.location_index]
    for u in sol.unassigned:
        if u.location_index is not None:
            u.location_index = locations[u.location_index]
    return sol


def merge_region(problem: Problem, parts: list[Part], solutions: list[Solution]) -> Solution:
    """The parts' solutions as one solution of the region's `problem`."""

    routes, left = [], {}
    for part, sol in zip(parts, solutions, strict=False):
        mapped = _to_parent(sol, part.locations)
        routes.extend(mapped.routes)
        for u in mapped.unassigned:  # a repaired part may list a visit another part also left out
            left.setdefault(u.id, u)
    served = {s.id for r in routes for s in r.steps if s.type == "job"}
    # a visit left out of its first part but placed by a neighbour in the repair round
    unassigned = [u for u in left.values() if u.id not in served]
    seen = served | {u.id for u in unassigned}
    for job in problem.jobs:  # defensive: a visit in no part is reported, never dropped
        if job.id not in seen:
            unassigned.append(Unassigned(job.id, job.location_index, "capacity_of_day",
                                         REASONS["capacity_of_day"]))
    order = {v.id: i for i, v in enumerate(problem.vehicles)}
    routes.sort(key=lambda r: order[r.vehicle])
    unassigned.sort(key=lambda u: u.id)
    stats = SolverStats(
        status="split:" + ",".join(sorted({s.stats.status for s in solutions})),
        wall_time_s=max((s.stats.wall_time_s for s in solutions), default=0.0),
        solutions_found=sum(s.stats.solutions_found for s in solutions),
        config=f"{len(parts)} parts; " + ",".join(sorted({s.stats.config for s in solutions})),
        first_solution_strategy=solutions[0].stats.first_solution_strategy if solutions else "",
        metaheuristic=solutions[0].stats.metaheuristic if solutions else "",
    )
    merged = make_solution(problem, routes, unassigned, stats)
    merged.code = max((s.code for s in solutions), default=0)
    return merged


# --------------------------------------------------------------------------- solve

def solve_part(problem: Problem, time_limit_s: float, solution_limit: int | None = None,
               initial: dict | None = None) -> Solution:
    """Solve one part (in a pool process or as an RQ job on the solves queue);
    `initial` routes (repair round) are the starting point of the search."""
    if initial:
        from dispatch.solver.ortools_model import solve_with_config
        from dispatch.solver.search import PORTFOLIO

        return solve_with_config(problem, PORTFOLIO[0], time_limit_s, solution_limit, initial=initial)
    return solve(problem, time_limit_s=time_limit_s, solution_limit=solution_limit)


def solve_parts(parts: list[Part], *, time_limit_s: float, processes: int = 2, redis_url: str | None = None,
                queue_name: str | None = None, solution_limit: int | None = None,
                poll_s: float = 0.2) -> tuple[list[Solution], list[float]]:
    """Solve every part in parallel; returns the solutions in the parts' order and each
    part's solve time. RQ workers when `redis_url` is given, else a spawn pool of
    `processes`. Raises LargePlanError if any part fails or never finishes."""
    if redis_url:
        return _solve_on_rq(parts, time_limit_s, redis_url, queue_name, solution_limit, poll_s)
    with ProcessPoolExecutor(max_workers=max(1, processes), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(solve_part, p.problem, time_limit_s, solution_limit, p.initial)
                   for p in parts]
        try:
            solutions = [f.result() for f in futures]
        except Exception as exc:  # a pool process died or the solve raised
            raise LargePlanError(f"a part failed: {exc!r}") from exc
    return solutions, [s.stats.wall_time_s for s in solutions]


def _solve_on_rq(parts, time_limit_s, redis_url, queue_name, solution_limit, poll_s):
    from rq import Queue
    from rq.job import Job

    from dispatch.planning.queues import QUEUE_ALIASES, redis_connection

    conn = redis_connection(redis_url)
    queue = Queue(queue_name or QUEUE_ALIASES["solves"], connection=conn)
    jobs = [queue.enqueue(solve_part, p.problem, time_limit_s, solution_limit, p.initial,
                          job_timeout=int(time_limit_s) + JOB_TIMEOUT_MARGIN_S, result_ttl=600,
                          failure_ttl=86400, description=f"large plan part {p.key}")
            for p in parts]
    # every part queued at once: the slowest wait is (parts / workers) x time limit
    deadline = time.monotonic() + (time_limit_s + JOB_TIMEOUT_MARGIN_S) * max(1, len(parts))
    pending = {j.id for j in jobs}
    while pending:
        if time.monotonic() > deadline:
            raise LargePlanError(f"{len(pending)} parts did not finish in time (are workers running?)")
        for job_id in list(pending):
            status = Job.fetch(job_id, connection=conn).get_status()
            if status == "finished":
                pending.discard(job_id)
            elif status in ("failed", "stopped", "canceled"):
                key = parts[[j.id for j in jobs].index(job_id)].key
                raise LargePlanError(f"part {key} {status} (RQ job {job_id}; see `rq info`)")
        if pending:
            time.sleep(poll_s)
    solutions = [Job.fetch(j.id, connection=conn).return_value() for j in jobs]
    return solutions, [s.stats.wall_time_s for s in solutions]


def solve_day(problems: dict[str, Problem], *, time_limit_s: float, max_jobs: int = MAX_JOBS_PER_PART,
              processes: int = 2, redis_url: str | None = None, queue_name: str | None = None,
              solution_limit: int | None = None, repair_share: float = 0.4) -> DayResult:
    """Split, solve in parallel, repair, merge: one solution per region. Each part gets
    `time_limit_s` in all: (1 - repair_share) for the first round, the rest for the
    repair round of split regions (skipped when nothing was left out)."""
    t0 = time.monotonic()
    parts = split_day(problems, max_jobs=max_jobs)
    split = any(sum(1 for p in parts if p.region == r) > 1 for r in problems)
    first_limit = time_limit_s * (1 - repair_share) if split else time_limit_s
    kw = {"processes": processes, "redis_url": redis_url, "queue_name": queue_name,
          "solution_limit": solution_limit}
    solutions, times = solve_parts(parts, time_limit_s=first_limit, **kw)
    by_key = {p.key: i for i, p in enumerate(parts)}
    if split and repair_share > 0:
        again = []
        for region, problem in problems.items():
            mine = [i for i, p in enumerate(parts) if p.region == region]
            again += repair_parts(problem, [parts[i] for i in mine], [solutions[i] for i in mine])
        if again:
            better, more = solve_parts(again, time_limit_s=time_limit_s * repair_share, **kw)
            for part, sol in zip(again, better, strict=False):
                i = by_key[part.key]
                if sol.code == 0 and sol.summary.assigned >= solutions[i].summary.assigned:
                    parts[i], solutions[i] = part, sol
            times = times + more
    merged = {}
    for region, problem in problems.items():
        mine = [(p, s) for p, s in zip(parts, solutions, strict=False) if p.region == region]
        merged[region] = merge_region(problem, [p for p, _ in mine], [s for _, s in mine])
    return DayResult(merged, len(parts), round(time.monotonic() - t0, 3), times)
