"""Times are stored in UTC and shown in the region's time zone."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_local(value: datetime | None, tz_name: str) -> datetime | None:
    if value is None:
        return None
    return as_utc(value).astimezone(ZoneInfo(tz_name))


def viewer_timezone() -> str:
    """The zone a page shows times in when the row carries none: the deployment's
    (DEFAULT_TIMEZONE, which the regions share unless they say otherwise). No query:
    the filter runs once per row of long tables."""
    from flask import current_app

    try:
        return current_app.config["FIXROUTE"].default_timezone or "Asia/Shanghai"
    except (RuntimeError, KeyError, AttributeError):
        return "Asia/Shanghai"


def local_time(value: datetime | None, tz_name: str | None = None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A stored UTC time as the reader's region sees it (the SMS and stock-ledger pages
    showed UTC): in ``tz_name`` when the row knows its zone, else the viewer's."""
    if value is None:
        return ""
    return to_local(value, tz_name or viewer_timezone()).strftime(fmt)


def init_time_filters(app) -> None:
    """`local_time` as a Jinja filter: ``{{ m.at|local_time }}``, ``{{ m.created_at|local_time(m.region_tz) }}``."""
    app.jinja_env.filters["local_time"] = local_time
