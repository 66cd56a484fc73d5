"""Fault intake, remote triage, escalation, attachments and who may do what."""
from __future__ import annotations

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from core.errors import Conflict, InvalidInput
from core.models import AuditEvent
from dispatch.desk import service as svc
from dispatch.models import Attachment, FaultReport, WorkOrder, WorkOrderEvent
from dispatch.workorders.attachments import MAX_BYTES, sniff_image, store_attachment
from dispatch.workorders.service import transition
from tests.builders.images import image_bytes
from tests.builders.people import bearer, login
from tests.builders.planning import make_plan, make_visit
from tests.builders.workorders import make_fault
from tests.builders.world import make_world

SH = ZoneInfo("Asia/Shanghai")


# --- service ----------------------------------------------------------------------------

def test_find_merchant_by_name_phone_or_terminal_serial(db):
    w = make_world(db)
    for q in ("noodle", "13812345678", "pax0100001", "MPX0001"):
        assert [m.id for m in svc.search_merchants(db, q)] == [w.merchant.id], q
    assert svc.search_merchants(db, "no such shop") == []


def test_escalation_takes_sla_skills_parts_and_time_from_the_category(db):
    w = make_world(db)
    # Saturday 21:00 in Shanghai; standard tier, terminal down: 16 business hours in the
    # merchant's 10-14 / 17-22 hours: Sat 1 h, Sun 9 h, Mon 10-14 (4 h), Mon 17-19 (2 h)
    fault = make_fault(db, w, reported_at=datetime(2026, 11, 28, 21, 0, tzinfo=SH))
    svc.record_triage(db, fault, [("restart", "not_fixed", ""), ("clean_card_slot", "not_fixed",
                                                                  "tried two cards")],
                      actor=w.users["agent"])
    wo = svc.escalate(db, fault, actor=w.users["agent"])
    assert wo.sla_due_at == datetime(2026, 11, 30, 19, 0, tzinfo=SH)
    assert (wo.kind, wo.status, wo.priority, wo.severity) == ("repair", "ready", "high", "down")
    assert wo.required_skills == ["hardware", "card_reader"]
    assert wo.predicted_parts == [{"kind": "card_reader", "qty": 1}]
    assert wo.service_minutes == 45 and wo.terminal_id == w.terminal.id
    assert "E05" in wo.description and "clean_card_slot=not_fixed" in wo.description
    db.refresh(fault)
    assert (fault.status, fault.work_order_id) == ("escalated", wo.id)
    assert fault.closed_at is not None


def test_second_fault_on_the_same_terminal_joins_the_open_work_order(db):
    w = make_world(db)
    wo = svc.escalate(db, make_fault(db, w, category="hw_printer"))
    wo2 = svc.escalate(db, make_fault(db, w, category="hw_screen"))
    assert wo2.id == wo.id
    assert len(db.exec(select(WorkOrder)).all()) == 1
    assert len(db.exec(select(FaultReport).where(FaultReport.work_order_id == wo.id)).all()) == 2
    db.refresh(wo)
    assert wo.severity == "down" and wo.priority == "high"  # raised by the worse report


def test_resolved_remotely_is_kept_and_closed(db):
    w = make_world(db)
    fault = make_fault(db, w, category="sw_config")
    svc.record_triage(db, fault, [("reset_config", "fixed", "")])
    svc.resolve_remotely(db, fault, "Parameters reloaded", actor=w.users["agent"])
    db.refresh(fault)
    assert (fault.status, fault.resolution_note) == ("resolved_remotely", "Parameters reloaded")
    assert db.exec(select(WorkOrder)).all() == []
    with pytest.raises(Conflict):
        svc.escalate(db, fault)
    with pytest.raises(Conflict):
        svc.record_triage(db, fault, [("restart", "fixed", "")])
    actions = [a.action for a in db.exec(
        select(AuditEvent).where(AuditEvent.entity == "fault").order_by(AuditEvent.id))]
    assert actions == ["created", "triage", "resolved_remotely"]


@pytest.mark.parametrize("steps,field", [([("fly", "fixed", "")], "steps[0].step"),
                                         ([("restart", "maybe", "")], "steps[0].outcome"),
                                         ([], "steps")])
def test_bad_checklist_input_names_the_step(db, steps, field):
    w = make_world(db)
    fault = make_fault(db, w)
    with pytest.raises(InvalidInput) as exc:
        svc.record_triage(db, fault, steps)
    assert exc.value.fields[0]["field"] == field


