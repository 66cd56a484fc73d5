"""Parts and stock: stock locations (depots, vans), the stock ledger (every move a
row), reservations for planned visits, serial-tracked units and the loaner-terminal
pool, restock and reorder suggestions. Refers to work orders by foreign key only and
never imports dispatch (see `inventory.refs`); the one dispatch rule it applies, who may
move stock on a work order, is registered by dispatch (`inventory.api.set_work_order_scope`).
Imports core only (notifications, the one package below it besides core, it does not
need; see docs/architecture.md)."""
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
