"""Route builders (PyVRP, VROOM) propose, FixRoute's OR-Tools model finishes.

Every path is covered: each builder followed by the finish, the repair of routes the
full model refuses, OR-Tools alone as a setting and as the fallback when a builder
fails or is missing, two workers racing, and reproducibility with work limits.
"""

from __future__ import annotations

import pytest
from ortools.constraint_solver import pywrapcp

from dispatch.solver import (
    Break,
    Depot,
    Job,
    Vehicle,
    VehicleStep,
    builders,
    hybrid,
    plans_for,
    solve,
    validate,
)
from dispatch.solver.ortools_model import RoutingModel
from dispatch.solver.search import PORTFOLIO

from .conftest import make_problem

LIMIT = 30  # solutions of the finish: reproducible and quick
HOUR = 3600


def sla_day(pinned: bool = True):
    """Two technicians with the same skills; visits due within the hour after the first.

    Technician 1 is already busy (a pinned visit at the far end); alone he would be late
    for most of them.  Technician 2 is idle.  A dispatcher expects technician 2 to go.
    """
    due = 2400
    jobs = [Job(id=10 + i, location_index=i, service=1800, skills=["hardware"], due=due,
                lateness_cost_per_minute=20, priority=60) for i in range(1, 5)]
    jobs.append(Job(id=99, location_index=9, service=1800, skills=["hardware"]))
    steps = [VehicleStep("job", id=99)] if pinned else []
    vehicles = [Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 8 * HOUR), skills=["hardware"],
                        steps=steps),
                Vehicle(id=2, start_index=0, end_index=0, time_window=(0, 8 * HOUR), skills=["hardware"])]
    return make_problem(n_locations=10, vehicles=vehicles, jobs=jobs)


@pytest.mark.parametrize("builder", ["auto", "pyvrp", "vroom", "ortools"])
def test_idle_technician_takes_the_visits_late_for_their_sla(builder):
    p = sla_day()
    sol = solve(p, 5.0, solution_limit=LIMIT, builder=builder)
    assert validate(p, sol) == []
    by_vehicle = {r.vehicle: r.job_ids for r in sol.routes}
    assert by_vehicle.get(1, [])[:1] == [99]  # the pin holds
    assert len(by_vehicle.get(2, [])) >= 2, by_vehicle  # the idle technician works
    assert sol.summary.unassigned == 0
    one_tech_lateness = 3 * 1800  # what technician 1 alone would owe at least
    assert sol.summary.lateness < one_tech_lateness


@pytest.mark.parametrize("builder", ["pyvrp", "vroom"])
def test_builder_routes_are_finished_by_the_full_model(builder):
    """A day with breaks, parts, a depot and two windows: builder + finish, validator clean."""
    vehicles = [Vehicle(id=v, start_index=0, end_index=0, time_window=(0, 8 * HOUR), capacity=[1, 0],
                        skills=[1] if v == 1 else [1, 2],
                        breaks=[Break(id=1, time_windows=[(2 * HOUR, 4 * HOUR)], service=1800)])
                for v in (1, 2)]
    jobs = [Job(id=100 + i, location_index=i, service=1200, skills=[2] if i % 4 == 0 else [1],
                delivery=[0, 1] if i == 3 else [0, 0], priority=10 * (i % 3),
                time_windows=[(0, 3 * HOUR), (5 * HOUR, 8 * HOUR)] if i % 2 else [])
            for i in range(1, 10)]
    p = make_problem(n_locations=12, vehicles=vehicles, jobs=jobs,
                     depots=[Depot(id=1, location_index=11, stock=[0, 2])])
    sol = solve(p, 5.0, solution_limit=LIMIT, builder=builder)
    assert validate(p, sol) == []
    assert sol.stats.builder == builder and sol.stats.config.startswith(builder + "+")
    assert sol.summary.unassigned == 0
    assert any(s.type == "pickup" for r in sol.routes for s in r.steps)  # job 103's part


