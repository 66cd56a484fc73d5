"""The agent's desk: fault intake and remote triage, and the work-order list and
detail pages.

- `catalog`: fault categories, triage steps and skills as data.
- `service`: recording a fault, walking its checklist, resolving it remotely or
  escalating it into a work order (through `dispatch.workorders.service`).
- `views`: the desk and work-order pages (HTML); `api`: the same as JSON on /api/v1.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the desk's pages, its API routes, menu entries and role homes."""
    from flask_babel import lazy_gettext as _l

    from core.models import Role
    from core.web import add_nav, set_role_home
    from dispatch.desk import api  # noqa: F401  (its routes register on core.api.api_v1)
    from dispatch.desk.views import bp

    app.register_blueprint(bp)
    add_nav(app, _l("Agent desk"), "desk.desk", (Role.AGENT, Role.DISPATCHER), 10)
    add_nav(app, _l("Work orders"), "desk.work_orders", (Role.AGENT, Role.DISPATCHER), 20)
    set_role_home(app, Role.AGENT, "desk.desk")
    # the dispatcher's board replaces this as their home once it is registered
    app.extensions.setdefault("fixroute.role_home", {}).setdefault(Role.DISPATCHER,
                                                                   "desk.work_orders")
