"""The Alembic migrations must build exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app import MODEL_MODULES
from core.db import import_all_models, make_engine, metadata
from core.migrate import alembic_config


def _fresh_url(db_url, tmp_path):
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/migrated.db", None
    # PostgreSQL: migrate into a separate schema of the test database
    return db_url, "migrated"


def test_migrations_match_the_models(db_url, tmp_path):
    from alembic import command

    import_all_models(MODEL_MODULES)
    url, schema = _fresh_url(db_url, tmp_path)
    engine = make_engine(url)
    if schema:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
