"""Pages show stored UTC times in the region's zone: the SMS outbox and the stock
ledger said 'UTC' while everything else spoke Shanghai time."""
from __future__ import annotations

from datetime import UTC, datetime

from inventory.models import StockMove
from notifications.outbox import enqueue_sms
from tests.builders.people import login
from tests.builders.world import make_world

AT = datetime(2026, 11, 24, 2, 5, tzinfo=UTC)  # 10:05 in Shanghai


def test_sms_outbox_shows_the_regions_time(client, db):
    make_world(db)
    msg = enqueue_sms(db, key="k-local", to="+8613812345678", template="visit_done", locale="en",
                      context={"ref": "WO-9"}, region_tz="Asia/Shanghai")
    msg.created_at = AT
    db.add(msg)
    db.commit()
    login(client, "dispatcher")
    html = client.get("/sms").get_data(as_text=True)
    assert "2026-11-24 10:05 CST" in html
    assert "02:05 UTC" not in html and " UTC</td>" not in html


def test_stock_ledger_shows_the_viewers_zone(client, db):
    w = make_world(db)
    db.add(StockMove(kind="receive", part_id=w.part.id, location_id=w.van.id, on_hand_delta=1, at=AT))
    db.commit()
    login(client, "dispatcher")
    html = client.get(f"/inventory/ledger?location_id={w.van.id}").get_data(as_text=True)
    assert "2026-11-24 10:05 CST" in html and "UTC" not in html
