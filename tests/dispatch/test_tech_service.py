"""The technician's actions as service functions: each is one transaction through the
state machine, and a phone's id applied twice counts once (stock included)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from core.errors import Conflict, InvalidInput, NotAllowed
from core.models import AuditEvent
from dispatch.field import service as svc
from dispatch.models import (
    Attachment,
    Plan,
    Terminal,
    Visit,
    WorkOrder,
)
from inventory.models import SerialUnit, StockLevel, StockMove
from tests.builders.field import aid, make_day, to_on_site, van_on_hand
from tests.builders.images import image_bytes
from tests.builders.stock import make_board_in_van, make_loaner
from tests.builders.workorders import events


def test_the_phone_and_the_board_read_the_same_published_plan(db):
    """Should two published plans of a day coexist (the older not superseded yet), the
    technician's day and the board both follow the newest, whatever its edit version."""
    from dispatch.planning.problem import published_plan

    day = make_day(db)
    day.plan.version = 7  # many edits on the older plan
    newer = Plan(region_id=day.world.region.id, day=day.plan.day, status="published",
                 job_status="done", version=1)
    db.add(newer)
    db.flush()
    db.add(Visit(plan_id=newer.id, work_order_id=day.wo.id, technician_id=day.world.tech.id,
                 sequence=1))
    db.commit()
    assert published_plan(db, day.world.region.id, day.plan.day).id == newer.id
    assert [v.plan_id for v in svc.visits_for_day(db, day.world.tech, day.plan.day)] == [newer.id]


def test_who_may_act_on_a_work_order_follows_the_same_newest_published_plan(db):
    """The phone's scope check reads the work order's visit on the newest published plan,
    as the day and the board do, not on the most edited one."""
    from dispatch.planning.problem import published_visit

    day = make_day(db)
    day.plan.version = 7
    newer = Plan(region_id=day.world.region.id, day=day.plan.day, status="published",
                 job_status="done", version=1)
    db.add(newer)
    db.flush()
    moved = Visit(plan_id=newer.id, work_order_id=day.wo.id, technician_id=day.world.tech2.id, sequence=1)
    db.add(moved)
    db.commit()
    assert published_visit(db, day.wo.id).id == moved.id
    assert svc.require_technician_scope(db, day.world.users["tech02"], day.wo.id).id == day.wo.id
    with pytest.raises(NotAllowed):
        svc.require_technician_scope(db, day.world.users["tech01"], day.wo.id)


def test_day_lists_own_visits_in_route_order_from_the_published_plan(db):
    day = make_day(db)
    draft = Plan(region_id=day.world.region.id, day=day.plan.day, status="draft")
    db.add(draft)
    db.flush()
    db.add(Visit(plan_id=draft.id, work_order_id=day.wo.id, technician_id=day.world.tech.id,
                 sequence=0))
    db.commit()
    visits = svc.visits_for_day(db, day.world.tech, day.plan.day)
    assert [v.id for v in visits] == [day.visit2.id, day.visit.id]
    assert svc.visits_for_day(db, day.world.tech2, day.plan.day) == []


def test_start_travel_moves_work_order_en_route_with_a_fresh_estimate(db):
    day = make_day(db)
    tech = day.world.users["tech01"]
    r = svc.start_travel(db, day.visit.id, tech, aid(),
                         position=svc.Position(31.23, 121.47, 15))
    assert not r.replayed
    db.expire_all()
    wo, visit = db.get(WorkOrder, day.wo.id), db.get(Visit, day.visit.id)
    assert wo.status == "en_route" and visit.status == "en_route"
    assert visit.actual_departure is not None
    ev = events(db, day.wo.id)[-1]
    assert ev.to_status == "en_route" and ev.actor_user_id == tech.id
    assert ev.data["position"] == {"lat": 31.23, "lon": 121.47, "accuracy_m": 15.0}
    # ~1.6 km straight line * detour at city speed: a few minutes, never the plan's 15
    eta = svc.datetime.fromisoformat(ev.data["eta"])
    assert visit.actual_departure + timedelta(minutes=2) <= eta <= visit.actual_departure + timedelta(minutes=10)


