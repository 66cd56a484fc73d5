"""`fixroute scheduler` and `fixroute pm ...` commands."""
from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from core.db import get_engine, session_scope


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run every job once now and exit.")
@click.option("--wait/--no-wait", default=False, show_default=True,
              help="If another scheduler runs, wait to take over instead of exiting.")
@with_appcontext
def scheduler_command(once: bool, wait: bool) -> None:
    """Run the scheduler process (preventive generation, outbox sweep, SLA watch,
    day-before reminders). Only one runs at a time; a second one exits or waits."""
    from maintenance.scheduler import run_all_once, serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = current_app.config["FIXROUTE"]
    engine = get_engine()
    code = run_all_once(engine, settings, echo=click.echo) if once else \
        serve(engine, settings, wait=wait, echo=click.echo)
    if code:
        raise SystemExit(code)


@click.group("pm")
def pm_group() -> None:
    """Preventive maintenance."""


@pm_group.command("generate")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Local date to generate for (default: now, per region's zone).")
@click.option("--horizon", default=14, show_default=True)
@with_appcontext
def pm_generate(today, horizon: int) -> None:
    """Generate the preventive work due within the horizon (idempotent)."""
    from core.timeutil import utcnow
    from maintenance.generation import escalate_closing_windows, generate_due

    when = today.date() if today else utcnow()
    with session_scope(get_engine()) as session:
        stats = generate_due(session, when, horizon, actor="cli")
        escalated = escalate_closing_windows(session, when)
    click.echo(", ".join(f"{k}: {v}" for k, v in {**stats.as_dict(), "escalated": escalated}.items()))
