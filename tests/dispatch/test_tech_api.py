"""The technician's phone API and pages: own visits only, idempotent actions, the
OpenAPI document, the role's home page."""
from __future__ import annotations

import io

from sqlmodel import select

from dispatch.models import Attachment, FaultReport, TriageStep, Visit, WorkOrder, WorkOrderEvent
from inventory.models import StockMove
from tests.builders.field import aid, make_day
from tests.builders.images import image_bytes
from tests.builders.people import bearer, login


def test_technician_home_is_the_day_page(client, db):
    make_day(db)
    login(client, "tech01")
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/tech/")


def test_day_page_shows_route_contact_map_and_fault(client, db):
    day = make_day(db)
    fault = FaultReport(merchant_id=day.world.merchant.id, terminal_id=day.world.terminal.id,
                        category="hw_card_reader", symptoms="card not read", error_code="E05",
                        status="escalated", work_order_id=day.wo.id)
    db.add(fault)
    db.flush()
    db.add(TriageStep(fault_id=fault.id, step_code="clean_card_slot", outcome="not_fixed"))
    db.commit()
    login(client, "tech01")
    html = client.get("/tech/").get_data(as_text=True)
    assert html.index(f'id="visit-{day.visit2.id}"') < html.index(f'id="visit-{day.visit.id}"')
    assert "Wang&#39;s Noodle House" in html or "Wang's Noodle House" in html
    assert 'href="tel:+8613812345678"' in html
    assert 'href="geo:31.220000,121.460000?q=31.220000,121.460000' in html
    assert "E05" in html and "Clean the card slot and try another card" in html
    assert "Card reader" in html  # the part to bring
    assert 'name="viewport"' in html


def test_other_technicians_visit_is_forbidden_in_pages_and_api(client, db):
    day = make_day(db)
    login(client, "tech02")
    assert client.get(f"/tech/visits/{day.visit.id}").status_code == 403
    assert client.get(f"/api/v1/tech/visits/{day.visit.id}").status_code == 403
    day_json = client.get("/api/v1/tech/day").get_json()
    assert day_json["visits"] == []
    resp = client.post(f"/api/v1/tech/visits/{day.visit.id}/start-travel",
                       json={"client_action_id": aid()})
    assert resp.status_code == 403
    assert resp.get_json()["error"]["fields"][0]["field"] == "visit_id"
    db.expire_all()
    assert db.get(WorkOrder, day.wo.id).status == "dispatched"


def test_staff_can_read_a_technicians_day_but_not_act(client, db):
    day = make_day(db)
    login(client, "dispatcher")
    resp = client.get(f"/api/v1/tech/day?technician_id={day.world.tech.id}")
    assert [v["id"] for v in resp.get_json()["visits"]] == [day.visit2.id, day.visit.id]
    page = client.get(f"/tech/?technician_id={day.world.tech.id}").get_data(as_text=True)
    assert 'data-act="start-travel"' not in page
    resp = client.post(f"/api/v1/tech/visits/{day.visit.id}/start-travel",
                       json={"client_action_id": aid()})
    assert resp.status_code == 403


