"""core.db.unit_of_work and its variants: a unit keeps all of its writes or none, a
joined step leaves the decision to its caller, a discarded unit keeps nothing, and
end_transaction hands a session's work over before sessions of their own run."""
import pytest
from sqlmodel import Session, select

from core.db import end_transaction, unit_of_work
from core.models import Region


def _region(code: str) -> Region:
    return Region(code=code, name=code, center_lat=0, center_lon=0, min_lat=0, max_lat=1,
                  min_lon=0, max_lon=1)


def _codes(engine) -> list[str]:
    with Session(engine) as s:
        return sorted(r.code for r in s.exec(select(Region)).all())


def test_a_unit_commits_its_writes_once_at_its_end(engine):
    with Session(engine) as s, unit_of_work(s):
        s.add(_region("A"))
        s.flush()
        assert _codes(engine) == []  # another session sees nothing before the end
    assert _codes(engine) == ["A"]


def test_a_unit_that_fails_keeps_nothing(engine):
    with Session(engine) as s:
        with pytest.raises(RuntimeError), unit_of_work(s):
            s.add(_region("A"))
            s.flush()
            raise RuntimeError("half-way")
        assert not s.in_transaction()
    assert _codes(engine) == []


def test_a_joined_step_only_flushes_and_the_caller_decides(engine):
    with Session(engine) as s, pytest.raises(RuntimeError), unit_of_work(s):
        s.add(_region("A"))
        with unit_of_work(s, commit=False):
            s.add(_region("B"))
        assert _codes(engine) == []  # the step did not commit the caller's unit
        raise RuntimeError("the caller fails after the step")
    assert _codes(engine) == []
    with Session(engine) as s, unit_of_work(s):
        s.add(_region("A"))
        with unit_of_work(s, commit=False):
            s.add(_region("B"))
    assert _codes(engine) == ["A", "B"]


def test_a_discarded_unit_keeps_nothing_and_raises_nothing(engine):
    with Session(engine) as s:
        with unit_of_work(s) as unit:
            s.add(_region("A"))
            s.flush()
            unit.discard()
        assert not s.in_transaction()
    assert _codes(engine) == []


def test_a_joined_step_cannot_discard_its_callers_work(engine):
    with Session(engine) as s, pytest.raises(RuntimeError), unit_of_work(s):
        s.add(_region("A"))
        with unit_of_work(s, commit=False) as step:
            step.discard()
    assert _codes(engine) == []


def test_end_transaction_keeps_what_the_session_holds_and_can_read_again(engine):
    with Session(engine, expire_on_commit=False) as s:
        s.add(_region("A"))
        s.flush()
        end_transaction(s)  # handed over, not dropped
        assert not s.in_transaction()
        assert _codes(engine) == ["A"]
        mine = s.exec(select(Region)).one()
        with Session(engine) as other, unit_of_work(other):
            other.exec(select(Region)).one().name = "changed elsewhere"
        assert mine.name == "A"  # the session's copy, until it reads again
        end_transaction(s, reread=True)
        assert mine.name == "changed elsewhere"
