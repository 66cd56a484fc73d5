"""Re-planning a published day with the least disruption: hand moves survive
re-optimising, announced windows and technicians are kept, only merchants whose
window really moved are texted, and the board sees the changes before publishing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core.errors import NotFound
from dispatch.models import Merchant, Plan, Visit, WorkOrder, WorkOrderStatus
from dispatch.planning import replan
from dispatch.planning import service as planning
from dispatch.planning.problem import build_input, plan_visits
from notifications.models import OutboundMessage
from tests.builders.planning import BEFORE, make_published_plan, make_solved_plan, solve_plan
from tests.builders.world import DAY, local_dt


def test_hand_move_keeps_its_technician_through_reoptimise_until_released(db):
    w, _orders, plan, _, _ = make_solved_plan(db, any_technician=True)
    visits = plan_visits(db, plan.id)
    v = visits[0]
    other = w.tech2.id if v.technician_id == w.tech.id else w.tech.id
    res = planning.edit_plan(db, plan.id, "move", version=plan.version, visit_id=v.id,
                             technician_id=other, position=1, confirm=True, now=BEFORE)
    assert res["applied"]
    assert replan.hand_moves(plan) == {v.work_order_id: other}
    inp = build_input(db, plan.region_id, DAY, plan=plan, now=BEFORE)
    keep = replan.KEEP_SKILL.format(other)
    assert keep in inp.job(v.work_order_id).skills and keep in inp.vehicle(other).skills
    assert keep not in inp.vehicle(v.technician_id if v.technician_id != other else w.tech.id).skills \
        or other == w.tech.id
    solve_plan(db, plan)
    db.expire_all()
    again = db.exec(select(Visit).where(Visit.plan_id == plan.id,
                                        Visit.work_order_id == v.work_order_id)).one()
    assert again.technician_id == other

    plan = db.get(Plan, plan.id)
    replan.release_hand_move(db, plan.id, v.work_order_id, version=plan.version)
    assert replan.hand_moves(db.get(Plan, plan.id)) == {}
    inp = build_input(db, plan.region_id, DAY, plan=plan, now=BEFORE)
    assert not any(s.startswith("pinned-to-") for s in inp.job(v.work_order_id).skills)
    with pytest.raises(NotFound):
        replan.release_hand_move(db, plan.id, v.work_order_id, version=db.get(Plan, plan.id).version)


def test_unassigning_forgets_the_hand_move(db):
    _w, _orders, plan, _, _ = make_solved_plan(db, any_technician=True)
    v = plan_visits(db, plan.id)[0]
    planning.edit_plan(db, plan.id, "move", version=plan.version, visit_id=v.id,
                       technician_id=v.technician_id, position=1, confirm=True, now=BEFORE)
    assert v.work_order_id in replan.hand_moves(plan)
    v = db.exec(select(Visit).where(Visit.plan_id == plan.id, Visit.work_order_id == v.work_order_id)).one()
    planning.edit_plan(db, plan.id, "unassign", version=plan.version, visit_id=v.id, now=BEFORE)
    assert replan.hand_moves(plan) == {}


def test_replanning_a_published_day_after_an_urgent_order_keeps_announced_windows(db):
    w, orders, pub = make_published_plan(db, any_technician=True)
    told = {v.work_order_id: (v.technician_id, v.notified_window_start, v.notified_window_end)
            for v in plan_visits(db, pub.id)}
    sms_before = len(db.exec(select(OutboundMessage)).all())
    urgent = WorkOrder(number="WO-URG9", status=WorkOrderStatus.READY, region_id=w.region.id,
                       merchant_id=orders[3].merchant_id, required_skills=[], priority="critical",
                       service_minutes=20, sla_due_at=local_dt(DAY, "16:00"))
    db.add(urgent)
    db.commit()
    draft, created = planning.get_or_create_draft(db, w.region.id, DAY)
    assert created
    inp = build_input(db, w.region.id, DAY, plan=draft, now=BEFORE)
    for wo_id, (tech_id, ws, we) in told.items():
        job = inp.job(wo_id)
        assert replan.KEEP_SKILL.format(tech_id) in job.skills
        lo, hi = inp.secs(ws), inp.secs(we)
        assert job.time_windows and all(lo <= a <= b <= hi for a, b in job.time_windows)
    solve_plan(db, draft)
    db.expire_all()
    after = {v.work_order_id: v for v in plan_visits(db, draft.id)}
    assert urgent.id in after, "the urgent order fits in the gaps"
    for wo_id, (tech_id, ws, we) in told.items():
        v = after[wo_id]
        assert v.technician_id == tech_id
        assert (v.window_start, v.window_end) == (ws, we)
        assert ws <= v.planned_start <= we  # the visit starts inside what the merchant holds
    assert replan.changes_against_published(db, db.get(Plan, draft.id), "Asia/Shanghai") == []
    draft = db.get(Plan, draft.id)
    res = planning.publish_plan(db, draft.id, version=draft.version, now=BEFORE)
    assert res["dispatched"] == 1 and res["corrections"] == 0
    sms = db.exec(select(OutboundMessage).order_by(OutboundMessage.id)).all()[sms_before:]
    merchant = db.get(Merchant, orders[3].merchant_id)
    assert [m.to_number for m in sms] == [merchant.phone]  # only the urgent order's merchant


def test_a_start_inside_the_announced_window_keeps_it(db):
    _w, _orders, pub = make_published_plan(db, any_technician=True)
    v = plan_visits(db, pub.id)[0]
    inside = v.notified_window_start + timedelta(minutes=50)
    assert replan.told_window(v, inside, (inside, inside + timedelta(hours=1))) == \
        (v.notified_window_start, v.notified_window_end)
    outside = v.notified_window_end + timedelta(minutes=1)
    new = (outside, outside + timedelta(hours=1))
    assert replan.told_window(v, outside, new) == new
    assert replan.window_moved((v.notified_window_start, v.notified_window_end), outside, new)
    assert not replan.window_moved((v.notified_window_start, v.notified_window_end), inside, new)


def test_board_sees_what_publishing_would_change(db):
    w, _orders, _pub = make_published_plan(db, any_technician=True)
    draft, _ = planning.get_or_create_draft(db, w.region.id, DAY)
    route = [v for v in plan_visits(db, draft.id) if v.technician_id == w.tech.id]
    assert len(route) >= 2
    first = route[0]
    planning.edit_plan(db, draft.id, "move", version=draft.version, visit_id=first.id,
                       technician_id=w.tech.id, position=len(route), confirm=True, now=BEFORE)
    last = [v for v in plan_visits(db, draft.id) if v.technician_id == w.tech.id][-1]
    planning.edit_plan(db, draft.id, "unassign", version=draft.version, visit_id=last.id, now=BEFORE)
    changes = replan.changes_against_published(db, db.get(Plan, draft.id), "Asia/Shanghai")
    by_wo = {c["work_order_id"]: c for c in changes}
    assert by_wo[last.work_order_id]["kind"] == "dropped"
    moved = [c for c in changes if c["kind"] == "window"]
    assert all(c["texted"] and c["old_window"] != c["new_window"] for c in moved)
    draft = db.get(Plan, draft.id)
    res = planning.publish_plan(db, draft.id, version=draft.version, now=BEFORE)
    assert res["corrections"] == len(moved)


def test_insertion_says_which_slas_it_would_break(db):
    w, orders, pub = make_published_plan(db, any_technician=True)
    urgent = WorkOrder(number="WO-URG8", status=WorkOrderStatus.READY, region_id=w.region.id,
                       merchant_id=orders[0].merchant_id, required_skills=[], priority="critical",
                       service_minutes=90, sla_due_at=local_dt(DAY, "18:00"))
    db.add(urgent)
    for v in plan_visits(db, pub.id):
        wo = db.get(WorkOrder, v.work_order_id)
        wo.sla_due_at = v.planned_start + timedelta(minutes=5)  # every visit just in time
        db.add(wo)
    db.commit()
    options = planning.best_insertions(db, pub.id, urgent.id, now=BEFORE, limit=20)
    assert options, "some position fits"
    early = [o for o in options if o["windows_moved"]]
    assert early and all(o["sla_broken"] for o in early)
    assert all({"work_order_id", "number", "sla_due"} <= set(s) for o in early for s in o["sla_broken"])


def test_unticking_keep_announced_lets_the_solver_move_them_but_keeps_hand_moves(db):
    w, _orders, _pub = make_published_plan(db, any_technician=True)
    draft, _ = planning.get_or_create_draft(db, w.region.id, DAY)
    v = plan_visits(db, draft.id)[0]
    planning.edit_plan(db, draft.id, "move", version=draft.version, visit_id=v.id,
                       technician_id=v.technician_id, position=1, confirm=True, now=BEFORE)
    draft.progress = dict(draft.progress or {}, keep_announced=False)
    db.add(draft)
    db.commit()
    inp = build_input(db, w.region.id, DAY, plan=draft, now=BEFORE)
    for job in inp.problem.jobs:
        kept = [s for s in job.skills if s.startswith("pinned-to-")]
        assert kept == ([replan.KEEP_SKILL.format(v.technician_id)] if job.id == v.work_order_id else [])


def test_unticked_announced_visits_keep_technician_and_window_as_soft_preferences(db):
    w, _orders, _pub = make_published_plan(db, any_technician=True)
    draft, _ = planning.get_or_create_draft(db, w.region.id, DAY)
    draft.progress = dict(draft.progress or {}, keep_announced=False)
    db.add(draft)
    db.commit()
    told = replan.announced(db, draft)
    assert told
    inp = build_input(db, w.region.id, DAY, plan=draft, now=BEFORE)
    for wo_id, v in told.items():
        job = inp.job(wo_id)
        assert job.preferred_vehicle == v.technician_id and job.vehicle_change_cost > 0
        assert job.preferred_window is not None and job.window_change_cost_per_minute > 0
        assert not any(s.startswith("pinned-to-") for s in job.skills)  # soft, not pinned
    # nothing new on the day: the soft costs alone keep every merchant where they were told
    solve_plan(db, draft)
    assert replan.changes_against_published(db, db.get(Plan, draft.id), "Asia/Shanghai") == []


def test_the_solve_request_carries_keep_announced_to_the_plan(app, client, db):
    from dispatch.planning import jobs as plan_jobs
    from tests.builders.people import login

    w, _orders, _pub = make_published_plan(db, any_technician=True)
    login(client, "dispatcher")
    plan = client.post("/api/v1/plans", json={"region_id": w.region.id, "day": DAY.isoformat()}).get_json()
    resp = client.post(f"/api/v1/plans/{plan['id']}/solve",
                       json={"version": plan["version"], "time_limit_s": 1, "solution_limit": 5,
                             "keep_announced": False})
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["progress"]["keep_announced"] is False
    plan_jobs.wait_for_job(db, plan["id"], timeout_s=60)
