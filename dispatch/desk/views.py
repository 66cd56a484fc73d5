"""The service agent's desk (find the merchant, record the fault, walk the checklist,
resolve or escalate) and the work-order list and detail pages. Thin: parse the form,
call dispatch.desk.service / dispatch.workorders.service /
dispatch.workorders.attachments, render."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import select

from core.api import MAX_PAGE, Page, http_status, paginate
from core.auth import STAFF, roles_required
from core.db import get_session
from core.errors import DomainError, InvalidInput
from core.models import MAX_ID, Region, Role, User
from core.timeutil import default_timezone, region_timezone, to_local, utcnow
from dispatch import words as dwords
from dispatch.desk import service as fault_svc
from dispatch.desk.api import (
    attachments_of_work_order,
    ensure_may_see_work_order,
    ensure_may_transition,
    upload_dir,
)
from dispatch.desk.catalog import CATEGORIES, SEVERITIES, SKILLS, TRIAGE_OUTCOMES, TRIAGE_STEPS
from dispatch.models import (
    Attachment,
    FaultReport,
    Merchant,
    Terminal,
    TerminalModel,
    WorkOrder,
)
from dispatch.workorders import attachments as att_svc
from dispatch.workorders import service as wo_svc
from dispatch.workorders.sla import (
    DAY_KEYS,
    business_calendar,
    opening_windows,
    sla_at_risk,
    sla_rule,
)
from inventory import words as iwords

bp = Blueprint("desk", __name__)

# The desk's words live in dispatch.words (core.words); these names stay for old callers.
STATUS_LABELS = dwords.WORK_ORDER_STATUS
FAULT_STATUS_LABELS = dwords.FAULT_STATUS
PRIORITY_LABELS = dwords.PRIORITY
KIND_LABELS = dwords.WORK_ORDER_KIND
CHANNEL_LABELS = dwords.CHANNEL
OUTCOME_LABELS = dwords.TRIAGE_OUTCOME
TIER_LABELS = dwords.SLA_TIER
GROUP_LABELS = dwords.FAULT_GROUP
ACTION_LABELS = dwords.EVENT_ACTION
DAY_LABELS = dwords.DAY
PART_LABELS = iwords.PART_KIND


@bp.app_context_processor
def _labels():
    return {"desk_labels": {
        "status": STATUS_LABELS, "fault_status": FAULT_STATUS_LABELS,
        "priority": PRIORITY_LABELS, "kind": KIND_LABELS, "channel": CHANNEL_LABELS,
        "outcome": OUTCOME_LABELS, "tier": TIER_LABELS, "group": GROUP_LABELS,
        "action": ACTION_LABELS, "severity": SEVERITIES, "skill": SKILLS, "step": TRIAGE_STEPS,
        "day": DAY_LABELS, "part": PART_LABELS,
    }, "desk_categories": CATEGORIES, "wo_title": dwords.work_order_title, "title_text": dwords.title_text,
            "wo_description": dwords.work_order_description, "event_note": dwords.event_note}


def _tz(session, region_id: int | None) -> str:
    region = session.get(Region, region_id) if region_id else None
    return region_timezone(region)


def _fmt(value, tz: str) -> str:
    local = to_local(value, tz)
    return local.strftime("%Y-%m-%d %H:%M") if local else "—"


def _actor():
    return current_user._get_current_object()


def _int_arg(value, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        abort(400)
    if not 1 <= n <= MAX_ID:
        abort(404)
    return n


# The desk forms' fields, as an error message names them.
FIELD_LABELS = {
    "merchant_id": _l("Merchant"), "terminal_id": _l("Terminal"), "category": _l("Fault category"),
    "channel": _l("Reported by"), "symptoms": _l("Symptoms"), "error_code": _l("Error code"),
    "steps": _l("Checklist"), "priority": _l("Priority"), "kind": _l("Kind"), "note": _l("Note"),
    "text": _l("Note"), "status": _l("Status"), "to_status": _l("New status"), "file": _l("Image"),
    "confirm": _l("Confirmation"), "reason": _l("Reason"),
}


def _field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field.split("[", 1)[0].split(".", 1)[0], field))


def _flash_error(exc: DomainError) -> None:
    """The service's reason, in the agent's language, after the field it is about."""
    field = exc.fields[0]["field"] if exc.fields else ""
    flash(_("%(field)s: %(reason)s", field=_field_label(field), reason=exc.message) if field
          else exc.message, "error")


# --- the agent's desk -----------------------------------------------------------------

@bp.get("/desk")
@roles_required(*STAFF)
def desk():
    session = get_session()
    q = request.args.get("q", "").replace("\x00", "")[:200].strip()
    merchants = fault_svc.search_merchants(session, q) if q else []
    terminals = {}
    for m in merchants:
        terminals[m.id] = session.exec(select(Terminal).where(Terminal.merchant_id == m.id)
                                       .order_by(Terminal.serial)).all()
    open_faults = session.exec(select(FaultReport).where(FaultReport.status == "open")
                               .order_by(FaultReport.created_at.desc()).limit(30)).all()
    merchant_names = {m.id: m.name for m in session.exec(
        select(Merchant).where(Merchant.id.in_([f.merchant_id for f in open_faults]))).all()}
    return render_template("dispatch/desk.html", q=q, merchants=merchants, terminals=terminals,
                           open_faults=open_faults, merchant_names=merchant_names,
                           fmt=lambda v: _fmt(v, default_timezone()))


@bp.get("/desk/merchants/<int:merchant_id>")
@roles_required(*STAFF)
def merchant_card(merchant_id: int):
    return _render_merchant_card(get_session(), merchant_id)


def _render_merchant_card(session, merchant_id: int, *, form=None, related=None, status: int = 200):
    """The merchant's card with the record-fault form; `form` refills what the agent
    typed when the page comes back (a warning about open faults, an error)."""
    merchant = session.get(Merchant, merchant_id) if merchant_id <= MAX_ID else None
    if merchant is None:
        abort(404)
    tz = _tz(session, merchant.region_id)
    terms = session.exec(select(Terminal).where(Terminal.merchant_id == merchant.id)
                         .order_by(Terminal.serial)).all()
    models = {m.id: m for m in session.exec(select(TerminalModel)).all()}
    open_wos = session.exec(wo_svc.work_order_query(status="open")
                            .where(WorkOrder.merchant_id == merchant.id)).all()
    faults = session.exec(select(FaultReport).where(FaultReport.merchant_id == merchant.id)
                          .order_by(FaultReport.created_at.desc()).limit(20)).all()
    groups: dict[str, list] = {}
    for c in CATEGORIES.values():
        groups.setdefault(c.group, []).append(c)
    if related is None:
        related = fault_svc.open_related(session, merchant.id)
    selected = request.args.get("terminal", type=int)
    if form is not None:
        selected = _int_or_none(form.get("terminal_id"))
    return render_template("dispatch/merchant_card.html", merchant=merchant, terminals=terms,
                           models=models, open_wos=open_wos, faults=faults, groups=groups,
                           selected_terminal=selected, form=form or {}, related=related,
                           max_bytes=att_svc.MAX_BYTES,
                           fmt=lambda v: _fmt(v, tz), day_keys=DAY_KEYS), status


def _int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@bp.post("/desk/merchants/<int:merchant_id>/faults")
@roles_required(*STAFF)
def record_fault(merchant_id: int):
    """Record a fault with the images the merchant sent, all or nothing. When the
    merchant already has a fault in triage or an open work order, the agent sees them
    first and records a new fault only by saying so."""
    session = get_session()
    form = request.form
    photos = [f for f in request.files.getlist("photos") if f and f.filename]
    try:
        terminal_id = _int_arg(form.get("terminal_id"), "terminal_id")
        if merchant_id <= MAX_ID and not form.get("confirm_new"):
            related = fault_svc.open_related(session, merchant_id, terminal_id)
            if related["faults"] or related["work_orders"]:
                return _render_merchant_card(session, merchant_id, form=form, related=related,
                                             status=409)
        fault = fault_svc.record_fault(
            session, merchant=merchant_id if merchant_id <= MAX_ID else 0,
            terminal=terminal_id, category=form.get("category", ""),
            symptoms=form.get("symptoms", "").replace("\x00", ""),
            error_code=form.get("error_code", "").replace("\x00", ""),
            channel=form.get("channel", "phone"), actor=_actor(), upload_dir=upload_dir(),
            photos=[(f.stream.read(att_svc.MAX_BYTES + 1), f.filename) for f in photos])
    except DomainError as exc:
        _flash_error(exc)
        return _render_merchant_card(session, merchant_id, form=form, status=http_status(exc))
    flash(_("Fault recorded. Walk the checklist with the merchant."), "success")
    return redirect(url_for("desk.fault_page", fault_id=fault.id))


def _fault_or_404(session, fault_id: int) -> FaultReport:
    try:
        return fault_svc.get_fault(session, fault_id)
    except DomainError:
        abort(404)


@bp.get("/desk/faults/<int:fault_id>")
@roles_required(*STAFF)
def fault_page(fault_id: int):
    session = get_session()
    fault = _fault_or_404(session, fault_id)
    merchant = session.get(Merchant, fault.merchant_id)
    terminal = session.get(Terminal, fault.terminal_id) if fault.terminal_id else None
    tz = _tz(session, merchant.region_id)
    category = CATEGORIES.get(fault.category)
    results = fault_svc.triage_results(session, fault.id)
    steps = list(category.checklist) if category else []
    steps += [c for c in results if c not in steps]
    other_steps = [c for c in TRIAGE_STEPS if c not in steps]
    atts = session.exec(select(Attachment).where(Attachment.fault_id == fault.id)
                        .order_by(Attachment.id)).all()
    plan = fault_svc.escalation_plan(session, fault) if fault.status == "open" and category else None
    existing = (wo_svc.find_open_repair(session, fault.terminal_id)
                if fault.terminal_id and fault.status == "open" else None)
    work_order = session.get(WorkOrder, fault.work_order_id) if fault.work_order_id else None
    rule = sla_rule(merchant.sla_tier, category.severity) if category else None
    return render_template("dispatch/fault.html", fault=fault, merchant=merchant,
                           terminal=terminal, category=category, steps=steps, results=results,
                           other_steps=other_steps, attachments=atts, plan=plan,
                           existing=existing, work_order=work_order, rule=rule,
                           outcomes=TRIAGE_OUTCOMES, priorities=wo_svc.PRIORITIES,
                           may_reopen=fault_svc.may_reopen(fault),
                           reopen_days=fault_svc.REOPEN_DAYS,
                           fmt=lambda v: _fmt(v, tz))


@bp.post("/desk/faults/<int:fault_id>/checklist")
@roles_required(*STAFF)
def record_checklist(fault_id: int):
    session = get_session()
    fault = _fault_or_404(session, fault_id)
    steps = []
    for code in TRIAGE_STEPS:
        outcome = request.form.get(f"outcome_{code}", "")
        if outcome:
            steps.append((code, outcome, request.form.get(f"note_{code}", "").replace("\x00", "")))
    try:
        fault_svc.record_triage(session, fault, steps, actor=_actor())
    except DomainError as exc:
        _flash_error(exc)
    else:
        if any(o == "fixed" for _c, o, _n in steps):
            flash(_("A step fixed it: close the fault as resolved remotely."), "success")
        else:
            flash(_("Checklist saved."), "success")
    return redirect(url_for("desk.fault_page", fault_id=fault_id))


@bp.post("/desk/faults/<int:fault_id>/resolve")
@roles_required(*STAFF)
def resolve_fault(fault_id: int):
    session = get_session()
    fault = _fault_or_404(session, fault_id)
    try:
        if not request.form.get("confirm"):
            raise InvalidInput(_("Confirm that the terminal works again."), field="confirm")
        fault_svc.resolve_remotely(session, fault, request.form.get("note", "").replace("\x00", ""),
                                   actor=_actor())
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash(_("Fault closed as resolved remotely."), "success")
    return redirect(url_for("desk.fault_page", fault_id=fault_id))


@bp.post("/desk/faults/<int:fault_id>/reopen")
@roles_required(*STAFF)
def reopen_fault(fault_id: int):
    session = get_session()
    fault = _fault_or_404(session, fault_id)
    try:
        fault_svc.reopen(session, fault, request.form.get("reason", "").replace("\x00", ""),
                         actor=_actor())
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash(_("Fault reopened: walk the checklist again."), "success")
    return redirect(url_for("desk.fault_page", fault_id=fault_id))


@bp.post("/desk/faults/<int:fault_id>/escalate")
@roles_required(*STAFF)
def escalate_fault(fault_id: int):
    session = get_session()
    fault = _fault_or_404(session, fault_id)
    try:
        wo = fault_svc.escalate(session, fault, actor=_actor(),
                                priority=request.form.get("priority") or None,
                                note=request.form.get("note", "").replace("\x00", ""),
                                kind=request.form.get("kind") or "repair")
    except DomainError as exc:
        _flash_error(exc)
        return redirect(url_for("desk.fault_page", fault_id=fault_id))
    flash(_("Escalated to work order %(number)s.", number=wo.number), "success")
    return redirect(url_for("desk.work_order_page", work_order_id=wo.id))


@bp.post("/desk/faults/<int:fault_id>/attachments")
@roles_required(*STAFF)
def attach_to_fault(fault_id: int):
    session = get_session()
    _attach_uploaded_image(session, fault=_fault_or_404(session, fault_id))
    return redirect(url_for("desk.fault_page", fault_id=fault_id))


def _attach_uploaded_image(session, **target) -> None:
    """Store the form's image on a fault or work order and tell the agent how it went."""
    f = request.files.get("file")
    try:
        if f is None or not f.filename:
            raise InvalidInput(_("Choose an image to upload."), field="file")
        att_svc.store_attachment(session, data=f.stream.read(att_svc.MAX_BYTES + 1),
                                 filename=f.filename, upload_dir=upload_dir(), actor=_actor(),
                                 **target)
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash(_("Image attached."), "success")


