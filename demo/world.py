"""A realistic, deterministic demo world around Shanghai.

Three regions with real-looking coordinates, merchants with their opening hours,
terminals of real POS models, technicians with skills and shifts, depots with stock,
three weeks of closed work orders and a set of open faults. The same seed and the same
`today` always give the same world, so tests and screenshots can rely on it. The demo
logins exist only here, never in a production database."""
from __future__ import annotations

import itertools
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session
from werkzeug.security import generate_password_hash

from core.db import unit_of_work
from core.i18n import msgid
from core.models import Depot, Region, Role, User
from core.timeutil import utcnow
from dispatch.desk.catalog import CATEGORIES
from dispatch.models import (
    FaultReport,
    Merchant,
    Plan,
    Shift,
    Technician,
    Terminal,
    TerminalModel,
    TerminalStatus,
    TriageStep,
    Visit,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderStatus,
)
from dispatch.workorders.sla import priority_for, sla_due_at
from inventory.models import Part, PartFit, SerialUnit, StockLevel, StockLocation, StockMove

DEMO_PASSWORD = "fixroute-demo"
TZ = "Asia/Shanghai"

REGIONS = [
    # code, name, name_zh, (min_lat, max_lat, min_lon, max_lon)
    ("PX", "Puxi Central", "浦西中心", (31.195, 31.255, 121.425, 121.500)),
    ("PD", "Pudong", "浦东", (31.190, 31.250, 121.505, 121.600)),
    ("MH", "Minhang-Xuhui South", "闵行徐汇南", (31.105, 31.185, 121.365, 121.455)),
]

DEPOTS = [
    ("DEP-PX", "Jing'an depot", "静安库房", "PX", 31.2290, 121.4480, "No. 88 Yuyuan Rd, Jing'an"),
    ("DEP-PD", "Zhangjiang depot", "张江库房", "PD", 31.2050, 121.5900, "No. 200 Zuchongzhi Rd, Pudong"),
    ("DEP-MH", "Xinzhuang depot", "莘庄库房", "MH", 31.1120, 121.3850, "No. 55 Xinzhu Rd, Minhang"),
]

MODELS = [
    # code, vendor, name, form factor, connectivity, printer, battery
    ("PAX-A920PRO", "PAX", "A920 Pro", "smart", ["4g", "wifi"], True, True),
    ("ING-MOVE5000", "Ingenico", "Move/5000", "portable", ["4g", "wifi"], True, True),
    ("VF-V200C", "Verifone", "V200c Plus", "countertop", ["ethernet", "wifi"], True, False),
    ("NL-N910", "Newland", "N910", "smart", ["4g", "wifi"], True, True),
    ("SUNMI-P2", "Sunmi", "P2 Pro", "smart", ["4g", "wifi"], True, True),
]

