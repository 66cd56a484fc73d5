"""One behaviour per test: each hard or soft constraint of the model, checked on the
answer and confirmed by the independent validator."""

from __future__ import annotations

import pickle

from dispatch.solver import Break, Costs, Depot, Job, Vehicle, VehicleStep, solve, validate

from .conftest import make_problem


def route_of(solution, vehicle_id):
    return next((r for r in solution.routes if r.vehicle == vehicle_id), None)


def served(solution):
    return {s.id for r in solution.routes for s in r.steps if s.type == "job"}


def reasons(solution):
    return {u.id: u.code for u in solution.unassigned}


def test_job_goes_only_to_a_technician_with_all_its_skills(quick):
    p = make_problem(vehicles=[
        Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 36000), skills=[1]),
        Vehicle(id=2, start_index=5, end_index=5, time_window=(0, 36000), skills=[1, 2]),
    ], jobs=[Job(id=10, location_index=1, service=300, skills=[1, 2])])
    sol = quick(p)
    assert route_of(sol, 2).job_ids == [10]  # although vehicle 1 is much closer
    assert validate(p, sol) == []


def test_job_whose_skill_nobody_has_is_unassigned_no_skill(quick):
    p = make_problem(jobs=[Job(id=10, location_index=1, skills=["firmware"]), Job(id=11, location_index=2)])
    sol = quick(p)
    assert reasons(sol) == {10: "no_skill"}
    assert served(sol) == {11}
    assert "skill" in sol.unassigned[0].reason


def test_service_starts_inside_a_time_window(quick):
    p = make_problem(jobs=[Job(id=1, location_index=3, service=300, time_windows=[(1000, 1200)])])
    sol = quick(p)
    step = route_of(sol, 1).steps[1]
    assert 1000 <= step.service_start <= 1200
    assert step.arrival == 180 and step.waiting_time == step.service_start - 180
    assert validate(p, sol) == []


def test_lunch_closure_gap_between_two_windows_is_never_used(quick):
    # reachable at 180 s; open [0, 100] and [2000, 3000]: 180 falls in the closure
    p = make_problem(jobs=[Job(id=1, location_index=3, service=60, time_windows=[(0, 100), (2000, 3000)])])
    sol = quick(p)
    assert route_of(sol, 1).steps[1].service_start == 2000
    assert validate(p, sol) == []


def test_window_nobody_can_reach_is_unassigned_unreachable(quick):
    p = make_problem(jobs=[Job(id=1, location_index=5, time_windows=[(0, 100)]), Job(id=2, location_index=1)])
    sol = quick(p)
    assert reasons(sol) == {1: "unreachable_time_window"}


def test_lunch_break_is_taken_inside_its_window_and_not_during_a_visit(quick):
    veh = Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 36000),
                  breaks=[Break(id=7, time_windows=[(3600, 4000)], service=1800)])
    jobs = [Job(id=i, location_index=i, service=1500) for i in range(1, 6)]
    p = make_problem(vehicles=[veh], jobs=jobs)
    sol = quick(p)
    r = route_of(sol, 1)
    br = [s for s in r.steps if s.type == "break"]
    assert len(br) == 1 and 3600 <= br[0].service_start <= 4000
    for s in r.steps:
        if s.type == "job":  # no overlap with the break
            assert s.end <= br[0].service_start or s.service_start >= br[0].end
    assert validate(p, sol) == []


def test_part_goes_to_the_van_that_carries_it(quick):
    p = make_problem(vehicles=[
        Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 36000), capacity=[0]),
        Vehicle(id=2, start_index=5, end_index=5, time_window=(0, 36000), capacity=[1]),
    ], jobs=[Job(id=10, location_index=1, delivery=[1])])
    sol = quick(p)
    assert route_of(sol, 2).job_ids == [10]
    assert validate(p, sol) == []


def test_van_stock_limits_jobs_and_no_stock_anywhere_is_no_part(quick):
    p = make_problem(vehicles=[Vehicle(id=1, start_index=0, end_index=0, capacity=[1, 0])],
                     jobs=[Job(id=1, location_index=1, delivery=[1, 0]), Job(id=2, location_index=2, delivery=[1, 0]),
                           Job(id=3, location_index=3, delivery=[0, 1])])
    sol = quick(p)
    codes = reasons(sol)
    assert codes[3] == "no_part"
    assert len(served(sol) & {1, 2}) == 1 and "capacity_of_day" in codes.values()
    assert validate(p, sol) == []


def test_part_missing_from_every_van_is_collected_at_a_depot_first(quick):
    p = make_problem(vehicles=[Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 36000), capacity=[0])],
                     jobs=[Job(id=1, location_index=2, delivery=[1], service=600)],
                     depots=[Depot(id=9, location_index=4, stock=[3], service=300)])
    sol = quick(p)
    r = route_of(sol, 1)
    kinds = [s.type for s in r.steps]
    assert kinds == ["start", "pickup", "job", "end"]
    pick, job = r.steps[1], r.steps[2]
    assert pick.depot == 9 and pick.for_job == 1 and pick.parts == [1] and pick.location_index == 4
    assert job.depot == 9 and job.service_start >= pick.end
    assert validate(p, sol) == []


