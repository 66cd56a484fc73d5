"""The stock JSON API and pages: operations, clear 4xx that change nothing, reads in the
OpenAPI document, pages for dispatchers."""
from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

from dispatch.models import Plan, Visit
from inventory import stock
from inventory.models import Part, PartFit, StockMove
from tests.builders.people import bearer, login
from tests.builders.stock import level
from tests.builders.workorders import make_work_order


def _moves(db):
    return db.exec(select(func.count()).select_from(StockMove)).one()


def test_reserve_release_consume_transfer_through_the_api(client, db, world):
    h = bearer(client, "dispatcher")
    wo = make_work_order(db, world)
    resp = client.post("/api/v1/inventory/reservations", headers=h, json={
        "work_order_id": wo.id, "location_id": world.van.id, "part_id": world.part.id, "qty": 2})
    assert resp.status_code == 201, resp.get_json()
    rid = resp.get_json()["id"]
    resp = client.post(f"/api/v1/inventory/reservations/{rid}/release", headers=h, json={"qty": 1})
    assert resp.get_json()["remaining"] == 1
    resp = client.post("/api/v1/inventory/consume", headers=h, json={
        "work_order_id": wo.id, "location_id": world.van.id, "part_id": world.part.id, "qty": 1})
    assert resp.status_code == 201
    assert [m["reservation_id"] for m in resp.get_json()["moves"]] == [rid]
    resp = client.post("/api/v1/inventory/transfers", headers=h, json={
        "from_location_id": world.depot_location.id, "to_location_id": world.van.id,
        "part_id": world.part.id, "qty": 3})
    assert resp.status_code == 201
    assert level(db, world.van.id, world.part.id) == (4, 0, 0)
    stock_rows = client.get(f"/api/v1/inventory/stock?location_id={world.van.id}",
                            headers=h).get_json()["items"]
    assert [(r["part"]["sku"], r["on_hand"], r["available"]) for r in stock_rows] == [
        ("CR-PAX", 4, 4)]
    ledger = client.get(f"/api/v1/inventory/moves?work_order_id={wo.id}", headers=h).get_json()
    assert [m["kind"] for m in ledger["items"]] == ["consume", "release", "reserve"]


@pytest.mark.parametrize("body, status, field", [
    ({"part_id": 999999}, 422, "part_id"),
    ({"qty": 0}, 422, "qty"),
    ({"qty": -2}, 422, "qty"),
    ({"qty": "many"}, 422, "qty"),
    ({"location_id": 999999}, 422, "location_id"),
    ({"qty": 50}, 409, "qty"),
    ({"extra": 1}, 422, "extra"),
])
def test_bad_reservation_gets_a_clear_4xx_and_changes_nothing(client, db, world, body, status,
                                                             field):
    h = bearer(client, "dispatcher")
    wo = make_work_order(db, world)
    before = (_moves(db), level(db, world.van.id, world.part.id))
    payload = {"work_order_id": wo.id, "location_id": world.van.id, "part_id": world.part.id,
               "qty": 1, **body}
    resp = client.post("/api/v1/inventory/reservations", headers=h, json=payload)
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["fields"][0]["field"] == field
    assert (_moves(db), level(db, world.van.id, world.part.id)) == before


def test_wrong_model_and_serial_not_here_are_422(client, db, world):
    h = bearer(client, "dispatcher")
    board = Part(sku="MB", name="Board", kind="main_board", serialized=True)
    db.add(board)
    db.commit()
    stock.receive(db, world.depot_location.id, board.id, 1, serials=["SN-1"])
    other_model_part = Part(sku="PR-X", name="Printer X", kind="printer")
    db.add(other_model_part)
    db.commit()
    from dispatch.models import TerminalModel

    m = TerminalModel(code="X", vendor="X", name="X")
    db.add(m)
    db.commit()
    db.add(PartFit(part_id=other_model_part.id, terminal_model_id=m.id))
    db.commit()
    stock.receive(db, world.van.id, other_model_part.id, 1)
    wo = make_work_order(db, world)
    before = _moves(db)
    resp = client.post("/api/v1/inventory/consume", headers=h, json={
        "work_order_id": wo.id, "location_id": world.van.id, "part_id": board.id, "qty": 1,
        "serials": ["SN-1"]})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "serial_not_here"
    resp = client.post("/api/v1/inventory/reservations", headers=h, json={
        "work_order_id": wo.id, "location_id": world.van.id, "part_id": other_model_part.id,
        "qty": 1})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "wrong_model"
    assert _moves(db) == before


