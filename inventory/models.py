"""Parts, stock locations, the stock ledger, levels and reservations.

Work orders are referred to by foreign key only (never imported): inventory sits
below dispatch in the dependency order."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import UTCDateTime
from core.timeutil import utcnow


class PartKind(StrEnum):
    CARD_READER = "card_reader"
    PRINTER = "printer"
    BATTERY = "battery"
    DISPLAY = "display"
    MAIN_BOARD = "main_board"
    COMM_MODULE = "comm_module"
    POWER_ADAPTER = "power_adapter"
    KEYPAD = "keypad"
    PAPER = "paper"
    TERMINAL = "terminal"


class Part(SQLModel, table=True):
    __tablename__ = "part"
    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=120)
    name_zh: str = Field(default="", max_length=120)
    kind: str = Field(max_length=24, index=True)
    serialized: bool = Field(default=False)
    unit_cost_cents: int = Field(default=0)
    reorder_point: int = Field(default=0)


class PartFit(SQLModel, table=True):
    __tablename__ = "part_fit"
    __table_args__ = (UniqueConstraint("part_id", "terminal_model_id"),)
    id: int | None = Field(default=None, primary_key=True)
    part_id: int = Field(foreign_key="part.id", index=True)
    terminal_model_id: int = Field(foreign_key="terminal_model.id", index=True)


class StockLocation(SQLModel, table=True):
    __tablename__ = "stock_location"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=8)  # depot, van
    depot_id: int | None = Field(default=None, foreign_key="depot.id", index=True)
    technician_id: int | None = Field(default=None, foreign_key="technician.id", index=True)


class StockLevel(SQLModel, table=True):
    """Cached sums of the ledger, kept in the same transaction as each move so the
    no-negative-stock rule can be enforced with one row lock."""

    __tablename__ = "stock_level"
    __table_args__ = (
        UniqueConstraint("location_id", "part_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("faulty >= 0", name="faulty_not_negative"),
    )
    id: int | None = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="stock_location.id", index=True)
    part_id: int = Field(foreign_key="part.id", index=True)
    on_hand: int = Field(default=0)
    reserved: int = Field(default=0)
    # faulty units returned from the field, waiting for repair or the vendor: never usable
    faulty: int = Field(default=0)


class StockMove(SQLModel, table=True):
    __tablename__ = "stock_move"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    kind: str = Field(max_length=16, index=True)  # receive, transfer, reserve, release, consume, return_faulty, adjust
    part_id: int = Field(foreign_key="part.id", index=True)
    location_id: int = Field(foreign_key="stock_location.id", index=True)
    # signed deltas applied to the location's levels
    on_hand_delta: int = Field(default=0)
    reserved_delta: int = Field(default=0)
    faulty_delta: int = Field(default=0)
    reservation_id: int | None = Field(default=None, foreign_key="reservation.id")
    counter_location_id: int | None = Field(default=None, foreign_key="stock_location.id")
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id", index=True)
    serial: str | None = Field(default=None, max_length=40)
    reason: str = Field(default="", max_length=255)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")


class Reservation(SQLModel, table=True):
    __tablename__ = "reservation"
    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    part_id: int = Field(foreign_key="part.id")
    location_id: int = Field(foreign_key="stock_location.id")
    qty: int
    consumed_qty: int = Field(default=0)
    released_qty: int = Field(default=0)
    status: str = Field(default="active", max_length=12)  # active, released, consumed
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SerialUnit(SQLModel, table=True):
    """A serial-tracked part (card reader, main board): where each serial is."""

    __tablename__ = "serial_unit"
    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=40, unique=True)
    part_id: int = Field(foreign_key="part.id", index=True)
    location_id: int | None = Field(default=None, foreign_key="stock_location.id", index=True)
    status: str = Field(default="in_stock", max_length=16)  # in_stock, installed, faulty, scrapped
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id")
