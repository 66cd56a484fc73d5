"""A technician's day in the field: tech01's published visits of today, the phone's
action ids, and walking a visit on site."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from dispatch.field import service as svc
from dispatch.models import Plan, Visit, WorkOrder
from tests.builders.planning import make_plan, make_visit
from tests.builders.stock import level
from tests.builders.workorders import make_work_order
from tests.builders.world import World, make_world


@dataclass
class Day:
    world: World
    plan: Plan
    wo: WorkOrder
    visit: Visit
    wo2: WorkOrder
    visit2: Visit


def aid() -> str:
    """A fresh client action id, as the phone gives each tap."""
    return str(uuid.uuid4())


def make_day(db: Session, *, kind: str = "repair") -> Day:
    """tech01 has two visits on today's published plan of the region (the region's
    today, not DAY): WO-T0001 and WO-T0002, dispatched, of the world's terminal whose
    card reader fails, in route order visit2 then visit."""
    w = make_world(db)
    today = svc.region_today(db, w.region.id)
    plan = make_plan(db, w.region, today, job_status="done")
    now = svc.utcnow()
    wos, visits = [], []
    for i in range(2):
        wo = make_work_order(db, w, number=f"WO-T{i + 1:04d}", kind=kind, status="dispatched",
                             title="Card slot / card reader fails", severity="down",
                             predicted_parts=[{"kind": "card_reader", "qty": 1}],
                             checklist=["clean_card_slot"])
        v = make_visit(db, plan, wo, w.tech, sequence=2 - i, planned_arrival=now + timedelta(hours=1 + i),
                       window_start=now + timedelta(hours=i), window_end=now + timedelta(hours=2 + i),
                       travel_seconds=900)
        wos.append(wo)
        visits.append(v)
    return Day(w, plan, wos[0], visits[0], wos[1], visits[1])


def make_tomorrow_visit(db: Session, day: Day) -> Visit:
    """A third work order (WO-T0009, printer jams) on tomorrow's published plan, for
    tech01."""
    plan = make_plan(db, day.world.region, day.plan.day + timedelta(days=1), job_status="done")
    wo = make_work_order(db, day.world, number="WO-T0009", kind="repair", status="dispatched",
                         title="Printer jams")
    return make_visit(db, plan, wo, day.world.tech, travel_seconds=600)


def to_on_site(db: Session, day: Day) -> None:
    """tech01 travels to the day's first visit and arrives."""
    tech = day.world.users["tech01"]
    svc.start_travel(db, day.visit.id, tech, aid())
    svc.arrive(db, day.visit.id, tech, aid())


def van_on_hand(db: Session, day: Day) -> int:
    """Card readers on hand in tech01's van, as committed."""
    return level(db, day.world.van.id, day.world.part.id)[0]
