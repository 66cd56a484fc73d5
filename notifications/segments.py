"""How many SMS segments a body costs, GSM-7 or UCS-2 (3GPP TS 23.038 / 23.040).

GSM-7: the basic table costs one septet per character, the extension table (``^ { } \\
[ ~ ] | €`` and form feed) costs two (escape + character). One message holds 160
septets; a concatenated message holds 153 per segment (the user data header takes 7),
and an escape pair is never split across two segments.

UCS-2 (anything outside GSM-7, e.g. Chinese): one message holds 70 UTF-16 code units,
a concatenated one 67 per segment; characters outside the BMP (emoji) are surrogate
pairs, cost two units, and are never split across segments either.

Twilio's "smart encoding" is off in our sends, so this count is what the carrier bills.
"""
from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
_BASIC = frozenset(GSM7_BASIC)
_EXT = frozenset(GSM7_EXTENSION)

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    characters: int
    per_segment: int  # capacity of one segment for this body (160/153 or 70/67)

    @property
    def remaining(self) -> int:
        """Units left in the last segment before another segment is needed."""
        if self.segments <= 1:
            single = GSM7_SINGLE if self.encoding == "GSM-7" else UCS2_SINGLE
            return single - self.units
        return self.segments * self.per_segment - self.units  # upper bound (no split waste)


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXT for ch in text)


def _unit_costs(text: str) -> tuple[str, list[int]]:
    if is_gsm7(text):
        return "GSM-7", [2 if ch in _EXT else 1 for ch in text]
    return "UCS-2", [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text: str) -> SegmentInfo:
    encoding, costs = _unit_costs(text)
    units = sum(costs)
    single, multi = (GSM7_SINGLE, GSM7_MULTI) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_MULTI)
    if units <= single:
        return SegmentInfo(encoding, units, 1 if text else 0, len(text), single)
    # fill segments greedily; a two-unit character (escape pair, surrogate pair) that
    # does not fit in what is left of a segment starts the next one
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments += 1
            used = 0
        used += cost
    return SegmentInfo(encoding, units, segments, len(text), multi)
