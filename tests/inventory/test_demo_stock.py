"""The demo world's stock is a ledger like any other: levels equal the sums, every
serial-tracked unit on hand has a serial, and the stock pages work on it."""
from __future__ import annotations

from datetime import date

from sqlmodel import func, select

from demo.world import DEMO_PASSWORD, build_demo_world
from inventory import forecast, stock
from inventory.models import Part, SerialUnit, StockLevel
from tests.builders.people import login


def test_demo_stock_is_consistent_and_serials_match_on_hand(app, db, client):
    build_demo_world(db, seed=3, today=date(2026, 11, 24), merchants_per_region=12,
                     technicians_per_region=2, history_days=2)
    assert stock.ledger_mismatches(db) == []
    serialized = {p.id for p in db.exec(select(Part).where(Part.serialized.is_(True))).all()}
    assert serialized
    for lv in db.exec(select(StockLevel).where(StockLevel.part_id.in_(serialized))).all():
        units = db.exec(select(func.count()).select_from(SerialUnit).where(
            SerialUnit.location_id == lv.location_id, SerialUnit.part_id == lv.part_id,
            SerialUnit.status == "in_stock")).one()
        assert units == lv.on_hand
    depots = forecast.reorder_suggestions(db, horizon_days=7)
    assert len(depots) >= 3
    login(client, "dispatcher", DEMO_PASSWORD)
    for url in ("/inventory/", "/inventory/ledger", "/inventory/reorder", "/inventory/restock",
                "/backup/", "/backup/pool"):
        assert client.get(url).status_code == 200, url


def test_every_demo_demand_has_a_catalog_part_that_fits(app, db, client):
    # Why: the page said "No part in the catalog for: keypad × 3, comm_module × 1" although
    # the catalog lists KP-GEN and CM-4G. The kinds matched; the parts did not fit the
    # terminals' models: the demo gave keypad faults to touch-only PAX terminals and the
    # Verifone V200c (Ethernet and Wi-Fi) had no comm board. The demo now has faults a
    # terminal can have, and the reorder page names a part for every predicted need.
    # (tests/inventory/test_forecast.py keeps the page's answer for a need no part fits.)
    build_demo_world(db, seed=3, today=date(2026, 11, 24), merchants_per_region=12,
                     technicians_per_region=2, history_days=2)
    depots = forecast.reorder_suggestions(db, horizon_days=7)
    assert [u for d in depots for u in d.uncovered] == []
    assert all(sum(d.unmatched.values()) == 0 for d in depots)
    login(client, "dispatcher", DEMO_PASSWORD)
    html = client.get("/inventory/reorder").get_data(as_text=True)
    assert "No part in the catalog for" not in html
