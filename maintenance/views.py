"""Pages: preventive plans (admin), the per-terminal archive, analytics with charts
and CSV export. Views parse, call a service, render."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, format_percent, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import ValidationError
from sqlmodel import select

from core.api import validation_error_from_pydantic
from core.auth import roles_required
from core.db import get_session
from core.errors import DomainError, InvalidInput
from core.models import Region, Role
from core.timeutil import to_local, utcnow
from core.words import has_word, word
from dispatch.desk.catalog import CATEGORIES, SKILLS
from dispatch.models import Merchant, Terminal, TerminalModel
from maintenance import analytics
from maintenance import words as _words  # noqa: F401  (registers maintenance's vocabularies)
from maintenance.archive import terminal_charts, terminal_summary, terminal_timeline
from maintenance.catalog import PM_CHECKLIST, TIERS
from maintenance.models import PMOccurrence, PMPlan
from maintenance.plans import PlanInput, create_plan, plan_as_dict, preview_plan, update_plan
from maintenance.recurrence import (
    LAST_DAY,
    WEEKDAYS,
    Recurrence,
    date_in_words,
    describe_interval,
    describe_rule,
    picker_from_rule,
    picker_rule,
    rule_summary,
)

bp = Blueprint("maintenance", __name__, url_prefix="/maintenance")

ARCHIVE_ROLES = (Role.DISPATCHER, Role.AGENT)
ANALYTICS_ROLES = (Role.DISPATCHER,)


def _local_today() -> date:
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo(current_app.config["FIXROUTE"].default_timezone)).date()


def _split(text: str) -> list[str]:
    return [p.strip() for p in (text or "").replace("\n", ",").replace(";", ",").split(",") if p.strip()]


def _form_date(form, name: str) -> date | None:
    try:
        return date.fromisoformat(form.get(name) or "")
    except ValueError:
        return None


def _picker_values(form) -> Recurrence:
    """The picker's fields; a value that is not a number is a field error in words."""
    raw_every = str(form.get("every") or "1").strip()
    if not raw_every.isdigit():
        raise InvalidInput(_l("must be a whole number"), field="every")
    raw_day = str(form.get("monthday") or "").strip()
    try:
        monthday = int(raw_day) if raw_day else None
    except ValueError:
        raise InvalidInput(_l("choose a day of the month from 1 to 31, or the last day"),
                           field="monthday") from None
    weekdays = tuple(d for d in form.getlist("weekdays") if d in WEEKDAYS)
    return Recurrence(form.get("freq", "monthly"), int(raw_every), weekdays, monthday)


def _picker_text(form) -> str:
    """The RRULE the picker's fields write (anchored on the start date), or "" while the
    start date is missing (its own field error says so)."""
    active_from = _form_date(form, "active_from")
    if active_from is None:
        return ""
    return picker_rule(_picker_values(form), active_from)  # PickerError names its field


def _kind(form) -> str:
    """Which recurrence the form uses; a post without the choice but with a rule (a
    form made before the picker) keeps its rule."""
    kind = form.get("recurrence")
    if kind in ("picker", "rrule", "interval"):
        return kind
    return "rrule" if form.get("rrule") and not form.get("freq") else "picker"


def _rule_text(form) -> str | None:
    kind = _kind(form)
    if kind == "picker":
        return _picker_text(form)
    if kind == "rrule":
        return form.get("rrule", "")
    return None


def _form_to_input(form) -> PlanInput:
    kind = _kind(form)
    raw = {
        "name": form.get("name", ""),
        "scope": {"models": form.getlist("scope_models"), "regions": form.getlist("scope_regions"),
                  "tiers": form.getlist("scope_tiers"), "terminals": _split(form.get("scope_terminals", ""))},
        "rrule": _rule_text(form),
        "interval_days": (form.get("interval_days") or None) if kind == "interval" else None,
        "due_window_days": form.get("due_window_days") or 14,
        "checklist": form.getlist("checklist"),
        "skill": form.get("skill", "preventive"),
        "service_minutes": form.get("service_minutes") or 30,
        "active_from": form.get("active_from") or None,
        "active_to": form.get("active_to") or None,
        "active": form.get("active") == "on",
    }
    try:
        return PlanInput.model_validate(raw)
    except ValidationError as exc:
        raise validation_error_from_pydantic(exc) from None