def test_estimate_without_position_uses_the_planned_travel_time(db):
    day = make_day(db)
    r = svc.start_travel(db, day.visit.id, day.world.users["tech01"], aid())
    departure = db.get(Visit, day.visit.id).actual_departure
    assert r.extra["eta"] == (departure + timedelta(seconds=900)).replace(second=0, microsecond=0).isoformat()


def test_same_action_id_twice_applies_once(db):
    day = make_day(db)
    tech = day.world.users["tech01"]
    action = aid()
    first = svc.start_travel(db, day.visit.id, tech, action)
    again = svc.start_travel(db, day.visit.id, tech, action)
    assert again.replayed and again.event_id == first.event_id
    assert [e.to_status for e in events(db, day.wo.id)] == ["en_route"]


def test_an_action_id_cannot_be_reused_for_another_action(db):
    day = make_day(db)
    tech = day.world.users["tech01"]
    action = aid()
    svc.start_travel(db, day.visit.id, tech, action)
    with pytest.raises(Conflict) as exc:
        svc.arrive(db, day.visit.id, tech, action)
    assert exc.value.fields[0]["field"] == "client_action_id"
    assert db.get(WorkOrder, day.wo.id).status == "en_route"


def test_arrive_records_check_in_time_and_position(db):
    day = make_day(db)
    tech = day.world.users["tech01"]
    svc.start_travel(db, day.visit.id, tech, aid())
    tapped = svc.utcnow() - timedelta(minutes=7)  # sent late, after a dead zone
    svc.arrive(db, day.visit.id, tech, aid(), at=tapped, position=svc.Position(31.22, 121.46))
    db.expire_all()
    visit = db.get(Visit, day.visit.id)
    assert visit.status == "on_site" and visit.actual_arrival == tapped.replace(microsecond=tapped.microsecond)
    assert db.get(WorkOrder, day.wo.id).status == "on_site"
    assert events(db, day.wo.id)[-1].data["position"]["lat"] == 31.22


def test_phone_clock_in_the_future_is_not_trusted(db):
    day = make_day(db)
    svc.start_travel(db, day.visit.id, day.world.users["tech01"], aid(),
                     at=svc.utcnow() + timedelta(hours=3))
    assert db.get(Visit, day.visit.id).actual_departure <= svc.utcnow()


def test_complete_consumes_parts_from_the_van_once(db):
    day = make_day(db)
    tech = day.world.users["tech01"]
    to_on_site(db, day)
    assert van_on_hand(db, day) == 2
    action = aid()
    for _ in range(2):
        svc.complete(db, day.visit.id, tech, action, resolution_code="replaced_part",
                     notes="new reader", parts=[svc.PartUsed(day.world.part.id, 1)])
    db.expire_all()
    wo = db.get(WorkOrder, day.wo.id)
    assert wo.status == "completed" and wo.resolution_code == "replaced_part"
    assert wo.resolution_note == "new reader" and wo.completed_at is not None
    assert db.get(Visit, day.visit.id).status == "done"
    assert van_on_hand(db, day) == 1
    moves = db.exec(select(StockMove).where(StockMove.kind == "consume")).all()
    assert len(moves) == 1 and moves[0].work_order_id == wo.id
    done = [e for e in events(db, wo.id) if e.to_status == "completed"]
    assert len(done) == 1 and done[0].data["parts"][0]["qty"] == 1


