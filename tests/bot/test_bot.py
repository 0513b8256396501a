"""Officials and supervisors using the bot, and the dispatcher's handling of Telegram's answers."""

from __future__ import annotations

from datetime import timedelta
from hashlib import sha256
from pathlib import Path

import pytest
from sqlmodel import select
from telegram.error import NetworkError, TimedOut

from bot.dispatcher import Dispatcher
from bot.services import BotServices
from jobs.policy import SweepPolicy
from jobs.sweep import sweep
from ledger.context import Actor, WorkContext
from ledger.enums import OutboxStatus, TaskStatus, Via
from ledger.i18n import render
from ledger.models import (
    AuditEvent,
    Evidence,
    Official,
    Outbox,
    ProgressReport,
    SentMessage,
    Task,
)
from ledger.officials import create_invite
from ledger.workdays import WorkCalendar
from tests.bot.conftest import USERS, callback_update, feed, message_update
from tests.factories import message_id_of, reachable, telegram_id

ZHAO, SUN, CHEN, LI, ZHANG = (USERS[n] for n in ("赵磊", "孙丽", "陈静", "李明", "张伟"))


def last_text(request_layer) -> str:
    return request_layer.sent()[-1].text


def task(session, ref):
    session.expire_all()
    return session.exec(select(Task).where(Task.ref == ref)).one()


async def sweep_and_dispatch(app, session, settings, clock, request_layer):
    sweep(
        session=session, now=clock.now(), policy=SweepPolicy.from_settings(settings, WorkCalendar())
    )
    session.commit()
    dispatcher = Dispatcher(app.bot, app.bot_data["services"])
    dispatcher.sender.pace_seconds = 0
    await dispatcher.drain()
    return dispatcher


# --- binding -----------------------------------------------------------------------------
async def test_binding_good_wrong_used_expired(app, session, settings, clock, request_layer):
    new = Official(name="新人", created_at=clock.now())
    session.add(new)
    session.commit()
    ctx = WorkContext(session=session, now=clock.now(), actor=Actor(via=Via.CLI), settings=settings)
    invite = create_invite(ctx, "新人")
    session.commit()
    await feed(app, message_update(7001, "/start wrongcode"))
    assert "邀请码无效" in last_text(request_layer)
    await feed(app, message_update(7001, f"/start {invite.code}"))
    assert "绑定成功：新人" in last_text(request_layer)
    await feed(app, message_update(7002, f"/start {invite.code}"))  # a second account
    assert "已使用过" in last_text(request_layer)
    session.expire_all()
    assert telegram_id(session, new) == 7001
    expired = create_invite(ctx, "新人")
    session.commit()
    clock.advance(timedelta(hours=73))
    await feed(app, message_update(7001, f"/start {expired.code}"))
    assert "已过期" in last_text(request_layer)
    refusals = session.exec(select(AuditEvent).where(AuditEvent.action == "bind_refused")).all()
    assert len(refusals) == 3


async def test_unbound_user_learns_nothing(app, request_layer):
    for text in ("/mine", "/task 1", "/overdue", "/stats", "hello", "/done 1 x"):
        await feed(app, message_update(8888, text))
        assert last_text(request_layer).startswith("您好！这是整改台账提醒机器人")
        assert "#1" not in last_text(request_layer)


# --- commands by role --------------------------------------------------------------------
async def test_owner_commands_and_refusals(app, session, ledger, request_layer):
    tid = ledger.id("1")
    await feed(app, message_update(ZHAO, "/mine"))
    assert f"#{tid}" in last_text(request_layer) and f"#{ledger.id('2')}" not in last_text(
        request_layer
    )
    await feed(app, message_update(ZHAO, f"/progress {tid} 已起草方案"))
    assert "已记录进展" in last_text(request_layer)
    await feed(app, message_update(SUN, f"/done {tid} 不是我的"))
    assert "不是您负责的任务" in last_text(request_layer)
    await feed(app, message_update(ZHAO, f"/approve {tid}"))
    assert "仅限督办人" in last_text(request_layer)
    await feed(app, message_update(ZHAO, "/done abc"))
    assert "任务编号应为数字" in last_text(request_layer)
    await feed(app, message_update(ZHAO, "/progress"))
    assert "用法" in last_text(request_layer)
    await feed(app, message_update(ZHAO, "/nosuch"))
    assert "不认识的命令" in last_text(request_layer)
    await feed(app, message_update(ZHAO, f"/done {tid} 方案已印发"))
    assert "已提交销号" in last_text(request_layer)
    assert task(session, "1").status == TaskStatus.SUBMITTED


