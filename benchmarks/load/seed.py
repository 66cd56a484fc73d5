"""A load-test world: regions of technicians, each with a published plan for today
whose visits are dispatched and ready to be worked through the phone API, and
dispatchers to browse the boards. All users share one password (load data only)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlmodel import Session
from werkzeug.security import generate_password_hash

from core.models import Depot, Region, Role, User
from dispatch.field.service import region_today
from dispatch.models import Merchant, Plan, Technician, Visit, WorkOrder

PASSWORD = "load-test-only-9"
CENTERS = [(31.23, 121.47), (39.91, 116.40), (22.54, 114.06), (30.27, 120.15),
           (23.13, 113.26), (30.57, 104.07), (34.26, 108.94), (29.56, 106.55)]
ZONE = "Asia/Shanghai"


@dataclass
class LoadWorld:
    technicians: list[str] = field(default_factory=list)   # usernames
    dispatchers: list[str] = field(default_factory=list)
    plans: list[tuple[int, int]] = field(default_factory=list)  # (region id, plan id)


def seed(session: Session, *, n_techs: int = 200, n_dispatchers: int = 10, visits_per_tech: int = 16,
         techs_per_region: int = 50) -> LoadWorld:
    world = LoadWorld()
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    n_regions = max(1, -(-n_techs // techs_per_region))
    now = datetime.now(UTC)
    wo_n = 0
    for r in range(n_regions):
        lat, lon = CENTERS[r % len(CENTERS)]
        region = Region(code=f"L{r:02d}", name=f"Load region {r}", timezone=ZONE, center_lat=lat,
                        center_lon=lon, min_lat=lat - 0.1, max_lat=lat + 0.1, min_lon=lon - 0.1,
                        max_lon=lon + 0.1)
        session.add(region)
        session.flush()
        depot = Depot(code=f"DEP-L{r:02d}", name=f"Depot {r}", region_id=region.id, lat=lat, lon=lon)
        session.add(depot)
        session.flush()
        plan = Plan(region_id=region.id, day=region_today(session, region.id), status="published",
                    job_status="done")
        session.add(plan)
        session.flush()
        world.plans.append((region.id, plan.id))
        first = r * techs_per_region
        for t in range(first, min(n_techs, first + techs_per_region)):
            code = f"ltech{t:03d}"
            tech = Technician(code=code, name=f"Technician {t}", region_id=region.id, depot_id=depot.id,
                              skills=["hardware", "network", "software"])
            session.add(tech)
            session.flush()
            session.add(User(username=code, display_name=code, password_hash=pw, role=Role.TECHNICIAN,
                             technician_id=tech.id))
            world.technicians.append(code)
            for s in range(visits_per_tech):
                wo_n += 1
                m = Merchant(code=f"ML{wo_n:06d}", name=f"Shop {wo_n}", phone=f"+86138{wo_n:08d}",
                             lat=lat + (s - 8) * 0.004, lon=lon + (t % 10 - 5) * 0.004,
                             region_id=region.id, locale="zh" if wo_n % 2 else "en",
                             opening_hours={d: [["00:00", "23:59"]]
                                            for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]})
                session.add(m)
                session.flush()
                wo = WorkOrder(number=f"WO-L{wo_n:06d}", status="dispatched", region_id=region.id,
                               merchant_id=m.id, title="Terminal fault", severity="degraded")
                session.add(wo)
                session.flush()
                session.add(Visit(plan_id=plan.id, work_order_id=wo.id, technician_id=tech.id,
                                  sequence=s, planned_arrival=now + timedelta(minutes=30 * s),
                                  window_start=now + timedelta(minutes=30 * s - 30),
                                  window_end=now + timedelta(minutes=30 * s + 30), travel_seconds=600))
        session.commit()
    for d in range(n_dispatchers):
        name = f"ldisp{d:02d}"
        session.add(User(username=name, display_name=name, password_hash=pw, role=Role.DISPATCHER))
        world.dispatchers.append(name)
    session.commit()
    return world
