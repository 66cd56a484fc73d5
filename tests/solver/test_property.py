"""Random problems: whatever the solver answers, the validator finds nothing wrong."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.solver import Break, Depot, Job, Problem, Vehicle, VehicleStep, solve, validate


@st.composite
def problems(draw):
    n_loc = draw(st.integers(3, 9))
    pts = draw(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=n_loc, max_size=n_loc))
    dur = [[int(10 * (abs(a[0] - b[0]) + abs(a[1] - b[1]))) for b in pts] for a in pts]
    K = draw(st.integers(0, 2))
    n_veh = draw(st.integers(1, 3))
    vehicles = []
    for v in range(n_veh):
        s = draw(st.integers(0, 200))
        e = s + draw(st.integers(300, 3000))
        breaks = []
        if draw(st.booleans()):
            bs = draw(st.integers(s, e - 100))
            breaks = [Break(id=1, time_windows=[(bs, min(e - 60, bs + draw(st.integers(0, 400))))], service=60)]
        vehicles.append(Vehicle(
            id=v + 1, start_index=draw(st.integers(0, n_loc - 1)),
            end_index=draw(st.one_of(st.none(), st.integers(0, n_loc - 1))),
            time_window=(s, e), capacity=[draw(st.integers(0, 3)) for _ in range(K)],
            skills=draw(st.lists(st.integers(1, 3), max_size=3, unique=True)), breaks=breaks,
            max_tasks=draw(st.one_of(st.none(), st.integers(1, 5)))))
    jobs = []
    for j in range(draw(st.integers(1, 10))):
        tws = []
        if draw(st.booleans()):
            a = draw(st.integers(0, 2000))
            tws = [(a, a + draw(st.integers(0, 800)))]
            if draw(st.booleans()):
                b = tws[0][1] + draw(st.integers(1, 500))
                tws.append((b, b + draw(st.integers(0, 800))))
        due = draw(st.one_of(st.none(), st.integers(0, 2500)))
        jobs.append(Job(
            id=100 + j, location_index=draw(st.integers(0, n_loc - 1)), service=draw(st.integers(0, 200)),
            delivery=[draw(st.integers(0, 2)) for _ in range(K)],
            skills=draw(st.lists(st.integers(1, 3), max_size=2, unique=True)),
            priority=draw(st.integers(0, 100)), time_windows=tws, due=due,
            lateness_cost_per_minute=draw(st.sampled_from([0, 1, 10])) if due is not None else 0,
            optional=draw(st.booleans())))
    depots = []
    if K and draw(st.booleans()):
        depots = [Depot(id=1, location_index=draw(st.integers(0, n_loc - 1)),
                        stock=[draw(st.integers(0, 3)) for _ in range(K)],
                        service=draw(st.integers(0, 120)))]
    if draw(st.booleans()):  # pin a first visit that the vehicle can surely make
        veh, job = vehicles[0], jobs[0]
        job.skills, job.time_windows, job.delivery = [], [], [0] * K
        veh.steps = [VehicleStep("job", id=job.id)]
        veh.time_window = (veh.time_window[0], veh.time_window[1] + 3000)
    return Problem(vehicles=vehicles, jobs=jobs, durations=dur, distances=[[x * 7 for x in r] for r in dur],
                   depots=depots)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_solver_answers_pass_the_validator(problem):
    sol = solve(problem, 0.5, solution_limit=30)
    assert validate(problem, sol) == [], sol
    assert {s.id for r in sol.routes for s in r.steps if s.type == "job"} | {u.id for u in sol.unassigned} == {
        j.id for j in problem.jobs}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.sampled_from(["pyvrp", "vroom"]))
def test_builder_answers_pass_the_validator(problem, builder):
    """The same random problems through each route builder and the OR-Tools finish."""
    sol = solve(problem, 2.0, solution_limit=30, builder=builder)
    assert validate(problem, sol) == [], sol
    assert {s.id for r in sol.routes for s in r.steps if s.type == "job"} | {u.id for u in sol.unassigned} == {
        j.id for j in problem.jobs}