PARTS = [
    # sku, name, name_zh, kind, serialized, cost cents, model codes it fits
    ("CR-PAX", "Card reader module (PAX)", "读卡模块 (PAX)", "card_reader", True, 38000, ["PAX-A920PRO"]),
    ("CR-ING", "Card reader module (Ingenico)", "读卡模块 (Ingenico)", "card_reader", True, 41000, ["ING-MOVE5000"]),
    ("CR-GEN", "Card reader module (Verifone/Newland/Sunmi)", "读卡模块 (通用)", "card_reader", True, 35000, ["VF-V200C", "NL-N910", "SUNMI-P2"]),
    ("PR-58", "58 mm thermal printer module", "58毫米热敏打印模块", "printer", False, 12000, ["PAX-A920PRO", "ING-MOVE5000", "NL-N910", "SUNMI-P2"]),
    ("PR-V200", "Printer module V200c", "打印模块 V200c", "printer", False, 15000, ["VF-V200C"]),
    ("BAT-LI", "Li-ion battery pack 2600 mAh", "锂电池 2600毫安时", "battery", False, 9000, ["PAX-A920PRO", "ING-MOVE5000", "NL-N910", "SUNMI-P2"]),
    ("DSP-55", "5.5\" display assembly", "5.5英寸显示屏组件", "display", False, 26000, ["PAX-A920PRO", "NL-N910", "SUNMI-P2"]),
    ("DSP-ING", "Display assembly Move/5000", "显示屏组件 Move/5000", "display", False, 24000, ["ING-MOVE5000"]),
    ("DSP-V200", "Display assembly V200c", "显示屏组件 V200c", "display", False, 22000, ["VF-V200C"]),
    ("MB-GEN", "Main board (refurbished)", "主板 (翻新)", "main_board", True, 52000, ["PAX-A920PRO", "ING-MOVE5000", "VF-V200C", "NL-N910", "SUNMI-P2"]),
    ("CM-4G", "4G comm module", "4G通信模块", "comm_module", False, 18000, ["PAX-A920PRO", "ING-MOVE5000", "NL-N910", "SUNMI-P2"]),
    ("CM-ETH", "Ethernet/Wi-Fi comm board V200c", "以太网/Wi-Fi通信板 V200c", "comm_module", False, 9000, ["VF-V200C"]),
    ("PWR-12V", "Power adapter 12 V", "电源适配器 12V", "power_adapter", False, 4500, ["VF-V200C"]),
    ("PWR-USB", "USB-C charger 5 V", "USB-C充电器 5V", "power_adapter", False, 3500, ["PAX-A920PRO", "ING-MOVE5000", "NL-N910", "SUNMI-P2"]),
    ("KP-GEN", "Keypad membrane", "键盘膜", "keypad", False, 5000, ["ING-MOVE5000", "VF-V200C"]),
    ("PAPER-57", "Paper roll 57x40 (box of 50)", "热敏纸 57x40 (50卷)", "paper", False, 6000, ["PAX-A920PRO", "ING-MOVE5000", "VF-V200C", "NL-N910", "SUNMI-P2"]),
]

MERCHANT_KINDS = [
    # kind, English names, Chinese names, hours template
    ("restaurant", ["Noodle House", "Dumpling Bar", "Hotpot", "Bistro", "Canteen", "BBQ"],
     ["面馆", "饺子馆", "火锅", "小馆", "食堂", "烧烤"], "split"),
    ("retail", ["Mart", "Convenience", "Fashion", "Books", "Electronics", "Pharmacy"],
     ["超市", "便利店", "服饰", "书店", "电器", "药房"], "long"),
    ("cafe", ["Coffee", "Tea House", "Bakery", "Juice Bar"],
     ["咖啡", "茶馆", "面包房", "果汁吧"], "early"),
    ("service", ["Salon", "Laundry", "Clinic", "Florist", "Optician"],
     ["美发", "洗衣", "诊所", "花店", "眼镜店"], "office"),
]
SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
            "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Luo", "Gao"]
GIVEN = ["Wei", "Fang", "Min", "Jing", "Lei", "Jun", "Yan", "Hui", "Tao", "Ping", "Xin",
         "Qiang", "Li", "Hong", "Bo", "Chao", "Ying", "Rui", "Hao", "Lan"]
