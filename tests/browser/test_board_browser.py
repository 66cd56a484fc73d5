"""The dispatcher board in Chromium: plan the demo region, move and pin a visit,
re-optimise, publish; a screenshot of the board is kept in test-artifacts/."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from core.models import Region
from core.timeutil import utcnow
from demo.world import DEMO_PASSWORD, build_demo_world
from dispatch.models import Plan, Visit, WorkOrder, WorkOrderStatus
from dispatch.planning.problem import build_input, plan_visits
from dispatch.planning.retiming import check_routes, plan_order

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def desk(browser, live_server):
    ctx = browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 1000}, locale="en-US")
    ctx.set_default_timeout(15_000)
    # no map tiles here: routes and stops must be drawn anyway
    ctx.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
    yield ctx
    ctx.close()


def _fresh(db):
    db.rollback()
    db.expire_all()


def test_plan_adjust_reoptimise_publish(app, db, desk, artifacts):
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    build_demo_world(db, seed=7, today=today, merchants_per_region=30, technicians_per_region=4,
                     history_days=0)
    region = db.exec(select(Region).where(Region.code == "PX")).one()
    day = today + timedelta(days=1)
    page = desk.new_page()
    page.goto("/login")
    page.fill("#username", "dispatcher")
    page.fill("#password", DEMO_PASSWORD)
    page.click("form:has(#username) button[type=submit]")
    page.goto(f"/board?region_id={region.id}&day={day.isoformat()}&time_limit=20&solution_limit=40",
              wait_until="domcontentloaded")
    board = page.locator("#board")
    expect(page.get_by_test_id("plan-status")).to_have_text("no plan yet")
    assert page.get_by_test_id("ready-row").count() >= 10

    # plan: progress, then the routes
    page.get_by_test_id("plan-button").click()
    expect(board).to_have_attribute("data-job-status", "done", timeout=60_000)
    stops = page.get_by_test_id("stop")
    assert stops.count() > 0
    expect(page.locator("#board-map path.leaflet-interactive").first).to_be_attached()

    # move: swap a visit with its neighbour in a route; some swaps break a window,
    # those are reported and dismissed, the first clean one is saved
    moved = None
    for i in range(stops.count()):
        stop = stops.nth(i)
        pos = stop.locator('[data-role="move-pos"]')
        seq = int(pos.input_value())
        version = board.get_attribute("data-version")
        pos.fill(str(seq + 1 if seq > 1 else 2))
        stop.get_by_test_id("move-button").click()
        violations = page.get_by_test_id("violations")
        page.wait_for_function(
            "v => document.querySelector('#board').dataset.version !== v || "
            "!document.querySelector('[data-testid=violations]').hidden", arg=version)
        if violations.is_visible():
            assert page.locator("#violation-list li").count() >= 1
            violations.get_by_role("button", name="Cancel").click()
            continue
        moved = True
        break
    assert moved, "no visit could be moved without breaking a constraint"
    expect(board).to_have_attribute("data-job-status", "done")

    # pin the first visit of the first route
    version = int(board.get_attribute("data-version"))
    first = page.get_by_test_id("stop").first
    visit_id = int(first.get_attribute("data-visit-id"))
    first.get_by_test_id("pin-button").click()
    expect(board).to_have_attribute("data-version", str(version + 1))
    expect(page.locator(f'[data-visit-id="{visit_id}"] [data-testid=pinned]')).to_be_visible()
    _fresh(db)
    pinned_tech = db.get(Visit, visit_id).technician_id

    # re-optimise keeps the pin
    page.get_by_test_id("plan-button").click()
    expect(board).to_have_attribute("data-version", str(version + 2), timeout=60_000)
    _fresh(db)
    again = db.get(Visit, visit_id)
    assert again.pinned and again.technician_id == pinned_tech

    # publish
    page.get_by_test_id("publish-button").click()
    page.wait_for_function("() => document.querySelector('#board-message').textContent.length > 0")
    assert "Published" in page.get_by_test_id("board-message").text_content(), \
        page.get_by_test_id("board-message").text_content()
    expect(page.get_by_test_id("plan-status")).to_have_text("published", timeout=20_000)
    page.screenshot(path=str(artifacts / "board.png"), full_page=True)

    _fresh(db)
    plan = db.exec(select(Plan).where(Plan.region_id == region.id, Plan.day == day,
                                      Plan.status == "published")).one()
    visits = plan_visits(db, plan.id)
    assert visits and all(db.get(WorkOrder, v.work_order_id).status == WorkOrderStatus.DISPATCHED
                          for v in visits)
    inp = build_input(db, region.id, day, plan=plan)
    order, via = plan_order(db, plan, inp)
    assert check_routes(inp, order, via)[1] == []  # free of hard-constraint violations
