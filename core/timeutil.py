"""Times are stored in UTC and shown in the region's time zone."""
from __future__ import annotations

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def default_timezone() -> str:
    """The zone for a time that belongs to no region: the DEFAULT_TIMEZONE setting (the
    app's settings in a request or command, else the environment)."""
    from flask import current_app, has_app_context

    from core.settings import DEFAULT_TIMEZONE

    if has_app_context() and "FIXROUTE" in current_app.config:
        return current_app.config["FIXROUTE"].default_timezone
    return os.environ.get("DEFAULT_TIMEZONE") or DEFAULT_TIMEZONE


def region_timezone(region) -> str:
    """A region's zone, or the default zone when there is no region."""
    return region.timezone if region is not None and region.timezone else default_timezone()


def to_local(value: datetime | None, tz_name: str) -> datetime | None:
    if value is None:
        return None
    return as_utc(value).astimezone(ZoneInfo(tz_name))


def viewer_timezone() -> str:
    """The zone a page shows times in when the row carries none: the deployment's
    (DEFAULT_TIMEZONE, which the regions share unless they say otherwise). No query:
    the filter runs once per row of long tables."""
    return default_timezone()


def local_time(value: datetime | None, tz_name: str | None = None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A stored UTC time as the reader's region sees it (the SMS and stock-ledger pages
    showed UTC): in ``tz_name`` when the row knows its zone, else the viewer's."""
    if value is None:
        return ""
    return as_utc(value).astimezone(ZoneInfo(tz_name or viewer_timezone())).strftime(fmt)


def init_time_filters(app) -> None:
    """`local_time` as a Jinja filter: ``{{ m.at|local_time }}``, ``{{ m.created_at|local_time(m.region_tz) }}``."""
    app.jinja_env.filters["local_time"] = local_time
