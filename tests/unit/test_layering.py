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


def test_channels_share_nothing_with_telegram():
    """The mainland senders follow ledger.delivery's protocol, not the bot's code."""
    bad = {
        (f, m) for f, m in imported_modules("channels") if m in {"telegram", "bot", "jobs", "cli"}
    }
    assert bad == set()


def test_no_ledger_table_holds_a_telegram_id_and_no_ledger_code_names_telegram():
    """Identity left Telegram: addresses live only in the contacts (of people: `contact`; of
    group chats: `group_subscription`) and the sent messages, as plain channel addresses; no
    column is a Telegram or chat id, and no name in ledger/ says telegram (the enum members
    Channel.TELEGRAM and Via.TELEGRAM aside)."""
    from sqlmodel import SQLModel

    import ledger.models  # noqa: F401  (registers the tables)

    columns = {f"{t.name}.{c.name}" for t in SQLModel.metadata.tables.values() for c in t.columns}
    assert {c for c in columns if "telegram" in c or "chat_id" in c or "user_id" in c} == set()
    addressed = {c.split(".")[0] for c in columns if c.endswith(".address")}
    assert addressed == {"contact", "group_subscription", "sent_message"}
    named = set()
    for path in (ROOT / "ledger").rglob("*.py"):
        if "migrations" in path.parts:  # history: they move the old columns
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = (
                node.id
                if isinstance(node, ast.Name)
                else node.attr
                if isinstance(node, ast.Attribute)
                else node.arg or ""
                if isinstance(node, ast.arg | ast.keyword)
                else node.name
                if isinstance(node, ast.FunctionDef | ast.ClassDef)
                else ""
            )
            if "telegram" in name.lower() and name != "TELEGRAM":
                named.add((path.name, name))
    assert named == set()


def test_handlers_are_split_by_concern_into_modules_of_a_few_hundred_lines():
    sizes = {
        p.name: len(p.read_text(encoding="utf-8").splitlines())
        for p in (ROOT / "bot" / "handlers").glob("*.py")
    }
    assert len(sizes) >= 6 and max(sizes.values()) <= 300, sizes


def test_web_is_a_surface_that_calls_the_ledger_only():
    """web/ calls ledger/ (and config); never the bot, the jobs or the CLI."""
    assert {
        (f, m) for f, m in imported_modules("web") if m in {"bot", "jobs", "cli", "telegram"}
    } == set()
