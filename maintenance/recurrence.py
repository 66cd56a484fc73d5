"""When a plan is due: RFC 5545 rules over local calendar dates, or every N days
since the last completed service.

Recurrence is computed on the region's *calendar dates* (a naive midnight start),
never on UTC instants: "the last day of every month" must stay the last local day in
Berlin across a daylight-saving change and in Shanghai, which has none. Dates turn
into UTC instants only at the edge (`window_bounds`), through the region's zone."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.lists import format_list
from dateutil.rrule import DAILY, rrule, rrulestr
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.errors import InvalidInput


class RuleError(InvalidInput, ValueError):
    """A recurrence rule that cannot be used; the message says why. The client's input,
    so it answers as InvalidInput wherever it escapes to; still a ValueError for the
    generation run, which skips a plan whose stored rule no longer parses."""


class PickerError(RuleError):
    """A recurrence picker value out of range; `field` names the picker's field."""

    def __init__(self, message: Any, field: str) -> None:
        super().__init__(message, field=field)
        self.field = field


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
    body = check_syntax(body)
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


RULE_PARTS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "BYYEARDAY",
              "BYWEEKNO", "COUNT", "UNTIL", "WKST")
FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_INT_LIST = re.compile(r"^[+-]?\d{1,3}(,[+-]?\d{1,3})*$")
_BYDAY = re.compile(r"^[+-]?\d{0,2}(MO|TU|WE|TH|FR|SA|SU)$")


def check_syntax(body: str) -> str:
    """Check an RRULE body part by part and say what is wrong in words.

    Why: dateutil reports a part without "=" as "not enough values to unpack (expected 2,
    got 1)", which tells an admin nothing. Returns the body with blank parts and spaces
    dropped (a trailing ";" is harmless)."""
    parts = [p.strip() for p in body.split(";") if p.strip()]
    seen: dict[str, str] = {}
    for part in parts:
        if "=" not in part:
            raise RuleError(_l("“%(part)s” is not of the form NAME=VALUE (for example FREQ=MONTHLY)",
                               part=part[:40]))
        name, value = (x.strip().upper() for x in part.split("=", 1))
        if name not in RULE_PARTS:
            raise RuleError(_l("“%(name)s” is not a part of a recurrence rule; use FREQ, INTERVAL, "
                               "BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, COUNT or UNTIL",
                               name=name[:40]))
        if name in seen:
            raise RuleError(_l("%(name)s is given twice", name=name))
        if not value:
            raise RuleError(_l("%(name)s has no value", name=name))
        seen[name] = value
    if "FREQ" not in seen:
        raise RuleError(_l("the rule needs FREQ (DAILY, WEEKLY, MONTHLY or YEARLY)"))
    freq = seen["FREQ"]
    if freq in ("HOURLY", "MINUTELY", "SECONDLY"):
        raise RuleError(_l("the rule repeats more often than daily; a plan is due on dates"))
    if freq not in FREQS:
        raise RuleError(_l("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY, not “%(value)s”",
                           value=freq[:20]))
    for name in ("INTERVAL", "COUNT"):
        if name in seen and (not seen[name].isdigit() or int(seen[name]) < 1):
            raise RuleError(_l("%(name)s must be a whole number of 1 or more", name=name))
    if "BYDAY" in seen and not all(_BYDAY.match(d) for d in seen["BYDAY"].split(",")):
        raise RuleError(_l("BYDAY takes weekdays: MO, TU, WE, TH, FR, SA, SU (for example BYDAY=MO,TH)"))
    for name in ("BYMONTHDAY", "BYMONTH", "BYSETPOS", "BYYEARDAY", "BYWEEKNO"):
        if name in seen and not _INT_LIST.match(seen[name]):
            raise RuleError(_l("%(name)s takes whole numbers separated by commas", name=name))
    if "BYMONTH" in seen and not all(1 <= int(m) <= 12 for m in seen["BYMONTH"].split(",")):
        raise RuleError(_l("BYMONTH takes month numbers from 1 to 12"))
    if "WKST" in seen and seen["WKST"] not in WEEKDAYS:
        raise RuleError(_l("WKST takes a weekday: MO, TU, WE, TH, FR, SA or SU"))
    return ";".join(parts)


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
        raise InvalidInput(exc.args[0], field=field) from None


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


