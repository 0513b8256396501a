"""Each rule has one home: the literal that states it appears there and nowhere else."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SOURCES = [p for d in ("ledger", "bot", "jobs", "cli") for p in (ROOT / d).rglob("*.py")]
# the sweep (jobs/sweep.py) is being rewritten onto the ledger's write path (#18); it still
# states "open" and "red" in its own SQL until then
SOURCES = [p for p in SOURCES if "migrations" not in p.parts and p.name != "sweep.py"]

# (what the rule is, a pattern that restates it, the one file allowed to state it; "-": none)
RULES = [
    ("open = not started or in progress", r"NOT_STARTED,\s*TaskStatus\.IN_PROGRESS", "enums.py"),
    (
        "open, as plain values",
        r"\"not_started\", \"in_progress\"\]|NOT_STARTED\.value, TaskStatus\.IN_PROGRESS",
        "-",
    ),
    ("the manager roles", r"OfficialRole\.SUPERVISOR,\s*OfficialRole\.LEADER", "enums.py"),
    ("the light icons", r"Light\.RED:\s*\"|\"red\":\s*\"🔴\"", "texts.py"),
    ("the day phrases", r"render\(\"days\.(left|today|overdue)\"", "texts.py"),
    ("the done words", r"\"已完成整改\", \"整改完成\"", "texts.py"),
    ("a callback's wire format", r"f\"a:\{|f\"p:\{|\"a:\" \+", "callbacks.py"),
    ("Telegram's rendering of an invite", r"t\.me/", "invites.py"),
    ("where a notice is routed", r"Contact\.preferred", "contacts.py"),
    ("red: overdue", r"deadline\s*<\s*today", "lights.py"),
    (
        "open, in SQL",
        r"in_\(OPEN_STATUSES\)|in_\(\[s\.value for s in OPEN_STATUSES\]\)",
        "lights.py",
    ),
]


@pytest.mark.parametrize(("rule", "pattern", "home"), RULES, ids=[r[0] for r in RULES])
def test_a_rule_is_stated_in_its_one_home(rule, pattern, home):
    found = {p.name for p in SOURCES if re.search(pattern, p.read_text(encoding="utf-8"))}
    assert found == ({home} - {"-"}), f"{rule}: stated in {sorted(found)}"


def test_every_notice_kind_written_anywhere_is_a_notice_kind():
    """Kinds are one enum (`NoticeKind`): a kind spelled as text anywhere, the sweep's SQL
    and the lifecycle's events included, must be one of its values."""
    from ledger.enums import NoticeKind

    spelled = set()
    for path in [*SOURCES, ROOT / "jobs" / "sweep.py"]:
        if path.name == "sheets.py":  # a spreadsheet range's kind, not a notice's
            continue
        text = path.read_text(encoding="utf-8")
        spelled |= set(re.findall(r"\bkind\s*(?:=|==)\s*\"([a-z_]+)\"(?!\s*\+)", text))
        spelled |= set(
            re.findall(r"_event\(\s*ctx,\s*task,\s*[\w.]+,\s*\"([a-z_]+)\"(?!\s*\+)", text)
        )
    assert spelled and spelled <= {k.value for k in NoticeKind}, spelled - set(NoticeKind)
