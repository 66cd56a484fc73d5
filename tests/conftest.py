"""Test fixtures: every database test runs on SQLite and, in the PostgreSQL pass
(FIXROUTE_TEST_DB=postgresql), on a fresh PostgreSQL database made for this run so
that parallel runs never see each other's rows."""
from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session

from app import MODEL_MODULES
from core.db import import_all_models, make_engine, metadata
from tests.builders.world import make_world

PG_ADMIN_URL = os.environ.get("FIXROUTE_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_FIXTURES = {"db_url", "_app", "engine", "app", "db", "client"}


def _backend() -> str:
    return os.environ.get("FIXROUTE_TEST_DB", "sqlite")


def pytest_report_header(config):
    return f"database backend: {_backend()}"


def pytest_collection_modifyitems(config, items):
    """The PostgreSQL pass runs only the tests that touch a database."""
    if _backend() != "postgresql":
        return
    keep, drop = [], []
    for item in items:
        (keep if DB_FIXTURES & set(getattr(item, "fixturenames", ())) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _create_pg_database() -> tuple[str, callable]:
    name = f"fixroute_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return url, drop


@pytest.fixture(scope="session")
def db_url() -> Iterator[str]:
    if _backend() == "postgresql":
        url, drop = _create_pg_database()
        yield url
        drop()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/test.db"


@pytest.fixture(scope="session")
def _schema(db_url: str) -> str:
    import_all_models(MODEL_MODULES)
    engine = make_engine(db_url)
    metadata.create_all(engine)
    engine.dispose()
    return db_url


@pytest.fixture(scope="session")
def _app(_schema: str, tmp_path_factory):
    from app import create_app

    upload_dir = tmp_path_factory.mktemp("uploads")
    app = create_app(
        {"database_url": _schema, "secret_key": "test-secret", "upload_dir": str(upload_dir)},
        {"TESTING": True, "WTF_CSRF_ENABLED": False},
    )
    yield app
    app.extensions["fixroute.engine"].dispose()


def _wipe(engine) -> None:
    tables = list(reversed(metadata.sorted_tables))
    # DELETE beats TRUNCATE by far on the handful of rows a test leaves behind.
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        for t in tables:
            conn.execute(t.delete())


def _stop_children() -> None:
    """A solve started by a test (spawned process) must not outlive it: it would keep
    writing to the database while the next test runs."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.terminate()
        child.join(5)


@pytest.fixture
def app(_app):
    """The app, with an empty database after the test."""
    yield _app
    _stop_children()
    _wipe(_app.extensions["fixroute.engine"])


@pytest.fixture
def engine(app):
    return app.extensions["fixroute.engine"]


@pytest.fixture
def db(engine) -> Iterator[Session]:
    session = Session(engine, expire_on_commit=False)
    yield session
    session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(db):
    """The small world of tests/builders/world.py, for tests that take it as an argument."""
    return make_world(db)
