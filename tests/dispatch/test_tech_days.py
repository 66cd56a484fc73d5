"""The technician's days (issue 19, points 1 and 2): the page moves between days and
names the day it shows; a visit of another day cannot be started."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core.errors import Conflict
from dispatch.field import service as svc
from dispatch.models import Plan, Visit, WorkOrder, WorkOrderEvent
from notifications.models import OutboundMessage
from tests.builders.field import aid, make_day, make_tomorrow_visit
from tests.builders.people import login


def test_starting_tomorrows_visit_is_refused_and_nothing_is_sent(db):
    day = make_day(db)
    visit = make_tomorrow_visit(db, day)
    tech = day.world.users["tech01"]
    with pytest.raises(Conflict) as exc:
        svc.start_travel(db, visit.id, tech, aid())
    assert exc.value.fields[0]["field"] == "visit_id"
    assert "not today" in exc.value.message_en
    with pytest.raises(Conflict):
        svc.arrive(db, visit.id, tech, aid())
    db.expire_all()
    assert db.get(Visit, visit.id).status == "planned"
    assert db.get(WorkOrder, visit.work_order_id).status == "dispatched"
    assert db.exec(select(WorkOrderEvent).where(
        WorkOrderEvent.work_order_id == visit.work_order_id)).all() == []
    assert db.exec(select(OutboundMessage).where(
        OutboundMessage.template == "technician_on_the_way")).all() == []


def test_a_visit_moved_to_todays_plan_can_be_started(db):
    day = make_day(db)
    visit = make_tomorrow_visit(db, day)
    moved = Visit(plan_id=day.plan.id, work_order_id=visit.work_order_id,
                  technician_id=day.world.tech.id, sequence=3)
    db.add(moved)
    db.delete(visit)
    db.commit()
    result = svc.start_travel(db, moved.id, day.world.users["tech01"], aid())
    assert result.work_order.status == "en_route"


def test_an_update_queued_before_midnight_counts_for_its_day(db):
    day = make_day(db)
    tech = day.world.users["tech01"]
    plan = db.get(Plan, day.plan.id)
    plan.day = plan.day - timedelta(days=1)  # the visit was yesterday's
    db.add(plan)
    db.commit()
    with pytest.raises(Conflict):
        svc.start_travel(db, day.visit.id, tech, aid())
    # tapped yesterday (within the phone's two days), sent today: it is yesterday's visit
    tapped = svc.utcnow() - timedelta(days=1)
    result = svc.start_travel(db, day.visit.id, tech, aid(), at=tapped)
    assert result.work_order.status == "en_route"


def test_api_answers_409_with_the_reason(client, db):
    day = make_day(db)
    visit = make_tomorrow_visit(db, day)
    login(client, "tech01")
    resp = client.post(f"/api/v1/tech/visits/{visit.id}/start-travel",
                       json={"client_action_id": aid()})
    assert resp.status_code == 409
    body = resp.get_json()["error"]
    assert body["fields"][0]["field"] == "visit_id"
    assert "it can be started only on its day" in body["message"]


def test_day_page_moves_between_days_and_names_the_day(client, db):
    day = make_day(db)
    visit = make_tomorrow_visit(db, day)
    today = day.plan.day
    tomorrow = today + timedelta(days=1)
    login(client, "tech01")
    html = client.get("/tech/").get_data(as_text=True)
    assert "Today, " in html and "My day" not in html.split("<main", 1)[1].split("</h1>")[0]
    assert f'href="/tech/?date={tomorrow.isoformat()}"' in html
    assert f'href="/tech/?date={(today - timedelta(days=1)).isoformat()}"' in html
    assert 'data-testid="today-link"' not in html and 'data-testid="other-day-note"' not in html
    html = client.get(f"/tech/?date={tomorrow.isoformat()}").get_data(as_text=True)
    assert "Tomorrow, " in html and "Today, " not in html
    assert f'id="visit-{visit.id}"' in html and f'id="visit-{day.visit.id}"' not in html
    assert f'href="/tech/?date={today.isoformat()}"' in html  # back, and "Today"
    assert 'data-testid="today-link"' in html
    assert 'data-testid="other-day-note"' in html
    later = (today + timedelta(days=5)).isoformat()
    html = client.get(f"/tech/?date={later}").get_data(as_text=True)
    assert "Today, " not in html and "Tomorrow, " not in html


def test_day_page_title_in_chinese(client, db):
    make_day(db)
    login(client, "tech01")
    client.post("/lang/zh", data={"next": "/tech/"})
    html = client.get("/tech/").get_data(as_text=True)
    assert "今天" in html


def test_cards_carry_work_order_number_for_the_outbox_list(client, db):
    day = make_day(db)
    login(client, "tech01")
    html = client.get("/tech/").get_data(as_text=True)
    assert f'data-wo-number="{day.wo.number}"' in html
