"""Preventive-maintenance plans of the demo world (deterministic: dates follow `today`)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, select

from core.models import Region
from dispatch.models import Merchant, Terminal
from maintenance.models import PMPlan

SMART_MODELS = ["PAX-A920PRO", "NL-N910", "SUNMI-P2"]


def demo_plan_specs(today: date, pilot_serials: list[str]) -> list[dict]:
    month_start = today.replace(day=1)
    return [
        dict(name="Platinum merchants: monthly check", scope={"tiers": ["platinum"]},
             rrule="FREQ=MONTHLY;BYMONTHDAY=-1", due_window_days=10,
             checklist=["clean_card_slot", "clean_printer_head", "check_network"],
             service_minutes=25, active_from=month_start),
        dict(name="Pudong smart terminals: quarterly service",
             scope={"models": SMART_MODELS, "regions": ["PD"]},
             rrule="FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15", due_window_days=14,
             checklist=["clean_card_slot", "check_battery", "update_firmware"],
             service_minutes=30, active_from=month_start),
        dict(name="Countertop printers: every 60 days",
             scope={"models": ["VF-V200C"], "regions": ["PX"], "tiers": ["gold", "standard"]},
             interval_days=60, due_window_days=14,
             checklist=["clean_printer_head", "clean_card_slot"], service_minutes=20,
             active_from=today + timedelta(days=7)),
        dict(name="Firmware pilot terminals: fortnightly", scope={"terminals": pilot_serials},
             rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", due_window_days=5,
             checklist=["update_firmware", "check_network"], skill="software",
             service_minutes=15, active_from=today),
    ]


def add_demo_pm_plans(session: Session, today: date | None = None) -> list[PMPlan]:
    """Add the demo plans (no commit). Work orders come later, from the scheduler."""
    from core.timeutil import utcnow

    today = today or utcnow().date()
    # three pilot terminals in Minhang (no other plan there depends on their service dates)
    pilot = list(session.exec(
        select(Terminal.serial).join(Merchant, Merchant.id == Terminal.merchant_id)
        .join(Region, Region.id == Merchant.region_id)
        .where(Region.code == "MH", Terminal.is_loaner == False)  # noqa: E712
        .order_by(Terminal.id).limit(3)).all())
    plans = [PMPlan(**spec) for spec in demo_plan_specs(today, pilot)]
    for plan in plans:
        session.add(plan)
    session.flush()
    return plans
