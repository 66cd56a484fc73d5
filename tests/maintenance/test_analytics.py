"""Analytics figures on a hand-made history (make_repair_history in
tests/builders/maintenance.py) whose answers are worked out by hand."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from maintenance import analytics
from tests.builders.maintenance import NOW, make_repair_history, utc

SINCE = datetime(2026, 10, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def history(db):
    return make_repair_history(db)


def test_failures_per_model_and_category(db, history):
    assert analytics.failures_by_model_category(db, SINCE, UNTIL) == [
        {"model": "PAX-A920PRO", "category": "card_reader", "failures": 2},
        {"model": "VF-V200C", "category": "printer", "failures": 1},
    ]


def test_repeat_failures_within_30_days_count_an_earlier_fault_before_the_period(db, history):
    assert analytics.repeat_failures(db, SINCE, UNTIL) == [
        {"model": "PAX-A920PRO", "failures": 2, "repeats": 1, "repeat_rate": 0.5},
        {"model": "VF-V200C", "failures": 1, "repeats": 1, "repeat_rate": 1.0},
    ]


def test_mean_time_between_failures_uses_terminal_days_in_service(db, history):
    assert analytics.mtbf_by_model(db, SINCE, UNTIL) == [
        {"model": "PAX-A920PRO", "terminals": 2, "terminal_days": 47.0, "failures": 2, "mtbf_days": 23.5},
        {"model": "VF-V200C", "terminals": 1, "terminal_days": 31.0, "failures": 1, "mtbf_days": 31.0},
    ]


def test_first_time_fix_rate_excludes_work_that_needed_a_follow_up(db, history):
    assert analytics.first_time_fix(db, SINCE, UNTIL) == [
        {"model": "PAX-A920PRO", "completed": 2, "first_time_fixed": 1, "rate": 0.5},
        {"model": "VF-V200C", "completed": 1, "first_time_fixed": 1, "rate": 1.0},
        {"model": "all", "completed": 3, "first_time_fixed": 2, "rate": 0.667},
    ]


def test_mean_time_to_repair_runs_from_the_fault_report_to_completion(db, history):
    assert analytics.mean_time_to_repair(db, SINCE, UNTIL) == [
        {"model": "PAX-A920PRO", "repairs": 2, "mean_hours": 42.0},
        {"model": "VF-V200C", "repairs": 1, "mean_hours": 6.0},
        {"model": "all", "repairs": 3, "mean_hours": 30.0},
    ]


def test_sla_compliance_by_region_and_local_month(db, history):
    assert analytics.sla_compliance(db, SINCE, UNTIL, NOW) == [
        {"region": "PX", "month": "2026-10", "met": 1, "missed": 2, "compliance": 0.333},
        {"region": "PX", "month": "2026-11", "met": 0, "missed": 1, "compliance": 0.0},
    ]
    # before its deadline an open work order is not counted either way
    early = analytics.sla_compliance(db, SINCE, UNTIL, utc(10, 31, 12))
    assert [r["month"] for r in early] == ["2026-10"]


def test_technician_utilisation_is_time_on_site_over_shift_time(db, history):
    rows = analytics.technician_utilisation(db, date(2026, 10, 1), date(2026, 11, 1))
    # shift 08:30-17:30 minus 45 min break = 495 min; on site 60 + 99 = 159 min
    assert rows == [
        {"technician": "tech01", "name": "Li Wei", "shift_hours": 8.25, "service_hours": 2.65,
         "utilisation": 0.321},
        {"technician": "tech02", "name": "Chen Fang", "shift_hours": 8.25, "service_hours": 0.0,
         "utilisation": 0.0},
    ]


def test_every_table_is_computed_by_name(db, history):
    for name in analytics.TABLES:
        rows = analytics.compute_table(db, name, SINCE, UNTIL, "Asia/Shanghai", NOW)
        # the history has no merchant ratings: tests/dispatch/test_ratings_and_replies.py
        assert rows or name.startswith("ratings_"), name


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_analytics_page_shows_rates_as_percentages(client, db, history, monkeypatch, lang):
    # Why: rates showed as 0.5 and 0.667 instead of 50% and 66.7%.
    from maintenance import views
    from tests.builders.people import login

    monkeypatch.setattr(views, "utcnow", lambda: NOW)
    login(client, "dispatcher")
    client.post(f"/lang/{lang}")
    html = client.get("/maintenance/analytics?days=90").get_data(as_text=True)
    ftf = html.split('data-table="ftf"')[1].split("</section>")[0]
    assert "<td>50%</td>" in ftf and "<td>100%</td>" in ftf and "<td>66.7%</td>" in ftf
    assert "<td>0.5</td>" not in ftf and "0.667" not in ftf
    assert ">66.7%</text>" in ftf  # the chart's bar says it too
    sla = html.split('data-table="sla"')[1].split("</section>")[0]
    assert "<td>33.3%</td>" in sla and "<td>0%</td>" in sla
    # the CSV keeps the fraction, which a spreadsheet reads as a number
    csv_text = client.get("/maintenance/analytics/ftf.csv?days=90").get_data(as_text=True)
    assert "0.667" in csv_text
