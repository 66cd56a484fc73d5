"""Read-only access to the few dispatch tables inventory needs (work orders, their
terminals, plans and visits) through the shared metadata, by table name.

Inventory sits below dispatch: it refers to work orders by foreign key and never
imports dispatch code. These Core table objects are the same tables the models
describe, so the columns cannot drift silently (a missing column fails loudly)."""
from __future__ import annotations

from sqlalchemy import Table

from core.db import import_all_models, metadata


def table(name: str) -> Table:
    if name not in metadata.tables:  # pragma: no cover - create_app imports all models
        import_all_models()
    return metadata.tables[name]


def work_order() -> Table:
    return table("work_order")


def terminal() -> Table:
    return table("terminal")


def plan() -> Table:
    return table("plan")


def visit() -> Table:
    return table("visit")


OPEN_WORK_ORDER_STATUSES = ("new", "ready", "planned", "dispatched", "en_route", "on_site",
                            "needs_follow_up")
