"""Technician scope (issue 16, finding 2): a technician acts only on open work orders of
visits assigned to them. tech02 tries every write a technician could reach on tech01's
work, and on closed work orders; each answer is 403 (or 404 where the object is hidden)
and nothing changes. The walk enumerates the app's url_map, so a new write endpoint is
covered the day it is added."""
from __future__ import annotations

import io
from datetime import date

import pytest
from sqlmodel import func, select

from core.models import Region
from dispatch.models import (
    Attachment,
    FaultReport,
    Merchant,
    Plan,
    Technician,
    Terminal,
    Visit,
    WorkOrder,
    WorkOrderEvent,
)
from inventory.models import Reservation, StockLevel, StockLocation, StockMove
from tests.builders.field import aid, make_day
from tests.builders.images import image_bytes
from tests.builders.people import login, make_user
from tests.builders.planning import make_plan, make_visit
from tests.builders.stock import make_loaner
from tests.builders.workorders import make_work_order

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Not actions on anyone's work: the sign-in blueprint (signing in and out, password
# resets by one-time token), the language, API tokens, and the Twilio webhooks (no user
# at all; they check Twilio's signature instead).
NOT_WORK = {"web.set_language", "api_v1.create_token", "api_v1.revoke_current_token",
            "notifications.twilio_inbound", "notifications.twilio_status"}


def _is_work(endpoint: str) -> bool:
    return endpoint not in NOT_WORK and not endpoint.startswith("auth.")


class Scene:
    """tech01 owns today's two dispatched work orders (make_day); tech02 has a van, one
    open work order of its own and one completed; another region has a completed one."""

    def __init__(self, db) -> None:
        self.day = day = make_day(db)
        w = day.world
        self.w = w
        self.van2 = StockLocation(code="VAN-tech02", name="Van tech02", kind="van",
                                  technician_id=w.tech2.id, depot_id=w.depot.id)
        db.add(self.van2)
        db.flush()
        db.add(StockLevel(location_id=self.van2.id, part_id=w.part.id, on_hand=5))
        db.add(StockMove(kind="receive", part_id=w.part.id, location_id=self.van2.id,
                         on_hand_delta=5))
        self.own_open = self._wo(db, "WO-S0001", "dispatched", w.tech2)
        self.own_done = self._wo(db, "WO-S0002", "completed", w.tech2)
        other_region = Region(code="PD", name="Pudong", timezone="Asia/Shanghai",
                              center_lat=31.22, center_lon=121.54, min_lat=31.1,
                              max_lat=31.3, min_lon=121.5, max_lon=121.7)
        db.add(other_region)
        db.flush()
        tech5 = Technician(code="tech05", name="Zhao Min", region_id=other_region.id,
                           depot_id=w.depot.id, skills=["hardware"])
        merchant5 = Merchant(code="MPD0001", name="Pudong Tea", phone="+8613812340005",
                             lat=31.22, lon=121.54, region_id=other_region.id, locale="en")
        db.add_all([tech5, merchant5])
        db.flush()
        make_user(db, "tech05", "technician", tech5.id)
        self.region5_done = make_work_order(db, w, number="WO-S0005", status="completed",
                                            region_id=other_region.id, merchant_id=merchant5.id,
                                            terminal_id=None)
        make_visit(db, make_plan(db, other_region, day.plan.day), self.region5_done, tech5, status="done")
        # tech01's first work order: a down terminal with an accepted backup, a
        # reservation at tech01's van and the fault it came from
        self.loaner = make_loaner(db, w, "LN-PAX-9")
        day.wo.backup_status = "accepted"
        day.wo.loaner_terminal_id = self.loaner.id
        db.add(day.wo)
        self.fault = FaultReport(merchant_id=w.merchant.id, terminal_id=w.terminal.id,
                                 category="hw_card_reader", symptoms="card not read",
                                 status="escalated", work_order_id=day.wo.id)
        db.add(self.fault)
        lvl = db.exec(select(StockLevel).where(StockLevel.location_id == w.van.id)).one()
        lvl.reserved = 1
        db.add(lvl)
        self.reservation = Reservation(work_order_id=day.wo.id, part_id=w.part.id,
                                       location_id=w.van.id, qty=1)
        db.add(self.reservation)
        db.commit()

    def _wo(self, db, number: str, status: str, technician: Technician) -> WorkOrder:
        wo = make_work_order(db, self.w, number=number, status=status)
        make_visit(db, self.day.plan, wo, technician, sequence=5,
                   status="done" if status == "completed" else "planned")
        return wo

    def consume(self, work_order_id: int, van_id: int) -> dict:
        return {"work_order_id": work_order_id, "location_id": van_id,
                "part_id": self.w.part.id, "qty": 1}

    def faulty(self, work_order_id: int, van_id: int) -> dict:
        return {"work_order_id": work_order_id, "from_location_id": van_id, "qty": 1,
                "location_id": self.w.depot_location.id, "part_id": self.w.part.id}


