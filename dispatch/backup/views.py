"""Pages of the backup-terminal switch (`dispatch.backup.service`): the loaner pool
with where each serial is, the work orders in the switch, and the forms for its steps.
The same as JSON is `dispatch.backup.api`. Thin: validate, call the service, render."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import select

from core.api import MAX_ID
from core.auth import roles_required
from core.db import get_session
from core.errors import DomainError, InvalidInput, NotFound
from core.models import Depot, Role
from core.timeutil import utcnow
from core.words import sentence, word
from dispatch import words as dwords
from dispatch.backup import service as backup
from dispatch.models import Merchant, Terminal

bp = Blueprint("backup", __name__, url_prefix="/backup")
ROLES = (Role.DISPATCHER,)

# The backup pages' words live in dispatch.words; these names stay for old callers.
WHERE_LABELS = dwords.BACKUP_WHERE
STATUS_LABELS = dwords.BACKUP_STATUS


def eligibility_text(e: backup.Eligibility) -> str:
    """Why a work order does or does not get a backup, in the reader's language."""
    return sentence("backup_eligibility", e.code, {"h": e.hours} if e.hours is not None else {},
                    default=e.reason)


@bp.context_processor
def _labels():
    return {"where_label": lambda k: word("backup_where", k),
            "backup_label": lambda k: word("backup_status", k),
            "eligibility_text": eligibility_text}



# ---------------------------------------------------------------------------------
# pages


@bp.get("/")
@roles_required(*ROLES)
def backups_page():
    session = get_session()
    now = utcnow()
    active = backup.backup_work_orders(session)
    merchants = {m.id: m for m in session.exec(select(Merchant).where(
        Merchant.id.in_([w.merchant_id for w in active] or [0]))).all()}
    loaners = {t.id: t for t in session.exec(select(Terminal).where(
        Terminal.id.in_([w.loaner_terminal_id for w in active if w.loaner_terminal_id] or [0]))
    ).all()}
    candidates = {w.id: backup.candidate_loaners(session, w)[:8] for w in active
                  if w.backup_status == "accepted"}
    down = backup.down_without_backup(session, now=now)
    for wo, _e in down:
        merchants.setdefault(wo.merchant_id, session.get(Merchant, wo.merchant_id))
    return render_template("dispatch/backup_list.html", active=active, down=down,
                           merchants=merchants, loaners=loaners, candidates=candidates,
                           threshold=backup.threshold_hours())


_ACTIONS = {
    "offer": lambda s, wo, form: backup.offer(s, wo, current_user),
    "accept": lambda s, wo, form: backup.accept(s, wo, current_user),
    "decline": lambda s, wo, form: backup.decline(s, wo, current_user),
    "loaner": lambda s, wo, form: backup.reserve_loaner(
        s, wo, current_user, loaner_terminal_id=_form_id(form.get("loaner_terminal_id"))),
    "deliver": lambda s, wo, form: backup.deliver(s, wo, current_user),
    "swap-back": lambda s, wo, form: backup.swap_back(s, wo, current_user),
    "cancel": lambda s, wo, form: backup.cancel(s, wo, current_user, note=form.get("note", "")[:2000]),
}
_DONE = {
    "offer": _l("Backup offered: the merchant gets an SMS."),
    "accept": _l("Backup accepted."),
    "decline": _l("Marked as declined."),
    "loaner": _l("Loaner reserved."),
    "deliver": _l("Loaner delivered; the faulty unit is in repair."),
    "swap-back": _l("Swapped back; the loaner is in the pool again."),
    "cancel": _l("Backup cancelled."),
}


def _form_id(raw) -> int | None:
    if not raw:
        return None
    if not str(raw).isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise InvalidInput(_l("must be a positive integer"), field="loaner_terminal_id")
    return int(raw)


@bp.post("/<int:work_order_id>/<action>")
@roles_required(*ROLES)
def backup_action(work_order_id: int, action: str):
    if action not in _ACTIONS:
        raise NotFound(_l("unknown action"), field="action")
    session = get_session()
    wo = backup._load(session, work_order_id)
    try:
        _ACTIONS[action](session, wo, request.form)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(str(_DONE[action]), "success")
    return redirect(url_for("backup.backups_page"))


@bp.get("/pool")
@roles_required(*ROLES)
def pool_page():
    session = get_session()
    depots = {d.id: d for d in session.exec(select(Depot).order_by(Depot.code)).all()}
    raw = request.args.get("depot_id", "")
    depot_id = int(raw) if raw.isdigit() and int(raw) in depots else None
    rows = backup.pool(session, depot_id=depot_id)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.where] = counts.get(r.where, 0) + 1
    return render_template("dispatch/backup_pool.html", rows=rows, depots=depots,
                           depot_id=depot_id, counts=counts)
