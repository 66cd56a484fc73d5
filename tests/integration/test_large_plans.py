"""Large plans: the split covers every visit exactly once, keeps pins with their
technician and never hands out more depot stock than there is; the merged plan is
valid for the whole region; parts solve in a process pool and on RQ workers."""
from __future__ import annotations

from dataclasses import replace

import pytest

from benchmarks.field_days import generate_day, with_matrix
from dispatch.planning.large_plans import (
    _split_stock,
    merge_region,
    solve_day,
    solve_part,
    split_day,
    split_region,
    sub_problem,
)
from dispatch.solver import VehicleStep, validate
from dispatch.solver.vroom_json import problem_from_json
from tests.integration.conftest import run_worker_burst


def _day(jobs: int, techs: int, seed: int = 3):
    return problem_from_json(with_matrix(generate_day(jobs, techs, seed)))


def test_sub_problem_reindexes_its_matrix_and_maps_back():
    p = _day(30, 4)
    sub, locations = sub_problem(p, [1, 2], [0, 5, 7])
    assert [v.id for v in sub.vehicles] == [p.vehicles[1].id, p.vehicles[2].id]
    assert len(sub.durations) == len(locations) < p.n_locations
    for job in sub.jobs:
        orig = next(j for j in p.jobs if j.id == job.id)
        assert locations[job.location_index] == orig.location_index
    a, b = sub.jobs[0].location_index, sub.vehicles[0].start_index
    assert sub.durations[a][b] == p.durations[locations[a]][locations[b]]


@pytest.mark.parametrize("stock,shares", [([5, 0, 7], [3, 3, 2]), ([1, 2], [1, 1, 1]), ([10], [4])])
def test_depot_stock_split_never_exceeds_the_depot(stock, shares):
    parts = _split_stock(stock, shares)
    assert [sum(p[k] for p in parts) for k in range(len(stock))] == stock
    assert all(q >= 0 for p in parts for q in p)


def test_region_split_covers_each_visit_once_and_keeps_pins():
    p = _day(90, 12)
    pinned_job = p.jobs[17].id
    p.vehicles[4] = replace(p.vehicles[4], steps=[VehicleStep("job", pinned_job)])
    parts = split_region(p, "R", max_jobs=30)
    assert len(parts) >= 3
    ids = [j.id for part in parts for j in part.problem.jobs]
    assert sorted(ids) == sorted(j.id for j in p.jobs)
    vehicles = [v.id for part in parts for v in part.problem.vehicles]
    assert sorted(vehicles) == sorted(v.id for v in p.vehicles)
    owner = next(part for part in parts if any(v.id == p.vehicles[4].id for v in part.problem.vehicles))
    assert pinned_job in {j.id for j in owner.problem.jobs}
    for k, depot in enumerate(p.depots):
        assert sum(part.problem.depots[k].stock[i] for part in parts
                   for i in range(len(depot.stock))) == sum(depot.stock)


def test_small_region_is_one_part_and_regions_never_mix():
    a, b = _day(20, 3, 1), _day(25, 3, 2)
    parts = split_day({"A": a, "B": b}, max_jobs=50)
    assert [(p.region, len(p.problem.jobs)) for p in parts] == [("A", 20), ("B", 25)]


def test_merged_parts_are_a_valid_plan_of_the_whole_region():
    p = _day(60, 8)
    parts = split_region(p, "R", max_jobs=20)
    solutions = [solve_part(part.problem, 5, solution_limit=20) for part in parts]
    merged = merge_region(p, parts, solutions)
    assert validate(p, merged) == []
    served = [s.id for r in merged.routes for s in r.steps if s.type == "job"]
    assert len(served) == len(set(served)) == merged.summary.assigned
    assert sorted(served + [u.id for u in merged.unassigned]) == sorted(j.id for j in p.jobs)


def test_day_solved_in_a_process_pool_with_a_repair_round():
    p = _day(45, 6)
    result = solve_day({"R": p}, time_limit_s=3, max_jobs=15, processes=2, solution_limit=15)
    sol = result.solutions["R"]
    assert result.parts >= 3 and validate(p, sol) == []
    assert sol.summary.assigned > 0 and sol.stats.status.startswith("split:")


def test_parts_solved_on_rq_workers(redis_url, rq_queue):
    import threading

    a, b = _day(20, 3, 1), _day(24, 3, 2)
    box = {}

    def plan():
        box["result"] = solve_day({"A": a, "B": b}, time_limit_s=5, max_jobs=100, redis_url=redis_url,
                                  queue_name=rq_queue, solution_limit=15)

    t = threading.Thread(target=plan)
    t.start()
    done = run_worker_burst(rq_queue, redis_url)  # may start before the jobs exist: run until joined
    while t.is_alive():
        t.join(timeout=1)
        if t.is_alive():
            done = run_worker_burst(rq_queue, redis_url)
    assert done.returncode == 0, done.stderr[-2000:]
    result = box["result"]
    assert set(result.solutions) == {"A", "B"}
    assert validate(a, result.solutions["A"]) == [] and validate(b, result.solutions["B"]) == []
