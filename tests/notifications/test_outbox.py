"""enqueue_sms: validation, idempotency, opt-out suppression, quiet hours."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from freezegun import freeze_time
from sqlmodel import select

from core.errors import InvalidInput
from notifications.models import OutboundMessage, SmsOptOut
from notifications.outbox import enqueue_sms, opt_in, opt_out, quiet_until

NUMBER = "+8613812345678"


def _enqueue(db, key="k1", **kw):
    args = {"key": key, "to": NUMBER, "template": "visit_done", "locale": "en", "context": {"ref": "WO-1"}}
    args.update(kw)
    return enqueue_sms(db, **args)


def test_enqueue_renders_body_in_locale_and_counts_segments(db):
    row = _enqueue(db, locale="zh-CN")
    db.commit()
    assert row.status == "pending"
    assert row.locale == "zh"
    assert "WO-1" in row.body and row.body.startswith("【FixRoute】")
    assert (row.encoding, row.segments) == ("UCS-2", 1)


def test_same_key_twice_gives_one_message(db):
    first = _enqueue(db)
    db.commit()
    second = _enqueue(db, context={"ref": "WO-other"})
    db.commit()
    assert second.id == first.id
    assert len(db.exec(select(OutboundMessage)).all()) == 1


def test_same_key_twice_in_one_transaction_gives_one_message(db):
    first = _enqueue(db)
    second = _enqueue(db)
    db.commit()
    assert first is second
    assert len(db.exec(select(OutboundMessage)).all()) == 1


def test_national_number_is_rejected_naming_the_field(db):
    with pytest.raises(InvalidInput) as err:
        _enqueue(db, to="13812345678")
    assert err.value.fields[0]["field"] == "to"
    with pytest.raises(InvalidInput) as err:
        _enqueue(db, to="+86123")
    assert err.value.fields[0]["field"] == "to"


def test_number_is_stored_normalised(db):
    row = _enqueue(db, to="+86 138 1234 5678")
    assert row.to_number == NUMBER


def test_missing_context_value_names_the_key(db):
    with pytest.raises(InvalidInput) as err:
        _enqueue(db, context={})
    assert err.value.fields[0]["field"] == "context.ref"
    with pytest.raises(InvalidInput) as err:
        _enqueue(db, template="nope")
    assert err.value.fields[0]["field"] == "template"


def test_enqueue_does_not_commit(db, engine):
    _enqueue(db)
    db.rollback()
    assert db.exec(select(OutboundMessage)).first() is None


def test_opted_out_number_gets_a_suppressed_row(db):
    db.add(SmsOptOut(phone=NUMBER))
    db.commit()
    row = _enqueue(db)
    db.commit()
    assert row.status == "suppressed"
    assert "opted out" in row.error_message


def test_opt_out_suppresses_pending_and_opt_in_resumes(db):
    pending = _enqueue(db)
    db.commit()
    assert opt_out(db, NUMBER) is True
    assert opt_out(db, NUMBER) is False
    db.commit()
    db.refresh(pending)
    assert pending.status == "suppressed"
    assert opt_in(db, NUMBER) is True
    db.commit()
    assert _enqueue(db, key="k2").status == "pending"


@freeze_time("2026-11-24 14:30:00")  # 22:30 in Shanghai
def test_non_urgent_inside_quiet_hours_waits_until_they_end(db):
    row = _enqueue(db, urgent=False, region_tz="Asia/Shanghai", quiet_hours=(21, 8))
    assert row.next_attempt_at == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)  # 08:00 local
    urgent = _enqueue(db, key="k2", urgent=True, region_tz="Asia/Shanghai", quiet_hours=(21, 8))
    assert urgent.next_attempt_at == datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


@freeze_time("2026-11-24 03:00:00")  # 11:00 in Shanghai
def test_non_urgent_outside_quiet_hours_goes_now(db):
    row = _enqueue(db, urgent=False, region_tz="Asia/Shanghai", quiet_hours=(21, 8))
    assert row.next_attempt_at == datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def test_quiet_hours_wrap_midnight_and_same_day():
    tz = "Asia/Shanghai"
    def at(h):
        return datetime(2026, 11, 24, h, tzinfo=UTC)
    # 01:00 local (17:00 UTC the day before) is inside 21-8
    assert quiet_until(datetime(2026, 11, 23, 17, tzinfo=UTC), tz, (21, 8)) == at(0)
    assert quiet_until(at(5), tz, (21, 8)) is None  # 13:00 local
    # 12-14 local quiet (no wrap): 12:30 local -> 14:00 local
    assert quiet_until(datetime(2026, 11, 24, 4, 30, tzinfo=UTC), tz, (12, 14)) == at(6)
    assert quiet_until(at(5), tz, (8, 8)) is None
    assert quiet_until(at(5), None, (21, 8)) is None


def test_quiet_hours_respect_dst():
    # New York, 2026-03-08 DST starts at 02:00; 01:30 EST is inside 22-8 -> 08:00 EDT (12:00 UTC)
    now = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    assert quiet_until(now, "America/New_York", (22, 8)) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
