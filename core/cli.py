"""Commands of the `fixroute` console (also `flask --app app ...`)."""
from __future__ import annotations

import os

import click
from flask import Flask, current_app
from sqlmodel import select

from core.db import get_engine, session_scope


def register_core_commands(app: Flask) -> None:
    @app.cli.group("db")
    def db_group() -> None:
        """Database schema (Alembic migrations)."""

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Bring the schema up to REVISION (default: head)."""
        from core.migrate import upgrade

        upgrade(current_app.config["FIXROUTE"].database_url, revision)
        click.echo(f"database at {revision}")

    @db_group.command("downgrade")
    @click.argument("revision")
    def db_downgrade(revision: str) -> None:
        from core.migrate import downgrade

        downgrade(current_app.config["FIXROUTE"].database_url, revision)
        click.echo(f"database at {revision}")

    @app.cli.group("demo")
    def demo_group() -> None:
        """Demo world for trying FixRoute out."""

    @demo_group.command("ensure")
    @click.option("--seed", default=42, show_default=True)
    def demo_ensure(seed: int) -> None:
        """Migrate, load the demo world if the database is empty, print the logins."""
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

    @app.cli.group("users")
    def users_group() -> None:
        """User accounts."""

    @users_group.command("create")
    @click.argument("username")
    @click.option("--role", required=True,
                  type=click.Choice(["admin", "dispatcher", "agent", "technician"]))
    @click.option("--technician-code", default=None, help="for role technician")
    @click.password_option()
    def users_create(username: str, role: str, technician_code: str | None, password: str) -> None:
        from core.users import create_user
        from dispatch.models import Technician

        with session_scope(get_engine()) as session:
            tech_id = None
            if technician_code:
                tech = session.exec(select(Technician).where(Technician.code == technician_code)).first()
                if tech is None:
                    raise click.BadParameter("no such technician", param_hint="--technician-code")
                tech_id = tech.id
            create_user(session, username, password, role, technician_id=tech_id)
            session.commit()
        click.echo(f"created {role} {username}")