async def test_leader_sees_only_what_they_lead(app, ledger, request_layer):
    await feed(app, message_update(ZHANG, "/overdue"))
    assert "没有符合条件的任务" in last_text(request_layer)  # 张伟 leads tasks 2 and 4 only
    await feed(app, message_update(LI, "/overdue"))
    assert f"#{ledger.id('3')}" in last_text(request_layer)
    await feed(app, message_update(ZHANG, f"/task {ledger.id('1')}"))
    assert "无权查看" in last_text(request_layer)
    await feed(app, message_update(CHEN, "/due 10"))
    assert f"#{ledger.id('2')}" in last_text(request_layer)


async def test_forged_and_stale_callback_data(app, session, ledger, request_layer):
    tid = ledger.id("1")
    await feed(app, message_update(ZHAO, f"/done {tid} 完成"))
    await feed(app, callback_update(ZHAO, f"a:approve:{tid}"))  # an owner forging approve
    assert "只有该任务的督办人" in last_text(request_layer)
    for data in ("a:approve:999999", "a:launch:1", "garbage", "a:done:-1", "p:mine:x:"):
        await feed(app, callback_update(CHEN, data))
    assert task(session, "1").status == TaskStatus.SUBMITTED
    await feed(app, callback_update(CHEN, f"a:approve:{tid}"))
    assert "已销号" in last_text(request_layer)
    assert task(session, "1").status == TaskStatus.CLOSED


# --- reminders and replies ---------------------------------------------------------------
async def test_reply_to_reminder_records_progress_done_and_evidence(
    app, session, settings, clock, ledger, request_layer, tmp_path
):
    await sweep_and_dispatch(app, session, settings, clock, request_layer)
    reminder = next(
        c
        for c in request_layer.sent()
        if int(c.params["chat_id"]) == SUN and f"#{ledger.id('2')}" in c.text
    )
    assert "a:done:" in reminder.buttons[0] and len(reminder.buttons) == 4
    row = session.exec(
        select(Outbox).where(Outbox.task_id == ledger.id("2"), Outbox.kind == "reminder")
    ).first()
    message_id = message_id_of(session, row)
    assert row.status == OutboxStatus.SENT and message_id is not None
    await feed(app, message_update(SUN, "已联系申报", reply_to=message_id))
    assert "已记录进展" in last_text(request_layer)
    request_layer.files["F1"] = b"%PDF-1.4 evidence"
    await feed(
        app,
        message_update(
            SUN,
            reply_to=message_id,
            document={
                "file_id": "F1",
                "file_unique_id": "uF1",
                "file_name": "申报材料.pdf",
                "mime_type": "application/pdf",
                "file_size": 17,
            },
        ),
    )
    assert "已保存佐证材料“申报材料.pdf”" in last_text(request_layer)
    evidence = session.exec(select(Evidence)).one()
    assert evidence.sha256 == sha256(b"%PDF-1.4 evidence").hexdigest()
    assert Path(evidence.local_path).read_bytes() == b"%PDF-1.4 evidence"
    assert Path(evidence.local_path).stat().st_mode & 0o077 == 0
    await feed(app, message_update(SUN, "已完成，材料已报送", reply_to=message_id))
    assert "已提交销号" in last_text(request_layer)
    assert task(session, "2").completion_note == "材料已报送"
    await feed(app, message_update(SUN, "随便说说", reply_to=424242))
    assert "这是哪项任务的" in last_text(
        request_layer
    )  # kept, not dropped (tests/bot/test_chat_loop.py)


# --- dispatcher faults -------------------------------------------------------------------
def queue_one(session, clock, recipient_name="赵磊", task_id=1):
    """A pending reminder for the task as it stands (a reminder for another deadline is stale)."""
    official = session.exec(select(Official).where(Official.name == recipient_name)).one()
    deadline = session.get(Task, task_id).deadline
    session.add(
        Outbox(
            channel="telegram",  # routed, as queuing would
            dedupe_key=f"t:{task_id}:{official.id}",
            recipient_id=official.id,
            kind="reminder",
            family="reminder",
            task_id=task_id,
            stage="s",
            text_key="notice.reminder.owner",
            params={
                "task_id": task_id,
                "title": "任务",
                "ref": "1",
                "deadline": deadline.isoformat() if deadline else "",
                "days_left": 29,
                "light": "green",
            },
            not_before=clock.now(),
            created_at=clock.now(),
        )
    )
    session.commit()
    return official


