"""Property: after any sequence of stock operations, every level equals the sum of
its ledger moves and nothing is ever negative or over-reserved. Refused operations
(Conflict, InvalidInput) must leave no trace."""
from __future__ import annotations

from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from core.errors import Conflict, InvalidInput
from inventory import stock
from inventory.models import Part, Reservation, StockLevel, StockLocation
from tests.builders.workorders import make_work_order

_seq = count(1)

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), st.integers(0, 2), st.integers(0, 1), st.integers(-1, 5)),
        st.tuples(st.just("transfer"), st.integers(0, 2), st.integers(0, 1), st.integers(-1, 6)),
        st.tuples(st.just("reserve"), st.integers(0, 2), st.integers(0, 1), st.integers(-1, 6)),
        st.tuples(st.just("release"), st.integers(0, 9), st.integers(0, 1), st.integers(0, 3)),
        st.tuples(st.just("consume"), st.integers(0, 2), st.integers(0, 1), st.integers(-1, 6)),
        st.tuples(st.just("faulty"), st.integers(0, 2), st.integers(0, 1), st.integers(0, 3)),
        st.tuples(st.just("adjust"), st.integers(0, 2), st.integers(0, 1), st.integers(-6, 6)),
    ),
    min_size=1, max_size=25,
)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS)
def test_levels_equal_ledger_sums_and_never_go_negative(db, world, ops):
    # fresh locations and parts per example: examples share the database
    tag = next(_seq)
    depot = StockLocation(code=f"D{tag}", name="depot", kind="depot", depot_id=world.depot.id)
    van = StockLocation(code=f"V{tag}", name="van", kind="van", depot_id=world.depot.id)
    parts = [Part(sku=f"P{tag}a", name="a", kind="card_reader"),
             Part(sku=f"P{tag}b", name="b", kind="battery")]
    db.add_all([depot, van, *parts])
    db.commit()
    locations = [depot.id, van.id]
    part_ids = [p.id for p in parts]
    wo = make_work_order(db, world)
    for op, a, b, q in ops:
        loc, part = locations[a % 2], part_ids[b]
        try:
            if op == "receive":
                stock.receive(db, loc, part, q)
            elif op == "transfer":
                stock.transfer(db, loc, locations[(a + 1) % 2], part, q)
            elif op == "reserve":
                stock.reserve_parts(db, wo.id, loc, part, q)
            elif op == "release":
                active = db.exec(select(Reservation).where(Reservation.status == "active",
                                                           Reservation.work_order_id == wo.id)
                                 .order_by(Reservation.id)).all()
                if active:
                    stock.release(db, active[a % len(active)].id, qty=q or None)
            elif op == "consume":
                stock.consume(db, wo.id, loc, part, q)
            elif op == "faulty":
                stock.return_faulty(db, depot.id, part, q or 1,
                                    from_location_id=loc if q % 2 else None)
            elif op == "adjust":
                stock.adjust(db, loc, part, q, "count")
        except (Conflict, InvalidInput):  # refused as the rules say; any other error fails
            pass
        assert stock.ledger_mismatches(db, locations) == []
        mine = db.exec(select(StockLevel).where(StockLevel.location_id.in_(locations))
                       .execution_options(populate_existing=True)).all()
        for lv in mine:
            assert lv.on_hand >= 0 and lv.faulty >= 0 and 0 <= lv.reserved <= lv.on_hand
        by_reservation: dict = {}
        for r in db.exec(select(Reservation).where(Reservation.status == "active",
                                                   Reservation.work_order_id == wo.id)).all():
            key = (r.location_id, r.part_id)
            by_reservation[key] = by_reservation.get(key, 0) + stock.remaining(r)
        for lv in mine:
            assert lv.reserved == by_reservation.get((lv.location_id, lv.part_id), 0)
