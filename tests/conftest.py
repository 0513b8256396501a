"""Shared fixtures: a real SQLite file per test, settings built for it, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config import Settings, load_settings
from ledger.clock import FakeClock
from ledger.db import create_schema, make_engine
from tests.support.postgres import PostgresServer

SHANGHAI_9AM_UTC = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # Monday 2026-11-02 09:00 in Shanghai


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's environment or ./ledgerbot.toml."""
    import os

    for key in list(os.environ):
        if key.startswith("LEDGERBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LEDGERBOT_CONFIG", str(tmp_path / "none.toml"))
    # `ledgerbot init` writes the web key here, never into the checkout's secrets/
    import config.settings

    monkeypatch.setattr(config.settings, "DEFAULT_WEB_SECRET_FILE", tmp_path / "web_secret")
    (tmp_path / "none.toml").write_text("", encoding="utf-8")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="run the suite on a SQLite file (default) or on a throwaway PostgreSQL server",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: tests of SQLite-specific behaviour")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") == "postgresql":
        skip = pytest.mark.skip(reason="SQLite-specific (file permissions, WAL)")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer | None]:
    if request.config.getoption("--db") != "postgresql":
        yield None
        return
    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture
def database_url(postgres_server: PostgresServer | None, tmp_path: Path) -> str:
    """A fresh, empty database for each test: a SQLite file, or a new PostgreSQL database."""
    if postgres_server is not None:
        return postgres_server.new_database()
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        database_url=database_url,
        evidence_dir=tmp_path / "evidence",
        calendar_file=tmp_path / "calendar.toml",
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings.database_url)
    create_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SHANGHAI_9AM_UTC)
