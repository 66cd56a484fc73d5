"""Preventive-maintenance plans: validation, scope, create/update and the preview of
the next occurrences shown before a plan is saved."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, select

from core.audit import record_audit
from core.db import unit_of_work
from core.errors import InvalidInput, NotFound
from core.models import Region, User
from core.timeutil import utcnow
from dispatch.desk.catalog import SKILLS
from dispatch.models import Merchant, Terminal, TerminalModel, TerminalStatus
from maintenance.catalog import PM_CHECKLIST, SCOPE_KEYS, TIERS
from maintenance.models import PMPlan
from maintenance.recurrence import describe_interval, describe_rule, next_rule_dates, validate_rule


class PlanScope(BaseModel):
    models: list[str] = Field(default_factory=list, max_length=50)
    regions: list[str] = Field(default_factory=list, max_length=50)
    tiers: list[str] = Field(default_factory=list, max_length=3)
    terminals: list[str] = Field(default_factory=list, max_length=500)

    @field_validator("models", "regions", "tiers", "terminals")
    @classmethod
    def _clean(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for item in value:
            item = item.strip()
            if item and item not in out:
                out.append(item)
        return out


class PlanInput(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    scope: PlanScope = Field(default_factory=PlanScope)
    rrule: str | None = Field(default=None, max_length=255)
    interval_days: int | None = Field(default=None, ge=1, le=3650)
    due_window_days: int = Field(default=14, ge=1, le=365)
    checklist: list[str] = Field(default_factory=list, max_length=20)
    skill: str = Field(default="preventive", max_length=32)
    service_minutes: int = Field(default=30, ge=5, le=480)
    active_from: date
    active_to: date | None = None
    active: bool = True


def validate_plan(session: Session, data: PlanInput) -> PlanInput:
    """Rules a pydantic field cannot check alone; each error names its field."""
    rule_text = (data.rrule or "").strip() or None
    data.rrule = rule_text
    if rule_text and data.interval_days:
        raise InvalidInput(_l("give either a rule or an interval in days, not both"),
                           field="interval_days")
    if not rule_text and not data.interval_days:
        raise InvalidInput(_l("give a recurrence rule or an interval in days"), field="rrule")
    if rule_text:
        rule = validate_rule(rule_text, data.active_from)
        if not next_rule_dates(rule, data.active_from, 1):
            raise InvalidInput(_l("the rule never produces a date"), field="rrule")
    if data.active_to is not None and data.active_to < data.active_from:
        raise InvalidInput(_l("must be on or after the active-from date"), field="active_to")
    if data.skill not in SKILLS:
        raise InvalidInput(_l("unknown skill %(skill)s", skill=repr(data.skill)), field="skill")
    for item in data.checklist:
        if item not in PM_CHECKLIST:
            raise InvalidInput(_l("unknown checklist item %(item)s", item=repr(item)),
                               field="checklist")
    data.checklist = list(dict.fromkeys(data.checklist))
    _check_scope(session, data.scope)
    return data


def _check_scope(session: Session, scope: PlanScope) -> None:
    checks = (
        ("models", TerminalModel, TerminalModel.code),
        ("regions", Region, Region.code),
        ("terminals", Terminal, Terminal.serial),
    )
    for key, _model, column in checks:
        wanted = getattr(scope, key)
        if not wanted:
            continue
        found = set(session.exec(select(column).where(column.in_(wanted))).all())
        unknown = [w for w in wanted if w not in found]
        if unknown:
            raise InvalidInput(_l("unknown: %(codes)s", codes=", ".join(unknown[:5])),
                               field=f"scope.{key}")
    bad = [t for t in scope.tiers if t not in TIERS]
    if bad:
        raise InvalidInput(_l("unknown tier: %(tiers)s", tiers=", ".join(bad)),
                           field="scope.tiers")


def scope_dict(scope: PlanScope) -> dict[str, list[str]]:
    return {k: list(getattr(scope, k)) for k in SCOPE_KEYS if getattr(scope, k)}


def create_plan(session: Session, data: PlanInput, actor: User | None = None) -> PMPlan:
    """A new preventive plan, checked and audited, as one unit of work."""
    with unit_of_work(session):
        data = validate_plan(session, data)
        plan = PMPlan(name=data.name.strip(), scope=scope_dict(data.scope), rrule=data.rrule,
                      interval_days=None if data.rrule else data.interval_days,
                      due_window_days=data.due_window_days, checklist=data.checklist,
                      skill=data.skill, service_minutes=data.service_minutes,
                      active_from=data.active_from, active_to=data.active_to, active=data.active)
        session.add(plan)
        session.flush()
        record_audit(session, "pm_plan", plan.id, "created", actor_user_id=actor.id if actor else None,
                     actor_label=actor.username if actor else "system", name=plan.name)
    return plan


def update_plan(session: Session, plan_id: int, data: PlanInput, actor: User | None = None) -> PMPlan:
    """A preventive plan changed, checked and audited (what changed), as one unit of work."""
    with unit_of_work(session):
        plan = session.get(PMPlan, plan_id)
        if plan is None:
            raise NotFound(_l("no such plan"), field="plan_id")
        data = validate_plan(session, data)
        before = plan_as_dict(plan)
        plan.name = data.name.strip()
        plan.scope = scope_dict(data.scope)
        plan.rrule = data.rrule
        plan.interval_days = None if data.rrule else data.interval_days
        plan.due_window_days = data.due_window_days
        plan.checklist = data.checklist
        plan.skill = data.skill
        plan.service_minutes = data.service_minutes
        plan.active_from = data.active_from
        plan.active_to = data.active_to
        plan.active = data.active
        plan.updated_at = utcnow()
        session.add(plan)
        after = plan_as_dict(plan)
        changed = {k: [before[k], after[k]] for k in after if before.get(k) != after[k] and k != "updated_at"}
        record_audit(session, "pm_plan", plan.id, "updated", actor_user_id=actor.id if actor else None,
                     actor_label=actor.username if actor else "system", changed=changed)
    return plan


def plan_as_dict(plan: PMPlan) -> dict[str, Any]:
    return {
        "id": plan.id, "name": plan.name, "scope": dict(plan.scope or {}), "rrule": plan.rrule,
        "interval_days": plan.interval_days, "due_window_days": plan.due_window_days,
        "checklist": list(plan.checklist or []), "skill": plan.skill,
        "service_minutes": plan.service_minutes,
        "active_from": plan.active_from.isoformat(),
        "active_to": plan.active_to.isoformat() if plan.active_to else None,
        "active": plan.active,
    }


def scope_terminals_query(scope: dict):
    """Installed merchant terminals (never loaners or pool units) a scope covers."""
    stmt = (
        select(Terminal, Merchant, Region, TerminalModel)
        .join(Merchant, Merchant.id == Terminal.merchant_id)
        .join(Region, Region.id == Merchant.region_id)
        .join(TerminalModel, TerminalModel.id == Terminal.model_id)
        .where(Terminal.status == TerminalStatus.INSTALLED, Terminal.is_loaner == False)  # noqa: E712
    )
    if scope.get("models"):
        stmt = stmt.where(TerminalModel.code.in_(scope["models"]))
    if scope.get("regions"):
        stmt = stmt.where(Region.code.in_(scope["regions"]))
    if scope.get("tiers"):
        stmt = stmt.where(Merchant.sla_tier.in_(scope["tiers"]))
    if scope.get("terminals"):
        stmt = stmt.where(Terminal.serial.in_(scope["terminals"]))
    return stmt.order_by(Terminal.id)


def preview_plan(session: Session, data: PlanInput, today: date, count: int = 8) -> dict[str, Any]:
    """What the plan would do: the next due dates and how many terminals it covers.

    For an interval plan the dates assume each visit is done on its due date."""
    data = validate_plan(session, data)
    start = max(today, data.active_from)
    if data.rrule:
        rule = validate_rule(data.rrule, data.active_from)
        dates = next_rule_dates(rule, start, count)
        first = next_rule_dates(rule, data.active_from, 1)[0]  # validate_plan: there is one
        words = describe_rule(data.rrule, data.active_from)
    else:
        dates = [start + timedelta(days=data.interval_days * i) for i in range(count)]
        first, words = data.active_from, describe_interval(data.interval_days)
    if data.active_to is not None:
        dates = [d for d in dates if d <= data.active_to]
    rows = session.exec(scope_terminals_query(scope_dict(data.scope))).all()
    return {
        "dates": [d.isoformat() for d in dates],
        "terminal_count": len(rows),
        "merchant_count": len({m.id for _t, m, _r, _mo in rows}),
        "kind": "rrule" if data.rrule else "interval",
        "words": words,
        "first_date": first.isoformat() if data.active_to is None or first <= data.active_to else None,
    }
