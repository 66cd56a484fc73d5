"""SMS outbox, inbound messages and opt-outs. Knows phone numbers, not work orders."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Text
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime
from core.timeutil import utcnow


class OutboundMessage(SQLModel, table=True):
    __tablename__ = "outbound_message"
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=160, unique=True)
    to_number: str = Field(max_length=20, index=True)
    template: str = Field(max_length=48)
    locale: str = Field(default="en", max_length=8)
    context: dict = Field(default_factory=dict, sa_type=JSON)
    body: str = Field(sa_type=Text)
    segments: int = Field(default=1)
    encoding: str = Field(default="GSM-7", max_length=8)
    urgent: bool = Field(default=True)
    # pending, sending (claimed by a sender), queued/sent/delivered/undelivered/failed
    # (Twilio), suppressed (opted out), dev_delivered (no Twilio configured)
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # a sender's claim: the row is 'sending' under this token until lease_until
    claim_token: str | None = Field(default=None, max_length=36)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # quiet hours of the recipient's region, re-applied when a non-urgent retry is due
    region_tz: str | None = Field(default=None, max_length=64)
    quiet_start_hour: int | None = None
    quiet_end_hour: int | None = None
    provider_status: str = Field(default="", max_length=24)
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    error_code: str | None = Field(default=None, max_length=16)
    error_message: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InboundMessage(SQLModel, table=True):
    __tablename__ = "inbound_message"
    id: int | None = Field(default=None, primary_key=True)
    provider_sid: str = Field(max_length=64, unique=True)
    from_number: str = Field(max_length=20, index=True)
    to_number: str = Field(default="", max_length=20)
    body: str = Field(default="", sa_type=Text)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    handled_as: str = Field(default="", max_length=24)


class SmsOptOut(SQLModel, table=True):
    __tablename__ = "sms_opt_out"
    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=20, unique=True)
    opted_out_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
