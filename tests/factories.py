"""Small hand-made worlds for service-level tests (the full demo world is slow)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session
from werkzeug.security import generate_password_hash

from core.models import Depot, Region, Role, User
from dispatch.models import Merchant, Shift, Technician, Terminal, TerminalModel
from inventory.models import Part, PartFit, StockLevel, StockLocation, StockMove

PASSWORD = "correct-horse-9"
# Hashing with a cheap method keeps tests fast; production uses werkzeug's default.
_FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


@dataclass
class World:
    region: Region
    depot: Depot
    depot_location: StockLocation
    model: TerminalModel
    merchant: Merchant
    terminal: Terminal
    tech: Technician
    tech2: Technician
    van: StockLocation
    part: Part
    users: dict[str, User]


def make_user(session: Session, username: str, role: str, technician_id: int | None = None) -> User:
    user = User(username=username, display_name=username.title(), password_hash=_FAST_HASH,
                role=role, technician_id=technician_id)
    session.add(user)
    session.flush()
    return user


def local_dt(day: date, hhmm: str, tz: str = "Asia/Shanghai") -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=ZoneInfo(tz))


def make_world(session: Session, day: date | None = None) -> World:
    day = day or date(2026, 11, 24)
    region = Region(code="PX", name="Puxi", timezone="Asia/Shanghai", center_lat=31.23,
                    center_lon=121.47, min_lat=31.19, max_lat=31.26, min_lon=121.42, max_lon=121.50)
    session.add(region)
    session.flush()
    depot = Depot(code="DEP-PX", name="Jing'an depot", region_id=region.id, lat=31.229, lon=121.448)
    session.add(depot)
    model = TerminalModel(code="PAX-A920PRO", vendor="PAX", name="A920 Pro", form_factor="smart",
                          connectivity=["4g", "wifi"])
    session.add(model)
    session.flush()
    merchant = Merchant(code="MPX0001", name="Wang's Noodle House", phone="+8613812345678",
                        lat=31.22, lon=121.46, region_id=region.id, locale="en",
                        opening_hours={d: [["10:00", "14:00"], ["17:00", "22:00"]]
                                       for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]})
    session.add(merchant)
    session.flush()
    terminal = Terminal(serial="PAX0100001", model_id=model.id, merchant_id=merchant.id)
    session.add(terminal)
    tech = Technician(code="tech01", name="Li Wei", region_id=region.id, depot_id=depot.id,
                      skills=["hardware", "card_reader", "printer"])
    tech2 = Technician(code="tech02", name="Chen Fang", region_id=region.id, depot_id=depot.id,
                       skills=["network", "software"])
    session.add(tech)
    session.add(tech2)
    session.flush()
    for t in (tech, tech2):
        session.add(Shift(technician_id=t.id, day=day, start_at=local_dt(day, "08:30"),
                          end_at=local_dt(day, "17:30"), break_earliest=local_dt(day, "11:30"),
                          break_latest=local_dt(day, "14:00")))
    part = Part(sku="CR-PAX", name="Card reader module (PAX)", kind="card_reader", serialized=False)
    session.add(part)
    session.flush()
    session.add(PartFit(part_id=part.id, terminal_model_id=model.id))
    depot_loc = StockLocation(code="LOC-DEP-PX", name="Jing'an depot", kind="depot", depot_id=depot.id)
    van = StockLocation(code="VAN-tech01", name="Van tech01", kind="van", technician_id=tech.id,
                        depot_id=depot.id)
    session.add(depot_loc)
    session.add(van)
    session.flush()
    for loc, qty in ((depot_loc, 10), (van, 2)):
        session.add(StockMove(kind="receive", part_id=part.id, location_id=loc.id, on_hand_delta=qty))
        session.add(StockLevel(location_id=loc.id, part_id=part.id, on_hand=qty))
    users = {
        "admin": make_user(session, "admin", Role.ADMIN),
        "dispatcher": make_user(session, "dispatcher", Role.DISPATCHER),
        "agent": make_user(session, "agent", Role.AGENT),
        "tech01": make_user(session, "tech01", Role.TECHNICIAN, tech.id),
        "tech02": make_user(session, "tech02", Role.TECHNICIAN, tech2.id),
    }
    session.commit()
    return World(region, depot, depot_loc, model, merchant, terminal, tech, tech2, van, part, users)


def login(client, username: str, password: str = PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


def bearer(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert resp.status_code == 201, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}
