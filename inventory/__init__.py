"""The inventory package: see DESIGN.md for what it owns."""
from __future__ import annotations


def init_app(app) -> None:
    """Register this package's blueprints, signal handlers and CLI commands."""
    from flask_babel import lazy_gettext as _l

    from core.models import Role
    from core.web import add_nav
    from inventory import api  # noqa: F401  (routes on the shared api_v1 blueprint)
    from inventory.views import bp

    app.register_blueprint(bp)
    add_nav(app, _l("Stock"), "inventory.stock_page", (Role.DISPATCHER,), order=60)
