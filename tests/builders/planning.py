"""A region's day to plan: ready work orders in the small world, and the same day as
a draft, solved and published plan. Each step builds on the one before, so a test
starts from the step it is about. Plans and visits written directly (make_plan,
make_visit) are for tests about what a plan is used for, not how it is made."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from core.models import Region
from dispatch.models import Merchant, Plan, Technician, Visit, WorkOrder, WorkOrderStatus
from dispatch.planning import service as planning
from dispatch.planning.problem import PlanInput, build_input
from dispatch.planning.writeback import apply_solution
from dispatch.solver import Solution, solve, validate
from tests.builders.workorders import make_work_order
from tests.builders.world import DAY, World, local_dt, make_world

BEFORE = local_dt(DAY, "06:00")  # the dispatcher plans DAY early in its morning

SPOTS = [(31.205, 121.430), (31.215, 121.445), (31.225, 121.470), (31.240, 121.480),
         (31.250, 121.455), (31.200, 121.490), (31.235, 121.430), (31.245, 121.495)]


def make_plan(db: Session, region: Region, day: date, *, status: str = "published", **fields: Any) -> Plan:
    """A plan of `region`'s `day` (published unless told), without visits, committed."""
    plan = Plan(region_id=region.id, day=day, status=status, **fields)
    db.add(plan)
    db.commit()
    return plan


def make_visit(db: Session, plan: Plan, work_order: WorkOrder, technician: Technician, *,
               sequence: int = 1, **fields: Any) -> Visit:
    """`technician`'s visit of `work_order` on `plan`, at `sequence` in the route, committed."""
    visit = Visit(plan_id=plan.id, work_order_id=work_order.id, technician_id=technician.id,
                  sequence=sequence, **fields)
    db.add(visit)
    db.commit()
    return visit


def make_planning_world(db: Session, n_orders: int = 6, day: date = DAY) -> tuple[World, list[WorkOrder]]:
    """The small world plus `n_orders` ready orders of one merchant each (open 9-12 and
    13-19), alternately needing hardware and network skills, the first one high
    priority, all due at 18:00 on `day`."""
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
        orders.append(make_work_order(db, w, number=f"WO-T{i:04d}", status=WorkOrderStatus.READY,
                                      merchant_id=m.id, terminal_id=None, title=f"Fault {i}",
                                      required_skills=skills, service_minutes=40,
                                      priority="high" if i == 0 else "normal",
                                      sla_due_at=local_dt(day, "18:00")))
    return w, orders


def make_draft_plan(db: Session, n_orders: int = 6, *, day: date = DAY,
                    any_technician: bool = False) -> tuple[World, list[WorkOrder], Plan]:
    """The planning world and the empty draft of its day. With `any_technician` the
    orders need no skill, so the solver may give them to either technician."""
    w, orders = make_planning_world(db, n_orders, day=day)
    if any_technician:
        for o in orders:
            o.required_skills = []
            db.add(o)
        db.commit()
    plan, _ = planning.get_or_create_draft(db, w.region.id, day)
    return w, orders, plan


def solve_plan(db: Session, plan: Plan, now: datetime | None = None) -> tuple[PlanInput, Solution]:
    """Solve `plan`'s day as the board does (early on the day unless `now` is given),
    check the solution and write it into the plan as a new version."""
    now = now or local_dt(plan.day, "06:00")
    inp = build_input(db, plan.region_id, plan.day, plan=plan, now=now)
    sol = solve(inp.problem, time_limit_s=5, solution_limit=30)
    assert validate(inp.problem, sol) == []
    apply_solution(db, plan, inp, sol)
    plan.version += 1
    db.commit()
    return inp, sol


def make_solved_plan(db: Session, n_orders: int = 6, *, day: date = DAY, any_technician: bool = False
                     ) -> tuple[World, list[WorkOrder], Plan, PlanInput, Solution]:
    """A draft of the planning world's day with the solver's routes written in."""
    w, orders, plan = make_draft_plan(db, n_orders, day=day, any_technician=any_technician)
    inp, sol = solve_plan(db, plan)
    return w, orders, plan, inp, sol


def publish(db: Session, plan: Plan, now: datetime | None = None) -> Plan:
    """Publish `plan` as the board does (early on the day unless `now` is given) and
    return it read back."""
    planning.publish_plan(db, plan.id, version=plan.version, now=now or local_dt(plan.day, "06:00"))
    db.expire_all()
    return db.get(Plan, plan.id)


def make_published_plan(db: Session, n_orders: int = 6, *, day: date = DAY, any_technician: bool = False
                        ) -> tuple[World, list[WorkOrder], Plan]:
    """The solved plan of the planning world's day, published: the orders dispatched,
    the merchants told their windows."""
    w, orders, plan, _, _ = make_solved_plan(db, n_orders, day=day, any_technician=any_technician)
    return w, orders, publish(db, plan)
