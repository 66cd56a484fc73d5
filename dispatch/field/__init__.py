"""The technician's day on a phone: today's visits, travel and arrival, parts used,
completion with signature and photos, follow-ups.

- `service`: the technician's actions (each scoped to visits assigned to them).
- `queries`: what the phone shows (a day, a visit, the van) as plain dicts.
- `signoff`: the merchant's sign-off with the completion.
- `service_report`: the report of a visit; `report_views`: its pages, and the
  merchant's signed, expiring link.
- `views`: the phone pages (HTML); `api`: the same as JSON on /api/v1.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the technician's pages and API, menu entry and role home."""
    from flask_babel import lazy_gettext as _l

    from core.models import Role
    from core.web import add_nav, set_role_home
    from dispatch.field import api  # noqa: F401  (its routes register on core.api.api_v1)
    from dispatch.field.service import require_technician_scope
    from dispatch.field.views import bp
    from inventory.api import set_work_order_scope

    app.register_blueprint(bp)
    add_nav(app, _l("My day"), "tech.day", (Role.TECHNICIAN,), order=5)
    set_role_home(app, Role.TECHNICIAN, "tech.day")
    # inventory's stock moves on a work order follow the same rule (inventory sits below)
    set_work_order_scope(app, require_technician_scope)
    # the service report: the work order's page, and the merchant's signed link
    from dispatch.field.report_views import init_report

    init_report(app)