def test_routes_the_model_refuses_are_repaired_not_thrown_away():
    """A proposed route that breaks a time window keeps its good visits; the bad one is reinserted."""
    p = make_problem(n_locations=6, vehicles=[Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 36000)),
                                              Vehicle(id=2, start_index=5, end_index=5, time_window=(0, 36000))])
    p.jobs[4].time_windows = [(0, 100)]  # job 5 at location 5: only vehicle 2 reaches it in time
    model = RoutingModel(p)
    proposal = {1: [(1, False, 0), (2, False, 0), (5, False, 0), (3, False, 0)], 2: [(4, False, 0)]}
    assignment, stats = model.solve(PORTFOLIO[0], 5.0, solution_limit=LIMIT, initial=proposal)
    assert model.repair_dropped == 1  # only job 5 was taken out
    assert model.start_objective is not None and assignment.ObjectiveValue() <= model.start_objective
    sol = model.extract(assignment, stats)
    assert validate(p, sol) == [] and sol.summary.unassigned == 0
    assert 5 in next(r.job_ids for r in sol.routes if r.vehicle == 2)


def test_what_the_repair_drops_is_reinserted_before_the_search():
    """The simulation puts a dropped visit (and one the builder left out) back where it fits.

    Why it matters: guided local search did not bring dropped required visits back in
    the seconds left on field days; the start it gets must already hold them."""
    p = make_problem(n_locations=6, vehicles=[Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 36000)),
                                              Vehicle(id=2, start_index=5, end_index=5, time_window=(0, 36000))])
    p.jobs[4].time_windows = [(0, 100)]  # job 5 at location 5: only vehicle 2 reaches it in time
    model = RoutingModel(p)
    # job 5 on the wrong van, job 3 left out by the "builder"
    proposal = {1: [(1, False, 0), (2, False, 0), (5, False, 0)], 2: [(4, False, 0)]}
    model.routing.CloseModelWithParameters(pywrapcp.DefaultRoutingSearchParameters())
    start = model.read_routes(proposal)
    assert model.repair_dropped == 1 and model.reinserted == 2
    assert start is not None
    active = {job.id for j, job in enumerate(p.jobs)
              if any(start.Value(model.routing.ActiveVar(i)) for i in model.node_indices(j))}
    assert active == {1, 2, 3, 4, 5}
    vehicle_of_5 = next(start.Value(model.routing.VehicleVar(i)) for i in model.node_indices(4)
                        if start.Value(model.routing.ActiveVar(i)))
    assert vehicle_of_5 == 1  # the second vehicle (list index 1), the only one in time


def test_a_required_visit_takes_the_place_of_an_optional_one_on_a_full_day():
    """The builder filled the shift with a preventive visit and left the repair out."""
    p = make_problem(n_locations=4, vehicles=[Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 4000))],
                     jobs=[Job(id=1, location_index=1, service=1800, optional=True, priority=50),
                           Job(id=2, location_index=2, service=1800, priority=10),
                           Job(id=3, location_index=3, service=1800, optional=True)])
    model = RoutingModel(p)
    model.routing.CloseModelWithParameters(pywrapcp.DefaultRoutingSearchParameters())
    start = model.read_routes({1: [(1, False, 0), (3, False, 0)]})
    assert start is not None
    active = {job.id for j, job in enumerate(p.jobs)
              if any(start.Value(model.routing.ActiveVar(i)) for i in model.node_indices(j))}
    assert active == {1, 2}  # the repair is in; the preventive visit worth least made room
    assert model.reinserted == 1


def test_a_depots_last_part_is_booked_once_across_routes():
    """Two routes collecting the depot's one card reader: the second visit is dropped, not
    the tails of whole routes (the model refuses them only together, never alone)."""
    vehicles = [Vehicle(id=v, start_index=0, end_index=0, time_window=(0, 8 * HOUR), capacity=[0])
                for v in (1, 2)]
    jobs = [Job(id=101, location_index=1, service=600, delivery=[1]),
            Job(id=102, location_index=2, service=600, delivery=[1])]
    jobs += [Job(id=200 + i, location_index=i, service=600) for i in range(3, 7)]
    p = make_problem(n_locations=8, vehicles=vehicles, jobs=jobs,
                     depots=[Depot(id=1, location_index=7, stock=[1])])
    model = RoutingModel(p)
    proposal = {1: [(101, True, 0), (203, False, 0), (204, False, 0)],
                2: [(102, True, 0), (205, False, 0), (206, False, 0)]}
    assignment, stats = model.solve(PORTFOLIO[0], 5.0, solution_limit=LIMIT, initial=proposal)
    assert model.repair_dropped == 1 and model.reinserted == 0  # 102 has no part left anywhere
    sol = model.extract(assignment, stats)
    assert validate(p, sol) == []
    assert [u.id for u in sol.unassigned] == [102]
    assert sorted(j for r in sol.routes for j in r.job_ids) == [101, 203, 204, 205, 206]


