"""The chat loop as officials use it: no reply thrown away, 回头看 with a deadline, supervisors
judging evidence before 销号, leaders' buttons, heads' scope and the wording people read.

The standard ledger (tests/factories.py): #1 赵磊 due in 30 days, #2 孙丽 due in 5 days (leader
张伟, 产业发展股), #3 赵磊 3 days overdue, #4 孙丽 长期坚持; 王建国 heads 办公室; 陈静 supervises.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from jobs.policy import SweepPolicy
from jobs.sweep import sweep
from ledger.enums import OfficialRole, OutboxStatus, TaskStatus
from ledger.models import (
    AuditEvent,
    Evidence,
    ExtensionRequest,
    Official,
    Outbox,
    ProgressReport,
    Round,
    Task,
)
from ledger.workdays import WorkCalendar
from tests.bot.conftest import TODAY, USERS, callback_update, feed, message_update
from tests.bot.test_bot import last_text, sweep_and_dispatch, task
from tests.factories import message_id_of

ZHAO, SUN, CHEN, LI, ZHANG, WANG = (
    USERS[n] for n in ("赵磊", "孙丽", "陈静", "李明", "张伟", "王建国")
)


def document(file_id: str, name: str, size: int) -> dict:
    return {
        "file_id": file_id,
        "file_unique_id": "u" + file_id,
        "file_name": name,
        "mime_type": "application/pdf",
        "file_size": size,
    }


def sent_to(request_layer, chat: int, needle: str):
    return [
        c for c in request_layer.sent() if int(c.params["chat_id"]) == chat and needle in c.text
    ]


def reminder_of(session, task_id: int) -> Outbox:
    return session.exec(
        select(Outbox).where(Outbox.task_id == task_id, Outbox.kind == "reminder")
    ).first()


async def upload(app, request_layer, user: int, file_id: str, data: bytes, **kwargs) -> None:
    request_layer.files[file_id] = data
    await feed(
        app,
        message_update(user, document=document(file_id, f"{file_id}.pdf", len(data)), **kwargs),
    )


# --- no reply is ever thrown away ---------------------------------------------------------
async def test_done_reply_to_a_long_term_request_is_recorded_as_this_months_progress(
    app, session, settings, clock, ledger, request_layer
):
    clock.advance(timedelta(days=23))  # 2026-11-25, the monthly request day
    await sweep_and_dispatch(app, session, settings, clock, request_layer)
    row = session.exec(select(Outbox).where(Outbox.kind == "long_term_request")).one()
    assert row.status == OutboxStatus.SENT
    await feed(
        app,
        message_update(
            SUN, "已完成，与江苏盐城市建立交流机制", reply_to=message_id_of(session, row)
        ),
    )
    answer = last_text(request_layer)
    assert "长期坚持任务，不销号" in answer and "2026年11月的进展报告" in answer
    session.expire_all()
    reports = session.exec(select(ProgressReport)).all()
    assert [(r.task_id, r.text) for r in reports] == [
        (ledger.id("4"), "已完成，与江苏盐城市建立交流机制")
    ]
    assert task(session, "4").status == TaskStatus.IN_PROGRESS
    # five working days on, the supervisor is not told she has not reported
    clock.advance(timedelta(days=9))
    sweep(
        session=session, now=clock.now(), policy=SweepPolicy.from_settings(settings, WorkCalendar())
    )
    session.commit()
    late = session.exec(
        select(Outbox).where(Outbox.text_key == "notice.long_term_escalation")
    ).all()
    assert late == []


async def test_unthreaded_text_asks_which_task_and_applies_it_there(
    app, session, ledger, request_layer
):
    await feed(app, message_update(ZHAO, "已完成，方案已印发"))  # typed, not a reply
    question = request_layer.sent()[-1]
    assert question.text.startswith("这是哪项任务的？")
    # 赵磊's open tasks, and only his
    assert set(question.buttons) == {f"a:pick:{ledger.id('1')}", f"a:pick:{ledger.id('3')}"}
    assert task(session, "1").status == TaskStatus.NOT_STARTED  # nothing applied yet
    await feed(
        app, callback_update(ZHAO, f"a:pick:{ledger.id('1')}", message_id=question.message_id)
    )
    assert "已提交销号：#" in last_text(request_layer)
    assert task(session, "1").status == TaskStatus.SUBMITTED
    assert task(session, "1").completion_note == "方案已印发"
    # the choice is used once: a second press changes nothing
    await feed(
        app, callback_update(ZHAO, f"a:pick:{ledger.id('3')}", message_id=question.message_id)
    )
    assert task(session, "3").status == TaskStatus.NOT_STARTED
    # someone else cannot press 赵磊's question
    await feed(app, message_update(ZHAO, "推进中"))
    other = request_layer.sent()[-1]
    await feed(app, callback_update(SUN, f"a:pick:{ledger.id('3')}", message_id=other.message_id))
    assert task(session, "3").status == TaskStatus.NOT_STARTED


async def test_unthreaded_file_is_kept_until_the_task_is_chosen(
    app, session, settings, ledger, request_layer
):
    await upload(app, request_layer, ZHAO, "F9", b"%PDF-1.4 minutes", caption="会议纪要")
    question = request_layer.sent()[-1]
    assert question.text.startswith("这是哪项任务的？")
    kept = list(Path(settings.evidence_dir).rglob("*F9.pdf"))
    assert len(kept) == 1 and kept[0].read_bytes() == b"%PDF-1.4 minutes"
    assert kept[0].stat().st_mode & 0o077 == 0
    assert session.exec(select(Evidence)).all() == []
    await feed(
        app, callback_update(ZHAO, f"a:pick:{ledger.id('3')}", message_id=question.message_id)
    )
    assert "已保存佐证材料“F9.pdf”" in last_text(request_layer)
    session.expire_all()
    evidence = session.exec(select(Evidence)).one()
    assert evidence.task_id == ledger.id("3")
    assert Path(evidence.local_path).read_bytes() == b"%PDF-1.4 minutes"
    assert session.exec(select(ProgressReport)).one().text == "会议纪要"


async def test_a_caption_done_on_a_photo_says_it_submitted(
    app, session, settings, clock, ledger, request_layer
):
    await sweep_and_dispatch(app, session, settings, clock, request_layer)
    row = reminder_of(session, ledger.id("2"))
    request_layer.files["P1"] = b"\xff\xd8photo"
    update = message_update(SUN, reply_to=message_id_of(session, row), caption="已完成，现场已整改")
    update["message"]["photo"] = [
        {"file_id": "P1", "file_unique_id": "uP1", "width": 10, "height": 10, "file_size": 7}
    ]
    await feed(app, update)
    answer = last_text(request_layer)
    assert "已保存佐证材料" in answer and "已提交销号" in answer
    assert task(session, "2").status == TaskStatus.SUBMITTED


# --- leaders' notices and nudges ----------------------------------------------------------
async def test_leaders_notices_carry_nudge_and_details_and_nudges_cool_down(
    app, session, settings, clock, ledger, request_layer
):
    await sweep_and_dispatch(app, session, settings, clock, request_layer)
    tid = ledger.id("2")
    (to_leader,) = sent_to(request_layer, ZHANG, f"#{tid}")
    assert "分管任务提醒" in to_leader.text and "notice." not in to_leader.text
    assert to_leader.buttons == [f"a:remind:{tid}", f"a:details:{tid}"]
    (to_owner,) = sent_to(request_layer, SUN, f"#{tid}")
    assert f"a:done:{tid}" in to_owner.buttons
    await feed(app, callback_update(ZHANG, f"a:remind:{tid}"))
    assert "已催办" in last_text(request_layer)
    await feed(app, message_update(CHEN, f"/remind {tid}"))  # a second 催办 within the hour
    assert "60 分钟内不重复发送" in last_text(request_layer)
    nudges = session.exec(select(Outbox).where(Outbox.kind == "nudge")).all()
    assert len(nudges) == 1
    clock.advance(timedelta(minutes=61))
    await feed(app, message_update(CHEN, f"/remind {tid}"))
    assert "已催办" in last_text(request_layer)
    session.expire_all()
    assert len(session.exec(select(Outbox).where(Outbox.kind == "nudge")).all()) == 2


async def test_escalation_notice_to_the_supervisor_carries_nudge(
    app, session, settings, clock, ledger, request_layer
):
    await sweep_and_dispatch(app, session, settings, clock, request_layer)
    tid = ledger.id("3")
    (escalation,) = sent_to(request_layer, CHEN, "【督办汇总】")  # one notice, every task
    assert f"#{tid}" in escalation.text and "逾期" in escalation.text
    assert f"a:remind:{tid}" in escalation.buttons and f"a:details:{tid}" in escalation.buttons


# --- heads ---------------------------------------------------------------------------------
async def test_heads_are_escalated_only_what_they_see(
    app, session, settings, clock, ledger, request_layer
):
    now = clock.now()
    session.add_all(
        [
            Official(name="产业股长", role=OfficialRole.HEAD, unit="产业发展股", created_at=now),
            Official(name="周总", role=OfficialRole.HEAD, unit="", created_at=now),
        ]
    )
    session.commit()
    clock.advance(timedelta(days=14))  # task 3 is 17 days, more than 5 working days, overdue
    sweep(
        session=session, now=clock.now(), policy=SweepPolicy.from_settings(settings, WorkCalendar())
    )
    session.commit()
    names = {o.id: o.name for o in session.exec(select(Official))}
    level_two = {
        names[r.recipient_id]
        for r in session.exec(select(Outbox).where(Outbox.kind == "oversight"))
        if (ledger.id("3"), 2) in [(i["task_id"], i["level"]) for i in r.params["items"]]
    }
    assert level_two == {"李明", "王建国", "周总"}  # not the head of another unit
    # and each head can open what he was escalated
    await feed(app, message_update(WANG, f"/task {ledger.id('3')}"))
    assert "无权" not in last_text(request_layer)
    await feed(app, message_update(WANG, f"/task {ledger.id('2')}"))
    assert "无权查看" in last_text(request_layer)


# --- 回头看 ---------------------------------------------------------------------------------
async def close(app, session, tid: int) -> None:
    await feed(app, message_update(ZHAO, f"/done {tid} 方案已印发"))
    await feed(app, message_update(CHEN, f"/approve {tid} 同意"))
    assert task(session, "1").status == TaskStatus.CLOSED


async def test_reopen_sets_a_new_deadline_restarts_escalation_and_tells_the_owner(
    app, session, ledger, request_layer
):
    tid = ledger.id("1")
    await close(app, session, tid)
    await feed(app, message_update(CHEN, f"/reopen {tid} 回头看发现制度未落实"))
    # 10 working days from Monday 2026-11-02: Monday 2026-11-16
    assert "新的整改时限 2026-11-16" in last_text(request_layer)
    reopened = task(session, "1")
    assert reopened.status == TaskStatus.IN_PROGRESS
    assert reopened.deadline.isoformat() == "2026-11-16" and reopened.escalation_level == 0
    notice = session.exec(select(Outbox).where(Outbox.kind == "reopened")).one()
    assert (
        notice.params["new"] == "2026-11-16" and notice.params["reason"] == "回头看发现制度未落实"
    )
    actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.task_id == tid))]
    assert "verify" in actions and actions[-1] == "reopen"  # the first closing stays
    await feed(app, message_update(CHEN, f"/task {tid}"))
    history = last_text(request_layer)
    assert "验收销号" in history and "回头看·重新打开" in history
    # /pending then shows it on time, not long overdue
    await feed(app, message_update(ZHAO, f"/done {tid} 已整改到位"))
    await feed(app, message_update(CHEN, "/pending"))
    assert "还剩14天" in request_layer.sent()[-2].text


async def test_a_reopened_item_overdue_again_is_escalated_again(
    app, session, settings, clock, ledger, request_layer
):
    tid = ledger.id("1")
    await close(app, session, tid)
    await feed(app, message_update(CHEN, f"/reopen {tid} 2026-11-10 回头看发现问题反弹"))
    clock.advance(timedelta(days=9))  # Wednesday 2026-11-11: one working day overdue
    sweep(
        session=session, now=clock.now(), policy=SweepPolicy.from_settings(settings, WorkCalendar())
    )
    session.commit()
    escalations = [
        r
        for r in session.exec(select(Outbox).where(Outbox.kind == "oversight"))
        if (tid, 1) in [(i["task_id"], i["level"]) for i in r.params["items"]]
    ]
    assert [session.get(Official, r.recipient_id).name for r in escalations] == ["陈静"]
    assert task(session, "1").escalation_level == 1


async def test_reopen_with_a_date_and_bad_dates(app, session, ledger, request_layer):
    tid = ledger.id("1")
    await close(app, session, tid)
    await feed(app, message_update(CHEN, f"/reopen {tid} 2026-10-01 理由"))
    assert "应晚于今天" in last_text(request_layer)
    assert task(session, "1").status == TaskStatus.CLOSED
    await feed(app, message_update(CHEN, f"/reopen {tid} 2026-12-31"))
    assert "用法" in last_text(request_layer)
    await feed(app, message_update(CHEN, f"/reopen {tid} 2026-12-31 整改不彻底"))
    assert task(session, "1").deadline.isoformat() == "2026-12-31"


# --- supervisors judge before 销号 ----------------------------------------------------------
async def test_evidence_files_are_buttons_in_task_and_pending(
    app, session, settings, clock, ledger, request_layer
):
    await sweep_and_dispatch(app, session, settings, clock, request_layer)
    row = reminder_of(session, ledger.id("2"))
    await upload(
        app, request_layer, SUN, "E1", b"%PDF-1.4 proof", reply_to=message_id_of(session, row)
    )
    await feed(app, message_update(SUN, f"/done {ledger.id('2')} 已整改"))
    evidence = session.exec(select(Evidence)).one()
    await feed(app, message_update(CHEN, f"/task {ledger.id('2')}"))
    assert f"a:file:{evidence.id}" in request_layer.sent()[-1].buttons
    await feed(app, message_update(CHEN, "/pending"))
    assert f"a:file:{evidence.id}" in request_layer.sent()[-1].buttons
    await feed(app, callback_update(CHEN, f"a:file:{evidence.id}"))
    assert request_layer.uploads[-1] == ("E1.pdf", b"%PDF-1.4 proof")
    # someone who may not see the task gets no file
    uploads = len(request_layer.uploads)
    await feed(app, callback_update(LI, f"a:file:{evidence.id}"))
    assert "无权查看" in last_text(request_layer) and len(request_layer.uploads) == uploads


async def test_extension_refusal_asks_a_reason_the_owner_receives(
    app, session, ledger, request_layer
):
    tid = ledger.id("1")
    await feed(app, message_update(ZHAO, f"/extend {tid} 2027-01-31 等待上级批复"))
    request = session.exec(select(ExtensionRequest)).one()
    await feed(app, callback_update(CHEN, f"a:ext_no:{request.id}"))
    prompt = request_layer.sent()[-1]
    assert "说明不批准" in prompt.text
    session.expire_all()
    assert session.get(ExtensionRequest, request.id).status == "pending"
    await feed(app, message_update(CHEN, "时限不能再延", reply_to=prompt.message_id))
    assert "已不批准延期" in last_text(request_layer)
    notice = session.exec(select(Outbox).where(Outbox.kind == "extension_rejected")).one()
    assert notice.params["note"] == "时限不能再延"
    session.expire_all()
    assert session.get(ExtensionRequest, request.id).decision_note == "时限不能再延"


# --- wording -------------------------------------------------------------------------------
async def test_history_stats_and_english_read_as_people_say_them(
    app, session, ledger, request_layer
):
    tid = ledger.id("1")
    await feed(app, message_update(ZHAO, f"/done {tid} 方案已印发"))
    await feed(app, message_update(CHEN, f"/task {tid}"))
    detail = last_text(request_layer)
    assert "导入新增" in detail and "提交销号" in detail
    assert "import_create" not in detail and "submit" not in detail
    from ledger.models import Aspect

    long_name = "全面从严治党主体责任落实不到位，党组织的政治功能发挥不够"
    aspect = session.exec(select(Aspect).where(Aspect.number == 1)).one()
    aspect.title = long_name
    session.add(aspect)
    session.commit()
    await feed(app, message_update(CHEN, "/stats"))
    stats = last_text(request_layer)
    assert long_name in stats  # whole, not cut at 16 characters
    assert "共2项：未启动1，推进中0，待销号1" in stats  # 未启动 apart from 推进中
    await feed(app, message_update(ZHAO, "/lang en"))
    await feed(app, message_update(ZHAO, "/extend"))
    usage = last_text(request_layer)
    assert (TODAY + timedelta(days=30)).isoformat() in usage  # an example date ahead, not past


async def test_one_day_in_english(app, session, clock, ledger, request_layer):
    clock.advance(timedelta(days=4))  # task 2 due tomorrow
    await feed(app, message_update(SUN, "/lang en"))
    await feed(app, message_update(SUN, "/mine"))
    assert "1 day left" in last_text(request_layer)
    await feed(app, message_update(CHEN, "/lang en"))
    await feed(app, message_update(CHEN, "/due 1"))
    assert last_text(request_layer).startswith("Due within 1 day (")


# --- the report date -----------------------------------------------------------------------
async def test_supervisor_is_reminded_before_the_report_is_due(
    app, session, settings, clock, ledger
):
    round_ = session.exec(select(Round)).one()
    round_.report_due_date = TODAY + timedelta(days=28)  # Monday 2026-11-30
    session.add(round_)
    session.commit()
    policy = SweepPolicy.from_settings(settings, WorkCalendar())

    def reminders() -> list[str]:
        session.expire_all()
        return [r.stage for r in session.exec(select(Outbox).where(Outbox.kind == "report_due"))]

    for day in range(0, 29):
        sweep(session=session, now=clock.now() + timedelta(days=day), policy=policy)
        session.commit()
        if day == 13:  # Sunday 2026-11-15: nothing yet (10 working days before is 11-16)
            assert reminders() == []
    stages = reminders()
    assert len(stages) == 2 and stages[0].endswith(":10") and stages[1].endswith(":3")
    row = session.exec(select(Outbox).where(Outbox.kind == "report_due")).first()
    assert session.get(Official, row.recipient_id).name == "陈静"
    assert row.params["wdays"] == 10
    assert session.exec(select(Task)).first() is not None


def test_a_leaders_digest_carries_nudge_and_details_not_owner_buttons():
    from ledger.notices import render_digest

    items = [
        {"task_id": n, "title": f"任务{n}", "deadline": "2026-11-10", "days_left": 8}
        for n in (3, 5)
    ]
    leader = render_digest([{**p, "text_key": "notice.reminder.leader"} for p in items], "zh")
    assert [[(b.action, b.target, b.number) for b in row] for row in leader.buttons] == [
        [("remind", 3, 3), ("details", 3, 3)],
        [("remind", 5, 5), ("details", 5, 5)],
    ]
    owner = render_digest([{**p, "text_key": "notice.reminder.owner"} for p in items], "zh")
    assert [b.action for b in owner.buttons[0]] == ["done", "progress", "details"]


async def test_done_command_on_a_long_term_task_is_kept_as_progress(
    app, session, ledger, request_layer
):
    await feed(app, message_update(SUN, f"/done {ledger.id('4')} 已建立常态化交流机制"))
    assert "已将您的回复记为2026年11月的进展报告" in last_text(request_layer)
    session.expire_all()
    assert session.exec(select(ProgressReport)).one().text == "已建立常态化交流机制"
