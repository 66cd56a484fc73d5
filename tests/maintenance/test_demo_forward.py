"""The demo world run forward 90 days by the scheduler's job functions produces the
preventive work the plans call for, once each, with no second visit per merchant."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from sqlmodel import select

from core.models import Region
from demo.world import build_demo_world
from dispatch.models import Merchant, Terminal, TerminalModel, WorkOrder
from maintenance import jobs
from maintenance.models import PMOccurrence, PMPlan

D0 = date(2026, 11, 24)
DAYS = 90
TZ = ZoneInfo("Asia/Shanghai")
OPEN = {"new", "ready", "planned", "dispatched", "en_route", "on_site", "needs_follow_up"}


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=TZ)


def expected_rule_occurrences(db, last_day: date, horizon: int) -> set[tuple[int, int, date]]:
    """From the rules alone: plain loops over the fleet and dateutil's own expansion."""
    regions = {r.id: r.code for r in db.exec(select(Region)).all()}
    models = {m.id: m.code for m in db.exec(select(TerminalModel)).all()}
    merchants = {m.id: m for m in db.exec(select(Merchant)).all()}
    out = set()
    for plan in db.exec(select(PMPlan).where(PMPlan.rrule.is_not(None))).all():
        scope = plan.scope
        first = max(plan.active_from, D0 - timedelta(days=plan.due_window_days - 1))
        rule = rrulestr(plan.rrule, dtstart=datetime.combine(plan.active_from, time()))
        dates = [d.date() for d in rule.between(datetime.combine(first, time()),
                                                datetime.combine(last_day + timedelta(days=horizon), time()),
                                                inc=True)]
        for t in db.exec(select(Terminal)).all():
            if t.merchant_id is None or t.is_loaner or t.status != "installed":
                continue
            m = merchants[t.merchant_id]
            if scope.get("models") and models[t.model_id] not in scope["models"]:
                continue
            if scope.get("regions") and regions[m.region_id] not in scope["regions"]:
                continue
            if scope.get("tiers") and m.sla_tier not in scope["tiers"]:
                continue
            if scope.get("terminals") and t.serial not in scope["terminals"]:
                continue
            out |= {(plan.id, t.id, d) for d in dates}
    return out


def complete_due_work(db, day: date) -> None:
    """The technicians: every open work order carrying an occurrence due two days ago
    (or earlier) is done at 15:00 local today."""
    due_ids = set(db.exec(select(PMOccurrence.work_order_id).where(
        PMOccurrence.due_date <= day - timedelta(days=2))).all())
    for wo in db.exec(select(WorkOrder).where(WorkOrder.id.in_(due_ids))).all():
        if wo.status in OPEN:
            wo.status = "completed"
            wo.completed_at = at(day, 15)
            db.add(wo)
    db.commit()


def test_demo_world_run_forward_90_days_makes_the_expected_preventive_work_once(db):
    build_demo_world(db, today=D0, merchants_per_region=12, technicians_per_region=2, history_days=2)
    horizon = jobs.HORIZON_DAYS
    for i in range(DAYS):
        day = D0 + timedelta(days=i)
        jobs.preventive_generation(db, at(day, 1, 15))
        if i % 7 == 0:  # a second scheduler run the same night changes nothing
            again = jobs.preventive_generation(db, at(day, 1, 20))
            assert again["created"] == again["merged"] == again["escalated"] == 0
        jobs.sla_watch(db, at(day, 9))
        jobs.pm_reminders(db, at(day, 17))
        open_per_merchant = Counter(m for m, s in db.exec(select(WorkOrder.merchant_id, WorkOrder.status)).all()
                                    if s in OPEN)
        assert max(open_per_merchant.values(), default=0) <= 1, f"two open visits on {day}"
        complete_due_work(db, day)

    db.expire_all()
    occ = db.exec(select(PMOccurrence)).all()
    keys = [(o.plan_id, o.terminal_id, o.due_date) for o in occ]
    assert len(keys) == len(set(keys))
    plans = {p.name: p for p in db.exec(select(PMPlan)).all()}
    interval_plan = plans["Countertop printers: every 60 days"]
    rule_keys = {k for k in keys if k[0] != interval_plan.id}
    expected = expected_rule_occurrences(db, D0 + timedelta(days=DAYS - 1), horizon)
    assert rule_keys == expected
    assert len(expected) > 20  # the reduced world still exercises every rule plan
    assert {k[0] for k in expected} == {p.id for p in plans.values() if p.rrule}

    # interval plan: due on active_from, done two days later, next due 60 days after that
    first = interval_plan.active_from
    second = first + timedelta(days=62)
    interval_keys = sorted(k for k in keys if k[0] == interval_plan.id)
    vf_terminals = {k[1] for k in interval_keys}
    assert vf_terminals
    assert interval_keys == sorted((interval_plan.id, t, d) for t in vf_terminals for d in (first, second))

    # each occurrence is on exactly one work order of the terminal's merchant
    work = {w.id: w for w in db.exec(select(WorkOrder)).all()}
    terminals = {t.id: t for t in db.exec(select(Terminal)).all()}
    for o in occ:
        assert o.work_order_id is not None
        assert work[o.work_order_id].merchant_id == terminals[o.terminal_id].merchant_id
    assert any(o.outcome == "merged" for o in occ)  # some visits carried several terminals
    preventive = [w for w in work.values() if w.kind == "preventive"]
    assert len(preventive) == sum(1 for o in occ if o.outcome == "created")
    assert all(w.priority in ("low", "normal") for w in preventive)
    # everything still open whose window closes within two days has become required
    end = at(D0 + timedelta(days=DAYS - 1), 1, 15)
    for w in preventive:
        if w.status in OPEN and w.window_end_at <= end + timedelta(days=2):
            assert w.optional is False
