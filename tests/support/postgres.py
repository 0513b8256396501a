"""A throwaway PostgreSQL server for the tests: initdb in a temp folder, a unix socket, no TCP.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import sqlalchemy as sa

_BIN_CANDIDATES = [Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for folder in _BIN_CANDIDATES:
        if (folder / name).exists():
            return str(folder / name)
    raise RuntimeError(f"{name} not found: install PostgreSQL (apt-get install postgresql)")


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@dataclass
class PostgresServer:
    folder: Path
    port: int
    _names = count(1)

    @classmethod
    def start(cls) -> PostgresServer:
        folder = Path(tempfile.mkdtemp(prefix="ledgerbot-pg-"))
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        data = folder / "data"
        subprocess.run(
            _as_server_user(
                [
                    _tool("initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ]
            ),
            check=True,
            capture_output=True,
        )
        port = 54000 + os.getpid() % 1000
        options = (
            f"-c listen_addresses='' -k {folder} -p {port} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            _as_server_user(
                [
                    _tool("pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-w",
                    "-l",
                    str(folder / "server.log"),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        return cls(folder=folder, port=port)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.folder}&port={self.port}"

    def new_database(self) -> str:
        """A fresh, empty database for one test."""
        name = f"t{os.getpid()}_{next(self._names)}_{int(time.time() * 1000) % 100000}"
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            _as_server_user(
                [_tool("pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)
