"""The demo shows a live day: today's plan published in every region, with visits done,
under way and ahead as of the moment it is loaded (issue 18, point 7), and the demo's
technicians and vans named so a dispatcher can tell them apart."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from core.models import Region
from demo.today import publish_today
from demo.world import build_demo_world
from dispatch.models import Plan, Technician, Visit, WorkOrder, WorkOrderStatus
from dispatch.planning.problem import build_input, plan_visits, published_plan
from dispatch.planning.retiming import check_routes, plan_order
from inventory.models import StockLocation
from tests.builders.people import login

DAY = date(2026, 11, 24)  # a Tuesday: every technician works


def _at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(DAY.year, DAY.month, DAY.day, h, m, tzinfo=ZoneInfo("Asia/Shanghai"))


def _world(db):
    build_demo_world(db, seed=7, today=DAY, merchants_per_region=40, technicians_per_region=4,
                     history_days=0)


def _day_of(db, region_id):
    plan = published_plan(db, region_id, DAY)
    assert plan is not None
    return plan, plan_visits(db, plan.id)


def test_every_region_has_a_published_day_in_progress(app, db):
    _world(db)
    now = _at("11:10")
    with app.test_request_context():
        counts = publish_today(db, now=now)
    assert counts["done"] and counts["under_way"] and counts["ahead"]
    for region in db.exec(select(Region)).all():
        plan, visits = _day_of(db, region.id)
        states = {v.status for v in visits}
        assert "done" in states and "planned" in states
        assert states & {"en_route", "on_site"}
        for v in visits:
            wo = db.get(WorkOrder, v.work_order_id)
            expected = {"done": WorkOrderStatus.COMPLETED, "on_site": WorkOrderStatus.ON_SITE,
                        "en_route": WorkOrderStatus.EN_ROUTE, "planned": WorkOrderStatus.DISPATCHED}
            assert wo.status == expected[v.status]
            if v.status == "done":
                assert v.actual_end <= now and wo.completed_at == v.actual_end
            if v.status == "planned":
                assert v.planned_arrival - timedelta(seconds=v.travel_seconds) > now
        inp = build_input(db, region.id, DAY, plan=plan, now=_at("06:00"))
        order, via = plan_order(db, plan, inp)
        assert check_routes(inp, order, via)[1] == []  # a valid day the dispatcher can re-plan
    # the world's open faults stay ready for tomorrow
    assert db.exec(select(WorkOrder).where(WorkOrder.status == WorkOrderStatus.READY)).first() is not None


def test_loaded_at_night_the_day_is_still_in_progress_and_valid(app, db):
    _world(db)
    now = _at("02:40")
    with app.test_request_context():
        counts = publish_today(db, now=now)
    assert counts["done"] and counts["ahead"]
    for region in db.exec(select(Region)).all():
        plan, _ = _day_of(db, region.id)
        inp = build_input(db, region.id, DAY, plan=plan, now=_at("00:00"))
        order, via = plan_order(db, plan, inp)
        assert check_routes(inp, order, via)[1] == []


def test_loading_again_the_same_day_changes_nothing(app, db):
    _world(db)
    with app.test_request_context():
        publish_today(db, now=_at("11:10"))
        before = len(db.exec(select(Visit)).all())
        assert publish_today(db, now=_at("12:10")) == {"done": 0, "under_way": 0, "ahead": 0}
    assert len(db.exec(select(Visit)).all()) == before
    assert len(db.exec(select(Plan).where(Plan.day == DAY, Plan.status == "published")).all()) == 3


def test_the_technicians_phone_and_the_board_show_today(app, db, client):
    _world(db)
    with app.test_request_context():
        publish_today(db, now=_at("11:10"))
    tech = db.exec(select(Technician).where(Technician.code == "tech01")).one()
    _plan, visits = _day_of(db, tech.region_id)
    mine = [v for v in visits if v.technician_id == tech.id]
    assert mine
    from demo.world import DEMO_PASSWORD

    login(client, "dispatcher", DEMO_PASSWORD)
    html = client.get(f"/board?region_id={tech.region_id}&day={DAY.isoformat()}").get_data(as_text=True)
    assert 'data-testid="plan-status">published' in html
    assert 'data-testid="visit-state" data-status="done"' in html


def test_demo_technicians_have_distinct_names_and_vans_named_after_them(db):
    build_demo_world(db, seed=42, today=DAY, merchants_per_region=10, technicians_per_region=9,
                     history_days=0)
    techs = db.exec(select(Technician)).all()
    assert len({t.name for t in techs}) == len(techs)
    vans = db.exec(select(StockLocation).where(StockLocation.kind == "van")).all()
    names = {t.id: t.name for t in techs}
    assert vans and all(names[v.technician_id] in v.name and "tech" not in v.name for v in vans)
