"""Planning a region's day and the dispatcher's board.

- `problem`: from the database to a pure `dispatch.solver.Problem` (`build_input`).
- `retiming`: re-timing hand-edited routes and checking them with the validator.
- `writeback`: a solver `Solution` written back as the plan's visits and figures.
- `service`: drafts, hand edits, publishing, insertions during the day.
- `replan`: re-planning a published day with the least disruption (hand moves and
  announced windows kept).
- `board_live`: the day as the phones report it, for the board.
- `jobs`: a plan's solve outside the request (a spawned process or an RQ job).
- `queues`: RQ queue names, enqueuing the SMS drain, lost-job handling.
- `large_plans`: a large day split into parts solved in parallel.
- `worker_cli`: `fixroute worker`.
- `views`: the board page (HTML); `api`: the board's JSON routes.

The optimizer itself is `dispatch.solver`, beside this package: pure, no Flask, no database.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the board (page and API), make it the dispatcher's home, add `fixroute worker`."""
    from core.models import Role
    from core.web import add_nav, set_role_home
    from dispatch.planning import api  # noqa: F401  (its routes register on core.api.api_v1)
    from dispatch.planning.views import NAV_LABEL, ROLES, bp
    from dispatch.planning.worker_cli import worker_command

    app.register_blueprint(bp)
    add_nav(app, NAV_LABEL, "board.board", ROLES, order=10)
    set_role_home(app, Role.DISPATCHER, "board.board")
    app.cli.add_command(worker_command)
