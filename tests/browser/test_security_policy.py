"""The board and the technician's phone page run under the Content-Security-Policy
(issue 16, finding 10): every answer carries the headers, and Chromium reports no
violation while the pages draw the map, send a tap, upload a photo and register the
service worker."""
from __future__ import annotations

import pytest
from PIL import Image

from tests.browser.conftest import PHONE_VIEWPORT
from tests.builders.field import make_day
from tests.builders.people import PASSWORD

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

# Collects what the page's own CSP reporting sees; Playwright's init scripts run
# outside the page's policy, so the listener itself is never blocked.
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline")
                              + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


def _watch(ctx):
    """The page's violation events and every console line about the policy."""
    ctx.add_init_script(LISTEN)
    console: list[str] = []
    ctx.on("console", lambda msg: console.append(msg.text)
           if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text
           else None)
    return console


def _assert_headers(response) -> None:
    headers = response.all_headers()
    policy = headers.get("content-security-policy", "")
    assert "script-src 'self' 'nonce-" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") == "strict-origin-when-cross-origin"


def _sign_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form:has(#username) button[type=submit]")
    page.wait_for_load_state()


def _violations(page, console: list[str]) -> list[str]:
    return list(page.evaluate("window.__cspViolations")) + console


def test_board_and_phone_pages_run_under_the_policy(db, browser, live_server, tmp_path):
    day = make_day(db)
    region_id = day.world.region.id

    # The dispatcher's board: the map, the work-order list, the buttons.
    desk = browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 1000},
                               locale="en-US")
    desk.set_default_timeout(15_000)
    desk.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
    console = _watch(desk)
    page = desk.new_page()
    _assert_headers(page.goto("/login"))
    _sign_in(page, "dispatcher")
    from dispatch.field import service as svc

    today = svc.region_today(db, region_id)
    board = page.goto(f"/board?region_id={region_id}&day={today.isoformat()}")
    _assert_headers(board)
    # the map is drawn by Leaflet (its tiles are refused here: no network in tests);
    # routes and the plan/move flow under the policy are covered by test_board_browser
    expect(page.locator("#board-map .leaflet-tile-pane")).to_be_attached()
    expect(page.get_by_test_id("plan-button")).to_be_visible()
    page.get_by_test_id("lang-switch").click()  # a form post and a same-site redirect
    page.wait_for_load_state()
    assert _violations(page, console) == []
    desk.close()

    # The technician's phone: cards, a tap sent to the server, a photo resized on the
    # phone and uploaded, the offline service worker.
    phone = browser.new_context(
        base_url=live_server, viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True,
        locale="en-US", geolocation={"latitude": 31.2304, "longitude": 121.4737},
        permissions=["geolocation"])
    phone.set_default_timeout(10_000)
    console = _watch(phone)
    page = phone.new_page()
    _sign_in(page, "tech01")
    page.wait_for_url("**/tech/")
    _assert_headers(page.reload())
    first = day.visit2
    card = page.locator(f"#visit-{first.id}")
    card.get_by_test_id("start-travel").click()
    card.get_by_test_id("arrive").click()
    expect(card.get_by_test_id("visit-status")).to_have_text("On site")
    photo = tmp_path / "terminal.jpg"
    Image.new("RGB", (2000, 1500), (30, 120, 200)).save(photo, "JPEG")
    card.get_by_test_id("photo-input").set_input_files(str(photo))
    expect(card.get_by_test_id("photo-count")).to_have_text("1")
    page.wait_for_function("() => window.fixrouteTech && window.fixrouteTech.settled()")
    assert page.evaluate("navigator.serviceWorker.ready.then(function () { return true; })")
    assert _violations(page, console) == []
    phone.close()
