"""A technician's day on a phone-sized Chromium: travel, arrive, complete with a part
and a photo, could-not-complete, and updates made without coverage that are sent
once the network is back, applied exactly once."""
from __future__ import annotations

import pytest
from PIL import Image
from sqlmodel import select

from dispatch.models import Attachment, Signoff, Visit, WorkOrder
from inventory.models import StockMove
from tests.browser.conftest import PHONE_VIEWPORT
from tests.builders.field import make_day, van_on_hand
from tests.builders.people import PASSWORD
from tests.builders.workorders import events

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def phone(browser, live_server):
    ctx = browser.new_context(
        base_url=live_server, viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True,
        locale="en-US", geolocation={"latitude": 31.2304, "longitude": 121.4737},
        permissions=["geolocation"],
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def sign_in(ctx, username: str):
    page = ctx.new_page()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form:has(#username) button[type=submit]")
    page.wait_for_url("**/tech/")  # the technician's home is the day page
    return page


def card(page, visit_id: int):
    return page.locator(f"#visit-{visit_id}")


def status_of(page, visit_id: int):
    return card(page, visit_id).get_by_test_id("visit-status")


def sent_all(page):
    """Every tap saved on the phone and every saved update answered by the server."""
    page.wait_for_function("() => window.fixrouteTech && window.fixrouteTech.settled()")
    expect(page.get_by_test_id("outbox")).to_be_hidden()


def sign(page, c, name: str = "Wang Min") -> None:
    """The merchant draws a signature with a finger and the printed name is typed."""
    box = c.get_by_test_id("signature-pad").bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 20, y + box["height"] * 0.7)
    page.mouse.down()
    for i in range(1, 8):
        page.mouse.move(x + 20 + i * box["width"] / 10, y + box["height"] * (0.3 if i % 2 else 0.7))
    page.mouse.up()
    c.get_by_test_id("signer-name").fill(name)


def big_photo(tmp_path) -> str:
    path = tmp_path / "terminal.jpg"
    Image.new("RGB", (3200, 2400), (30, 120, 200)).save(path, "JPEG", quality=92)
    return str(path)


def _fresh(db):
    db.rollback()  # a fresh snapshot: the server wrote from another connection
    return db


def test_technician_works_the_day_on_a_phone(db, phone, app, tmp_path, artifacts):
    day = make_day(db)
    page = sign_in(phone, "tech01")
    first, second = day.visit2, day.visit  # route order: sequence 1 then 2
    cards = page.get_by_test_id("visit")
    expect(cards).to_have_count(2)
    assert cards.first.get_attribute("id") == f"visit-{first.id}"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    expect(card(page, first.id).get_by_test_id("tel-link")).to_have_attribute(
        "href", "tel:+8613812345678")
    assert card(page, first.id).get_by_test_id("map-link").get_attribute("href").startswith(
        "geo:31.220000,121.460000")

    # First stop: travel, arrive, photo, complete with a part from the van.
    card(page, first.id).get_by_test_id("start-travel").click()
    expect(status_of(page, first.id)).to_have_text("On the way")
    sent_all(page)
    card(page, first.id).get_by_test_id("arrive").click()
    expect(status_of(page, first.id)).to_have_text("On site")
    sent_all(page)
    card(page, first.id).get_by_test_id("photo-input").set_input_files(big_photo(tmp_path))
    expect(card(page, first.id).get_by_test_id("photo-count")).to_have_text("1")
    sent_all(page)
    c = card(page, first.id)
    c.get_by_test_id("open-complete").click()
    c.get_by_test_id("resolution").select_option("replaced_part")
    c.get_by_test_id("add-part").click()
    c.locator(".part-select").select_option(str(day.world.part.id))
    c.get_by_test_id("notes").fill("Replaced the card reader, test payment OK")
    c.get_by_test_id("check-item").check()
    c.get_by_test_id("submit-complete").click()
    # without the merchant's signature (or a reason for none) the form says so
    expect(c.locator("[data-role=error]").first).to_contain_text("sign")
    sign(page, c)
    c.get_by_test_id("submit-complete").click()
    expect(status_of(page, first.id)).to_have_text("Done")
    sent_all(page)

    # Second stop: the merchant needs a part the van does not have.
    c2 = card(page, second.id)
    c2.get_by_test_id("start-travel").click()
    sent_all(page)
    c2.get_by_test_id("arrive").click()
    expect(status_of(page, second.id)).to_have_text("On site")
    sent_all(page)
    c2.get_by_test_id("open-notdone").click()
    c2.get_by_test_id("reason-part_missing").check()
    c2.get_by_test_id("follow-up-note").fill("Needs a main board")
    c2.get_by_test_id("submit-notdone").click()
    expect(status_of(page, second.id)).to_have_text("Not completed")
    sent_all(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    page.screenshot(path=str(artifacts / "tech.png"), full_page=True)

    db.rollback()  # a fresh snapshot: the server wrote from another connection
    db.expire_all()
    wo1, wo2 = db.get(WorkOrder, first.work_order_id), db.get(WorkOrder, second.work_order_id)
    assert wo1.status == "completed" and wo1.resolution_code == "replaced_part"
    assert wo1.resolution_note == "Replaced the card reader, test payment OK"
    assert [e.to_status for e in events(_fresh(db), wo1.id) if e.action == "transition"] == [
        "en_route", "on_site", "completed"]
    arrive = next(e for e in events(_fresh(db), wo1.id) if e.to_status == "on_site")
    assert arrive.data["position"]["lat"] == pytest.approx(31.2304)
    assert van_on_hand(_fresh(db), day) == 1
    done = next(e for e in events(_fresh(db), wo1.id) if e.to_status == "completed"
                and e.action == "transition")
    assert done.data["checklist_done"] == ["clean_card_slot"]
    assert events(_fresh(db), wo1.id)[-1].action == "signoff"  # with the completion, audited
    photo = db.exec(select(Attachment).where(Attachment.work_order_id == wo1.id)).one()
    stored = app.config["FIXROUTE"].upload_dir + "/" + photo.storage_path
    with Image.open(stored) as img:  # resized on the phone before upload
        assert img.format == "JPEG" and max(img.size) == 1600
    assert wo2.status == "needs_follow_up"
    follow = events(_fresh(db), wo2.id)[-1]
    assert follow.data["reason"] == "part_missing" and "Needs a main board" in follow.note
    assert db.get(Visit, second.id).status == "not_done"


def test_updates_made_offline_are_sent_once_when_back_online(db, phone):
    day = make_day(db)
    page = sign_in(phone, "tech01")
    v = day.visit2
    wo_id = v.work_order_id
    c = card(page, v.id)
    c.get_by_test_id("start-travel").click()
    sent_all(page)
    # the service worker keeps the page for opening it without coverage
    page.wait_for_function("() => caches.match('/tech/').then(r => !!r)")

    phone.set_offline(True)
    c.get_by_test_id("arrive").click()
    expect(status_of(page, v.id)).to_have_text("On site")  # shown at once on the phone
    expect(page.get_by_test_id("outbox-count")).to_have_text("1")
    expect(page.get_by_test_id("net-state")).to_have_text("Offline")
    c.get_by_test_id("open-complete").click()
    c.get_by_test_id("resolution").select_option("replaced_part")
    c.get_by_test_id("add-part").click()
    c.locator(".part-select").select_option(str(day.world.part.id))
    sign(page, c)
    c.get_by_test_id("submit-complete").click()
    expect(page.get_by_test_id("outbox-count")).to_have_text("2")
    expect(page.get_by_test_id("outbox-item").first).to_contain_text(day.wo2.number)
    expect(page.get_by_test_id("outbox-item").first).to_contain_text("Wang's Noodle House")
    db.rollback()  # a fresh snapshot: the server wrote from another connection
    db.expire_all()
    assert db.get(WorkOrder, wo_id).status == "en_route"  # nothing reached the server

    # The page is reloaded without coverage: the queued updates are still there.
    page.reload()
    expect(page.get_by_test_id("outbox-count")).to_have_text("2")
    expect(status_of(page, v.id)).to_have_text("Done")

    phone.set_offline(False)
    sent_all(page)
    expect(page.get_by_test_id("net-state")).to_have_text("Online")
    assert [e.to_status for e in events(_fresh(db), wo_id) if e.action == "transition"] == [
        "en_route", "on_site", "completed"]
    assert van_on_hand(_fresh(db), day) == 1
    assert len(db.exec(select(StockMove).where(StockMove.kind == "consume")).all()) == 1
    signoffs = db.exec(select(Signoff).where(Signoff.work_order_id == wo_id)).all()
    assert len(signoffs) == 1 and signoffs[0].signer_name == "Wang Min"
    assert signoffs[0].signature_png.startswith(b"\x89PNG")
    page.reload()
    expect(card(page, v.id).get_by_test_id("signoff-state")).to_have_text("Signed by Wang Min")


def test_an_update_whose_answer_is_lost_is_resent_and_applied_once(db, phone):
    day = make_day(db)
    page = sign_in(phone, "tech01")
    v = day.visit2
    c = card(page, v.id)
    c.get_by_test_id("start-travel").click()
    sent_all(page)
    c.get_by_test_id("arrive").click()
    sent_all(page)

    lost = []

    def lose_the_answer(route):
        if not lost:
            route.fetch()  # the server applies it...
            lost.append(route.request.post_data_json["client_action_id"])
            route.abort("connectionreset")  # ...but the phone never hears back
        else:
            route.continue_()

    page.route("**/complete", lose_the_answer)
    c.get_by_test_id("open-complete").click()
    c.get_by_test_id("resolution").select_option("replaced_part")
    c.get_by_test_id("add-part").click()
    c.locator(".part-select").select_option(str(day.world.part.id))
    c.get_by_test_id("no-signature").check()
    c.get_by_test_id("no-signature-merchant_absent").check()
    c.get_by_test_id("submit-complete").click()
    expect(page.get_by_test_id("outbox-count")).to_have_text("1")
    page.get_by_role("button", name="Send now").click()
    sent_all(page)

    done = [e for e in events(_fresh(db), v.work_order_id) if e.to_status == "completed"
            and e.action == "transition"]
    assert len(done) == 1 and done[0].client_action_id == lost[0]
    assert len(db.exec(select(Signoff).where(Signoff.work_order_id == v.work_order_id)).all()) == 1
    assert van_on_hand(_fresh(db), day) == 1
    assert len(db.exec(select(StockMove).where(StockMove.kind == "consume")).all()) == 1


def test_another_technicians_visit_page_is_forbidden(db, phone):
    day = make_day(db)
    page = sign_in(phone, "tech02")
    expect(page.get_by_test_id("no-visits")).to_be_visible()
    resp = page.goto(f"/tech/visits/{day.visit.id}")
    assert resp.status == 403


def test_a_refused_update_is_shown_and_the_card_shows_the_servers_state(db, phone):
    day = make_day(db)
    page = sign_in(phone, "tech01")
    v = day.visit2
    wo = db.get(WorkOrder, v.work_order_id)
    wo.status = "cancelled"  # the dispatcher called it off meanwhile
    db.add(wo)
    db.commit()
    card(page, v.id).get_by_test_id("start-travel").click()
    refused = page.locator("#outbox-list li.failed")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("refused")
    expect(status_of(page, v.id)).to_have_text("Planned")
    refused.get_by_role("button", name="Discard").click()
    expect(page.get_by_test_id("outbox")).to_be_hidden()
    assert events(_fresh(db), wo.id) == []
