"""Input limits (issue 16, findings 8, 9 and 11): image pixel counts, bodies that used to
end in a server error, unbounded numbers and LIKE wildcards in searches."""
from __future__ import annotations

import io
import uuid
from datetime import date

import pytest
from PIL import Image
from sqlmodel import select

from core.errors import InvalidInput
from dispatch.models import Attachment, FaultReport
from dispatch.workorders.attachments import MAX_PIXELS, sniff_image
from tests.builders.field import make_day, to_on_site
from tests.builders.people import bearer, login
from tests.builders.workorders import make_fault
from tests.builders.world import make_world


def big_png(width: int, height: int) -> bytes:
    """A 1-bit PNG of a blank canvas: a few KB on the wire whatever its pixel count."""
    buf = io.BytesIO()
    Image.new("1", (width, height)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = big_png(10_000, 10_000)  # 100 megapixels
    assert len(data) < 200_000
    return data


# --- finding 8: one pixel limit wherever images are accepted ---------------------------

def test_the_pixel_limit_is_40_megapixels_checked_before_decoding(bomb):
    assert MAX_PIXELS == 40_000_000 and Image.MAX_IMAGE_PIXELS == MAX_PIXELS
    for data in (bomb, big_png(7_000, 6_000)):  # 100 MP (Pillow's error), 42 MP (its warning)
        with pytest.raises(InvalidInput, match="40 megapixels") as exc:
            sniff_image(data)
        assert exc.value.fields[0]["field"] == "file"
    assert sniff_image(big_png(6_000, 6_000))[0] == "image/png"  # 36 MP passes


def test_api_fault_and_work_order_attachments_refuse_a_pixel_bomb(client, db, bomb):
    w = make_world(db)
    fault = make_fault(db, w)
    h = bearer(client, "agent")
    r = client.post(f"/api/v1/faults/{fault.id}/attachments", headers=h,
                    data={"file": (io.BytesIO(bomb), "screen.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["fields"][0]["field"] == "file" and "40 megapixels" in error["message"]
    assert db.exec(select(Attachment)).all() == []


def test_desk_page_upload_refuses_a_pixel_bomb_with_a_message(client, db, bomb):
    w = make_world(db)
    fault = make_fault(db, w)
    login(client, "agent")
    page = client.post(f"/desk/faults/{fault.id}/attachments",
                       data={"file": (io.BytesIO(bomb), "screen.png")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "40 megapixels" in page.get_data(as_text=True)
    assert db.exec(select(Attachment)).all() == []


def test_technician_photo_refuses_a_pixel_bomb(client, db, bomb):
    day = make_day(db)
    to_on_site(db, day)
    h = bearer(client, "tech01")
    r = client.post(f"/api/v1/tech/visits/{day.visit.id}/photos", headers=h,
                    data={"file": (io.BytesIO(bomb), "p.png"), "client_action_id": str(uuid.uuid4())},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "file"
    assert db.exec(select(Attachment)).all() == []


# --- finding 9: bodies that ended in a 500 ---------------------------------------------

def test_json_nested_100000_deep_is_a_400(app, client, db):
    make_world(db)
    h = bearer(client, "agent")
    app.config["PROPAGATE_UNEXPECTED"] = False  # a crash must show as a 500 here
    try:
        r = client.post("/api/v1/faults", headers={**h, "Content-Type": "application/json"},
                        data="[" * 100_000 + "]" * 100_000)
    finally:
        app.config["PROPAGATE_UNEXPECTED"] = True
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "bad_request"


def test_a_lone_surrogate_is_a_422_naming_the_field(app, client, db):
    w = make_world(db)
    h = bearer(client, "agent")
    app.config["PROPAGATE_UNEXPECTED"] = False
    try:
        body = ('{"merchant_id": ' + str(w.merchant.id)
                + ', "category": "hw_printer", "symptoms": "paper \\ud800 jam"}')
        r = client.post("/api/v1/faults", headers={**h, "Content-Type": "application/json"},
                        data=body)
        nested = client.post("/api/v1/faults", headers={**h, "Content-Type": "application/json"},
                             data='{"merchant_id": 1, "category": "hw_printer", "x": ["\\udfff"]}')
    finally:
        app.config["PROPAGATE_UNEXPECTED"] = True
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["error"]["fields"][0]["field"] == "symptoms"
    assert nested.status_code == 422
    assert nested.get_json()["error"]["fields"][0]["field"] == "x[0]"
    assert db.exec(select(FaultReport)).all() == []


# --- finding 11: unbounded numbers, the development phone, LIKE wildcards --------------

def test_solution_limit_is_bounded_in_the_schema_and_the_service(client, db):
    from dispatch.models import Plan
    from dispatch.planning import jobs as plan_jobs

    w = make_world(db)
    plan = Plan(region_id=w.region.id, day=date(2026, 11, 24), status="draft")
    db.add(plan)
    db.commit()
    h = bearer(client, "dispatcher")
    for limit in (2**70, plan_jobs.MAX_SOLUTION_LIMIT + 1, 0):
        r = client.post(f"/api/v1/plans/{plan.id}/solve", headers=h,
                        json={"solution_limit": limit, "time_limit_s": 1})
        assert r.status_code == 422, (limit, r.get_json())
        assert r.get_json()["error"]["fields"][0]["field"] == "solution_limit"
    spec = client.get("/api/v1/openapi.json").get_json()
    schema = spec["components"]["schemas"]["SolveRequest"]["properties"]["solution_limit"]
    bounds = next(s for s in schema.get("anyOf", [schema]) if s.get("type") == "integer")
    assert (bounds["minimum"], bounds["maximum"]) == (1, plan_jobs.MAX_SOLUTION_LIMIT)
    with pytest.raises(InvalidInput):
        plan_jobs.start_plan_job(db, plan.id, version=None, database_url="sqlite://",
                                 solution_limit=2**70)


def test_dev_phone_is_off_entirely_when_twilio_is_configured(app, client, db, monkeypatch):
    make_world(db)
    login(client, "dispatcher")
    number = "+8613812345678"
    assert client.get("/dev/phone").status_code == 200  # no Twilio: the development phone
    settings = app.config["FIXROUTE"].model_copy(
        update={"twilio_account_sid": "AC" + "1" * 32, "twilio_auth_token": "t", "twilio_from_number": "+15005550006"})
    monkeypatch.setitem(app.config, "FIXROUTE", settings)
    assert settings.twilio_configured
    assert client.get("/dev/phone").status_code == 404
    assert client.get(f"/dev/phone/{number}").status_code == 404
    assert client.post(f"/dev/phone/{number}/reply", data={"body": "YES"}).status_code == 404
    assert client.post("/dev/phone/deliver").status_code == 404
    from notifications.outbox import enqueue_sms

    enqueue_sms(db, key="k-dev", to=number, template="visit_done", locale="en",
                context={"ref": "WO-1"})
    db.commit()
    outbox = client.get("/sms").get_data(as_text=True)
    assert number in outbox and f'href="/dev/phone/{number}"' not in outbox


def test_like_wildcards_in_searches_match_themselves(client, db):
    from dispatch.desk.service import search_merchants
    from dispatch.models import Merchant, WorkOrder
    from dispatch.workorders.service import work_order_query

    w = make_world(db)
    percent = Merchant(code="MPX0050", name="50% Off Noodles", phone="+8613800000050",
                       lat=31.22, lon=121.46, region_id=w.region.id)
    db.add(percent)
    db.add(WorkOrder(number="WO-L0001", title="Printer jam", region_id=w.region.id,
                     merchant_id=w.merchant.id))
    db.commit()
    for wildcard in ("%", "_", "%%", "_%_"):
        assert search_merchants(db, wildcard) == [] or wildcard == "%", wildcard
        assert db.exec(work_order_query(q=wildcard)).all() == [], wildcard
    assert [m.name for m in search_merchants(db, "%")] == ["50% Off Noodles"]
    assert [m.name for m in search_merchants(db, "50%")] == ["50% Off Noodles"]
    assert search_merchants(db, "5_%") == []
    assert [wo.number for wo in db.exec(work_order_query(q="printer")).all()] == ["WO-L0001"]
    h = bearer(client, "agent")
    assert client.get("/api/v1/merchants?q=_", headers=h).get_json()["items"] == []
    assert client.get("/api/v1/work-orders?q=%25", headers=bearer(client, "dispatcher")
                      ).get_json()["items"] == []
    login(client, "agent")
    page = client.get("/maintenance/terminals?q=_").get_data(as_text=True)
    assert "PAX0100001" not in page
    page = client.get("/maintenance/terminals?q=pax01").get_data(as_text=True)
    assert "PAX0100001" in page
