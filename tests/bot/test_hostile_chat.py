"""Hostile and mistaken chat input: usage or "已失效", never the error handler; no self-closing."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.callbacks import decode
from ledger.enums import Duty, ExtensionStatus, OfficialRole, TaskStatus
from ledger.models import AuditEvent, ExtensionRequest, Official, Task, TaskPerson
from tests.bot.conftest import USERS, callback_update, feed, message_update
from tests.factories import message_id_of

ZHAO, SUN, CHEN, ADMIN = (USERS[n] for n in ("赵磊", "孙丽", "陈静", "管理员"))
GENERIC = "处理出错"


def texts(request_layer) -> list[str]:
    """What the user read: messages, and the captions of documents sent."""
    return [
        c.text or str(c.params.get("caption", ""))
        for c in request_layer.calls
        if c.method in ("sendMessage", "sendDocument", "editMessageText")
    ]


def task(session, ref):
    session.expire_all()
    return session.exec(select(Task).where(Task.ref == ref)).one()


COMMANDS = [
    "/task ²",
    "/task ¹²",
    "/task ١٢",
    "/task #",
    "/task 1 2",
    "/task 99999999999999999999",
    "/task -1",
    "/task 0x1",
    "/task ①",
    "/done ²",
    "/done ² 完成",
    "/progress ³ 进展",
    "/extend ² 2026-12-31 理由",
    "/extend 1 ²⁰²⁶-12-31 理由",
    "/extend 1 9999-99-99 理由",
    "/extend 1 99999999999 理由",
    "/due ²",
    "/due ٣",
    "/due 99999999999",
    "/due -1",
    "/owner ",
    "/owner " + "名" * 500,
    "/approve ²",
    "/approve ¹ 同意",
    "/reject ² 理由",
    "/reopen ² 理由",
    "/longterm ²",
    "/remind ²",
    "/lang ²",
    "/start",
    "/report ²",
    "/stats ²",
    "/mine ²",
    "/task \u200b1",
    "/task 1\u0000",
]
BUTTONS = [
    "p:due:1:abc",
    "p:due:1:99999999999",
    "p:due:1:²",
    "p:due:²:7",
    "p:due:0:7",
    "p:due:99999999999:7",
    "p:mine:1:x",
    "p:owner:1:",
    "p:nope:1:",
    "p:overdue:1",
    "p::::",
    "a:approve:²",
    "a:approve:1:abc",
    "a:approve:1:²",
    "a:approve:99999999999",
    "a:ext_yes:99999999",
    "a:ext_yes:²",
    "a:done:¹",
    "a:details:1:2:3",
    "a::1",
    ":",
    "",
    "a:done:1" + "9" * 60,
    "\x00",
]


async def answers_to(app, request_layer, update: dict) -> list[str]:
    before = len(texts(request_layer))
    await feed(app, update)
    return texts(request_layer)[before:]


@pytest.mark.parametrize("user", [ZHAO, CHEN, ADMIN])
async def test_malformed_commands_and_buttons_get_usage_or_stale(
    app, ledger, request_layer, caplog, user
):
    caplog.set_level(logging.ERROR)
    for text in COMMANDS:
        answers = await answers_to(app, request_layer, message_update(user, text))
        assert answers and not any(GENERIC in a for a in answers), text
    for data in BUTTONS:
        answers = await answers_to(app, request_layer, callback_update(user, data))
        assert answers and not any(GENERIC in a for a in answers), data
        if decode(data) is None:
            assert any("已失效" in a for a in answers), data
    assert not [r for r in caplog.records if "update_failed" in r.getMessage()]


async def test_a_stale_extension_approval_after_closing_changes_nothing(
    app, session, ledger, request_layer
):
    tid = ledger.id("2")
    await feed(app, message_update(SUN, f"/extend {tid} 2026-12-31 需等待市局批复"))
    request = session.exec(select(ExtensionRequest)).one()
    await feed(app, message_update(SUN, f"/done {tid} 已完成整改"))
    await feed(app, callback_update(CHEN, f"a:approve:{tid}"))
    assert task(session, "2").status == TaskStatus.CLOSED
    deadline = task(session, "2").deadline
    await feed(app, callback_update(CHEN, f"a:ext_yes:{request.id}"))  # the old 批准延期
    assert "已失效" in texts(request_layer)[-1]
    assert task(session, "2").deadline == deadline
    session.expire_all()
    assert session.get(ExtensionRequest, request.id).status == ExtensionStatus.PENDING


async def pending_button(app, request_layer, action: str) -> str:
    """The supervisor's /pending list, and the first ✔/✖ button of that action on it."""
    await feed(app, message_update(CHEN, "/pending"))
    return next(b for b in request_layer.sent()[-1].buttons if b.startswith(f"a:{action}:"))