def test_a_day_of_work_through_the_api_with_a_bearer_token(client, db):
    day = make_day(db)
    h = bearer(client, "tech01")
    v = day.visit.id
    r = client.post(f"/api/v1/tech/visits/{v}/start-travel", headers=h,
                    json={"client_action_id": aid(), "position": {"lat": 31.23, "lon": 121.47}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["work_order_status"] == "en_route" and r.get_json()["eta"]
    r = client.post(f"/api/v1/tech/visits/{v}/arrive", headers=h, json={"client_action_id": aid()})
    assert r.get_json()["visit"]["status"] == "on_site"
    photo_id = aid()
    for _ in range(2):
        r = client.post(f"/api/v1/tech/visits/{v}/photos", headers=h,
                        data={"client_action_id": photo_id,
                              "file": (io.BytesIO(image_bytes("JPEG", (64, 48))), "receipt.jpg")},
                        content_type="multipart/form-data")
        assert r.status_code == 200, r.get_json()
    assert r.get_json()["replayed"] is True and r.get_json()["visit"]["photo_count"] == 1
    done_id = aid()
    body = {"client_action_id": done_id, "resolution_code": "replaced_part", "notes": "ok",
            "parts": [{"part_id": day.world.part.id, "qty": 1}]}
    first = client.post(f"/api/v1/tech/visits/{v}/complete", headers=h, json=body)
    second = client.post(f"/api/v1/tech/visits/{v}/complete", headers=h, json=body)
    assert first.status_code == second.status_code == 200
    assert first.get_json()["replayed"] is False and second.get_json()["replayed"] is True
    db.expire_all()
    assert len(db.exec(select(StockMove).where(StockMove.kind == "consume")).all()) == 1
    assert len(db.exec(select(Attachment)).all()) == 1
    assert db.get(WorkOrder, day.wo.id).status == "completed"
    assert [e.to_status for e in db.exec(select(WorkOrderEvent).where(
        WorkOrderEvent.work_order_id == day.wo.id).order_by(WorkOrderEvent.id)).all()] == [
        "en_route", "on_site", "on_site", "completed"]  # the photo is on the timeline too


def test_bad_input_names_the_field(client, db):
    day = make_day(db)
    login(client, "tech01")
    v = day.visit.id
    r = client.post(f"/api/v1/tech/visits/{v}/start-travel", json={"client_action_id": "x"})
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"][0]["field"] == "client_action_id"
    r = client.post(f"/api/v1/tech/visits/{v}/start-travel",
                    json={"client_action_id": aid(), "position": {"lat": 200, "lon": 1}})
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "position.lat"
    r = client.post(f"/api/v1/tech/visits/{v}/complete",
                    json={"client_action_id": aid(), "resolution_code": "magic"})
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "resolution_code"
    r = client.post(f"/api/v1/tech/visits/{v}/photos", data={"client_action_id": aid()},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["error"]["fields"][0]["field"] == "file"
    assert client.post("/api/v1/tech/visits/999999/arrive",
                       json={"client_action_id": aid()}).status_code == 404


def test_complete_before_arriving_is_a_conflict(client, db):
    day = make_day(db)
    login(client, "tech01")
    r = client.post(f"/api/v1/tech/visits/{day.visit.id}/complete",
                    json={"client_action_id": aid(), "resolution_code": "fixed_on_site"})
    assert r.status_code == 409
    db.expire_all()
    assert db.get(Visit, day.visit.id).status == "planned"


def test_could_not_complete_through_the_api(client, db):
    day = make_day(db)
    login(client, "tech01")
    v = day.visit.id
    client.post(f"/api/v1/tech/visits/{v}/start-travel", json={"client_action_id": aid()})
    client.post(f"/api/v1/tech/visits/{v}/arrive", json={"client_action_id": aid()})
    r = client.post(f"/api/v1/tech/visits/{v}/could-not-complete",
                    json={"client_action_id": aid(), "reason": "merchant_closed",
                          "note": "shutters down"})
    assert r.status_code == 200
    assert r.get_json()["work_order_status"] == "needs_follow_up"


def test_van_lists_parts_on_hand(client, db):
    day = make_day(db)
    login(client, "tech01")
    items = client.get("/api/v1/tech/van").get_json()["items"]
    assert items == [{"part_id": day.world.part.id, "sku": "CR-PAX",
                      "name": "Card reader module (PAX)", "serialized": False, "on_hand": 2,
                      "serials": [], "location": "VAN-tech01"}]


def test_openapi_documents_the_phone_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for p in ("/api/v1/tech/day", "/api/v1/tech/visits/{visit_id}/start-travel",
              "/api/v1/tech/visits/{visit_id}/arrive", "/api/v1/tech/visits/{visit_id}/complete",
              "/api/v1/tech/visits/{visit_id}/could-not-complete",
              "/api/v1/tech/visits/{visit_id}/photos", "/api/v1/tech/van"):
        assert p in paths, p


def test_service_worker_is_served_under_tech(client):
    resp = client.get("/tech/sw.js")
    assert resp.status_code == 200 and "javascript" in resp.content_type
    assert b"fixroute-tech" in resp.data


def test_staff_without_a_technician_choose_whose_day_to_see(client, db):
    day = make_day(db)
    login(client, "admin")
    html = client.get("/tech/").get_data(as_text=True)
    assert f"/tech/?technician_id={day.world.tech.id}" in html and "Chen Fang" in html


def test_depot_pickup_is_shown_and_its_part_offered_on_the_form(client, db):
    from inventory import stock

    day = make_day(db)
    w = day.world
    stock.reserve_parts(db, day.wo.id, w.depot_location.id, w.part.id, 1)
    visit = db.get(Visit, day.visit.id)
    visit.pickups = [{"depot_id": w.depot.id, "parts": {"card_reader": 1},
                      "arrival": "2026-11-24T01:30:00+00:00"}]
    db.add(visit)
    db.commit()
    login(client, "tech01")
    html = client.get("/tech/").get_data(as_text=True)
    assert "Pick up at Jing&#39;an depot 09:30: 1 × Card reader" in html
    assert "picked up at LOC-DEP-PX" in html
    v = client.get(f"/api/v1/tech/visits/{day.visit.id}").get_json()
    assert v["bring"]["reserved"][0]["location"] == "LOC-DEP-PX"
    carried = client.get("/api/v1/tech/van").get_json()["items"]
    assert [(p["location"], p.get("picked_up", False)) for p in carried] == [
        ("VAN-tech01", False), ("LOC-DEP-PX", True)]


def test_no_input_makes_the_phone_api_fail_with_a_server_error(app, client, db):
    """Schemathesis over the phone endpoints as the technician, aimed at a real visit."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    day = make_day(db)
    headers = bearer(client, "tech01")
    app.config["PROPAGATE_UNEXPECTED"] = False
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    calls = 0
    try:
        for result in schema.get_all_operations():
            op = result.ok()
            if not op.path.startswith("/api/v1/tech/"):
                continue

            @settings(max_examples=8, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy())
            def exercise(case) -> None:
                nonlocal calls
                for aim in (False, True):
                    if aim and case.path_parameters:
                        case.path_parameters = {"visit_id": day.visit.id}
                    calls += 1
                    response = case.call(headers=headers)
                    if response.status_code >= 500:
                        failures.append(f"{case.method} {case.path} -> "
                                        f"{response.status_code}: {str(case.body)[:300]}")

            exercise()
    finally:
        app.config["PROPAGATE_UNEXPECTED"] = True
    assert calls >= 60
    assert failures == [], "\n".join(failures)
