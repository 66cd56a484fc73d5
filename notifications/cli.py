"""`fixroute sms ...`: the merchant SMS outbox from the command line."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import get_engine


@click.group("sms", cls=AppGroup)
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