def make_dispatcher(app, settings, clock, engine):
    dispatcher = Dispatcher(app.bot, BotServices(engine=engine, settings=settings, clock=clock))
    dispatcher.sender.pace_seconds = 0
    return dispatcher


def outbox(session, kind="reminder"):
    session.expire_all()
    return session.exec(select(Outbox).where(Outbox.kind == kind)).all()


async def test_dispatcher_keeps_retrying_5xx_and_tells_supervisor_after_give_up_hours(
    app, session, settings, clock, engine, request_layer, ledger
):
    """A transient failure never ends a notice (it used to be `dead` after 5 attempts)."""
    queue_one(session, clock)
    dispatcher = make_dispatcher(app, settings, clock, engine)
    request_layer.fail_next(502, "Bad Gateway")
    await dispatcher.drain()
    row = outbox(session)[0]
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.not_before > clock.now()
    await dispatcher.drain()
    assert outbox(session)[0].attempts == 1  # not yet due again
    for _ in range(12):  # a day of 5xx: backoff doubles up to its cap, the row stays pending
        clock.advance(timedelta(hours=2, seconds=1))
        request_layer.fail_next(500, "Internal Server Error")
        await dispatcher.drain()
    row = outbox(session)[0]
    assert row.status == OutboxStatus.PENDING and row.attempts == 13
    assert row.not_before - clock.now() == timedelta(seconds=settings.delivery.retry_cap_seconds)
    told = outbox(session, "escalation")
    assert len(told) == 1 and told[0].text_key == "notice.escalation.dead"  # told once, at 24 h
    clock.advance(timedelta(minutes=6))
    await dispatcher.drain()  # the API is back: delivered after all
    assert outbox(session)[0].status == OutboxStatus.SENT


async def test_dispatcher_forbidden_marks_unreachable_and_escalates(
    app, session, settings, clock, engine, request_layer, ledger
):
    official = queue_one(session, clock)
    request_layer.fail_next(403, "Forbidden: bot was blocked by the user")
    await make_dispatcher(app, settings, clock, engine).drain()
    assert outbox(session)[0].status == OutboxStatus.PENDING  # it waits for them to come back
    session.expire_all()
    assert reachable(session, official) is False
    assert outbox(session, "escalation")[0].text_key == "notice.escalation.unreachable"


async def test_dispatcher_bad_request_is_recorded_not_retried(
    app, session, settings, clock, engine, request_layer, ledger
):
    queue_one(session, clock)
    request_layer.fail_next(400, "Bad Request: message is too long")
    dispatcher = make_dispatcher(app, settings, clock, engine)
    await dispatcher.drain()
    await dispatcher.drain()
    row = outbox(session)[0]
    assert row.status == OutboxStatus.FAILED and "too long" in row.last_error
    to_owner = [c for c in request_layer.sent() if int(c.params["chat_id"]) == ZHAO]
    assert len(to_owner) == 1  # not retried
    told = [c for c in request_layer.sent() if int(c.params["chat_id"]) == CHEN]
    assert len(told) == 1 and "【发送被拒】" in told[0].text  # a refusal is not a silent loss


async def test_dispatcher_waits_on_retry_after(
    app, session, settings, clock, engine, request_layer, ledger
):
    queue_one(session, clock)
    request_layer.fail_next(429, "Too Many Requests: retry after 7", parameters={"retry_after": 7})
    dispatcher = make_dispatcher(app, settings, clock, engine)
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    dispatcher.sleep = fake_sleep
    await dispatcher.drain()
    assert waits == [7.0]
    assert outbox(session)[0].status == OutboxStatus.PENDING and outbox(session)[0].attempts == 0
    await dispatcher.drain()
    assert outbox(session)[0].status == OutboxStatus.SENT


async def test_long_texts_are_split(app, session, settings, clock, engine, request_layer, ledger):
    official = queue_one(session, clock, task_id=ledger.id("1"))
    long_task = task(session, "1")
    long_task.title = "长" * 5000  # the message shows the task as it is when sent
    session.add(long_task)
    session.commit()
    await make_dispatcher(app, settings, clock, engine).drain()
    sent = [
        c
        for c in request_layer.sent()
        if int(c.params["chat_id"]) == telegram_id(session, official)
    ]
    assert len(sent) == 2 and all(len(c.text) <= 4096 for c in sent)
    assert sent[-1].buttons and not sent[0].buttons


