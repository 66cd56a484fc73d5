"""Input limits (issue 16, findings 8, 9 and 11): image pixel counts, bodies that used to
end in a server error, unbounded numbers and LIKE wildcards in searches."""
from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image
from sqlmodel import select

from core.api import ValidationFailed
from dispatch.attachments import MAX_PIXELS, sniff_image
from dispatch.models import Attachment, FaultReport
from tests.dispatch.test_desk import fault_for
from tests.dispatch.test_tech_service import make_day, to_on_site
from tests.factories import bearer, login, make_world


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
        with pytest.raises(ValidationFailed, match="40 megapixels") as exc:
            sniff_image(data)
        assert exc.value.fields[0]["field"] == "file"
    assert sniff_image(big_png(6_000, 6_000))[0] == "image/png"  # 36 MP passes


def test_api_fault_and_work_order_attachments_refuse_a_pixel_bomb(client, db, bomb):
    w = make_world(db)
    fault = fault_for(db, w)
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
    fault = fault_for(db, w)
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
