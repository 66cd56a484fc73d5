"""How long the dispatcher board takes to render for a big region's day.

Builds a region with 25 technicians on shift and 300 ready work orders, plans it
(the solver's routes written back as visits, like a finished solve), then times
``GET /board`` through the real app (queries, timelines, map data, template) a
number of times and prints the median and the worst.

    .venv/bin/python benchmarks/board_render.py [--orders 300] [--technicians 25] [--runs 15]

The solve is not part of the figure (it runs in its own process); its time is
printed for information.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session

DAY = date(2026, 11, 24)
TZ = "Asia/Shanghai"


def local(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(DAY, dtime(h, m), tzinfo=ZoneInfo(TZ))


def build(session: Session, n_orders: int, n_techs: int, seed: int = 1) -> int:
    from werkzeug.security import generate_password_hash

    from core.models import Depot, Region, Role, User
    from dispatch.models import Merchant, Shift, Technician, WorkOrder

    rng = random.Random(seed)
    region = Region(code="BIG", name="Big region", timezone=TZ, center_lat=31.2, center_lon=121.45,
                    min_lat=31.05, max_lat=31.35, min_lon=121.25, max_lon=121.65)
    session.add(region)
    session.flush()
    depot = Depot(code="DEP-BIG", name="Big depot", region_id=region.id, lat=31.2, lon=121.45)
    session.add(depot)
    session.flush()
    skills = [["hardware", "card_reader", "printer"], ["network", "software"],
              ["hardware", "network", "software", "printer", "card_reader"]]
    for i in range(n_techs):
        t = Technician(code=f"big{i:02d}", name=f"Tech {i:02d}", region_id=region.id, depot_id=depot.id,
                       skills=skills[i % 3])
        session.add(t)
        session.flush()
        session.add(Shift(technician_id=t.id, day=DAY, start_at=local("08:30"), end_at=local("17:30"),
                          break_earliest=local("11:30"), break_latest=local("14:00")))
    hours = {d: [["09:00", "21:00"]] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
    for i in range(n_orders):
        m = Merchant(code=f"MB{i:05d}", name=f"Merchant {i}", phone=f"+8613900{i:06d}",
                     lat=rng.uniform(31.05, 31.35), lon=rng.uniform(121.25, 121.65), region_id=region.id,
                     opening_hours=hours)
        session.add(m)
        session.flush()
        session.add(WorkOrder(number=f"WO-B{i:05d}", status="ready", region_id=region.id, merchant_id=m.id,
                              required_skills=[rng.choice(["hardware", "network", "software"])],
                              service_minutes=rng.choice([20, 30, 45]), sla_due_at=local("18:00")))
    session.add(User(username="bench", display_name="Bench", role=Role.DISPATCHER,
                     password_hash=generate_password_hash("bench-pass-1", method="pbkdf2:sha256:1000")))
    session.commit()
    return region.id


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--technicians", type=int, default=25)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--solve-seconds", type=float, default=20.0)
    args = ap.parse_args()

    from app import create_app
    from core.db import metadata
    from dispatch.planning import service as planning
    from dispatch.planning.problem import build_input, plan_visits
    from dispatch.planning.writeback import apply_solution
    from dispatch.solver import solve

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"database_url": f"sqlite:///{tmp}/bench.db", "secret_key": "bench"},
                         {"TESTING": True, "WTF_CSRF_ENABLED": False})
        engine = app.extensions["fixroute.engine"]
        metadata.create_all(engine)
        with Session(engine, expire_on_commit=False) as s:
            region_id = build(s, args.orders, args.technicians)
            plan, _ = planning.get_or_create_draft(s, region_id, DAY)
            inp = build_input(s, region_id, DAY, plan=plan, now=local("06:00"))
            t0 = time.perf_counter()
            sol = solve(inp.problem, time_limit_s=args.solve_seconds)
            solve_s = time.perf_counter() - t0
            apply_solution(s, plan, inp, sol)
            s.commit()
            visits = len(plan_visits(s, plan.id))
        client = app.test_client()
        client.post("/login", data={"username": "bench", "password": "bench-pass-1"})
        url = f"/board?region_id={region_id}&day={DAY.isoformat()}"
        first = client.get(url)
        assert first.status_code == 200, first.status_code
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            resp = client.get(url)
            times.append(time.perf_counter() - t0)
            assert resp.status_code == 200
        size_kb = len(resp.data) / 1024
    print(f"orders={args.orders} technicians={args.technicians} visits={visits} "
          f"unassigned={len(sol.unassigned)} solve={solve_s:.1f}s")
    print(f"board render: median {statistics.median(times) * 1000:.0f} ms, "
          f"worst {max(times) * 1000:.0f} ms over {args.runs} runs, page {size_kb:.0f} KiB")


if __name__ == "__main__":
    main()
