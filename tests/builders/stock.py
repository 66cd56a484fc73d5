"""Stock as the tests read it: a location's level of a part, and loaner terminals in a
depot's pool."""
from __future__ import annotations

from sqlmodel import Session, select

from dispatch.models import Terminal
from inventory.models import StockLevel
from tests.builders.world import World


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
