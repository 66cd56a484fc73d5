"""The dispatcher's board in Chromium, as dispatchers used to other boards expect it:
drag a visit between technicians and from the unassigned list, insert an urgent order
into a published day texting only the merchants it moves (once), re-plan a published
day keeping the announced windows, and see a phone's report on the board live."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from core.timeutil import utcnow
from dispatch.models import Merchant, Plan, Visit, WorkOrder, WorkOrderStatus
from dispatch.planning import replan
from dispatch.planning import service as planning
from dispatch.planning.problem import plan_visits, published_plan
from notifications.models import OutboundMessage
from tests.builders.people import PASSWORD, bearer
from tests.builders.planning import make_planning_world, make_published_plan, make_solved_plan, solve_plan
from tests.builders.workorders import make_work_order
from tests.builders.world import local_dt

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def _today():
    return utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()


def _fresh(db):
    db.rollback()  # end the read: a SQLite reader keeps its snapshot
    db.expire_all()


def _urgent(db, w, merchant_id, number="WO-URG1"):
    return make_work_order(db, w, number=number, status=WorkOrderStatus.READY, merchant_id=merchant_id,
                           terminal_id=None, required_skills=[], priority="critical", service_minutes=20,
                           sla_due_at=local_dt(_today() + timedelta(days=3), "17:00"))


@pytest.fixture
def desk(browser, live_server):
    ctx = browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 1100}, locale="en-US")
    ctx.set_default_timeout(15_000)
    ctx.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
    yield ctx
    ctx.close()


def _board(desk, w, day, extra=""):
    page = desk.new_page()
    page.goto("/login")
    page.fill("#username", "dispatcher")
    page.fill("#password", PASSWORD)
    page.click("form:has(#username) button[type=submit]")
    page.goto(f"/board?region_id={w.region.id}&day={day.isoformat()}{extra}", wait_until="domcontentloaded")
    return page


def _drag(page, handle, target):
    """A mouse drag the way a hand does it (SortableJS follows the pointer)."""
    target.scroll_into_view_if_needed()
    handle.scroll_into_view_if_needed()
    a, b = handle.bounding_box(), target.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(a["x"] + a["width"] / 2 + 6, a["y"] + a["height"] / 2 + 6, steps=4)
    page.mouse.move(b["x"] + 20, b["y"] + min(b["height"] - 4, 14), steps=20)
    page.mouse.up()


def _saved_or_confirmed(page, board, version):
    """Wait for the rule check's answer; a check that finds broken rules is answered
    in place and saved anyway."""
    page.wait_for_function(
        "v => document.querySelector('#board').dataset.version !== v || "
        "!document.querySelector('[data-testid=violations]').hidden", arg=version)
    violations = page.get_by_test_id("violations")
    if violations.is_visible():
        violations.get_by_role("button", name="Save anyway").click()
    expect(board).not_to_have_attribute("data-version", version)


def test_drag_a_visit_to_another_technician_and_an_unassigned_order_onto_one(app, db, desk, artifacts):
    day = _today() + timedelta(days=3)
    w, _orders, plan, _, _ = make_solved_plan(db, day=day, any_technician=True)
    gone = plan_visits(db, plan.id)[-1]
    planning.edit_plan(db, plan.id, "unassign", version=plan.version, visit_id=gone.id,
                       now=local_dt(day, "06:00"))
    page = _board(desk, w, day)
    board = page.locator("#board")
    src = page.locator(f'[data-testid=route][data-technician-id="{w.tech.id}"] [data-testid=stop]').first
    visit_id = int(src.get_attribute("data-visit-id"))
    target = page.locator(f'ol[data-role=route-list][data-technician-id="{w.tech2.id}"]')
    version = board.get_attribute("data-version")
    _drag(page, src.locator(".drag-handle"), target)
    _saved_or_confirmed(page, board, version)
    _fresh(db)
    moved = db.get(Visit, visit_id)
    assert moved.technician_id == w.tech2.id
    moved_stop = page.locator(f'[data-testid=stop][data-work-order-id="{moved.work_order_id}"]')
    expect(moved_stop.get_by_test_id("hand-moved")).to_be_visible()
    assert replan.hand_moves(db.get(Plan, plan.id)) == {moved.work_order_id: w.tech2.id}

    # an unassigned order dragged onto a technician's route
    item = page.get_by_test_id("unassigned-item").first
    wo_id = int(item.get_attribute("data-work-order-id"))
    assert wo_id == gone.work_order_id
    version = board.get_attribute("data-version")
    _drag(page, item.locator(".drag-handle"),
          page.locator(f'ol[data-role=route-list][data-technician-id="{w.tech.id}"]'))
    _saved_or_confirmed(page, board, version)
    _fresh(db)
    back = db.exec(select(Visit).where(Visit.plan_id == plan.id, Visit.work_order_id == wo_id)).one()
    assert back.technician_id == w.tech.id
    expect(page.get_by_test_id("unassigned-item")).to_have_count(0)
    page.screenshot(path=str(artifacts / "board-drag.png"), full_page=True)


def test_insert_an_urgent_order_into_the_published_day_texts_only_moved_merchants_once(app, db, desk):
    day = _today() + timedelta(days=3)
    w, orders, _plan = make_published_plan(db, day=day, any_technician=True)
    urgent = _urgent(db, w, orders[1].merchant_id)
    sms_before = {m.id for m in db.exec(select(OutboundMessage)).all()}
    page = _board(desk, w, day)
    expect(page.get_by_test_id("plan-status")).to_have_text("published")
    row = page.locator(f'[data-testid=ready-row][data-work-order-id="{urgent.id}"]')
    row.get_by_test_id("insert-button").click()
    option = row.get_by_test_id("insertion-option").first
    expect(option).to_be_visible()
    moved_numbers = [t.split(":")[0] for t in option.locator("li").all_text_contents()
                     if "→" in t]
    option.get_by_test_id("accept-insertion").click()
    notice = page.get_by_test_id("board-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Inserted")
    page.wait_for_timeout(1500)  # the confirmation outlives the reload that follows it
    expect(notice).to_be_visible()
    notice.get_by_role("button", name="Dismiss").click()
    expect(notice).to_be_hidden()

    _fresh(db)
    assert db.get(WorkOrder, urgent.id).status == WorkOrderStatus.DISPATCHED
    new_sms = [m for m in db.exec(select(OutboundMessage)).all() if m.id not in sms_before]
    phones = [m.to_number for m in new_sms]
    expected = {db.get(Merchant, urgent.merchant_id).phone}
    for number in moved_numbers:
        wo = db.exec(select(WorkOrder).where(WorkOrder.number == number)).one()
        expected.add(db.get(Merchant, wo.merchant_id).phone)
    assert sorted(phones) == sorted(expected)  # each affected merchant once, nobody else


def test_replanning_a_published_day_after_an_urgent_order_keeps_the_other_windows(app, db, desk):
    day = _today() + timedelta(days=3)
    w, orders, plan = make_published_plan(db, day=day, any_technician=True)
    told = {v.work_order_id: (v.technician_id, v.notified_window_start, v.notified_window_end)
            for v in plan_visits(db, plan.id)}
    urgent = _urgent(db, w, orders[2].merchant_id)
    sms_before = {m.id for m in db.exec(select(OutboundMessage)).all()}
    page = _board(desk, w, day, "&time_limit=10&solution_limit=30")
    board = page.locator("#board")
    page.get_by_test_id("plan-button").click()
    expect(page.get_by_test_id("plan-status")).to_have_text("draft", timeout=60_000)
    expect(board).to_have_attribute("data-job-status", "done", timeout=60_000)
    expect(page.get_by_test_id("publish-changes")).to_have_count(0)  # nobody's window moves
    expect(page.locator(f'[data-testid=stop][data-work-order-id="{urgent.id}"]')).to_have_count(1)
    page.get_by_test_id("publish-button").click()
    expect(page.get_by_test_id("plan-status")).to_have_text("published", timeout=20_000)
    expect(page.get_by_test_id("board-notice")).to_contain_text("1 work orders dispatched, 0 corrections")

    _fresh(db)
    pub = published_plan(db, w.region.id, day)
    assert pub.id != plan.id
    now = {v.work_order_id: v for v in plan_visits(db, pub.id)}
    for wo_id, (tech_id, ws, we) in told.items():
        assert (now[wo_id].technician_id, now[wo_id].notified_window_start,
                now[wo_id].notified_window_end) == (tech_id, ws, we)
    new_sms = [m for m in db.exec(select(OutboundMessage)).all() if m.id not in sms_before]
    assert [m.to_number for m in new_sms] == [db.get(Merchant, urgent.merchant_id).phone]


def test_the_board_shows_a_phones_report_without_a_reload(app, db, desk, client):
    day = _today()
    w, _orders, plan = make_published_plan(db, day=day, any_technician=True)
    visits = plan_visits(db, plan.id)
    if not any(v.technician_id == w.tech2.id for v in visits):  # both technicians have a route
        visits[-1].technician_id, visits[-1].sequence = w.tech2.id, 1
    # the day starts an hour from now, whatever the clock says: nobody is late yet
    shift = utcnow() + timedelta(hours=1) - min(v.planned_arrival for v in visits)
    for v in visits:
        for name in ("planned_arrival", "planned_start", "planned_end", "window_start", "window_end",
                     "notified_window_start", "notified_window_end"):
            setattr(v, name, getattr(v, name) + shift)
        db.add(v)
    db.commit()
    first = next(v for v in visits if v.technician_id == w.tech.id)
    page = _board(desk, w, day, "&poll=1")
    expect(page.locator(f'[data-testid=late-flag][data-technician-id="{w.tech2.id}"]')).to_be_hidden()
    stop = page.locator(f'[data-testid=stop][data-work-order-id="{first.work_order_id}"]')
    expect(stop.get_by_test_id("visit-state")).to_be_hidden()  # planned: no badge yet
    page.evaluate("window.__same_page = true")

    headers = bearer(client, "tech01")
    resp = client.post(f"/api/v1/tech/visits/{first.id}/start-travel", headers=headers,
                       json={"client_action_id": "board-live-1"})
    assert resp.status_code == 200, resp.get_json()
    expect(stop.get_by_test_id("visit-state")).to_have_text("On the way")
    expect(stop).to_have_attribute("data-status", "en_route")
    resp = client.post(f"/api/v1/tech/visits/{first.id}/arrive", headers=headers,
                       json={"client_action_id": "board-live-2"})
    assert resp.status_code == 200, resp.get_json()
    expect(stop.get_by_test_id("visit-state")).to_have_text("On site")

    # tech02 should have left for a visit an hour ago: flagged late with what it threatens
    _fresh(db)  # end the read, the phone wrote meanwhile
    visits = plan_visits(db, plan.id)
    late = next(v for v in visits if v.technician_id == w.tech2.id)
    back = late.planned_arrival - (utcnow() - timedelta(hours=1))
    for v in (v for v in visits if v.technician_id == w.tech2.id):
        v.planned_arrival, v.planned_start, v.planned_end = (
            v.planned_arrival - back, v.planned_start - back, v.planned_end - back)
        db.add(v)
    db.commit()
    flag = page.locator(f'[data-testid=late-flag][data-technician-id="{w.tech2.id}"]')
    expect(flag).to_be_visible()
    expect(flag).to_contain_text("min late")
    expect(page.locator(f'[data-testid=timeline-row][data-technician-id="{w.tech2.id}"] '
                        '[data-testid=late-badge]')).to_be_visible()
    assert page.evaluate("window.__same_page === true")  # no reload happened


def test_an_error_is_said_once_next_to_the_action_that_caused_it(app, db, desk):
    day = _today() + timedelta(days=3)
    w, orders = make_planning_world(db, 3, day=day)
    closed = db.get(Merchant, orders[0].merchant_id)
    closed.opening_hours = {d: [] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    db.add(closed)
    db.commit()
    plan, _ = planning.get_or_create_draft(db, w.region.id, day)
    solve_plan(db, plan)
    page = _board(desk, w, day)
    item = page.locator(f'[data-testid=unassigned-item][data-work-order-id="{orders[0].id}"]')
    item.get_by_test_id("insertions-button").click()
    said = item.get_by_test_id("action-message")
    expect(said).to_be_visible()
    text = said.text_content()
    assert text.count("cannot be planned on this day") == 1, text
    assert "work_order_id" not in text
    assert page.get_by_test_id("board-message").text_content() == ""