async def test_closed_task_reminder_is_not_sent(
    app, session, settings, clock, engine, request_layer, ledger
):
    queue_one(session, clock, task_id=ledger.id("1"))
    t = task(session, "1")
    t.status = TaskStatus.CLOSED
    session.add(t)
    session.commit()
    await make_dispatcher(app, settings, clock, engine).drain()
    assert outbox(session)[0].status == OutboxStatus.COVERED and request_layer.sent() == []


# --- the journey -------------------------------------------------------------------------
async def test_full_journey(app, session, settings, clock, ledger, request_layer):
    """import -> sweep -> reminder -> reply done -> supervisor approves -> /stats."""
    await sweep_and_dispatch(app, session, settings, clock, request_layer)
    row = session.exec(
        select(Outbox).where(Outbox.task_id == ledger.id("2"), Outbox.kind == "reminder")
    ).first()
    await feed(
        app, message_update(SUN, "完成 申报材料已报送", reply_to=message_id_of(session, row))
    )
    clock.advance(timedelta(minutes=5))
    dispatcher = Dispatcher(app.bot, app.bot_data["services"])
    dispatcher.sender.pace_seconds = 0
    await dispatcher.drain()
    to_supervisor = [c for c in request_layer.sent() if int(c.params["chat_id"]) == CHEN]
    assert "【提交销号】" in to_supervisor[-1].text
    approve = next(b for b in to_supervisor[-1].buttons if b.startswith("a:approve"))
    await feed(app, callback_update(CHEN, approve))
    assert task(session, "2").status == TaskStatus.CLOSED
    await dispatcher.drain()
    assert (
        "【已销号】"
        in [c for c in request_layer.sent() if int(c.params["chat_id"]) == SUN][-1].text
    )
    await feed(app, message_update(CHEN, "/stats"))
    assert "合计 4 项" in last_text(request_layer) and "完成率 33.3%" in last_text(request_layer)


@pytest.mark.parametrize("text", ["我的任务", "帮助"])
async def test_keyboard_words(app, request_layer, ledger, text):
    await feed(app, message_update(ZHAO, text))
    assert last_text(request_layer)


@pytest.mark.parametrize(
    ("error", "recorded"),
    [(TimedOut(), "Timed out"), (NetworkError("Connection reset by peer"), "Connection reset")],
)
async def test_dispatcher_timeout_or_dropped_connection_is_retried_later(
    app, session, settings, clock, engine, request_layer, ledger, error, recorded
):
    queue_one(session, clock)
    request_layer.raise_next.append(error)
    dispatcher = make_dispatcher(app, settings, clock, engine)
    await dispatcher.drain()
    row = outbox(session)[0]
    assert row.status == OutboxStatus.PENDING and row.attempts == 1 and recorded in row.last_error
    clock.advance(timedelta(seconds=5))
    await dispatcher.drain()
    assert outbox(session)[0].status == OutboxStatus.SENT


async def test_extension_in_chat_and_supervisor_buttons(app, session, clock, ledger, request_layer):
    tid = ledger.id("2")
    old = task(session, "2").deadline
    await feed(app, message_update(SUN, f"/extend {tid} 2026-12-31 需等待市局批复"))
    assert "延期申请已提交" in last_text(request_layer)
    await feed(app, message_update(SUN, f"/extend {tid} 明年 理由"))
    assert "无法识别的日期" in last_text(request_layer)
    request = session.exec(select(Outbox).where(Outbox.kind == "extension_requested")).one()
    assert request.recipient_id is not None
    request_id = request.params["request_id"]
    await feed(app, callback_update(SUN, f"a:ext_yes:{request_id}"))  # the owner cannot decide
    assert "只有该任务的督办人" in last_text(request_layer)
    await feed(app, callback_update(CHEN, f"a:ext_yes:{request_id}"))
    assert "已批准延期" in last_text(request_layer)
    updated = task(session, "2")
    assert str(updated.deadline) == "2026-12-31" and updated.original_deadline == old