def _form_values(form=None, plan: PMPlan | None = None) -> dict:
    if form is not None:
        return {"name": form.get("name", ""), "recurrence": _kind(form),
                "freq": form.get("freq", "monthly"), "every": form.get("every", "1"),
                "weekdays": form.getlist("weekdays"), "monthday": form.get("monthday", ""),
                "rrule": form.get("rrule", ""), "interval_days": form.get("interval_days", ""),
                "due_window_days": form.get("due_window_days", ""),
                "checklist": form.getlist("checklist"), "skill": form.get("skill", "preventive"),
                "service_minutes": form.get("service_minutes", ""),
                "active_from": form.get("active_from", ""), "active_to": form.get("active_to", ""),
                "active": form.get("active") == "on", "scope_models": form.getlist("scope_models"),
                "scope_regions": form.getlist("scope_regions"), "scope_tiers": form.getlist("scope_tiers"),
                "scope_terminals": form.get("scope_terminals", "")}
    picker = {"freq": "monthly", "every": 3, "weekdays": [], "monthday": ""}
    if plan is not None:
        d = plan_as_dict(plan)
        scope = d["scope"]
        recurrence = "interval"
        if d["rrule"]:
            rec = picker_from_rule(d["rrule"])
            recurrence = "rrule"
            if rec is not None and rec.picker_can_edit(plan.active_from):
                recurrence = "picker"
                picker = {"freq": rec.freq, "every": rec.every, "weekdays": list(rec.weekdays),
                          "monthday": "" if rec.monthday is None else str(rec.monthday)}
        return {"name": d["name"], "recurrence": recurrence, **picker,
                "rrule": d["rrule"] or "", "interval_days": d["interval_days"] or "",
                "due_window_days": d["due_window_days"], "checklist": d["checklist"],
                "skill": d["skill"], "service_minutes": d["service_minutes"],
                "active_from": d["active_from"], "active_to": d["active_to"] or "",
                "active": d["active"], "scope_models": scope.get("models", []),
                "scope_regions": scope.get("regions", []), "scope_tiers": scope.get("tiers", []),
                "scope_terminals": ", ".join(scope.get("terminals", []))}
    # Why the month day is left to the start date: "every 2 months" made on 27 November
    # then starts on 27 November (the old default BYMONTHDAY=1 first fell on 1 January).
    return {"name": "", "recurrence": "picker", **picker, "rrule": "",
            "interval_days": "", "due_window_days": 14, "checklist": list(PM_CHECKLIST),
            "skill": "preventive", "service_minutes": 30, "active_from": _local_today().isoformat(),
            "active_to": "", "active": True, "scope_models": [], "scope_regions": [],
            "scope_tiers": [], "scope_terminals": ""}


def recurrence_summary(values) -> dict:
    """What the form shows beside the picker, from its current values (a form, the
    preview request's query or a saved plan's values): the rule in words, the first
    date and the next five, each date in words; or why there are none."""
    kind = _kind(values)
    if kind == "interval":
        raw = str(values.get("interval_days") or "").strip()
        if not raw.isdigit() or int(raw) < 1:
            return {"error": _("Give the number of days between services.")}
        return {"words": describe_interval(int(raw))}
    active_from = _form_date(values, "active_from")
    if active_from is None:
        return {"error": _("Give the start date (active from) to see the dates.")}
    try:
        text = _rule_text(values)
        if not (text or "").strip():
            return {"error": _("Give a recurrence rule.")}
        got = rule_summary(text, active_from, _local_today(), _form_date(values, "active_to"))
    except InvalidInput as exc:  # RuleError too: the rule's own reason, without a field
        return {"error": exc.fields[0]["reason"] if exc.fields else exc.message}
    return {"rule": got["rule"], "words": got["words"],
            "first": {"iso": got["first"].isoformat(), "words": date_in_words(got["first"])},
            "dates": [{"iso": d.isoformat(), "words": date_in_words(d)} for d in got["dates"]]}


class _Values(dict):
    """A dict of form values read like a form (get/getlist)."""

    def getlist(self, key: str) -> list:
        value = self.get(key) or []
        return list(value) if isinstance(value, (list, tuple)) else [value]


def _weekday_choices() -> list[tuple[str, str]]:
    from babel import Locale
    from flask_babel import get_locale

    locale = get_locale() or Locale.parse("en")
    return [(code, locale.days["format"]["wide"][i]) for i, code in enumerate(WEEKDAYS)]


def _form_context() -> dict:
    session = get_session()
    return {"models": session.exec(select(TerminalModel).order_by(TerminalModel.code)).all(),
            "regions": session.exec(select(Region).order_by(Region.code)).all(),
            "tiers": TIERS, "skills": SKILLS, "checklist_items": PM_CHECKLIST,
            "weekday_choices": _weekday_choices(), "last_day": LAST_DAY}


