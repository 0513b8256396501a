"""ledgerbot benchmarks: `python -m benchmarks.run` (see README). Figures, not tests.

Prints each figure beside its target with pass/fail and writes docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from benchmarks.synthetic import NOW, build
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


def sweep_once(engine: Engine, settings: Any) -> float:
    policy = SweepPolicy.from_settings(settings, WorkCalendar())

    def work() -> None:
        with session_scope(engine) as session:
            sweep(session=session, now=NOW, policy=policy)

    return timed(work)


def sweep_figures(size: int, dbs: Databases, settings: Any) -> list[Figure]:
    figures = []
    seconds: dict[float, float] = {}
    for fraction in (0.01, 1.0):
        url = dbs.fresh()
        engine = make_engine(url)
        build(engine, size, due_fraction=fraction)
        seconds[fraction] = sweep_once(engine, settings.model_copy(update={"database_url": url}))
        engine.dispose()
    targets_1pct = {100_000: 0.1, 1_000_000: 0.5}
    limit = targets_1pct.get(size)
    figures.append(
        Figure(
            "sweep, 1% due",
            size,
            dbs.kind,
            seconds[0.01],
            "s",
            f"< {limit} s" if limit else "",
            None if limit is None or dbs.kind != "sqlite" else seconds[0.01] < limit,
        )
    )
    full_limit = 5.0 if size == 1_000_000 else None
    figures.append(
        Figure(
            "sweep, 100% due",
            size,
            dbs.kind,
            seconds[1.0],
            "s",
            f"< {full_limit} s" if full_limit else "",
            None if full_limit is None or dbs.kind != "sqlite" else seconds[1.0] < full_limit,
        )
    )
    ratio = seconds[0.01] / seconds[1.0]
    figures.append(
        Figure(
            "sweep cost 1% / 100%",
            size,
            dbs.kind,
            ratio,
            "×",
            "< 1/20 (0.05)" if size == 1_000_000 else "",
            ratio < 0.05 if size == 1_000_000 and dbs.kind == "sqlite" else None,
        )
    )
    return figures


def sweep_memory(size: int, dbs: Databases) -> Figure:
    """Peak RSS of a process that runs one 1%-due sweep on a prepared ledger."""
    url = dbs.fresh()
    engine = make_engine(url)
    build(engine, size, due_fraction=0.01)
    engine.dispose()
    code = (
        "import resource,sys;from benchmarks.run import _memory_child;_memory_child(sys.argv[1]);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, cwd=ROOT, check=True
    )
    megabytes = int(out.stdout.strip().splitlines()[-1]) / 1024
    limit = 200 if size == 1_000_000 else None
    return Figure(
        "peak memory of a sweep (1% due)",
        size,
        dbs.kind,
        megabytes,
        "MB",
        f"< {limit} MB" if limit else "",
        megabytes < limit if limit and dbs.kind == "sqlite" else None,
    )


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

    for kind, n, limit in (("xlsx", 10_000, 10.0), ("csv", 100_000, 30.0)):
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
    parser.add_argument("--only", default="sweep,memory,import,dispatch,replies,queries")
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
                for size in sizes:
                    found: list[Figure] = []
                    if "sweep" in only:
                        found += sweep_figures(size, dbs, settings)
                    if "memory" in only and kind == "sqlite" and size == max(sizes):
                        found.append(sweep_memory(size, dbs))
                    if "import" in only and kind == "sqlite" and size == max(sizes):
                        found += import_figures(size, dbs, settings, folder)
                    if "dispatch" in only and kind == "sqlite" and size == max(sizes):
                        found.append(dispatch_figure(size, dbs, settings))
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
    raise NotImplementedError


def bot_figures(size: int, dbs: Databases, settings: Any, only: set[str]) -> list[Figure]:
    raise NotImplementedError


if __name__ == "__main__":
    sys.exit(main())
