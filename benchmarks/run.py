"""ledgerbot benchmarks: `python -m benchmarks.run` (see README). Figures, not tests.

Prints each figure beside its target with pass/fail and writes docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from benchmarks.synthetic import NOW, TODAY, build
from config import load_settings
from jobs.policy import SweepPolicy
from jobs.sweep import sweep
from ledger.db import make_engine, session_scope
from ledger.workdays import WorkCalendar

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    name: str
    size: int
    db: str
    value: float
    unit: str
    target: str
    passed: bool | None  # None: no target at this size

    def row(self) -> str:
        verdict = {True: "pass", False: "**FAIL**", None: "—"}[self.passed]
        return (
            f"| {self.name} | {self.size:,} | {self.db} | {self.value:,.3f} {self.unit} | "
            f"{self.target} | {verdict} |"
        )


class Databases:
    """A fresh database per measurement: a SQLite file, or a database on a PostgreSQL server."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self.folder = folder
        self.server: Any = None
        self.count = 0
        if kind == "postgresql":
            from tests.support.postgres import PostgresServer

            self.server = PostgresServer.start()

    def fresh(self) -> str:
        self.count += 1
        if self.server is not None:
            return str(self.server.new_database())
        return f"sqlite:///{self.folder / f'bench{self.count}.db'}"

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def timed(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def sweep_once(engine: Engine, settings: Any, *, digest_day: bool = False) -> tuple[float, int]:
    """One sweep at NOW (a Tuesday): seconds and rows queued. Unless `digest_day`, this
    week's digest counts as sent (the digest is weekly; it has its own figure)."""
    if not digest_day:
        policy_settings = settings.policy.model_copy(update={"weekly_digest_weekday": 6})
        settings = settings.model_copy(update={"policy": policy_settings})
    policy = SweepPolicy.from_settings(settings, WorkCalendar())
    queued = 0

    def work() -> None:
        nonlocal queued
        with session_scope(engine) as session:
            queued = sweep(session=session, now=NOW, policy=policy).queued

    return timed(work), queued


def reference_sweep(path: Path, *, overdue: bool) -> tuple[float, int]:
    """The reference the issue measures against: bare `sqlite3`, one INSERT OR IGNORE …
    SELECT writing one row per due task (its owner, its stage) into an outbox idempotent by
    a unique key, on the same ledger file. Seconds and rows written."""
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        connection.executescript(
            """
            DROP TABLE IF EXISTS ref_outbox;
            CREATE TABLE ref_outbox (
                id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL, recipient_id INTEGER NOT NULL,
                stage TEXT NOT NULL, params TEXT NOT NULL, created_at TEXT NOT NULL,
                UNIQUE (task_id, recipient_id, stage));
            """
        )
        due = "t.deadline < ?" if overdue else "t.deadline BETWEEN ? AND ?"
        today = TODAY.isoformat()
        horizon = [today] if overdue else [today, (TODAY + timedelta(days=20)).isoformat()]
        start = time.perf_counter()
        cursor = connection.execute(
            "INSERT OR IGNORE INTO ref_outbox (task_id, recipient_id, stage, params, created_at) "
            "SELECT t.id, p.official_id, 'due:' || t.deadline, '{}', ? FROM task t "
            "JOIN task_person p ON p.task_id = t.id AND p.duty = 'owner' "
            f"WHERE t.status IN ('not_started', 'in_progress') AND {due}",
            [NOW.isoformat(), *horizon],
        )
        rows = cursor.rowcount
        connection.commit()
        return time.perf_counter() - start, rows
    finally:
        connection.close()


# name, due_fraction, overdue_fraction, target seconds at 1M
SCENARIOS = (
    ("sweep, 1% due", 0.01, 0.0, 0.2),
    ("sweep, 100% at a reminder stage", 1.0, 0.0, 3.0),
    ("sweep, 100% overdue 1-15 days (ladder fires)", 0.0, 1.0, 5.0),
)


def sweep_figures(size: int, dbs: Databases, settings: Any) -> list[Figure]:
    figures = []
    seconds: dict[str, float] = {}
    for name, due, overdue, limit in SCENARIOS:
        url = dbs.fresh()
        engine = make_engine(url)
        build(engine, size, due_fraction=due, overdue_fraction=overdue, overdue_spread=15)
        local = settings.model_copy(update={"database_url": url})
        reference = None
        if dbs.kind == "sqlite" and due + overdue == 1.0:
            reference = reference_sweep(Path(url.removeprefix("sqlite:///")), overdue=overdue > 0)
        took, queued = sweep_once(engine, local)
        seconds[name] = took
        target = limit if size == 1_000_000 else None
        figures.append(
            Figure(
                f"{name}: {queued:,} rows",
                size,
                dbs.kind,
                took,
                "s",
                f"< {target} s" if target else "",
                None if target is None or dbs.kind != "sqlite" else took < target,
            )
        )
        if reference is not None and queued:
            ref_seconds, ref_rows = reference
            multiple = (took / queued) / (ref_seconds / max(ref_rows, 1))
            targeted = size >= 100_000
            figures.append(
                Figure(
                    f"{name}: cost a row / reference's ({ref_seconds:.3f} s for "
                    f"{ref_rows:,} rows, {ref_seconds / max(ref_rows, 1) * 1e6:.2f} µs a row)",
                    size,
                    dbs.kind,
                    multiple,
                    "×",
                    "≤ 2×" if targeted else "",
                    multiple <= 2.0 if targeted else None,
                )
            )
        if due == 1.0:
            # a catch-up or manual re-run while the bot is down: everything is still pending
            again, _ = sweep_once(engine, local)
            figures.append(
                Figure(
                    "sweep again at the same instant, 100% still pending",
                    size,
                    dbs.kind,
                    again,
                    "s",
                    "",
                    None,
                )
            )
        engine.dispose()
    url = dbs.fresh()
    engine = make_engine(url)
    build(engine, size, due_fraction=0.01)
    digest, _ = sweep_once(
        engine, settings.model_copy(update={"database_url": url}), digest_day=True
    )
    engine.dispose()
    figures.append(
        Figure("sweep, 1% due, weekly-digest day", size, dbs.kind, digest, "s", "", None)
    )
    return figures


def command_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERBOT_")}
    env["LEDGERBOT_DATABASE_URL"] = url
    return env


# `python -m cli.main ARGS`, then the process's own peak memory on stderr (VmHWM: see
# `_peak_kilobytes`; read here so the child imports nothing the command would not)
_COMMAND = """
import sys
from cli.main import main
code = main(sys.argv[1:])
peak = [line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM:')]
sys.stderr.write(f"\\npeak_kb={peak[0] if peak else 0}\\n")
sys.exit(code)
"""


def run_command(args: list[str], url: str, folder: Path) -> tuple[float, float]:
    """Seconds for `ledgerbot ARGS` as a whole process (start-up included), and its peak
    memory in MB (0 where /proc is missing)."""
    command = [sys.executable, "-c", _COMMAND, *args]
    start = time.perf_counter()
    done = subprocess.run(command, env=command_env(url), cwd=folder, capture_output=True)
    took = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"ledgerbot {args[0]} failed: {done.stderr.decode()[-2000:]}")
    peak = done.stderr.decode().rpartition("peak_kb=")[2].strip()
    return took, int(peak or 0) / 1024


