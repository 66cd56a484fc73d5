"""SLA policy: merchant tier x severity -> how long until a repair is due.

Some policies count the clock around the day (a platinum merchant whose terminal is
down gets four hours, night or not); the others count only business hours, in the
region's time zone: the merchant's opening hours when we know them, otherwise the
service desk's standard week (Mon-Fri 09:00-18:00). Nights, weekends and the
merchant's closed days are skipped. The same calendar gives the planner the
merchant's opening hours as time windows (`opening_windows`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.timeutil import as_utc
from dispatch.models import Merchant, Priority, SlaTier

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# The service desk's own week, used when a merchant has no opening hours on file.
DEFAULT_BUSINESS_HOURS: dict[str, list[list[str]]] = {
    d: [["09:00", "18:00"]] for d in DAY_KEYS[:5]
}


@dataclass(frozen=True)
class SlaRule:
    hours: float
    business_hours_only: bool


# tier -> severity -> rule. Platinum and gold "terminal down" run on the clock.
SLA_POLICY: dict[str, dict[str, SlaRule]] = {
    SlaTier.PLATINUM: {
        "down": SlaRule(4, False),
        "degraded": SlaRule(8, True),
        "cosmetic": SlaRule(24, True),
    },
    SlaTier.GOLD: {
        "down": SlaRule(8, False),
        "degraded": SlaRule(16, True),
        "cosmetic": SlaRule(40, True),
    },
    SlaTier.STANDARD: {
        "down": SlaRule(16, True),
        "degraded": SlaRule(24, True),
        "cosmetic": SlaRule(72, True),
    },
}


def sla_rule(tier: str, severity: str) -> SlaRule:
    by_severity = SLA_POLICY.get(tier) or SLA_POLICY[SlaTier.STANDARD]
    return by_severity.get(severity) or by_severity["degraded"]


def priority_for(tier: str, severity: str) -> str:
    """Priority from how bad the fault is and how much the merchant pays for."""
    if severity == "down":
        return Priority.CRITICAL if tier == SlaTier.PLATINUM else Priority.HIGH
    if severity == "degraded":
        return Priority.HIGH if tier == SlaTier.PLATINUM else Priority.NORMAL
    return Priority.LOW


def _parse_hhmm(value: str) -> time | None:
    """'09:30' -> 09:30; '24:00' -> None (end of day)."""
    h, m = (int(x) for x in value.split(":"))
    if h == 24 and m == 0:
        return None
    return time(h, m)


def _local_intervals(hours: dict, day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The opening intervals that start on local `day`, as aware UTC datetimes. An
    interval ending at or before its start (e.g. 18:00-02:00) runs past midnight."""
    out = []
    for start_s, end_s in hours.get(DAY_KEYS[day.weekday()], []) or []:
        try:
            start_t = _parse_hhmm(start_s)
            end_t = _parse_hhmm(end_s)
        except (ValueError, AttributeError):
            continue
        if start_t is None:
            continue
        start = datetime.combine(day, start_t, tzinfo=tz)
        if end_t is None:
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        else:
            end = datetime.combine(day, end_t, tzinfo=tz)
            if end <= start:
                end = datetime.combine(day + timedelta(days=1), end_t, tzinfo=tz)
        out.append((as_utc(start), as_utc(end)))
    return sorted(out)


def business_calendar(merchant: Merchant | None) -> dict:
    hours = (merchant.opening_hours if merchant is not None else None) or {}
    if any(hours.get(d) for d in DAY_KEYS):
        return hours
    return DEFAULT_BUSINESS_HOURS


def opening_windows(hours: dict, tz_name: str, start: datetime, end: datetime
                    ) -> list[tuple[datetime, datetime]]:
    """Opening intervals overlapping [start, end), clipped to it, in UTC."""
    tz = ZoneInfo(tz_name)
    start, end = as_utc(start), as_utc(end)
    day = start.astimezone(tz).date() - timedelta(days=1)  # an overnight interval may spill in
    last = end.astimezone(tz).date()
    out: list[tuple[datetime, datetime]] = []
    while day <= last:
        for a, b in _local_intervals(hours, day, tz):
            a, b = max(a, start), min(b, end)
            if a < b:
                out.append((a, b))
        day += timedelta(days=1)
    out.sort()
    merged: list[tuple[datetime, datetime]] = []
    for a, b in out:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def add_business_time(start: datetime, duration: timedelta, hours: dict, tz_name: str,
                      max_days: int = 400) -> datetime:
    """The moment when `duration` of business time has passed after `start`.
    A clock started outside business hours begins at the next opening."""
    start = as_utc(start)
    remaining = duration
    if remaining <= timedelta(0):
        return start
    cursor = start
    horizon = start + timedelta(days=max_days)
    while cursor < horizon:
        chunk_end = min(cursor + timedelta(days=14), horizon)
        for a, b in opening_windows(hours, tz_name, cursor, chunk_end):
            span = b - a
            if span >= remaining:
                return a + remaining
            remaining -= span
        cursor = chunk_end
    # No business hours at all in the calendar: fall back to the clock.
    return start + duration


def sla_due_at(reported_at: datetime, *, tier: str, severity: str, tz_name: str,
               merchant: Merchant | None = None) -> datetime:
    """When a fault reported at `reported_at` must be repaired under the policy."""
    rule = sla_rule(tier, severity)
    duration = timedelta(hours=rule.hours)
    if not rule.business_hours_only:
        return as_utc(reported_at) + duration
    return add_business_time(reported_at, duration, business_calendar(merchant), tz_name)


def sla_at_risk(due: datetime | None, now: datetime, *, within: timedelta = timedelta(hours=2)
                ) -> bool:
    """Overdue, or due within `within` (two hours by default)."""
    return due is not None and as_utc(due) - as_utc(now) <= within
