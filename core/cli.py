"""core's commands of the `fixroute` console (also `flask --app app ...`): `db` and
`users`. Like every package, core registers its commands in an init_app."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from core.db import get_engine, session_scope


@click.group("db", cls=AppGroup)
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


@click.group("users", cls=AppGroup)
def users_group() -> None:
    """User accounts."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", required=True,
              type=click.Choice(["admin", "dispatcher", "agent", "technician"]))
@click.option("--technician-code", default=None, help="for role technician")
@click.password_option()
def users_create(username: str, role: str, technician_code: str | None, password: str) -> None:
    from core.admin import technician_id_for_code
    from core.users import create_user

    with session_scope(get_engine()) as session:
        tech_id = None
        if technician_code:
            tech_id = technician_id_for_code(session, technician_code)
            if tech_id is None:
                raise click.BadParameter("no such technician", param_hint="--technician-code")
        create_user(session, username, password, role, technician_id=tech_id)
    click.echo(f"created {role} {username}")


def init_app(app: Flask) -> None:
    """Register `fixroute db ...` and `fixroute users ...`."""
    app.cli.add_command(db_group)
    app.cli.add_command(users_group)
