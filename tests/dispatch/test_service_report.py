"""The service report (issue 19, point 5): resolution, parts with serials, photos,
signature and times on site on the work order and a printable page; the completion
SMS carries a signed link that opens the report without an account, and a changed or
expired link is refused."""
from __future__ import annotations

import io
import re
import time

from sqlmodel import select

from dispatch.field import service_report as rep
from dispatch.models import WorkOrder
from notifications.models import OutboundMessage
from tests.builders.field import aid, make_day, to_on_site
from tests.builders.images import image_bytes, signature_png
from tests.builders.people import login
from tests.builders.stock import make_board_in_van


def complete_with_everything(client, db):
    """tech01 completes with a serial-tracked board, a photo and a signature, through
    the API (a request: the SMS link is built from it)."""
    day = make_day(db)
    w = day.world
    board = make_board_in_van(db, w)
    to_on_site(db, day)
    login(client, "tech01")
    resp = client.post(f"/api/v1/tech/visits/{day.visit.id}/photos",
                       data={"client_action_id": aid(), "file": (io.BytesIO(image_bytes("JPEG", (64, 48))), "p.jpg")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    resp = client.post(f"/api/v1/tech/visits/{day.visit.id}/complete", json={
        "client_action_id": aid(), "resolution_code": "replaced_part",
        "notes": "Main board replaced, test payment OK",
        "parts": [{"part_id": board.id, "qty": 1, "serials": ["MB0001"]},
                  {"part_id": w.part.id, "qty": 1}],
        "signoff": {"signer_name": "Wang Min", "signature": signature_png()}})
    assert resp.status_code == 200, resp.get_json()
    client.post("/logout")
    return day


def report_link_of(db, day) -> str:
    db.expire_all()
    sms = db.exec(select(OutboundMessage).where(OutboundMessage.template == "visit_done_report")
                  ).one()
    assert sms.to_number == day.world.merchant.phone
    return re.search(r"(https?://\S+/r/\S+)", sms.body).group(1)


def test_report_lists_resolution_parts_serials_signature_and_times(app, client, db):
    day = complete_with_everything(client, db)
    db.expire_all()
    with app.test_request_context():
        report = rep.service_report(db, db.get(WorkOrder, day.wo.id))
    assert report["resolution_code"] == "replaced_part"
    parts = {p["sku"]: p for p in report["parts"]}
    assert parts["MB-PAX"]["serials"] == ["MB0001"] and parts["CR-PAX"]["qty"] == 1
    assert report["signoff"]["signer_name"] == "Wang Min" and report["signature"]
    assert report["times"]["arrival"] and report["times"]["end"]
    assert report["times"]["on_site_minutes"] is not None
    assert len(report["photos"]) == 1
    assert report["technician"] == "Li Wei"


def test_completion_sms_link_opens_the_report_without_signing_in(client, db):
    day = complete_with_everything(client, db)
    link = report_link_of(db, day)
    path = link.split("://", 1)[1].split("/", 1)[1]
    resp = client.get("/" + path)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert day.wo.number in html and "MB0001" in html and "Wang Min" in html
    assert "Replaced a part" in html
    assert resp.headers["Cache-Control"] == "private, no-store"
    photo = re.search(r'src="(/r/[^"]+/photos/\d+)"', html).group(1)
    got = client.get(photo)
    assert got.status_code == 200 and got.mimetype == "image/jpeg"


def test_a_changed_link_is_refused(client, db):
    day = complete_with_everything(client, db)
    token = report_link_of(db, day).rsplit("/r/", 1)[1]
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert client.get(f"/r/{tampered}").status_code == 404
    assert client.get(f"/r/{token}x/photos/1").status_code == 404
    # a token signed for another purpose does not open a report either
    from itsdangerous import URLSafeTimedSerializer

    other = URLSafeTimedSerializer("test-secret", salt="something-else").dumps(
        day.wo.id)
    assert client.get(f"/r/{other}").status_code == 404


def test_an_expired_link_is_refused(client, db, monkeypatch):
    day = complete_with_everything(client, db)
    token = report_link_of(db, day).rsplit("/r/", 1)[1]

    class Later:
        @staticmethod
        def time() -> float:
            return time.time() + rep.LINK_MAX_AGE.total_seconds() + 60

    monkeypatch.setattr(rep, "time", Later)
    resp = client.get(f"/r/{token}")
    assert resp.status_code == 410
    assert "expired" in resp.get_data(as_text=True)


def test_a_photo_of_another_work_order_is_not_served_through_a_link(client, db):
    day = complete_with_everything(client, db)
    token = report_link_of(db, day).rsplit("/r/", 1)[1]
    from dispatch.models import Attachment

    other = Attachment(work_order_id=day.wo2.id, filename="x.jpg", content_type="image/jpeg",
                       size_bytes=1, sha256="0" * 64, storage_path="00/x.jpg")
    db.add(other)
    db.commit()
    assert client.get(f"/r/{token}/photos/{other.id}").status_code == 404


def test_work_order_page_and_printable_report_for_staff(client, db):
    day = complete_with_everything(client, db)
    login(client, "dispatcher")
    html = client.get(f"/work-orders/{day.wo.id}").get_data(as_text=True)
    assert 'data-testid="service-report"' in html and "MB0001" in html and "Wang Min" in html
    page = client.get(f"/work-orders/{day.wo.id}/report")
    assert page.status_code == 200 and "data-print" in page.get_data(as_text=True)
    api = client.get(f"/api/v1/work-orders/{day.wo.id}/report").get_json()
    assert api["signoff"]["signed"] is True
    client.post("/logout")
    login(client, "tech02")
    assert client.get(f"/work-orders/{day.wo.id}/report").status_code == 403


def test_the_link_uses_the_public_url_also_without_a_request(app, client, db, monkeypatch):

    day = make_day(db)
    monkeypatch.setitem(app.config, "FIXROUTE", app.config["FIXROUTE"].model_copy(
        update={"public_base_url": "https://fixroute.example.com/"}))
    with app.app_context():
        link = rep.report_link(db.get(WorkOrder, day.wo.id))
        assert link.startswith("https://fixroute.example.com/r/")
        token = link.rsplit("/r/", 1)[1]
        assert rep.work_order_for_token(db, token).id == day.wo.id
    assert client.get(link.removeprefix("https://fixroute.example.com")).status_code == 200
    monkeypatch.setitem(app.config, "FIXROUTE", app.config["FIXROUTE"].model_copy(
        update={"public_base_url": None}))
    with app.app_context():
        assert rep.report_link(db.get(WorkOrder, day.wo.id)) is None