# --- work orders ----------------------------------------------------------------------

@bp.get("/work-orders")
@roles_required(*STAFF)
def work_orders():
    session = get_session()
    args = request.args
    status = args.get("status", "open")
    status = status if status in ("", "open", *wo_svc.STATUSES) else "open"
    priority = args.get("priority", "") if args.get("priority", "") in wo_svc.PRIORITIES else ""
    kind = args.get("kind", "") if args.get("kind", "") in wo_svc.KINDS else ""
    region_id = args.get("region_id", type=int)
    if region_id is not None and not 1 <= region_id <= MAX_ID:
        region_id = None
    at_risk = args.get("at_risk") in ("1", "true", "on")
    q = args.get("q", "").replace("\x00", "")[:200].strip()
    # an HTML list reads a page number out of bounds as the nearest bound (it comes from
    # a link, not a typed request): no error page
    page = Page(page=max(1, min(args.get("page", 1, type=int) or 1, MAX_PAGE)))
    stmt = wo_svc.work_order_query(status=status or None, region_id=region_id,
                                   priority=priority or None, kind=kind or None,
                                   at_risk=at_risk, q=q)
    result = paginate(session, stmt, page, lambda w: w)
    rows, total = result["items"], result["total"]
    regions = session.exec(select(Region).order_by(Region.code)).all()
    region_tz = {r.id: r.timezone for r in regions}
    merchants = {m.id: m for m in session.exec(
        select(Merchant).where(Merchant.id.in_([w.merchant_id for w in rows]))).all()}
    now = utcnow()
    return render_template(
        "dispatch/work_orders.html", rows=rows, total=total, page=page.page,
        pages=max(1, result["pages"]), regions=regions, merchants=merchants,
        filters={"status": status, "priority": priority, "kind": kind, "region_id": region_id,
                 "at_risk": at_risk, "q": q},
        statuses=wo_svc.STATUSES, priorities=wo_svc.PRIORITIES, kinds=wo_svc.KINDS,
        fmt=lambda v, rid: _fmt(v, region_tz.get(rid) or default_timezone()),
        page_url=lambda n: url_for("desk.work_orders", **{
            **{k: v for k, v in request.args.items() if k != "page"}, "page": n}),
        at_risk_of=lambda w: w.status in wo_svc.STATUSES and w.status not in (
            "completed", "cancelled") and sla_at_risk(w.sla_due_at, now),
        overdue_of=lambda w: w.sla_due_at is not None and w.sla_due_at < now and w.status not in (
            "completed", "cancelled"))


