"""Merchant SMS: the outbox (every message written in the caller's transaction, sent
later, never twice), the Twilio sender with its retries and the development phone page,
message templates in English and Chinese, and Twilio's webhooks (inbound replies,
delivery status) with STOP/START/HELP. It knows phone numbers, not work orders: replies
it does not handle itself go out through `notifications.signals.inbound_reply`.
Depends on core only (see docs/architecture.md)."""
from __future__ import annotations


def init_app(app) -> None:
    """Register this package's blueprints, signal handlers and CLI commands."""
    import click
    from flask import current_app
    from flask_babel import lazy_gettext as _l

    from core.db import get_engine
    from core.web import add_nav
    from notifications import views  # also defines the /api/v1/sms endpoints

    app.register_blueprint(views.bp)
    add_nav(app, _l("SMS"), "notifications.outbox_page", ("dispatcher", "agent"), 70)
    if not app.config["FIXROUTE"].twilio_configured:  # the page is off with Twilio
        add_nav(app, _l("Phone"), "notifications.dev_phone", ("dispatcher",), 75)

    @app.cli.group("sms")
    def sms_group() -> None:
        """Merchant SMS (outbox)."""

    @sms_group.command("send-pending")
    @click.option("--limit", default=200, show_default=True, help="at most this many messages")
    def send_pending(limit: int) -> None:
        """Send the outbox's due messages (Twilio if configured, else the dev phone page)."""
        from notifications.sender import drain_with_settings, sender_from_settings

        settings = current_app.config["FIXROUTE"]
        sender = sender_from_settings(settings)
        report = drain_with_settings(get_engine(), settings, limit, sender=sender)
        click.echo(f"{sender.name}: " + ", ".join(f"{k} {v}" for k, v in report.as_dict().items()))
