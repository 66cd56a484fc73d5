"""Merchant SMS: the outbox (every message written in the caller's transaction, sent
later, never twice), the Twilio sender with its retries and the development phone page,
message templates in English and Chinese, and Twilio's webhooks (inbound replies,
delivery status) with STOP/START/HELP. It knows phone numbers, not work orders: replies
it does not handle itself go out through `notifications.signals.inbound_reply`.
Depends on core only (see docs/architecture.md)."""
from __future__ import annotations


def init_app(app) -> None:
    """Register this package's blueprints, signal handlers and CLI commands."""
    from flask_babel import lazy_gettext as _l

    from core.web import add_nav
    from notifications import views  # also defines the /api/v1/sms endpoints
    from notifications.cli import sms_group

    app.register_blueprint(views.bp)
    add_nav(app, _l("SMS"), "notifications.outbox_page", ("dispatcher", "agent"), 70)
    if not app.config["FIXROUTE"].twilio_configured:  # the page is off with Twilio
        add_nav(app, _l("Phone"), "notifications.dev_phone", ("dispatcher",), 75)

    app.cli.add_command(sms_group)
