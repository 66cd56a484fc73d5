"""Dispatch's vocabularies (core.words): work orders, faults, triage, skills, visits,
backups, plans and the timeline, each code with its label in the reader's language.

Imported for its registrations by dispatch's pages; the dicts stay importable under
their old names (desk.STATUS_LABELS ...) for code that used them."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core.i18n import msgid
from core.words import register, sentence, word
from dispatch.desk.catalog import CATEGORIES, SEVERITIES, SKILLS, TRIAGE_STEPS

WORK_ORDER_STATUS = {
    "new": _l("New"), "ready": _l("Ready"), "planned": _l("Planned"),
    "dispatched": _l("Dispatched"), "en_route": _l("En route"), "on_site": _l("On site"),
    "completed": _l("Completed"), "needs_follow_up": _l("Needs follow-up"),
    "cancelled": _l("Cancelled"), "open": _l("Open"),
}
FAULT_STATUS = {"open": _l("In triage"), "resolved_remotely": _l("Resolved remotely"),
                "escalated": _l("Escalated")}
PRIORITY = {"critical": _l("Critical"), "high": _l("High"), "normal": _l("Normal"),
            "low": _l("Low")}
WORK_ORDER_KIND = {"repair": _l("Repair"), "preventive": _l("Preventive maintenance"),
                   "install": _l("Installation"), "backup_swap": _l("Backup terminal swap"),
                   "retrieval": _l("Retrieval")}
CHANNEL = {"phone": _l("Phone"), "sms": _l("SMS"), "web": _l("Web"), "email": _l("Email")}
TRIAGE_OUTCOME = {"fixed": _l("Fixed it"), "not_fixed": _l("Did not help"),
                  "skipped": _l("Skipped"), "not_applicable": _l("Not applicable")}
SLA_TIER = {"platinum": _l("Platinum"), "gold": _l("Gold"), "standard": _l("Standard")}
FAULT_GROUP = {"hardware": _l("Hardware"), "software": _l("Software"), "network": _l("Network"),
               "account": _l("Account"), "environment": _l("Power and environment")}
EVENT_ACTION = {
    "created": _l("Created"), "transition": _l("Status changed"), "note": _l("Note"),
    "duplicate_merged": _l("Another report joined"),
    "backup_eligible": _l("Backup terminal: eligible"),
    "backup_offered": _l("Backup terminal offered by SMS"),
    "backup_loaner_reserved": _l("Loaner terminal reserved"),
    "backup_accepted": _l("Backup terminal accepted"),
    "backup_declined": _l("Backup terminal declined"),
    "backup_cancelled": _l("Backup terminal cancelled"),
    "backup_delivered": _l("Loaner terminal delivered"),
    "backup_returned": _l("Terminal swapped back"),
    "photo_added": _l("Photo added"),
    "signoff": _l("Merchant's sign-off"),
    "rating": _l("Merchant's rating"),
    "rating_followed_up": _l("Low rating followed up"),
    "reply_handled": _l("Merchant's reply handled"),
}
# Who did it, when no person did (the event's actor label).
EVENT_ACTOR = {"sms": _l("SMS"), "rule": _l("Automatic rule"), "system": _l("System"),
               "pm-scheduler": _l("Preventive maintenance scheduler"),
               "cli": _l("Command line")}
DAY = {"mon": _l("Mon"), "tue": _l("Tue"), "wed": _l("Wed"), "thu": _l("Thu"),
       "fri": _l("Fri"), "sat": _l("Sat"), "sun": _l("Sun")}
BACKUP_STATUS = {
    "": _l("None"),
    "eligible": _l("Eligible"),
    "offered": _l("Offered, waiting for the merchant"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "delivered": _l("Loaner delivered"),
    "returned": _l("Swapped back"),
    "cancelled": _l("Cancelled"),
}
BACKUP_WHERE = {
    "pool": _l("In the pool"),
    "reserved": _l("Reserved for a visit"),
    "loaned": _l("At a merchant"),
    "in_repair": _l("In repair"),
    "retired": _l("Retired"),
    "installed": _l("Installed"),
}
TERMINAL_STATUS = {
    "installed": _l("Installed"), "pool": _l("In the pool"), "loaned": _l("At a merchant"),
    "in_repair": _l("In repair"), "retired": _l("Retired"),
}
PLAN_STATUS = {"draft": _l("Draft"), "published": _l("Published"),
               "superseded": _l("Superseded")}
PLAN_JOB_STATUS = {"idle": _l("Idle"), "queued": _l("Queued"), "running": _l("Running"),
                   "done": _l("Done"), "failed": _l("Failed"), "cancelled": _l("Cancelled")}

# Sentences the system writes into a work order's history (see core.words.sentence):
# the code and its parameters are kept in the event's data, the English in its note.
EVENT_NOTE = {
    "plan": _l("Plan %(plan)s"),
    "left_out_of_plan": _l("Left out of plan %(plan)s"),
    "backup_no_loaner_yet": _l("Backup accepted, but no loaner terminal is free yet."),
    "work_order_cancelled": _l("The work order was cancelled."),
    "work_order_completed": _l("The work order was completed."),
    "preventive_due": _l("Plan %(plan)s, due %(due)s"),
    "pm_joined": _l("Preventive maintenance '%(plan)s' for terminal %(terminal)s (due %(due)s) "
                    "joined this visit: +%(minutes)s min"),
    "pm_joined_covered": _l("Preventive maintenance '%(plan)s' for terminal %(terminal)s "
                            "(due %(due)s) joined this visit (already on its checklist)"),
    "rated": _l("The merchant rated the visit %(score)s/5"),
    "not_done": _l("Not completed: %(reason)s"),
    "not_done_note": _l("Not completed: %(reason)s. %(note)s"),
    "report_joined": _l("Another report for this terminal joined this open work order"),
    "report_joined_title": _l("Another report for this terminal joined this open work order: "
                              "%(title)s"),
    "sms_from_merchant": _l("SMS from the merchant (%(phone)s): %(body)s"),
    "sms_not_queued": _l("The SMS “%(template)s” to the merchant was not queued."),
    "sla_passed": _l("SLA deadline passed while the work order is still open"),
    "sla_soon": _l("SLA deadline in %(minutes)s min and the work order is still open"),
    "preventive_window_closing": _l("The preventive window is closing: this visit is now required"),
}
# Why a work order gets (or does not get) a backup terminal, as the timeline and the
# backups page say it.
BACKUP_ELIGIBILITY = {
    "not_repair": _l("Only repairs get a backup terminal."),
    "closed": _l("The work order is closed."),
    "no_terminal": _l("The work order names no terminal."),
    "is_loaner": _l("The terminal is itself a loaner."),
    "not_down": _l("The terminal still works."),
    "tier": _l("This merchant tier always gets a backup."),
    "unknown": _l("No restoration time is known yet."),
    "overdue": _l("The repair is late: restoration was expected %(h)s hours ago."),
    "over": _l("Restoration expected in %(h)s hours."),
    "within": _l("Restoration expected in %(h)s hours."),
}
# The lines of a work order's description written at escalation.
DESCRIPTION_LINE = {
    "error_code": _l("Error code: %(code)s"),
    "remote_checks": _l("Remote checks: %(checks)s"),
}


def _visit_status():
    from dispatch.field.service import VISIT_STATUSES

    return VISIT_STATUSES


def _resolution_code():
    from dispatch.field.service import RESOLUTION_CODES

    return RESOLUTION_CODES


def _not_done_reason():
    from dispatch.field.service import NOT_DONE_REASONS

    return NOT_DONE_REASONS


def _no_signature_reason():
    from dispatch.field.signoff import NO_SIGNATURE_REASONS

    return NO_SIGNATURE_REASONS


def _unassigned_reason():
    from dispatch.planning.problem import REASON_LABELS

    return REASON_LABELS


def _violation():
    from dispatch.planning.retiming import VIOLATION_LABELS

    return VIOLATION_LABELS


register("work_order_status", WORK_ORDER_STATUS)
register("fault_status", FAULT_STATUS)
register("priority", PRIORITY)
register("work_order_kind", WORK_ORDER_KIND)
register("channel", CHANNEL)
register("triage_outcome", TRIAGE_OUTCOME)
register("sla_tier", SLA_TIER)
register("fault_group", FAULT_GROUP)
register("event_action", EVENT_ACTION)
register("event_actor", EVENT_ACTOR)
register("day", DAY)
register("severity", SEVERITIES)
register("skill", SKILLS)
register("triage_step", TRIAGE_STEPS)
register("fault_category", {code: c.name for code, c in CATEGORIES.items()})
register("backup_status", BACKUP_STATUS)
register("backup_where", BACKUP_WHERE)
register("terminal_status", TERMINAL_STATUS)
register("plan_status", PLAN_STATUS)
register("plan_job_status", PLAN_JOB_STATUS)
register("visit_status", _visit_status)
register("resolution_code", _resolution_code)
register("not_done_reason", _not_done_reason)
register("no_signature_reason", _no_signature_reason)
register("unassigned_reason", _unassigned_reason)
register("violation", _violation)
register("event_note", EVENT_NOTE, sentences=True)
register("backup_eligibility", BACKUP_ELIGIBILITY, sentences=True)
register("description_line", DESCRIPTION_LINE, sentences=True)


PREVENTIVE_TITLE_PREFIX = "Preventive maintenance: "


def work_order_title(wo) -> str:
    """A work order's title in the reader's language (see `title_text`)."""
    return title_text(wo.title, wo.kind)


def title_text(title: str | None, kind: str = "") -> str:
    """A work order's title in the reader's language. Escalation stores the fault
    category's English name (a msgid), preventive generation "Preventive maintenance:
    <plan name>"; anything else (typed by a person) is shown as written."""
    from flask_babel import gettext

    title = (title or "").strip()
    if not title:
        return word("work_order_kind", kind) if kind else ""
    if title.startswith(PREVENTIVE_TITLE_PREFIX):
        return gettext("Preventive maintenance: %(plan)s",
                       plan=title[len(PREVENTIVE_TITLE_PREFIX):])
    return gettext(title)