def command_figures(size: int, dbs: Databases) -> list[Figure]:
    """`ledgerbot sweep` (start, sweep, summary, the first 50 notices) on a ledger whose every
    task is 1-15 days overdue, then `ledgerbot export` of that ledger to xlsx."""
    url = dbs.fresh()
    engine = make_engine(url)
    build(engine, size, due_fraction=0.0, overdue_fraction=1.0, overdue_spread=15)
    engine.dispose()
    targeted = size == 100_000
    sweep_seconds, _ = run_command(["sweep", "--at", "2026-11-03T09:00+08:00"], url, dbs.folder)
    export_seconds, export_mb = run_command(
        ["export", str(dbs.folder / "export.xlsx")], url, dbs.folder
    )
    return [
        Figure(
            "`ledgerbot sweep`, whole process, 100% overdue",
            size,
            dbs.kind,
            sweep_seconds,
            "s",
            "< 5 s" if targeted else "",
            sweep_seconds < 5.0 if targeted and dbs.kind == "sqlite" else None,
        ),
        Figure(
            "`ledgerbot export` (xlsx), whole process",
            size,
            dbs.kind,
            export_seconds,
            "s",
            "< 30 s" if targeted else "",
            export_seconds < 30.0 if targeted and dbs.kind == "sqlite" else None,
        ),
        Figure("peak memory of `ledgerbot export`", size, dbs.kind, export_mb, "MB", "", None),
    ]


