"""Consistent backups while the bot runs: SQLite's online backup API and the evidence folder."""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from ledger.errors import InvalidInput


@dataclass(frozen=True)
class BackupSummary:
    database: Path
    evidence_files: int


def backup(database_url: str, evidence_dir: Path, out: Path) -> BackupSummary:
    """Copy the database (a consistent snapshot, even mid-write) and the evidence into `out`.

    PostgreSQL has its own tool for this: pg_dump (see README).
    """
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise InvalidInput(
            "error.input",
            detail=(
                "ledgerbot backup copies a SQLite database; for PostgreSQL use "
                "pg_dump --format=custom (see README, Backups)"
            ),
        )
    source_path = Path(url.database)
    if not source_path.is_file():
        raise InvalidInput("error.input", detail=f"no database file at {source_path}")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    out.chmod(0o700)
    target_path = out / "ledgerbot.db"
    partial = out / "ledgerbot.db.partial"
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(partial)
    try:
        source.backup(target)  # pages copied under SQLite's own locking: one consistent state
        target.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
    finally:
        target.close()
        source.close()
    partial.replace(target_path)  # never a half-written backup under the final name
    copied = 0
    if evidence_dir.is_dir():
        destination = out / "evidence"
        shutil.rmtree(destination, ignore_errors=True)
        shutil.copytree(evidence_dir, destination)
        destination.chmod(0o700)
        copied = sum(1 for p in destination.rglob("*") if p.is_file())
    return BackupSummary(database=target_path, evidence_files=copied)
