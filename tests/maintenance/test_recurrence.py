"""Recurrence on local calendar dates: month ends, leap years, DST."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from core.api import ValidationFailed
from maintenance.recurrence import (
    RuleError,
    interval_due_date,
    next_rule_dates,
    parse_rule,
    rule_dates,
    validate_rule,
    window_bounds,
    window_end_date,
)


def dates(rule: str, start: date, end: date, active_from: date | None = None) -> list[date]:
    return rule_dates(parse_rule(rule, active_from or start), start, end)


def test_bymonthday_31_skips_months_without_a_31st():
    got = dates("FREQ=MONTHLY;BYMONTHDAY=31", date(2027, 1, 1), date(2027, 12, 31))
    assert [d.month for d in got] == [1, 3, 5, 7, 8, 10, 12]


def test_bymonthday_minus_one_is_the_last_day_of_every_month_including_leap_february():
    got = dates("FREQ=MONTHLY;BYMONTHDAY=-1", date(2028, 1, 1), date(2028, 6, 30))
    assert got == [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30),
                   date(2028, 5, 31), date(2028, 6, 30)]
    assert dates("FREQ=MONTHLY;BYMONTHDAY=-1", date(2027, 2, 1), date(2027, 2, 28)) == [date(2027, 2, 28)]


def test_february_29_comes_only_in_leap_years():
    got = dates("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", date(2026, 1, 1), date(2036, 12, 31))
    assert got == [date(2028, 2, 29), date(2032, 2, 29), date(2036, 2, 29)]


def test_a_plan_started_on_feb_29_yearly_skips_common_years():
    rule = parse_rule("FREQ=YEARLY", date(2028, 2, 29))
    assert next_rule_dates(rule, date(2028, 3, 1), 2) == [date(2032, 2, 29), date(2036, 2, 29)]


def test_weekly_rule_keeps_its_weekday_across_berlin_dst_and_the_window_is_local_midnight():
    # Europe/Berlin leaves winter time on 2027-03-28 and returns on 2027-10-31.
    got = dates("FREQ=WEEKLY;BYDAY=MO", date(2027, 3, 15), date(2027, 4, 12))
    assert got == [date(2027, 3, 15), date(2027, 3, 22), date(2027, 3, 29), date(2027, 4, 5),
                   date(2027, 4, 12)]
    before_start, _ = window_bounds(date(2027, 3, 22), 7, "Europe/Berlin")
    after_start, _ = window_bounds(date(2027, 3, 29), 7, "Europe/Berlin")
    assert before_start == datetime(2027, 3, 21, 23, 0, tzinfo=timezone.utc)  # CET, UTC+1
    assert after_start == datetime(2027, 3, 28, 22, 0, tzinfo=timezone.utc)  # CEST, UTC+2
    for start in (before_start, after_start):
        local = start.astimezone(ZoneInfo("Europe/Berlin"))
        assert (local.hour, local.minute, local.weekday()) == (0, 0, 0)


def test_window_spanning_the_dst_change_is_23_hours_shorter_in_berlin_but_not_in_shanghai():
    start, end = window_bounds(date(2027, 3, 27), 2, "Europe/Berlin")  # Sat+Sun, DST starts Sunday
    assert (end - start).total_seconds() == 47 * 3600
    start, end = window_bounds(date(2027, 3, 27), 2, "Asia/Shanghai")
    assert (end - start).total_seconds() == 48 * 3600
    assert start == datetime(2027, 3, 26, 16, 0, tzinfo=timezone.utc)


def test_window_end_date_counts_the_due_date_as_day_one():
    assert window_end_date(date(2027, 1, 30), 3) == date(2027, 2, 1)
    assert window_end_date(date(2027, 1, 30), 1) == date(2027, 1, 30)


def test_interval_due_date_counts_from_the_last_service_but_never_before_the_plan_starts():
    assert interval_due_date(date(2027, 1, 1), 60, None) == date(2027, 1, 1)
    assert interval_due_date(date(2027, 1, 1), 60, date(2027, 1, 5)) == date(2027, 3, 6)
    assert interval_due_date(date(2027, 6, 1), 60, date(2027, 1, 5)) == date(2027, 6, 1)


def test_prefix_rrule_is_accepted_and_until_bounds_the_dates():
    got = dates("RRULE:FREQ=DAILY;INTERVAL=10;UNTIL=20270131", date(2027, 1, 1), date(2027, 12, 31))
    assert got == [date(2027, 1, 1), date(2027, 1, 11), date(2027, 1, 21), date(2027, 1, 31)]


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("FREQ=FORTNIGHTLY", "FREQ"),
    ("FREQ=WEEKLY;BYDAY=XX", "BYDAY"),
    ("FREQ=HOURLY", "more often than daily"),
    ("DTSTART:20270101T000000\nRRULE:FREQ=DAILY", "DTSTART"),
    ("FREQ=MONTHLY;BYMONTHDAY=32", "no month"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "no month"),
])
def test_bad_rules_are_refused_with_a_reason(text, reason):
    with pytest.raises(RuleError) as info:
        parse_rule(text, date(2027, 1, 1))
    assert reason in str(info.value)
    with pytest.raises(ValidationFailed) as info:
        validate_rule(text, date(2027, 1, 1))
    assert info.value.fields[0]["field"] == "rrule"
