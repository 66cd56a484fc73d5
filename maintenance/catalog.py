"""What a preventive visit does, as data (the seeds' checklist)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

PM_CHECKLIST: dict[str, object] = {
    "clean_card_slot": _l("Clean the card slot"),
    "clean_printer_head": _l("Clean the printer head"),
    "check_battery": _l("Check the battery"),
    "update_firmware": _l("Update the firmware"),
    "check_network": _l("Check the network connection"),
}

SCOPE_KEYS = ("models", "regions", "tiers", "terminals")
TIERS = ("platinum", "gold", "standard")