def _plan_form(plan: PMPlan | None):
    session = get_session()
    if request.method == "GET":
        values = _form_values(plan=plan)
        return render_template("maintenance/plan_form.html", plan=plan, values=values,
                               errors={}, preview=None, summary=recurrence_summary(_Values(values)),
                               **_form_context())
    values = _form_values(form=request.form)
    summary = recurrence_summary(request.form)
    action = request.form.get("action", "save")
    try:
        data = _form_to_input(request.form)
        if action == "preview":
            preview = preview_plan(session, data, _local_today())
            return render_template("maintenance/plan_form.html", plan=plan, values=values, errors={},
                                   preview=preview, summary=summary, **_form_context())
        if plan is None:
            saved = create_plan(session, data, current_user)
            flash(_("Plan saved."), "success")
        else:
            saved = update_plan(session, plan.id, data, current_user)
            flash(_("Plan updated."), "success")
        return redirect(url_for("maintenance.plan_detail", plan_id=saved.id))
    except InvalidInput as exc:
        errors = {f["field"]: f["reason"] for f in exc.fields}
        return render_template("maintenance/plan_form.html", plan=plan, values=values, errors=errors,
                               preview=None, summary=summary, **_form_context()), 422


@bp.get("/plans")
@roles_required(Role.DISPATCHER)
def plans():
    session = get_session()
    rows = session.exec(select(PMPlan).order_by(PMPlan.active.desc(), PMPlan.name)).all()
    counts = dict(session.exec(select(PMOccurrence.plan_id, _count()).group_by(PMOccurrence.plan_id)).all())
    return render_template("maintenance/plans.html", plans=rows, counts=counts,
                           rule_words=lambda plan: describe_rule(plan.rrule, plan.active_from))


def _count():
    from sqlalchemy import func

    return func.count(PMOccurrence.id)


