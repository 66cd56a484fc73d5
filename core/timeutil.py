"""Times are stored in UTC and shown in the region's time zone."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_local(value: datetime | None, tz_name: str) -> datetime | None:
    if value is None:
        return None
    return as_utc(value).astimezone(ZoneInfo(tz_name))