# ---------------------------------------------------------------------------------
# the recurrence picker: every N days, weeks (on weekdays) or months (on a day)

PICKER_FREQS = ("daily", "weekly", "monthly")
LAST_DAY = -1
MAX_EVERY = {"daily": 365, "weekly": 52, "monthly": 24}


@dataclass(frozen=True)
class Recurrence:
    """What the plan form's picker says: every `every` days, weeks or months; weekly on
    `weekdays` (MO..SU); monthly on `monthday` (1..31, or -1 for the last day; None:
    the start date's day). `clamp`: a day past the 28th falls on a shorter month's last
    day (what the picker writes) rather than skipping that month (a plain BYMONTHDAY)."""

    freq: str
    every: int = 1
    weekdays: tuple[str, ...] = ()
    monthday: int | None = None
    clamp: bool = True

    def day_of_month(self, active_from: date) -> int:
        return self.monthday if self.monthday is not None else active_from.day

    def picker_can_edit(self, active_from: date) -> bool:
        """The picker writes only clamped month days; a plain BYMONTHDAY=30 stays custom."""
        return self.freq != "monthly" or self.clamp or self.day_of_month(active_from) <= 28


def picker_rule(rec: Recurrence, active_from: date) -> str:
    """The RRULE the picker writes. Weekdays and the month day default to the start
    date's, so the first date is the start date itself.

    Why: a rule "every 2 months on the 1st" made on 27 November first fell on 1 January;
    anchored on the start date's day, "every 2 months" from 27 November gives 27 November,
    27 January, … A day past the 28th is clamped to the month's last day (BYSETPOS=-1 over
    28..day), so "every month on the 30th" still comes in February."""
    if rec.freq not in PICKER_FREQS:
        raise PickerError(_l("choose days, weeks or months"), "freq")
    if not 1 <= rec.every <= MAX_EVERY[rec.freq]:
        raise PickerError(_l("must be between 1 and %(max)s", max=MAX_EVERY[rec.freq]), "every")
    parts = [f"FREQ={rec.freq.upper()}"]
    if rec.every > 1:
        parts.append(f"INTERVAL={rec.every}")
    if rec.freq == "weekly":
        days = [d for d in WEEKDAYS if d in rec.weekdays] or [WEEKDAYS[active_from.weekday()]]
        parts.append("BYDAY=" + ",".join(days))
        if rec.every > 1:
            # Weeks are counted from the start date's weekday, so "every 2 weeks on Monday"
            # from Friday 27 November starts on Monday 30 November, not 7 December.
            parts.append("WKST=" + WEEKDAYS[active_from.weekday()])
    elif rec.freq == "monthly":
        day = rec.day_of_month(active_from)
        if day != LAST_DAY and not 1 <= day <= 31:
            raise PickerError(_l("choose a day of the month from 1 to 31, or the last day"),
                              "monthday")
        if not rec.clamp and day > 28:
            parts.append(f"BYMONTHDAY={day}")
        elif day == 31:
            day = LAST_DAY  # every month's 31st, or its last day, is its last day
        if day == LAST_DAY or day <= 28:
            parts.append(f"BYMONTHDAY={day}")
        else:
            parts.append("BYMONTHDAY=" + ",".join(str(d) for d in range(28, day + 1)))
            parts.append("BYSETPOS=-1")
    return ";".join(parts)


