"""Issue 19 on a 390 x 844 Chromium: the technician moves between days (and a reload
without coverage keeps the open day), starting tomorrow's visit is refused with the
reason, the route is on a map with numbered stops, the part picker fits the screen;
the merchant opens the service report from the SMS link without signing in, and a
changed or expired link is refused."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from dispatch.field import service as svc
from dispatch.field import service_report as rep
from dispatch.field.signoff import SignoffIn
from dispatch.models import WorkOrder
from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.test_tech_mobile import card, sign_in, status_of
from tests.builders.field import make_day, make_tomorrow_visit, to_on_site
from tests.builders.images import signature_png

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def phone(browser, live_server):
    ctx = browser.new_context(
        base_url=live_server, viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True,
        locale="en-US", geolocation={"latitude": 31.2304, "longitude": 121.4737},
        permissions=["geolocation"], service_workers="allow",
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def merchant_phone(browser, live_server):
    """The merchant's browser: never signed in."""
    ctx = browser.new_context(base_url=live_server, viewport=PHONE_VIEWPORT, is_mobile=True,
                              has_touch=True, locale="en-US")
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def test_move_to_tomorrow_and_back_and_tomorrows_visit_cannot_be_started(db, phone, artifacts):
    day = make_day(db)
    later = make_tomorrow_visit(db, day)
    tomorrow = (day.plan.day + timedelta(days=1)).isoformat()
    page = sign_in(phone, "tech01")
    expect(page.get_by_test_id("day-title")).to_contain_text("Today, ")
    expect(page.get_by_test_id("today-link")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]

    page.get_by_test_id("next-day").click()
    page.wait_for_url(f"**/tech/?date={tomorrow}")
    expect(page.get_by_test_id("day-title")).to_contain_text("Tomorrow, ")
    expect(page.get_by_test_id("visit")).to_have_count(1)
    # a reload without coverage keeps the day that was open, not today's copy
    page.wait_for_function(
        "u => caches.open('fixroute-tech-v3').then(c => c.match(u)).then(r => !!r)",
        arg=f"/tech/?date={tomorrow}")
    phone.set_offline(True)
    page.reload()
    expect(page.get_by_test_id("day-title")).to_contain_text("Tomorrow, ")
    phone.set_offline(False)

    # starting tomorrow's visit today: refused with the reason, the card back to planned
    card(page, later.id).get_by_test_id("start-travel").click()
    failed = page.locator("#outbox-list li.failed")
    expect(failed).to_contain_text("it can be started only on its day")
    expect(failed).to_contain_text("WO-T0009")
    expect(status_of(page, later.id)).to_have_text("Planned")
    page.screenshot(path=str(artifacts / "tech-tomorrow-refused.png"), full_page=True)
    db.rollback()
    db.expire_all()
    assert db.get(WorkOrder, later.work_order_id).status == "dispatched"

    page.get_by_test_id("prev-day").click()
    expect(page.get_by_test_id("day-title")).to_contain_text("Today, ")
    expect(page.get_by_test_id("visit")).to_have_count(2)


def test_route_map_numbers_the_stops_and_the_part_picker_fits(db, phone, artifacts):
    day = make_day(db)
    page = sign_in(phone, "tech01")
    markers = page.locator("#tech-map .stop-marker")
    expect(markers).to_have_count(2)
    expect(markers.nth(0)).to_have_text("1")  # drawn in route order
    assert sorted(markers.all_inner_texts()) == ["1", "2"]
    assert page.locator("#tech-map path.leaflet-interactive").count() == 1  # the route line
    assert page.locator("#tech-map img.leaflet-tile").count() == 0  # no tiles needed
    assert page.get_by_test_id("map-link").count() == 2  # navigation links stay beside it

    to_on_site(db, day)
    page.reload()
    c = card(page, day.visit.id)
    c.get_by_test_id("open-complete").click()
    c.get_by_test_id("add-part").click()
    box = c.locator(".part-select").bounding_box()
    assert box["width"] >= 300 and box["x"] + box["width"] <= PHONE_VIEWPORT["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    page.screenshot(path=str(artifacts / "tech-map.png"), full_page=True)


def test_merchant_opens_the_report_link_and_a_changed_or_expired_link_is_refused(
        app, db, merchant_phone, monkeypatch, artifacts):
    day = make_day(db)
    to_on_site(db, day)
    svc.complete(db, day.visit.id, day.world.users["tech01"], str(uuid.uuid4()),
                 resolution_code="replaced_part", parts=[svc.PartUsed(day.world.part.id, 1)],
                 signoff=SignoffIn(signer_name="Wang Min", signature=signature_png()))
    with app.test_request_context():
        token = rep.report_token(db.get(WorkOrder, day.wo.id))
    page = merchant_phone.new_page()
    page.goto(f"/r/{token}")
    expect(page.get_by_test_id("report-title")).to_contain_text(day.wo.number)
    expect(page.get_by_test_id("report-resolution")).to_have_text("Replaced a part")
    expect(page.get_by_test_id("report-signer")).to_have_text("Wang Min")
    expect(page.get_by_test_id("report-signature")).to_be_visible()
    expect(page.get_by_test_id("report-parts")).to_contain_text("CR-PAX")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    page.screenshot(path=str(artifacts / "service-report.png"), full_page=True)

    tampered = token[:-3] + ("x" if token[-3] != "x" else "y") + token[-2:]
    resp = page.goto(f"/r/{tampered}")
    assert resp.status == 404
    expect(page.locator("main")).to_contain_text("this report link is not valid")

    class Later:
        @staticmethod
        def time() -> float:
            return time.time() + rep.LINK_MAX_AGE.total_seconds() + 60

    monkeypatch.setattr(rep, "time", Later)  # the server runs in this process
    resp = page.goto(f"/r/{token}")
    assert resp.status == 410
    expect(page.locator("main")).to_contain_text("expired")