@pytest.fixture
def scene(db):
    return Scene(db)


def _snapshot(db) -> dict:
    db.expire_all()
    def count(model):
        return db.exec(select(func.count()).select_from(model)).one()
    return {"moves": count(StockMove), "events": count(WorkOrderEvent),
            "attachments": count(Attachment),
            "work_orders": sorted((wo.id, wo.status, wo.backup_status)
                                  for wo in db.exec(select(WorkOrder)).all()),
            "visits": sorted((v.id, v.status) for v in db.exec(select(Visit)).all()),
            "terminals": sorted((t.id, t.status) for t in db.exec(select(Terminal)).all())}


def test_technician_consumes_and_returns_only_on_own_open_work_orders(client, db, scene):
    login(client, "tech02")
    van2 = scene.van2.id
    before = _snapshot(db)
    for wo in (scene.day.wo, scene.region5_done, scene.own_done):
        resp = client.post("/api/v1/inventory/consume", json=scene.consume(wo.id, van2))
        assert resp.status_code == 403, (wo.number, resp.get_json())
        assert resp.get_json()["error"]["fields"][0]["field"] == "work_order_id"
        resp = client.post("/api/v1/inventory/faulty-returns", json=scene.faulty(wo.id, van2))
        assert resp.status_code == 403, (wo.number, resp.get_json())
    assert _snapshot(db) == before
    assert client.post("/api/v1/inventory/consume",
                       json=scene.consume(scene.own_open.id, van2)).status_code == 201
    assert client.post("/api/v1/inventory/faulty-returns",
                       json=scene.faulty(scene.own_open.id, van2)).status_code == 201
    # untagged faulty returns from the own van stay allowed
    body = scene.faulty(0, van2)
    del body["work_order_id"]
    assert client.post("/api/v1/inventory/faulty-returns", json=body).status_code == 201


def test_dispatcher_is_not_limited_by_technician_scope(client, db, scene):
    login(client, "dispatcher")
    resp = client.post("/api/v1/inventory/consume",
                       json=scene.consume(scene.day.wo.id, scene.van2.id))
    assert resp.status_code == 201, resp.get_json()


def test_backup_deliver_and_swap_back_only_by_the_assigned_technician(client, db, scene):
    base = f"/api/v1/work-orders/{scene.day.wo.id}/backup"
    login(client, "tech02")
    before = _snapshot(db)
    assert client.post(base + "/deliver", json={}).status_code == 403
    assert client.post(base + "/swap-back", json={}).status_code == 403
    assert _snapshot(db) == before
    login(client, "tech01")
    assert client.post(base + "/deliver", json={}).get_json()["backup_status"] == "delivered"
    assert client.post(base + "/swap-back", json={}).get_json()["backup_status"] == "returned"


def _path_values(scene) -> dict:
    d = scene.day
    return {"work_order_id": d.wo.id, "visit_id": d.visit.id, "fault_id": scene.fault.id,
            "reservation_id": scene.reservation.id, "plan_id": d.plan.id,
            "user_id": d.world.users["tech01"].id, "van_id": d.world.van.id,
            "merchant_id": d.world.merchant.id, "number": d.world.merchant.phone,
            "reply_id": 1, "response_id": 1}


