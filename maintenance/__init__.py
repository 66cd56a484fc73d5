"""The maintenance package: preventive-maintenance plans and their generation, the
scheduler process, and the maintenance archive (per-terminal history, analytics)."""
from __future__ import annotations


def init_app(app) -> None:
    """Register this package's blueprints, API routes and CLI commands."""
    from maintenance.cli import pm_group, scheduler_command

    app.cli.add_command(scheduler_command)
    app.cli.add_command(pm_group)
