"""The merchants' 1-5 satisfaction scores (SMS replies after a visit) for the analytics
page: average and distribution per region, technician, fault category and month.

A score belongs to the work order it rated; its technician is the one of the visit
that completed it, its category the first fault escalated into it (work orders without
a fault, such as preventive visits, count under their kind), its month the local month
of the answer in the region's time zone. Scores are counted when they were given,
within [since, until)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from core.models import Region
from dispatch.models import (
    FaultReport,
    SurveyResponse,
    Technician,
    Visit,
    WorkOrder,
    WorkOrderEvent,
)

DIMENSIONS = ("region", "technician", "category", "month")


def _rated(session: Session, since: datetime, until: datetime) -> list[tuple[SurveyResponse, WorkOrder]]:
    return list(session.exec(
        select(SurveyResponse, WorkOrder).join(WorkOrder, WorkOrder.id == SurveyResponse.work_order_id)
        .where(SurveyResponse.at >= since, SurveyResponse.at < until)
        .order_by(SurveyResponse.at, SurveyResponse.id)).all())


def _technicians(session: Session, wo_ids: set[int]) -> dict[int, Technician]:
    """The technician of the visit that completed each work order."""
    if not wo_ids:
        return {}
    done = session.exec(select(WorkOrderEvent).where(
        WorkOrderEvent.work_order_id.in_(wo_ids), WorkOrderEvent.to_status == "completed",
        WorkOrderEvent.action == "transition").order_by(WorkOrderEvent.id)).all()
    visit_of = {e.work_order_id: (e.data or {}).get("visit_id") for e in done}
    visits = {v.id: v for v in session.exec(select(Visit).where(
        Visit.work_order_id.in_(wo_ids))).all()}
    latest: dict[int, Visit] = {}
    for v in sorted(visits.values(), key=lambda v: v.id):
        if v.status == "done":
            latest[v.work_order_id] = v
    techs = {t.id: t for t in session.exec(select(Technician)).all()}
    out = {}
    for wo_id in wo_ids:
        visit = visits.get(visit_of.get(wo_id)) or latest.get(wo_id)
        if visit is not None and visit.technician_id in techs:
            out[wo_id] = techs[visit.technician_id]
    return out


def _categories(session: Session, wo_ids: set[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    if not wo_ids:
        return out
    for f in session.exec(select(FaultReport).where(FaultReport.work_order_id.in_(wo_ids))
                          .order_by(FaultReport.created_at, FaultReport.id)).all():
        out.setdefault(f.work_order_id, f.category)
    return out


def ratings_by(session: Session, by: str, since: datetime, until: datetime) -> list[dict]:
    """Rows {<by>, [name], responses, average, low, s1..s5}, largest groups first
    (months in order)."""
    if by not in DIMENSIONS:
        raise KeyError(by)
    rated = _rated(session, since, until)
    wo_ids = {wo.id for _s, wo in rated}
    regions = {r.id: r for r in session.exec(select(Region)).all()}
    techs = _technicians(session, wo_ids) if by == "technician" else {}
    cats = _categories(session, wo_ids) if by == "category" else {}
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    names: dict[str, str] = {}
    for response, wo in rated:
        region = regions.get(wo.region_id)
        if by == "region":
            key = region.code if region else "-"
        elif by == "technician":
            tech = techs.get(wo.id)
            key = tech.code if tech else "-"
            names[key] = tech.name if tech else ""
        elif by == "category":
            key = cats.get(wo.id) or wo.kind
        else:
            tz = ZoneInfo(region.timezone if region else "UTC")
            key = response.at.astimezone(tz).strftime("%Y-%m")
        if 1 <= response.score <= 5:
            groups[key][response.score - 1] += 1
    rows = []
    for key, counts in groups.items():
        n = sum(counts)
        if not n:
            continue
        row = {by: key}
        if by == "technician":
            row["name"] = names.get(key, "")
        row.update({"responses": n,
                    "average": round(sum((i + 1) * c for i, c in enumerate(counts)) / n, 2),
                    "low": counts[0] + counts[1],
                    **{f"s{i + 1}": c for i, c in enumerate(counts)}})
        rows.append(row)
    if by == "month":
        return sorted(rows, key=lambda r: r["month"])
    return sorted(rows, key=lambda r: (-r["responses"], str(r[by])))


__all__ = ["DIMENSIONS", "ratings_by"]
