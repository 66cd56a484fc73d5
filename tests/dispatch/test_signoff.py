"""The merchant's sign-off at completion (issue 19, point 4): stored with the
completion under the phone's id, refused when neither a signature nor a reason is
given, audited, and readable through the API."""
from __future__ import annotations

import pytest
from sqlmodel import select

from core.errors import Conflict, InvalidInput
from dispatch.field import service as svc
from dispatch.field.signoff import SignoffIn, check_signoff
from dispatch.models import Signoff, WorkOrder, WorkOrderEvent
from tests.builders.field import aid, make_day, to_on_site
from tests.builders.images import signature_png
from tests.builders.people import login


def test_completion_stores_signature_and_name_once_even_when_sent_twice(db):
    day = make_day(db)
    to_on_site(db, day)
    tech = day.world.users["tech01"]
    action = aid()
    sign = SignoffIn(signer_name="Wang Min", signature=signature_png())
    first = svc.complete(db, day.visit.id, tech, action, resolution_code="fixed_on_site",
                         signoff=sign)
    again = svc.complete(db, day.visit.id, tech, action, resolution_code="fixed_on_site",
                         signoff=sign)
    assert again.replayed and again.event_id == first.event_id
    rows = db.exec(select(Signoff).where(Signoff.work_order_id == day.wo.id)).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.signer_name == "Wang Min" and row.signature_png.startswith(b"\x89PNG")
    assert row.visit_id == day.visit.id and row.recorded_by_user_id == tech.id
    audit = db.exec(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == day.wo.id,
                                                 WorkOrderEvent.action == "signoff")).all()
    assert len(audit) == 1 and audit[0].data["signed"] is True


def test_no_signature_needs_a_reason_and_other_needs_words(db):
    with pytest.raises(InvalidInput) as exc:
        check_signoff(SignoffIn())
    assert exc.value.fields[0]["field"] == "signoff.no_signature_reason"
    with pytest.raises(InvalidInput) as exc:
        check_signoff(SignoffIn(no_signature_reason="other"))
    assert exc.value.fields[0]["field"] == "signoff.no_signature_note"
    ok = check_signoff(SignoffIn(no_signature_reason="merchant_absent"))
    assert ok.signature_png is None and ok.no_signature_reason == "merchant_absent"


@pytest.mark.parametrize("value, field", [
    (signature_png(blank=True), "signoff.signature"),
    ("data:image/jpeg;base64,AAAA", "signoff.signature"),
    ("not base64!!", "signoff.signature"),
])
def test_a_blank_or_unreadable_signature_is_refused(value, field):
    with pytest.raises(InvalidInput) as exc:
        check_signoff(SignoffIn(signer_name="Wang Min", signature=value))
    assert exc.value.fields[0]["field"] == field


def test_a_signature_needs_the_printed_name():
    with pytest.raises(InvalidInput) as exc:
        check_signoff(SignoffIn(signature=signature_png()))
    assert exc.value.fields[0]["field"] == "signoff.signer_name"


def test_a_refused_signoff_leaves_the_visit_on_site(db):
    day = make_day(db)
    to_on_site(db, day)
    with pytest.raises(InvalidInput):
        svc.complete(db, day.visit.id, day.world.users["tech01"], aid(),
                     resolution_code="fixed_on_site", signoff=SignoffIn())
    db.expire_all()
    assert db.get(WorkOrder, day.wo.id).status == "on_site"


def test_signoff_after_completion_once(db):
    day = make_day(db)
    to_on_site(db, day)
    tech = day.world.users["tech01"]
    with pytest.raises(Conflict):
        svc.add_signoff(db, day.visit.id, tech, aid(),
                        signoff=SignoffIn(no_signature_reason="refused"))
    svc.complete(db, day.visit.id, tech, aid(), resolution_code="fixed_on_site")
    action = aid()
    r1 = svc.add_signoff(db, day.visit.id, tech, action,
                         signoff=SignoffIn(no_signature_reason="refused"))
    r2 = svc.add_signoff(db, day.visit.id, tech, action,
                         signoff=SignoffIn(no_signature_reason="refused"))
    assert r2.replayed and r2.event_id == r1.event_id
    with pytest.raises(Conflict):
        svc.add_signoff(db, day.visit.id, tech, aid(),
                        signoff=SignoffIn(signer_name="X", signature=signature_png()))


def test_api_complete_with_signoff_and_read_it_back(client, db):
    day = make_day(db)
    to_on_site(db, day)
    login(client, "tech01")
    resp = client.post(f"/api/v1/tech/visits/{day.visit.id}/complete", json={
        "client_action_id": aid(), "resolution_code": "fixed_on_site",
        "signoff": {"signer_name": "Wang Min", "signature": signature_png()}})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["visit"]["signoff"]["signer_name"] == "Wang Min"
    resp = client.get(f"/api/v1/work-orders/{day.wo.id}/signoff")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["signed"] is True and body["signature"].startswith("data:image/png;base64,")
    client.post("/logout")
    login(client, "tech02")
    assert client.get(f"/api/v1/work-orders/{day.wo.id}/signoff").status_code == 403


def test_api_refuses_a_completion_whose_signoff_is_incomplete(client, db):
    day = make_day(db)
    to_on_site(db, day)
    login(client, "tech01")
    resp = client.post(f"/api/v1/tech/visits/{day.visit.id}/complete", json={
        "client_action_id": aid(), "resolution_code": "fixed_on_site",
        "signoff": {"signature": signature_png()}})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"][0]["field"] == "signoff.signer_name"