def test_serialized_part_needs_a_serial_from_the_van(db):
    day = make_day(db)
    tech = day.world.users["tech01"]
    w = day.world
    board = make_board_in_van(db, w)
    db.add(SerialUnit(serial="MB0002", part_id=board.id, location_id=w.depot_location.id))
    db.commit()
    to_on_site(db, day)
    with pytest.raises(InvalidInput) as exc:
        svc.complete(db, day.visit.id, tech, aid(), resolution_code="replaced_part",
                     parts=[svc.PartUsed(board.id, 1)])
    assert exc.value.fields[0]["field"] == "parts[0].serials"
    with pytest.raises(InvalidInput):  # in the depot, not the van
        svc.complete(db, day.visit.id, tech, aid(), resolution_code="replaced_part",
                     parts=[svc.PartUsed(board.id, 1, ("MB0002",))])
    assert db.get(WorkOrder, day.wo.id).status == "on_site"
    svc.complete(db, day.visit.id, tech, aid(), resolution_code="replaced_part",
                 parts=[svc.PartUsed(board.id, 1, ("MB0001",))])
    db.expire_all()
    unit = db.exec(select(SerialUnit).where(SerialUnit.serial == "MB0001")).one()
    assert unit.status == "installed" and unit.work_order_id == day.wo.id


def test_refused_completion_writes_nothing(db):
    day = make_day(db)  # still dispatched: not on site
    with pytest.raises(Conflict):
        svc.complete(db, day.visit.id, day.world.users["tech01"], aid(),
                     resolution_code="replaced_part", parts=[svc.PartUsed(day.world.part.id, 1)])
    db.expire_all()
    assert van_on_hand(db, day) == 2
    assert db.get(Visit, day.visit.id).status == "planned"
    assert events(db, day.wo.id) == []


def test_not_enough_stock_rolls_back_the_whole_completion(db):
    day = make_day(db)
    to_on_site(db, day)
    with pytest.raises(Conflict):
        svc.complete(db, day.visit.id, day.world.users["tech01"], aid(),
                     resolution_code="replaced_part", parts=[svc.PartUsed(day.world.part.id, 3)])
    db.expire_all()
    assert db.get(WorkOrder, day.wo.id).status == "on_site"
    assert db.get(Visit, day.visit.id).status == "on_site"
    assert van_on_hand(db, day) == 2


def test_only_the_assigned_technician_can_update_a_visit(db):
    day = make_day(db)
    for who in ("tech02", "dispatcher", "admin"):
        with pytest.raises(NotAllowed):
            svc.start_travel(db, day.visit.id, day.world.users[who], aid())
    assert db.get(WorkOrder, day.wo.id).status == "dispatched"


def test_could_not_complete_sends_the_work_order_back_with_the_reason(db):
    day = make_day(db)
    to_on_site(db, day)
    svc.could_not_complete(db, day.visit.id, day.world.users["tech01"], aid(),
                           reason="part_missing", note="needs a PAX main board")
    db.expire_all()
    assert db.get(WorkOrder, day.wo.id).status == "needs_follow_up"
    assert db.get(Visit, day.visit.id).status == "not_done"
    ev = events(db, day.wo.id)[-1]
    assert ev.to_status == "needs_follow_up" and ev.data["reason"] == "part_missing"
    assert "needs a PAX main board" in ev.note


def test_could_not_complete_needs_a_known_reason(db):
    day = make_day(db)
    to_on_site(db, day)
    with pytest.raises(InvalidInput) as exc:
        svc.could_not_complete(db, day.visit.id, day.world.users["tech01"], aid(), reason="tired")
    assert exc.value.fields[0]["field"] == "reason"
    with pytest.raises(InvalidInput) as exc:
        svc.could_not_complete(db, day.visit.id, day.world.users["tech01"], aid(), reason="other")
    assert exc.value.fields[0]["field"] == "note"


