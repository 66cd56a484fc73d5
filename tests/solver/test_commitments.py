"""A published day's commitments are soft: the solver keeps a visit on the technician
and in the window its merchant was told unless that costs a required job or an SLA."""

from __future__ import annotations

import dataclasses

import pytest

from dispatch.solver import Job, Vehicle, validate
from dispatch.solver.builders import day_shape
from dispatch.solver.model import KEEP_VEHICLE_COST, KEEP_WINDOW_COST_PER_MINUTE
from dispatch.solver.objective import COST_SCALE, plan_cost

from .conftest import make_problem

TOLD = (3600, 7200)


def told(**kw) -> dict:
    """What a published day passes for a visit announced on vehicle 1 in ``TOLD``."""
    return dict(preferred_vehicle=1, vehicle_change_cost=KEEP_VEHICLE_COST, preferred_window=TOLD,
                window_change_cost_per_minute=KEEP_WINDOW_COST_PER_MINUTE, **kw)


def two_vans(jobs, a_kw=None):
    """Van 1 lives at 0, van 2 at 10 on a line; a visit at 6 is nearer van 2."""
    a = Vehicle(id=1, start_index=0, end_index=0, time_window=(0, 36000), **(a_kw or {}))
    b = Vehicle(id=2, start_index=10, end_index=10, time_window=(0, 36000))
    return make_problem(11, vehicles=[a, b], jobs=jobs)


def placed(solution) -> dict[int, tuple[int, int]]:
    """job -> (vehicle, service start)."""
    return {s.id: (r.vehicle, s.service_start) for r in solution.routes for s in r.steps if s.type == "job"}


def without_commitments(p):
    return dataclasses.replace(p, jobs=[dataclasses.replace(j, preferred_vehicle=None, preferred_window=None)
                                        for j in p.jobs])


def test_without_commitments_the_visit_goes_to_the_nearer_van(quick):
    sol = quick(two_vans([Job(id=100, location_index=6, service=300)]))
    assert placed(sol)[100][0] == 2


def test_announced_van_and_window_are_kept_at_a_little_extra_travel(quick):
    p = two_vans([Job(id=100, location_index=6, service=300, **told())])
    assert day_shape(p) == "committed"  # the builders cannot see announcements: OR-Tools starts
    sol = quick(p)
    vehicle, start = placed(sol)[100]
    assert vehicle == 1
    assert TOLD[0] <= start <= TOLD[1]
    assert validate(p, sol) == []
    assert plan_cost(p, sol) == plan_cost(without_commitments(p), sol)  # kept: nothing charged


def test_announced_van_gives_way_when_keeping_it_would_drop_a_required_job(quick):
    only_a = Job(id=200, location_index=1, service=300, skills=["vault"])
    p = two_vans([Job(id=100, location_index=6, service=300, **told()), only_a],
                 a_kw={"skills": ["vault"], "max_tasks": 1})
    sol = quick(p)
    where = placed(sol)
    assert where[200][0] == 1 and where[100][0] == 2
    assert sol.unassigned == []
    assert validate(p, sol) == []
    # the reported objectives include the change of technician
    assert plan_cost(p, sol) - plan_cost(without_commitments(p), sol) == KEEP_VEHICLE_COST
    assert round(sol.stats.objective / COST_SCALE) == round(plan_cost(p, sol))


def test_announced_window_gives_way_to_an_sla(quick):
    p = two_vans([Job(id=100, location_index=6, service=300, due=1000, lateness_cost_per_minute=60.0,
                      **told())])
    sol = quick(p)
    vehicle, start = placed(sol)[100]
    assert vehicle == 1  # still its technician
    assert start <= 1000  # the SLA wins over the announced window
    assert sum(r.lateness for r in sol.routes) == 0
    assert validate(p, sol) == []
    early_minutes = (TOLD[0] - start) / 60
    charged = plan_cost(p, sol) - plan_cost(without_commitments(p), sol)
    assert charged == pytest.approx(KEEP_WINDOW_COST_PER_MINUTE * early_minutes)


def test_late_start_outside_the_announced_window_is_charged_per_minute(quick):
    # two visits announced in the same early window: one of them must start after it
    jobs = [Job(id=100 + i, location_index=5, service=3000, **dict(told(), preferred_window=(0, 1000)))
            for i in range(2)]
    p = two_vans(jobs)
    p.vehicles = p.vehicles[:1]
    sol = quick(p)
    assert sol.unassigned == []
    starts = sorted(st for _v, st in placed(sol).values())
    late = max(0, starts[1] - 1000)
    assert late > 0
    charged = plan_cost(p, sol) - plan_cost(without_commitments(p), sol)
    assert charged == pytest.approx(KEEP_WINDOW_COST_PER_MINUTE * late / 60)
    assert validate(p, sol) == []