def test_bad_fault_input_is_refused(db):
    w = make_world(db)
    with pytest.raises(InvalidInput):
        svc.create_fault(db, merchant=w.merchant, category="alien_probe")
    with pytest.raises(InvalidInput):
        svc.create_fault(db, merchant=w.merchant, category="hw_keys", channel="pigeon")
    assert db.exec(select(FaultReport)).all() == []


# --- attachments ----------------------------------------------------------------------

@pytest.mark.parametrize("fmt,ctype", [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                       ("WEBP", "image/webp")])
def test_images_are_recognised_from_their_content(fmt, ctype):
    assert sniff_image(image_bytes(fmt))[0] == ctype


@pytest.mark.parametrize("data", [b"", b"%PDF-1.4 not an image", b"\x89PNG\r\n\x1a\n broken",
                                  image_bytes("GIF"), image_bytes("BMP")])
def test_other_content_is_refused(data):
    with pytest.raises(InvalidInput) as exc:
        sniff_image(data)
    assert exc.value.fields[0]["field"] == "file"


def test_more_than_ten_megabytes_is_refused():
    with pytest.raises(InvalidInput, match="10 MB"):
        sniff_image(image_bytes("PNG") + b"\0" * MAX_BYTES)


def test_stored_once_by_content_hash(db, tmp_path):
    w = make_world(db)
    fault = make_fault(db, w)
    data = image_bytes("PNG")
    a = store_attachment(db, data=data, filename="../../etc/screen.png", upload_dir=str(tmp_path),
                         fault=fault)
    b = store_attachment(db, data=data, filename="again.png", upload_dir=str(tmp_path), fault=fault)
    assert a.sha256 == b.sha256 and a.storage_path == b.storage_path
    assert a.filename == "screen.png"
    assert (tmp_path / a.storage_path).read_bytes() == data
    assert len(list(tmp_path.rglob("*.png"))) == 1


def _attachment_audits(db) -> list[AuditEvent]:
    return list(db.exec(select(AuditEvent).where(AuditEvent.entity == "attachment")
                        .order_by(AuditEvent.id)))


def test_attaching_an_image_to_a_fault_or_work_order_is_audited(db, tmp_path):
    w = make_world(db)
    agent = w.users["agent"]
    fault = make_fault(db, w)
    on_fault = store_attachment(db, data=image_bytes("PNG"), filename="screen.png",
                                upload_dir=str(tmp_path), fault=fault, actor=agent)
    wo = svc.escalate(db, make_fault(db, w), actor=agent)
    on_wo = store_attachment(db, data=image_bytes("JPEG"), filename="receipt.jpg",
                             upload_dir=str(tmp_path), work_order=wo, actor=w.users["dispatcher"])
    first, second = _attachment_audits(db)
    assert (first.entity_id, first.action, first.actor_user_id, first.actor_label) == (
        str(on_fault.id), "added", agent.id, "agent")
    assert first.data["fault_id"] == fault.id and first.data["work_order_id"] is None
    assert first.data["sha256"] == on_fault.sha256 and first.data["filename"] == "screen.png"
    assert (second.entity_id, second.action, second.actor_user_id) == (
        str(on_wo.id), "added", w.users["dispatcher"].id)
    assert second.data["work_order_id"] == wo.id


def test_a_refused_photo_keeps_neither_the_fault_nor_its_photos_nor_their_audit(db, tmp_path):
    w = make_world(db)
    with pytest.raises(InvalidInput):
        svc.record_fault(db, photos=[(image_bytes("PNG"), "ok.png"), (b"not an image", "x.png")],
                         upload_dir=str(tmp_path), actor=w.users["agent"], merchant=w.merchant,
                         terminal=w.terminal, category="hw_card_reader", symptoms="Card not read")
    assert db.exec(select(FaultReport)).all() == [] and db.exec(select(Attachment)).all() == []
    assert _attachment_audits(db) == []


# --- over HTTP: API and pages -----------------------------------------------------------

