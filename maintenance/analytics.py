"""Reliability and service figures read from the maintenance archive.

Each function takes a period [since, until) of aware instants and returns plain rows
(dicts) that the analytics page charts and exports as CSV. Definitions:

- failure: a fault report on a terminal, counted when it was reported;
- repeat failure: a failure whose terminal had another failure within the 30 days
  before it;
- MTBF per model: terminal-days in service during the period (from the later of the
  period start and the installation) divided by the failures of that model;
- first-time fix: a completed repair work order that never went to needs_follow_up;
- MTTR: hours from the first fault report of a repair work order to its completion;
- SLA compliance: work orders whose SLA deadline falls in the period, per region and
  local month: met if completed by the deadline, missed if completed later or still
  open after it (open ones not yet due are left out);
- utilisation: time on site (arrival to end of done visits) over shift time (shift
  length minus break), per technician, for shifts and plans on days in the period."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from core.models import Region
from dispatch.models import (
    FaultReport,
    Plan,
    Shift,
    Technician,
    Terminal,
    TerminalModel,
    Visit,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderKind,
    WorkOrderStatus,
)

REPEAT_DAYS = 30
OPEN = {s.value for s in WorkOrderStatus} - {WorkOrderStatus.COMPLETED, WorkOrderStatus.CANCELLED}


def _ratio(num: float, den: float, digits: int = 3) -> float | None:
    return round(num / den, digits) if den else None


def _model_codes(session: Session) -> dict[int, str]:
    return {m.id: m.code for m in session.exec(select(TerminalModel)).all()}


def _faults(session: Session, until: datetime, since: datetime | None = None):
    stmt = (select(FaultReport, Terminal).join(Terminal, Terminal.id == FaultReport.terminal_id)
            .where(FaultReport.created_at < until))
    if since is not None:
        stmt = stmt.where(FaultReport.created_at >= since)
    return session.exec(stmt.order_by(FaultReport.created_at, FaultReport.id)).all()


def failures_by_model_category(session: Session, since: datetime, until: datetime) -> list[dict]:
    models = _model_codes(session)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for fault, terminal in _faults(session, until, since):
        counts[(models[terminal.model_id], fault.category)] += 1
    return [{"model": m, "category": c, "failures": n}
            for (m, c), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def repeat_failures(session: Session, since: datetime, until: datetime,
                    days: int = REPEAT_DAYS) -> list[dict]:
    models = _model_codes(session)
    window = timedelta(days=days)
    last_seen: dict[int, datetime] = {}
    per_model: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    # faults before the period count as the "earlier" failure of a repeat
    for fault, terminal in _faults(session, until, since - window):
        previous = last_seen.get(terminal.id)
        last_seen[terminal.id] = fault.created_at
        if fault.created_at < since:
            continue
        row = per_model[models[terminal.model_id]]
        row[0] += 1
        if previous is not None and fault.created_at - previous <= window:
            row[1] += 1
    return [{"model": m, "failures": f, "repeats": r, "repeat_rate": _ratio(r, f)}
            for m, (f, r) in sorted(per_model.items())]


def mtbf_by_model(session: Session, since: datetime, until: datetime) -> list[dict]:
    models = _model_codes(session)
    exposure: dict[str, float] = defaultdict(float)
    fleet: dict[str, int] = defaultdict(int)
    for t in session.exec(select(Terminal).where(Terminal.merchant_id.is_not(None),
                                                 Terminal.is_loaner == False)).all():  # noqa: E712
        start = max(since, t.installed_at) if t.installed_at else since
        if start >= until:
            continue
        code = models[t.model_id]
        exposure[code] += (until - start).total_seconds() / 86400
        fleet[code] += 1
    failures: dict[str, int] = defaultdict(int)
    for _fault, terminal in _faults(session, until, since):
        failures[models[terminal.model_id]] += 1
    return [{"model": m, "terminals": fleet[m], "terminal_days": round(exposure[m], 1),
             "failures": failures.get(m, 0),
             "mtbf_days": _ratio(exposure[m], failures.get(m, 0), 1)}
            for m in sorted(fleet)]


def _completed_repairs(session: Session, since: datetime, until: datetime) -> list[WorkOrder]:
    return list(session.exec(
        select(WorkOrder).where(WorkOrder.kind == WorkOrderKind.REPAIR,
                                WorkOrder.status == WorkOrderStatus.COMPLETED,
                                WorkOrder.completed_at >= since, WorkOrder.completed_at < until)
        .order_by(WorkOrder.id)).all())


def first_time_fix(session: Session, since: datetime, until: datetime) -> list[dict]:
    models = _model_codes(session)
    terminals = {t.id: t.model_id for t in session.exec(select(Terminal)).all()}
    repairs = _completed_repairs(session, since, until)
    follow_up = set(session.exec(select(WorkOrderEvent.work_order_id).where(
        WorkOrderEvent.to_status == WorkOrderStatus.NEEDS_FOLLOW_UP,
        WorkOrderEvent.work_order_id.in_([w.id for w in repairs]))).all()) if repairs else set()
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for wo in repairs:
        key = models.get(terminals.get(wo.terminal_id), "-")
        for k in (key, "all"):
            per[k][0] += 1
            per[k][1] += wo.id not in follow_up
    order = sorted(k for k in per if k != "all") + (["all"] if per else [])
    return [{"model": k, "completed": per[k][0], "first_time_fixed": per[k][1],
             "rate": _ratio(per[k][1], per[k][0])} for k in order]


def mean_time_to_repair(session: Session, since: datetime, until: datetime) -> list[dict]:
    models = _model_codes(session)
    terminals = {t.id: t.model_id for t in session.exec(select(Terminal)).all()}
    repairs = _completed_repairs(session, since, until)
    first_report: dict[int, datetime] = {}
    if repairs:
        for fault in session.exec(select(FaultReport).where(
                FaultReport.work_order_id.in_([w.id for w in repairs]))).all():
            cur = first_report.get(fault.work_order_id)
            if cur is None or fault.created_at < cur:
                first_report[fault.work_order_id] = fault.created_at
    per: dict[str, list[float]] = defaultdict(list)
    for wo in repairs:
        reported = first_report.get(wo.id)
        if reported is None:
            continue
        hours = (wo.completed_at - reported).total_seconds() / 3600
        per[models.get(terminals.get(wo.terminal_id), "-")].append(hours)
        per["all"].append(hours)
    order = sorted(k for k in per if k != "all") + (["all"] if per else [])
    return [{"model": k, "repairs": len(per[k]), "mean_hours": round(sum(per[k]) / len(per[k]), 2)}
            for k in order]


def sla_compliance(session: Session, since: datetime, until: datetime, now: datetime) -> list[dict]:
    regions = {r.id: r for r in session.exec(select(Region)).all()}
    per: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    rows = session.exec(select(WorkOrder).where(
        WorkOrder.sla_due_at.is_not(None), WorkOrder.sla_due_at >= since,
        WorkOrder.sla_due_at < until, WorkOrder.status != WorkOrderStatus.CANCELLED)).all()
    for wo in rows:
        if wo.status == WorkOrderStatus.COMPLETED and wo.completed_at is not None:
            met = wo.completed_at <= wo.sla_due_at
        elif wo.sla_due_at < now:
            met = False
        else:
            continue  # open and not yet due: undecided
        region = regions[wo.region_id]
        month = wo.sla_due_at.astimezone(ZoneInfo(region.timezone)).strftime("%Y-%m")
        cell = per[(region.code, month)]
        cell[0] += met
        cell[1] += not met
    return [{"region": r, "month": m, "met": met, "missed": missed,
             "compliance": _ratio(met, met + missed)}
            for (r, m), (met, missed) in sorted(per.items())]


def technician_utilisation(session: Session, since: date, until: date) -> list[dict]:
    """Days are local dates [since, until)."""
    techs = {t.id: t for t in session.exec(select(Technician).order_by(Technician.code)).all()}
    shift_min: dict[int, float] = defaultdict(float)
    for s in session.exec(select(Shift).where(Shift.day >= since, Shift.day < until)).all():
        shift_min[s.technician_id] += (s.end_at - s.start_at).total_seconds() / 60 - s.break_minutes
    service_min: dict[int, float] = defaultdict(float)
    visits = session.exec(
        select(Visit).join(Plan, Plan.id == Visit.plan_id)
        .where(Plan.day >= since, Plan.day < until, Plan.status == "published",
               Visit.status == "done", Visit.actual_arrival.is_not(None),
               Visit.actual_end.is_not(None))).all()
    for v in visits:
        service_min[v.technician_id] += max(0.0, (v.actual_end - v.actual_arrival).total_seconds() / 60)
    out = []
    for tid, tech in techs.items():
        if tid not in shift_min and tid not in service_min:
            continue
        out.append({"technician": tech.code, "name": tech.name,
                    "shift_hours": round(shift_min[tid] / 60, 2),
                    "service_hours": round(service_min[tid] / 60, 2),
                    "utilisation": _ratio(service_min[tid], shift_min[tid])})
    return out


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: object
    columns: tuple[tuple[str, object], ...]
    chart_label: str | tuple[str, ...]  # column(s) naming each bar
    chart_value: str  # column giving its length
    # columns holding a fraction (0.43) that pages show as a percentage (43%); the CSV
    # keeps the fraction, which spreadsheets read as a number
    percent: tuple[str, ...] = ()


TABLES: dict[str, TableSpec] = {t.name: t for t in [
    TableSpec("failures", _l("Failures per model and category"),
              (("model", _l("Model")), ("category", _l("Category")), ("failures", _l("Failures"))),
              ("model", "category"), "failures"),
    TableSpec("repeats", _l("Repeat failures within 30 days"),
              (("model", _l("Model")), ("failures", _l("Failures")), ("repeats", _l("Repeats")),
               ("repeat_rate", _l("Repeat rate"))), "model", "repeat_rate", ("repeat_rate",)),
    TableSpec("mtbf", _l("Mean time between failures per model"),
              (("model", _l("Model")), ("terminals", _l("Terminals")),
               ("terminal_days", _l("Terminal-days")), ("failures", _l("Failures")),
               ("mtbf_days", _l("MTBF (days)"))), "model", "mtbf_days"),
    TableSpec("ftf", _l("First-time-fix rate"),
              (("model", _l("Model")), ("completed", _l("Completed repairs")),
               ("first_time_fixed", _l("Fixed first time")), ("rate", _l("Rate"))), "model", "rate",
              ("rate",)),
    TableSpec("mttr", _l("Mean time to repair"),
              (("model", _l("Model")), ("repairs", _l("Repairs")), ("mean_hours", _l("Mean hours"))),
              "model", "mean_hours"),
    TableSpec("sla", _l("SLA compliance by region and month"),
              (("region", _l("Region")), ("month", _l("Month")), ("met", _l("Met")),
               ("missed", _l("Missed")), ("compliance", _l("Compliance"))), ("region", "month"),
              "compliance", ("compliance",)),
    TableSpec("utilisation", _l("Technician utilisation"),
              (("technician", _l("Technician")), ("name", _l("Name")),
               ("shift_hours", _l("Shift hours")), ("service_hours", _l("Service hours")),
               ("utilisation", _l("Utilisation"))), "technician", "utilisation", ("utilisation",)),
    *[TableSpec(f"ratings_{by}", title,
                ((by, label), *((("name", _l("Name")),) if by == "technician" else ()),
                 ("responses", _l("Ratings")), ("average", _l("Average (1-5)")),
                 ("low", _l("Poor (1-2)")), *((f"s{i}", str(i)) for i in range(1, 6))),
                (by, "name") if by == "technician" else by, "average")
      for by, title, label in (
          ("region", _l("Merchant ratings by region"), _l("Region")),
          ("technician", _l("Merchant ratings by technician"), _l("Technician")),
          ("category", _l("Merchant ratings by fault category"), _l("Category")),
          ("month", _l("Merchant ratings by month"), _l("Month")))],
]}


def compute_table(session: Session, name: str, since: datetime, until: datetime, tz: str,
                  now: datetime) -> list[dict]:
    """One table by name for the period (utilisation reads local days in `tz`)."""
    if name == "failures":
        return failures_by_model_category(session, since, until)
    if name == "repeats":
        return repeat_failures(session, since, until)
    if name == "mtbf":
        return mtbf_by_model(session, since, until)
    if name == "ftf":
        return first_time_fix(session, since, until)
    if name == "mttr":
        return mean_time_to_repair(session, since, until)
    if name == "sla":
        return sla_compliance(session, since, until, now)
    if name == "utilisation":
        zone = ZoneInfo(tz)
        return technician_utilisation(session, since.astimezone(zone).date(),
                                      (until - timedelta(microseconds=1)).astimezone(zone).date()
                                      + timedelta(days=1))
    if name.startswith("ratings_"):  # merchants' 1-5 scores (maintenance.ratings)
        from maintenance.ratings import ratings_by

        return ratings_by(session, name.removeprefix("ratings_"), since, until)
    raise KeyError(name)
