"""The preventive plan form's recurrence picker in Chromium: the admin picks "every 2
months" and "every 2 weeks on Monday and Wednesday" and reads the rule and its dates in
words, in English and in Chinese, without pressing Preview; the saved plan keeps the rule."""
from __future__ import annotations

import pytest
from sqlmodel import select

from maintenance.models import PMPlan
from tests.builders.people import PASSWORD
from tests.builders.world import make_world

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def admin_page(browser, live_server, monkeypatch):
    from datetime import date

    from maintenance import views

    # the form's "next dates" count from today: pin it so the dates below stay true
    monkeypatch.setattr(views, "_local_today", lambda: date(2026, 11, 27))
    ctx = browser.new_context(base_url=live_server, viewport={"width": 1200, "height": 1000},
                              locale="en-US")
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    yield page
    ctx.close()


def test_admin_fills_the_recurrence_picker_and_sees_the_dates_in_words(db, admin_page, artifacts):
    make_world(db)
    db.commit()
    page = admin_page
    page.goto("/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("form:has(#username) button[type=submit]")
    page.goto("/maintenance/plans/new")

    page.fill("#name", "Fortnightly and bimonthly checks")
    page.fill("#active_from", "2026-11-27")
    page.check("input[name=recurrence][value=picker]")
    page.fill("#every", "2")
    page.select_option("#freq", "monthly")
    words = page.get_by_test_id("rule-words")
    expect(words).to_have_text("Every 2 months on day 27")
    expect(page.get_by_test_id("first-date")).to_contain_text("Friday, November 27, 2026")
    dates = page.get_by_test_id("next-dates").locator("li")
    expect(dates).to_have_count(5)
    expect(dates.nth(1)).to_have_text("Wednesday, January 27, 2027")
    # only the month day is offered for months
    expect(page.locator("[data-for-freq=weekly]")).to_be_hidden()

    page.select_option("#freq", "weekly")
    expect(page.locator("[data-for-freq=monthly]")).to_be_hidden()
    page.check("input[name=weekdays][value=MO]")
    page.check("input[name=weekdays][value=WE]")
    expect(words).to_have_text("Every 2 weeks on Monday and Wednesday")
    expect(page.get_by_test_id("first-date")).to_contain_text("Monday, November 30, 2026")
    expect(dates.nth(2)).to_have_text("Monday, December 14, 2026")

    # a number the picker cannot use is said in words where the dates were
    page.fill("#every", "99")
    expect(page.get_by_test_id("rule-error")).to_have_text("must be between 1 and 52")
    page.fill("#every", "2")
    expect(words).to_have_text("Every 2 weeks on Monday and Wednesday")
    page.screenshot(path=str(artifacts / "plan-picker.png"), full_page=True)

    page.click("button[name=action][value=save]")
    page.wait_for_url("**/maintenance/plans/*")
    expect(page.get_by_test_id("rule-words")).to_have_text("Every 2 weeks on Monday and Wednesday")
    db.rollback()
    assert db.exec(select(PMPlan.rrule)).one() == "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;WKST=FR"

    # the same picker in Chinese
    page.request.post("/lang/zh")
    page.goto("/maintenance/plans/new")
    page.fill("#active_from", "2026-11-27")
    page.fill("#every", "2")
    page.select_option("#freq", "monthly")
    expect(words).to_have_text("每 2 个月的 27 日")
    expect(page.get_by_test_id("first-date")).to_contain_text("2026年11月27日星期五")