def test_agent_takes_a_fault_from_call_to_work_order_over_the_api(client, db):
    w = make_world(db)
    h = bearer(client, "agent")
    r = client.get("/api/v1/merchants?q=PAX0100001", headers=h)
    assert r.status_code == 200 and r.get_json()["items"][0]["id"] == w.merchant.id
    r = client.post("/api/v1/faults", headers=h, json={
        "merchant_id": w.merchant.id, "terminal_id": w.terminal.id, "category": "net_host",
        "symptoms": "Host unreachable", "error_code": "COMM-02", "channel": "sms"})
    assert r.status_code == 201, r.get_json()
    fault = r.get_json()
    assert [s["step"] for s in fault["checklist"]] == ["check_network", "check_signal", "restart",
                                                       "reset_config"]
    fid = fault["id"]
    r = client.post(f"/api/v1/faults/{fid}/checklist", headers=h, json={"steps": [
        {"step": "check_network", "outcome": "not_fixed"}, {"step": "restart", "outcome": "skipped"}]})
    assert r.status_code == 200
    outcomes = {s["step"]: s["outcome"] for s in r.get_json()["checklist"]}
    assert outcomes["check_network"] == "not_fixed" and outcomes["check_signal"] is None
    png = image_bytes("PNG")
    r = client.post(f"/api/v1/faults/{fid}/attachments", headers=h,
                    data={"file": (io.BytesIO(png), "screen.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    att = r.get_json()
    r = client.post(f"/api/v1/faults/{fid}/escalate", headers=h, json={"priority": "critical"})
    assert r.status_code == 201
    wo = r.get_json()
    assert wo["priority"] == "critical" and wo["required_skills"] == ["network"]
    r = client.get(f"/api/v1/work-orders/{wo['id']}", headers=h)
    detail = r.get_json()
    assert detail["faults"] == [fid]
    assert [a["id"] for a in detail["attachments"]] == [att["id"]]
    assert detail["events"][0]["action"] == "created"
    assert detail["events"][0]["to_status"] == "ready"
    r = client.post(f"/api/v1/faults/{fid}/escalate", headers=h, json={})
    assert r.status_code == 409


def test_upload_of_a_fake_image_is_a_422_naming_the_file(client, db):
    w = make_world(db)
    h = bearer(client, "agent")
    fault = make_fault(db, w)
    r = client.post(f"/api/v1/faults/{fault.id}/attachments", headers=h,
                    data={"file": (io.BytesIO(b"MZ\x90\x00 an exe"), "photo.jpg")},
                    content_type="multipart/form-data")
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"][0]["field"] == "file"
    assert db.exec(select(Attachment)).all() == []


def test_work_order_list_filters_and_search(client, db):
    w = make_world(db)
    wo = svc.escalate(db, make_fault(db, w, reported_at=datetime(2020, 1, 1, tzinfo=SH)))
    h = bearer(client, "dispatcher")
    def ids(qs):
        r = client.get(f"/api/v1/work-orders?{qs}", headers=h)
        assert r.status_code == 200, r.get_json()
        return [i["id"] for i in r.get_json()["items"]]
    assert ids("") == [wo.id]
    assert ids("status=ready&priority=high&kind=repair&at_risk=true") == [wo.id]
    assert ids(f"region_id={w.region.id}&q=noodle") == [wo.id]
    assert ids("q=WO-000001") == [wo.id]
    assert ids("status=completed") == [] and ids("priority=low") == [] and ids("q=zzz") == []
    assert client.get("/api/v1/work-orders?status=lost", headers=h).status_code == 422


def _dispatched_to(db, w, tech) -> WorkOrder:
    wo = svc.escalate(db, make_fault(db, w))
    make_visit(db, make_plan(db, w.region, date(2026, 11, 24)), wo, tech)
    transition(db, wo, "planned")
    transition(db, wo, "dispatched")
    return wo


def test_permissions_agent_technician_dispatcher(client, db):
    w = make_world(db)
    wo = _dispatched_to(db, w, w.tech)
    agent, tech, tech2, disp = (bearer(client, u) for u in ("agent", "tech01", "tech02", "dispatcher"))
    body = {"merchant_id": w.merchant.id, "category": "hw_keys"}
    assert client.post("/api/v1/faults", headers=tech, json=body).status_code == 403
    assert client.post("/api/v1/faults", headers=agent, json=body).status_code == 201
    assert client.get("/api/v1/work-orders", headers=tech).status_code == 403
    url = f"/api/v1/work-orders/{wo.id}/transition"
    # agents escalate but do not dispatch
    assert client.post(url, headers=agent, json={"to_status": "ready"}).status_code == 403
    # a technician moves only their own work order, only through the field statuses
    assert client.post(url, headers=tech2, json={"to_status": "en_route"}).status_code == 403
    assert client.get(f"/api/v1/work-orders/{wo.id}", headers=tech2).status_code == 403
    assert client.get(f"/api/v1/work-orders/{wo.id}", headers=tech).status_code == 200
    assert client.post(url, headers=tech, json={"to_status": "ready"}).status_code == 403
    r = client.post(url, headers=tech, json={"to_status": "en_route", "client_action_id": "t-1"})
    assert r.status_code == 200 and r.get_json()["status"] == "en_route"
    again = client.post(url, headers=tech, json={"to_status": "en_route", "client_action_id": "t-1"})
    assert again.status_code == 200 and again.get_json()["event_id"] == r.get_json()["event_id"]
    # a refused move is a 409 with the reason
    r = client.post(url, headers=disp, json={"to_status": "completed"})
    assert r.status_code == 409
    assert "cannot go from en_route to completed" in r.get_json()["error"]["message"]
    assert client.post(url, headers=disp, json={"to_status": "on_site"}).status_code == 200
    last = db.exec(select(WorkOrderEvent).order_by(WorkOrderEvent.id.desc())).first()
    assert (last.from_status, last.to_status, last.actor_user_id) == (
        "en_route", "on_site", w.users["dispatcher"].id)


def test_pages_permissions_and_attachment_serving(client, db):
    w = make_world(db)
    wo = _dispatched_to(db, w, w.tech)
    png = image_bytes("PNG")
    from flask import current_app  # noqa: F401
    att = store_attachment(db, data=png, filename="s.png", work_order=wo,
                           upload_dir=client.application.config["FIXROUTE"].upload_dir)
    assert client.get(f"/attachments/{att.id}").status_code == 302  # not signed in
    login(client, "tech02")
    assert client.get("/desk").status_code == 403
    assert client.get("/work-orders").status_code == 403
    assert client.get(f"/attachments/{att.id}").status_code == 403
    client.post("/logout")
    login(client, "tech01")
    r = client.get(f"/attachments/{att.id}")
    assert r.status_code == 200 and r.data == png and r.mimetype == "image/png"
    client.post("/logout")
    login(client, "agent")
    assert client.get("/").location.endswith("/desk")
    assert client.get(f"/attachments/{att.id}").status_code == 200
    # agents see work orders but get no status form
    page = client.get(f"/work-orders/{wo.id}")
    assert page.status_code == 200 and b'name="to_status"' not in page.data
    assert client.post(f"/work-orders/{wo.id}/transition",
                       data={"to_status": "ready"}).status_code == 403
    client.post("/logout")
    login(client, "dispatcher")
    page = client.get(f"/work-orders/{wo.id}")
    assert b'name="to_status"' in page.data
    r = client.post(f"/work-orders/{wo.id}/transition", data={"to_status": "ready", "note": "replan"})
    assert r.status_code == 302
    db.refresh(wo)
    assert wo.status == "ready"


@pytest.mark.parametrize("lang,expected", [("en", "Remote checklist"), ("zh", "远程排查清单")])
def test_agent_pages_render_in_english_and_chinese(client, db, lang, expected):
    w = make_world(db)
    fault = make_fault(db, w)
    login(client, "agent")
    client.post(f"/lang/{lang}")
    urls = ["/desk", "/desk?q=noodle", f"/desk/merchants/{w.merchant.id}",
            f"/desk/faults/{fault.id}", "/work-orders"]
    for url in urls:
        assert client.get(url).status_code == 200, url
    page = client.get(f"/desk/faults/{fault.id}").get_data(as_text=True)
    assert expected in page
    r = client.post(f"/desk/faults/{fault.id}/checklist",
                    data={"outcome_restart": "not_fixed", "note_restart": "no change"})
    assert r.status_code == 302
    r = client.post(f"/desk/faults/{fault.id}/escalate", data={"priority": "high"})
    wo_url = r.location
    assert "/work-orders/" in wo_url
    page = client.get(wo_url).get_data(as_text=True)
    assert "WO-000001" in page and "no change" in page
    assert client.get("/work-orders?status=open&at_risk=1&q=noodle").status_code == 200


def test_agent_page_refuses_a_non_image_upload_with_a_message(client, db):
    w = make_world(db)
    fault = make_fault(db, w)
    login(client, "agent")
    r = client.post(f"/desk/faults/{fault.id}/attachments",
                    data={"file": (io.BytesIO(b"hello"), "x.png")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert r.status_code == 200 and b"PNG, JPEG or WebP" in r.data
    assert db.exec(select(Attachment)).all() == []


def test_categories_carry_checklist_severity_skills_parts_time_and_symptoms(client, db):
    make_world(db)
    h = bearer(client, "agent")
    items = {c["code"]: c for c in client.get("/api/v1/fault-categories", headers=h).get_json()["items"]}
    groups = {c["group"] for c in items.values()}
    assert groups == {"hardware", "software", "network", "account", "environment"}
    for c in items.values():
        assert c["checklist"] and c["skills"] and c["symptoms"] and c["service_minutes"] > 0
        assert c["severity"] in ("down", "degraded", "cosmetic")
    assert items["hw_printer"]["parts"] == ["printer", "paper"]


def test_image_attached_on_the_work_order_page_is_kept_once(client, db):
    w = make_world(db)
    wo = svc.escalate(db, make_fault(db, w), actor=w.users["agent"])
    login(client, "dispatcher")
    png = image_bytes("PNG")
    for _ in range(2):
        r = client.post(f"/work-orders/{wo.id}/attachments",
                        data={"file": (io.BytesIO(png), "screen.png")},
                        content_type="multipart/form-data", follow_redirects=True)
        assert r.status_code == 200 and b"Image attached." in r.data
    rows = db.exec(select(Attachment).where(Attachment.work_order_id == wo.id)).all()
    assert len({a.sha256 for a in rows}) == 1
    audits = _attachment_audits(db)
    assert sorted(int(a.entity_id) for a in audits) == sorted(a.id for a in rows)
    assert {(a.action, a.actor_user_id) for a in audits} == {("added", w.users["dispatcher"].id)}
    empty = client.post(f"/work-orders/{wo.id}/attachments", data={},
                        content_type="multipart/form-data", follow_redirects=True)
    assert b"Choose an image to upload." in empty.data


# --- service reasons in the reader's language ------------------------------------------

@pytest.mark.parametrize("lang,expected", [
    ("en", ("Status: cannot go from ready to completed: only a work order on site (or needing "
            "follow-up) can be completed")),
    ("zh", "状态：工单不能从“待排程”变为“已完成”：只有已到场（或需跟进）的工单才能完成"),
])
def test_a_refused_transition_is_explained_in_the_dispatchers_language(client, db, lang, expected):
    w = make_world(db)
    wo = svc.escalate(db, make_fault(db, w))
    login(client, "dispatcher")
    client.post(f"/lang/{lang}")
    page = client.post(f"/work-orders/{wo.id}/transition", data={"to_status": "completed"},
                       follow_redirects=True)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert expected in html
    if lang == "zh":
        assert "cannot go from" not in html
    db.refresh(wo)
    assert wo.status == "ready"


@pytest.mark.parametrize("lang,expected", [
    ("en", "Symptoms: must be at most 4000 characters"),
    ("zh", "症状：最多 4000 个字符"),
])
def test_a_refused_field_on_the_desk_names_field_and_reason_in_the_agents_language(
        client, db, lang, expected):
    w = make_world(db)
    login(client, "agent")
    client.post(f"/lang/{lang}")
    page = client.post(f"/desk/merchants/{w.merchant.id}/faults",
                       data={"terminal_id": w.terminal.id, "category": "hw_printer",
                             "symptoms": "x" * 4001, "channel": "phone"},
                       follow_redirects=True)
    # the form comes back with the reason and what the agent typed, nothing recorded
    assert page.status_code == 422 and expected in page.get_data(as_text=True)
    assert "x" * 4001 in page.get_data(as_text=True)
    assert db.exec(select(FaultReport)).all() == []
    # a reason with a value in it: the checklist of a closed fault
    fault = make_fault(db, w)
    svc.resolve_remotely(db, fault, "fixed by phone")
    page = client.post(f"/desk/faults/{fault.id}/checklist", data={"outcome_restart": "fixed"},
                       follow_redirects=True).get_data(as_text=True)
    assert ("the fault is already resolved remotely" if lang == "en"
            else "该故障已处于“远程已解决”状态") in page


def test_api_errors_follow_the_request_language_but_code_and_field_do_not(client, db):
    w = make_world(db)
    wo = svc.escalate(db, make_fault(db, w))
    disp = bearer(client, "dispatcher")
    url = f"/api/v1/work-orders/{wo.id}/transition"
    zh = client.post(url, headers={**disp, "Accept-Language": "zh-CN,zh;q=0.9"},
                     json={"to_status": "completed"})
    en = client.post(url, headers=disp, json={"to_status": "completed"})
    assert zh.status_code == en.status_code == 409
    zh_err, en_err = zh.get_json()["error"], en.get_json()["error"]
    assert (zh_err["code"], zh_err["fields"][0]["field"]) == (en_err["code"], "status")
    assert zh_err["message"].startswith("工单不能从“待排程”变为“已完成”")
    assert zh_err["fields"][0]["reason"] == zh_err["message"]
    assert en_err["message"].startswith("cannot go from ready to completed")
    # pydantic's own reasons too
    bad = client.post("/api/v1/faults", headers={**disp, "Accept-Language": "zh"},
                      json={"merchant_id": "abc", "category": "hw_keys"})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["fields"][0] == {"field": "merchant_id", "reason": "必须是整数"}
