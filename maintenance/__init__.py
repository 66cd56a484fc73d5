"""The maintenance package: preventive-maintenance plans and their generation, the
scheduler process, and the maintenance archive (per-terminal history, analytics).
The top of the layers: it creates work orders through dispatch's service functions and
uses dispatch, inventory and notifications (see docs/architecture.md)."""
from __future__ import annotations


def init_app(app) -> None:
    """Register this package's blueprints, API routes, navigation and CLI commands."""
    from flask_babel import lazy_gettext as _l

    from core.models import Role
    from core.web import add_nav
    from maintenance import api  # noqa: F401  (routes on the shared api_v1 blueprint)
    from maintenance.cli import pm_group, scheduler_command
    from maintenance.views import bp

    app.register_blueprint(bp)
    add_nav(app, _l("Preventive plans"), "maintenance.plans", (Role.DISPATCHER,), 60)
    add_nav(app, _l("Archive"), "maintenance.terminals", (Role.DISPATCHER, Role.AGENT), 62)
    add_nav(app, _l("Analytics"), "maintenance.analytics_page", (Role.DISPATCHER,), 64)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(pm_group)