@bp.route("/plans/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def plan_new():
    return _plan_form(None)


@bp.get("/plans/recurrence-preview")
@roles_required(Role.ADMIN)
def recurrence_preview():
    """The picker's words and dates as an HTML fragment, for the form's script to
    swap in as the admin changes the picker (the form shows the same without script)."""
    return render_template("maintenance/_recurrence.html", summary=recurrence_summary(request.args))


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def plan_edit(plan_id: int):
    plan = get_session().get(PMPlan, plan_id)
    if plan is None:
        abort(404)
    return _plan_form(plan)


@bp.get("/plans/<int:plan_id>")
@roles_required(Role.DISPATCHER)
def plan_detail(plan_id: int):
    session = get_session()
    plan = session.get(PMPlan, plan_id)
    if plan is None:
        abort(404)
    data = PlanInput.model_validate({**plan_as_dict(plan), "scope": plan.scope or {}})
    try:
        preview = preview_plan(session, data, _local_today())
    except DomainError:
        preview = None
    occ = session.exec(select(PMOccurrence, Terminal).join(Terminal, Terminal.id == PMOccurrence.terminal_id)
                       .where(PMOccurrence.plan_id == plan_id)
                       .order_by(PMOccurrence.due_date.desc(), PMOccurrence.id.desc()).limit(50)).all()
    return render_template("maintenance/plan_detail.html", plan=plan, preview=preview, occurrences=occ,
                           checklist_items=PM_CHECKLIST, skills=SKILLS,
                           rule_words=describe_rule(plan.rrule, plan.active_from) if plan.rrule else "")


@bp.get("/terminals")
@roles_required(*ARCHIVE_ROLES)
def terminals():
    q = (request.args.get("q") or "").strip()
    rows = []
    if q:
        session = get_session()
        from core.search import contains

        rows = session.exec(
            select(Terminal, Merchant, TerminalModel)
            .join(Merchant, Merchant.id == Terminal.merchant_id, isouter=True)
            .join(TerminalModel, TerminalModel.id == Terminal.model_id)
            .where(contains(Terminal.serial, q) | contains(Merchant.name, q)
                   | contains(Merchant.code, q))
            .order_by(Terminal.serial).limit(50)).all()
        if len(rows) == 1:
            return redirect(url_for("maintenance.terminal_history", serial=rows[0][0].serial))
    return render_template("maintenance/terminals.html", q=q, rows=rows)


@bp.get("/terminals/<serial>")
@roles_required(*ARCHIVE_ROLES)
def terminal_history(serial: str):
    session = get_session()
    terminal = session.exec(select(Terminal).where(Terminal.serial == serial)).first()
    if terminal is None:
        abort(404)
    merchant = session.get(Merchant, terminal.merchant_id) if terminal.merchant_id else None
    region = session.get(Region, merchant.region_id) if merchant else None
    entries = terminal_timeline(session, terminal)
    tz = region.timezone if region else current_app.config["FIXROUTE"].default_timezone
    return render_template("maintenance/terminal.html", terminal=terminal, merchant=merchant,
                           model=session.get(TerminalModel, terminal.model_id), entries=entries,
                           summary=terminal_summary(entries),
                           charts=_archive_charts(terminal_charts(entries, tz, to_local(utcnow(), tz).date())),
                           local=lambda at: to_local(at, tz).strftime("%Y-%m-%d %H:%M") if at else "",
                           categories=CATEGORIES, checklist_items=PM_CHECKLIST)


def _archive_charts(series: dict) -> dict:
    """Chart items (label, value, text, href) in the reader's language."""
    from babel.dates import format_skeleton
    from flask_babel import get_locale

    zh = str(get_locale()) == "zh"
    return {
        "failures": [{"label": format_skeleton("yMMM", r["month"], locale=get_locale()),
                      "short": format_skeleton("MMM", r["month"], locale=get_locale()),
                      "sub": str(r["month"].year) if i == 0 or r["month"].month == 1 else "",
                      "value": r["value"], "text": str(r["value"])}
                     for i, r in enumerate(series["failures"])],
        "parts": [{"label": f"{(r['part_zh'] if zh and r['part_zh'] else r['part'])} ({r['sku']})",
                   "value": r["qty"], "text": str(r["qty"])} for r in series["parts"]],
        "restore": [{"label": r["number"], "value": r["hours"],
                     "text": _("%(n)s h", n=format_decimal(r["hours"])),
                     "href": url_for("desk.work_order_page", work_order_id=r["work_order_id"])}
                    for r in series["restore"]],
    }


def _period() -> tuple[int, object, object]:
    raw = request.args.get("days", "90")
    try:
        days = int(raw)
    except ValueError:
        raise InvalidInput(_l("must be a whole number of days"), field="days") from None
    if not 1 <= days <= 730:
        raise InvalidInput(_l("must be between 1 and %(max)s", max=730), field="days")
    until = utcnow()
    return days, until - timedelta(days=days), until


# Columns of the analytics tables that hold codes: the page says them in words (the CSV
# keeps the codes, for spreadsheets and scripts).
WORD_COLUMNS = {"category": ("fault_category", "work_order_kind"), "model": ("analytics_row",),
                "region": ("analytics_row",)}


def format_cell(spec: analytics.TableSpec, key: str, value) -> str:
    """One analytics value as the page shows it: rates as percentages in the reader's
    locale (0.43 -> "43%"), nothing as a dash."""
    if value is None:
        return "—"
    for kind in WORD_COLUMNS.get(key, ()):
        if has_word(kind, value):
            return word(kind, value)
    if key in spec.percent:
        return format_percent(value, "#,##0.#%")
    if isinstance(value, float):
        return format_decimal(value)
    return str(value)


def bar_chart(rows: list[dict], spec: analytics.TableSpec, limit: int = 12) -> list[dict]:
    """Bars for the simple server-side SVG chart: label, value, its text and width in percent."""
    labels = spec.chart_label if isinstance(spec.chart_label, tuple) else (spec.chart_label,)
    data = [(" · ".join(format_cell(spec, k, r[k]) for k in labels), r[spec.chart_value])
            for r in rows
            if r.get(spec.chart_value) is not None][:limit]
    top = max((v for _l, v in data), default=0) or 1
    return [{"label": label, "value": value, "text": format_cell(spec, spec.chart_value, value),
             "pct": round(100 * value / top, 1)} for label, value in data]


@bp.get("/analytics")
@roles_required(*ANALYTICS_ROLES)
def analytics_page():
    days, since, until = _period()
    session = get_session()
    tz = current_app.config["FIXROUTE"].default_timezone
    tables = []
    for name, spec in analytics.TABLES.items():
        rows = analytics.compute_table(session, name, since, until, tz, utcnow())
        tables.append({"spec": spec, "rows": rows, "bars": bar_chart(rows, spec)})
    return render_template("maintenance/analytics.html", tables=tables, days=days, cell=format_cell)


@bp.get("/analytics/<name>.csv")
@roles_required(*ANALYTICS_ROLES)
def analytics_csv(name: str):
    spec = analytics.TABLES.get(name)
    if spec is None:
        abort(404)
    days, since, until = _period()
    rows = analytics.compute_table(get_session(), name, since, until,
                                   current_app.config["FIXROUTE"].default_timezone, utcnow())
    # ?labels=1: headers and codes in the reader's language, for a person's spreadsheet;
    # without it the column keys and codes, for scripts. Rates stay fractions in both.
    labelled = request.args.get("labels") == "1"
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([str(label) if labelled else key for key, label in spec.columns])
    for r in rows:
        writer.writerow([csv_cell(key, r.get(key), labelled) for key, _label in spec.columns])
    suffix = f"-{get_locale()}" if labelled else ""
    return Response(buf.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=fixroute-{name}-{days}d{suffix}.csv"})


def csv_cell(key: str, value, labelled: bool):
    """One CSV value: nothing as empty, a code in words when the file is for a person."""
    if value is None:
        return ""
    if labelled:
        for kind in WORD_COLUMNS.get(key, ()):
            if has_word(kind, value):
                return word(kind, value)
    return value
