"""The validator catches each kind of hand-made violation (and accepts good plans)."""

from __future__ import annotations

import copy

import pytest

from dispatch.solver import Break, Depot, Job, Vehicle, VehicleStep, solve, validate

from .conftest import make_problem


@pytest.fixture(scope="module")
def planned():
    """A clean plan with skills, windows, parts, a break, a depot pickup and a pin."""
    vehicles = [
        Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 20000), capacity=[2, 0], skills=[1],
                breaks=[Break(id=1, time_windows=[(3000, 6000)], service=900)], max_tasks=10,
                max_travel_time=10000, steps=[VehicleStep("job", id=2)]),
    ]
    jobs = [Job(id=1, location_index=1, service=300, delivery=[1, 0], skills=[1], time_windows=[(0, 5000)]),
            Job(id=2, location_index=2, service=300),
            Job(id=3, location_index=3, service=300, delivery=[0, 1]),
            Job(id=4, location_index=4, service=300, skills=[1])]
    p = make_problem(vehicles=vehicles, jobs=jobs, depots=[Depot(id=8, location_index=5, stock=[0, 1], service=120)])
    sol = solve(p, 2.0, solution_limit=60)
    assert validate(p, sol) == [] and sol.summary.unassigned == 0
    return p, sol


def kinds(p, sol):
    return {v.kind for v in validate(p, sol)}


def steps_of(sol):
    return sol.routes[0].steps


def find(sol, typ, jid=None):
    return next(s for s in steps_of(sol) if s.type == typ and (jid is None or s.id == jid))


def test_clean_plan_has_no_violation(planned):
    p, sol = planned
    assert [s.type for s in steps_of(sol)].count("pickup") == 1
    assert validate(p, sol) == []


def test_time_window_violation(planned):
    p, sol = copy.deepcopy(planned)
    p.jobs[0].time_windows = [(0, 10)]
    assert "time_window" in kinds(p, sol)


def test_arrival_faster_than_travel(planned):
    p, sol = copy.deepcopy(planned)
    s = find(sol, "job", 4)
    s.arrival -= 500
    assert "travel_time" in kinds(p, sol)


def test_shift_end_violation(planned):
    p, sol = copy.deepcopy(planned)
    p.vehicles[0].time_window = (0, 1000)
    assert "shift" in kinds(p, sol)


def test_skill_violation(planned):
    p, sol = copy.deepcopy(planned)
    p.vehicles[0].skills = []
    assert "skill" in kinds(p, sol)


def test_capacity_violation(planned):
    p, sol = copy.deepcopy(planned)
    p.vehicles[0].capacity = [0, 0]
    assert "capacity" in kinds(p, sol)


def test_pickup_missing_or_depot_short(planned):
    p, sol = copy.deepcopy(planned)
    p.depots[0].stock = [0, 0]
    assert "pickup" in kinds(p, sol)
    p, sol = copy.deepcopy(planned)
    sol.routes[0].steps = [s for s in steps_of(sol) if s.type != "pickup"]
    assert "pickup" in kinds(p, sol)


def test_break_outside_window_or_missing(planned):
    p, sol = copy.deepcopy(planned)
    p.vehicles[0].breaks[0].time_windows = [(19000, 19500)]
    assert "break" in kinds(p, sol)
    p, sol = copy.deepcopy(planned)
    sol.routes[0].steps = [s for s in steps_of(sol) if s.type != "break"]
    assert "break" in kinds(p, sol)


def test_pinned_order_violation(planned):
    p, sol = copy.deepcopy(planned)
    p.vehicles[0].steps = [VehicleStep("job", id=4)]
    assert "pinned" in kinds(p, sol)


def test_max_tasks_and_travel(planned):
    p, sol = copy.deepcopy(planned)
    p.vehicles[0].max_tasks = 1
    p.vehicles[0].max_travel_time = 10
    assert {"max_tasks", "max_travel_time"} <= kinds(p, sol)


def test_job_twice_and_job_missing(planned):
    p, sol = copy.deepcopy(planned)
    dup = copy.deepcopy(find(sol, "job", 4))
    sol.routes[0].steps.insert(-1, dup)
    assert "duplicate_job" in kinds(p, sol)
    p, sol = copy.deepcopy(planned)
    p.jobs.append(Job(id=99, location_index=1))
    assert "unassigned" in kinds(p, sol)


def test_inconsistent_figures(planned):
    p, sol = copy.deepcopy(planned)
    sol.summary.duration += 1
    assert "figures" in kinds(p, sol)
    p, sol = copy.deepcopy(planned)
    sol.routes[0].distance += 10
    assert "figures" in kinds(p, sol)
