"""Migrations: up, down and up again, and the migrated schema equals the models (both databases)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from ledger.db import make_engine
from ledger.migrate import current_revision, downgrade, head_revision, upgrade


def tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_stairway_up_down_up(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert tables(engine) == set(SQLModel.metadata.tables)
        downgrade(engine, "base")
        assert tables(engine) == set() and current_revision(engine) is None
        upgrade(engine)
        assert tables(engine) == set(SQLModel.metadata.tables)
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
        assert differences == []
    finally:
        engine.dispose()


def test_processes_starting_together_migrate_once(database_url):
    import threading

    engines = [make_engine(database_url) for _ in range(3)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def start(engine):
        try:
            barrier.wait()
            upgrade(engine)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert current_revision(engines[0]) == head_revision()
    finally:
        for engine in engines:
            engine.dispose()
