"""Fault categories, triage steps and skills as data.

Drawn from how card-payment terminals really fail in the field. Each category says
what an agent tries remotely first, how bad it is for the merchant, and what a visit
most likely needs, so escalation can fill in a work order without guesswork."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from flask_babel import lazy_gettext as _l

SKILLS: dict[str, object] = {
    "hardware": _l("Hardware repair"),
    "card_reader": _l("Card reader / card slot"),
    "printer": _l("Printer"),
    "network": _l("Network and comms"),
    "software": _l("Software and firmware"),
    "smart_pos": _l("Smart (Android) terminals"),
    "install": _l("Installation"),
    "preventive": _l("Preventive maintenance"),
}

SEVERITIES = {
    "down": _l("Terminal down"),
    "degraded": _l("Degraded"),
    "cosmetic": _l("Cosmetic"),
}

TRIAGE_STEPS: dict[str, object] = {
    "restart": _l("Restart the terminal (hold power 10 s)"),
    "check_power": _l("Check the power adapter, cable and socket"),
    "check_battery": _l("Check battery charge and contacts"),
    "check_network": _l("Check network settings (APN / Wi-Fi / cable)"),
    "check_signal": _l("Check signal strength and SIM"),
    "check_paper": _l("Check the paper roll and printer cover"),
    "clean_card_slot": _l("Clean the card slot and try another card"),
    "check_account": _l("Check the merchant account status with the acquirer"),
    "check_binding": _l("Check the terminal is bound to the merchant ID"),
    "update_software": _l("Push the latest app / firmware update"),
    "reset_config": _l("Reload the terminal configuration (parameters download)"),
    "check_environment": _l("Check placement: heat, humidity, dust"),
}

TRIAGE_OUTCOMES = ("fixed", "not_fixed", "skipped", "not_applicable")


@dataclass(frozen=True)
class FaultCategory:
    code: str
    group: str
    name: object
    severity: str
    checklist: tuple[str, ...]
    skills: tuple[str, ...]
    parts: tuple[str, ...] = ()  # part kinds most likely needed
    service_minutes: int = 45
    symptoms: tuple[str, ...] = field(default_factory=tuple)


# What merchants say on the phone, per category: helps the agent pick the category.
SYMPTOMS: dict[str, tuple[object, ...]] = {
    "hw_screen": (_l("screen stays black"), _l("screen frozen or flickering"),
                  _l("cracked display")),
    "hw_keys": (_l("keys stuck or not responding"), _l("PIN entry fails")),
    "hw_card_reader": (_l("card not read (chip, swipe or contactless)"),
                       _l("\"read error\" or \"insert card again\"")),
    "hw_printer": (_l("receipt blank or faint"), _l("paper jam"), _l("printer cover error")),
    "hw_battery": (_l("switches off when unplugged"), _l("battery swollen or hot")),
    "hw_power": (_l("no light, no sound when switched on"), _l("restarts by itself")),
    "sw_crash": (_l("payment app closes or hangs"), _l("stuck on the start logo")),
    "sw_outdated": (_l("asks for an update"), _l("new card types refused")),
    "sw_config": (_l("wrong merchant name on receipts"), _l("wrong currency or tips setting")),
    "net_host": (_l("\"communication error\" or \"host unreachable\""),
                 _l("transactions time out")),
    "net_module": (_l("no signal or no SIM"), _l("cannot join the Wi-Fi")),
    "acct_frozen": (_l("\"merchant suspended\" or \"account frozen\""),
                    _l("all cards declined with the same code")),
    "acct_unbound": (_l("\"terminal not registered\" or \"TID invalid\""),
                     _l("new terminal never activated")),
    "env_damage": (_l("terminal very hot, in the sun or by the stove"),
                   _l("liquid spilled or damp"), _l("dust or grease in the slots")),
}

CATEGORIES: dict[str, FaultCategory] = {
    c.code: c
    for c in [
        FaultCategory("hw_screen", "hardware", _l("Screen black, frozen or cracked"), "down",
                      ("restart", "check_power"), ("hardware",), ("display",), 50),
        FaultCategory("hw_keys", "hardware", _l("Keys not responding"), "degraded",
                      ("restart", "clean_card_slot"), ("hardware",), ("keypad",), 40),
        FaultCategory("hw_card_reader", "hardware", _l("Card slot / card reader fails"), "down",
                      ("restart", "clean_card_slot", "update_software"),
                      ("hardware", "card_reader"), ("card_reader",), 45),
        FaultCategory("hw_printer", "hardware", _l("Printer does not print"), "degraded",
                      ("check_paper", "restart"), ("printer",), ("printer", "paper"), 35),
        FaultCategory("hw_battery", "hardware", _l("Battery does not hold charge"), "degraded",
                      ("check_battery", "check_power"), ("hardware",), ("battery",), 25),
        FaultCategory("hw_power", "hardware", _l("Will not power on"), "down",
                      ("check_power", "check_battery", "restart"), ("hardware",),
                      ("power_adapter", "main_board"), 50),
        FaultCategory("sw_crash", "software", _l("Payment app crashes or hangs"), "down",
                      ("restart", "update_software", "reset_config"), ("software",), (), 40),
        FaultCategory("sw_outdated", "software", _l("Outdated app or firmware"), "degraded",
                      ("update_software",), ("software",), (), 30),
        FaultCategory("sw_config", "software", _l("Wrong configuration (parameters)"), "degraded",
                      ("reset_config", "restart"), ("software",), (), 30),
        FaultCategory("net_host", "network", _l("Cannot reach the payment host"), "down",
                      ("check_network", "check_signal", "restart", "reset_config"),
                      ("network",), ("comm_module",), 45),
        FaultCategory("net_module", "network", _l("SIM, Wi-Fi or comm module fault"), "down",
                      ("check_signal", "check_network", "restart"), ("network",),
                      ("comm_module",), 45),
        FaultCategory("acct_frozen", "account", _l("Merchant account frozen"), "down",
                      ("check_account",), ("software",), (), 20),
        FaultCategory("acct_unbound", "account", _l("Terminal not bound to merchant"), "down",
                      ("check_binding", "reset_config"), ("software",), (), 25),
        FaultCategory("env_damage", "environment", _l("Heat, humidity or dust damage"), "degraded",
                      ("check_environment", "restart", "check_power"), ("hardware",),
                      ("main_board",), 60),
    ]
}

# each category carries what merchants typically report
CATEGORIES = {code: replace(c, symptoms=SYMPTOMS.get(code, ())) for code, c in CATEGORIES.items()}