def test_backup_swap_records_the_loaner_installed_and_the_faulty_unit_taken(db):
    day = make_day(db, kind="backup_swap")
    w = day.world
    loaner = make_loaner(db, w, "LNPAX0001")
    to_on_site(db, day)
    tech = w.users["tech01"]
    with pytest.raises(InvalidInput) as exc:
        svc.complete(db, day.visit.id, tech, aid(), resolution_code="swapped_terminal")
    assert exc.value.fields[0]["field"] == "loaner_serial"
    svc.complete(db, day.visit.id, tech, aid(), resolution_code="swapped_terminal",
                 loaner_serial="LNPAX0001", faulty_serial=w.terminal.serial)
    db.expire_all()
    loaner = db.get(Terminal, loaner.id)
    faulty = db.get(Terminal, w.terminal.id)
    wo = db.get(WorkOrder, day.wo.id)
    assert loaner.status == "loaned" and loaner.merchant_id == w.merchant.id
    assert loaner.replaces_terminal_id == faulty.id
    assert faulty.status == "in_repair"
    assert wo.loaner_terminal_id == loaner.id and wo.backup_status == "delivered"
    ev = events(db, wo.id)[-1]
    assert ev.data["loaner_serial"] == "LNPAX0001" and ev.data["faulty_serial"] == w.terminal.serial


def test_photo_is_stored_once_per_action_id(db, app, tmp_path):
    day = make_day(db)
    to_on_site(db, day)
    tech = day.world.users["tech01"]
    action = aid()
    data = image_bytes("JPEG", (64, 48))
    a = svc.add_photo(db, day.visit.id, tech, action, data=data, filename="x.jpg",
                      upload_dir=str(tmp_path))
    b = svc.add_photo(db, day.visit.id, tech, action, data=data, filename="x.jpg",
                      upload_dir=str(tmp_path))
    assert b.replayed and b.extra["attachment_id"] == a.extra["attachment_id"]
    rows = db.exec(select(Attachment).where(Attachment.work_order_id == day.wo.id)).all()
    assert len(rows) == 1 and rows[0].content_type == "image/jpeg"
    audit = db.exec(select(AuditEvent).where(AuditEvent.entity == "attachment")).one()  # once
    assert (audit.entity_id, audit.action, audit.actor_user_id, audit.actor_label) == (
        str(rows[0].id), "added", tech.id, tech.username)
    assert audit.data["work_order_id"] == day.wo.id
    with pytest.raises(InvalidInput):
        svc.add_photo(db, day.visit.id, tech, aid(), data=b"not an image", filename="x.jpg",
                      upload_dir=str(tmp_path))


def test_action_on_a_replaced_plan_lands_on_the_current_visit(db):
    day = make_day(db)
    day.plan.status = "superseded"
    new_plan = Plan(region_id=day.world.region.id, day=day.plan.day, status="published", version=2)
    db.add(day.plan)
    db.add(new_plan)
    db.flush()
    current = Visit(plan_id=new_plan.id, work_order_id=day.wo.id, technician_id=day.world.tech.id,
                    sequence=1)
    db.add(current)
    db.commit()
    r = svc.start_travel(db, day.visit.id, day.world.users["tech01"], aid())
    assert r.visit.id == current.id
    db.expire_all()
    assert db.get(Visit, current.id).status == "en_route"
    assert db.get(Visit, day.visit.id).status == "planned"


def test_stock_audit_is_written_with_the_completion(db):
    day = make_day(db)
    to_on_site(db, day)
    svc.complete(db, day.visit.id, day.world.users["tech01"], aid(),
                 resolution_code="replaced_part", parts=[svc.PartUsed(day.world.part.id, 1)])
    audits = db.exec(select(AuditEvent).where(AuditEvent.entity == "stock",
                                              AuditEvent.action == "consume")).all()
    assert len(audits) == 1


