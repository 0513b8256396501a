"""Applying the schema migrations (ledgerbot init / migrate, and every start)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


MIGRATION_LOCK_KEY = 0x1ED9E8


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """SQLite runs DDL outside transactions: processes on the host take turns by a file lock."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _sqlite_foreign_keys_checked_at_end(connection: sa.Connection) -> Iterator[None]:
    """SQLite rebuilds a table to change its columns, which a foreign key pointing to it would
    refuse midway: keys are off while migrating (a pragma that only works outside a
    transaction) and every key is checked before the migration commits."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    try:
        yield
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def _run(engine: Engine, action: str, revision: str) -> None:
    config = _config(engine)
    with (
        _sqlite_file_lock(engine),
        engine.connect() as connection,
        _sqlite_foreign_keys_checked_at_end(connection),
        connection.begin(),
    ):
        if connection.dialect.name == "postgresql":
            # processes starting together migrate one after the other; the rest find it done
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, "downgrade", revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