STREETS = ["Nanjing W Rd", "Huaihai M Rd", "Yan'an W Rd", "Changle Rd", "Julu Rd",
           "Wuding Rd", "Xinzha Rd", "Century Ave", "Zhangyang Rd", "Pudong Ave",
           "Dongfang Rd", "Lujiazui Ring Rd", "Caoxi Rd", "Hongqiao Rd", "Tianyaoqiao Rd",
           "Humin Rd", "Qixin Rd", "Gudai Rd", "Longhua M Rd", "Zhaojiabang Rd"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MOBILE_PREFIXES = ["138", "139", "136", "137", "150", "151", "158", "186", "188", "135"]

SKILL_SETS = [
    ["hardware", "card_reader", "printer", "preventive"],
    ["hardware", "printer", "smart_pos", "preventive"],
    ["network", "software", "smart_pos"],
    ["hardware", "card_reader", "network", "install"],
    ["software", "network", "printer", "preventive", "install"],
    ["hardware", "card_reader", "printer", "network", "software", "smart_pos", "preventive"],
]


def _hours(template: str, rng: random.Random) -> dict:
    if template == "split":
        week = {d: [["10:30", "14:00"], ["17:00", "22:00"]] for d in DAYS}
    elif template == "long":
        week = {d: [["09:30", "22:00"]] for d in DAYS}
    elif template == "early":
        week = {d: [["07:30", "19:00"]] for d in DAYS}
    else:
        week = {d: [["09:00", "12:00"], ["13:30", "18:30"]] for d in DAYS[:6]}
        week["sun"] = []
    if rng.random() < 0.15:
        week[rng.choice(DAYS)] = []  # closed one day a week
    return week


def _phone(rng: random.Random, used: set[str]) -> str:
    while True:
        number = "+86" + rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if number not in used:
            used.add(number)
            return number


def _local(day: date, hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=ZoneInfo(TZ)).astimezone(ZoneInfo("UTC"))


def build_demo_world(
    session: Session,
    seed: int = 42,
    today: date | None = None,
    merchants_per_region: int = 140,
    technicians_per_region: int = 9,
    history_days: int = 21,
) -> dict[str, int]:
    """Populate an empty database, as one unit of work. Returns counts of what was created."""
    with unit_of_work(session):
        return _build_world(session, seed, today, merchants_per_region, technicians_per_region,
                            history_days)


def _build_world(session: Session, seed: int, today: date | None, merchants_per_region: int,
                 technicians_per_region: int, history_days: int) -> dict[str, int]:
    rng = random.Random(seed)
    today = today or utcnow().astimezone(ZoneInfo(TZ)).date()
    pw_hash = generate_password_hash(DEMO_PASSWORD)

    regions: dict[str, Region] = {}
    for code, name, name_zh, (lat0, lat1, lon0, lon1) in REGIONS:
        r = Region(code=code, name=name, name_zh=name_zh, timezone=TZ,
                   center_lat=(lat0 + lat1) / 2, center_lon=(lon0 + lon1) / 2,
                   min_lat=lat0, max_lat=lat1, min_lon=lon0, max_lon=lon1)
        session.add(r)
        regions[code] = r
    session.flush()

    depots: dict[str, Depot] = {}
    for code, name, _zh, rcode, lat, lon, addr in DEPOTS:
        d = Depot(code=code, name=name, region_id=regions[rcode].id, lat=lat, lon=lon, address=addr)
        session.add(d)
        depots[rcode] = d
    session.flush()

    models: dict[str, TerminalModel] = {}
    for code, vendor, name, ff, conn, printer, battery in MODELS:
        m = TerminalModel(code=code, vendor=vendor, name=name, form_factor=ff,
                          connectivity=conn, has_printer=printer, has_battery=battery)
        session.add(m)
        models[code] = m
    session.flush()

    parts: dict[str, Part] = {}
    for sku, name, name_zh, kind, serialized, cost, _fits in PARTS:
        p = Part(sku=sku, name=name, name_zh=name_zh, kind=kind, serialized=serialized,
                 unit_cost_cents=cost, reorder_point=4 if kind != "paper" else 10)
        session.add(p)
        parts[sku] = p
    session.flush()
    for sku, *_rest, fits in PARTS:
        for mcode in fits:
            session.add(PartFit(part_id=parts[sku].id, terminal_model_id=models[mcode].id))

    # Depot stock locations and initial stock (a receive move per part).
    locations: dict[str, StockLocation] = {}
    for depot in depots.values():
        loc = StockLocation(code=f"LOC-{depot.code}", name=depot.name, kind="depot", depot_id=depot.id)
        session.add(loc)
        locations[depot.code] = loc
    session.flush()
    moves = 0
    for depot in depots.values():
        for part in parts.values():
            qty = rng.randint(8, 30) if part.kind != "paper" else 60
            _receive(session, locations[depot.code], part, qty, "initial stock")
            moves += 1

    # Merchants and terminals.
    used_phones: set[str] = set()
    model_codes = list(models)
    model_weights = [30, 20, 20, 15, 15]
    merchants: list[Merchant] = []
    terminals: list[Terminal] = []
    serial_no = 0
    for rcode, region in regions.items():
        for i in range(merchants_per_region):
            kind, en_names, zh_names, template = rng.choice(MERCHANT_KINDS)
            k = rng.randrange(len(en_names))
            surname = rng.choice(SURNAMES)
            locale = "en" if rng.random() < 0.2 else "zh"
            name = f"{surname}'s {en_names[k]}" if locale == "en" else f"{surname} {zh_names[k]}"
            lat = rng.uniform(region.min_lat, region.max_lat)
            lon = rng.uniform(region.min_lon, region.max_lon)
            m = Merchant(
                code=f"M{rcode}{i + 1:04d}", name=name,
                contact_name=f"{surname} {rng.choice(GIVEN)}", phone=_phone(rng, used_phones),
                address=f"No. {rng.randint(1, 1999)} {rng.choice(STREETS)}, Shanghai",
                lat=round(lat, 6), lon=round(lon, 6), region_id=region.id,
                opening_hours=_hours(template, rng),
                sla_tier=rng.choices(["platinum", "gold", "standard"], [10, 30, 60])[0],
                locale=locale,
            )
            session.add(m)
            merchants.append(m)
    session.flush()
    for m in merchants:
        for _ in range(rng.choices([1, 2, 3], [58, 34, 8])[0]):
            serial_no += 1
            mcode = rng.choices(model_codes, model_weights)[0]
            t = Terminal(serial=f"{mcode.split('-')[0]}{serial_no + 100000:07d}",
                         model_id=models[mcode].id, merchant_id=m.id,
                         status=TerminalStatus.INSTALLED,
                         firmware_version=rng.choice(["3.2.1", "3.2.4", "3.3.0", "4.0.2"]),
                         installed_at=utcnow() - timedelta(days=rng.randint(60, 900)))
            session.add(t)
            terminals.append(t)
    # Loaner pool: a few whole terminals per depot.
    for depot in depots.values():
        for mcode in model_codes:
            for _ in range(2):
                serial_no += 1
                t = Terminal(serial=f"LN{mcode.split('-')[0]}{serial_no + 100000:07d}",
                             model_id=models[mcode].id, depot_id=depot.id,
                             status=TerminalStatus.POOL, is_loaner=True, firmware_version="4.0.2")
                session.add(t)
    session.flush()

    # Technicians, their vans, users and shifts.
    technicians: list[Technician] = []
    tech_names: set[str] = set()  # two "Lin Ping"s on one board cannot be told apart
    n = 0
    for rcode, region in regions.items():
        depot = depots[rcode]
        for _j in range(technicians_per_region):
            n += 1
            from_home = rng.random() < 0.4
            tech_name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
            while tech_name in tech_names:
                tech_name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
            tech_names.add(tech_name)
            tech = Technician(
                code=f"tech{n:02d}", name=tech_name,
                phone=_phone(rng, used_phones), region_id=region.id, depot_id=depot.id,
                start_at="home" if from_home else "depot",
                home_lat=round(rng.uniform(region.min_lat, region.max_lat), 6) if from_home else None,
                home_lon=round(rng.uniform(region.min_lon, region.max_lon), 6) if from_home else None,
                skills=list(SKILL_SETS[(n - 1) % len(SKILL_SETS)]),
            )
            session.add(tech)
            technicians.append(tech)
    session.flush()
    vans: dict[int, StockLocation] = {}
    for tech in technicians:
        van = StockLocation(code=f"VAN-{tech.code}", name=f"{tech.name}'s van", kind="van",
                            technician_id=tech.id, depot_id=tech.depot_id)
        session.add(van)
        session.flush()
        vans[tech.id] = van
        for sku in ("PAPER-57", "PR-58", "BAT-LI", "PWR-USB", "CM-4G", "CR-PAX", "CR-GEN"):
            _receive(session, van, parts[sku], rng.randint(1, 3), "van initial load")
            moves += 1
        session.add(User(username=tech.code, display_name=tech.name,
                         password_hash=pw_hash, role=Role.TECHNICIAN, technician_id=tech.id,
                         region_id=tech.region_id, is_demo=True, locale="zh"))
    shifts = 0
    for offset in range(-history_days, 15):
        day = today + timedelta(days=offset)
        weekend = day.weekday() >= 5
        for idx, tech in enumerate(technicians):
            if weekend and idx % 3 != (day.toordinal() % 3):
                continue  # a third of the team works weekends, on rotation
            start, end = ("08:30", "17:30") if idx % 2 == 0 else ("09:30", "18:30")
            session.add(Shift(technician_id=tech.id, day=day, start_at=_local(day, start),
                              end_at=_local(day, end), break_minutes=45,
                              break_earliest=_local(day, "11:30"), break_latest=_local(day, "14:00")))
            shifts += 1

    for username, role, display in [("admin", Role.ADMIN, "Admin"),
                                    ("dispatcher", Role.DISPATCHER, "Dispatcher Zhou"),
                                    ("agent", Role.AGENT, "Agent Lin")]:
        session.add(User(username=username, display_name=display, password_hash=pw_hash,
                         role=role, is_demo=True))
    session.flush()

    numbers = _work_order_numbers()
    catalog = _Catalog(parts, models, vans)
    history = _history(session, rng, today, history_days, regions, merchants, terminals,
                       technicians, numbers, catalog)
    open_count = _open_faults(session, rng, today, regions, merchants, terminals, numbers, catalog)
    from maintenance.demo import add_demo_pm_plans  # preventive plans; the scheduler makes the work

    add_demo_pm_plans(session, today)
    return {
        "regions": len(regions), "depots": len(depots), "merchants": len(merchants),
        "terminals": len(terminals), "technicians": len(technicians), "shifts": shifts,
        "closed_work_orders": history, "open_work_orders": open_count, "stock_moves": moves,
    }


def _receive(session: Session, loc: StockLocation, part: Part, qty: int, reason: str) -> None:
    if part.serialized:  # one move and one serial unit per piece, as inventory.stock does
        for i in range(qty):
            serial = f"{part.sku}-{loc.code}-{i + 1:03d}"[:40]
            session.add(SerialUnit(serial=serial, part_id=part.id, location_id=loc.id))
            session.add(StockMove(kind="receive", part_id=part.id, location_id=loc.id,
                                  on_hand_delta=1, serial=serial, reason=reason))
    else:
        session.add(StockMove(kind="receive", part_id=part.id, location_id=loc.id,
                              on_hand_delta=qty, reason=reason))
    session.add(StockLevel(location_id=loc.id, part_id=part.id, on_hand=qty))


class _Catalog:
    """Which parts fit which model, for faults that a terminal can really have (no
    keypad fault on a touch-only model) and the parts a past repair really used."""

    def __init__(self, parts: dict[str, Part], models: dict[str, TerminalModel],
                 vans: dict[int, StockLocation]) -> None:
        self.part_for: dict[tuple[int, str], Part] = {}
        for sku, *_rest, fits in PARTS:
            part = parts[sku]
            for mcode in fits:
                self.part_for.setdefault((models[mcode].id, part.kind), part)
        self.vans = vans

    def categories_for(self, cats: list, model_id: int) -> list:
        return [c for c in cats if all((model_id, k) in self.part_for for k in c.parts)]

    def record_parts_used(self, session: Session, wo: WorkOrder, term: Terminal, kinds,
                          tech_id: int, at: datetime) -> None:
        """The parts a finished repair used, in the ledger as the phone records them: a
        consume from the technician's van tagged with the work order (after the unit
        was brought in for it, so the van's stock stays as loaded)."""
        van = self.vans[tech_id]
        for kind in kinds:
            part = self.part_for[(term.model_id, kind)]
            serial = f"{part.sku}-{wo.number}"[:40] if part.serialized else None
            session.add(StockMove(kind="receive", part_id=part.id, location_id=van.id, at=at,
                                  on_hand_delta=1, serial=serial, reason=f"for {wo.number}"))
            session.add(StockMove(kind="consume", part_id=part.id, location_id=van.id, at=at,
                                  on_hand_delta=-1, serial=serial, work_order_id=wo.id,
                                  reason="installed"))
            if serial:
                session.add(SerialUnit(serial=serial, part_id=part.id, location_id=None,
                                       status="installed", work_order_id=wo.id))


def _work_order_numbers():
    """WO-000001, WO-000002, ... for one build of the world."""
    return (f"WO-{n:06d}" for n in itertools.count(1))


def _history(session, rng, today, days, regions, merchants, terminals, technicians,
             numbers, catalog: _Catalog) -> int:
    """Closed repairs over past weeks, with plans, visits and their timelines."""
    by_merchant: dict[int, list[Terminal]] = {}
    for t in terminals:
        by_merchant.setdefault(t.merchant_id, []).append(t)
    count = 0
    cats = list(CATEGORIES.values())
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        for _rcode, region in regions.items():
            techs = [t for t in technicians if t.region_id == region.id]
            plan = Plan(region_id=region.id, day=day, status="published", job_status="done",
                        published_at=_local(day - timedelta(days=1), "17:00"))
            session.add(plan)
            session.flush()
            region_merchants = [m for m in merchants if m.region_id == region.id]
            for k in range(rng.randint(6, 12)):
                m = rng.choice(region_merchants)
                term = rng.choice(by_merchant[m.id])
                cat = rng.choice(catalog.categories_for(cats, term.model_id))
                tech = techs[k % len(techs)]
                reported = _local(day - timedelta(days=1), f"{rng.randint(9, 19):02d}:{rng.choice(['05', '20', '40'])}")
                fault = FaultReport(merchant_id=m.id, terminal_id=term.id, category=cat.code,
                                    symptoms=msgid(cat.name), channel=rng.choice(["phone", "sms", "web"]),
                                    status="escalated", created_at=reported, closed_at=reported)
                session.add(fault)
                session.flush()
                start = _local(day, f"{9 + (k // len(techs)) * 2 + rng.randint(0, 1):02d}:{rng.choice(['00', '15', '30'])}")
                end = start + timedelta(minutes=cat.service_minutes + rng.randint(-10, 25))
                first_time_fix = rng.random() < 0.85
                wo = WorkOrder(number=next(numbers), kind="repair",
                               status=WorkOrderStatus.COMPLETED if first_time_fix else WorkOrderStatus.NEEDS_FOLLOW_UP,
                               priority="high" if cat.severity == "down" else "normal",
                               region_id=region.id, merchant_id=m.id, terminal_id=term.id,
                               title=msgid(cat.name), severity=cat.severity,
                               sla_due_at=reported + timedelta(hours=rng.choice([8, 24, 48])),
                               required_skills=list(cat.skills),
                               predicted_parts=[{"kind": p, "qty": 1} for p in cat.parts],
                               service_minutes=cat.service_minutes, created_at=reported,
                               updated_at=end, completed_at=end if first_time_fix else None,
                               resolution_code="replaced_part" if cat.parts and first_time_fix else ("fixed_on_site" if first_time_fix else "part_missing"))
                if not first_time_fix:
                    wo.status = WorkOrderStatus.COMPLETED  # the follow-up was done later
                    # a second visit: the next day, or later the same day for yesterday's work
                    again = end + (timedelta(days=1) if offset > 1 else timedelta(hours=2))
                    wo.completed_at = again + timedelta(minutes=cat.service_minutes)
                    wo.updated_at = wo.completed_at
                session.add(wo)
                session.flush()
                if wo.resolution_code == "replaced_part":
                    catalog.record_parts_used(session, wo, term, cat.parts, tech.id, end)
                fault.work_order_id = wo.id
                session.add(Visit(plan_id=plan.id, work_order_id=wo.id, technician_id=tech.id,
                                  sequence=k // len(techs) + 1, planned_arrival=start,
                                  planned_start=start, planned_end=end, status="done",
                                  actual_arrival=start + timedelta(minutes=rng.randint(-5, 20)),
                                  actual_end=end, window_start=start - timedelta(minutes=30),
                                  window_end=start + timedelta(minutes=30)))
                # a fault reported in the evening is planned and dispatched after it came in
                planned_at = max(_local(day - timedelta(days=1), "16:00"), reported + timedelta(minutes=5))
                dispatched_at = max(_local(day - timedelta(days=1), "17:00"), planned_at + timedelta(minutes=5))
                history = [("", "new", reported), ("new", "ready", reported),
                           ("ready", "planned", planned_at),
                           ("planned", "dispatched", dispatched_at),
                           ("dispatched", "en_route", start - timedelta(minutes=25)),
                           ("en_route", "on_site", start)]
                if first_time_fix:
                    history.append(("on_site", "completed", end))
                else:
                    # Why: without the follow-up in the history, the analytics page showed a
                    # 100 % first-time-fix rate on the demo.  The second visit closed it.
                    back = wo.completed_at - timedelta(minutes=cat.service_minutes)
                    history += [("on_site", "needs_follow_up", end),
                                ("needs_follow_up", "planned", end + timedelta(minutes=20)),
                                ("planned", "dispatched", end + timedelta(minutes=30)),
                                ("dispatched", "en_route", back - timedelta(minutes=25)),
                                ("en_route", "on_site", back),
                                ("on_site", "completed", wo.completed_at)]
                for frm, to, at in history:
                    session.add(WorkOrderEvent(work_order_id=wo.id, at=at, action="transition",
                                               from_status=frm, to_status=to, actor_label="demo"))
                count += 1
            # A few faults were fixed over the phone and never became work orders.
            for _ in range(rng.randint(2, 5)):
                m = rng.choice(region_merchants)
                cat = rng.choice([c for c in cats if c.group in ("software", "account", "network")])
                at = _local(day, f"{rng.randint(9, 18):02d}:{rng.choice(['10', '30', '50'])}")
                fault = FaultReport(merchant_id=m.id, terminal_id=rng.choice(by_merchant[m.id]).id,
                                    category=cat.code, symptoms=msgid(cat.name), channel="phone",
                                    status="resolved_remotely", created_at=at,
                                    closed_at=at + timedelta(minutes=12),
                                    resolution_note="Fixed by the remote checklist.")
                session.add(fault)
                session.flush()
                session.add(TriageStep(fault_id=fault.id, step_code=cat.checklist[0], outcome="fixed",
                                       recorded_at=at + timedelta(minutes=10)))
    return count


def _open_faults(session, rng, today, regions, merchants, terminals, numbers,
                 catalog: _Catalog) -> int:
    """Open repairs ready to plan for today and tomorrow, plus faults still in triage."""
    by_merchant: dict[int, list[Terminal]] = {}
    for t in terminals:
        by_merchant.setdefault(t.merchant_id, []).append(t)
    cats = list(CATEGORIES.values())
    now = utcnow()
    count = 0
    for _rcode, region in regions.items():
        region_merchants = [m for m in merchants if m.region_id == region.id]
        chosen = rng.sample(region_merchants, min(22, len(region_merchants)))
        for idx, m in enumerate(chosen):
            term = rng.choice(by_merchant[m.id])
            cat = rng.choice(catalog.categories_for(cats, term.model_id))
            reported = now - timedelta(hours=rng.randint(1, 20))
            in_triage = idx >= 18
            fault = FaultReport(merchant_id=m.id, terminal_id=term.id, category=cat.code,
                                symptoms=msgid(cat.name), error_code=rng.choice(["", "E05", "ERR-118", "A3", "COMM-02"]),
                                channel=rng.choice(["phone", "sms", "web"]),
                                status="open" if in_triage else "escalated", created_at=reported)
            session.add(fault)
            session.flush()
            if in_triage:
                continue
            # the agent desk's SLA policy (tier x severity, business hours where it says)
            due = sla_due_at(reported, tier=m.sla_tier, severity=cat.severity,
                             tz_name=region.timezone, merchant=m)
            wo = WorkOrder(number=next(numbers), kind="repair", status=WorkOrderStatus.READY,
                           priority=priority_for(m.sla_tier, cat.severity),
                           region_id=region.id, merchant_id=m.id, terminal_id=term.id,
                           title=msgid(cat.name), severity=cat.severity,
                           sla_due_at=due,
                           required_skills=list(cat.skills),
                           predicted_parts=[{"kind": p, "qty": 1} for p in cat.parts[:1]],
                           service_minutes=cat.service_minutes, created_at=reported, updated_at=reported)
            session.add(wo)
            session.flush()
            fault.work_order_id = wo.id
            session.add(TriageStep(fault_id=fault.id, step_code=cat.checklist[0], outcome="not_fixed",
                                   recorded_at=reported + timedelta(minutes=5)))
            for frm, to in [("", "new"), ("new", "ready")]:
                session.add(WorkOrderEvent(work_order_id=wo.id, at=reported, action="transition",
                                           from_status=frm, to_status=to, actor_label="demo"))
            count += 1
    return count