def _wo_or_404(session, work_order_id: int) -> WorkOrder:
    try:
        return wo_svc.get_work_order(session, work_order_id)
    except DomainError:
        abort(404)


@bp.get("/work-orders/<int:work_order_id>")
@roles_required(*STAFF)
def work_order_page(work_order_id: int):
    session = get_session()
    wo = _wo_or_404(session, work_order_id)
    merchant = session.get(Merchant, wo.merchant_id)
    terminal = session.get(Terminal, wo.terminal_id) if wo.terminal_id else None
    model = session.get(TerminalModel, terminal.model_id) if terminal else None
    tz = _tz(session, wo.region_id)
    events = wo_svc.timeline(session, wo.id)
    users = {u.id: u for u in session.exec(select(User).where(
        User.id.in_([e.actor_user_id for e in events if e.actor_user_id]))).all()}
    faults = fault_svc.faults_for_work_order(session, wo.id)
    triage = {f.id: fault_svc.triage_results(session, f.id) for f in faults}
    now = utcnow()
    windows = opening_windows(business_calendar(merchant) if merchant.opening_hours else {},
                              tz, now, now + timedelta(days=3)) if merchant.opening_hours else []
    may_transition = current_user.role in (Role.ADMIN, Role.DISPATCHER)
    return render_template(
        "dispatch/work_order.html", wo=wo, merchant=merchant, terminal=terminal, model=model,
        events=events, users=users, faults=faults, triage=triage,
        attachments=attachments_of_work_order(session, wo.id), windows=windows,
        next_statuses=wo_svc.allowed_next(wo.status) if may_transition else [],
        fmt=lambda v: _fmt(v, tz), tz=tz, day_keys=DAY_KEYS,
        at_risk=wo.status not in ("completed", "cancelled") and sla_at_risk(wo.sla_due_at, now),
        overdue=wo.sla_due_at is not None and wo.sla_due_at < now
        and wo.status not in ("completed", "cancelled"))


