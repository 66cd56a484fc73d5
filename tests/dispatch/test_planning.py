"""Planning a region's day: the problem built from the database, the solution
written back, hand edits checked by the validator, publishing and insertions."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core.errors import Conflict
from dispatch.models import Merchant, Plan, Visit, WorkOrder, WorkOrderEvent, WorkOrderStatus
from dispatch.planning import service as planning
from dispatch.planning.problem import DAY_KEYS, PIN_SKILL, build_input, plan_visits
from dispatch.planning.retiming import check_routes, plan_order
from dispatch.planning.writeback import apply_solution
from dispatch.solver import solve, validate
from inventory.models import Reservation
from notifications.models import OutboundMessage
from tests.builders.planning import BEFORE, make_planning_world, make_solved_plan, solve_plan
from tests.builders.world import DAY, local_dt


def test_problem_has_shifts_breaks_skills_and_opening_hours(db):
    w, orders = make_planning_world(db, 4)
    orders[1].predicted_parts = [{"kind": "card_reader", "qty": 1}]
    db.commit()
    inp = build_input(db, w.region.id, DAY, now=BEFORE)
    p = inp.problem
    assert {v.id for v in p.vehicles} == {w.tech.id, w.tech2.id}
    veh = inp.vehicle(w.tech.id)
    assert veh.time_window == (8 * 3600 + 1800, 17 * 3600 + 1800)
    assert veh.breaks[0].service == 45 * 60
    assert veh.breaks[0].time_windows == [(11 * 3600 + 1800, 14 * 3600 - 45 * 60)]
    assert p.part_kinds == ["card_reader"]
    assert veh.capacity == [2]  # the van's two card readers
    assert inp.vehicle(w.tech2.id).capacity == [0]
    job = inp.job(orders[1].id)
    assert job.time_windows == [(9 * 3600, 12 * 3600), (13 * 3600, 19 * 3600)]  # lunch closure
    assert job.delivery == [1] and job.skills == ["network"]
    assert job.due == 18 * 3600


def test_closed_merchant_is_unassigned_with_reason(db):
    w, orders = make_planning_world(db, 3)
    m = db.get(Merchant, orders[0].merchant_id)
    m.opening_hours = dict(m.opening_hours, tue=[])
    db.commit()
    inp = build_input(db, w.region.id, DAY, now=BEFORE)
    assert orders[0].id not in {j.id for j in inp.problem.jobs}
    assert inp.skipped[0]["code"] == "merchant_closed"


def test_solution_becomes_visits_with_windows_and_figures(db):
    w, orders, plan, inp, sol = make_solved_plan(db)
    assert validate(inp.problem, sol) == []
    visits = plan_visits(db, plan.id)
    assert len(visits) == 6
    for v in visits:
        assert v.window_start <= v.planned_start < v.window_end
        assert v.window_end - v.window_start == timedelta(hours=1)
    assert plan.figures["visits"] == 6 and plan.figures["sla_met"] == 6
    assert plan.figures["travel_km"] > 0
    # the stored plan re-checks clean with the independent validator
    order, via = plan_order(db, plan, inp)
    assert check_routes(inp, order, via)[1] == []


def test_the_merchant_is_told_when_the_visit_starts_not_when_the_van_gets_there(db):
    """A shop opening at 13:00: the technician may get there in the morning and wait,
    but the merchant must be told 13:00-14:00, not the hour the van is at the door."""
    w, orders = make_planning_world(db, 1)
    m = db.get(Merchant, orders[0].merchant_id)
    m.opening_hours = {d: [["13:00", "19:00"]] for d in DAY_KEYS}
    db.commit()
    plan, _ = planning.get_or_create_draft(db, w.region.id, DAY)
    solve_plan(db, plan)
    (v,) = plan_visits(db, plan.id)
    assert v.planned_start == local_dt(DAY, "13:00")
    assert v.planned_arrival < v.planned_start  # it waited for the shop to open
    assert (v.window_start, v.window_end) == (local_dt(DAY, "13:00"), local_dt(DAY, "14:00"))


def test_one_draft_per_region_day(db):
    w, _ = make_planning_world(db, 1)
    a, created_a = planning.get_or_create_draft(db, w.region.id, DAY)
    b, created_b = planning.get_or_create_draft(db, w.region.id, DAY)
    assert created_a and not created_b and a.id == b.id


def test_move_to_unskilled_technician_is_reported_before_saving(db):
    w, orders, plan, inp, _ = make_solved_plan(db)
    hw = db.exec(select(Visit).where(Visit.plan_id == plan.id, Visit.work_order_id == orders[0].id)).one()
    res = planning.edit_plan(db, plan.id, "move", version=plan.version, visit_id=hw.id,
                             technician_id=w.tech2.id, position=1, now=BEFORE)
    assert not res["applied"]
    assert [v["kind"] for v in res["violations"]] == ["skill"]
    db.expire_all()
    assert db.get(Visit, hw.id).technician_id == w.tech.id  # nothing saved
    forced = planning.edit_plan(db, plan.id, "move", version=plan.version, visit_id=hw.id,
                                technician_id=w.tech2.id, position=1, confirm=True, now=BEFORE)
    assert forced["applied"]
    db.expire_all()
    assert db.get(Visit, hw.id).technician_id == w.tech2.id
    with pytest.raises(Conflict):  # the validator keeps it from being published
        planning.publish_plan(db, plan.id, version=forced["plan"].version, now=BEFORE)


def test_move_within_route_and_stale_version(db):
    w, orders, plan, inp, _ = make_solved_plan(db)
    route = [v for v in plan_visits(db, plan.id) if v.technician_id == w.tech.id]
    last = route[-1]
    res = planning.edit_plan(db, plan.id, "move", version=plan.version, visit_id=last.id,
                             technician_id=w.tech.id, position=1, now=BEFORE)
    assert res["applied"] and res["violations"] == []
    db.expire_all()
    assert db.get(Visit, last.id).sequence == 1
    with pytest.raises(Conflict) as exc:
        planning.edit_plan(db, plan.id, "pin", version=plan.version - 5, visit_id=last.id)
    assert exc.value.code == "stale_version"


def test_time_window_violation_when_placed_too_late(db):
    w, orders, plan, inp, _ = make_solved_plan(db)
    v = db.exec(select(Visit).where(Visit.plan_id == plan.id, Visit.work_order_id == orders[2].id)).one()
    assert planning.edit_plan(db, plan.id, "unassign", version=plan.version, visit_id=v.id,
                              now=BEFORE)["applied"]
    # a merchant open only 09:00-09:30 cannot be served last in a full route
    m = db.get(Merchant, orders[2].merchant_id)
    m.opening_hours = {d: [["09:00", "09:30"]] for d in DAY_KEYS}
    db.commit()
    res = planning.edit_plan(db, plan.id, "assign", version=plan.version, work_order_id=orders[2].id,
                             technician_id=w.tech.id, position=99, now=BEFORE)
    assert not res["applied"]
    assert [x["kind"] for x in res["violations"]] == ["time_window"]
    assert res["violations"][0]["work_order"] == orders[2].number


def test_unassign_and_assign_back(db):
    w, orders, plan, inp, _ = make_solved_plan(db)
    v = plan_visits(db, plan.id)[0]
    res = planning.edit_plan(db, plan.id, "unassign", version=plan.version, visit_id=v.id, now=BEFORE)
    assert res["applied"]
    assert {"work_order_id": v.work_order_id, "number": db.get(WorkOrder, v.work_order_id).number,
            "code": "manual"} in plan.unassigned
    res = planning.edit_plan(db, plan.id, "assign", version=plan.version, work_order_id=v.work_order_id,
                             technician_id=v.technician_id, position=1, now=BEFORE)
    assert res["applied"] and plan.unassigned == []


def test_reoptimise_keeps_pins(db):
    w, orders, plan, inp, _ = make_solved_plan(db)
    route = [v for v in plan_visits(db, plan.id) if v.technician_id == w.tech.id]
    pinned = route[-1]
    planning.edit_plan(db, plan.id, "pin", version=plan.version, visit_id=pinned.id)
    inp2 = build_input(db, w.region.id, DAY, plan=plan, now=BEFORE)
    pin_skill = PIN_SKILL.format(w.tech.id)
    assert pin_skill in inp2.job(pinned.work_order_id).skills
    assert pin_skill in inp2.vehicle(w.tech.id).skills
    assert pin_skill not in inp2.vehicle(w.tech2.id).skills
    sol = solve(inp2.problem, time_limit_s=5, solution_limit=30)
    assert validate(inp2.problem, sol) == []
    apply_solution(db, plan, inp2, sol)
    db.commit()
    db.expire_all()
    again = db.get(Visit, pinned.id)
    assert again.pinned and again.technician_id == w.tech.id


def test_started_visit_is_the_fixed_beginning_of_its_route(db):
    w, orders, plan, inp, _ = make_solved_plan(db)
    route = [v for v in plan_visits(db, plan.id) if v.technician_id == w.tech.id]
    route[-1].status = "en_route"
    db.add(route[-1])
    db.commit()
    inp2 = build_input(db, w.region.id, DAY, plan=plan, now=BEFORE)
    assert [s.id for s in inp2.vehicle(w.tech.id).steps] == [route[-1].work_order_id]
    assert inp2.job(route[-1].work_order_id).time_windows == []  # it is happening


def test_publish_dispatches_reserves_and_corrects_only_moved_windows(db):
    w, orders, plan, inp, _ = make_solved_plan(db)
    orders[0].predicted_parts = [{"kind": "card_reader", "qty": 1}]
    db.add(orders[0])
    db.commit()
    res = planning.publish_plan(db, plan.id, version=plan.version, now=BEFORE)
    assert res["dispatched"] == 6 and res["corrections"] == 0
    db.expire_all()
    assert db.get(Plan, plan.id).status == "published"
    assert all(db.get(WorkOrder, o.id).status == WorkOrderStatus.DISPATCHED for o in orders)
    res_rows = db.exec(select(Reservation).where(Reservation.work_order_id == orders[0].id)).all()
    assert len(res_rows) == 1 and res_rows[0].location_id == w.van.id
    for v in plan_visits(db, plan.id):
        assert v.notified_window_start == v.window_start
    sms_before = len(db.exec(select(OutboundMessage)).all())
    assert sms_before == 6  # one 'technician assigned, arriving ...' per merchant

    # a second round: new draft from the published plan, move one visit to the end
    draft, created = planning.get_or_create_draft(db, w.region.id, DAY)
    assert created and draft.id != plan.id
    route = [v for v in plan_visits(db, draft.id) if v.technician_id == w.tech.id]
    first = route[0]
    r = planning.edit_plan(db, draft.id, "move", version=draft.version, visit_id=first.id,
                           technician_id=w.tech.id, position=len(route), now=BEFORE)
    assert r["applied"]
    changed = [v for v in plan_visits(db, draft.id) if v.window_start != v.notified_window_start]
    assert changed
    res2 = planning.publish_plan(db, draft.id, version=draft.version, now=BEFORE)
    assert res2["dispatched"] == 0 and res2["corrections"] == len(changed)
    db.expire_all()
    assert db.get(Plan, plan.id).status == "superseded"
    sms = db.exec(select(OutboundMessage).order_by(OutboundMessage.id)).all()
    assert len(sms) - sms_before == len(changed)
    phones = {db.get(Merchant, db.get(WorkOrder, v.work_order_id).merchant_id).phone for v in changed}
    assert {m.to_number for m in sms[sms_before:]} == phones
    # parts are not reserved twice
    assert len(db.exec(select(Reservation).where(Reservation.work_order_id == orders[0].id)).all()) == 1


def test_urgent_insertion_offers_positions_and_notifies_moved_windows(db):
    w, orders, plan, inp, _ = make_solved_plan(db)
    planning.publish_plan(db, plan.id, version=plan.version, now=BEFORE)
    db.expire_all()
    plan = db.get(Plan, plan.id)
    # the first visit of tech01 is done, an urgent hardware repair comes in
    route = [v for v in plan_visits(db, plan.id) if v.technician_id == w.tech.id]
    route[0].status = "done"
    route[0].actual_end = route[0].planned_end
    db.add(route[0])
    urgent = WorkOrder(number="WO-URG1", status=WorkOrderStatus.READY, region_id=w.region.id,
                       merchant_id=orders[0].merchant_id, required_skills=["hardware"], priority="critical",
                       service_minutes=30, sla_due_at=local_dt(DAY, "13:00"))
    db.add(urgent)
    db.commit()
    now = local_dt(DAY, "10:00")
    options = planning.best_insertions(db, plan.id, urgent.id, now=now)
    assert options and all(o["technician_id"] == w.tech.id for o in options)  # only tech01 has the skill
    assert all(o["position"] >= 2 for o in options)  # never before the finished visit
    best = options[0]
    res = planning.accept_insertion(db, plan.id, urgent.id, best["technician_id"], best["position"],
                                    version=plan.version, now=now)
    assert res["dispatched"] == 1
    db.expire_all()
    assert db.get(WorkOrder, urgent.id).status == WorkOrderStatus.DISPATCHED
    v = db.exec(select(Visit).where(Visit.plan_id == plan.id, Visit.work_order_id == urgent.id)).one()
    assert v.technician_id == w.tech.id and v.notified_window_start == v.window_start
    events = db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == urgent.id)).all()
    assert [e.to_status for e in events] == ["planned", "dispatched"]
