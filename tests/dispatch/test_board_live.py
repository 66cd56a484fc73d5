"""The live day on the board: visit states from the phones, and a technician running
late flagged with the visits whose announced window or SLA the delay threatens."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from dispatch.models import Merchant, Shift, Visit, WorkOrder
from dispatch.planning import board_live
from dispatch.planning import service as planning
from dispatch.planning.problem import plan_visits
from tests.builders.people import login
from tests.builders.planning import BEFORE, make_planning_world, make_published_plan
from tests.builders.world import DAY, local_dt


def test_states_come_from_the_published_plan_also_for_the_draft(app, db):
    w, _, pub = make_published_plan(db)
    first = plan_visits(db, pub.id)[0]
    first.status, first.actual_departure = "en_route", first.planned_arrival - timedelta(minutes=20)
    db.add(first)
    db.commit()
    draft, _ = planning.get_or_create_draft(db, w.region.id, DAY)
    with app.test_request_context():
        live = board_live.live_state(db, draft, now=first.planned_arrival - timedelta(minutes=10))
    state = live["visits"][str(first.work_order_id)]
    assert state["status"] == "en_route" and state["label"] == "On the way"
    assert live["technicians"] == []  # on time: nobody is flagged


def test_a_technician_running_late_is_flagged_with_the_visits_at_risk(app, db):
    w, _, pub = make_published_plan(db)
    route = [v for v in plan_visits(db, pub.id) if v.technician_id == w.tech.id]
    assert len(route) >= 2
    first, second = route[0], route[1]
    first.status = "on_site"
    first.actual_arrival = first.planned_start + timedelta(minutes=90)  # arrived 1.5 h late
    db.add(first)
    wo = db.get(WorkOrder, second.work_order_id)
    wo.sla_due_at = second.planned_start + timedelta(minutes=10)
    db.add(wo)
    db.commit()
    now = first.actual_arrival + timedelta(minutes=5)
    with app.test_request_context():
        live = board_live.live_state(db, pub, now=now)
    flagged = {t["technician_id"]: t for t in live["technicians"]}
    assert w.tech.id in flagged
    assert w.tech2.id in flagged  # not left yet for a visit that should be under way
    late = flagged[w.tech.id]
    assert late["late_minutes"] >= 60
    at_risk = {r["work_order_id"]: r for r in late["at_risk"]}
    assert second.work_order_id in at_risk
    assert set(at_risk[second.work_order_id]["threatens"]) == {"window", "sla"}


def test_a_delay_that_moves_a_start_past_the_told_window_is_flagged_after_a_wait(app, db):
    """The second shop opens 30 min after the van gets there; a 100 min delay eats the
    wait and moves the start 70 min, past the hour the merchant holds."""
    w, _, pub = make_published_plan(db)
    first, second = [v for v in plan_visits(db, pub.id) if v.technician_id == w.tech.id][:2]
    second.planned_arrival = second.planned_start - timedelta(minutes=30)
    second.notified_window_start = second.planned_start
    second.notified_window_end = second.planned_start + timedelta(hours=1)
    first.status = "on_site"
    first.actual_arrival = first.planned_start + timedelta(minutes=100)
    first.planned_end = first.planned_start + timedelta(
        minutes=int(db.get(WorkOrder, first.work_order_id).service_minutes))
    db.add_all([first, second])
    db.commit()
    with app.test_request_context():
        live = board_live.live_state(db, pub, now=first.actual_arrival + timedelta(minutes=1))
    late = {t["technician_id"]: t for t in live["technicians"]}[w.tech.id]
    at_risk = {r["work_order_id"]: r for r in late["at_risk"]}
    assert "window" in at_risk[second.work_order_id]["threatens"]


def test_nobody_is_late_before_the_day_starts(app, db):
    _, _, pub = make_published_plan(db)
    with app.test_request_context():
        assert board_live.live_state(db, pub, now=BEFORE)["technicians"] == []


def test_live_api_answers_the_dispatcher(app, client, db):
    _w, _, pub = make_published_plan(db)
    login(client, "dispatcher")
    resp = client.get(f"/api/v1/plans/{pub.id}/live")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "published"
    assert set(body["visits"]) == {str(v.work_order_id) for v in plan_visits(db, pub.id)}
    login(client, "tech01")
    assert client.get(f"/api/v1/plans/{pub.id}/live").status_code == 403


def test_board_shows_labels_and_links_each_technicians_day(app, client, db):
    w, _, pub = make_published_plan(db)
    login(client, "dispatcher")
    html = client.get(f"/board?region_id={w.region.id}&day={DAY.isoformat()}").get_data(as_text=True)
    assert f"/tech/?technician_id={w.tech.id}&amp;date={DAY.isoformat()}" in html
    assert "Hardware repair" in html and "High" in html  # skills and priorities as words
    assert ">high<" not in html and "WO-T0000</div>" not in html  # no codes on the bars
    first = db.exec(select(Visit).where(Visit.plan_id == pub.id)).first()
    merchant = db.get(Merchant, db.get(WorkOrder, first.work_order_id).merchant_id)
    assert f">{merchant.name}</div>" in html  # the timeline bar says where


def test_timeline_stretches_to_an_evening_shift(app, client, db):
    w, _ = make_planning_world(db, 1)
    shift = db.exec(select(Shift).where(Shift.technician_id == w.tech.id)).one()
    shift.start_at, shift.end_at = local_dt(DAY, "17:30"), local_dt(DAY, "17:30") + timedelta(hours=9)
    db.add(shift)
    db.commit()
    login(client, "dispatcher")
    html = client.get(f"/board?region_id={w.region.id}&day={DAY.isoformat()}").get_data(as_text=True)
    assert "%\">23</span>" in html and "%\">03</span>" in html  # the night hours are on the scale
