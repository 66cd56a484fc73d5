"""The desk's answers that were wrong: closing a fault by phone needed no reason and
could not be undone; images waited until the fault was saved; a second call about the
same problem became a second fault unnoticed; category hints broke on quote marks."""
from __future__ import annotations

import html
import io
from datetime import timedelta

import pytest
from sqlmodel import select

from core.errors import Conflict, InvalidInput
from core.models import AuditEvent
from core.timeutil import utcnow
from dispatch.desk import service as svc
from dispatch.desk.catalog import CATEGORIES
from dispatch.models import Attachment, FaultReport
from tests.builders.images import image_bytes
from tests.builders.people import bearer, login
from tests.builders.workorders import make_fault
from tests.builders.world import make_world


def test_closing_by_phone_needs_a_reason_or_a_step_that_fixed_it(db):
    w = make_world(db)
    fault = make_fault(db, w)
    with pytest.raises(InvalidInput) as exc:
        svc.resolve_remotely(db, fault, "  ", actor=w.users["agent"])
    assert exc.value.fields[0]["field"] == "note"
    db.refresh(fault)
    assert fault.status == "open"
    svc.record_triage(db, fault, [("clean_card_slot", "fixed", "")])
    svc.resolve_remotely(db, fault, "", actor=w.users["agent"])  # the step says it
    assert fault.status == "resolved_remotely"
    audit = db.exec(select(AuditEvent).where(AuditEvent.entity == "fault",
                                             AuditEvent.action == "resolved_remotely")).one()
    assert audit.data["fixed_by"] == ["clean_card_slot"]


def test_a_fault_closed_by_phone_reopens_within_days_and_is_audited(db):
    w = make_world(db)
    fault = make_fault(db, w)
    svc.resolve_remotely(db, fault, "Card slot cleaned", actor=w.users["agent"])
    with pytest.raises(InvalidInput):
        svc.reopen(db, fault, "", actor=w.users["agent"])
    svc.reopen(db, fault, "Cards fail again", actor=w.users["agent"])
    db.refresh(fault)
    assert (fault.status, fault.closed_at, fault.resolution_note) == ("open", None, "")
    audit = db.exec(select(AuditEvent).where(AuditEvent.action == "reopened")).one()
    assert audit.data["reason"] == "Cards fail again"
    assert audit.data["previous_resolution"] == "Card slot cleaned"
    # too late: a new fault instead
    svc.resolve_remotely(db, fault, "Cleaned again", actor=w.users["agent"])
    later = utcnow() + timedelta(days=svc.REOPEN_DAYS + 1)
    with pytest.raises(Conflict):
        svc.reopen(db, fault, "Broken again", now=later)


def test_desk_resolve_asks_for_confirmation_and_reopen_works_by_api(app, client, db):
    w = make_world(db)
    fault = make_fault(db, w)
    login(client, "agent")
    client.post(f"/desk/faults/{fault.id}/resolve", data={"note": "Restarted"})
    db.refresh(fault)
    assert fault.status == "open"  # not confirmed
    client.post(f"/desk/faults/{fault.id}/resolve", data={"note": "Restarted", "confirm": "1"})
    db.rollback()  # end the read snapshot from before the request
    db.refresh(fault)
    assert fault.status == "resolved_remotely"
    page = client.get(f"/desk/faults/{fault.id}").get_data(as_text=True)
    assert 'data-testid="reopen"' in page
    api = app.test_client()
    headers = bearer(api, "agent")
    assert api.post(f"/api/v1/faults/{fault.id}/reopen", json={"reason": ""},
                    headers=headers).status_code == 422
    r = api.post(f"/api/v1/faults/{fault.id}/reopen", json={"reason": "Back again"},
                 headers=headers)
    assert r.status_code == 200 and r.get_json()["status"] == "open"


def test_images_attach_while_recording_and_a_bad_one_keeps_nothing(app, client, db):
    w = make_world(db)
    login(client, "agent")
    data = {"terminal_id": str(w.terminal.id), "category": "hw_card_reader", "symptoms": "E05",
            "channel": "phone",
            "photos": [(io.BytesIO(image_bytes("PNG")), "screen.png"),
                       (io.BytesIO(image_bytes("JPEG")), "slot.jpg")]}
    r = client.post(f"/desk/merchants/{w.merchant.id}/faults", data=data,
                    content_type="multipart/form-data")
    assert r.status_code == 302
    fault = db.exec(select(FaultReport)).one()
    names = sorted(a.filename for a in db.exec(
        select(Attachment).where(Attachment.fault_id == fault.id)))
    assert names == ["screen.png", "slot.jpg"]

    data = {"terminal_id": str(w.terminal.id), "category": "hw_printer", "channel": "phone",
            "confirm_new": "1",
            "photos": [(io.BytesIO(image_bytes("PNG")), "ok.png"),
                       (io.BytesIO(b"not an image at all"), "evil.png")]}
    r = client.post(f"/desk/merchants/{w.merchant.id}/faults", data=data,
                    content_type="multipart/form-data")
    assert r.status_code == 422
    assert len(db.exec(select(FaultReport)).all()) == 1  # the second fault was not kept
    assert len(db.exec(select(Attachment)).all()) == 2


def test_a_second_call_about_open_work_is_warned_before_recording(client, db):
    w = make_world(db)
    first = make_fault(db, w)
    login(client, "agent")
    card = client.get(f"/desk/merchants/{w.merchant.id}").get_data(as_text=True)
    assert 'data-testid="open-related"' in card and f"F-{first.id}" in card
    body = {"terminal_id": str(w.terminal.id), "category": "hw_card_reader",
            "symptoms": "still broken", "channel": "phone"}
    r = client.post(f"/desk/merchants/{w.merchant.id}/faults", data=body)
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert f"F-{first.id}" in page and "still broken" in page  # the typed text is kept
    assert len(db.exec(select(FaultReport)).all()) == 1
    r = client.post(f"/desk/merchants/{w.merchant.id}/faults", data={**body, "confirm_new": "1"})
    assert r.status_code == 302
    db.rollback()  # end the read snapshot from before the request
    assert len(db.exec(select(FaultReport)).all()) == 2


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_category_hints_with_quote_marks_survive_in_attributes(client, db, lang):
    w = make_world(db)
    login(client, "agent")
    client.post(f"/lang/{lang}")
    page = client.get(f"/desk/merchants/{w.merchant.id}").get_data(as_text=True)
    quoted = [c for c in CATEGORIES.values() if any('"' in str(s) for s in c.symptoms)]
    assert quoted, "the catalog has symptoms with quote marks"
    import re

    for c in quoted:
        m = re.search(rf'<option value="{c.code}" data-symptoms="([^"]*)"', page)
        assert m, c.code
        from flask_babel import force_locale

        with client.application.test_request_context(), force_locale(lang):
            want = " · ".join(str(s) for s in c.symptoms)
        assert html.unescape(m.group(1)) == want