def said(kind: str, code: str, **params) -> dict:
    """A system-written sentence as data for an event's `data` (``data["say"]``): the
    timeline says it in the reader's language; the English stays in the note."""
    return {"say": {"kind": kind, "code": code, "params": params}}


def event_note(event) -> str:
    """An event's note as the reader reads it: a system-written sentence kept as data
    is said in the reader's language; a person's note is shown as they wrote it."""
    say = (event.data or {}).get("say") if isinstance(event.data, dict) else None
    if isinstance(say, dict) and say.get("code"):
        return sentence(say.get("kind", "event_note"), say["code"], say.get("params") or {},
                        default=event.note or "")
    return event.note or ""


def keep_description_as_data(session, work_order, **parts) -> None:
    """Keep what the system wrote into a new work order's description as data on its
    "created" event (``data["description"]``), so the page says it in the reader's
    language; the English text stays in `WorkOrder.description` for the API. A work
    order that was not created just now (a report joined an open one) is left alone."""
    from sqlmodel import select

    from dispatch.models import WorkOrderEvent

    event = session.exec(select(WorkOrderEvent).where(
        WorkOrderEvent.work_order_id == work_order.id, WorkOrderEvent.action == "created")
        .order_by(WorkOrderEvent.id)).first()
    if event is None or (event.data or {}).get("description"):
        return
    event.data = {**(event.data or {}), "description": parts}
    session.add(event)


