"""Engine and sessions: one session per unit of work (a command, an update, a job)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from ledger import models  # noqa: F401  (registers the tables)


def _sqlite_path(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # owner-only from the first byte: the ledger is internal material
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        kwargs.setdefault("connect_args", {"timeout": 30})
    engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def create_schema(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Commit on success, roll back on any error: a unit of work is all or nothing."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Many new rows as plain INSERTs, one executemany per set of keys given: the ORM's bulk
    insert spends more time collecting each row than the database spends writing it."""
    table = model.__table__
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_keys.setdefault(tuple(row), []).append(row)
    for group in by_keys.values():
        session.execute(sa.insert(table), group)


def json_object(session: Session, pairs: list[tuple[str, Any]]) -> Any:
    """A JSON object built in SQL, as text: SQLite's json_object, PostgreSQL's
    json_build_object (an audit `after` for many rows in one INSERT … SELECT)."""
    args = [part for key, value in pairs for part in (key, value)]
    if session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.json_build_object(*args), sa.Text)
    return sa.func.json_object(*args)


COMPOUND_LIMIT = 400  # SQLite allows 500 terms in one compound SELECT


def literal_table(rows: list[dict[str, Any]], name: str) -> Any:
    """A few rows of Python values as a table to join (a UNION ALL of literal SELECTs): the
    small side of a set-based statement, e.g. the horizon's deadlines or the heads, so SQL
    never scans a table once per task. At most `COMPOUND_LIMIT` rows."""
    if not rows or len(rows) > COMPOUND_LIMIT:
        raise ValueError(f"literal_table takes 1 to {COMPOUND_LIMIT} rows, got {len(rows)}")
    selects = [
        sa.select(
            *(
                sa.literal(value, sa.Date).label(key)
                if isinstance(value, date)
                else sa.literal(value).label(key)
                for key, value in row.items()
            )
        )
        for row in rows
    ]
    return (sa.union_all(*selects) if len(selects) > 1 else selects[0]).subquery(name)


def scratch(session: Session, table: sa.Table, rows: Any, columns: list[str]) -> sa.Table:
    """Fill `table`, a TEMPORARY table of this connection, with `rows` (a select of
    `columns`): the working set several set-based statements join, worked out once and read
    by key instead of re-evaluated in each. Created if missing, emptied first."""
    session.execute(sa.schema.CreateTable(table, if_not_exists=True))
    session.execute(table.delete())
    session.execute(table.insert().from_select(columns, rows))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text(f"ANALYZE {table.name}"))  # autovacuum skips temp tables
    return table
