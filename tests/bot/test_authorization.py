"""Every command and button × every role: the expected outcome of each, in one table.

Task A is 赵磊's (leader 李明, supervisor 陈静, unit 办公室), open; task B is the same people's,
awaiting verification; task C belongs to 孙丽 (and 钱多, never bound) and 张伟 in another unit,
overdue. 王建国 heads 办公室; 周总 is a head with no unit (the whole organisation's).

The second table says what comes back: for each role and each answer that lists tasks, which
tasks and names appear in it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app import build_application
from ledger import lifecycle
from ledger.contacts import holder
from ledger.enums import Channel, OfficialRole
from ledger.models import Official, Outbox, Task
from tests.bot.conftest import TODAY, TOKEN, USERS, callback_update, feed, message_update
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import as_official, bind_telegram, build_ledger, task_row
from tests.fakes import RecordingRequest

ROLES = {
    "unbound": 8888,
    "owner": USERS["赵磊"],
    "other owner": USERS["孙丽"],
    "leader": USERS["李明"],
    "other leader": USERS["张伟"],
    "head": USERS["王建国"],
    "chief": 4002,
    "supervisor": USERS["陈静"],
    "admin": USERS["管理员"],
}
ALL = tuple(ROLES)
OK, X, U = "ok", "denied", "unbound"


def row(**outcomes: str) -> dict[str, str]:
    """Outcomes by role (underscores for spaces); roles not named are denied, unbound is U."""
    table = {role: X for role in ALL}
    table["unbound"] = U
    table.update({k.replace("_", " "): v for k, v in outcomes.items()})
    return table


EVERYONE = row(
    owner=OK,
    other_owner=OK,
    leader=OK,
    other_leader=OK,
    head=OK,
    chief=OK,
    supervisor=OK,
    admin=OK,
)
MANAGERS = row(leader=OK, other_leader=OK, head=OK, chief=OK, supervisor=OK, admin=OK)
VIEWERS_OF_A = row(owner=OK, leader=OK, head=OK, chief=OK, supervisor=OK, admin=OK)
OWNER_OF_A = row(owner=OK, admin=OK)
SUPERVISORS = row(supervisor=OK, admin=OK)
CHASERS_OF_A = row(leader=OK, head=OK, chief=OK, supervisor=OK, admin=OK)

MATRIX: list[tuple[str, dict[str, str]]] = [
    ("/help", EVERYONE),
    ("/mine", EVERYONE),
    ("/task {A}", VIEWERS_OF_A),
    ("/progress {A} 已推进", OWNER_OF_A),
    ("/done {A} 已完成", OWNER_OF_A),
    ("/extend {A} {later} 需要更多时间", OWNER_OF_A),
    ("/overdue", MANAGERS),
    ("/due 30", MANAGERS),
    ("/pending", MANAGERS),
    ("/stats", MANAGERS),
    ("/owner 赵磊", MANAGERS),
    ("/export", MANAGERS),
    ("/report", MANAGERS),
    ("/remind {A}", CHASERS_OF_A),
    ("/approve {B} 同意", SUPERVISORS),
    ("/reject {B} 材料不足", SUPERVISORS),
    ("/longterm {A} 需长期推进", SUPERVISORS),
    ("button:a:details:{A}", VIEWERS_OF_A),
    ("button:a:done:{A}", OWNER_OF_A),
    ("button:a:progress:{A}", OWNER_OF_A),
    ("button:a:extend:{A}", OWNER_OF_A),
    ("button:a:approve:{B}", SUPERVISORS),
    ("button:a:reject:{B}", SUPERVISORS),
]
DENIALS = ("无权", "不是您负责", "只有该任务的督办人", "仅限督办人")
UNBOUND_TEXT = "您还没有绑定身份"
CASES = [(action, role, table[role]) for action, table in MATRIX for role in ALL]


@pytest.fixture
async def world(session, settings, engine, clock, tmp_path):
    rows = [
        task_row("A", TODAY + timedelta(days=20)),
        task_row("B", TODAY + timedelta(days=20)),
        task_row(
            "C",
            TODAY - timedelta(days=2),
            "孙丽、钱多",
            leader="张伟",
            unit="产业发展股",
            aspect="(二)方面二",
            problem="",
        ),
    ]
    build_ledger(session, settings, SHANGHAI_9AM_UTC, tmp_path, today=TODAY, rows=rows)
    session.add(Official(name="周总", role=OfficialRole.HEAD, unit="", created_at=SHANGHAI_9AM_UTC))
    session.flush()
    for official in session.exec(select(Official)):
        if official.name == "周总":
            bind_telegram(session, official, ROLES["chief"], now=SHANGHAI_9AM_UTC)
        if official.name in USERS:
            bind_telegram(session, official, USERS[official.name], now=SHANGHAI_9AM_UTC)
    session.commit()
    ids = {t.ref: t.id for t in session.exec(select(Task))}
    lifecycle.mark_submitted(
        as_official(session, settings, SHANGHAI_9AM_UTC, "赵磊"), ids["B"], "已整改"
    )
    session.commit()
    request = RecordingRequest()
    app = build_application(settings, engine, token=TOKEN, clock=clock, request=request)
    await app.initialize()
    yield app, request, ids
    await app.shutdown()


@pytest.mark.parametrize(
    ("action", "role", "expected"),
    CASES,
    ids=[f"{a.split()[0]}-{r.replace(' ', '_')}" for a, r, _ in CASES],
)
async def test_authorization_matrix(world, action, role, expected):
    app, request, ids = world
    user = ROLES[role]
    text = action.format(A=ids["A"], B=ids["B"], later=(TODAY + timedelta(days=40)).isoformat())
    if text.startswith("button:"):
        await feed(app, callback_update(user, text.removeprefix("button:")))
    else:
        await feed(app, message_update(user, text))
    replies = [c for c in request.calls if c.method in ("sendMessage", "sendDocument")]
    assert replies, f"{role} {text}: no answer at all"
    reply = replies[-1].text or "(document)"
    if expected == U:
        assert UNBOUND_TEXT in reply and f"#{ids['A']}" not in reply
    elif expected == X:
        assert any(marker in reply for marker in DENIALS), f"{role} {text}: {reply[:80]}"
    else:
        assert not any(marker in reply for marker in DENIALS), f"{role} {text}: {reply[:80]}"
        assert UNBOUND_TEXT not in reply


# --- what comes back ----------------------------------------------------------------------
# the tasks each role may see as a manager (owners see theirs through /mine)
SEES = {
    "leader": "AB",
    "other leader": "C",
    "head": "AB",
    "chief": "ABC",
    "supervisor": "ABC",
    "admin": "ABC",
}
# which tasks each answer can hold at all: /due 30 the open ones due within 30 days, …
ANSWERS = {"/overdue": "C", "/due 30": "A", "/pending": "B", "/owner 孙丽": "C", "/stats": "ABC"}
ANSWERS.update({"/export": "ABC", "/report": "ABC", "digest": "ABC"})
COMES_BACK = [(answer, role) for answer in ANSWERS for role in SEES]


def _titles(text: str) -> set[str]:
    return {ref for ref in "ABC" if f"任务{ref}" in text}


async def _answer_text(app, request, session, settings, clock, answer: str, user: int) -> str:
    """Everything the asker gets back, as text: messages, the xlsx rows, the docx paragraphs."""
    from io import BytesIO

    from docx import Document
    from openpyxl import load_workbook

    from jobs.policy import SweepPolicy
    from jobs.sweep import sweep
    from ledger.notices import render_notice
    from ledger.workdays import WorkCalendar

    if answer == "digest":
        sweep(
            session=session,
            now=clock.now(),
            policy=SweepPolicy.from_settings(settings, WorkCalendar()),
        )
        session.commit()
        official = holder(session, Channel.TELEGRAM, str(user))
        row = session.exec(
            select(Outbox).where(Outbox.kind == "weekly_digest", Outbox.recipient_id == official.id)
        ).one()
        text = render_notice(row.kind, row.text_key, row.params, "zh").text
        total = row.params["total"]
        return f"{text}\n(total {total})"
    before = len(request.calls)
    await feed(app, message_update(user, answer))
    calls = request.calls[before:]
    texts = [c.text for c in calls if c.method == "sendMessage"]
    for name, content in request.uploads[-1:] if request.sent("sendDocument") else []:
        if name.endswith(".xlsx"):
            sheet = load_workbook(BytesIO(content)).active
            texts += ["\t".join(str(c or "") for c in r) for r in sheet.iter_rows(values_only=True)]
        elif name.endswith(".docx"):
            texts += [p.text for p in Document(BytesIO(content)).paragraphs]
    return "\n".join(texts)


@pytest.mark.parametrize(("answer", "role"), COMES_BACK, ids=[f"{a}-{r}" for a, r in COMES_BACK])
async def test_what_comes_back(world, session, settings, clock, answer, role):
    app, request, _ids = world
    text = await _answer_text(app, request, session, settings, clock, answer, ROLES[role])
    expected = set(SEES[role]) & set(ANSWERS[answer])
    if answer == "digest":
        # figures are counts: the digest counts exactly the tasks in scope, and names the
        # unbound 钱多 only to those who see task C
        assert f"(total {len(SEES[role])})" in text
        assert ("钱多" in text) == ("C" in SEES[role]), text
        return
    if answer == "/stats":
        assert f"合计 {len(SEES[role])} 项" in text, text
        return
    assert _titles(text) == expected, f"{role} {answer}: {text[:300]}"
    if answer in ("/export", "/report") and "C" not in SEES[role]:
        assert "孙丽" not in text and "钱多" not in text
