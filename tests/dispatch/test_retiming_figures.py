"""A route's figures after a hand edit are the solver's: the board re-times the
dispatcher's order with the solver's own schedule and cost model (issue 17.6), so the
start times, travel, lateness and overtime of an edited route equal what the solver
reports when it is made to serve the same order (every visit pinned)."""
from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
from sqlmodel import select

from dispatch.models import Plan, Shift, Visit
from dispatch.planning import service as planning
from dispatch.planning.problem import PlanInput, build_input, plan_visits
from dispatch.planning.retiming import plan_order, schedule_routes
from dispatch.planning.writeback import apply_solution
from dispatch.solver import (
    Costs,
    Job,
    Problem,
    Solution,
    Vehicle,
    VehicleStep,
    finish_route,
    plan_cost,
    solve,
    validate,
)
from tests.builders.planning import BEFORE, make_draft_plan
from tests.builders.world import DAY, local_dt

H = 3600
HOME, SHOP_A, SHOP_B, SHOP_C = 0, 1, 2, 3


def _problem() -> Problem:
    """Two technicians at home (0), three shops 30 min from home and 20 min apart;
    overtime after 11:00 costs 7,200 an hour; job 20's SLA is due at 09:30."""
    durations = [[0 if i == j else (1800 if HOME in (i, j) else 1200) for j in range(4)] for i in range(4)]
    costs = Costs(per_hour=3600, overtime_per_hour=7200)
    techs = [Vehicle(id=t, start_index=HOME, end_index=HOME, time_window=(8 * H, 20 * H), costs=costs,
                     overtime_after=11 * H) for t in (1, 2)]
    jobs = [Job(id=10, location_index=SHOP_A, service=H),
            Job(id=20, location_index=SHOP_B, service=H, due=9 * H + 30 * 60, lateness_cost_per_minute=60.0),
            Job(id=30, location_index=SHOP_C, service=H)]
    return Problem(vehicles=techs, jobs=jobs, durations=durations,
                   distances=[[d * 10 for d in row] for row in durations])


def _retimed(p: Problem, order: dict[int, list[int]]) -> Solution:
    return schedule_routes(SimpleNamespace(problem=p), order)


def _solvers_own(p: Problem, order: dict[int, list[int]]) -> Solution:
    """The solver's answer when every visit is pinned in ``order``: its own schedule."""
    pinned = copy.deepcopy(p)
    for veh in pinned.vehicles:
        veh.steps = [VehicleStep("job", id=j) for j in order.get(veh.id, [])]
    sol = solve(pinned, time_limit_s=5, solution_limit=1, builder="ortools")  # the only one
    assert sol.unassigned == []
    return sol


def _route(sol: Solution, tech: int):
    return next(r for r in sol.routes if r.vehicle == tech)


STEP_FIGURES = ("type", "id", "location_index", "arrival", "service_start", "end", "waiting_time",
                "duration", "distance", "lateness")
ROUTE_FIGURES = ("cost", "service", "duration", "waiting_time", "distance", "lateness", "overtime")


def _assert_same_routes(edited: Solution, own: Solution) -> None:
    assert sorted(r.vehicle for r in edited.routes) == sorted(r.vehicle for r in own.routes)
    for r in edited.routes:
        o = _route(own, r.vehicle)
        assert [[getattr(s, f) for f in STEP_FIGURES] for s in r.steps] == \
               [[getattr(s, f) for f in STEP_FIGURES] for s in o.steps]
        assert {f: getattr(r, f) for f in ROUTE_FIGURES} == {f: getattr(o, f) for f in ROUTE_FIGURES}
    assert edited.summary.overtime == own.summary.overtime
    assert edited.summary.lateness == own.summary.lateness
    assert plan_cost(_problem(), edited) == plan_cost(_problem(), own)


FIRST = {1: [20, 10], 2: [30]}
MOVED = {1: [10], 2: [30, 20]}  # job 20 moved to the end of technician 2's route
REORDERED = {1: [10], 2: [20, 30]}  # then first on it


def test_moving_a_visit_makes_it_late_and_the_route_overtime_as_the_solver_says():
    p = _problem()
    sol = _retimed(p, MOVED)
    r2 = _route(sol, 2)
    job20 = next(s for s in r2.steps if s.type == "job" and s.id == 20)
    # 08:00 home -> shop C 08:30-09:30 -> shop B 09:50-10:50 (due 09:30) -> home 11:20
    assert (job20.arrival, job20.service_start, job20.end) == (9 * H + 50 * 60, 9 * H + 50 * 60, 10 * H + 50 * 60)
    assert job20.lateness == 20 * 60 and r2.lateness == 20 * 60
    assert r2.steps[-1].arrival == 11 * H + 20 * 60 and r2.overtime == 20 * 60
    assert r2.duration == 1800 + 1200 + 1800 and r2.distance == 10 * r2.duration
    assert r2.cost == r2.duration  # 3,600 an hour of travel
    r1 = _route(sol, 1)
    assert r1.steps[-1].arrival == 10 * H and r1.overtime == 0 and r1.lateness == 0
    assert sol.summary.overtime == 20 * 60 and sol.summary.lateness == 20 * 60
    # the solver's cost model prices both: travel 8,400 + overtime 2,400 + lateness 1,200
    assert plan_cost(p, sol) == pytest.approx(8400 + 7200 * 20 / 60 + 60 * 20)
    assert validate(p, sol) == []  # the figures agree with the independent validator
    _assert_same_routes(sol, _solvers_own(p, MOVED))