def test_large_days_are_built_whole_and_finished_by_groups(monkeypatch):
    """Above ``FINISH_GROUPS_JOBS`` jobs the builder routes the whole day and the finish runs by
    groups of technicians (one model of 1,000 visits took 14-33 s to restore)."""
    from dispatch.solver import decompose

    monkeypatch.setattr(decompose, "FINISH_GROUPS_JOBS", 6)
    monkeypatch.setattr(decompose, "GROUP_VEHICLES", 2)
    vehicles = [Vehicle(id=v, start_index=0 if v < 3 else 11, end_index=0 if v < 3 else 11,
                        time_window=(0, 8 * HOUR), capacity=[1],
                        breaks=[Break(id=1, time_windows=[(2 * HOUR, 4 * HOUR)], service=1800)])
                for v in range(1, 5)]
    jobs = [Job(id=100 + i, location_index=i, service=1200, delivery=[1] if i in (2, 9) else [0],
                due=3 * HOUR, lateness_cost_per_minute=5, priority=10 * (i % 3)) for i in range(1, 11)]
    p = make_problem(n_locations=12, vehicles=vehicles, jobs=jobs,
                     depots=[Depot(id=1, location_index=6, stock=[1])])
    sol = solve(p, 3.0, builder="vroom")
    assert sol.stats.status == "finished_by_groups" and sol.stats.config.startswith("vroom+")
    assert "2 groups" in sol.stats.config
    assert validate(p, sol) == []
    assert sol.summary.unassigned == 0


def test_finish_never_returns_worse_than_its_start():
    p = sla_day(pinned=False)
    an_model = RoutingModel(p)
    built = builders.build("vroom", p, an_model.an, 2.0, iterations=1)
    assignment, _ = an_model.solve(PORTFOLIO[0], 2.0, solution_limit=1, initial=built.routes)
    assert assignment.ObjectiveValue() <= an_model.start_objective