def test_merchant_gets_on_the_way_and_done_sms_once_each(db):
    from notifications.models import OutboundMessage

    day = make_day(db)
    tech = day.world.users["tech01"]
    travel = aid()
    # ~1.6 km away: the phone's fresh estimate, not the plan's 15 minutes, goes out
    first = svc.start_travel(db, day.visit.id, tech, travel,
                             position=svc.Position(31.23, 121.47))
    svc.start_travel(db, day.visit.id, tech, travel)  # the phone sent it twice
    svc.arrive(db, day.visit.id, tech, aid())
    svc.complete(db, day.visit.id, tech, aid(), resolution_code="fixed_on_site")
    db.expire_all()
    rows = db.exec(select(OutboundMessage).where(
        OutboundMessage.to_number == day.world.merchant.phone)).all()
    assert sorted(r.template for r in rows) == ["technician_on_the_way", "visit_done"]
    from notifications.sms_templates import format_time

    on_the_way = next(r for r in rows if r.template == "technician_on_the_way")
    eta = svc.datetime.fromisoformat(first.extra["eta"])
    assert on_the_way.context["eta"] == format_time(eta, "Asia/Shanghai")
    assert eta < svc.utcnow() + timedelta(minutes=14)


def test_two_sends_of_the_same_completion_at_once_apply_once(db, engine):
    """A phone that resends while the first send is still being processed."""
    import threading

    day = make_day(db)
    to_on_site(db, day)
    action = aid()
    results, errors = [], []
    start = threading.Barrier(2)

    def send():
        with Session(engine, expire_on_commit=False) as s:
            tech = s.get(type(day.world.users["tech01"]), day.world.users["tech01"].id)
            start.wait()
            try:
                results.append(svc.complete(s, day.visit.id, tech, action,
                                            resolution_code="replaced_part",
                                            parts=[svc.PartUsed(day.world.part.id, 1)]).replayed)
            except Exception as exc:  # noqa: BLE001 - any error is shown by the assertion
                errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and sorted(results) == [False, True]
    assert van_on_hand(db, day) == 1
    db.expire_all()
    assert len(db.exec(select(StockMove).where(StockMove.kind == "consume")).all()) == 1


def test_a_part_reserved_at_the_depot_for_the_job_is_taken_from_there(db):
    """The plan sent the technician by the depot to pick the part up."""
    from inventory import stock
    from inventory.models import Reservation

    day = make_day(db)
    w = day.world
    stock.reserve_parts(db, day.wo.id, w.depot_location.id, w.part.id, 1)
    to_on_site(db, day)
    svc.complete(db, day.visit.id, w.users["tech01"], aid(), resolution_code="replaced_part",
                 parts=[svc.PartUsed(w.part.id, 1)])
    db.expire_all()
    assert van_on_hand(db, day) == 2  # the van's own units are untouched
    depot = db.exec(select(StockLevel).where(StockLevel.location_id == w.depot_location.id,
                                             StockLevel.part_id == w.part.id)).one()
    assert (depot.on_hand, depot.reserved) == (9, 0)
    assert db.exec(select(Reservation)).one().status == "consumed"
    done = next(e for e in events(db, day.wo.id) if e.to_status == "completed")
    assert done.data["parts"][0]["location"] == w.depot_location.code


def test_preventive_checklist_items_are_ticked_on_completion(db):
    day = make_day(db, kind="preventive")
    wo = db.get(WorkOrder, day.wo.id)
    wo.checklist = [{"code": "clean_card_slot", "label": "Clean the card slot",
                     "terminal": "PAX0100001", "pm_plan_id": 1, "done": False},
                    {"code": "update_firmware", "label": "Update the firmware",
                     "terminal": "PAX0100001", "pm_plan_id": 1, "done": False}]
    db.add(wo)
    db.commit()
    to_on_site(db, day)
    tech = day.world.users["tech01"]
    with pytest.raises(InvalidInput) as exc:
        svc.complete(db, day.visit.id, tech, aid(), resolution_code="preventive_done",
                     checklist_done=[5])
    assert exc.value.fields[0]["field"] == "checklist_done"
    svc.complete(db, day.visit.id, tech, aid(), resolution_code="preventive_done",
                 checklist_done=[1])
    db.expire_all()
    wo = db.get(WorkOrder, day.wo.id)
    assert [c["done"] for c in wo.checklist] == [False, True]
    assert events(db, wo.id)[-1].data["checklist_done"] == ["update_firmware"]