def _bodies(scene, van_id: int) -> dict:
    """Requests that would succeed for the owner, per endpoint a technician's role may
    reach. Every endpoint a technician gets past the role check must be listed here."""
    wo = scene.day.wo.id
    png = image_bytes("PNG", (8, 8), (0, 90, 200))
    return {
        "api_v1.api_consume": ("json", scene.consume(wo, van_id)),
        "api_v1.api_return_faulty": ("json", scene.faulty(wo, van_id)),
        "api_v1.api_backup_deliver": ("json", {}),
        "api_v1.api_backup_swap_back": ("json", {}),
        "api_v1.api_start_travel": ("json", {"client_action_id": aid()}),
        "api_v1.api_arrive": ("json", {"client_action_id": aid()}),
        "api_v1.api_photo": ("multipart", {"client_action_id": aid(),
                                           "file": (io.BytesIO(png), "p.png")}),
        "api_v1.api_could_not_complete": ("json", {"client_action_id": aid(),
                                                   "reason": "merchant_closed"}),
        "api_v1.api_transition": ("json", {"to_status": "en_route"}),
        "api_v1.api_attach_to_work_order": ("multipart", {"file": (io.BytesIO(png), "a.png")}),
        # last: the owner's run completes the work order
        "api_v1.api_complete": ("json", {"client_action_id": aid(),
                                         "resolution_code": "fixed_on_site"}),
        # after completion: the merchant's sign-off of a visit completed without one
        "api_v1.api_signoff": ("json", {"client_action_id": aid(),
                                        "signoff": {"no_signature_reason": "refused"}}),
    }


def _send(client, rule, method: str, values: dict, kind_body):
    args = {}
    for name in rule.arguments:
        if name == "action":
            args[name] = "deliver"
        elif name in values:
            args[name] = values[name]
        else:  # an id of a row this scene does not make: 1 (a row of someone, or none)
            assert f"<int:{name}>" in rule.rule, f"{rule.rule}: give the walk a value for <{name}>"
            args[name] = 1
    url = rule.rule
    for name, value in args.items():
        url = url.replace(f"<int:{name}>", str(value)).replace(f"<path:{name}>", str(value))
        url = url.replace(f"<{name}>", str(value))
    kind, body = kind_body
    if kind == "json":
        return url, client.open(url, method=method, json=body)
    if kind == "multipart":
        return url, client.open(url, method=method, data=body,
                                content_type="multipart/form-data")
    return url, client.open(url, method=method, data=body)


def test_every_write_a_technician_can_reach_refuses_another_technicians_work(app, client, db,
                                                                             scene):
    rules = [(r, m) for r in app.url_map.iter_rules() for m in sorted(r.methods & WRITE_METHODS)
             if _is_work(r.endpoint)]
    assert len(rules) > 50  # the walk sees the whole app, not a hand-picked list
    values = _path_values(scene)
    login(client, "tech02")
    before = _snapshot(db)
    bodies = _bodies(scene, scene.van2.id)
    reached, answers = set(), []
    for rule, method in rules:
        default = ("json", {}) if rule.rule.startswith("/api/") else ("form", {})
        url, resp = _send(client, rule, method, values, bodies.get(rule.endpoint, default))
        answers.append((method, url, resp.status_code))
        role_refused = resp.status_code == 403 and (
            not resp.is_json or resp.get_json()["error"]["message"] == "your role may not do this")
        if not role_refused:
            reached.add(rule.endpoint)
    wrong = [a for a in answers if a[2] not in (403, 404)]
    assert wrong == [], wrong
    assert _snapshot(db) == before
    missing = reached - set(bodies)
    assert not missing, f"technicians reach {missing}: add an owner's request to _bodies"
    assert reached == set(bodies)

    # the same requests from the owner get past the scope checks: the walk's requests
    # are real ones, refused for whose work it is, not for their shape
    login(client, "tech01")
    owner = _bodies(scene, scene.w.van.id)
    by_endpoint = {r.endpoint: (r, m) for r, m in rules}
    for endpoint in owner:
        rule, method = by_endpoint[endpoint]
        url, resp = _send(client, rule, method, values, owner[endpoint])
        assert resp.status_code not in (403, 404, 422), (url, resp.get_json())


def test_a_visit_on_a_draft_plan_puts_nothing_on_the_route(db, scene):
    """A visit on a draft plan does not put a work order on the technician's route."""
    from core.errors import NotAllowed
    from dispatch.field.service import require_technician_scope

    draft = Plan(region_id=scene.w.region.id, day=date(2030, 1, 1), status="draft")
    db.add(draft)
    db.flush()
    wo = scene._wo(db, "WO-S0009", "ready", scene.w.tech2)
    db.exec(select(Visit).where(Visit.work_order_id == wo.id)).one().plan_id = draft.id
    db.commit()
    with pytest.raises(NotAllowed):
        require_technician_scope(db, scene.w.users["tech02"], wo.id)
    assert require_technician_scope(db, scene.w.users["dispatcher"], wo.id) is None
