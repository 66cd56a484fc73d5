"""Preventive-maintenance plans and their occurrences.

A plan says which terminals (scope), how often (an RFC 5545 RRULE, or every N days
since the last completed service), how long the due window stays open and what the
visit does (checklist, skill, minutes). Each (plan, terminal, due date) becomes at
most one occurrence: the database's unique rule, not only a check in code, is what
keeps two generator runs (or two racing processes) from doubling the work."""
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
    # Each non-empty list narrows the scope (AND between keys, OR within a list).
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
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PMOccurrence(SQLModel, table=True):
    __tablename__ = "pm_occurrence"
    __table_args__ = (UniqueConstraint("plan_id", "terminal_id", "due_date"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="pm_plan.id", index=True)
    terminal_id: int = Field(foreign_key="terminal.id", index=True)
    due_date: date  # local date in the region's time zone
    window_end: date | None = None  # last local day of the due window
    # "created": a preventive work order of its own; "merged": added to a visit the
    # merchant already had open
    outcome: str = Field(default="created", max_length=16)
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