async def test_a_verify_button_is_for_the_submission_it_announced(
    app, session, clock, ledger, request_layer
):
    tid = ledger.id("1")
    await feed(app, message_update(ZHAO, f"/done {tid} 第一次提交"))
    first = await pending_button(app, request_layer, "approve")
    await feed(app, message_update(CHEN, f"/reject {tid} 佐证不足"))
    await feed(app, callback_update(CHEN, first))  # the task is back to 推进中
    assert "已失效" in texts(request_layer)[-1]
    clock.advance(timedelta(minutes=30))
    await feed(app, message_update(ZHAO, f"/done {tid} 补充了佐证"))
    await feed(app, callback_update(CHEN, first))  # a later submission: not what was shown
    assert "已失效" in texts(request_layer)[-1]
    assert task(session, "1").status == TaskStatus.SUBMITTED
    second = await pending_button(app, request_layer, "approve")
    await feed(app, callback_update(CHEN, second))
    assert task(session, "1").status == TaskStatus.CLOSED


async def test_owner_buttons_on_a_closed_task_are_stale(app, session, ledger, request_layer):
    tid = ledger.id("1")
    await feed(app, message_update(ZHAO, f"/done {tid} 完成"))
    await feed(app, message_update(CHEN, f"/approve {tid}"))
    for action in ("done", "progress", "extend"):
        await feed(app, callback_update(ZHAO, f"a:{action}:{tid}"))
        assert "已失效" in texts(request_layer)[-1], action


def make_self_supervisor(session, ref: str, name: str) -> None:
    """The sheet listed the owner as the task's own 督办人 too (the import makes them a supervisor)."""
    t = task(session, ref)
    official = session.exec(select(Official).where(Official.name == name)).one()
    official.role = OfficialRole.SUPERVISOR
    session.add(official)
    session.add(TaskPerson(task_id=t.id, official_id=official.id, duty=Duty.SUPERVISOR, position=9))
    session.commit()


@pytest.mark.parametrize("path", ["command", "button", "admin"])
async def test_nobody_verifies_a_task_they_own(app, session, ledger, request_layer, path):
    tid = ledger.id("1")
    if path == "admin":  # an admin who is also the task's 责任人
        admin = session.exec(select(Official).where(Official.name == "管理员")).one()
        session.add(TaskPerson(task_id=tid, official_id=admin.id, duty=Duty.OWNER, position=5))
        session.commit()
        actor = ADMIN
    else:
        make_self_supervisor(session, "1", "赵磊")
        actor = ZHAO
    await feed(app, message_update(ZHAO, f"/done {tid} 完成"))
    if path == "button":
        await feed(app, callback_update(actor, f"a:approve:{tid}"))
    else:
        await feed(app, message_update(actor, f"/approve {tid} 同意"))
    assert "不能销号自己的任务" in texts(request_layer)[-1]
    assert task(session, "1").status == TaskStatus.SUBMITTED
    session.expire_all()
    assert not session.exec(select(AuditEvent).where(AuditEvent.action == "verify")).all()


async def test_an_owner_still_supervises_someone_elses_task(app, session, ledger, request_layer):
    make_self_supervisor(session, "2", "赵磊")  # 赵磊 owns #1 and supervises 孙丽's #2
    tid = ledger.id("2")
    await feed(app, message_update(SUN, f"/done {tid} 完成"))
    await feed(app, message_update(ZHAO, f"/approve {tid}"))
    assert "已销号" in texts(request_layer)[-1]
    assert task(session, "2").status == TaskStatus.CLOSED


