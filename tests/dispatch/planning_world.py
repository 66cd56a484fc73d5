"""A small region with ready work orders, for the planning and board tests."""
from __future__ import annotations

from datetime import date, timedelta

from dispatch.models import Merchant, WorkOrder, WorkOrderStatus
from tests.builders.world import local_dt, make_world

DAY = date(2026, 11, 24)  # a Tuesday

SPOTS = [(31.205, 121.430), (31.215, 121.445), (31.225, 121.470), (31.240, 121.480),
         (31.250, 121.455), (31.200, 121.490), (31.235, 121.430), (31.245, 121.495)]


def make_planning_world(db, n_orders: int = 6, day: date = DAY):
    w = make_world(db, day)
    orders = []
    for i in range(n_orders):
        lat, lon = SPOTS[i % len(SPOTS)]
        m = Merchant(code=f"MPL{i:04d}", name=f"Shop {i}", phone=f"+861381234{i:04d}", lat=lat, lon=lon,
                     region_id=w.region.id, locale="en" if i % 2 else "zh",
                     opening_hours={d: [["09:00", "12:00"], ["13:00", "19:00"]]
                                    for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]})
        db.add(m)
        db.flush()
        skills = ["hardware"] if i % 2 == 0 else ["network"]
        wo = WorkOrder(number=f"WO-T{i:04d}", status=WorkOrderStatus.READY, region_id=w.region.id,
                       merchant_id=m.id, title=f"Fault {i}", required_skills=skills,
                       service_minutes=40, priority="high" if i == 0 else "normal",
                       sla_due_at=local_dt(day, "18:00"))
        db.add(wo)
        orders.append(wo)
    db.commit()
    return w, orders


def next_day(day: date = DAY) -> date:
    return day + timedelta(days=1)
