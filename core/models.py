"""Tables every package shares: regions, depots, users, API tokens, the audit log."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime
from core.timeutil import default_timezone, utcnow

#: the largest id a row can have: primary keys are the database's 4-byte integers, so a
#: larger id from outside names no row (and would overflow the driver's parameter)
MAX_ID = 2**31 - 1


class Role(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    AGENT = "agent"
    TECHNICIAN = "technician"


class Region(SQLModel, table=True):
    __tablename__ = "region"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=120)
    name_zh: str = Field(default="", max_length=120)
    timezone: str = Field(default_factory=default_timezone, max_length=64)  # DEFAULT_TIMEZONE
    center_lat: float
    center_lon: float
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float
    # Non-urgent SMS are held back between these local hours (start > end wraps midnight).
    quiet_start_hour: int = Field(default=21)
    quiet_end_hour: int = Field(default=8)


class Depot(SQLModel, table=True):
    __tablename__ = "depot"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=120)
    region_id: int = Field(foreign_key="region.id", index=True)
    address: str = Field(default="", max_length=255)
    lat: float
    lon: float


class User(SQLModel, table=True):
    """A person who signs in. Flask-Login's four members are spelled out here rather
    than mixed in so the table class stays a plain SQLModel."""

    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=120)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16, index=True)
    locale: str | None = Field(default=None, max_length=8)
    region_id: int | None = Field(default=None, foreign_key="region.id")
    technician_id: int | None = Field(default=None, foreign_key="technician.id", unique=True)
    active: bool = Field(default=True)
    is_demo: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Part of the session id (get_id): bumping it on sign-out ends every session
    # cookie made before, which a signed cookie alone cannot do.
    session_version: int = Field(default=0)


class ApiToken(SQLModel, table=True):
    """Bearer tokens are stored as SHA-256 hashes: a leaked database leaks no token."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per username and per client address, to slow guessing down."""

    __tablename__ = "login_throttle"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    failures: int = Field(default=0)
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Every state change outside the work-order timeline lands here (who, what, when)."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_label: str = Field(default="", max_length=64)
    entity: str = Field(max_length=40, index=True)
    entity_id: str = Field(max_length=64, index=True)
    action: str = Field(max_length=40)
    data: dict = Field(default_factory=dict, sa_type=JSON)


class SchedulerLease(SQLModel, table=True):
    """A named lease row: one holder at a time (second scheduler guard on SQLite)."""

    __tablename__ = "scheduler_lease"
    __table_args__ = (UniqueConstraint("name"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=UTCDateTime)


def _user_login_members() -> None:
    User.is_authenticated = property(lambda self: True)  # type: ignore[attr-defined]
    User.is_anonymous = property(lambda self: False)  # type: ignore[attr-defined]
    User.is_active = property(lambda self: bool(self.active))  # type: ignore[attr-defined]
    User.get_id = lambda self: f"{self.id}:{self.session_version or 0}"  # type: ignore[attr-defined]


_user_login_members()