@bp.post("/work-orders/<int:work_order_id>/transition")
@roles_required(Role.DISPATCHER)
def transition_work_order(work_order_id: int):
    session = get_session()
    _wo_or_404(session, work_order_id)
    to_status = request.form.get("to_status", "")
    user = current_user._get_current_object()
    try:
        wo_svc.change_status(
            session, work_order_id, to_status, actor=_actor(),
            note=request.form.get("note", "").replace("\x00", "")[:4000],
            permit=lambda wo: ensure_may_transition(session, user, wo, to_status))
    except DomainError as exc:
        _flash_error(exc)
    else:
        flash(_("Status changed to %(status)s.", status=STATUS_LABELS.get(to_status, to_status)),
              "success")
    return redirect(url_for("desk.work_order_page", work_order_id=work_order_id))


@bp.post("/work-orders/<int:work_order_id>/notes")
@roles_required(*STAFF)
def note_work_order(work_order_id: int):
    session = get_session()
    wo = _wo_or_404(session, work_order_id)
    try:
        wo_svc.add_note(session, wo, request.form.get("text", "").replace("\x00", ""),
                        actor=_actor())
    except DomainError as exc:
        _flash_error(exc)
    return redirect(url_for("desk.work_order_page", work_order_id=work_order_id) + "#timeline")


