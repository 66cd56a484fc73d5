"""Re-planning a day the merchants were already told about, with the least disruption.

Once a day is published, each merchant holds an arrival window and a technician's
name. Re-optimising that day (after one urgent order, say) must not quietly move
them: the solver then reshuffled the routes and 11 of 15 merchants got a new window.
And a visit the dispatcher moved by hand must stay with the technician it was moved
to, or the next re-optimise undoes the dispatcher's work.

This module holds those commitments and applies them to a solver problem:

- **announced visits** (in the day's published plan, told a window, not started):
  kept with their announced technician and inside their announced window, through
  the same shared skill a pin uses and the job's time windows; the solver cannot
  move them (a hard keep; when the window can no longer be kept, say it has passed,
  only the soft preferences below hold and the board shows the change before publishing);
  every announced visit also carries its technician and window as soft preferences
  (``Job.preferred_vehicle``/``preferred_window``, weights in ``dispatch.solver.model``),
  so a visit whose hard keep cannot apply, or a solve with "keep what merchants were
  told" unticked, still stays where its merchant expects it unless a required job or
  an SLA needs the change (the board shows each change before publishing);
- **hand moves** (``plan.solver_stats["hand_moves"]``, work order -> technician):
  kept with that technician until the dispatcher releases them; the dispatcher
  accepted the change, so their announced window is not enforced;
- **the window a merchant is told** stays the announced one while the planned
  service start still falls inside it, so only merchants whose window really moved
  are texted.

`changes_against_published` lists what publishing a draft would change for the
merchants: the board shows it before the dispatcher publishes.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from core.audit import record_audit
from core.db import unit_of_work
from core.errors import NotFound
from dispatch.models import Merchant, Plan, Technician, Visit, WorkOrder
from dispatch.solver.model import KEEP_VEHICLE_COST, KEEP_WINDOW_COST_PER_MINUTE

HAND_MOVES_KEY = "hand_moves"
#: the shared skill that keeps a job with one vehicle (the same as a pin's)
KEEP_SKILL = "pinned-to-{}"


# ------------------------------------------------------------------ hand moves


def hand_moves(plan: Plan | None) -> dict[int, int]:
    """Work order -> technician the dispatcher moved it to by hand (until released)."""
    if plan is None:
        return {}
    raw = (plan.solver_stats or {}).get(HAND_MOVES_KEY) or {}
    return {int(k): int(v) for k, v in raw.items()}


def record_hand_move(plan: Plan, work_order_id: int, technician_id: int | None) -> None:
    """Remember (or, with ``technician_id=None``, forget) a hand move on the plan.
    The caller adds the plan and commits."""
    stats = dict(plan.solver_stats or {})
    moves = dict(stats.get(HAND_MOVES_KEY) or {})
    if technician_id is None:
        moves.pop(str(work_order_id), None)
    else:
        moves[str(work_order_id)] = int(technician_id)
    stats[HAND_MOVES_KEY] = moves
    plan.solver_stats = stats


def release_hand_move(session: Session, plan_id: int, work_order_id: int, *, version: int,
                      actor=None) -> Plan:
    """Let the optimiser place a hand-moved visit freely again."""
    from dispatch.planning.service import _check_editable, _locked_plan

    with unit_of_work(session):
        plan = _locked_plan(session, plan_id)
        _check_editable(plan, version)
        if work_order_id not in hand_moves(plan):
            raise NotFound(_l("this visit was not moved by hand"), field="work_order_id")
        record_hand_move(plan, work_order_id, None)
        plan.version += 1
        session.add(plan)
        record_audit(session, "plan", plan.id, "hand_move_released", getattr(actor, "id", None),
                     work_order_id=work_order_id)
    return plan


# ------------------------------------------------------------------ announced visits


def announced(session: Session, plan: Plan | None) -> dict[int, Visit]:
    """Work order -> its visit in the day's published plan, for visits whose merchant
    was told a window and that are not started or finished."""
    if plan is None or plan.id is None:
        return {}
    from dispatch.planning.problem import published_plan

    pub = plan if plan.status == "published" else published_plan(session, plan.region_id, plan.day)
    if pub is None:
        return {}
    rows = session.exec(select(Visit).where(Visit.plan_id == pub.id, Visit.status == "planned",
                                            Visit.notified_window_start.is_not(None))).all()
    return {v.work_order_id: v for v in rows}


def keep_commitments(session: Session, plan: Plan | None, vehicles: list, jobs: list,
                     secs: Callable[[datetime], int]) -> dict[str, list[int]]:
    """Apply the day's commitments to a solver problem in place (see the module's
    docstring). A solve the dispatcher started with "keep what merchants were told"
    unticked (``plan.progress["keep_announced"]`` false) keeps only the hand moves as a
    hard rule; announced technicians and windows stay soft preferences, and the board
    shows every change before it is published. Returns which work orders were kept how."""
    kept: dict[str, list[int]] = {"hand_moved": [], "announced": [], "preferred": []}
    if plan is None:
        return kept
    moves = hand_moves(plan)
    keep_told = (plan.progress or {}).get("keep_announced", True)
    told = announced(session, plan)
    if not moves and not told:
        return kept
    veh_by_id = {v.id: v for v in vehicles}
    started = {s.id for v in vehicles for s in (v.steps or [])}

    def keep_with(job, tech_id: int) -> None:
        skill = KEEP_SKILL.format(tech_id)
        veh = veh_by_id[tech_id]
        if skill not in veh.skills:
            veh.skills = list(veh.skills) + [skill]
        if not any(s.startswith("pinned-to-") for s in job.skills):
            job.skills = list(job.skills) + [skill]
        job.optional = False

    for job in jobs:
        if job.id in started:
            continue
        if job.id in moves:
            if moves[job.id] in veh_by_id:
                keep_with(job, moves[job.id])
                kept["hand_moved"].append(job.id)
            continue
        v = told.get(job.id)
        if v is None or v.technician_id not in veh_by_id:
            continue
        lo, hi = secs(v.notified_window_start), secs(v.notified_window_end)
        veh = veh_by_id[v.technician_id]
        passed = bool(veh.time_window and hi < veh.time_window[0])
        # soft first: the solver pays to move it off its technician or out of its window
        job.preferred_vehicle, job.vehicle_change_cost = v.technician_id, KEEP_VEHICLE_COST
        if not passed:
            job.preferred_window = (lo, hi)
            job.window_change_cost_per_minute = KEEP_WINDOW_COST_PER_MINUTE
        kept["preferred"].append(job.id)
        if not keep_told or passed:
            continue  # the dispatcher accepts changes, or the window has passed: soft only
        wins = job.time_windows or [(lo, hi)]
        narrowed = [(max(a, lo), min(b, hi)) for a, b in wins if max(a, lo) <= min(b, hi)]
        if not narrowed:
            continue
        job.time_windows = narrowed
        keep_with(job, v.technician_id)
        kept["announced"].append(job.id)
    return kept


def told_window(visit: Visit, start: datetime, computed: tuple[datetime, datetime]
                ) -> tuple[datetime, datetime]:
    """The window to tell the merchant: the one already announced while the planned
    service start still falls inside it (no new SMS), else the newly computed one."""
    ns, ne = visit.notified_window_start, visit.notified_window_end
    if ns is not None and ne is not None and ns <= start <= ne:
        return ns, ne
    return computed


def window_moved(old: tuple[datetime | None, datetime | None], start: datetime,
                 computed: tuple[datetime, datetime]) -> bool:
    """Whether a planned service start breaks a window the merchant holds."""
    if old[0] is None or old[1] is None:
        return False
    if old[0] <= start <= old[1]:
        return False
    return computed != old


# ------------------------------------------------------------------ what publishing would change


def changes_against_published(session: Session, draft: Plan | None, tz: str) -> list[dict]:
    """What publishing this draft would change for merchants already told a window:
    another technician, another window (they get a text) or left out of the day."""
    if draft is None or draft.status != "draft":
        return []
    told = announced(session, draft)
    if not told:
        return []
    mine = {v.work_order_id: v for v in session.exec(select(Visit).where(Visit.plan_id == draft.id)).all()}
    wo_ids = list(told)
    wos = {w.id: w for w in session.exec(select(WorkOrder).where(WorkOrder.id.in_(wo_ids))).all()}
    merchants = {m.id: m for m in session.exec(select(Merchant).where(
        Merchant.id.in_([w.merchant_id for w in wos.values()] or [-1]))).all()}
    tech_ids = {v.technician_id for v in told.values()} | {v.technician_id for v in mine.values()}
    techs = {t.id: t for t in session.exec(select(Technician).where(
        Technician.id.in_(list(tech_ids) or [-1]))).all()}
    zone = ZoneInfo(tz)

    def hm(a: datetime | None, b: datetime | None) -> str:
        if a is None or b is None:
            return ""
        return f"{a.astimezone(zone):%H:%M}–{b.astimezone(zone):%H:%M}"

    moves = hand_moves(draft)
    out = []
    for wo_id, old in sorted(told.items(), key=lambda kv: wos[kv[0]].number):
        wo = wos[wo_id]
        new = mine.get(wo_id)
        item = {"work_order_id": wo_id, "number": wo.number,
                "merchant": merchants[wo.merchant_id].name if wo.merchant_id in merchants else "",
                "old_window": hm(old.notified_window_start, old.notified_window_end),
                "old_technician": techs[old.technician_id].name if old.technician_id in techs else "",
                "hand_moved": wo_id in moves}
        if new is None:
            out.append(dict(item, kind="dropped", new_window="", new_technician="", texted=False))
            continue
        window_changed = (new.window_start, new.window_end) != (old.notified_window_start,
                                                                 old.notified_window_end)
        tech_changed = new.technician_id != old.technician_id
        if not window_changed and not tech_changed:
            continue
        out.append(dict(item, kind="window" if window_changed else "technician",
                        new_window=hm(new.window_start, new.window_end),
                        new_technician=techs[new.technician_id].name if new.technician_id in techs else "",
                        texted=window_changed))
    return out