def test_a_failing_builder_falls_back_to_ortools_alone(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(builders, "build", broken)
    p = sla_day()
    sol = solve(p, 3.0, solution_limit=LIMIT, builder="pyvrp")
    assert "failed" in sol.stats.detail and "boom" in sol.stats.detail
    assert validate(p, sol) == [] and sol.summary.unassigned == 0


def test_missing_builders_leave_ortools_alone(monkeypatch):
    monkeypatch.setattr(builders, "available", lambda name: False)
    p = sla_day()
    assert [b for b, _ in plans_for(p, None, 1)] == ["ortools"]
    sol = solve(p, 3.0, solution_limit=LIMIT)
    assert sol.stats.builder == "" and validate(p, sol) == []


def test_ortools_alone_is_a_setting(monkeypatch):
    p = sla_day()
    monkeypatch.setenv("FIXROUTE_SOLVER_BUILDER", "ortools")
    assert [b for b, _ in plans_for(p, 2, 2)] == ["ortools", "ortools"]
    monkeypatch.delenv("FIXROUTE_SOLVER_BUILDER")
    assert plans_for(p, None, 1, "ortools")[0][0] == "ortools"


def test_one_worker_chooses_the_builder_by_the_shape_of_the_day():
    solomon_like = make_problem()
    assert builders.day_shape(solomon_like) == "required"
    assert plans_for(solomon_like, None, 1)[0][0] == hybrid.RACE_FOR_SHAPE["required"][0] == "pyvrp"
    vroom_day = make_problem(jobs=[Job(id=i, location_index=i, service=300, priority=10 * i) for i in range(1, 6)])
    assert builders.day_shape(vroom_day) == "overfull"
    assert plans_for(vroom_day, None, 1)[0][0] == "vroom"
    assert [b for b, _ in plans_for(vroom_day, None, 3)] == ["vroom", "pyvrp", "ortools"]
    field_day = sla_day()  # soft due times: FixRoute's own extension
    assert builders.day_shape(field_day) == "extended"
    assert [b for b, _ in plans_for(field_day, None, 1)] == ["vroom"]
    assert [b for b, _ in plans_for(field_day, None, 2)] == ["vroom", "ortools"]
    published = sla_day()
    published.jobs[0].preferred_vehicle = published.vehicles[0].id  # re-planning a published day
    assert builders.day_shape(published) == "committed"
    assert [b for b, _ in plans_for(published, None, 2)] == ["ortools", "vroom"]


def test_large_days_with_extensions_start_with_ortools(monkeypatch):
    """Measured on the 1,000/60 field day: VROOM + finish placed 557 of 707 required
    visits, OR-Tools by groups 649, so large days with due times start with OR-Tools."""
    from dispatch.solver import decompose

    field_day = sla_day()
    assert hybrid.race_for(field_day)[0] == "vroom"
    monkeypatch.setattr(decompose, "FINISH_GROUPS_JOBS", len(field_day.jobs) - 1)
    assert hybrid.race_for(field_day) == ["ortools", "vroom"]
    plain = make_problem(jobs=[Job(id=i, location_index=i, service=300, priority=10 * i) for i in range(1, 6)])
    assert hybrid.race_for(plain)[0] == "vroom"  # plain over-full days keep VROOM at any size


def test_vroom_explores_by_the_shape_of_the_day():
    """Level 0 on plain over-full days, 5 where FixRoute's extensions are approximated."""
    plain = make_problem(jobs=[Job(id=i, location_index=i, service=300, priority=10 * i) for i in range(1, 6)])
    built = builders.build("vroom", plain, RoutingModel(plain).an, 2.0, iterations=1)
    assert built.detail.startswith("vroom x0,")
    field_day = sla_day(pinned=False)
    built = builders.build("vroom", field_day, RoutingModel(field_day).an, 2.0, iterations=1)
    assert built.detail.startswith("vroom x5,")


@pytest.mark.parametrize("builder", ["pyvrp", "vroom"])
def test_seed_and_work_limits_reproduce_a_run(builder):
    p = sla_day(pinned=False)
    # PyVRP's own routes repeat bit for bit; VROOM (1 thread, no timeout) now and then
    # returns another route of equal cost (1 run in 15 here), so compare what it costs
    model = RoutingModel(p)
    first = builders.build(builder, p, model.an, 60.0, seed=3, iterations=200)
    again = builders.build(builder, p, model.an, 60.0, seed=3, iterations=200)
    if builder == "pyvrp":
        assert first.routes == again.routes
    else:
        assert {v: sorted(s[0] for s in r) for v, r in first.routes.items()} == {
            v: sorted(s[0] for s in r) for v, r in again.routes.items()}
    # builder + finish: work limits end the run long before the (backstop) time limit.
    # The objective and who serves what repeat; the order inside a route may differ
    # between equal-cost routes (OR-Tools breaks exact ties differently now and then)
    a = solve(p, 120.0, seed=3, solution_limit=LIMIT, builder=builder)
    b = solve(p, 120.0, seed=3, solution_limit=LIMIT, builder=builder)
    assert sorted((r.vehicle, sorted(r.job_ids)) for r in a.routes) == sorted(
        (r.vehicle, sorted(r.job_ids)) for r in b.routes)
    assert a.stats.objective == b.stats.objective and a.stats.seed == 3


def test_seed_reaches_pyvrp(monkeypatch):
    seen = []
    real = builders.build_pyvrp

    def spy(problem, an, time_limit_s, seed=None, iterations=None):
        seen.append(seed)
        return real(problem, an, time_limit_s, seed, iterations)

    monkeypatch.setattr(builders, "build_pyvrp", spy)
    solve(sla_day(), 2.0, seed=42, solution_limit=5, builder="pyvrp")
    assert seen == [42]


def test_pyvrp_restarts_with_other_seeds_on_a_long_budget_and_keeps_the_best(monkeypatch):
    """One trajectory can stay trapped for a minute (R204); a long budget runs several."""
    import pyvrp

    assert builders.pyvrp_runs(8.5) == 1  # 10 s limits keep one run
    assert builders.pyvrp_runs(51.0) == 3
    assert builders.pyvrp_runs(600.0) == builders.PYVRP_MAX_RUNS
    assert builders.pyvrp_runs(51.0, n_jobs=1000) == 1  # one search has not settled on a large day
    assert builders.pyvrp_runs(51.0, n_jobs=5) == 3
    real = pyvrp.solve
    runs = []
    history = []

    def spy(data, stop, **kw):
        res = real(data, stop, **kw)
        runs.append((kw["seed"], res.cost(), [r.num_clients() for r in res.best.routes()]))
        history.append(kw["params"].ils.history_length)
        return res

    monkeypatch.setattr(pyvrp, "solve", spy)
    monkeypatch.setattr(builders, "PYVRP_RUN_S", 0.2)
    p = sla_day(pinned=False)
    built = builders.build("pyvrp", p, RoutingModel(p).an, 0.7, seed=5)
    assert [seed for seed, _, _ in runs] == [5, 6, 7]
    assert "best of 3 runs" in built.detail
    assert history == [builders.PYVRP_LONG_HISTORY] * 3
    best = min(runs, key=lambda r: r[1])  # min() keeps the first of equal costs, as the builder does
    # the routes kept are the cheapest run's, in the builder's terms (jobs per vehicle)
    assert sorted(len(r) for r in built.routes.values() if r) == sorted(n for n in best[2] if n)
    # a work limit (reproducible runs) keeps one run whatever the budget
    runs.clear()
    builders.build("pyvrp", p, RoutingModel(p).an, 60.0, seed=5, iterations=50)
    assert [seed for seed, _, _ in runs] == [5]
    assert history[-1] < builders.PYVRP_LONG_HISTORY  # PyVRP's own default


def test_priority_dominates_travel_in_the_builders():
    """One technician, time for one visit: the far high-priority repair beats the near one."""
    for builder in ("pyvrp", "vroom"):
        p = make_problem(n_locations=10, vehicles=[Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 2000))],
                         jobs=[Job(id=1, location_index=1, service=1200, priority=10),
                               Job(id=2, location_index=6, service=1200, priority=90)])
        sol = solve(p, 3.0, solution_limit=LIMIT, builder=builder)
        assert [r.job_ids for r in sol.routes] == [[2]], builder
        assert validate(p, sol) == []


