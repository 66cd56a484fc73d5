"""The SLA policy: tier x severity, business hours in the region's time zone."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dispatch.models import Merchant
from dispatch.workorders.sla import (
    SLA_POLICY,
    add_business_time,
    opening_windows,
    priority_for,
    sla_at_risk,
    sla_due_at,
    sla_rule,
)

SH = ZoneInfo("Asia/Shanghai")
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def merchant(hours: dict, tier: str = "standard") -> Merchant:
    return Merchant(code="M", name="M", phone="+8613800000000", lat=0, lon=0, region_id=1,
                    opening_hours=hours, sla_tier=tier)


SPLIT = {d: [["10:00", "14:00"], ["17:00", "22:00"]] for d in DAYS}  # 9 h a day, every day
BAR = {d: [["18:00", "02:00"]] for d in DAYS}  # 8 h a day, past midnight


def test_every_tier_and_severity_has_a_rule():
    for tier in ("platinum", "gold", "standard"):
        for severity in ("down", "degraded", "cosmetic"):
            assert sla_rule(tier, severity) is SLA_POLICY[tier][severity]


def test_platinum_down_runs_on_the_clock_through_the_night():
    # Saturday 23:00 + 4 h around the clock = Sunday 03:00
    due = sla_due_at(sh(2026, 11, 28, 23, 0), tier="platinum", severity="down",
                     tz_name="Asia/Shanghai", merchant=merchant(SPLIT))
    assert due == sh(2026, 11, 29, 3, 0)


def test_standard_without_opening_hours_counts_the_desk_week_over_the_weekend():
    # 24 business hours from Friday 16:00, Mon-Fri 09-18 (9 h a day):
    # Fri 2 h, Mon 9 h (11), Tue 9 h (20), Wed 4 h -> Wednesday 13:00 local
    due = sla_due_at(sh(2026, 11, 27, 16, 0), tier="standard", severity="degraded",
                     tz_name="Asia/Shanghai", merchant=merchant({}))
    assert due == sh(2026, 12, 2, 13, 0)
    assert due.astimezone(UTC) == datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


def test_gold_degraded_counts_the_merchants_split_hours_across_nights():
    # 16 business hours from Saturday 21:00 in a 10-14 / 17-22 shop:
    # Sat 1 h, Sun 9 h (10), Mon 10-14 (14), Mon 17-19 -> Monday 19:00
    due = sla_due_at(sh(2026, 11, 28, 21, 0), tier="gold", severity="degraded",
                     tz_name="Asia/Shanghai", merchant=merchant(SPLIT))
    assert due == sh(2026, 11, 30, 19, 0)


def test_report_at_night_starts_the_clock_at_the_next_opening():
    # standard down = 16 business hours; Monday 03:00 -> starts Mon 09:00,
    # Mon 9 h, Tue 7 h -> Tuesday 16:00
    due = sla_due_at(sh(2026, 11, 30, 3, 0), tier="standard", severity="down",
                     tz_name="Asia/Shanghai", merchant=None)
    assert due == sh(2026, 12, 1, 16, 0)


def test_opening_hours_past_midnight():
    # 16 business hours from Monday 01:00 in a bar open 18:00-02:00:
    # Mon 01-02 (1 h), Mon 18-Tue 02 (9), Tue 18:00 + 7 h -> Wednesday 01:00
    due = sla_due_at(sh(2026, 11, 30, 1, 0), tier="standard", severity="down",
                     tz_name="Asia/Shanghai", merchant=merchant(BAR))
    assert due == sh(2026, 12, 2, 1, 0)


def test_closed_days_are_skipped():
    shop = {d: [["09:00", "12:00"], ["13:30", "18:30"]] for d in DAYS[:6]}  # 8 h, closed Sunday
    # platinum degraded = 8 business hours from Saturday 17:30:
    # Sat 1 h, Sunday closed, Mon 09-12 (3 h, 4 in all), Mon 13:30 + 4 h -> Monday 17:30
    due = sla_due_at(sh(2026, 11, 28, 17, 30), tier="platinum", severity="degraded",
                     tz_name="Asia/Shanghai", merchant=merchant(shop))
    assert due == sh(2026, 11, 30, 17, 30)


def test_business_hours_follow_the_regions_time_zone_across_a_dst_change():
    berlin = ZoneInfo("Europe/Berlin")
    # Europe switches to summer time on Sunday 29 March 2026.
    # 24 business hours (Mon-Fri 09-18) from Friday 27 March 16:00 CET:
    # Fri 2, Mon 9, Tue 9, Wed 4 -> Wednesday 1 April 13:00 CEST = 11:00 UTC
    due = sla_due_at(datetime(2026, 3, 27, 16, 0, tzinfo=berlin), tier="standard",
                     severity="degraded", tz_name="Europe/Berlin", merchant=None)
    assert due == datetime(2026, 4, 1, 11, 0, tzinfo=UTC)


def test_exactly_at_closing_time_moves_to_the_next_opening():
    due = add_business_time(sh(2026, 11, 27, 18, 0), timedelta(hours=1),
                            {d: [["09:00", "18:00"]] for d in DAYS[:5]}, "Asia/Shanghai")
    assert due == sh(2026, 11, 30, 10, 0)


def test_no_business_hours_at_all_falls_back_to_the_clock():
    start = sh(2026, 11, 27, 16, 0)
    assert add_business_time(start, timedelta(hours=5), {"mon": []}, "Asia/Shanghai") == \
        start + timedelta(hours=5)


def test_opening_windows_clip_and_convert_to_utc():
    wins = opening_windows(SPLIT, "Asia/Shanghai", sh(2026, 11, 24, 12, 0), sh(2026, 11, 25, 12, 0))
    assert wins == [
        (sh(2026, 11, 24, 12, 0), sh(2026, 11, 24, 14, 0)),
        (sh(2026, 11, 24, 17, 0), sh(2026, 11, 24, 22, 0)),
        (sh(2026, 11, 25, 10, 0), sh(2026, 11, 25, 12, 0)),
    ]
    assert all(a.tzinfo is not None for a, _ in wins)


@pytest.mark.parametrize("tier,severity,expected", [
    ("platinum", "down", "critical"), ("gold", "down", "high"), ("standard", "down", "high"),
    ("platinum", "degraded", "high"), ("standard", "degraded", "normal"),
    ("gold", "cosmetic", "low")])
def test_priority_from_tier_and_severity(tier, severity, expected):
    assert priority_for(tier, severity) == expected


def test_at_risk_means_overdue_or_due_within_two_hours():
    now = sh(2026, 11, 24, 12, 0)
    assert sla_at_risk(now + timedelta(hours=1), now)
    assert sla_at_risk(now - timedelta(hours=1), now)
    assert not sla_at_risk(now + timedelta(hours=3), now)
    assert not sla_at_risk(None, now)
