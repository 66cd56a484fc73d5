"""When a plan is due: RFC 5545 rules over local calendar dates, or every N days
since the last completed service.

Recurrence is computed on the region's *calendar dates* (a naive midnight start),
never on UTC instants: "the last day of every month" must stay the last local day in
Berlin across a daylight-saving change and in Shanghai, which has none. Dates turn
into UTC instants only at the edge (`window_bounds`), through the region's zone."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, rrule, rrulestr
from flask_babel import lazy_gettext as _l

from core.api import ValidationFailed


class RuleError(ValueError):
    """A recurrence rule that cannot be used; the message says why."""


def parse_rule(text: str, active_from: date) -> rrule:
    """Parse one RRULE (with or without the "RRULE:" prefix) starting on active_from.

    Refuses DTSTART (the plan's active_from is the start), several rules, and
    frequencies finer than a day (a plan is due on dates)."""
    text = (text or "").strip()
    if not text:
        raise RuleError(_l("the rule is empty"))
    if "\n" in text or "DTSTART" in text.upper():
        raise RuleError(_l("give a single RRULE line without DTSTART; the plan's active-from date "
                           "is the start"))
    body = text[6:] if text.upper().startswith("RRULE:") else text
    try:
        rule = rrulestr(body, dtstart=datetime.combine(active_from, time()), forceset=False)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        if not str(exc):
            raise RuleError(_l("not a valid RRULE")) from None
        # dateutil says what is wrong in English; the sentence around it is translated
        raise RuleError(_l("not a valid RRULE: %(error)s", error=str(exc))) from None
    if not isinstance(rule, rrule):  # pragma: no cover - guarded by the newline check
        raise RuleError(_l("give a single RRULE"))
    if rule._freq > DAILY:  # HOURLY, MINUTELY, SECONDLY
        raise RuleError(_l("the rule repeats more often than daily; a plan is due on dates"))
    _check_month_days(rule)
    return rule


_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February at its longest


def _check_month_days(rule: rrule) -> None:
    """Refuse month days no month of the rule has (BYMONTHDAY=32, February 30): dateutil
    would otherwise search to the year 9999 for a date that never comes."""
    days = list(rule._bymonthday or ()) + list(rule._bynmonthday or ())
    if not days:
        return
    months = rule._bymonth or range(1, 13)
    longest = max(_MONTH_DAYS[m - 1] for m in months)
    if all(abs(d) > longest for d in days):
        raise RuleError(_l("no month of this rule has that day of the month"))


def validate_rule(text: str, active_from: date, field: str = "rrule") -> rrule:
    try:
        return parse_rule(text, active_from)
    except RuleError as exc:
        raise ValidationFailed(exc.args[0], field=field) from None


def rule_dates(rule: rrule, start: date, end: date) -> list[date]:
    """The rule's dates in [start, end], each date once."""
    if end < start:
        return []
    hits = rule.between(datetime.combine(start, time()), datetime.combine(end, time.max), inc=True)
    out: list[date] = []
    for hit in hits:
        d = hit.date()
        if not out or out[-1] != d:
            out.append(d)
    return out


def next_rule_dates(rule: rrule, after: date, count: int) -> list[date]:
    """The next `count` dates on or after `after` (fewer if the rule ends)."""
    out: list[date] = []
    cursor = datetime.combine(after, time()) - timedelta(microseconds=1)
    while len(out) < count:
        hit = rule.after(cursor)
        if hit is None:
            break
        if not out or out[-1] != hit.date():
            out.append(hit.date())
        cursor = datetime.combine(hit.date(), time.max)
    return out


def interval_due_date(active_from: date, interval_days: int, last_service: date | None) -> date:
    """Due N days after the last completed service; a never-serviced terminal is due
    when the plan starts."""
    if last_service is None:
        return active_from
    return max(active_from, last_service + timedelta(days=interval_days))


def window_end_date(due: date, window_days: int) -> date:
    """The last local day of the due window (a window of N days starts on the due date)."""
    return due + timedelta(days=max(1, window_days) - 1)


def window_bounds(due: date, window_days: int, tz_name: str) -> tuple[datetime, datetime]:
    """The due window as aware instants: local midnight of the due date to local
    midnight after the window's last day, in the region's zone (DST-correct)."""
    tz = ZoneInfo(tz_name)
    start = datetime.combine(due, time(), tzinfo=tz)
    end = datetime.combine(window_end_date(due, window_days) + timedelta(days=1), time(), tzinfo=tz)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def local_date(now: datetime, tz_name: str) -> date:
    if now.tzinfo is None:
        raise ValueError("naive datetime given as the clock")
    return now.astimezone(ZoneInfo(tz_name)).date()
