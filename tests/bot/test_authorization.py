"""Every command and button × every role: the expected outcome of each, in one table.

Task A is 赵磊's (leader 李明, supervisor 陈静, unit 办公室), open; task B is the same people's,
awaiting verification; task C belongs to 孙丽 and 张伟 in another unit.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app import build_application
from ledger import lifecycle
from ledger.models import Official, Task
from tests.bot.conftest import TODAY, TOKEN, USERS, callback_update, feed, message_update
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import as_official, build_ledger, task_row
from tests.fakes import RecordingRequest

ROLES = {
    "unbound": 8888,
    "owner": USERS["赵磊"],
    "other owner": USERS["孙丽"],
    "leader": USERS["李明"],
    "other leader": USERS["张伟"],
    "head": USERS["王建国"],
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
    owner=OK, other_owner=OK, leader=OK, other_leader=OK, head=OK, supervisor=OK, admin=OK
)
MANAGERS = row(leader=OK, other_leader=OK, head=OK, supervisor=OK, admin=OK)
VIEWERS_OF_A = row(owner=OK, leader=OK, head=OK, supervisor=OK, admin=OK)
OWNER_OF_A = row(owner=OK, admin=OK)
SUPERVISORS = row(supervisor=OK, admin=OK)
CHASERS_OF_A = row(leader=OK, head=OK, supervisor=OK, admin=OK)

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
            "孙丽",
            leader="张伟",
            unit="产业发展股",
            aspect="(二)方面二",
            problem="",
        ),
    ]
    build_ledger(session, settings, SHANGHAI_9AM_UTC, tmp_path, today=TODAY, rows=rows)
    for official in session.exec(select(Official)):
        if official.name in USERS:
            official.telegram_user_id = official.chat_id = USERS[official.name]
            session.add(official)
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