def test_two_workers_race_both_builders():
    p = make_problem(n_locations=8, vehicles=[Vehicle(id=v, start_index=0, end_index=0, time_window=(0, 3000))
                                              for v in (1, 2)])
    # bounded by work (a few solutions each), the limit is only a backstop
    sol = solve(p, 60.0, workers=2, solution_limit=5)
    assert "vroom:" in sol.stats.config and "pyvrp:" in sol.stats.config  # both raced
    assert sol.stats.workers == 2 and validate(p, sol) == []
    assert sol.summary.unassigned == 0


def test_races_compare_plans_by_fixroute_objective_computed_the_same_way():
    """A decomposed plan has no OR-Tools objective; the race prices every plan itself."""
    from dispatch.solver.objective import COST_SCALE, drop_penalty, plan_cost, required_base

    p = sla_day()
    sol = solve(p, 5.0, solution_limit=LIMIT, builder="ortools")
    cost = plan_cost(p, sol)
    travel = sum(r.duration for r in sol.routes)
    late = sum(20 * s.lateness / 60 for r in sol.routes for s in r.steps if s.type == "job")
    assert cost == pytest.approx(travel + late)
    # the model's own objective prices the same plan (its schedule is never earlier)
    assert cost * COST_SCALE <= sol.stats.objective + COST_SCALE * len(p.jobs)
    dropped = sol.routes[1].job_ids[-1] if len(sol.routes) > 1 else sol.routes[0].job_ids[-1]
    fewer = solve(p, 5.0, solution_limit=LIMIT, builder="ortools")
    for r in fewer.routes:
        r.steps = [s for s in r.steps if not (s.type == "job" and s.id == dropped)]
    from dispatch.solver import Unassigned

    fewer.unassigned.append(Unassigned(dropped, None, "capacity_of_day", ""))
    job = next(j for j in p.jobs if j.id == dropped)
    assert plan_cost(p, fewer) >= drop_penalty(job, required_base(p))
