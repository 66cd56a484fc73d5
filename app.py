"""FixRoute's application factory and command line.

`create_app()` wires settings, the database, sign-in, translations, CSRF and every
package's blueprints; `fixroute ...` (the console command) is Flask's CLI bound to it.
"""
from __future__ import annotations

import logging
from typing import Any

import click
from flask import Flask, jsonify, render_template, request
from flask.cli import FlaskGroup
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

import demo
import dispatch
import inventory
import maintenance
import notifications
from core import auth as core_auth
from core import cli as core_cli
from core import web as core_web
from core.api import api_v1, error_body, error_response, http_status
from core.db import close_session, discard_request_changes, make_engine, register_model_modules
from core.errors import DomainError, TooManyAttempts
from core.i18n import LANGUAGES, init_i18n
from core.openapi import build_spec
from core.security import init_security
from core.settings import PROJECT_ROOT, Settings, load_settings
from core.timeutil import init_time_filters

#: The modules that define tables, named once here and passed down: to Alembic
#: (migrations/env.py), create_all in the tests, and the spawned solve process
#: (`dispatch.planning.jobs`). `core` imports no domain package itself.
MODEL_MODULES: tuple[str, ...] = (
    "core.models",
    "notifications.models",
    "inventory.models",
    "dispatch.models",
    "maintenance.models",
)

csrf = CSRFProtect()
log = logging.getLogger("fixroute")


def create_app(
    overrides: dict[str, Any] | None = None, config: dict[str, Any] | None = None
) -> Flask:
    """Build the app. `overrides` replaces settings (tests pass database_url etc.),
    `config` sets Flask config keys (TESTING, WTF_CSRF_ENABLED)."""
    settings: Settings = load_settings(overrides)
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.update(
        FIXROUTE=settings,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in _csrf_unless_token below
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    if config:
        app.config.update(config)
    if settings.proxy_fix_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.proxy_fix_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)

    # <int:...> in URLs stops at the database's integer range: a larger id is a 404,
    # not an overflow deep in the driver (found by the schemathesis run).
    app.url_map.converters["int"] = _DatabaseInt

    register_model_modules(MODEL_MODULES)
    app.extensions["fixroute.engine"] = make_engine(settings.database_url)
    app.teardown_appcontext(close_session)

    core_auth.login_manager.init_app(app)
    app.session_interface = core_auth.TokenAwareSessionInterface()
    csrf.init_app(app)
    init_i18n(app)
    init_time_filters(app)
    init_security(app)

    @app.before_request
    def _csrf_unless_token():
        if request.method in ("GET", "HEAD", "OPTIONS") or not app.config.get("WTF_CSRF_ENABLED", True):
            return
        if request.path.startswith("/webhooks/"):
            return  # Twilio signs these instead
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            return  # not sent automatically by a browser, so no CSRF risk
        if request.path == "/api/v1/auth/token":
            return  # takes credentials, sets no cookie
        if request.path.startswith("/api/") and not current_user.is_authenticated:
            return  # no session to ride on: the view answers 401, as documented
        csrf.protect()
        return

    @app.context_processor
    def _inject():
        return {"LANGUAGES": LANGUAGES, "current_user": current_user,
                "get_locale": get_locale}

    _register_error_handlers(app)

    app.register_blueprint(core_auth.bp)
    app.register_blueprint(core_web.bp)
    from core.admin import init_admin

    init_admin(app)
    for package in (notifications, inventory, dispatch, maintenance):
        package.init_app(app)

    @api_v1.get("/openapi.json")
    def openapi_json():
        return jsonify(build_spec())

    app.register_blueprint(api_v1)
    core_cli.init_app(app)
    demo.init_app(app)
    return app


class _DatabaseInt(IntegerConverter):
    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        # A service's refusal (core.errors): its status comes from core.api, the one
        # place that maps kinds of error to HTTP.
        discard_request_changes()
        status = http_status(exc)
        if request.path.startswith("/api/") or request.is_json or request.accept_mimetypes.best == "application/json":
            resp = jsonify(error_body(exc))
            resp.status_code = status
            if isinstance(exc, TooManyAttempts) and exc.retry_after:
                resp.headers["Retry-After"] = str(exc.retry_after)
            return resp
        return render_template("core/error.html", status=status, message=exc.message,
                               fields=exc.fields), status

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        discard_request_changes()
        if request.path.startswith("/api/"):
            return error_response(400, "csrf_failed", exc.description,
                                  [{"field": "X-CSRFToken", "reason": exc.description}])
        return render_template("core/error.html", status=400, message=exc.description,
                               fields=[]), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        discard_request_changes()
        if request.path.startswith("/api/"):
            field = "file" if exc.code == 413 else None
            fields = [{"field": field, "reason": exc.description}] if field else []
            resp = error_response(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"),
                                  exc.description or exc.name, fields)
            for name, value in exc.get_headers():  # 405's Allow, 401's WWW-Authenticate
                if name.lower() != "content-type":
                    resp.headers[name] = value
            return resp
        return render_template("core/error.html", status=exc.code, message=exc.description,
                               fields=[]), exc.code

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def _out_of_range(exc: Exception):
        # A number or text the database cannot hold (an id beyond its integer range):
        # the client's input, so a 422 rather than a 500 (found by the schemathesis run).
        discard_request_changes()
        log.info("value out of range on %s %s: %s", request.method, request.path, exc)
        message = "a value in the request is out of range"
        if request.path.startswith("/api/"):
            return error_response(422, "out_of_range", message, [{"field": "body", "reason": message}])
        return render_template("core/error.html", status=422, message=message, fields=[]), 422

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        discard_request_changes()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if app.testing and app.config.get("PROPAGATE_UNEXPECTED", True):
            raise exc
        if request.path.startswith("/api/"):
            return error_response(500, "internal_error", "something went wrong on our side")
        return render_template("core/error.html", status=500,
                               message="Something went wrong on our side.", fields=[]), 500


@click.group(cls=FlaskGroup, create_app=create_app)
def cli_main() -> None:
    """FixRoute: dispatch and maintenance scheduling for POS terminal fleets."""


if __name__ == "__main__":  # pragma: no cover
    cli_main()