@bp.post("/work-orders/<int:work_order_id>/attachments")
@roles_required(*STAFF)
def attach_to_work_order(work_order_id: int):
    session = get_session()
    _attach_uploaded_image(session, work_order=_wo_or_404(session, work_order_id))
    return redirect(url_for("desk.work_order_page", work_order_id=work_order_id))


# --- files ----------------------------------------------------------------------------

@bp.get("/attachments/<int:attachment_id>")
@roles_required(*STAFF, Role.TECHNICIAN)
def attachment_file(attachment_id: int):
    """Images are only served to signed-in staff (and to a technician working on the
    work order), never from a public static path."""
    session = get_session()
    att = session.get(Attachment, attachment_id) if attachment_id <= MAX_ID else None
    if att is None:
        abort(404)
    if current_user.role == Role.TECHNICIAN:
        wo_id = att.work_order_id
        if wo_id is None and att.fault_id:
            fault = session.get(FaultReport, att.fault_id)
            wo_id = fault.work_order_id if fault else None
        wo = session.get(WorkOrder, wo_id) if wo_id else None
        if wo is None:
            abort(403)
        try:
            ensure_may_see_work_order(session, current_user, wo)
        except DomainError:
            abort(403)
    try:
        path = att_svc.attachment_path(upload_dir(), att)
    except DomainError:
        abort(404)
    resp = send_file(path, mimetype=att.content_type, download_name=att.filename,
                     as_attachment=request.args.get("download") == "1", max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'"
    return resp
