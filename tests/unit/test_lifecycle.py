"""Every lifecycle transition, allowed and refused, with who may do it and what it records."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from ledger import lifecycle
from ledger.enums import ExtensionStatus, TaskKind, TaskStatus
from ledger.errors import InvalidInput, InvalidTransition, NotAllowed, NotFound
from ledger.models import AuditEvent, Outbox
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import as_official, build_ledger

TODAY = date(2026, 11, 2)
NOW = SHANGHAI_9AM_UTC


@pytest.fixture
def ledger(session, settings, tmp_path):
    return build_ledger(session, settings, NOW, tmp_path, today=TODAY)


def owner(session, settings, name="赵磊"):
    return as_official(session, settings, NOW, name)


def audits(session, task_id, action):
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.task_id == task_id, AuditEvent.action == action)
        )
    )


def test_progress_starts_the_task_and_is_audited(session, settings, ledger):
    tid = ledger.id("1")
    lifecycle.record_progress(owner(session, settings), tid, "已召开专题会")
    task = lifecycle.get_task(owner(session, settings), tid)
    assert task.status == TaskStatus.IN_PROGRESS
    event = audits(session, tid, "progress")[0]
    assert event.before == {"status": "not_started"}
    assert event.after["status"] == "in_progress"
    assert event.actor_name == "赵磊" and event.via == "telegram"


def test_full_path_to_closed_notifies_supervisor_then_owner(session, settings, ledger):
    tid = ledger.id("1")
    lifecycle.mark_submitted(owner(session, settings), tid, "方案已印发")
    assert lifecycle.get_task(owner(session, settings), tid).status == TaskStatus.SUBMITTED
    to_supervisor = session.exec(select(Outbox).where(Outbox.kind == "submitted")).all()
    assert [row.params["note"] for row in to_supervisor] == ["方案已印发"]
    sup = as_official(session, settings, NOW, "陈静")
    task = lifecycle.verify(sup, tid, "同意销号")
    assert task.status == TaskStatus.CLOSED
    assert task.closed_on == TODAY and task.closing_opinion == "同意销号"
    assert task.closed_by_id == sup.actor.official_id
    verified = session.exec(select(Outbox).where(Outbox.kind == "verified")).all()
    assert (
        len(verified) == 1
        and verified[0].recipient_id == owner(session, settings).actor.official_id
    )


def test_submit_needs_note_or_evidence(session, settings, ledger):
    tid = ledger.id("1")
    with pytest.raises(InvalidInput) as err:
        lifecycle.mark_submitted(owner(session, settings), tid, "  ")
    assert "佐证材料" in str(err.value)
    lifecycle.add_evidence(
        owner(session, settings), tid, file_name="会议纪要.pdf", size=1000, sha256="ab" * 32
    )
    lifecycle.mark_submitted(owner(session, settings), tid, "")
    assert lifecycle.get_task(owner(session, settings), tid).status == TaskStatus.SUBMITTED


def test_reject_requires_reason_and_returns_to_in_progress(session, settings, ledger):
    tid = ledger.id("1")
    lifecycle.mark_submitted(owner(session, settings), tid, "完成")
    sup = as_official(session, settings, NOW, "陈静")
    with pytest.raises(InvalidInput):
        lifecycle.reject(sup, tid, "")
    task = lifecycle.reject(sup, tid, "佐证材料不足")
    assert task.status == TaskStatus.IN_PROGRESS and task.completed_on is None
    rejected = session.exec(select(Outbox).where(Outbox.kind == "rejected")).one()
    assert rejected.params["reason"] == "佐证材料不足"


@pytest.mark.parametrize("action", ["verify", "reject"])
def test_only_submitted_items_can_be_verified_or_rejected(session, settings, ledger, action):
    sup = as_official(session, settings, NOW, "陈静")
    with pytest.raises(InvalidTransition) as err:
        getattr(lifecycle, action)(sup, ledger.id("1"), "理由")
    assert "未启动" in str(err.value)


def test_owner_cannot_verify_own_task(session, settings, ledger):
    tid = ledger.id("1")
    lifecycle.mark_submitted(owner(session, settings), tid, "完成")
    with pytest.raises(NotAllowed):
        lifecycle.verify(owner(session, settings), tid, "")
    assert lifecycle.get_task(owner(session, settings), tid).status == TaskStatus.SUBMITTED


def test_owner_cannot_touch_another_owners_task(session, settings, ledger):
    with pytest.raises(NotAllowed) as err:
        lifecycle.record_progress(owner(session, settings, "孙丽"), ledger.id("1"), "x")
    assert "不是您负责的任务" in str(err.value)


def test_leader_cannot_verify(session, settings, ledger):
    tid = ledger.id("1")
    lifecycle.mark_submitted(owner(session, settings), tid, "完成")
    with pytest.raises(NotAllowed):
        lifecycle.verify(as_official(session, settings, NOW, "李明"), tid, "")


def test_double_submit_and_submit_after_close_are_refused(session, settings, ledger):
    tid = ledger.id("1")
    lifecycle.mark_submitted(owner(session, settings), tid, "完成")
    with pytest.raises(InvalidTransition, match="等待督办人销号"):
        lifecycle.mark_submitted(owner(session, settings), tid, "完成")
    lifecycle.verify(as_official(session, settings, NOW, "陈静"), tid)
    with pytest.raises(InvalidTransition, match="已销号"):
        lifecycle.mark_submitted(owner(session, settings), tid, "完成")
    with pytest.raises(InvalidInput):
        lifecycle.record_progress(owner(session, settings), tid, "还在做")


def test_reopen_lookback(session, settings, ledger):
    tid = ledger.id("1")
    sup = as_official(session, settings, NOW, "陈静")
    with pytest.raises(InvalidTransition):
        lifecycle.reopen(sup, tid, "回头看")
    lifecycle.mark_submitted(owner(session, settings), tid, "完成")
    lifecycle.verify(sup, tid)
    with pytest.raises(InvalidInput):
        lifecycle.reopen(sup, tid, " ")
    task = lifecycle.reopen(sup, tid, "回头看发现纸上整改")
    assert task.status == TaskStatus.IN_PROGRESS and task.closed_on is None
    assert audits(session, tid, "reopen")[0].after["reason"] == "回头看发现纸上整改"


def test_make_long_term_keeps_original_deadline(session, settings, ledger):
    tid = ledger.id("2")
    original = ledger.tasks["2"].deadline
    sup = as_official(session, settings, NOW, "陈静")
    task = lifecycle.make_long_term(sup, tid, "需长期坚持")
    assert task.kind == TaskKind.LONG_TERM and task.deadline is None
    assert task.original_deadline == original
    with pytest.raises(InvalidTransition):
        lifecycle.make_long_term(sup, tid, "again")
    with pytest.raises(InvalidInput, match="长期坚持任务不销号"):
        lifecycle.mark_submitted(owner(session, settings, "孙丽"), tid, "完成")


def test_extension_request_and_approval_keep_original_deadline(session, settings, ledger):
    tid = ledger.id("2")
    old = ledger.tasks["2"].deadline
    me = owner(session, settings, "孙丽")
    with pytest.raises(InvalidInput, match="须晚于"):
        lifecycle.request_extension(me, tid, old - timedelta(days=1), "来不及")
    request = lifecycle.request_extension(me, tid, old + timedelta(days=30), "需上级审批")
    with pytest.raises(InvalidInput, match="待审批"):
        lifecycle.request_extension(me, tid, old + timedelta(days=40), "again")
    with pytest.raises(NotAllowed):
        lifecycle.decide_extension(me, request.id, approve=True)
    sup = as_official(session, settings, NOW, "陈静")
    lifecycle.decide_extension(sup, request.id, approve=True, note="同意")
    task = lifecycle.get_task(sup, tid)
    assert task.deadline == old + timedelta(days=30) and task.original_deadline == old
    assert request.status == ExtensionStatus.APPROVED
    with pytest.raises(InvalidInput, match="已处理"):
        lifecycle.decide_extension(sup, request.id, approve=False)


def test_extension_after_deadline_is_refused(session, settings, ledger):
    with pytest.raises(InvalidInput, match="截止日期"):
        lifecycle.request_extension(
            owner(session, settings), ledger.id("3"), TODAY + timedelta(days=10), "晚了"
        )


def test_evidence_over_the_limit_is_refused(session, settings, ledger):
    with pytest.raises(InvalidInput, match="文件过大"):
        lifecycle.add_evidence(
            owner(session, settings), ledger.id("1"), file_name="big.zip", size=21 * 1024 * 1024
        )


def test_unknown_task(session, settings, ledger):
    with pytest.raises(NotFound, match="#999"):
        lifecycle.record_progress(owner(session, settings), 999, "x")


def test_event_raised_in_quiet_hours_waits_until_morning(session, settings, ledger):
    late = NOW.replace(hour=14)  # 22:00 in Shanghai
    ctx = as_official(session, settings, late, "赵磊")
    lifecycle.mark_submitted(ctx, ledger.id("1"), "完成")
    row = session.exec(select(Outbox).where(Outbox.kind == "submitted")).one()
    assert row.not_before.isoformat() == "2026-11-03T00:00:00+00:00"  # 08:00 next morning


def test_nudge_reports_how_many_owners_it_queued(session, settings, ledger):
    # the count is what /remind answers ("已催办 … （N 人）"); PostgreSQL once reported 0
    sup = as_official(session, settings, NOW, "陈静")
    tid = ledger.id("1")
    assert lifecycle.nudge(sup, tid) == 1
    later = as_official(session, settings, NOW + timedelta(minutes=61), "陈静")
    assert lifecycle.nudge(later, tid) == 1  # after the cooldown a new message, not a duplicate
    rows = session.exec(select(Outbox).where(Outbox.kind == "nudge")).all()
    assert len(rows) == 2 and {r.task_id for r in rows} == {tid}
