"""Inventory's vocabularies (core.words): part kinds, stock locations, ledger moves,
reservations and serial units, each code with its label in the reader's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core.words import register

PART_KIND = {
    "card_reader": _l("Card reader"), "printer": _l("Printer"), "battery": _l("Battery"),
    "display": _l("Display"), "main_board": _l("Main board"), "comm_module": _l("Comm module"),
    "power_adapter": _l("Power adapter"), "keypad": _l("Keypad"), "paper": _l("Paper roll"),
    "terminal": _l("Terminal"),
}
LOCATION_KIND = {"depot": _l("Depot"), "van": _l("Van")}
MOVE_KIND = {
    "receive": _l("Received"),
    "transfer": _l("Transfer"),
    "reserve": _l("Reserved"),
    "release": _l("Released"),
    "consume": _l("Used"),
    "return_faulty": _l("Faulty returned"),
    "adjust": _l("Adjusted"),
}
RESERVATION_STATUS = {"active": _l("Reserved"), "released": _l("Released"),
                      "consumed": _l("Used")}
SERIAL_UNIT_STATUS = {"in_stock": _l("In stock"), "installed": _l("Installed"),
                      "faulty": _l("Faulty"), "scrapped": _l("Scrapped")}

register("part_kind", PART_KIND)
register("location_kind", LOCATION_KIND)
register("move_kind", MOVE_KIND)
register("reservation_status", RESERVATION_STATUS)
register("serial_unit_status", SERIAL_UNIT_STATUS)
