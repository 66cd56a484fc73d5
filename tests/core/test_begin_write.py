"""begin_write: a unit of work joins a caller that already wrote, and on SQLite
otherwise takes the write lock before its first read."""
import threading

from sqlmodel import Session, select

from core.db import begin_write
from core.models import Region


def _region(code: str) -> Region:
    return Region(code=code, name=code, center_lat=0, center_lon=0, min_lat=0, max_lat=1,
                  min_lon=0, max_lon=1)


def test_pending_changes_of_the_caller_are_kept_in_the_same_transaction(engine):
    with Session(engine) as s:
        s.add(_region("A"))
        begin_write(s)  # must not commit "A" on its own
        s.rollback()
    with Session(engine) as s:
        assert s.exec(select(Region)).all() == []


def test_a_caller_that_already_wrote_is_joined_not_committed(engine):
    with Session(engine) as s:
        s.add(_region("B"))
        s.flush()
        begin_write(s)
        s.add(_region("C"))
        s.rollback()
    with Session(engine) as s:
        assert s.exec(select(Region)).all() == []


def test_read_then_write_units_do_not_lose_updates(engine):
    with Session(engine) as s:
        s.add(_region("N"))
        s.commit()
    errors = []

    def bump():
        try:
            for _ in range(10):
                with Session(engine) as s:
                    s.exec(select(Region)).all()  # a read first, as a request would
                    begin_write(s)
                    stmt = select(Region).where(Region.code == "N")
                    if engine.dialect.name == "postgresql":
                        stmt = stmt.with_for_update()
                    r = s.exec(stmt).one()
                    r.quiet_start_hour = (r.quiet_start_hour or 0) + 1
                    s.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with Session(engine) as s:
        start = s.exec(select(Region)).one().quiet_start_hour
    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(engine) as s:
        assert s.exec(select(Region)).one().quiet_start_hour == start + 40
