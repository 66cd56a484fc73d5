"""Recurrence on local calendar dates: month ends, leap years, DST."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from core.errors import InvalidInput
from maintenance.recurrence import (
    Recurrence,
    RuleError,
    date_in_words,
    describe_rule,
    interval_due_date,
    next_rule_dates,
    parse_rule,
    picker_from_rule,
    picker_rule,
    rule_dates,
    rule_summary,
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
    assert before_start == datetime(2027, 3, 21, 23, 0, tzinfo=UTC)  # CET, UTC+1
    assert after_start == datetime(2027, 3, 28, 22, 0, tzinfo=UTC)  # CEST, UTC+2
    for start in (before_start, after_start):
        local = start.astimezone(ZoneInfo("Europe/Berlin"))
        assert (local.hour, local.minute, local.weekday()) == (0, 0, 0)


def test_window_spanning_the_dst_change_is_23_hours_shorter_in_berlin_but_not_in_shanghai():
    start, end = window_bounds(date(2027, 3, 27), 2, "Europe/Berlin")  # Sat+Sun, DST starts Sunday
    assert (end - start).total_seconds() == 47 * 3600
    start, end = window_bounds(date(2027, 3, 27), 2, "Asia/Shanghai")
    assert (end - start).total_seconds() == 48 * 3600
    assert start == datetime(2027, 3, 26, 16, 0, tzinfo=UTC)


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
    with pytest.raises(InvalidInput) as info:
        validate_rule(text, date(2027, 1, 1))
    assert info.value.fields[0]["field"] == "rrule"


@pytest.mark.parametrize("text, reason", [
    ("MONTHLY", "“MONTHLY” is not of the form NAME=VALUE"),
    ("FREQ=MONTHLY;INTERVAL", "“INTERVAL” is not of the form NAME=VALUE"),
    ("every 2 months", "is not of the form NAME=VALUE"),
    ("FREQ=MONTHLY;EVERY=2", "“EVERY” is not a part of a recurrence rule"),
    ("INTERVAL=2", "the rule needs FREQ"),
    ("FREQ=MONTHLY;INTERVAL=0", "INTERVAL must be a whole number of 1 or more"),
    ("FREQ=MONTHLY;INTERVAL=two", "INTERVAL must be a whole number of 1 or more"),
    ("FREQ=MONTHLY;FREQ=WEEKLY", "FREQ is given twice"),
    ("FREQ=MONTHLY;BYMONTH=13", "BYMONTH takes month numbers from 1 to 12"),
])
def test_a_malformed_rule_is_refused_in_words_not_with_pythons_unpacking_error(text, reason):
    # Why: "MONTHLY" used to come back as "not enough values to unpack (expected 2, got 1)".
    with pytest.raises(RuleError) as info:
        parse_rule(text, date(2026, 11, 27))
    assert reason in str(info.value)
    assert "unpack" not in str(info.value)


def test_a_trailing_semicolon_or_spaces_do_not_break_a_rule():
    rule = parse_rule(" FREQ=MONTHLY ; BYMONTHDAY=-1; ", date(2027, 1, 1))
    assert next_rule_dates(rule, date(2027, 1, 1), 2) == [date(2027, 1, 31), date(2027, 2, 28)]


def _first_dates(rec: Recurrence, start: date, n: int = 3) -> list[date]:
    return next_rule_dates(parse_rule(picker_rule(rec, start), start), start, n)


def test_every_two_months_made_on_27_november_starts_on_27_november_not_1_january():
    start = date(2026, 11, 27)
    rule = picker_rule(Recurrence("monthly", 2), start)
    assert rule == "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=27"
    assert _first_dates(Recurrence("monthly", 2), start) == [
        date(2026, 11, 27), date(2027, 1, 27), date(2027, 3, 27)]
    # a chosen day already past in the start month comes in the next period, on that day
    assert _first_dates(Recurrence("monthly", 2, monthday=20), start) == [
        date(2027, 1, 20), date(2027, 3, 20), date(2027, 5, 20)]


def test_a_day_past_the_28th_falls_on_the_last_day_of_shorter_months():
    start = date(2027, 1, 30)
    assert _first_dates(Recurrence("monthly", 1), start, 4) == [
        date(2027, 1, 30), date(2027, 2, 28), date(2027, 3, 30), date(2027, 4, 30)]
    assert picker_rule(Recurrence("monthly", 1, monthday=31), start) == "FREQ=MONTHLY;BYMONTHDAY=-1"


def test_weekly_picker_defaults_to_the_start_dates_weekday_and_keeps_chosen_days_in_week_order():
    start = date(2026, 11, 27)  # a Friday
    assert picker_rule(Recurrence("weekly", 2), start) == "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;WKST=FR"
    assert picker_rule(Recurrence("weekly", 1, weekdays=("TH", "MO")), start) == \
        "FREQ=WEEKLY;BYDAY=MO,TH"
    assert picker_rule(Recurrence("daily", 10), start) == "FREQ=DAILY;INTERVAL=10"


def test_every_two_weeks_on_monday_from_a_friday_starts_on_the_next_monday():
    start = date(2026, 11, 27)  # a Friday
    assert _first_dates(Recurrence("weekly", 2, weekdays=("MO", "WE")), start, 4) == [
        date(2026, 11, 30), date(2026, 12, 2), date(2026, 12, 14), date(2026, 12, 16)]


@pytest.mark.parametrize("rec", [
    Recurrence("daily", 3), Recurrence("weekly", 1, weekdays=("MO", "WE")),
    Recurrence("monthly", 3, monthday=15), Recurrence("monthly", 1, monthday=-1),
    Recurrence("monthly", 2, monthday=30),
])
def test_the_picker_reads_back_every_rule_it_writes(rec):
    assert picker_from_rule(picker_rule(rec, date(2027, 1, 1))) == rec


@pytest.mark.parametrize("rec, reason", [
    (Recurrence("hourly", 1), "choose days, weeks or months"),
    (Recurrence("monthly", 0), "must be between 1 and 24"),
    (Recurrence("monthly", 1, monthday=32), "choose a day of the month"),
])
def test_picker_values_out_of_range_are_refused_in_words(rec, reason):
    with pytest.raises(RuleError) as info:
        picker_rule(rec, date(2027, 1, 1))
    assert reason in str(info.value)


@pytest.mark.parametrize("lang, rule, words", [
    ("en", "FREQ=DAILY", "Every day"),
    ("en", "FREQ=DAILY;INTERVAL=10", "Every 10 days"),
    ("en", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE", "Every 2 weeks on Monday and Wednesday"),
    ("en", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=27", "Every 2 months on day 27"),
    ("en", "FREQ=MONTHLY;BYMONTHDAY=-1", "Every month on the last day"),
    ("en", "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1",
     "Every month on day 30 (the last day in shorter months)"),
    ("en", "FREQ=MONTHLY;BYMONTHDAY=31", "Every month on day 31 (months without that day are skipped)"),
    ("en", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "Custom rule FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),
    ("zh", "FREQ=DAILY", "每天"),
    ("zh", "FREQ=DAILY;INTERVAL=10", "每 10 天"),
    ("zh", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE", "每 2 周的星期一和星期三"),
    ("zh", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=27", "每 2 个月的 27 日"),
    ("zh", "FREQ=MONTHLY;BYMONTHDAY=-1", "每月最后一天"),
    ("zh", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=28,29,30;BYSETPOS=-1", "每 3 个月的 30 日（月份较短时为最后一天）"),
])
def test_rules_are_said_in_words_in_english_and_chinese(app, lang, rule, words):
    with app.test_request_context(), force_locale(lang):
        assert describe_rule(rule, date(2027, 1, 1)) == words


def test_the_summary_shows_the_first_date_and_the_next_five_in_words(app):
    with app.test_request_context(), force_locale("en"):
        got = rule_summary("FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=27", date(2026, 11, 27),
                           today=date(2026, 11, 27))
        assert got["first"] == date(2026, 11, 27)
        assert got["dates"] == [date(2026, 11, 27), date(2027, 1, 27), date(2027, 3, 27),
                                date(2027, 5, 27), date(2027, 7, 27)]
        assert date_in_words(got["first"]) == "Friday, November 27, 2026"
    with app.test_request_context(), force_locale("zh"):
        assert date_in_words(date(2026, 11, 27)) == "2026年11月27日星期五"
