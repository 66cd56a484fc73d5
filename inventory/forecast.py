"""What stock will be needed: van restock for tomorrow's published plans, low-stock
alerts and reorder suggestions per depot.

Work orders predict part *kinds* (`[{"kind": "card_reader", "qty": 1}]`); the part is
the one of that kind that fits the terminal's model (first by SKU). Work orders, plans
and visits are read through `inventory.refs` (by table, never importing dispatch)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from core.models import Depot
from core.timeutil import utcnow
from inventory import refs
from inventory.models import Part, PartFit, Reservation, StockLevel, StockLocation

# ---------------------------------------------------------------------------------
# demand from work orders


@dataclass
class Demand:
    qty: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # part_id -> qty
    work_orders: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    unmatched: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # kind -> qty
    # (kind, terminal model id) -> qty and work orders, for demand no catalog part covers
    uncovered_qty: dict[tuple[str, int | None], int] = field(default_factory=lambda: defaultdict(int))
    uncovered_work_orders: dict[tuple[str, int | None], set[str]] = field(
        default_factory=lambda: defaultdict(set))


@dataclass
class Uncovered:
    """Predicted parts no catalog part fits: the kind, the terminal model, how many, for
    which work orders, and the catalog's parts of that kind with the models they do fit.

    Why: the reorder page said "No part in the catalog for: keypad × 3" while the catalog
    listed KP-GEN: KP-GEN fits the Ingenico and Verifone models, not the PAX terminals the
    keypad faults were on. Naming the model and what the catalog's parts fit says what is
    missing (a part for that model, or a fit not yet recorded)."""

    kind: str
    model_code: str
    model_name: str
    qty: int
    work_orders: list[str]
    parts_of_kind: list[tuple[Part, list[str]]]  # (part, model codes it fits)


class _PartPicker:
    """Kind + terminal model -> part, cached for one computation."""

    def __init__(self, session: Session) -> None:
        self.parts = list(session.exec(select(Part).order_by(Part.sku)).all())
        self.fits: dict[int, set[int]] = defaultdict(set)
        for f in session.exec(select(PartFit)).all():
            self.fits[f.part_id].add(f.terminal_model_id)

    def pick(self, kind: str, model_id: int | None) -> Part | None:
        for p in self.parts:
            if p.kind != kind:
                continue
            if model_id is None or not self.fits[p.id] or model_id in self.fits[p.id]:
                return p
        return None


def demand_of(session: Session, work_order_rows, picker: _PartPicker | None = None) -> Demand:
    picker = picker or _PartPicker(session)
    t = refs.terminal()
    terminal_ids = {r.terminal_id for r in work_order_rows if r.terminal_id is not None}
    models = {}
    if terminal_ids:
        models = dict(session.execute(
            sa_select(t.c.id, t.c.model_id).where(t.c.id.in_(terminal_ids))).all())
    out = Demand()
    for r in work_order_rows:
        for item in r.predicted_parts or []:
            if not isinstance(item, dict) or not item.get("kind"):
                continue
            try:
                qty = max(int(item.get("qty", 1)), 0)
            except (TypeError, ValueError):
                qty = 1
            model_id = models.get(r.terminal_id)
            part = picker.pick(item["kind"], model_id)
            if part is None:
                out.unmatched[item["kind"]] += qty
                out.uncovered_qty[(item["kind"], model_id)] += qty
                out.uncovered_work_orders[(item["kind"], model_id)].add(r.number)
                continue
            out.qty[part.id] += qty
            out.work_orders[part.id].add(r.number)
    return out


def uncovered_demand(session: Session, demand: Demand, picker: _PartPicker) -> list[Uncovered]:
    """The demand no catalog part covers, by kind and terminal model (see `Uncovered`)."""
    if not demand.uncovered_qty:
        return []
    tm = refs.table("terminal_model")
    models = {row.id: row for row in session.execute(sa_select(tm.c.id, tm.c.code, tm.c.vendor,
                                                               tm.c.name)).all()}
    out = []
    for (kind, model_id), qty in sorted(demand.uncovered_qty.items(),
                                        key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        model = models.get(model_id)
        of_kind = [(p, sorted(models[m].code for m in picker.fits[p.id] if m in models))
                   for p in picker.parts if p.kind == kind]
        out.append(Uncovered(kind=kind, model_code=model.code if model else "",
                             model_name=f"{model.vendor} {model.name}" if model else "",
                             qty=qty, work_orders=sorted(demand.uncovered_work_orders[(kind, model_id)]),
                             parts_of_kind=of_kind))
    return out


def _wo_columns():
    wo = refs.work_order()
    return wo, (wo.c.id, wo.c.number, wo.c.terminal_id, wo.c.predicted_parts, wo.c.kind,
                wo.c.status, wo.c.region_id)


def _level(session: Session, location_id: int) -> dict[int, StockLevel]:
    rows = session.exec(select(StockLevel).where(StockLevel.location_id == location_id)).all()
    for r in rows:
        session.refresh(r)
    return {r.part_id: r for r in rows}


# ---------------------------------------------------------------------------------
# van restock from published plans


@dataclass
class RestockLine:
    part: Part
    needed: int
    have: int  # on hand in the van and not reserved for other work
    suggest: int
    depot_available: int
    work_orders: list[str]


@dataclass
class VanRestock:
    van: StockLocation
    day: date
    depot_location: StockLocation | None
    lines: list[RestockLine]
    work_orders: list[str]
    unmatched: dict[str, int]
    uncovered: list[Uncovered] = field(default_factory=list)

    @property
    def short(self) -> bool:
        return any(line.suggest > 0 for line in self.lines)


def restock_suggestions(session: Session, day: date, *, region_id: int | None = None,
                        van_id: int | None = None) -> list[VanRestock]:
    """Per van: the parts the day's published visits most likely need against what the
    van holds; `suggest` is what to transfer from the depot before leaving."""
    plan, visit = refs.plan(), refs.visit()
    wo, cols = _wo_columns()
    stmt = (sa_select(visit.c.technician_id, *cols)
            .join(plan, plan.c.id == visit.c.plan_id)
            .join(wo, wo.c.id == visit.c.work_order_id)
            .where(plan.c.status == "published", plan.c.day == day,
                   wo.c.status.in_(refs.OPEN_WORK_ORDER_STATUSES)))
    if region_id is not None:
        stmt = stmt.where(plan.c.region_id == region_id)
    by_tech: dict[int, list] = defaultdict(list)
    for row in session.execute(stmt).all():
        by_tech[row.technician_id].append(row)
    picker = _PartPicker(session)
    parts = {p.id: p for p in picker.parts}
    out = []
    for tech_id, rows in sorted(by_tech.items()):
        van = session.exec(select(StockLocation).where(StockLocation.kind == "van",
                                                       StockLocation.technician_id == tech_id)).first()
        if van is None or (van_id is not None and van.id != van_id):
            continue
        depot_loc = None
        if van.depot_id is not None:
            depot_loc = session.exec(select(StockLocation).where(
                StockLocation.kind == "depot", StockLocation.depot_id == van.depot_id)).first()
        # unique work orders (a work order may have several visits in a plan)
        seen: dict[int, object] = {}
        for r in rows:
            seen.setdefault(r.id, r)
        demand = demand_of(session, list(seen.values()), picker)
        van_levels = _level(session, van.id)
        depot_levels = _level(session, depot_loc.id) if depot_loc else {}
        for_plan: dict[int, int] = defaultdict(int)
        if seen:
            for res in session.exec(select(Reservation).where(
                    Reservation.location_id == van.id, Reservation.status == "active",
                    Reservation.work_order_id.in_(list(seen)))).all():
                for_plan[res.part_id] += res.qty - res.consumed_qty - res.released_qty
        lines = []
        for part_id, needed in sorted(demand.qty.items(), key=lambda kv: parts[kv[0]].sku):
            lv = van_levels.get(part_id)
            have = (lv.on_hand - lv.reserved + for_plan[part_id]) if lv else 0
            dl = depot_levels.get(part_id)
            lines.append(RestockLine(
                part=parts[part_id], needed=needed, have=have, suggest=max(0, needed - have),
                depot_available=(dl.on_hand - dl.reserved) if dl else 0,
                work_orders=sorted(demand.work_orders[part_id])))
        out.append(VanRestock(van=van, day=day, depot_location=depot_loc, lines=lines,
                              work_orders=sorted(r.number for r in seen.values()),
                              unmatched=dict(demand.unmatched),
                              uncovered=uncovered_demand(session, demand, picker)))
    return out


# ---------------------------------------------------------------------------------
# depot low stock and reorder


@dataclass
class ReorderLine:
    part: Part
    depot_on_hand: int
    depot_reserved: int
    depot_faulty: int
    vans_on_hand: int
    demand: int
    reorder_point: int
    low_stock: bool  # depot available below the part's reorder point
    suggest: int  # to order so that after the demand the region keeps its reorder point
    work_orders: list[str]

    @property
    def depot_available(self) -> int:
        return self.depot_on_hand - self.depot_reserved


@dataclass
class DepotReorder:
    location: StockLocation
    depot: Depot | None
    horizon_days: int
    lines: list[ReorderLine]
    unmatched: dict[str, int]
    uncovered: list[Uncovered] = field(default_factory=list)

    @property
    def alerts(self) -> list[ReorderLine]:
        return [line for line in self.lines if line.low_stock]


def reorder_suggestions(session: Session, *, depot_id: int | None = None,
                        horizon_days: int = 7, now: datetime | None = None,
                        include_all: bool = False) -> list[DepotReorder]:
    """Per depot: open repair work orders in its region and preventive work whose
    window starts within the horizon, against the depot's and its vans' stock.
    Lines are kept when the part is low or needs ordering (or always, include_all)."""
    now = now or utcnow()
    until = now + timedelta(days=horizon_days)
    wo, cols = _wo_columns()
    stmt = select(StockLocation).where(StockLocation.kind == "depot")
    if depot_id is not None:
        stmt = stmt.where(StockLocation.depot_id == depot_id)
    picker = _PartPicker(session)
    out = []
    for loc in session.exec(stmt.order_by(StockLocation.code)).all():
        depot = session.get(Depot, loc.depot_id) if loc.depot_id else None
        demand = Demand()
        if depot is not None:
            rows = session.execute(
                sa_select(*cols).where(
                    wo.c.region_id == depot.region_id,
                    wo.c.status.in_(refs.OPEN_WORK_ORDER_STATUSES),
                    or_(wo.c.kind != "preventive",
                        and_(wo.c.window_start_at.is_not(None), wo.c.window_start_at < until)),
                )).all()
            demand = demand_of(session, rows, picker)
        depot_levels = _level(session, loc.id)
        vans = session.exec(select(StockLocation.id).where(
            StockLocation.kind == "van", StockLocation.depot_id == loc.depot_id)).all() \
            if loc.depot_id else []
        van_on_hand: dict[int, int] = defaultdict(int)
        for vid in vans:
            for part_id, lv in _level(session, vid).items():
                van_on_hand[part_id] += lv.on_hand
        lines = []
        for part in picker.parts:
            lv = depot_levels.get(part.id)
            on_hand, reserved, faulty = (lv.on_hand, lv.reserved, lv.faulty) if lv else (0, 0, 0)
            need = demand.qty.get(part.id, 0)
            total = on_hand + van_on_hand[part.id]
            suggest = max(0, part.reorder_point + need - total)
            low = on_hand - reserved < part.reorder_point
            if not (include_all or low or suggest or need):
                continue
            lines.append(ReorderLine(
                part=part, depot_on_hand=on_hand, depot_reserved=reserved, depot_faulty=faulty,
                vans_on_hand=van_on_hand[part.id], demand=need, reorder_point=part.reorder_point,
                low_stock=low, suggest=suggest,
                work_orders=sorted(demand.work_orders.get(part.id, ()))))
        out.append(DepotReorder(location=loc, depot=depot, horizon_days=horizon_days,
                                lines=lines, unmatched=dict(demand.unmatched),
                                uncovered=uncovered_demand(session, demand, picker)))
    return out