def test_pinned_visits_open_the_route_in_their_order(quick):
    veh = Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 36000),
                  steps=[VehicleStep("start"), VehicleStep("job", id=4), VehicleStep("job", id=1)])
    p = make_problem(vehicles=[veh])
    sol = quick(p)
    assert route_of(sol, 1).job_ids[:2] == [4, 1]  # the nearest-first order would be 1, 2, ...
    assert set(route_of(sol, 1).job_ids) == {1, 2, 3, 4, 5}
    assert validate(p, sol) == []


def test_overdue_repair_is_visited_first_to_limit_lateness(quick):
    jobs = [Job(id=1, location_index=1, service=3600),
            Job(id=5, location_index=5, service=600, due=600, lateness_cost_per_minute=100)]
    p = make_problem(jobs=jobs)
    sol = quick(p)
    r = route_of(sol, 1)
    assert r.job_ids[0] == 5
    assert r.steps[1].lateness == 0  # reached at 300 s, due 600 s
    assert sol.summary.lateness == 0


def test_lateness_is_reported_when_unavoidable(quick):
    p = make_problem(jobs=[Job(id=5, location_index=5, service=60, due=100, lateness_cost_per_minute=10)])
    sol = quick(p)
    assert route_of(sol, 1).steps[1].lateness == 200 and sol.summary.lateness == 200


def test_optional_preventive_visit_is_dropped_before_a_repair(quick):
    # the shift leaves time for one visit only
    veh = Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 1000))
    jobs = [Job(id=1, location_index=1, service=700, priority=100, optional=True),
            Job(id=2, location_index=2, service=700, priority=0)]
    p = make_problem(vehicles=[veh], jobs=jobs)
    sol = quick(p)
    assert served(sol) == {2}
    assert reasons(sol) == {1: "capacity_of_day"}


def test_optional_visit_fills_a_gap_when_there_is_time(quick):
    jobs = [Job(id=1, location_index=1, service=300, optional=True), Job(id=2, location_index=2, service=300)]
    sol = quick(make_problem(jobs=jobs))
    assert served(sol) == {1, 2}


def test_least_important_repair_is_dropped_when_the_day_is_full(quick):
    veh = Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 1000))
    jobs = [Job(id=1, location_index=1, service=700, priority=10),
            Job(id=2, location_index=2, service=700, priority=90),
            Job(id=3, location_index=1, service=700, priority=40)]
    sol = quick(make_problem(vehicles=[veh], jobs=jobs))
    assert served(sol) == {2}
    assert set(reasons(sol)) == {1, 3}


def test_max_tasks_and_max_travel_time_are_kept(quick):
    veh = Vehicle(id=1, start_index=0, end_index=0, max_tasks=2)
    sol = quick(make_problem(vehicles=[veh]))
    assert len(route_of(sol, 1).job_ids) == 2
    veh = Vehicle(id=1, start_index=0, end_index=0, max_travel_time=300)
    sol = quick(make_problem(vehicles=[veh]))
    assert route_of(sol, 1).duration <= 300 and served(sol) == {1, 2}


def test_overtime_cost_moves_work_to_the_technician_on_regular_time(quick):
    vehicles = [Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 36000), overtime_after=100,
                        costs=Costs(overtime_per_hour=360000)),
                Vehicle(id=2, start_index=0, end_index=0, time_window=(0, 36000))]
    p = make_problem(vehicles=vehicles, jobs=[Job(id=1, location_index=2, service=600)])
    sol = quick(p)
    assert route_of(sol, 2).job_ids == [1] and route_of(sol, 1) is None


def test_shift_and_start_end_places_are_respected(quick):
    veh = Vehicle(id=1, start_index=1, end_index=5, time_window=(1000, 5000))
    p = make_problem(vehicles=[veh], jobs=[Job(id=1, location_index=3, service=60)])
    sol = quick(p)
    r = route_of(sol, 1)
    assert r.steps[0].location_index == 1 and r.steps[-1].location_index == 5
    assert r.steps[0].service_start >= 1000 and r.steps[-1].arrival <= 5000
    assert r.duration == 240 and r.distance == 2400
    assert validate(p, sol) == []


def test_same_solution_limit_gives_the_same_answer_and_it_pickles(quick):
    p = make_problem(n_locations=12, vehicles=[Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 5000)),
                                               Vehicle(id=2, start_index=11, end_index=11, time_window=(0, 5000))])
    a, b = quick(p, solution_limit=30), quick(p, solution_limit=30)
    assert [r.job_ids for r in a.routes] == [r.job_ids for r in b.routes]
    assert pickle.loads(pickle.dumps(a)).summary == a.summary
    assert pickle.loads(pickle.dumps(p)) == p


def test_two_workers_race_and_return_a_valid_plan():
    p = make_problem(n_locations=10)
    sol = solve(p, 3.0, workers=2, solution_limit=40)
    assert sol.stats.workers == 2 and sol.summary.unassigned == 0
    assert validate(p, sol) == []
