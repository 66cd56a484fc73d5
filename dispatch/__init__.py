"""The dispatch package: see DESIGN.md for what it owns."""
from __future__ import annotations


def init_app(app) -> None:
    """Register this package's blueprints, signal handlers and CLI commands."""
