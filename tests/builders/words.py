"""A small world in which every vocabulary of core.words shows up on some page: faults
of several categories walked through the checklist, escalated, resolved by phone and
left in triage; work orders of every kind, priority and most statuses; a published
plan of today with visits done, on site and planned, a part used, a photo, a visit not
done, a work order left out with its reason; backups eligible and offered; SMS of
several templates and statuses and replies handled in each way; stock moves of each
kind; a preventive plan with its generated work. Built through the services where a
user would act, so the rows are the ones the pages really show."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session, select

from core.timeutil import utcnow
from dispatch.desk import service as fault_svc
from dispatch.field import service as svc
from dispatch.models import Merchant, Plan, Shift, Terminal, Visit, WorkOrder
from dispatch.workorders import service as wo_svc
from dispatch.workorders.merchant_replies import record_rating
from inventory import stock
from maintenance.generation import generate_due
from maintenance.models import PMPlan
from notifications.models import InboundMessage, OutboundMessage
from notifications.outbox import enqueue_sms
from tests.builders.field import aid
from tests.builders.images import image_bytes
from tests.builders.maintenance import make_pm_plan
from tests.builders.planning import make_plan, make_visit
from tests.builders.stock import make_loaner
from tests.builders.workorders import make_work_order
from tests.builders.world import World, local_dt, make_terminal, make_world

HOURS = {d: [["00:00", "23:59"]] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}


@dataclass
class WordsWorld:
    world: World
    day: date
    plan: Plan
    escalated: WorkOrder  # a repair escalated from a walked checklist (its description)
    platinum_repair: WorkOrder  # a backup offered at once (platinum)
    fault_open: int
    fault_resolved: int
    fault_escalated: int
    visit_done: Visit
    visit_on_site: Visit
    visit_planned: Visit
    preventive: WorkOrder | None
    pm_plan: PMPlan
    terminals: list[Terminal] = field(default_factory=list)
    not_done_work_order_id: int = 0
    joined: WorkOrder | None = None  # a repair another report joined


def make_words_world(db: Session, upload_dir: str) -> WordsWorld:
    """The words world on the region's real today, committed; the visit's photo is
    stored under `upload_dir`."""
    w = make_world(db)
    day = svc.region_today(db, w.region.id)
    # shifts on the real today (make_world makes them on a fixed day)
    for t in (w.tech, w.tech2):
        db.add(Shift(technician_id=t.id, day=day, start_at=local_dt(day, "00:30"),
                     end_at=local_dt(day, "23:30"), break_earliest=local_dt(day, "11:30"),
                     break_latest=local_dt(day, "14:00")))
    # Names a reader would write in Chinese, so that the words left in English on a
    # Chinese page are the system's own
    w.depot.name = "静安仓库"
    w.depot_location.name = "静安仓库"
    w.tech2.skills = ["network", "software", "smart_pos", "install", "preventive"]
    w.merchant.opening_hours = HOURS
    db.add_all([w.depot, w.depot_location, w.tech2, w.merchant])
    platinum = Merchant(code="MPX0002", name="金鼎酒楼", phone="+8613812340002", lat=31.225,
                        lon=121.455, region_id=w.region.id, locale="zh", sla_tier="platinum",
                        opening_hours=HOURS)
    gold = Merchant(code="MPX0003", name="老街面馆", phone="+8613812340003", lat=31.21,
                    lon=121.44, region_id=w.region.id, locale="en", sla_tier="gold",
                    opening_hours=HOURS)
    db.add_all([platinum, gold])
    db.flush()
    t2 = make_terminal(db, platinum, w.model.id, "PAX0100002")
    t3 = make_terminal(db, gold, w.model.id, "PAX0100003")
    make_loaner(db, w, "PAX0900001")
    agent = w.users["agent"]
    dispatcher = w.users["dispatcher"]

    # --- faults: walked, escalated, resolved by phone, left in triage --------------
    f1 = fault_svc.create_fault(db, merchant=w.merchant, terminal=w.terminal,
                                category="hw_card_reader", symptoms="读卡失败", error_code="E-17",
                                actor=agent)
    fault_svc.record_triage(db, f1, [("restart", "not_fixed", ""),
                                     ("clean_card_slot", "skipped", ""),
                                     ("update_software", "not_applicable", "")], actor=agent)
    escalated = fault_svc.escalate(db, f1, actor=agent, note="")
    f2 = fault_svc.create_fault(db, merchant=platinum, terminal=t2, category="net_module",
                                symptoms="没有信号", channel="sms", actor=agent)
    fault_svc.record_triage(db, f2, [("check_signal", "not_fixed", "")], actor=agent)
    platinum_repair = fault_svc.escalate(db, f2, actor=agent, priority="critical")
    f3 = fault_svc.create_fault(db, merchant=gold, terminal=t3, category="acct_frozen",
                                symptoms="商户被冻结", channel="web", actor=agent)
    fault_svc.record_triage(db, f3, [("check_account", "fixed", "")], actor=agent)
    fault_svc.resolve_remotely(db, f3, "", actor=agent)
    f4 = fault_svc.create_fault(db, merchant=w.merchant, category="sw_crash",
                                symptoms="应用闪退", channel="email", actor=agent)

    # --- today's published plan on tech01's phone ---------------------------------
    plan = make_plan(db, w.region, day, job_status="done", published_at=utcnow())
    now = utcnow()
    specs = [("repair", "high", "hw_printer"), ("install", "normal", ""),
             ("retrieval", "low", ""), ("backup_swap", "normal", "")]
    visits = []
    for i, (kind, priority, _cat) in enumerate(specs):
        wo = make_work_order(db, w, number=f"WO-Z{i + 1:04d}", kind=kind, status="dispatched",
                             priority=priority, terminal_id=w.terminal.id if kind != "install" else None,
                             title="Printer does not print" if kind == "repair" else "",
                             severity="degraded", required_skills=["hardware", "card_reader"],
                             predicted_parts=[{"kind": "card_reader", "qty": 1}],
                             checklist=[{"code": "clean_card_slot", "label": "Clean the card slot",
                                         "terminal": w.terminal.serial}])
        visits.append(make_visit(db, plan, wo, w.tech, sequence=i + 1, planned_arrival=now + timedelta(hours=i),
                                 planned_start=now + timedelta(hours=i),
                                 planned_end=now + timedelta(hours=i, minutes=40),
                                 window_start=now + timedelta(hours=i), window_end=now + timedelta(hours=i + 1),
                                 travel_seconds=900))
    # the escalated repair on the phone too (its description written at escalation)
    make_visit(db, plan, escalated, w.tech, sequence=len(visits) + 1, planned_arrival=now + timedelta(hours=5),
               window_start=now + timedelta(hours=5), window_end=now + timedelta(hours=6))
    plan.unassigned = [{"work_order_id": platinum_repair.id, "code": "no_skill"}]
    db.add(plan)
    db.commit()
    tech = w.users["tech01"]
    done, on_site, not_done, planned = visits
    svc.start_travel(db, done.id, tech, aid())
    svc.arrive(db, done.id, tech, aid())
    svc.add_photo(db, done.id, tech, aid(), data=image_bytes("PNG", (8, 8)), filename="after.png",
                  upload_dir=upload_dir)
    svc.complete(db, done.id, tech, aid(), resolution_code="replaced_part",
                 parts=[svc.PartUsed(part_id=w.part.id, qty=1)], notes="")
    record_rating(db, db.get(WorkOrder, done.work_order_id), 2)
    db.commit()
    svc.start_travel(db, on_site.id, tech, aid())
    svc.arrive(db, on_site.id, tech, aid())
    svc.start_travel(db, not_done.id, tech, aid())
    svc.arrive(db, not_done.id, tech, aid())
    svc.could_not_complete(db, not_done.id, tech, aid(), reason="part_missing")

    # --- a second report of the same terminal joins the open repair -----------------
    f5 = fault_svc.create_fault(db, merchant=gold, terminal=t3, category="hw_keys",
                                symptoms="按键失灵", actor=agent)
    joined = fault_svc.escalate(db, f5, actor=agent)
    f6 = fault_svc.create_fault(db, merchant=gold, terminal=t3, category="hw_screen",
                                symptoms="黑屏", actor=agent)
    assert fault_svc.escalate(db, f6, actor=agent).id == joined.id

    # --- a cancelled and a new work order, the dispatcher's own notes ----------------
    spare = wo_svc.create_work_order(db, merchant=gold, terminal=None, kind="install",
                                     priority="low", severity="cosmetic", title="",
                                     required_skills=["install"], predicted_parts=[],
                                     service_minutes=30, actor=dispatcher, status="new")
    wo_svc.transition(db, spare, "cancelled", actor=dispatcher, note="")
    wo_svc.create_work_order(db, merchant=gold, terminal=t3, kind="repair", priority="normal",
                             severity="degraded", title="Keys not responding",
                             required_skills=["hardware"], predicted_parts=[{"kind": "keypad", "qty": 1}],
                             service_minutes=40, actor=dispatcher, status="new")

    # --- stock: each kind of move ---------------------------------------------------
    stock.transfer(db, w.depot_location.id, w.van.id, w.part.id, 1, dispatcher, reason="")

    # --- SMS: templates and statuses, replies handled each way ----------------------
    for i, (template, status) in enumerate([
            ("technician_assigned", "delivered"), ("technician_on_the_way", "sent"),
            ("visit_done", "dev_delivered"), ("fault_received", "failed"),
            ("pm_reminder", "pending"), ("survey", "undelivered"), ("help", "queued"),
            ("backup_confirmed", "suppressed")]):
        ctx = {"ref": "WO-Z0001", "technician": "Li Wei", "date": "24 Nov", "start": "14:00",
               "end": "15:00", "eta": "14:20"}
        m = enqueue_sms(db, key=f"words-{i}", to=w.merchant.phone, template=template,
                        locale="zh" if i % 2 else "en", context=ctx)
        m.status = status
        db.add(m)
    for i, handled in enumerate(["opt_out", "opt_in", "help", "unhandled", "backup_yes",
                                 "backup_no", "survey", "note"]):
        db.add(InboundMessage(provider_sid=f"SMwords{i:04d}", from_number=platinum.phone,
                              body=str(i), handled_as=handled))
    db.commit()

    # --- a preventive plan and its work --------------------------------------------
    pm_plan = make_pm_plan(db, name="季度保养", active_from=day - timedelta(days=1), interval_days=30)
    generate_due(db, day, horizon_days=14)
    preventive = db.exec(select(WorkOrder).where(WorkOrder.kind == "preventive")).first()
    db.expire_all()
    assert db.exec(select(OutboundMessage)).first() is not None
    return WordsWorld(w, day, plan, escalated, platinum_repair, f4.id, f3.id, f1.id, done,
                      on_site, planned, preventive, pm_plan, [w.terminal, t2, t3],
                      not_done_work_order_id=not_done.work_order_id, joined=joined)


