"""The domain must not depend on the transport or the scheduler."""

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]


def imported_modules(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(path.name, alias.name.split(".")[0]) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((path.name, node.module.split(".")[0]))
    return found


TRANSPORTS = {"telegram", "httpx", "aiohttp", "requests", "smtplib", "aiosmtplib", "urllib3"}


def test_ledger_imports_neither_bot_jobs_nor_any_transport():
    """Delivery (ledger/delivery.py, ledger/worker.py) included: senders live outside."""
    bad = {
        (f, m)
        for f, m in imported_modules("ledger")
        if m in {"bot", "jobs", "cli", "web", "apscheduler", "starlette", "uvicorn"} | TRANSPORTS
    }
    assert bad == set()


def test_jobs_never_talk_to_telegram():
    assert {(f, m) for f, m in imported_modules("jobs") if m in {"telegram", "bot"}} == set()


def test_web_is_a_surface_that_calls_the_ledger_only():
    """web/ calls ledger/ (and config); never the bot, the jobs or the CLI."""
    assert {
        (f, m) for f, m in imported_modules("web") if m in {"bot", "jobs", "cli", "telegram"}
    } == set()
