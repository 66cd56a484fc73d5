"""The admin's pages: users and roles, and an overview of the fleet's master data."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func
from sqlmodel import Session, select
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from core import users as user_svc
from core.auth import roles_required
from core.db import get_session
from core.errors import DomainError, NotFound
from core.models import MAX_ID, Depot, Region, Role, User
from core.users import create_user, update_user
from core.web import ROLE_LABELS

bp = Blueprint("admin", __name__, url_prefix="/admin")


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=[(r.value, ROLE_LABELS[r.value]) for r in Role])
    technician_code = StringField(_l("Technician code"), validators=[Optional(), Length(max=32)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=256)])


CountFn = Callable[[Session], int]


def add_admin_count(app: Flask, key: str, label, count: CountFn, order: int) -> None:
    """A figure on the admin's overview: `count(session)` under `label`, sorted by `order`.
    Domain packages add theirs in their init_app (core knows no domain table)."""
    app.extensions.setdefault("fixroute.admin_counts", []).append((order, key, label, count))


def set_technician_lookup(app: Flask, code_to_id: Callable[[Session, str], int | None],
                          id_to_code: Callable[[Session, int], str | None]) -> None:
    """How a technician code on the user forms becomes a technician id and back. Users
    live in core, technicians in dispatch (which sits above), so dispatch sets these."""
    app.extensions["fixroute.technician_lookup"] = (code_to_id, id_to_code)


def technician_id_for_code(session: Session, code: str) -> int | None:
    """The technician id of a code through the registered lookup (None without one)."""
    lookup = current_app.extensions.get("fixroute.technician_lookup")
    return lookup[0](session, code) if lookup is not None else None


def _counts() -> list[dict]:
    s = get_session()
    figures = sorted(current_app.extensions.get("fixroute.admin_counts", []), key=lambda f: f[0])
    return [{"key": key, "label": label, "value": count(s)} for _order, key, label, count in figures]


def _count_of(model) -> CountFn:
    return lambda s: s.exec(select(func.count()).select_from(model)).one()


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def index():
    session = get_session()
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        tech_id, error = _technician_id_for(session, form.technician_code.data)
        if error:
            form.technician_code.errors.append(error)
        else:
            try:
                create_user(session, form.username.data, form.password.data, form.role.data,
                            display_name=form.display_name.data or "",
                            technician_id=tech_id, actor_user_id=current_user.id)
            except DomainError as exc:
                _put_errors(form, exc)
            else:
                flash(_("User %(name)s created.", name=form.username.data), "success")
                return redirect(url_for("admin.index"))
        status = 422
    elif request.method == "POST":
        status = 422
    users = session.exec(select(User).order_by(User.role, User.username)).all()
    return render_template("admin/index.html", form=form, users=users, counts=_counts()), status


@bp.post("/users/<int:user_id>/active")
@roles_required(Role.ADMIN)
def set_active(user_id: int):
    user_svc.set_active(get_session(), user_id, request.form.get("active") == "1",
                        actor_user_id=current_user.id)
    return redirect(url_for("admin.index"))


class EditUserForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=[(r.value, ROLE_LABELS[r.value]) for r in Role])
    technician_code = StringField(_l("Technician code"), validators=[Optional(), Length(max=32)])


def _user_or_404(session, user_id: int) -> User:
    user = session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None:
        raise NotFound(_("No such user."), field="user_id")
    return user


def _technician_id_for(session, code: str | None):
    """(technician id or None, error text or None) for a technician code."""
    code = (code or "").strip()
    if not code:
        return None, None
    tech_id = technician_id_for_code(session, code)
    return (tech_id, None) if tech_id is not None else (None, _("No technician with this code."))


def _technician_code(session, technician_id: int | None) -> str:
    lookup = current_app.extensions.get("fixroute.technician_lookup")
    code = lookup[1](session, technician_id) if technician_id and lookup is not None else None
    return code or ""


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int):
    """Change an account's name, role and technician; reset its password from here."""
    session = get_session()
    user = _user_or_404(session, user_id)
    form = EditUserForm(obj=None if request.method == "POST" else user)
    if request.method == "GET":
        form.technician_code.data = _technician_code(session, user.technician_id)
    status = 200
    if form.validate_on_submit():
        tech_id, error = _technician_id_for(session, form.technician_code.data)
        if error:
            form.technician_code.errors.append(error)
        else:
            try:
                update_user(session, user, display_name=form.display_name.data or "",
                            role=form.role.data, technician_id=tech_id,
                            actor_user_id=current_user.id)
            except DomainError as exc:
                _put_errors(form, exc)
            else:
                flash(_("User %(name)s saved.", name=user.username), "success")
                return redirect(url_for("admin.index"))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("admin/user.html", form=form, user=user, reset_link=None), status


@bp.post("/users/<int:user_id>/reset-password")
@roles_required(Role.ADMIN)
def reset_password(user_id: int):
    """A one-time link for the user to choose a new password, shown once to the admin
    to hand over (FixRoute sends no e-mail). The old password keeps working until the
    link is used; a second reset replaces nothing but the link the admin sees."""
    session = get_session()
    user = _user_or_404(session, user_id)
    token = user_svc.issue_password_reset(session, user, current_app.config["SECRET_KEY"],
                                          actor_user_id=current_user.id)
    form = EditUserForm(obj=user)
    form.technician_code.data = _technician_code(session, user.technician_id)
    link = url_for("auth.reset_password", token=token, _external=True)
    return render_template("admin/user.html", form=form, user=user, reset_link=link)


def _put_errors(form, exc: DomainError) -> None:
    for f in exc.fields:
        name = {"technician_id": "technician_code"}.get(f["field"], f["field"])
        target = getattr(form, name, None)
        (target.errors if target is not None else form.role.errors).append(f["reason"])


def init_admin(app: Flask) -> None:
    from core.web import add_nav, set_role_home

    app.register_blueprint(bp)
    add_admin_count(app, "regions", _l("Regions"), _count_of(Region), order=10)
    add_admin_count(app, "depots", _l("Depots"), _count_of(Depot), order=20)
    add_admin_count(app, "users", _l("Users"), _count_of(User), order=90)
    add_nav(app, _l("Admin"), "admin.index", (Role.ADMIN,), order=90)
    set_role_home(app, Role.ADMIN, "admin.index")