def test_technician_consumes_from_own_van_only(client, db, world):
    wo = make_work_order(db, world, status="dispatched")
    plan = Plan(region_id=world.region.id, day=date(2026, 11, 24), status="published")
    db.add(plan)
    db.flush()
    db.add(Visit(plan_id=plan.id, work_order_id=wo.id, technician_id=world.tech.id, sequence=1))
    db.commit()
    body = {"work_order_id": wo.id, "part_id": world.part.id, "qty": 1}
    h2 = bearer(client, "tech02")
    resp = client.post("/api/v1/inventory/consume", headers=h2,
                       json={**body, "location_id": world.van.id})
    assert resp.status_code == 403
    h1 = bearer(client, "tech01")
    assert client.post("/api/v1/inventory/consume", headers=h1,
                       json={**body, "location_id": world.van.id}).status_code == 201
    assert client.post("/api/v1/inventory/transfers", headers=h1, json={
        "from_location_id": world.depot_location.id, "to_location_id": world.van.id,
        "part_id": world.part.id, "qty": 1}).status_code == 403


def test_inventory_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for p in ("/api/v1/inventory/stock", "/api/v1/inventory/moves", "/api/v1/inventory/reorder",
              "/api/v1/inventory/restock", "/api/v1/inventory/serials",
              "/api/v1/inventory/transfers", "/api/v1/inventory/consume",
              "/api/v1/inventory/reservations/{reservation_id}/release", "/api/v1/loaners"):
        assert p in paths, p
    assert "post" in paths["/api/v1/inventory/reservations"]


def test_reorder_and_restock_api(client, db, world):
    h = bearer(client, "dispatcher")
    make_work_order(db, world, predicted_parts=[{"kind": "card_reader", "qty": 1}])
    body = client.get("/api/v1/inventory/reorder?horizon_days=14", headers=h).get_json()
    [depot] = body["depots"]
    assert [(x["part"]["sku"], x["demand"]) for x in depot["lines"]] == [("CR-PAX", 1)]
    assert client.get("/api/v1/inventory/reorder?horizon_days=0", headers=h).status_code == 422
    resp = client.get("/api/v1/inventory/restock?day=2026-11-25", headers=h)
    assert resp.get_json() == {"day": "2026-11-25", "vans": []}
    assert client.get("/api/v1/inventory/restock?day=soon", headers=h).status_code == 422


def test_stock_pages_render_for_dispatcher_with_filters(client, db, world):
    wo = make_work_order(db, world)
    stock.reserve_parts(db, wo.id, world.van.id, world.part.id, 1)
    login(client, "dispatcher")
    page = client.get(f"/inventory/?location_id={world.van.id}")
    assert page.status_code == 200
    assert b"VAN-tech01" in page.data and b"LOC-DEP-PX" not in page.data.split(b"<table")[1]
    ledger = client.get(f"/inventory/ledger?kind=reserve&work_order_id={wo.id}")
    assert ledger.status_code == 200 and b"#%d" % wo.id in ledger.data
    assert client.get("/inventory/reorder").status_code == 200
    assert client.get("/inventory/restock?day=2026-11-25").status_code == 200
    home = client.get("/inventory/")
    assert b'href="/inventory/"' in home.data  # the nav entry


def test_restock_button_loads_the_van_from_the_depot(client, db, world):
    from datetime import date

    from dispatch.models import Plan, Visit

    wos = [make_work_order(db, world, status="dispatched",
                           predicted_parts=[{"kind": "card_reader", "qty": 2}]) for _ in range(2)]
    plan = Plan(region_id=world.region.id, day=date(2026, 11, 25), status="published")
    db.add(plan)
    db.commit()
    for i, wo in enumerate(wos):
        db.add(Visit(plan_id=plan.id, work_order_id=wo.id, technician_id=world.tech.id,
                     sequence=i))
    db.commit()
    login(client, "dispatcher")
    resp = client.post(f"/inventory/restock/{world.van.id}", data={"day": "2026-11-25"})
    assert resp.status_code == 302
    assert level(db, world.van.id, world.part.id) == (4, 0, 0)
    assert level(db, world.depot_location.id, world.part.id) == (8, 0, 0)


def test_agents_and_technicians_do_not_get_the_stock_pages(client, db, world):
    login(client, "agent")
    assert client.get("/inventory/").status_code == 403
