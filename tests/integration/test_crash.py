"""SIGKILL at random points: nothing is lost, the ledger stays consistent, duplicates are rare.

`ledgerbot run`, `ledgerbot import` and `ledgerbot sweep` run as real subprocesses; the bot
talks to the fake Bot API server on 127.0.0.1 through python-telegram-bot's own HTTP client.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from ledger.db import make_engine
from ledger.migrate import upgrade
from ledger.models import DeliveryWorker, Outbox, SweepRun, Task
from tests.factories import NOTICE_KEY, task_row, write_xlsx
from tests.support.bulk import insert_bound_officials, pending_nudges
from tests.support.fake_bot_api import FakeBotApi

TOKEN = "123456:CRASHTESTTOKENabcdefghijklmnop"
LEDGERBOT = str(Path(sys.executable).with_name("ledgerbot"))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERBOT_")}
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    env.update(
        {
            "LEDGERBOT_CONFIG": str(tmp_path / "empty.toml"),
            "LEDGERBOT_DATABASE_URL": database_url,
            "LEDGERBOT_EVIDENCE_DIR": str(tmp_path / "evidence"),
            "LEDGERBOT_CALENDAR_FILE": str(tmp_path / "none.toml"),
            "LEDGERBOT_WEB__LISTEN": f"127.0.0.1:{free_port()}",  # the web of `ledgerbot run`
            **extra,
        }
    )
    return env


def kill_after(
    args: list[str], env: dict[str, str], seconds: float, log: Path | None = None
) -> bool:
    """Start, SIGKILL after `seconds`; True if it was still running (really killed)."""
    with open(log or os.devnull, "ab") as err:  # a file, not a pipe nobody drains
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        process.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True


def test_run_killed_repeatedly_delivers_everything(tmp_path, database_url, capsys):
    """8 SIGKILLs while 300 reminders go out: all delivered within 30 s of the last restart,
    at most one duplicate per kill. The claims of a killed process come back at once (SQLite:
    at start; PostgreSQL: when its heartbeat stops), not when their 60-second lease ends."""
    engine = make_engine(database_url)
    upgrade(engine)
    now = datetime.now(UTC) - timedelta(minutes=1)
    messages, kills_wanted = 300, 8
    with Session(engine) as session:
        insert_bound_officials(session, messages, now=now, chat_base=30_000)
        session.execute(sa.insert(Outbox), pending_nudges(messages, now=now, by="陈静"))
        session.commit()
    fake = FakeBotApi().start()
    env = environment(
        database_url,
        tmp_path,
        **{
            "LEDGERBOT_TELEGRAM__TOKEN": TOKEN,
            "LEDGERBOT_TELEGRAM__API_BASE_URL": fake.base_url,
            "LEDGERBOT_TELEGRAM__FILE_BASE_URL": fake.file_base_url,
            "LEDGERBOT_DELIVERY__DISPATCH_INTERVAL": "0.2",
            "LEDGERBOT_DELIVERY__HEARTBEAT_SECONDS": "1",  # the lease stays at its 60 s
            "LEDGERBOT_LOG_LEVEL": "DEBUG",
        },
    )
    rng = random.Random(20261201)
    log = tmp_path / "run.log"
    kills, started, killed_during = 0, time.monotonic(), []
    try:
        while kills < kills_wanted:  # killed at a random point, then restarted
            before = len(fake.sent_messages())
            kills += kill_after([LEDGERBOT, "run"], env, rng.uniform(1.5, 3.0), log)
            killed_during.append((before, len(fake.sent_messages())))
        restarted = time.monotonic()
        with open(log, "ab") as err:
            process = subprocess.Popen(
                [LEDGERBOT, "run"], env=env, stdout=subprocess.DEVNULL, stderr=err
            )
            deadline = restarted + 60
            while time.monotonic() < deadline:
                if len({s.chat_id for s in fake.sent_messages()}) == messages:
                    break
                time.sleep(0.1)
            took = time.monotonic() - restarted
            process.send_signal(signal.SIGTERM)  # graceful: finishes the message in flight
            process.wait(timeout=30)
    finally:
        fake.stop()
    stderr = log.read_bytes()
    per_chat = Counter(s.chat_id for s in fake.sent_messages())
    duplicates = sum(n - 1 for n in per_chat.values())
    with capsys.disabled():
        print(
            f"\ncrash test: {messages} messages, {kills} SIGKILLs, {duplicates} duplicates, "
            f"all delivered {took:.1f} s after the last restart, {fake.too_many} answered 429, "
            f"{time.monotonic() - started:.0f} s in all; sent before/after each kill: "
            f"{killed_during}"
        )
    assert len(per_chat) == messages  # every reminder delivered
    assert took <= 30
    assert killed_during[-1][1] < messages  # the kills really fell during delivery
    assert duplicates <= kills  # at most one per kill: each part is recorded as accepted
    try:
        with Session(engine) as session:
            statuses = dict(
                session.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all()
            )
            workers = session.exec(select(func.count()).select_from(DeliveryWorker)).one()
    finally:
        engine.dispose()  # also when an assertion below fails: no connection left for the GC
    assert statuses == {"sent": messages}  # nothing left claimed or waiting
    if database_url.startswith("sqlite"):
        # SQLite releases every earlier claim at start, so the last graceful stop leaves none;
        # on PostgreSQL the beat of the last killed process may still be younger than three
        # intervals when delivery is done; a live worker reaps it once it is older
        assert workers == 0
    assert process.returncode == 0
    assert TOKEN.encode() not in stderr and b"<token>" in stderr  # DEBUG logs, scrubbed


def test_import_killed_midway_is_all_or_nothing(tmp_path, database_url):
    rows = [
        task_row(
            n,
            "2026-12-31",
            f"人员{n % 300}",
            aspect=f"（{n % 7 + 1}）方面",
            problem=f"{n % 5 + 1}、问题",
        )
        for n in range(1, 2501)
    ]
    sheet = write_xlsx(tmp_path / "big.xlsx", rows)
    env = environment(database_url, tmp_path)
    args = [LEDGERBOT, "import", str(sheet), "--round", "大台账"]
    engine = make_engine(database_url)
    upgrade(engine)
    rng = random.Random(7)
    try:
        for _ in range(3):
            kill_after(args, env, rng.uniform(0.5, 2.5))
            with Session(engine) as session:
                assert session.exec(select(func.count()).select_from(Task)).one() in (0, 2500)
        assert subprocess.run(args, env=env, capture_output=True).returncode == 0
        with Session(engine) as session:
            assert session.exec(select(func.count()).select_from(Task)).one() == 2500
        again = subprocess.run(args, env=env, capture_output=True, text=True)
        assert "新增 0 项，更新 0 项，未变 2500 项" in again.stdout
    finally:
        engine.dispose()


def test_sweep_killed_midway_is_all_or_nothing(tmp_path, database_url):
    rows = [task_row(n, "2026-11-05", f"人员{n}") for n in range(1, 1501)]
    env = environment(database_url, tmp_path)
    engine = make_engine(database_url)
    upgrade(engine)
    try:
        assert (
            subprocess.run(
                [LEDGERBOT, "import", str(write_xlsx(tmp_path / "s.xlsx", rows)), "--round", "R"],
                env=env,
                capture_output=True,
            ).returncode
            == 0
        )
        args = [LEDGERBOT, "sweep", "--at", "2026-11-02T09:00+08:00"]
        rng = random.Random(11)
        seen = []
        for _ in range(3):
            kill_after(args, env, rng.uniform(0.4, 1.5))
            with Session(engine) as session:
                seen.append(
                    (
                        session.exec(select(func.count()).select_from(SweepRun)).one(),
                        session.exec(select(func.count()).select_from(Outbox)).one(),
                    )
                )
            if seen[-1][0]:
                break  # one sweep completed: later runs at that instant queue nothing new
        assert subprocess.run(args, env=env, capture_output=True).returncode == 0
        with Session(engine) as session:
            keys = session.exec(select(*NOTICE_KEY)).all()
            (told,) = session.exec(select(Outbox).where(Outbox.kind == "oversight")).all()
        # a row per owner, the leader's one oversight notice counting all 1500 (listing the
        # most urgent), the Monday digests
        assert len(keys) == len(set(keys)) > 1500 and told.params["count"] == 1500
        assert all(state in ((0, 0), (1, len(keys))) for state in seen), seen
    finally:
        engine.dispose()


@pytest.mark.sqlite_only
def test_backup_taken_mid_import_restores_a_consistent_ledger(tmp_path, database_url):
    rows = [task_row(n, "2026-12-31", f"人员{n % 200}") for n in range(1, 3001)]
    sheet = write_xlsx(tmp_path / "big.xlsx", rows)
    evidence = tmp_path / "evidence" / "task-1"
    evidence.mkdir(parents=True)
    (evidence / "纪要.pdf").write_bytes(b"minutes")
    env = environment(database_url, tmp_path)
    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    importer = subprocess.Popen(
        [LEDGERBOT, "import", str(sheet), "--round", "备份测试"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # the import is reading the sheet or writing its transaction
    backup = subprocess.run(
        [LEDGERBOT, "backup", str(tmp_path / "bak")], env=env, capture_output=True, text=True
    )
    still_importing = importer.poll() is None
    importer.wait(timeout=60)
    assert backup.returncode == 0, backup.stderr
    restored = tmp_path / "bak" / "ledgerbot.db"
    assert (tmp_path / "bak").stat().st_mode & 0o077 == 0
    assert (tmp_path / "bak" / "evidence" / "task-1" / "纪要.pdf").read_bytes() == b"minutes"
    import sqlite3

    with sqlite3.connect(restored) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tasks = check.execute("SELECT count(*) FROM task").fetchone()[0]
    assert tasks in (0, 3000), tasks  # the import is in the backup wholly or not at all
    restored_env = environment(f"sqlite:///{restored}", tmp_path)
    listing = subprocess.run([LEDGERBOT, "tasks"], env=restored_env, capture_output=True, text=True)
    assert listing.returncode == 0
    assert ("共 3000 项" in listing.stdout) == (tasks == 3000)
    assert still_importing or tasks == 3000  # the backup really raced the import, or followed it


def test_backup_of_postgresql_points_to_pg_dump(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LEDGERBOT_DATABASE_URL", "postgresql+psycopg://u@localhost/db")
    from cli.main import main

    assert main(["backup", str(tmp_path / "b")]) == 1
    assert "pg_dump" in capsys.readouterr().err