# --- look-back, long-term, groups, digests, export, language, shutdown --------------------
async def test_reopen_and_long_term_in_chat(app, session, ledger, request_layer):
    tid = ledger.id("1")
    await feed(app, message_update(ZHAO, f"/done {tid} 方案已印发"))
    await feed(app, message_update(CHEN, f"/approve {tid} 同意"))
    await feed(app, message_update(ZHAO, f"/reopen {tid} 想撤回"))
    assert "仅限督办人" in last_text(request_layer)
    await feed(app, message_update(CHEN, f"/reopen {tid}"))
    assert "用法" in last_text(request_layer)  # a reason is required
    await feed(app, message_update(CHEN, f"/reopen {tid} 回头看发现纸上整改"))
    assert "已重新打开" in last_text(request_layer)
    assert task(session, "1").status == TaskStatus.IN_PROGRESS
    await feed(app, message_update(CHEN, f"/longterm {ledger.id('2')} 需长期推进"))
    assert "转为长期坚持" in last_text(request_layer)
    assert task(session, "2").kind == "long_term" and task(session, "2").deadline is None


async def test_groups_answer_only_managers_and_subscribe(app, session, ledger, request_layer):
    group = -100123
    await feed(app, message_update(ZHAO, "/mine", chat_id=group, chat_type="supergroup"))
    await feed(app, message_update(8888, "/stats", chat_id=group, chat_type="supergroup"))
    assert request_layer.sent() == []  # owners and strangers get no answer in a group
    await feed(app, message_update(CHEN, "/subscribe", chat_id=group, chat_type="supergroup"))
    assert "已订阅每周调度" in last_text(request_layer)
    from ledger.models import GroupSubscription

    assert session.exec(select(GroupSubscription)).one().address == str(group)
    await feed(app, message_update(CHEN, "/subscribe"))
    assert "请在群里使用" in last_text(request_layer)


async def test_reply_to_a_digest_asks_which_task(
    app, session, settings, clock, engine, request_layer, ledger
):
    zhao = session.exec(select(Official).where(Official.name == "赵磊")).one()
    for ref in ("1", "3"):
        session.add(
            Outbox(
                channel="telegram",  # routed, as queuing would
                dedupe_key=f"d:{ref}",
                recipient_id=zhao.id,
                kind="reminder",
                family="reminder",
                task_id=ledger.id(ref),
                stage=ref,
                sweep_id=77,
                text_key="notice.reminder.owner",
                params={
                    "task_id": ledger.id(ref),
                    "title": f"任务{ref}",
                    "ref": ref,
                    "deadline": task(session, ref).deadline.isoformat(),
                    "days_left": 3,
                    "light": "yellow",
                },
                not_before=clock.now(),
                created_at=clock.now(),
            )
        )
    session.commit()
    low = settings.model_copy(
        update={"policy": settings.policy.model_copy(update={"digest_threshold": 1})}
    )
    dispatcher = Dispatcher(app.bot, BotServices(engine=engine, settings=low, clock=clock))
    dispatcher.sender.pace_seconds = 0
    await dispatcher.drain()
    digest = request_layer.sent()[-1]
    assert "【整改提醒汇总】您有 2 项" in digest.text
    assert {f"a:done:{ledger.id('1')}", f"a:done:{ledger.id('3')}"} <= set(digest.buttons)
    assert all(r.status == OutboxStatus.SENT for r in outbox(session))
    marker = session.exec(select(SentMessage).where(SentMessage.kind == "digest")).one()
    assert f"{render('btn.done')} #{ledger.id('3')}" in digest.labels  # names its task
    await feed(app, message_update(ZHAO, "进展顺利", reply_to=int(marker.message_id)))
    assert "这是哪项任务的" in last_text(request_layer)
    question = request_layer.sent()[-1]
    assert set(question.buttons) == {f"a:pick:{ledger.id('1')}", f"a:pick:{ledger.id('3')}"}
    await feed(
        app,
        callback_update(ZHAO, f"a:pick:{ledger.id('3')}", message_id=question.message_id),
    )
    assert "已记录进展：#" in last_text(request_layer)
    session.expire_all()
    reports = session.exec(select(ProgressReport)).all()
    assert [(r.task_id, r.text) for r in reports] == [(ledger.id("3"), "进展顺利")]


async def test_export_sends_a_real_workbook(app, ledger, request_layer):
    from io import BytesIO

    from openpyxl import load_workbook

    await feed(app, message_update(CHEN, "/export"))
    assert request_layer.sent("sendDocument")
    name, content = request_layer.uploads[-1]
    assert name.endswith(".xlsx")
    sheet = load_workbook(BytesIO(content)).active
    # a title row, the date, the header, 4 tasks, the legend
    assert sheet.max_row == 8 and sheet["A1"].value.startswith("《") and sheet["A3"].value == "序号"
    await feed(app, message_update(ZHAO, "/export"))
    assert "仅限督办人" in last_text(request_layer)


