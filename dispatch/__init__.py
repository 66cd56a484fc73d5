"""The dispatch package: everything between a merchant's call and a technician's
visit, one feature package each (see docs/architecture.md).

- `desk`: fault intake, remote triage, the work-order pages.
- `workorders`: the work-order state machine, SLA, attachments, merchant SMS.
- `planning`: a region's day as a solver problem and back, the board, publishing,
  solves in the background.
- `solver`: the pure optimizer (no Flask, no database).
- `field`: the technician's day on a phone.
- `backup`: loaner terminals.
- `models`: the tables of all of them; `words`: their codes in English and Chinese;
  `signals`: what dispatch announces; `admin`: its figures on the admin's overview and
  the technician lookup of the user forms.
- `plan_jobs`, `queues`, `large_plans`: the job functions under the dotted names RQ
  stored before the move into packages (aliases for one release).
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register every feature package's blueprints, signal receivers and CLI commands."""
    from dispatch import admin, backup, desk, field, planning, workorders

    for package in (workorders, desk, field, planning, backup, admin):
        package.init_app(app)
    from dispatch.solver.cli import solve_command  # `fixroute solve`: the optimizer alone

    app.cli.add_command(solve_command, "solve")
