"""Van restock from tomorrow's published plans; depot low-stock alerts and reorder."""
from __future__ import annotations

from datetime import date, timedelta

from core.timeutil import utcnow
from dispatch.models import Terminal, TerminalModel
from inventory import forecast, stock
from inventory.models import Part, PartFit
from tests.builders.planning import make_plan, make_visit
from tests.builders.workorders import make_work_order
from tests.builders.world import make_world

DAY = date(2026, 11, 25)


def _plan(db, world, status, wos, tech=None):
    plan = make_plan(db, world.region, DAY, status=status)
    for i, wo in enumerate(wos):
        make_visit(db, plan, wo, tech or world.tech, sequence=i)
    return plan


def test_van_restock_covers_published_visits_beyond_van_stock(db):
    world = make_world(db)  # van holds 2 card readers, depot 10
    wos = [make_work_order(db, world, status="dispatched",
                           predicted_parts=[{"kind": "card_reader", "qty": 1}]) for _ in range(3)]
    wos.append(make_work_order(db, world, status="dispatched",
                               predicted_parts=[{"kind": "display", "qty": 1}]))
    _plan(db, world, "published", wos)
    # a draft plan for the other technician is not a commitment: ignored
    _plan(db, world, "draft", [make_work_order(db, world, predicted_parts=[
        {"kind": "card_reader", "qty": 5}])], tech=world.tech2)
    # one unit of the van is reserved for an unrelated work order
    other = make_work_order(db, world)
    stock.reserve_parts(db, other.id, world.van.id, world.part.id, 1)

    [van] = forecast.restock_suggestions(db, DAY)
    assert van.van.id == world.van.id
    [line] = van.lines
    assert (line.part.id, line.needed, line.have, line.suggest, line.depot_available) == (
        world.part.id, 3, 1, 2, 10)
    assert van.unmatched == {"display": 1}
    assert van.short


def test_reservation_for_the_planned_work_counts_as_van_stock(db):
    world = make_world(db)
    wo = make_work_order(db, world, status="dispatched",
                         predicted_parts=[{"kind": "card_reader", "qty": 2}])
    stock.reserve_parts(db, wo.id, world.van.id, world.part.id, 2)
    _plan(db, world, "published", [wo])
    [van] = forecast.restock_suggestions(db, DAY)
    assert [(x.needed, x.have, x.suggest) for x in van.lines] == [(2, 2, 0)]
    assert not van.short


def test_reorder_counts_open_repairs_and_preventive_work_in_horizon(db):
    world = make_world(db)
    part = db.get(Part, world.part.id)
    part.reorder_point = 4
    db.add(part)
    paper = Part(sku="PAPER", name="Paper", kind="paper", reorder_point=0)
    db.add(paper)
    db.commit()
    db.add(PartFit(part_id=paper.id, terminal_model_id=world.model.id))
    db.commit()
    now = utcnow()
    for _ in range(7):
        make_work_order(db, world, predicted_parts=[{"kind": "card_reader", "qty": 1}])
    make_work_order(db, world, status="completed",
                    predicted_parts=[{"kind": "card_reader", "qty": 50}])  # closed: ignored
    make_work_order(db, world, kind="preventive", window_start_at=now + timedelta(days=2),
                    predicted_parts=[{"kind": "paper", "qty": 3}])
    make_work_order(db, world, kind="preventive", window_start_at=now + timedelta(days=30),
                    predicted_parts=[{"kind": "paper", "qty": 100}])  # beyond the horizon
    stock.reserve_parts(db, make_work_order(db, world).id, world.depot_location.id,
                        world.part.id, 7)

    [depot] = forecast.reorder_suggestions(db, horizon_days=7, now=now)
    lines = {line.part.sku: line for line in depot.lines}
    cr = lines["CR-PAX"]
    # depot 10 on hand (7 reserved) + van 2 = 12; demand 7; keep 4 -> order 0 ... 7+4-12 < 0
    assert (cr.depot_available, cr.vans_on_hand, cr.demand, cr.suggest) == (3, 2, 7, 0)
    assert cr.low_stock and cr in depot.alerts
    assert (lines["PAPER"].demand, lines["PAPER"].suggest) == (3, 3)
    # more repairs arrive: now the region runs short
    for _ in range(5):
        make_work_order(db, world, predicted_parts=[{"kind": "card_reader", "qty": 1}])
    [depot] = forecast.reorder_suggestions(db, horizon_days=7, now=now)
    cr = next(line for line in depot.lines if line.part.sku == "CR-PAX")
    assert (cr.demand, cr.suggest) == (12, 4)


def test_reorder_lists_demand_no_part_fits_by_model_with_the_parts_of_that_kind(db):
    world = make_world(db)  # the terminal is a PAX A920 Pro
    vf = TerminalModel(code="VF-V200C", vendor="Verifone", name="V200c Plus")
    db.add(vf)
    db.flush()
    keypad = Part(sku="KP-GEN", name="Keypad membrane", kind="keypad")
    db.add(keypad)
    db.flush()
    db.add(PartFit(part_id=keypad.id, terminal_model_id=vf.id))
    vf_terminal = Terminal(serial="VF0000009", model_id=vf.id, merchant_id=world.merchant.id)
    db.add(vf_terminal)
    db.commit()
    on_pax = [make_work_order(db, world, predicted_parts=[{"kind": "keypad", "qty": 1}])
              for _ in range(3)]
    make_work_order(db, world, terminal_id=vf_terminal.id,
                    predicted_parts=[{"kind": "keypad", "qty": 1}, {"kind": "battery", "qty": 1}])

    [depot] = forecast.reorder_suggestions(db, horizon_days=7)
    assert depot.unmatched == {"keypad": 3, "battery": 1}
    by_kind = {(u.kind, u.model_code): u for u in depot.uncovered}
    pax = by_kind[("keypad", "PAX-A920PRO")]
    assert (pax.qty, pax.work_orders) == (3, sorted(wo.number for wo in on_pax))
    assert pax.model_name == "PAX A920 Pro"
    assert [(p.sku, fits) for p, fits in pax.parts_of_kind] == [("KP-GEN", ["VF-V200C"])]
    assert by_kind[("battery", "VF-V200C")].parts_of_kind == []  # no battery in the catalog
    # the keypad for the Verifone is covered by KP-GEN and asked for
    assert {x.part.sku: x.demand for x in depot.lines}["KP-GEN"] == 1
