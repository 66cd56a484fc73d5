"""The backup switch over the JSON API and the dispatcher's pages."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.timeutil import utcnow
from dispatch.models import Terminal, TerminalModel
from tests.builders.people import bearer, login
from tests.builders.stock import make_loaner
from tests.builders.workorders import make_work_order


@pytest.fixture
def world(world, db):
    """The small world with two loaners in its depot's pool (one of another form factor)
    and a repair of its down terminal, due in 20 hours."""
    w = world
    desk = TerminalModel(code="VF-V200C", vendor="Verifone", name="V200c",
                         form_factor="countertop", connectivity=["ethernet"])
    db.add(desk)
    db.commit()
    make_loaner(db, w, "LN-PAX-1")
    make_loaner(db, w, "LN-VF-1", desk.id)
    w.wo = make_work_order(db, w, number="WO-API-1", severity="down", status="ready",
                           sla_due_at=utcnow() + timedelta(hours=20))
    return w


def _loaner(db, serial):
    from sqlmodel import select

    return db.exec(select(Terminal).where(Terminal.serial == serial)).one()


def test_api_offer_accept_deliver_swap_back(client, db, world):
    h = bearer(client, "dispatcher")
    base = f"/api/v1/work-orders/{world.wo.id}/backup"
    state = client.get(base, headers=h).get_json()
    assert state["eligible"] and state["backup_status"] == ""
    assert client.post(base + "/offer", headers=h, json={}).get_json()["backup_status"] == "offered"
    wrong = client.post(base + "/accept", headers=h,
                        json={"loaner_terminal_id": _loaner(db, "LN-VF-1").id})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "wrong_model"
    assert client.get(base, headers=h).get_json()["backup_status"] == "offered"
    state = client.post(base + "/accept", headers=h, json={}).get_json()
    assert (state["backup_status"], state["loaner_serial"]) == ("accepted", "LN-PAX-1")
    pool = client.get("/api/v1/loaners?where=reserved", headers=h).get_json()
    assert [x["serial"] for x in pool["items"]] == ["LN-PAX-1"]
    assert client.post(base + "/swap-back", headers=h, json={}).status_code == 409
    assert client.post(base + "/deliver", headers=h, json={}).status_code == 200
    loaned = client.get("/api/v1/loaners?where=loaned", headers=h).get_json()["items"]
    assert [(x["serial"], x["replaces_serial"]) for x in loaned] == [("LN-PAX-1", "PAX0100001")]
    assert client.post(base + "/swap-back", headers=h, json={}).get_json()["backup_status"] == "returned"
    assert client.get("/api/v1/backups?status=returned", headers=h).get_json()["total"] == 1


def test_api_errors_are_clear(client, db, world):
    h = bearer(client, "dispatcher")
    assert client.post("/api/v1/work-orders/999999/backup/offer", headers=h,
                       json={}).status_code == 404
    resp = client.post(f"/api/v1/work-orders/{world.wo.id}/backup/accept", headers=h,
                       json={"loaner_terminal_id": 0})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"][0]["field"] == "loaner_terminal_id"
    assert client.get("/api/v1/loaners?where=moon", headers=h).status_code == 422
    agent = bearer(client, "agent")
    assert client.post(f"/api/v1/work-orders/{world.wo.id}/backup/offer", headers=agent,
                       json={}).status_code == 403


def test_the_loaner_list_pages_as_every_list_does(client, db, world):
    h = bearer(client, "dispatcher")
    whole = client.get("/api/v1/loaners", headers=h).get_json()
    assert (whole["total"], whole["pages"], whole["per_page"]) == (2, 1, 50)
    second = client.get("/api/v1/loaners?per_page=1&page=2", headers=h).get_json()
    assert {k: second[k] for k in ("page", "per_page", "total", "pages")} == \
           {"page": 2, "per_page": 1, "total": 2, "pages": 2}
    assert [i["serial"] for i in second["items"]] == [whole["items"][1]["serial"]]
    assert client.get("/api/v1/loaners?per_page=201", headers=h).status_code == 422


def test_pages_show_the_pool_and_run_the_steps(client, db, world):
    login(client, "dispatcher")
    page = client.get("/backup/")
    assert page.status_code == 200 and b"WO-API-1" in page.data
    resp = client.post(f"/backup/{world.wo.id}/accept")
    assert resp.status_code == 302
    db.refresh(world.wo)
    assert world.wo.backup_status == "accepted"
    pool = client.get("/backup/pool")
    assert pool.status_code == 200
    assert b'data-serial="LN-PAX-1"' in pool.data and b"WO-API-1" in pool.data
    # a refused step is a flash message, not a crash
    resp = client.post(f"/backup/{world.wo.id}/swap-back", follow_redirects=True)
    assert resp.status_code == 200 and b"flash-error" in resp.data