def test_reordering_a_route_clears_the_lateness_but_not_the_overtime():
    p = _problem()
    sol = _retimed(p, REORDERED)
    r2 = _route(sol, 2)
    assert [s.id for s in r2.steps if s.type == "job"] == [20, 30]
    assert r2.lateness == 0 and r2.overtime == 20 * 60  # home at 11:20 either way
    assert plan_cost(p, sol) == pytest.approx(8400 + 7200 * 20 / 60)
    _assert_same_routes(sol, _solvers_own(p, REORDERED))


@pytest.mark.parametrize("order", [FIRST, MOVED, REORDERED])
def test_an_edited_routes_figures_are_finish_route_of_its_steps(order):
    p = _problem()
    sol = _retimed(p, order)
    for r in sol.routes:
        v = next(i for i, veh in enumerate(p.vehicles) if veh.id == r.vehicle)
        again = finish_route(p, v, r.steps, p.n_kinds)
        assert {f: getattr(again, f) for f in ROUTE_FIGURES} == {f: getattr(r, f) for f in ROUTE_FIGURES}


# ------------------------------------------------------------------ on the board


def _board_matches_the_solver(db, plan_id: int) -> tuple[Solution, PlanInput]:
    """The plan's visits and route figures as stored after an edit, against the solver's
    own answer for the plan's order; returns that answer."""
    plan = db.get(Plan, plan_id)
    inp = build_input(db, plan.region_id, plan.day, plan=plan, now=BEFORE, keep_pins=False)
    order, _ = plan_order(db, plan, inp)
    own = _solvers_own(inp.problem, order)
    visits = plan_visits(db, plan.id)
    for r in own.routes:
        mine = sorted((v for v in visits if v.technician_id == r.vehicle), key=lambda v: v.sequence)
        jobs = [s for s in r.steps if s.type == "job"]
        assert [v.work_order_id for v in mine] == [s.id for s in jobs]
        for v, s in zip(mine, jobs, strict=True):
            assert (v.planned_arrival, v.planned_start, v.planned_end) == \
                   (inp.at(s.arrival), inp.at(s.service_start), inp.at(s.end))
            assert (v.travel_seconds, v.travel_meters) == (s.duration, s.distance)
        meta = plan.solver_stats["routes"][str(r.vehicle)]
        assert meta["end"] == inp.at(r.steps[-1].arrival).isoformat()
        assert (meta["travel_seconds"], meta["travel_meters"]) == (r.duration, r.distance)
        assert (meta["service_seconds"], meta["waiting_seconds"]) == (r.service, r.waiting_time)
    return own, inp


def test_board_move_and_reorder_store_the_solvers_times_and_lateness(db):
    w, orders, plan = make_draft_plan(db, 4)
    for sh in db.exec(select(Shift)).all():
        sh.break_minutes = 0  # where a pinned solve takes lunch is OR-Tools' choice, not the order's
        db.add(sh)
    w.tech2.skills = ["hardware", "network"]
    orders[2].sla_due_at = local_dt(DAY, "09:45")
    db.add_all([w.tech2, orders[2]])
    db.commit()
    inp = build_input(db, w.region.id, DAY, plan=plan, now=BEFORE)
    first = {w.tech.id: [orders[2].id, orders[0].id], w.tech2.id: [orders[1].id, orders[3].id]}
    apply_solution(db, plan, inp, schedule_routes(inp, first))
    plan.version += 1
    db.commit()
    assert plan.figures["sla_missed"] == 0

    late = db.exec(select(Visit).where(Visit.plan_id == plan.id, Visit.work_order_id == orders[2].id)).one()
    res = planning.edit_plan(db, plan.id, "move", version=plan.version, visit_id=late.id,
                             technician_id=w.tech2.id, position=3, now=BEFORE)
    assert res["applied"] and res["violations"] == []
    own, inp = _board_matches_the_solver(db, plan.id)
    step = next(s for r in own.routes for s in r.steps if s.type == "job" and s.id == orders[2].id)
    db.refresh(late)
    assert step.lateness > 0  # third on the route, past its 09:45 SLA
    assert (late.planned_start - orders[2].sla_due_at).total_seconds() == step.lateness
    assert db.get(Plan, plan.id).figures["sla_missed"] == 1

    res = planning.edit_plan(db, plan.id, "move", version=res["plan"].version, visit_id=late.id,
                             technician_id=w.tech2.id, position=1, now=BEFORE)
    assert res["applied"] and res["violations"] == []
    own, _ = _board_matches_the_solver(db, plan.id)
    assert own.summary.lateness == 0
    assert db.get(Plan, plan.id).figures["sla_missed"] == 0