def sweep_memory(size: int, dbs: Databases) -> list[Figure]:
    """Peak RSS of a process that runs one sweep on a prepared ledger: 1% due, and every
    task overdue (the heaviest)."""
    figures = []
    for name, due, overdue in (("1% due", 0.01, 0.0), ("100% overdue 1-15 days", 0.0, 1.0)):
        url = dbs.fresh()
        engine = make_engine(url)
        build(engine, size, due_fraction=due, overdue_fraction=overdue, overdue_spread=15)
        engine.dispose()
        code = (
            "import sys;from benchmarks.run import _memory_child, _peak_kilobytes;"
            "_memory_child(sys.argv[1]);print(_peak_kilobytes())"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, url],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        megabytes = int(out.stdout.strip().splitlines()[-1]) / 1024
        limit = 100 if size == 1_000_000 else None
        figures.append(
            Figure(
                f"peak memory of a sweep ({name})",
                size,
                dbs.kind,
                megabytes,
                "MB",
                f"< {limit} MB" if limit else "",
                megabytes < limit if limit and dbs.kind == "sqlite" else None,
            )
        )
    return figures


def _peak_kilobytes() -> int:
    """This process's peak resident memory. Linux keeps ru_maxrss across exec, so a child
    forked from a big parent would report the parent's size; VmHWM starts afresh at exec."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _memory_child(url: str) -> None:
    settings = load_settings(database_url=url)
    engine = make_engine(url)
    sweep_once(engine, settings)
    engine.dispose()


def import_figures(size: int, dbs: Databases, settings: Any, folder: Path) -> list[Figure]:
    from openpyxl import Workbook

    from ledger.context import Actor, WorkContext
    from ledger.enums import Via
    from ledger.importer import RoundOptions, import_file
    from ledger.migrate import upgrade

    figures = []
    header = [
        "序号",
        "方面",
        "具体问题",
        "整改任务",
        "整改措施",
        "责任领导",
        "牵头单位",
        "责任人",
        "督办人",
        "整改时限",
    ]

    def rows(n: int) -> list[list[Any]]:
        return [
            [
                i,
                f"（{i % 6 + 1}）方面",
                f"{i % 5 + 1}、问题",
                f"任务{i}",
                "措施",
                f"领导{i % 20}",
                f"单位{i % 50}",
                f"人员{i % (n // 10 + 1)}",
                "督办员",
                "2027-06-30",
            ]
            for i in range(1, n + 1)
        ]

    for kind, n, limit in (("xlsx", 10_000, 10.0), ("csv", 100_000, 10.0)):
        n = min(n, size)
        path = folder / f"import{n}.{kind}"
        if kind == "xlsx":
            workbook = Workbook()
            sheet = workbook.active
            assert sheet is not None
            sheet.append(header)
            for row in rows(n):
                sheet.append(row)
            workbook.save(path)
        else:
            import csv

            with open(path, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(rows(n))
        url = dbs.fresh()
        engine = make_engine(url)
        upgrade(engine)
        local = settings.model_copy(update={"database_url": url})

        def work(engine: Engine = engine, local: Any = local, path: Path = path) -> None:
            with session_scope(engine) as session:
                ctx = WorkContext(
                    session=session, now=NOW, actor=Actor(via=Via.CLI), settings=local
                )
                import_file(ctx, path, RoundOptions(name="导入基准"))

        seconds = timed(work)
        engine.dispose()
        full = n == (10_000 if kind == "xlsx" else 100_000)
        figures.append(
            Figure(
                f"import of a {n:,}-row {kind}",
                n,
                dbs.kind,
                seconds,
                "s",
                f"< {limit:.0f} s" if full else "",
                seconds < limit if full and dbs.kind == "sqlite" else None,
            )
        )
    return figures


def write_report(figures: list[Figure], path: Path, notes: str) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Measured by `make bench` (`python -m benchmarks.run`) on the development machine "
        "(2 cores). Each figure is measured once on a fresh synthetic ledger (about one official "
        "per 10 tasks; see `benchmarks/synthetic.py`). Targets apply to SQLite; PostgreSQL "
        "figures are for comparison.",
        "",
        "| figure | tasks | database | measured | target | result |",
        "|---|---:|---|---:|---|---|",
        *[f.row() for f in figures],
        "",
        notes.strip(),
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql, or both")
    parser.add_argument(
        "--only",
        default="sweep,command,memory,import,dispatch,replies,queries",
        help="figures to measure; `channels` (WeCom, robots against their fakes) is not in the default",
    )
    parser.add_argument(
        "--pg-max",
        type=int,
        default=100_000,
        help="largest size measured on PostgreSQL (building 1M rows is slow)",
    )
    parser.add_argument(
        "--out",
        default=str(ROOT / "docs" / "benchmarks.md"),
        help="the markdown report; empty: print only",
    )
    parser.add_argument("--notes", type=Path, default=ROOT / "benchmarks" / "NOTES.md")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    only = set(args.only.split(","))
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    figures: list[Figure] = []
    print("| figure | tasks | database | measured | target | result |")
    with tempfile.TemporaryDirectory(prefix="ledgerbot-bench-") as tmp:
        folder = Path(tmp)
        settings = load_settings(database_url=f"sqlite:///{folder / 'x.db'}")
        for kind in kinds:
            dbs = Databases(kind, folder)
            try:
                for size in [z for z in sizes if kind == "sqlite" or z <= args.pg_max]:
                    found: list[Figure] = []
                    if "sweep" in only:
                        found += sweep_figures(size, dbs, settings)
                    if "command" in only and size == min(max(sizes), 100_000):
                        found += command_figures(size, dbs)
                    if "memory" in only and kind == "sqlite" and size == max(sizes):
                        found += sweep_memory(size, dbs)
                    if "import" in only and kind == "sqlite" and size == max(sizes):
                        found += import_figures(size, dbs, settings, folder)
                    if "dispatch" in only and kind == "sqlite" and size == max(sizes):
                        found.append(dispatch_figure(size, dbs, settings))
                    if "channels" in only and kind == "sqlite" and size == max(sizes):
                        from benchmarks.channels import channel_figures

                        found += channel_figures(dbs, settings, Figure, min(size, 50))
                    if (
                        ("replies" in only or "queries" in only)
                        and kind == "sqlite"
                        and size == min(max(sizes), 100_000)
                    ):
                        found += bot_figures(size, dbs, settings, only)
                    for figure in found:
                        print(figure.row(), flush=True)
                    figures += found
            finally:
                dbs.close()
    notes = args.notes.read_text(encoding="utf-8") if args.notes.is_file() else ""
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_report(figures, out, notes)
        print(f"\nwritten: {out}")
    failed = [f for f in figures if f.passed is False]
    print(f"{len(figures) - len(failed)} figures met or untargeted, {len(failed)} missed")
    return 0


def dispatch_figure(size: int, dbs: Databases, settings: Any) -> Figure:
    """Messages/s to the fake Bot API (50 ms per call, Telegram's limits) over distinct chats."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from bot.app import build_application
    from bot.dispatcher import Dispatcher
    from ledger.migrate import upgrade
    from ledger.models import Outbox
    from tests.support.bulk import insert_bound_officials, pending_nudges
    from tests.support.fake_bot_api import FakeBotApi

    count = min(3000, max(size // 10, 30))
    url = dbs.fresh()
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        insert_bound_officials(session, count, now=NOW, chat_base=50_000)
        session.execute(sa.insert(Outbox), pending_nudges(count, now=NOW, by="督办员"))
        session.commit()
    fake = FakeBotApi(latency=0.05).start()
    local = settings.model_copy(
        update={
            "database_url": url,
            "telegram": settings.telegram.model_copy(
                update={"api_base_url": fake.base_url, "file_base_url": fake.file_base_url}
            ),
        }
    )

    async def run() -> float:
        app = build_application(local, engine, token="123456:BENCHMARKTOKENabcdefghijklmn")
        await app.initialize()
        dispatcher = Dispatcher(app.bot, app.bot_data["services"])
        start = time.perf_counter()
        while dispatcher.stats.sent < count:
            before = dispatcher.stats.sent
            await dispatcher.drain(limit=200)
            if dispatcher.stats.sent == before:
                break
        elapsed = time.perf_counter() - start
        await app.shutdown()
        return elapsed

    try:
        elapsed = asyncio.run(run())
    finally:
        fake.stop()
        engine.dispose()
    rate = len(fake.sent_messages()) / elapsed
    full = count == 3000
    return Figure(
        f"dispatch, {count:,} chats, 50 ms/call ({fake.too_many} × 429)",
        size,
        dbs.kind,
        rate,
        "msg/s",
        ">= 25 msg/s, zero 429" if full else "",
        (rate >= 25 and fake.too_many == 0) if full else None,
    )


def bot_figures(size: int, dbs: Databases, settings: Any, only: set[str]) -> list[Figure]:
    """Replies through Application.process_update, and /overdue and /stats, on a big ledger."""
    from telegram import Update

    from bot.app import build_application
    from tests.fakes import RecordingRequest

    url = dbs.fresh()
    engine = make_engine(url)
    build(engine, size, due_fraction=0.0, overdue_fraction=0.01)
    local = settings.model_copy(update={"database_url": url})
    request = RecordingRequest()
    figures: list[Figure] = []
    officials = max(size // 10, 2)
    leaders = max(officials // 20, 1)
    supervisor = leaders + 1

    def message(user: int, text: str, n: int) -> dict[str, Any]:
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {
            "update_id": n,
            "message": {
                "message_id": n,
                "date": 0,
                "text": text,
                "entities": entities,
                "chat": {"id": 10_000_000 + user, "type": "private"},
                "from": {"id": 10_000_000 + user, "is_bot": False, "first_name": "x"},
            },
        }

    async def run() -> None:
        app = build_application(
            local,
            engine,
            token="123456:BENCHMARKTOKENabcdefghijklmn",
            request=request,
            rate_limited=False,
        )
        await app.initialize()
        if "replies" in only:
            latencies = []
            replies = min(600, size // 2)
            start = time.perf_counter()
            for n in range(1, replies + 1):
                task_id = size - n  # an owner's own, not-overdue task
                owner = leaders + 2 + (task_id % (officials - leaders - 1))
                text = (
                    f"/progress {task_id} 第{n}次推进" if n % 2 else f"/done {task_id} 已完成整改"
                )
                t0 = time.perf_counter()
                await app.process_update(Update.de_json(message(owner, text, n), app.bot))
                latencies.append(time.perf_counter() - t0)
            elapsed = time.perf_counter() - start
            rate = replies / elapsed
            p99 = sorted(latencies)[int(0.99 * (len(latencies) - 1))] * 1000
            full = size == 100_000
            figures.append(
                Figure(
                    "replies handled (done/progress)",
                    size,
                    dbs.kind,
                    rate,
                    "/s",
                    ">= 200/s" if full else "",
                    rate >= 200 if full else None,
                )
            )
            figures.append(
                Figure(
                    "reply latency p99",
                    size,
                    dbs.kind,
                    p99,
                    "ms",
                    "< 100 ms" if full else "",
                    p99 < 100 if full else None,
                )
            )
        if "queries" in only:
            for command in ("/overdue", "/stats"):
                times = []
                for n in range(5):
                    t0 = time.perf_counter()
                    await app.process_update(
                        Update.de_json(message(supervisor, command, 10_000 + n), app.bot)
                    )
                    times.append(time.perf_counter() - t0)
                median = statistics.median(times) * 1000
                full = size == 100_000
                figures.append(
                    Figure(
                        f"{command} (1% overdue)",
                        size,
                        dbs.kind,
                        median,
                        "ms",
                        "< 300 ms" if full else "",
                        median < 300 if full else None,
                    )
                )
        await app.shutdown()

    asyncio.run(run())
    engine.dispose()
    return figures


if __name__ == "__main__":
    sys.exit(main())
