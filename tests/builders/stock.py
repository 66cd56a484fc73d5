"""Stock: parts, a location's level of a part as the tests read it, and loaner
terminals in a depot's pool."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from dispatch.models import Terminal, TerminalModel
from inventory.models import Part, PartFit, SerialUnit, StockLevel, StockMove

if TYPE_CHECKING:  # world.py builds its card reader with make_part
    from tests.builders.world import World


def make_part(db: Session, sku: str, name: str, kind: str, *, fits: TerminalModel | None = None,
              **fields: Any) -> Part:
    """A spare part (fitting the `fits` terminal model, if given), committed."""
    part = Part(sku=sku, name=name, kind=kind, **fields)
    db.add(part)
    db.flush()
    if fits is not None:
        db.add(PartFit(part_id=part.id, terminal_model_id=fits.id))
    db.commit()
    return part


def make_board_in_van(db: Session, world: World) -> Part:
    """A serial-tracked main board (MB-PAX) fitting the world's terminal, its one unit
    MB0001 in tech01's van (level, ledger and unit written as rows), committed."""
    board = make_part(db, "MB-PAX", "Main board", "main_board", fits=world.model, serialized=True)
    db.add(StockLevel(location_id=world.van.id, part_id=board.id, on_hand=1))
    db.add(StockMove(kind="receive", part_id=board.id, location_id=world.van.id, on_hand_delta=1,
                     serial="MB0001"))
    db.add(SerialUnit(serial="MB0001", part_id=board.id, location_id=world.van.id))
    db.commit()
    return board


def level(db: Session, location_id: int, part_id: int) -> tuple[int, int, int]:
    """(on hand, reserved, faulty) of a part at a location as committed; (0, 0, 0)
    where the location never held it. Everything the session holds is read afresh."""
    db.expire_all()
    row = db.exec(select(StockLevel).where(StockLevel.location_id == location_id,
                                           StockLevel.part_id == part_id)).first()
    if row is None:
        return (0, 0, 0)
    return (row.on_hand, row.reserved, row.faulty)


def make_loaner(db: Session, world: World, serial: str, model_id: int | None = None) -> Terminal:
    """A loaner terminal in the pool of the world's depot, of the world's model unless
    told, committed."""
    loaner = Terminal(serial=serial, model_id=model_id or world.model.id, depot_id=world.depot.id,
                      status="pool", is_loaner=True)
    db.add(loaner)
    db.commit()
    return loaner