def picker_from_rule(text: str | None) -> Recurrence | None:
    """The picker's reading of a rule it could have written, else None (a custom rule)."""
    if not text:
        return None
    body = text.strip()
    body = body[6:] if body.upper().startswith("RRULE:") else body
    try:
        body = check_syntax(body)
    except RuleError:
        return None
    kv = dict(p.split("=", 1) for p in body.upper().split(";"))
    freq = kv.pop("FREQ").lower()
    if freq not in PICKER_FREQS:
        return None
    every = int(kv.pop("INTERVAL", "1"))
    if every > MAX_EVERY[freq]:
        return None
    if freq == "daily":
        return Recurrence("daily", every) if not kv else None
    if freq == "weekly":
        days = tuple(kv.pop("BYDAY", "").split(",")) if "BYDAY" in kv else ()
        kv.pop("WKST", None)  # the picker writes the start date's weekday again
        if kv or not all(d in WEEKDAYS for d in days):
            return None
        return Recurrence("weekly", every, weekdays=days)
    monthday: int | None = None
    clamp = False  # dateutil without BYMONTHDAY skips months lacking the start's day
    if "BYMONTHDAY" in kv:
        days_text = kv.pop("BYMONTHDAY")
        pos = kv.pop("BYSETPOS", None)
        values = [int(d) for d in days_text.split(",")]
        if pos is None and len(values) == 1 and (values[0] == LAST_DAY or 1 <= values[0] <= 31):
            monthday = values[0]
            clamp = values[0] <= 28 or values[0] == LAST_DAY
        elif pos == "-1" and values == list(range(28, values[-1] + 1)) and 29 <= values[-1] <= 30:
            monthday, clamp = values[-1], True
        else:
            return None
    if kv:
        return None
    return Recurrence("monthly", every, monthday=monthday, clamp=clamp)


def _weekday_names(codes: tuple[str, ...]) -> str:
    locale = get_locale() or Locale.parse("en")
    names = [locale.days["format"]["wide"][WEEKDAYS.index(c)] for c in WEEKDAYS if c in codes]
    return format_list(names, locale=locale)


def describe_rule(text: str, active_from: date) -> str:
    """The rule in words, in the reader's language (a rule the picker cannot read is
    called a custom rule)."""
    rec = picker_from_rule(text)
    if rec is None:
        return _("Custom rule %(rule)s", rule=text)
    n = rec.every
    if rec.freq == "daily":
        return _("Every day") if n == 1 else _("Every %(num)s days", num=n)
    if rec.freq == "weekly":
        days = _weekday_names(rec.weekdays or (WEEKDAYS[active_from.weekday()],))
        return (_("Every week on %(days)s", days=days) if n == 1
                else _("Every %(num)s weeks on %(days)s", num=n, days=days))
    day = rec.day_of_month(active_from)
    if day > 28 and not rec.clamp:
        return (_("Every month on day %(day)s (months without that day are skipped)", day=day)
                if n == 1 else
                _("Every %(num)s months on day %(day)s (months without that day are skipped)",
                  num=n, day=day))
    if day == LAST_DAY:
        return (_("Every month on the last day") if n == 1
                else _("Every %(num)s months on the last day", num=n))
    if day > 28:
        return (_("Every month on day %(day)s (the last day in shorter months)", day=day) if n == 1
                else _("Every %(num)s months on day %(day)s (the last day in shorter months)",
                       num=n, day=day))
    return (_("Every month on day %(day)s", day=day) if n == 1
            else _("Every %(num)s months on day %(day)s", num=n, day=day))


def describe_interval(days: int) -> str:
    """An interval plan in words, in the reader's language."""
    return _("Every %(num)s days after each terminal's last completed service", num=days)


def date_in_words(d: date) -> str:
    """A date as a reader says it: "Friday, November 27, 2026", "2026年11月27日星期五"."""
    return format_date(d, format="full")


def rule_summary(text: str, active_from: date, today: date, active_to: date | None = None,
                 count: int = 5) -> dict:
    """What the plan form shows beside the picker: the rule, in words, its first date
    (on or after the start) and the next `count` dates from today. Raises RuleError."""
    rule = parse_rule(text, active_from)
    first = next_rule_dates(rule, active_from, 1)
    if not first or (active_to is not None and first[0] > active_to):
        raise RuleError(_l("the rule never produces a date"))
    upcoming = next_rule_dates(rule, max(today, active_from), count)
    if active_to is not None:
        upcoming = [d for d in upcoming if d <= active_to]
    return {"rule": text, "words": describe_rule(text, active_from), "first": first[0],
            "dates": upcoming}
