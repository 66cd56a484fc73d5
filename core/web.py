"""Home page per role and the language switch."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core.auth import login_required
from core.db import get_session
from core.i18n import LANGUAGES
from core.models import Role
from core.security import safe_next, same_site_referrer
from core.users import set_locale

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "dispatcher": _l("Dispatcher"),
    "agent": _l("Service agent"),
    "technician": _l("Technician"),
}

bp = Blueprint("web", __name__)

# Packages point a role's home at their own page with `set_role_home` in init_app.
ROLE_HOME_KEY = "fixroute.role_home"


def set_role_home(app, role: str, endpoint: str) -> None:
    app.extensions.setdefault(ROLE_HOME_KEY, {})[role] = endpoint


@bp.get("/")
@login_required
def home():
    endpoint = current_app.extensions.get(ROLE_HOME_KEY, {}).get(current_user.role)
    if endpoint:
        return redirect(url_for(endpoint))
    return render_template("core/home.html", role=current_user.role)


@bp.get("/healthz")
def healthz():
    from sqlalchemy import text

    get_session().exec(text("SELECT 1"))
    return {"status": "ok"}


@bp.post("/lang/<code>")
def set_language(code: str):
    if code not in LANGUAGES:
        abort(404)
    session["lang"] = code
    if current_user.is_authenticated:
        set_locale(get_session(), current_user._get_current_object(), code)
    target = (safe_next(request.form.get("next")) or safe_next(request.args.get("next"))
              or same_site_referrer() or url_for("web.home"))
    return redirect(target)


__all__ = ["Role", "bp", "set_role_home"]

NAV_KEY = "fixroute.nav"


def add_nav(app, label, endpoint: str, roles: tuple[str, ...], order: int = 50) -> None:
    """Packages add their pages to the top navigation for the roles that use them."""
    app.extensions.setdefault(NAV_KEY, []).append((order, label, endpoint, roles))


def nav_items() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    items = []
    for _order, label, endpoint, roles in sorted(current_app.extensions.get(NAV_KEY, []),
                                                key=lambda x: x[0]):
        if current_user.role == Role.ADMIN or current_user.role in roles:
            items.append({"label": label, "url": url_for(endpoint),
                          "active": request.endpoint == endpoint})
    return items


@bp.app_context_processor
def _nav_context():
    return {"nav_items": nav_items, "role_label": lambda r: ROLE_LABELS.get(r, r)}
