"""The admin's pages: users and roles, and an overview of the fleet's master data."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func
from sqlmodel import select
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from core.api import APIError
from core.audit import record_audit
from core.auth import roles_required
from core.db import get_session
from core.models import Depot, Region, Role, User
from core.users import create_user
from core.web import ROLE_LABELS

bp = Blueprint("admin", __name__, url_prefix="/admin")


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=[(r.value, ROLE_LABELS[r.value]) for r in Role])
    technician_code = StringField(_l("Technician code"), validators=[Optional(), Length(max=32)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=256)])


def _counts() -> dict[str, int]:
    from dispatch.models import Merchant, Technician, Terminal, WorkOrder
    from dispatch.models import OPEN_WORK_ORDER_STATUSES

    s = get_session()
    count = lambda stmt: s.exec(stmt).one()  # noqa: E731
    return {
        "regions": count(select(func.count()).select_from(Region)),
        "depots": count(select(func.count()).select_from(Depot)),
        "merchants": count(select(func.count()).select_from(Merchant)),
        "terminals": count(select(func.count()).select_from(Terminal)),
        "technicians": count(select(func.count()).select_from(Technician)),
        "open_work_orders": count(select(func.count()).select_from(WorkOrder).where(
            WorkOrder.status.in_([str(x) for x in OPEN_WORK_ORDER_STATUSES]))),
        "users": count(select(func.count()).select_from(User)),
    }


@bp.route("/", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def index():
    from dispatch.models import Technician

    session = get_session()
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        tech_id = None
        if form.technician_code.data:
            tech = session.exec(select(Technician).where(
                Technician.code == form.technician_code.data.strip())).first()
            if tech is None:
                form.technician_code.errors.append(_("No technician with this code."))
        if not form.technician_code.errors:
            try:
                create_user(session, form.username.data, form.password.data, form.role.data,
                            display_name=form.display_name.data or "",
                            technician_id=tech.id if form.technician_code.data else None,
                            actor_user_id=current_user.id)
                session.commit()
            except APIError as exc:
                session.rollback()
                for f in exc.fields:
                    name = {"technician_id": "technician_code"}.get(f["field"], f["field"])
                    target = getattr(form, name, None)
                    (target.errors if target is not None else form.username.errors).append(f["reason"])
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
    session = get_session()
    user = session.get(User, user_id)
    if user is None:
        raise APIError(_("No such user."), status=404, code="not_found", field="user_id")
    if user.id == current_user.id:
        raise APIError(_("You cannot deactivate yourself."), status=409, code="conflict",
                       field="user_id")
    user.active = request.form.get("active") == "1"
    record_audit(session, "user", user.id, "activated" if user.active else "deactivated",
                 current_user.id)
    session.commit()
    return redirect(url_for("admin.index"))


def init_admin(app) -> None:
    from core.web import add_nav, set_role_home

    app.register_blueprint(bp)
    add_nav(app, _l("Admin"), "admin.index", (Role.ADMIN,), order=90)
    set_role_home(app, Role.ADMIN, "admin.index")
