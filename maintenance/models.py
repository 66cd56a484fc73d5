"""Preventive-maintenance plans and their occurrences."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime
from core.timeutil import utcnow


class PMPlan(SQLModel, table=True):
    __tablename__ = "pm_plan"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    # {"models": [...codes], "regions": [...codes], "tiers": [...], "terminals": [...serials]}
    scope: dict = Field(default_factory=dict, sa_type=JSON)
    rrule: str | None = Field(default=None, max_length=255)  # RFC 5545 RRULE
    interval_days: int | None = None  # "every N days since the last completed service"
    due_window_days: int = Field(default=14)
    checklist: list = Field(default_factory=list, sa_type=JSON)
    skill: str = Field(default="preventive", max_length=32)
    service_minutes: int = Field(default=30)
    active_from: date
    active_to: date | None = None
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PMOccurrence(SQLModel, table=True):
    __tablename__ = "pm_occurrence"
    __table_args__ = (UniqueConstraint("plan_id", "terminal_id", "due_date"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="pm_plan.id", index=True)
    terminal_id: int = Field(foreign_key="terminal.id", index=True)
    due_date: date
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
