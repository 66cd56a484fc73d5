"""Plan pages and API (preview, field errors), the terminal archive, analytics + CSV."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from core.timeutil import utcnow
from dispatch.models import FaultReport, Plan, Visit, WorkOrder
from inventory.models import StockMove
from maintenance.models import PMPlan
from tests.builders.people import bearer, login
from tests.builders.world import make_world

FORM = {"name": "Month-end clean", "recurrence": "rrule", "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1",
        "due_window_days": "10", "service_minutes": "25", "skill": "preventive",
        "active_from": "2027-01-01", "active": "on", "checklist": ["clean_card_slot", "check_battery"],
        "scope_models": ["PAX-A920PRO"]}


def test_admin_previews_the_next_occurrences_before_saving(client, db):
    make_world(db)
    login(client, "admin")
    page = client.post("/maintenance/plans/new", data={**FORM, "action": "preview"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for d in ("2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"):
        assert d in html
    assert "Covers 1 terminals at 1 merchants" in html
    assert db.exec(select(PMPlan)).all() == []  # a preview saves nothing
    saved = client.post("/maintenance/plans/new", data={**FORM, "action": "save"})
    assert saved.status_code == 302
    db.rollback()  # end this session's read snapshot
    [plan] = db.exec(select(PMPlan)).all()
    assert plan.rrule == "FREQ=MONTHLY;BYMONTHDAY=-1" and plan.scope == {"models": ["PAX-A920PRO"]}
    assert plan.checklist == ["clean_card_slot", "check_battery"]
    assert client.get(saved.headers["Location"]).status_code == 200


def test_a_bad_rule_is_shown_next_to_its_field_and_nothing_is_saved(client, db):
    make_world(db)
    login(client, "admin")
    page = client.post("/maintenance/plans/new", data={**FORM, "rrule": "FREQ=MONTHLY;BYMONTHDAY=32",
                                                       "action": "save"})
    assert page.status_code == 422
    assert 'data-field="rrule"' in page.get_data(as_text=True)
    page = client.post("/maintenance/plans/new", data={**FORM, "scope_models": ["NOPE"], "action": "save"})
    assert page.status_code == 422 and 'data-field="scope.models"' in page.get_data(as_text=True)
    assert db.exec(select(PMPlan)).all() == []


@pytest.mark.parametrize("lang,rule_reason,minutes_reason", [
    ("en", "no month of this rule has that day of the month", "must be at least 5"),
    ("zh", "该规则中没有任何月份包含这一天", "不能小于 5"),
])
def test_field_reasons_on_the_plan_form_are_in_the_admins_language(client, db, lang, rule_reason,
                                                                    minutes_reason):
    make_world(db)
    login(client, "admin")
    client.post(f"/lang/{lang}")
    page = client.post("/maintenance/plans/new",
                       data={**FORM, "rrule": "FREQ=MONTHLY;BYMONTHDAY=32", "action": "save"})
    assert page.status_code == 422
    assert f'data-field="rrule">{rule_reason}</div>' in page.get_data(as_text=True)
    # a reason pydantic found (service minutes below the minimum)
    page = client.post("/maintenance/plans/new",
                       data={**FORM, "service_minutes": "2", "action": "save"})
    assert page.status_code == 422
    assert f'data-field="service_minutes">{minutes_reason}</div>' in page.get_data(as_text=True)


def test_admin_edits_a_plan(client, db):
    make_world(db)
    login(client, "admin")
    client.post("/maintenance/plans/new", data={**FORM, "action": "save"})
    plan = db.exec(select(PMPlan)).one()
    assert client.get(f"/maintenance/plans/{plan.id}/edit").status_code == 200
    resp = client.post(f"/maintenance/plans/{plan.id}/edit",
                       data={**FORM, "recurrence": "interval", "interval_days": "45", "action": "save"})
    assert resp.status_code == 302
    db.rollback()
    db.refresh(plan)
    assert (plan.rrule, plan.interval_days) == (None, 45)


def test_only_admins_create_plans_and_dispatchers_read_them(client, db):
    make_world(db)
    login(client, "dispatcher")
    assert client.get("/maintenance/plans").status_code == 200
    assert client.get("/maintenance/plans/new").status_code == 403
    assert client.post("/maintenance/plans/new", data=FORM).status_code == 403


def test_plan_api_names_the_bad_field(client, db):
    make_world(db)
    headers = bearer(client, "admin")
    body = {"name": "x", "rrule": "FREQ=SOMETIMES", "active_from": "2027-01-01"}
    resp = client.post("/api/v1/pm-plans", json=body, headers=headers)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"][0]["field"] == "rrule"
    resp = client.post("/api/v1/pm-plans", json={**body, "rrule": None, "interval_days": 30,
                                                 "active_to": "2026-01-01"}, headers=headers)
    assert resp.get_json()["error"]["fields"][0]["field"] == "active_to"
    resp = client.post("/api/v1/pm-plans/preview", json={**body, "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
                                                         "active_from": "2027-01-01"}, headers=headers)
    assert resp.status_code == 200
    assert resp.get_json()["dates"][:2] == ["2028-02-29", "2032-02-29"]
    resp = client.post("/api/v1/pm-plans/preview", json={
        **body, "rrule": "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=27", "active_from": "2026-11-27"},
        headers=headers)
    assert resp.get_json()["words"] == "Every 2 months on day 27"
    assert resp.get_json()["first_date"] == "2026-11-27"
    resp = client.post("/api/v1/pm-plans", json={**body, "rrule": "MONTHLY"}, headers=headers)
    assert resp.get_json()["error"]["fields"] == [
        {"field": "rrule",
         "reason": "“MONTHLY” is not of the form NAME=VALUE (for example FREQ=MONTHLY)"}]
    created = client.post("/api/v1/pm-plans", json={**body, "rrule": "FREQ=WEEKLY"}, headers=headers)
    assert created.status_code == 201
    listing = client.get("/api/v1/pm-plans", headers=bearer(client, "dispatcher")).get_json()
    assert listing["total"] == 1 and listing["items"][0]["rrule"] == "FREQ=WEEKLY"


def test_terminal_archive_shows_faults_visits_parts_and_outcomes(client, db):
    w = make_world(db)
    now = utcnow()
    wo = WorkOrder(number="WO-900001", kind="repair", status="completed", region_id=w.region.id,
                   merchant_id=w.merchant.id, terminal_id=w.terminal.id, title="Card reader",
                   created_at=now - timedelta(days=2), completed_at=now - timedelta(days=1),
                   resolution_code="replaced_part")
    db.add(wo)
    db.flush()
    db.add(FaultReport(merchant_id=w.merchant.id, terminal_id=w.terminal.id, category="card_reader",
                       created_at=now - timedelta(days=2), work_order_id=wo.id, status="escalated"))
    plan = Plan(region_id=w.region.id, day=(now - timedelta(days=1)).date(), status="published")
    db.add(plan)
    db.flush()
    db.add(Visit(plan_id=plan.id, work_order_id=wo.id, technician_id=w.tech.id, sequence=1,
                 status="done", actual_arrival=now - timedelta(days=1, minutes=40),
                 actual_end=now - timedelta(days=1)))
    db.add(StockMove(kind="consume", part_id=w.part.id, location_id=w.van.id, on_hand_delta=-1,
                     work_order_id=wo.id))
    db.commit()
    login(client, "agent")
    found = client.get("/maintenance/terminals?q=PAX01")
    assert found.status_code == 302
    page = client.get(found.headers["Location"]).get_data(as_text=True)
    for kind in ("fault", "work_order", "visit", "part", "outcome"):
        assert f'data-kind="{kind}"' in page
    assert "CR-PAX" in page and "Replaced a part" in page and "40 min" in page
    assert "replaced_part" not in page.split("<main", 1)[1]  # the outcome in words, not its code


def test_analytics_page_draws_charts_and_each_table_exports_csv(client, db):
    w = make_world(db)
    db.add(FaultReport(merchant_id=w.merchant.id, terminal_id=w.terminal.id, category="printer",
                       created_at=utcnow() - timedelta(days=3)))
    db.commit()
    login(client, "dispatcher")
    page = client.get("/maintenance/analytics?days=30")
    assert page.status_code == 200
    assert "<svg" in page.get_data(as_text=True)
    resp = client.get("/maintenance/analytics/failures.csv?days=30")
    assert resp.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(resp.get_data(as_text=True)))) == [
        ["model", "category", "failures"], ["PAX-A920PRO", "printer", "1"]]
    for name in ("repeats", "mtbf", "ftf", "mttr", "sla", "utilisation"):
        assert client.get(f"/maintenance/analytics/{name}.csv").status_code == 200
    assert client.get("/maintenance/analytics?days=0").status_code == 422
    assert client.get("/maintenance/analytics/nope.csv").status_code == 404


def test_agents_do_not_see_analytics(client, db):
    make_world(db)
    login(client, "agent")
    assert client.get("/maintenance/analytics").status_code == 403


PICKER = {**FORM, "recurrence": "picker", "rrule": "", "freq": "monthly", "every": "2",
          "monthday": "", "active_from": "2026-11-27"}


@pytest.fixture
def on_27_november(monkeypatch):
    """The form's "next dates" count from today: pin today for the picker tests."""
    from datetime import date

    from maintenance import views

    monkeypatch.setattr(views, "_local_today", lambda: date(2026, 11, 27))


