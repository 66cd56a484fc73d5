"""Backup (loaner) terminals: offering a merchant a loaner while theirs is repaired,
the switch on site, and the return.

- `service`: the backup's states, reservations from the loaner pool, the merchant's
  SMS offer and YES/NO reply.
- `views`: the backups page (HTML); `api`: the same as JSON on /api/v1.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the backups page and API and connect the signal receivers."""
    from flask_babel import lazy_gettext as _l

    from core.web import add_nav
    from dispatch.backup import (
        api,  # noqa: F401  (its routes register on core.api.api_v1)
        service,
    )
    from dispatch.backup.views import ROLES, bp

    app.register_blueprint(bp)
    service.connect_signals()
    add_nav(app, _l("Backups"), "backup.backups_page", ROLES, order=62)
