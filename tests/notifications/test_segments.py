"""Segment counting, GSM-7 vs UCS-2, and the size of every template."""
from __future__ import annotations

import pytest

from notifications.segments import count_segments, is_gsm7
from notifications.sms_templates import TEMPLATES, render_sample


def test_gsm7_single_segment_holds_160_septets():
    assert count_segments("a" * 160).segments == 1
    info = count_segments("a" * 161)
    assert (info.encoding, info.segments, info.per_segment) == ("GSM-7", 2, 153)
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3


def test_gsm7_extension_characters_count_two_septets():
    info = count_segments("€" * 80)
    assert (info.encoding, info.units, info.segments) == ("GSM-7", 160, 1)
    assert count_segments("€" * 80 + "a").segments == 2
    assert count_segments("{}[]~|^\\").units == 16


def test_gsm7_escape_pair_is_not_split_across_segments():
    # 152 septets then a two-septet character: it cannot straddle, so 153 + the rest
    text = "a" * 152 + "€" + "a" * 152
    info = count_segments(text)
    assert info.units == 306
    assert info.segments == 3  # 152 | 2+151 | 1 -- without the rule it would be 2


def test_accented_gsm_letters_stay_gsm7_but_others_switch_to_ucs2():
    assert is_gsm7("café à Ñ ü")
    assert count_segments("naïve").encoding == "UCS-2"  # ï is not in the GSM table
    assert count_segments("it’s").encoding == "UCS-2"  # curly apostrophe


def test_ucs2_limits_70_and_67():
    assert count_segments("好" * 70).segments == 1
    info = count_segments("好" * 71)
    assert (info.encoding, info.segments, info.per_segment) == ("UCS-2", 2, 67)
    assert count_segments("好" * 134).segments == 2
    assert count_segments("好" * 135).segments == 3


def test_surrogate_pairs_count_two_units_and_are_not_split():
    assert count_segments("😀" * 35).units == 70
    assert count_segments("😀" * 35).segments == 1
    assert count_segments("😀" * 36).segments == 2
    info = count_segments("好" * 66 + "😀" + "好" * 66)
    assert info.units == 134
    assert info.segments == 3  # 66 | 2+65 | 1


def test_empty_body_is_zero_segments():
    assert count_segments("").segments == 0


@pytest.mark.parametrize("name", sorted(n for n, t in TEMPLATES.items() if t.common))
def test_every_template_is_one_segment_with_typical_values(name):
    en_body, en = render_sample(name, "en")
    zh_body, zh = render_sample(name, "zh")
    assert en.encoding == "GSM-7", en_body
    assert en.segments == 1, en_body
    assert zh.encoding == "UCS-2"
    assert zh.units <= 70 and zh.segments == 1, zh_body


@pytest.mark.parametrize("name", sorted(n for n, t in TEMPLATES.items() if not t.common))
def test_a_template_with_a_link_stays_short(name):
    """A notice that carries a link (the service report's) cannot be one segment in
    Chinese; it stays within two in English and three in Chinese."""
    en_body, en = render_sample(name, "en")
    zh_body, zh = render_sample(name, "zh")
    assert en.encoding == "GSM-7" and en.segments <= 2, en_body
    assert zh.encoding == "UCS-2" and zh.segments <= 3, zh_body
