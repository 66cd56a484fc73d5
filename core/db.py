"""Database engine, per-request session, the unit of work and column types shared by
every package.

Every write is a unit of work: `with unit_of_work(session):` begins (or joins) a
read-decide-write unit, commits once and rolls back on error. Services own their units;
views and API handlers get the request's session from `get_session()`, call a service
and never commit or roll back themselves (tests/core/test_unit_of_work_rule.py checks
this). A unit starts with `begin_write(session)`: on SQLite that opens the transaction
with `BEGIN IMMEDIATE`, which serialises writers; on PostgreSQL the services lock the
rows they change with `SELECT ... FOR UPDATE` instead. Plain reads use deferred
transactions so that they never block a writer.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g, has_request_context, request
from sqlalchemy import DateTime, Engine, MetaData, Result, Table, create_engine, event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, always returns aware UTC, refuses naive input: a naive
    datetime from a form or a test would otherwise be silently taken as UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # pragma: no cover - SQLite raw text
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


def is_sqlite(engine_or_session) -> bool:
    bind = getattr(engine_or_session, "bind", None) or engine_or_session
    return bind.dialect.name == "sqlite"


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("fixroute_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        conn.info[_WRITE_LOCKED] = immediate

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(conn, _cursor, statement, _params, _context, _executemany):
        # SQLite takes the write lock at a transaction's first write: remember it
        if not conn.info.get(_WRITE_LOCKED) and statement.lstrip()[:6].upper() not in _READS:
            conn.info[_WRITE_LOCKED] = True


_WRITE_LOCKED = "fixroute_write_locked"
_READS = {"SELECT", "PRAGMA", "BEGIN", "BEGIN ", "COMMIT", "ROLLBA", "SAVEPO", "RELEAS"}


def begin_write(session: Session) -> None:
    """Start (or join) a read-decide-write unit of work.

    A caller that already wrote in this transaction keeps it: the services it calls
    join it, so their changes land together with the caller's. Otherwise, on
    SQLite, a read-only transaction (e.g. the signed-in user's lookup) is ended and
    a new one takes the write lock at once, so a concurrent writer waits instead of
    failing half-way. On PostgreSQL an open transaction is always joined: there the
    services lock the rows they change (SELECT ... FOR UPDATE)."""
    if session.new or session.dirty or session.deleted:
        session.flush()  # the caller's pending changes belong to this unit
    if session.in_transaction():
        if not is_sqlite(session):
            return
        if session.connection().info.get(_WRITE_LOCKED):
            return
        session.commit()  # read-only so far: nothing is lost by ending it
    session.connection(execution_options={"fixroute_immediate": is_sqlite(session)})


# --- the unit of work ------------------------------------------------------------------
# One helper for every write: `unit_of_work(session)` begins (or joins) a
# read-decide-write unit, commits once and rolls back on error; with commit=False it
# joins the caller's unit and only flushes (a signal receiver, a step of a larger
# change). Whether the caller already wrote in this transaction is remembered per
# session by the two listeners below, registered once for every session.
#
# The variants, all here so that nothing else commits:
# - a job or command outside a request opens its own session and runs its units in it:
#   `with session_scope(engine) as session, unit_of_work(session): ...`;
# - a unit that decides, after reading under the lock, to keep nothing (a refused edit
#   that only reports, a job that lost its plan) says `unit.discard()`: it rolls back;
# - work that runs in sessions of its own (the SMS drain) or units of its own (the
#   scheduler's jobs) first ends the caller's transaction with `end_transaction()`:
#   on SQLite a writing request holds the write lock from its first statement;
# - a request that ends in an error drops what its session holds
#   (`discard_request_changes`, called by the app's error handlers).

_WROTE = "fixroute.wrote"


@event.listens_for(OrmSession, "after_flush")
def _mark_wrote(session: OrmSession, _ctx: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(OrmSession, "after_transaction_end")
def _clear_wrote(session: OrmSession, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def has_writes(session: Session) -> bool:
    """Did this transaction write anything yet (pending or flushed)?"""
    return bool(session.new or session.dirty or session.deleted or session.info.get(_WROTE))


def begin_unit(session: Session) -> None:
    """Start a read-decide-write unit, unless the caller already wrote in this
    transaction: then this is part of the caller's unit, which holds the write lock."""
    if not has_writes(session):
        begin_write(session)


class Unit:
    """The unit of work a `with unit_of_work(...) as unit:` body runs in."""

    def __init__(self, owns: bool) -> None:
        self.owns = owns
        self.discarded = False

    def discard(self) -> None:
        """End this unit without keeping anything: it rolls back instead of committing.
        For a check that can only be made after reading under the lock and that refuses
        without raising (an edit that reports its violations, a job's write that is no
        longer current, a replayed phone action). Only a unit of its own can: one joined
        with commit=False does not decide for its caller."""
        if not self.owns:
            raise RuntimeError("a unit joined with commit=False cannot discard its caller's work")
        self.discarded = True


@contextmanager
def unit_of_work(session: Session, commit: bool = True) -> Iterator[Unit]:
    """commit=True: a unit of its own (begin_write, commit once, roll back on error or
    when the body discards it).
    commit=False: part of the caller's unit (completing a visit, a signal receiver):
    only flush; the caller commits or rolls back."""
    unit = Unit(owns=commit)
    if not commit:
        begin_unit(session)
        yield unit
        session.flush()
        return
    begin_write(session)
    try:
        yield unit
        if unit.discarded:
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise


def end_transaction(session: Session, *, reread: bool = False) -> None:
    """End the session's open transaction, if any, before work that runs in sessions
    or units of its own: the SMS drain from a page (on SQLite a writing request holds
    the write lock from its first statement, and the drain's sessions would wait for it
    until the busy timeout), a scheduler job that works one unit per item, a poll that
    must see other sessions' commits (a SQLite WAL reader keeps its snapshot).

    The units before it committed their work; what is left is committed too (a test's
    rows handed to a job, say), never dropped. `reread=True` also expires what the
    session loaded, so that each object is read again, fresh, on its next use."""
    if session.in_transaction():
        session.commit()
    if reread:
        session.expire_all()


def discard_request_changes() -> None:
    """A request that ends in an error keeps nothing its session still holds. The
    services already rolled back their own units; this drops what is left (a read
    transaction, and on SQLite the write lock a writing request took at its start)."""
    session: Session | None = g.get("db_session")
    if session is not None:
        session.rollback()


def get_engine() -> Engine:
    return current_app.extensions["fixroute.engine"]


_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_session() -> Session:
    """The request's session, opened on first use and closed at teardown.

    On SQLite a request that may write (POST, PUT, PATCH, DELETE) takes the write lock
    when its transaction begins (BEGIN IMMEDIATE): a deferred transaction that read
    first (the signed-in user, the row it checks) cannot upgrade to a writer once
    another writer has committed, and SQLite answers "database is locked" at once
    instead of waiting out the busy timeout. Taken up front, the lock queues the
    writers behind each other. Reads (GET) stay deferred and never wait."""
    if "db_session" not in g:
        engine = get_engine()
        if is_sqlite(engine) and has_request_context() and request.method in _UNSAFE_METHODS:
            engine = engine.execution_options(fixroute_immediate=True)
        g.db_session = Session(engine, expire_on_commit=False)
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model (for bulk UPDATE/DELETE); SQLModel does not
    declare `__table__` to type checkers."""
    return model.__table__  # type: ignore[attr-defined]


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (its result is a CursorResult)."""
    return int(result.rowcount)  # type: ignore[attr-defined]


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session outside a request (CLI, scheduler, workers); its writes are units of
    work like any other (`with session_scope(engine) as s, unit_of_work(s): ...`)."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


_model_modules: tuple[str, ...] = ()


def register_model_modules(modules: Iterable[str]) -> None:
    """Name the modules that define tables and import them. The application names
    them once (`app.MODEL_MODULES`); core knows no domain package, so it is told."""
    global _model_modules
    _model_modules = tuple(modules)
    import_all_models()


def model_modules() -> tuple[str, ...]:
    """The registered model modules (to hand to a spawned process, which starts empty)."""
    return _model_modules


def import_all_models(modules: Iterable[str] | None = None) -> None:
    """Register every table on the shared metadata (Alembic, create_all and the spawned
    solve process need it): import `modules`, registering them, or the ones registered."""
    if modules is not None:
        global _model_modules
        _model_modules = tuple(modules)
    if not _model_modules:
        raise RuntimeError("no model modules registered: call core.db.register_model_modules "
                           "with app.MODEL_MODULES first")
    for name in ("core.models", *_model_modules):
        importlib.import_module(name)
