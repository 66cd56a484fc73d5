"""Sign-in for people (session cookie) and scripts or phones (bearer token), and the
role checks every view uses. /api/ answers 401/403 in JSON; pages redirect or 403."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from pydantic import BaseModel, Field
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core import openapi
from core.api import api_v1, error_response, http_status, parse_body
from core.db import get_session
from core.errors import DomainError, NotAllowed
from core.models import Role, User
from core.security import safe_next
from core.users import (
    TooManyAttempts,
    authenticate,
    end_browser_sessions,
    issue_token,
    revoke_token,
    set_password,
    user_for_reset_token,
    user_for_token,
)

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The session names the user and the session version it was made under
    (`User.get_id`); signing out bumps the version, so a cookie kept from before
    no longer loads anyone even though its signature is still valid."""
    user_id, _, version = (session_id or "").partition(":")
    try:
        user = get_session().get(User, int(user_id))
        version_number = int(version)
    except ValueError:
        return None
    if user is None or not user.active or user.session_version != version_number:
        return None
    return user


@login_manager.request_loader
def _load_user_from_bearer(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return user_for_token(get_session(), header[7:].strip())


def _has_bearer(req) -> bool:
    return req.headers.get("Authorization", "").lower().startswith("bearer ")


class TokenAwareSessionInterface(SecureCookieSessionInterface):
    """Requests that carry a bearer token are stateless: they neither read nor write
    the session cookie. A script or phone that also keeps cookies would otherwise
    send a session without a login (e.g. only a language choice), which Flask-Login's
    strong session protection treats as tampering and signs the token's user out."""

    def open_session(self, app, request):
        if _has_bearer(request):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        from flask import request

        if _has_bearer(request):
            return None
        return super().save_session(app, session, response)


@login_manager.unauthorized_handler
def _unauthorized():
    if request.path.startswith("/api/"):
        return error_response(401, "unauthorized", "sign in or send a bearer token")
    return redirect(url_for("auth.login", next=request.full_path))


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def roles_required(*roles: str) -> Callable:
    """Allow signed-in users of these roles (admin always passes)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles and current_user.role != Role.ADMIN:
                if is_api_request():
                    return error_response(403, "forbidden", "your role may not do this")
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


login_required = roles_required()

STAFF = (Role.DISPATCHER, Role.AGENT)


def ensure_own_technician(technician_id: int) -> None:
    """Technicians see and change only their own work; staff roles see all."""
    if current_user.role == Role.TECHNICIAN and current_user.technician_id != technician_id:
        raise NotAllowed(_l("this belongs to another technician"))


class LoginForm(FlaskForm):
    username = StringField("username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=256)])


def _client_address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                get_session(), form.username.data, form.password.data, _client_address()
            )
        except TooManyAttempts as exc:
            flash(_("Too many failed sign-ins. Try again in %(s)s seconds.", s=exc.retry_after),
                  "error")
            status = 429
        except DomainError:
            flash(_("Unknown username or wrong password."), "error")
            status = 401
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("web.home"))
    elif request.method == "POST":
        status = 400
        for field, errors in form.errors.items():
            for err in errors:
                flash(f"{field}: {err}", "error")
    return render_template("auth/login.html", form=form), status


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=256)])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=256)])


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """The one-time link an admin handed over: choose a new password, then sign in."""
    from flask import current_app

    session = get_session()
    try:
        user = user_for_reset_token(session, token, current_app.config["SECRET_KEY"])
    except DomainError as exc:
        return render_template("auth/reset.html", form=None, error=exc.message), http_status(exc)
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        if form.password.data != form.confirm.data:
            form.confirm.errors.append(_("The two passwords differ."))
        else:
            try:
                set_password(session, user, form.password.data, actor_user_id=user.id)
            except DomainError as exc:
                form.password.errors.append(exc.message)
            else:
                flash(_("Password changed. Sign in with the new one."), "success")
                return redirect(url_for("auth.login"))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("auth/reset.html", form=form, user=user, error=None), status


@bp.post("/logout")
def logout():
    """Ends the browser session on the server too: every session cookie this user
    holds stops working (bearer tokens are revoked on their own)."""
    if current_user.is_authenticated and not _has_bearer(request):
        end_browser_sessions(get_session(), current_user)
    logout_user()
    return redirect(url_for("auth.login"))


class TokenRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    name: str = Field(default="", max_length=120)


class TokenResponse(BaseModel):
    token: str
    expires_at: str
    role: str


@api_v1.post("/auth/token")
def create_token():
    body = parse_body(TokenRequest)
    session = get_session()
    user = authenticate(session, body.username, body.password, _client_address())
    token, row = issue_token(session, user, current_app.config["FIXROUTE"].token_ttl_hours, body.name)
    return jsonify({"token": token, "expires_at": row.expires_at.isoformat(), "role": user.role}), 201


@api_v1.post("/auth/token/revoke")
@login_required
def revoke_current_token():
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise DomainError(_l("send the token to revoke as a bearer token"), field="Authorization")
    revoke_token(get_session(), header[7:].strip(), current_user.id)
    return jsonify({"revoked": True})


class MeResponse(BaseModel):
    id: int
    username: str
    role: str
    display_name: str
    technician_id: int | None


@api_v1.get("/me")
@login_required
def me():
    u = current_user
    return jsonify(
        {"id": u.id, "username": u.username, "role": u.role, "display_name": u.display_name,
         "technician_id": u.technician_id}
    )


openapi.document("/api/v1/auth/token", "post", summary="Issue a bearer token", tag="auth",
                 request=TokenRequest, response=TokenResponse, status=201,
                 errors=(401, 422, 429), auth=False)
openapi.document("/api/v1/auth/token/revoke", "post", summary="Revoke the bearer token used",
                 tag="auth", errors=(400, 401))
openapi.document("/api/v1/me", "get", summary="The signed-in user", tag="auth",
                 response=MeResponse, errors=(401,))
