"""The maintenance archive of one terminal: faults, visits, parts and outcomes, in
time order."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from dispatch.models import FaultReport, Technician, Terminal, Visit, WorkOrder
from inventory.models import Part, StockMove
from maintenance.models import PMOccurrence, PMPlan


def terminal_timeline(session: Session, terminal: Terminal) -> list[dict]:
    """Entries {at, kind, ...} newest first: fault, work_order, visit, part, outcome,
    pm (a preventive occurrence)."""
    entries: list[dict] = []
    wo_ids: set[int] = set()
    for f in session.exec(select(FaultReport).where(FaultReport.terminal_id == terminal.id)).all():
        entries.append({"at": f.created_at, "kind": "fault", "category": f.category,
                        "status": f.status, "error_code": f.error_code, "symptoms": f.symptoms,
                        "work_order_id": f.work_order_id})
        if f.work_order_id:
            wo_ids.add(f.work_order_id)
    occurrences = session.exec(select(PMOccurrence, PMPlan).join(PMPlan, PMPlan.id == PMOccurrence.plan_id)
                               .where(PMOccurrence.terminal_id == terminal.id)).all()
    for occ, plan in occurrences:
        entries.append({"at": occ.created_at, "kind": "pm", "plan": plan.name,
                        "due_date": occ.due_date, "outcome": occ.outcome,
                        "work_order_id": occ.work_order_id})
        if occ.work_order_id:
            wo_ids.add(occ.work_order_id)
    wo_ids |= set(session.exec(select(WorkOrder.id).where(WorkOrder.terminal_id == terminal.id)).all())
    work = {w.id: w for w in session.exec(select(WorkOrder).where(WorkOrder.id.in_(wo_ids))).all()} if wo_ids else {}
    for e in entries:  # faults and preventive occurrences name their work order
        if e.get("work_order_id") in work:
            e["number"] = work[e["work_order_id"]].number
    for wo in work.values():
        entries.append({"at": wo.created_at, "kind": "work_order", "number": wo.number,
                        "wo_kind": wo.kind, "status": wo.status, "priority": wo.priority,
                        "title": wo.title, "work_order_id": wo.id})
        if wo.completed_at:
            entries.append({"at": wo.completed_at, "kind": "outcome", "number": wo.number,
                            "resolution_code": wo.resolution_code,
                            "resolution_note": wo.resolution_note, "work_order_id": wo.id})
    if work:
        techs = {t.id: t for t in session.exec(select(Technician)).all()}
        for v in session.exec(select(Visit).where(Visit.work_order_id.in_(list(work)))).all():
            at = v.actual_arrival or v.planned_start or v.planned_arrival
            if at is None:
                continue
            minutes = (int((v.actual_end - v.actual_arrival).total_seconds() // 60)
                       if v.actual_end and v.actual_arrival else None)
            tech = techs.get(v.technician_id)
            entries.append({"at": at, "kind": "visit", "status": v.status,
                            "technician": tech.name if tech else "", "minutes": minutes,
                            "number": work[v.work_order_id].number, "work_order_id": v.work_order_id})
        parts = {p.id: p for p in session.exec(select(Part)).all()}
        for m in session.exec(select(StockMove).where(StockMove.kind == "consume",
                                                      StockMove.work_order_id.in_(list(work)))).all():
            part = parts.get(m.part_id)
            entries.append({"at": m.at, "kind": "part", "sku": part.sku if part else "",
                            "part": part.name if part else "", "part_zh": part.name_zh if part else "",
                            "qty": -m.on_hand_delta if m.on_hand_delta < 0 else m.on_hand_delta,
                            "serial": m.serial, "number": work[m.work_order_id].number,
                            "work_order_id": m.work_order_id})
    for e in entries:
        if e["kind"] == "outcome":
            e["parts"] = [p for p in entries if p["kind"] == "part"
                          and p["work_order_id"] == e["work_order_id"]]
    kind_order = {"fault": 0, "pm": 1, "work_order": 2, "visit": 3, "part": 4, "outcome": 5}
    entries.sort(key=lambda e: (e["at"] or datetime.min, kind_order[e["kind"]]), reverse=True)
    return entries


def terminal_summary(entries: list[dict]) -> dict:
    """Counts for the archive's header. Parts are what the stock ledger says was consumed
    on the terminal's work orders; `replaced_unrecorded` counts "replaced a part" outcomes
    with no part in the ledger, so the page says so instead of a bare "0 parts used"."""
    with_parts = {e["work_order_id"] for e in entries if e["kind"] == "part"}
    return {
        "faults": sum(1 for e in entries if e["kind"] == "fault"),
        "visits": sum(1 for e in entries if e["kind"] == "visit"),
        "parts": sum(e["qty"] for e in entries if e["kind"] == "part"),
        "preventive": sum(1 for e in entries if e["kind"] == "pm"),
        "replaced_unrecorded": sum(1 for e in entries if e["kind"] == "outcome"
                                   and e["resolution_code"] == "replaced_part"
                                   and e["work_order_id"] not in with_parts),
    }


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def terminal_charts(entries: list[dict], tz: str, today: date, months: int = 12) -> dict:
    """Series for the archive's charts: failures per local month (the last `months`
    months, empty months included), parts used per part, and hours from the first
    fault report (or the work order's creation) to completion per repair."""
    zone = ZoneInfo(tz)
    first = _add_months(_month_start(today), -(months - 1))
    per_month = {_add_months(first, i): 0 for i in range(months)}
    for e in entries:
        if e["kind"] == "fault" and e["at"] is not None:
            month = _month_start(_aware(e["at"]).astimezone(zone).date())
            if month in per_month:
                per_month[month] += 1
    parts: dict[str, dict] = {}
    for e in entries:
        if e["kind"] == "part":
            row = parts.setdefault(e["sku"], {"sku": e["sku"], "part": e["part"],
                                              "part_zh": e["part_zh"], "qty": 0})
            row["qty"] += e["qty"]
    reported: dict[int, datetime] = {}
    for e in entries:
        if e["kind"] == "fault" and e["work_order_id"] and e["at"] is not None:
            at = _aware(e["at"])
            if e["work_order_id"] not in reported or at < reported[e["work_order_id"]]:
                reported[e["work_order_id"]] = at
    created = {e["work_order_id"]: (_aware(e["at"]), e["wo_kind"]) for e in entries
               if e["kind"] == "work_order" and e["at"] is not None}
    restore = []
    for e in sorted((e for e in entries if e["kind"] == "outcome" and e["at"] is not None),
                    key=lambda e: _aware(e["at"])):
        made, kind = created.get(e["work_order_id"], (None, ""))
        start = reported.get(e["work_order_id"]) or made
        if start is None or kind == "preventive":
            continue
        hours = (_aware(e["at"]) - start).total_seconds() / 3600
        restore.append({"number": e["number"], "work_order_id": e["work_order_id"],
                        "hours": round(max(hours, 0.0), 1)})
    return {"failures": [{"month": m, "value": n} for m, n in per_month.items()],
            "parts": sorted(parts.values(), key=lambda r: (-r["qty"], r["sku"])),
            "restore": restore[-12:]}


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=ZoneInfo("UTC"))