def work_order_description(work_order, events=()) -> str:
    """The work order's description in the reader's language: from the data kept on
    its "created" event when there is some, else the text as stored."""
    parts = None
    for e in events:
        if e.action == "created" and isinstance(e.data, dict) and e.data.get("description"):
            parts = e.data["description"]
            break
    if not isinstance(parts, dict):
        return work_order.description or ""
    lines = []
    if parts.get("symptoms"):
        lines.append(str(parts["symptoms"]))
    if parts.get("error_code"):
        lines.append(sentence("description_line", "error_code", {"code": parts["error_code"]}))
    checks = parts.get("checks") or []
    if checks:
        said_checks = ", ".join(f"{word('triage_step', c)}: {word('triage_outcome', o)}"
                                for c, o in checks)
        lines.append(sentence("description_line", "remote_checks", {"checks": said_checks}))
    if parts.get("plan"):
        lines.append(sentence("event_note", "preventive_due",
                              {"plan": parts["plan"], "due": parts.get("due", "")}))
    if parts.get("note"):
        lines.append(str(parts["note"]))
    return "\n".join(lines) if lines else (work_order.description or "")


def description_of(session, work_order) -> str:
    """`work_order_description` reading the work order's "created" event itself."""
    from sqlmodel import select

    from dispatch.models import WorkOrderEvent

    events = session.exec(select(WorkOrderEvent).where(
        WorkOrderEvent.work_order_id == work_order.id, WorkOrderEvent.action == "created")).all()
    return work_order_description(work_order, events)


# Catalog phrases stored as text: the demo and quick intake keep a category's name or a
# typical symptom (the English msgid) as a fault's symptoms. Said in the reader's
# language when shown; anything else a merchant said stays as written.
register("catalog_phrase", lambda: {msgid(s): s for c in CATEGORIES.values()
                                    for s in (c.name, *c.symptoms)}, sentences=True)