async def test_an_owner_cannot_approve_their_own_extension(app, session, ledger, request_layer):
    make_self_supervisor(session, "1", "赵磊")
    tid = ledger.id("1")
    await feed(app, message_update(ZHAO, f"/extend {tid} 2027-01-31 等待批复"))
    request = session.exec(select(ExtensionRequest)).one()
    await feed(app, callback_update(ZHAO, f"a:ext_yes:{request.id}"))
    assert "自己的任务" in texts(request_layer)[-1]
    session.expire_all()
    assert session.get(ExtensionRequest, request.id).status == ExtensionStatus.PENDING


def evidence_files(settings) -> list:
    folder = settings.evidence_dir
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def document(file_id: str, name: str, size: int | None) -> dict:
    doc = {"file_id": file_id, "file_unique_id": "u" + file_id, "file_name": name}
    if size is not None:
        doc["file_size"] = size
    return doc


async def test_refused_evidence_is_deleted(app, session, settings, clock, ledger, request_layer):
    from ledger.models import Evidence
    from tests.bot.test_bot import sweep_and_dispatch

    await sweep_and_dispatch(app, session, settings, clock, request_layer)
    from ledger.models import Outbox

    def reminder(ref):
        row = session.exec(
            select(Outbox).where(Outbox.task_id == ledger.id(ref), Outbox.kind == "reminder")
        ).first()
        return message_id_of(session, row)

    # over the limit, but Telegram did not report the size: only the download shows it
    settings.max_evidence_mb = 1
    request_layer.files["HUGE"] = b"x" * (1024 * 1024 + 1)
    await feed(
        app,
        message_update(SUN, reply_to=reminder("2"), document=document("HUGE", "录像.mp4", None)),
    )
    assert "文件过大" in texts(request_layer)[-1]
    # a caption the task refuses (already submitted): the file goes with the refusal
    await feed(app, message_update(SUN, f"/done {ledger.id('2')} 已报送"))
    request_layer.files["AGAIN"] = b"again"
    await feed(
        app,
        message_update(
            SUN,
            reply_to=reminder("2"),
            document=document("AGAIN", "补充.pdf", 5),
            caption="已完成",
        ),
    )
    assert "任务已提交" in texts(request_layer)[-1]
    # a task closed since the reminder
    tid = ledger.id("3")
    await feed(app, message_update(ZHAO, f"/done {tid} 完成"))
    await feed(app, message_update(CHEN, f"/approve {tid}"))
    request_layer.files["LATE"] = b"late"
    downloads = len(request_layer.sent("getFile"))
    await feed(
        app, message_update(ZHAO, reply_to=reminder("3"), document=document("LATE", "迟到.pdf", 4))
    )
    assert "已销号，不能再修改" in texts(request_layer)[-1]
    assert len(request_layer.sent("getFile")) == downloads  # refused before downloading
    session.expire_all()
    assert session.exec(select(Evidence)).all() == []
    assert evidence_files(settings) == []
    # accepted evidence is still kept
    request_layer.files["OK"] = b"fine"
    await feed(
        app, message_update(SUN, reply_to=reminder("2"), document=document("OK", "方案.pdf", 4))
    )
    assert len(evidence_files(settings)) == 1