def test_the_picker_writes_the_rule_anchored_on_the_start_date_and_shows_it_in_words(client, db,
                                                                                      on_27_november):
    make_world(db)
    login(client, "admin")
    page = client.post("/maintenance/plans/new", data={**PICKER, "action": "preview"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="rule-words">Every 2 months on day 27<' in html
    assert "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=27" in html
    assert 'First date: <time datetime="2026-11-27">Friday, November 27, 2026</time>' in html
    assert "Wednesday, January 27, 2027" in html and "January 1, 2027" not in html
    saved = client.post("/maintenance/plans/new", data={**PICKER, "action": "save"})
    assert saved.status_code == 302
    db.rollback()
    plan = db.exec(select(PMPlan)).one()
    assert plan.rrule == "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=27"
    # the edit form reads the rule back into the picker
    edit = client.get(f"/maintenance/plans/{plan.id}/edit").get_data(as_text=True)
    assert 'value="picker" checked' in edit and '<option value="monthly" selected' in edit
    assert 'id="every" name="every" type="number" min="1" max="365" value="2"' in edit


def test_the_new_plan_form_starts_on_its_start_date_not_the_first_of_a_month(client, db):
    make_world(db)
    login(client, "admin")
    html = client.get("/maintenance/plans/new").get_data(as_text=True)
    start = re.search(r'id="active_from" name="active_from" type="date" value="([0-9-]+)"', html).group(1)
    first = re.search(r'data-testid="first-date">First date: <time datetime="([0-9-]+)"', html).group(1)
    assert first == start


def test_weekly_picker_in_chinese_says_the_weekdays_and_dates_in_chinese(client, db, on_27_november):
    make_world(db)
    login(client, "admin")
    client.post("/lang/zh")
    page = client.get("/maintenance/plans/recurrence-preview", query_string={
        "recurrence": "picker", "freq": "weekly", "every": "2", "weekdays": ["WE", "MO"],
        "active_from": "2026-11-27"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "每 2 周的星期一和星期三" in html
    assert "2026年11月30日星期一" in html  # the first Monday on or after the start


@pytest.mark.parametrize("lang, reason", [
    ("en", "“MONTHLY” is not of the form NAME=VALUE (for example FREQ=MONTHLY)"),
    ("zh", "“MONTHLY” 不是 名称=值 的形式（例如 FREQ=MONTHLY）"),
])
def test_a_malformed_custom_rule_gets_a_field_error_in_words(client, db, lang, reason):
    # Why: this used to say "not enough values to unpack (expected 2, got 1)".
    make_world(db)
    login(client, "admin")
    client.post(f"/lang/{lang}")
    page = client.post("/maintenance/plans/new", data={**FORM, "rrule": "MONTHLY", "action": "save"})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert f'data-field="rrule">{reason}</div>' in html
    assert "unpack" not in html
    preview = client.get("/maintenance/plans/recurrence-preview", query_string={
        "recurrence": "rrule", "rrule": "MONTHLY", "active_from": "2027-01-01"})
    assert reason in preview.get_data(as_text=True)


def test_picker_values_out_of_range_are_field_errors(client, db):
    make_world(db)
    login(client, "admin")
    page = client.post("/maintenance/plans/new", data={**PICKER, "every": "30", "action": "save"})
    assert page.status_code == 422
    assert 'data-field="every">must be between 1 and 24</div>' in page.get_data(as_text=True)
    page = client.post("/maintenance/plans/new", data={**PICKER, "every": "two", "action": "save"})
    assert 'data-field="every">must be a whole number</div>' in page.get_data(as_text=True)
    assert db.exec(select(PMPlan)).all() == []


def test_only_admins_use_the_recurrence_preview(client, db):
    make_world(db)
    login(client, "dispatcher")
    assert client.get("/maintenance/plans/recurrence-preview").status_code == 403


def test_a_form_posted_without_the_recurrence_choice_keeps_its_rule(client, db):
    make_world(db)
    login(client, "admin")
    data = {k: v for k, v in FORM.items() if k != "recurrence"}
    assert client.post("/maintenance/plans/new", data={**data, "action": "save"}).status_code == 302
    db.rollback()
    assert db.exec(select(PMPlan.rrule)).one() == "FREQ=MONTHLY;BYMONTHDAY=-1"


def test_analytics_csv_for_a_person_says_headers_and_codes_in_the_readers_language(client, db):
    """The page's CSV link gives headers and fault categories in words (Chinese for a
    Chinese reader); the CSV with codes stays as scripts read it."""
    w = make_world(db)
    db.add(FaultReport(merchant_id=w.merchant.id, terminal_id=w.terminal.id,
                       category="net_module", created_at=utcnow() - timedelta(days=3)))
    db.commit()
    login(client, "dispatcher")
    client.post("/lang/zh")
    page = client.get("/maintenance/analytics?days=30").get_data(as_text=True)
    assert "/maintenance/analytics/failures.csv?days=30&amp;labels=1" in page
    rows = list(csv.reader(io.StringIO(client.get(
        "/maintenance/analytics/failures.csv?days=30&labels=1").get_data(as_text=True))))
    assert rows == [["机型", "类别", "故障数"], ["PAX-A920PRO", "SIM 卡、Wi-Fi 或通信模块故障", "1"]]
    rows = list(csv.reader(io.StringIO(client.get(
        "/maintenance/analytics/failures.csv?days=30").get_data(as_text=True))))
    assert rows == [["model", "category", "failures"], ["PAX-A920PRO", "net_module", "1"]]