async def test_language_switch(app, ledger, request_layer):
    await feed(app, message_update(ZHAO, "/lang fr"))
    assert "用法：/lang zh|en" in last_text(request_layer)
    await feed(app, message_update(ZHAO, "/lang en"))
    assert last_text(request_layer) == "Language set to English."
    await feed(app, message_update(ZHAO, "/mine"))
    assert last_text(request_layer).startswith("My tasks")
    await feed(app, message_update(ZHAO, "/done 999 x"))
    assert "No task #999" in last_text(request_layer)


async def test_stop_finishes_the_message_in_flight_and_leaves_the_rest(
    app, session, settings, clock, engine, request_layer, ledger
):
    for name in ("赵磊", "孙丽", "李明"):
        queue_one(session, clock, recipient_name=name)
    dispatcher = make_dispatcher(app, settings, clock, engine)
    request_layer.on_call = lambda call: dispatcher.stop()  # SIGTERM arrives mid-send
    await dispatcher.drain()
    statuses = sorted(r.status for r in outbox(session))
    assert statuses == [OutboxStatus.PENDING, OutboxStatus.PENDING, OutboxStatus.SENT]


async def test_private_chats_get_at_most_one_message_per_second(
    app, session, settings, clock, engine, request_layer, ledger
):
    zhao = queue_one(session, clock, task_id=ledger.id("1"))
    queue_one(session, clock, task_id=ledger.id("3"))  # a second message to the same chat
    dispatcher = Dispatcher(app.bot, BotServices(engine=engine, settings=settings, clock=clock))
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    dispatcher.sleep = fake_sleep
    await dispatcher.drain()
    assert (
        len(
            [
                c
                for c in request_layer.sent()
                if int(c.params["chat_id"]) == telegram_id(session, zhao)
            ]
        )
        == 2
    )
    assert len(waits) == 1 and 0.9 < waits[0] <= 1.0


async def test_report_in_chat(app, ledger, request_layer):
    from io import BytesIO

    from docx import Document

    await feed(app, message_update(CHEN, "/report 公开"))
    name, content = request_layer.uploads[-1]
    assert name.endswith(".docx") and "公开版" in name
    text = "\n".join(p.text for p in Document(BytesIO(content)).paragraphs)
    assert "二、问题整改落实情况" in text and "赵磊" not in text
    await feed(app, message_update(ZHAO, "/report"))
    assert "仅限督办人" in last_text(request_layer)


async def test_file_over_the_limit_is_refused_before_download(
    app, session, settings, clock, request_layer, ledger
):
    await sweep_and_dispatch(app, session, settings, clock, request_layer)
    row = session.exec(
        select(Outbox).where(Outbox.task_id == ledger.id("2"), Outbox.kind == "reminder")
    ).first()
    await feed(
        app,
        message_update(
            SUN,
            reply_to=message_id_of(session, row),
            document={
                "file_id": "BIG",
                "file_unique_id": "uBIG",
                "file_name": "录像.mp4",
                "file_size": 25 * 1024 * 1024,
            },
        ),
    )
    assert "文件过大（25.0 MB），上限为 20 MB" in last_text(request_layer)
    assert request_layer.sent("getFile") == [] and session.exec(select(Evidence)).all() == []


async def test_oversized_text_and_replayed_buttons(app, session, ledger, request_layer):
    tid = ledger.id("1")
    await feed(app, message_update(ZHAO, f"/progress {tid} " + "长" * 5000))
    assert "内容过长" in last_text(request_layer)
    await feed(app, message_update(ZHAO, f"/done {tid} 完成"))
    await feed(app, callback_update(CHEN, f"a:approve:{tid}"))
    assert "已销号" in last_text(request_layer)
    await feed(app, callback_update(CHEN, f"a:approve:{tid}"))  # the same press, replayed
    assert "已失效" in last_text(request_layer)
    from ledger.models import AuditEvent

    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "verify")).all()) == 1


async def test_a_reminder_for_a_deadline_since_extended_is_not_sent(
    app, session, settings, clock, engine, request_layer, ledger
):
    queue_one(session, clock, task_id=ledger.id("1"))  # queued for the current deadline
    extended = task(session, "1")
    extended.deadline = extended.deadline + timedelta(days=30)
    session.add(extended)
    session.commit()
    await make_dispatcher(app, settings, clock, engine).drain()
    [row] = outbox(session)
    assert row.status == OutboxStatus.COVERED and "deadline changed" in row.last_error
    assert request_layer.sent() == []