async def test_invite_guesses_are_throttled_and_audited_once_per_burst(
    app, session, settings, clock, ledger, request_layer
):
    from ledger.officials import create_invite
    from tests.factories import cli_ctx

    session.add(Official(name="新人", created_at=clock.now()))
    invite = create_invite(cli_ctx(session, settings, clock.now()), "新人")
    session.commit()

    def audited(action):
        session.expire_all()
        return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()

    for n in range(40):  # a script guessing codes
        await feed(app, message_update(7001, f"/start guess{n:04d}"))
    answers = texts(request_layer)[-40:]
    assert all("邀请码无效" in a for a in answers[:5])
    assert all("错误次数过多" in a and "分钟后再试" in a for a in answers[5:])
    await feed(app, message_update(7001, f"/start {invite.code}"))  # even the right code waits
    assert "错误次数过多" in texts(request_layer)[-1]
    assert len(audited("bind_refused")) == 1 and len(audited("bind_throttled")) == 1
    assert audited("bind_throttled")[0].after["failures"] == 5
    # another account is not held up by this one
    await feed(app, message_update(7002, "/start typo"))
    assert "邀请码无效" in texts(request_layer)[-1]
    # after the pause, the person binds
    clock.advance(timedelta(minutes=16))
    await feed(app, message_update(7001, f"/start {invite.code}"))
    assert "绑定成功：新人" in texts(request_layer)[-1]


TRICKY = "0123456789²³¹⁰①١٢٣۴०:#-+ /\\\u200b\u202e\u0000\n\t" + "abcxyz" + "整改已完成逾期"
COMMAND_NAMES = [
    "task", "done", "progress", "extend", "due", "owner", "approve", "reject", "reopen",
    "longterm", "remind", "lang", "mine", "overdue", "pending", "stats", "help", "start",
]  # fmt: skip
BUTTON_HEADS = ["a:done:", "a:approve:", "a:ext_yes:", "a:details:", "p:due:", "p:owner:1:", "p:"]


async def test_random_commands_and_buttons_never_reach_the_error_handler(
    app, ledger, request_layer, caplog
):
    import random

    rng = random.Random(14)
    caplog.set_level(logging.ERROR)

    def junk(n: int) -> str:
        return "".join(rng.choice(TRICKY) for _ in range(rng.randint(0, n)))

    for _ in range(150):
        user = rng.choice([ZHAO, CHEN, ADMIN])
        await feed(app, message_update(user, f"/{rng.choice(COMMAND_NAMES)} {junk(20)}"))
        await feed(app, callback_update(user, (rng.choice(BUTTON_HEADS) + junk(12))[:64]))
    assert not [r for r in caplog.records if "update_failed" in r.getMessage()]
    assert not any(GENERIC in t for t in texts(request_layer))


async def test_the_submitted_notice_buttons_are_for_that_submission(
    app, session, settings, clock, ledger, request_layer
):
    from tests.bot.test_bot import sweep_and_dispatch

    tid = ledger.id("1")
    await feed(app, message_update(ZHAO, f"/done {tid} 第一次"))
    await sweep_and_dispatch(app, session, settings, clock, request_layer)
    notice = next(c for c in request_layer.sent() if "【提交销号】" in c.text)
    approve = next(b for b in notice.buttons if b.startswith(f"a:approve:{tid}:"))
    await feed(app, message_update(CHEN, f"/reject {tid} 不全"))
    clock.advance(timedelta(hours=1))
    await feed(app, message_update(ZHAO, f"/done {tid} 第二次"))
    await feed(app, callback_update(CHEN, approve))  # the first notice's 销号, pressed late
    assert "已失效" in texts(request_layer)[-1]
    assert task(session, "1").status == TaskStatus.SUBMITTED


async def test_a_reject_reason_typed_after_a_resubmission_is_stale(
    app, session, clock, ledger, request_layer
):
    tid = ledger.id("1")
    await feed(app, message_update(ZHAO, f"/done {tid} 第一次"))
    reject = await pending_button(app, request_layer, "reject")
    await feed(app, callback_update(CHEN, reject))
    prompt = request_layer.sent()[-1]
    assert "理由" in prompt.text
    prompt_id = request_layer.next_message_id  # the id the fake gave the prompt
    await feed(app, message_update(CHEN, f"/reject {tid} 另一位督办人先退回了"))
    clock.advance(timedelta(hours=1))
    await feed(app, message_update(ZHAO, f"/done {tid} 第二次"))
    await feed(app, message_update(CHEN, "材料不全", reply_to=prompt_id))
    assert "已失效" in texts(request_layer)[-1]
    assert task(session, "1").status == TaskStatus.SUBMITTED
