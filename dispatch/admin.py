"""What dispatch adds to the admin's pages (which live in core and know no dispatch
table): its figures on the overview, and how a technician code on the user forms
becomes a technician id and back."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlmodel import Session, select

from core.admin import add_admin_count, set_technician_lookup
from dispatch.models import OPEN_WORK_ORDER_STATUSES, Merchant, Technician, Terminal, WorkOrder


def _count(model):
    return lambda s: s.exec(select(func.count()).select_from(model)).one()


def _open_work_orders(session: Session) -> int:
    return session.exec(select(func.count()).select_from(WorkOrder).where(
        WorkOrder.status.in_([str(x) for x in OPEN_WORK_ORDER_STATUSES]))).one()


def technician_id_for_code(session: Session, code: str) -> int | None:
    """The id of the technician with this code (None if there is none)."""
    return session.exec(select(Technician.id).where(Technician.code == code)).first()


def technician_code_for_id(session: Session, technician_id: int) -> str | None:
    """The code of the technician with this id (None if there is none)."""
    tech = session.get(Technician, technician_id)
    return tech.code if tech else None


def init_app(app: Flask) -> None:
    add_admin_count(app, "merchants", _l("Merchants"), _count(Merchant), order=30)
    add_admin_count(app, "terminals", _l("Terminals"), _count(Terminal), order=40)
    add_admin_count(app, "technicians", _l("Technicians"), _count(Technician), order=50)
    add_admin_count(app, "open_work_orders", _l("Open work orders"), _open_work_orders, order=60)
    set_technician_lookup(app, technician_id_for_code, technician_code_for_id)
