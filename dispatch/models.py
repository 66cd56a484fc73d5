"""Merchants, terminals, technicians, faults, work orders, plans and visits."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime
from core.timeutil import utcnow


class SlaTier(StrEnum):
    PLATINUM = "platinum"
    GOLD = "gold"
    STANDARD = "standard"


class TerminalStatus(StrEnum):
    INSTALLED = "installed"
    POOL = "pool"  # a loaner or spare waiting in a depot
    LOANED = "loaned"  # a loaner standing in at a merchant
    IN_REPAIR = "in_repair"
    RETIRED = "retired"


class WorkOrderKind(StrEnum):
    REPAIR = "repair"
    PREVENTIVE = "preventive"
    INSTALL = "install"
    BACKUP_SWAP = "backup_swap"
    RETRIEVAL = "retrieval"


class WorkOrderStatus(StrEnum):
    NEW = "new"
    READY = "ready"
    PLANNED = "planned"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    NEEDS_FOLLOW_UP = "needs_follow_up"
    CANCELLED = "cancelled"


OPEN_WORK_ORDER_STATUSES = (
    WorkOrderStatus.NEW,
    WorkOrderStatus.READY,
    WorkOrderStatus.PLANNED,
    WorkOrderStatus.DISPATCHED,
    WorkOrderStatus.EN_ROUTE,
    WorkOrderStatus.ON_SITE,
    WorkOrderStatus.NEEDS_FOLLOW_UP,
)


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Merchant(SQLModel, table=True):
    __tablename__ = "merchant"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200, index=True)
    contact_name: str = Field(default="", max_length=120)
    phone: str = Field(max_length=20, index=True)  # E.164
    address: str = Field(default="", max_length=255)
    lat: float
    lon: float
    region_id: int = Field(foreign_key="region.id", index=True)
    # {"mon": [["09:00", "12:00"], ["13:30", "21:00"]], ...} in the region's local time
    opening_hours: dict = Field(default_factory=dict, sa_type=JSON)
    sla_tier: str = Field(default=SlaTier.STANDARD, max_length=16)
    locale: str = Field(default="zh", max_length=8)
    sms_opt_out: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TerminalModel(SQLModel, table=True):
    __tablename__ = "terminal_model"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    vendor: str = Field(max_length=64)
    name: str = Field(max_length=64)
    form_factor: str = Field(default="countertop", max_length=32)  # countertop, portable, smart
    connectivity: list = Field(default_factory=list, sa_type=JSON)  # ["4g", "wifi", "ethernet"]
    has_printer: bool = Field(default=True)
    has_battery: bool = Field(default=False)


class Terminal(SQLModel, table=True):
    __tablename__ = "terminal"
    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=40, unique=True)
    model_id: int = Field(foreign_key="terminal_model.id", index=True)
    merchant_id: int | None = Field(default=None, foreign_key="merchant.id", index=True)
    depot_id: int | None = Field(default=None, foreign_key="depot.id", index=True)
    status: str = Field(default=TerminalStatus.INSTALLED, max_length=16, index=True)
    is_loaner: bool = Field(default=False)
    # the merchant's own unit that a loaner stands in for
    replaces_terminal_id: int | None = Field(default=None, foreign_key="terminal.id")
    firmware_version: str = Field(default="", max_length=32)
    installed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Technician(SQLModel, table=True):
    __tablename__ = "technician"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=120)
    phone: str = Field(default="", max_length=20)
    region_id: int = Field(foreign_key="region.id", index=True)
    depot_id: int = Field(foreign_key="depot.id")
    start_at: str = Field(default="depot", max_length=8)  # "home" or "depot"
    home_lat: float | None = None
    home_lon: float | None = None
    skills: list = Field(default_factory=list, sa_type=JSON)
    active: bool = Field(default=True)


class Shift(SQLModel, table=True):
    __tablename__ = "shift"
    __table_args__ = (UniqueConstraint("technician_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    technician_id: int = Field(foreign_key="technician.id", index=True)
    day: date = Field(index=True)  # local date in the region's time zone
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    break_minutes: int = Field(default=45)
    break_earliest: datetime | None = Field(default=None, sa_type=UTCDateTime)
    break_latest: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FaultReport(SQLModel, table=True):
    __tablename__ = "fault_report"
    id: int | None = Field(default=None, primary_key=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    terminal_id: int | None = Field(default=None, foreign_key="terminal.id", index=True)
    category: str = Field(max_length=48)
    symptoms: str = Field(default="", sa_type=Text)
    error_code: str = Field(default="", max_length=64)
    channel: str = Field(default="phone", max_length=16)  # phone, sms, web, email
    status: str = Field(default="open", max_length=24, index=True)  # open, resolved_remotely, escalated
    resolution_note: str = Field(default="", sa_type=Text)
    reported_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    # many reports of the same fault can land on one work order (deduplication)
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TriageStep(SQLModel, table=True):
    __tablename__ = "triage_step"
    id: int | None = Field(default=None, primary_key=True)
    fault_id: int = Field(foreign_key="fault_report.id", index=True)
    step_code: str = Field(max_length=48)
    outcome: str = Field(max_length=16)  # fixed, not_fixed, skipped, not_applicable
    note: str = Field(default="", sa_type=Text)
    recorded_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"
    id: int | None = Field(default=None, primary_key=True)
    fault_id: int | None = Field(default=None, foreign_key="fault_report.id", index=True)
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=64)
    size_bytes: int
    sha256: str = Field(max_length=64, index=True)
    storage_path: str = Field(max_length=255)
    uploaded_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WorkOrder(SQLModel, table=True):
    __tablename__ = "work_order"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=24, unique=True)
    kind: str = Field(default=WorkOrderKind.REPAIR, max_length=16, index=True)
    status: str = Field(default=WorkOrderStatus.NEW, max_length=20, index=True)
    priority: str = Field(default=Priority.NORMAL, max_length=12, index=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    merchant_id: int = Field(foreign_key="merchant.id", index=True)
    terminal_id: int | None = Field(default=None, foreign_key="terminal.id", index=True)
    title: str = Field(default="", max_length=200)
    description: str = Field(default="", sa_type=Text)
    severity: str = Field(default="degraded", max_length=16)  # down, degraded, cosmetic
    sla_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    required_skills: list = Field(default_factory=list, sa_type=JSON)
    predicted_parts: list = Field(default_factory=list, sa_type=JSON)  # [{"kind":..., "qty":1}]
    service_minutes: int = Field(default=45)
    optional: bool = Field(default=False)  # preventive work fills gaps
    window_start_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_end_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checklist: list = Field(default_factory=list, sa_type=JSON)
    # "", eligible, offered, accepted, declined, delivered, returned
    backup_status: str = Field(default="", max_length=16)
    loaner_terminal_id: int | None = Field(default=None, foreign_key="terminal.id")
    resolution_code: str = Field(default="", max_length=48)
    resolution_note: str = Field(default="", sa_type=Text)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1)


class WorkOrderEvent(SQLModel, table=True):
    """The audit trail of a work order: every transition, who, when, from, to, note."""

    __tablename__ = "work_order_event"
    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_label: str = Field(default="", max_length=64)
    action: str = Field(max_length=40)
    from_status: str = Field(default="", max_length=20)
    to_status: str = Field(default="", max_length=20)
    note: str = Field(default="", sa_type=Text)
    data: dict = Field(default_factory=dict, sa_type=JSON)
    client_action_id: str | None = Field(default=None, max_length=64, unique=True)


class Plan(SQLModel, table=True):
    __tablename__ = "plan"
    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    day: date = Field(index=True)
    status: str = Field(default="draft", max_length=16)  # draft, published, superseded
    version: int = Field(default=1)
    job_status: str = Field(default="idle", max_length=16)  # idle, queued, running, done, failed, cancelled
    job_id: str = Field(default="", max_length=64)
    progress: dict = Field(default_factory=dict, sa_type=JSON)
    solver_stats: dict = Field(default_factory=dict, sa_type=JSON)
    figures: dict = Field(default_factory=dict, sa_type=JSON)
    unassigned: list = Field(default_factory=list, sa_type=JSON)
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Visit(SQLModel, table=True):
    __tablename__ = "visit"
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    technician_id: int = Field(foreign_key="technician.id", index=True)
    sequence: int
    planned_arrival: datetime | None = Field(default=None, sa_type=UTCDateTime)
    planned_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    planned_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    travel_seconds: int = Field(default=0)
    travel_meters: int = Field(default=0)
    pickups: list = Field(default_factory=list, sa_type=JSON)
    pinned: bool = Field(default=False)
    status: str = Field(default="planned", max_length=16)  # planned, en_route, on_site, done, not_done
    actual_departure: datetime | None = Field(default=None, sa_type=UTCDateTime)
    actual_arrival: datetime | None = Field(default=None, sa_type=UTCDateTime)
    actual_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notified_window_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notified_window_end: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SurveyResponse(SQLModel, table=True):
    __tablename__ = "survey_response"
    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    merchant_id: int = Field(foreign_key="merchant.id")
    score: int
    inbound_message_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # a score of 1-2 puts the work order on the dispatcher's follow-up list: "open" until
    # someone calls the merchant back and marks it "done"
    follow_up: str = Field(default="", max_length=8, index=True)
    followed_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    followed_up_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    follow_up_note: str = Field(default="", sa_type=Text)


class Signoff(SQLModel, table=True):
    """The merchant's sign-off of a completed visit: a signature drawn on the phone with
    the printed name, or why there is none. One per work order, written with the
    completion in the same transaction."""

    __tablename__ = "work_order_signoff"
    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", unique=True)
    visit_id: int | None = Field(default=None, foreign_key="visit.id")
    signer_name: str = Field(default="", max_length=120)
    signature_png: bytes | None = Field(default=None, sa_type=LargeBinary)
    no_signature_reason: str = Field(default="", max_length=32)
    no_signature_note: str = Field(default="", max_length=500)
    signed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    recorded_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")


class MerchantReply(SQLModel, table=True):
    """A merchant's SMS that a person must read (free text): an item in the replies
    inbox of agents and dispatchers until someone answers and marks it handled."""

    __tablename__ = "merchant_reply"
    id: int | None = Field(default=None, primary_key=True)
    inbound_message_id: int = Field(foreign_key="inbound_message.id", unique=True)
    phone: str = Field(max_length=20)
    merchant_id: int | None = Field(default=None, foreign_key="merchant.id", index=True)
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id", index=True)
    body: str = Field(default="", sa_type=Text)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    handled_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    handled_note: str = Field(default="", sa_type=Text)
