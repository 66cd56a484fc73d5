"""The small world every service test starts from (the full demo world is slow): one
region (Puxi) with a depot, a merchant and its terminal, two technicians on shift, a
card-reader part in the depot and in tech01's van, and a user of each role."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from core.models import Depot, Region, Role, User
from dispatch.models import Merchant, Shift, Technician, Terminal, TerminalModel
from inventory.models import Part, StockLevel, StockLocation, StockMove
from tests.builders.people import make_user
from tests.builders.stock import make_part

DAY = date(2026, 11, 24)  # a Tuesday: the merchants are open and both technicians work


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


def local_dt(day: date, hhmm: str, tz: str = "Asia/Shanghai") -> datetime:
    """`hhmm` on `day` in the region's time zone (Shanghai unless told)."""
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=ZoneInfo(tz))


def make_world(session: Session, day: date | None = None) -> World:
    """The world with the technicians' shifts on `day` (DAY unless told), committed.

    Stock: 10 card readers at the depot, 2 in tech01's van (tech02 has no van). Users:
    admin, dispatcher, agent, tech01 and tech02, all with PASSWORD."""
    day = day or DAY
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
    terminal = make_terminal(session, merchant, model.id, "PAX0100001")
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
    part = make_part(session, "CR-PAX", "Card reader module (PAX)", "card_reader", fits=model,
                     serialized=False)
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


def make_terminal(session: Session, merchant: Merchant, model_id: int, serial: str, **fields: Any) -> Terminal:
    """Another terminal at `merchant`, committed; `fields` set any other column."""
    terminal = Terminal(serial=serial, model_id=model_id, merchant_id=merchant.id, **fields)
    session.add(terminal)
    session.commit()
    return terminal
