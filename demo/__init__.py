"""Deterministic demo world for `make run` and for tests, and the `fixroute demo`
command that loads it. Sits above the domain packages (it builds rows of all of
them), beside app.py."""
from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlmodel import select


@click.group("demo", cls=AppGroup)
def demo_group() -> None:
    """Demo world for trying FixRoute out."""


@demo_group.command("ensure")
@click.option("--seed", default=42, show_default=True)
def demo_ensure(seed: int) -> None:
    """Migrate, load the demo world if the database is empty, print the logins."""
    from core.db import get_engine, session_scope
    from core.migrate import upgrade
    from core.models import User
    from demo.world import DEMO_PASSWORD, build_demo_world

    settings = current_app.config["FIXROUTE"]
    upgrade(settings.database_url)
    with session_scope(get_engine()) as session:
        if session.exec(select(User)).first() is None:
            click.echo("loading demo data (first run) ...")
            summary = build_demo_world(session, seed=seed)
            click.echo(", ".join(f"{k}: {v}" for k, v in summary.items()))
        if session.exec(select(User).where(User.is_demo.is_(True))).first() is not None:
            from demo.today import publish_today

            # a day in progress in every region, as of now (once per day)
            day = publish_today(session, seed=seed)
            if any(day.values()):
                click.echo("today's plan: " + ", ".join(f"{k}: {v}" for k, v in day.items()))
        users = session.exec(select(User).where(User.is_demo == True)).all()  # noqa: E712
        names = [u.username for u in users]
    port = os.environ.get("PORT", "5000")
    techs = [n for n in names if n.startswith("tech")]
    click.echo("")
    click.echo(f"FixRoute is starting on http://127.0.0.1:{port}/")
    click.echo(f"Demo logins (password '{DEMO_PASSWORD}'): admin, dispatcher, agent, "
               f"{techs[0] if techs else 'tech01'} ... {techs[-1] if techs else ''}")


def init_app(app: Flask) -> None:
    """Register `fixroute demo ensure`."""
    app.cli.add_command(demo_group)
