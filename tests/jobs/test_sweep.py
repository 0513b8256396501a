"""The sweep at exact instants: stages, holidays, 调休, escalation, catch-up, idempotency."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from jobs.policy import SweepPolicy
from jobs.runner import catch_up_due, run_sweep
from jobs.sweep import sweep
from ledger import lifecycle
from ledger.enums import OfficialRole
from ledger.importer import RoundOptions, import_file
from ledger.models import AuditEvent, Official, Outbox, ProgressReport, Task
from ledger.workdays import WorkCalendar
from tests.factories import NOTICE_KEY, as_official, cli_ctx, task_row, write_xlsx

ZONE = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(UTC)


@pytest.fixture
def policy(settings):
    return SweepPolicy.from_settings(settings, WorkCalendar())


@pytest.fixture
def load(session, settings, tmp_path):
    def _load(*rows, feedback=date(2026, 9, 1)):
        path = write_xlsx(tmp_path / "l.xlsx", list(rows))
        import_file(
            cli_ctx(session, settings, at(feedback)),
            path,
            RoundOptions(name="R", feedback_date=feedback),
        )
        session.add(
            Official(name="王局长", role=OfficialRole.HEAD, unit="", created_at=at(feedback))
        )
        session.commit()
        return {t.ref: t.id for t in session.exec(select(Task))}

    return _load


def run(session, policy, day, hour=9):
    result = sweep(session=session, now=at(day, hour), policy=policy)
    session.commit()
    return result


def queued(session, result):
    rows = session.exec(select(Outbox).where(Outbox.sweep_id == result.sweep_id)).all()
    names = {o.id: o.name for o in session.exec(select(Official))}
    return sorted(
        (
            names.get(r.recipient_id, r.group_id),
            r.kind,
            r.stage.split(":")[0] + ":" + r.stage.split(":")[-1] if r.stage else "",
        )
        for r in rows
    )


def oversight(session, result):
    """Each person's oversight notice of the sweep: {name: [(task id, level), …]}."""
    rows = session.exec(
        select(Outbox).where(Outbox.sweep_id == result.sweep_id, Outbox.kind == "oversight")
    ).all()
    names = {o.id: o.name for o in session.exec(select(Official))}
    found = {
        names[r.recipient_id]: sorted((i["task_id"], i["level"]) for i in r.params["items"])
        for r in rows
    }
    assert len(found) == len(rows)  # one notice per person and sweep
    return found


D = date(2026, 12, 31)  # a Thursday


@pytest.mark.parametrize(
    ("day", "owner_stage", "leader_told"),
    [
        (date(2026, 12, 10), None, False),  # 21 days before: nothing yet
        (date(2026, 12, 11), "20", False),  # 20 days: owner only
        (date(2026, 12, 21), "10", True),  # 10 days: the leader is told as well
        (date(2026, 12, 28), "3", True),
        (date(2026, 12, 30), "1", True),
        (date(2026, 12, 31), "0", True),  # on the day
    ],
)
def test_stage_ladder_from_a_fresh_ledger(session, policy, load, day, owner_stage, leader_told):
    ids = load(task_row(1, D))
    result = run(session, policy, day)
    reminders = [r for r in queued(session, result) if r[1] == "reminder"]
    if owner_stage is None:
        assert reminders == [] and oversight(session, result) == {}
        return
    assert reminders == [("赵磊", "reminder", f"before:{owner_stage}")]  # one per task and owner
    # the leader hears of it in his one oversight notice of the sweep
    assert oversight(session, result) == ({"李明": [(ids["1"], 0)]} if leader_told else {})


def test_each_stage_is_sent_once_across_daily_sweeps(session, policy, load):
    load(task_row(1, D))
    stages = []
    day = date(2026, 12, 1)
    while day <= D:
        stages += [r[2] for r in queued(session, run(session, policy, day)) if r[0] == "赵磊"]
        day += timedelta(days=1)
    assert stages == ["before:20", "before:10", "before:3", "before:1", "before:0"]


def test_no_scheduled_notices_on_holidays_but_on_adjusted_working_days(session, policy, load):
    load(task_row(1, date(2026, 10, 20)))  # 20 days before = 30 Sep
    assert not run(session, policy, date(2026, 10, 3)).working_day  # National Day holiday
    assert queued(session, run(session, policy, date(2026, 10, 3))) == []
    saturday = date(2026, 10, 10)  # a Saturday made a working day (调休)
    result = run(session, policy, saturday)
    assert result.working_day and ("赵磊", "reminder", "before:10") in queued(session, result)


def test_deadline_on_a_holiday_gets_its_due_notice_on_the_last_working_day(session, policy, load):
    load(task_row(1, date(2026, 10, 4)))  # Sunday in the National Day holiday
    rows = queued(session, run(session, policy, date(2026, 9, 30)))  # last working day before
    assert ("赵磊", "reminder", "before:0") in rows


def test_deadline_in_a_year_the_calendar_does_not_know(session, policy, load, caplog):
    load(task_row(1, date(2027, 1, 18)))  # Monday 2027: chinesecalendar 1.11 stops at 2026
    rows = queued(session, run(session, policy, date(2027, 1, 15)))  # Friday: Mon-Fri fallback
    assert ("赵磊", "reminder", "before:3") in rows
    saturday = run(session, policy, date(2027, 1, 16))
    assert not saturday.working_day
    assert sum("calendar_year_provisional" in r.message for r in caplog.records) == 1


def test_extra_calendar_file_covers_a_new_year(session, settings, load, tmp_path):
    (tmp_path / "cal.toml").write_text('holidays = ["2027-01-15"]\nworkdays = ["2027-01-16"]\n')
    policy = SweepPolicy.from_settings(settings, WorkCalendar.from_file(tmp_path / "cal.toml"))
    load(task_row(1, date(2027, 1, 18)))
    assert not run(session, policy, date(2027, 1, 15)).working_day
    assert run(session, policy, date(2027, 1, 16)).working_day


def test_overdue_escalation_ladder_is_recorded(session, policy, load):
    ids = load(task_row(1, date(2026, 11, 6)))  # Friday
    result = run(session, policy, date(2026, 11, 9))  # 1 working day overdue
    first = queued(session, result)
    assert ("赵磊", "reminder", "overdue:2026-11-09") in first
    assert oversight(session, result) == {"陈静": [(ids["1"], 1)]}
    task = session.get(Task, ids["1"])
    session.refresh(task)
    assert task.escalation_level == 1
    for day in (10, 11, 12):
        assert oversight(session, run(session, policy, date(2026, 11, day))) == {}
    fifth = run(session, policy, date(2026, 11, 13))
    assert oversight(session, fifth) == {}  # 5 working days: not yet level 2
    sixth = run(session, policy, date(2026, 11, 16))
    assert oversight(session, sixth) == {"李明": [(ids["1"], 2)], "王局长": [(ids["1"], 2)]}
    assert ("赵磊", "reminder", "overdue:2026-11-16") in queued(session, sixth)
    session.refresh(task)
    assert task.escalation_level == 2
    log = session.exec(select(AuditEvent).where(AuditEvent.action == "escalate")).all()
    assert [(e.task_id, e.after["escalation_level"], e.actor_name) for e in log] == [
        (ids["1"], 1, "调度器"),
        (ids["1"], 2, "调度器"),
    ]


def test_one_sweep_raising_both_levels_tells_one_person_only_the_higher(session, policy, load):
    # 李明 is both the task's supervisor and its leader; the service first sweeps long after
    # the deadline, so level 1 and level 2 come in the same sweep: he is told of level 2 only.
    ids = load(task_row(1, date(2026, 11, 6), supervisor="李明"))
    result = run(session, policy, date(2026, 11, 20))
    assert oversight(session, result) == {"李明": [(ids["1"], 2)], "王局长": [(ids["1"], 2)]}
    log = session.exec(select(AuditEvent).where(AuditEvent.action == "escalate")).all()
    assert sorted(e.after["escalation_level"] for e in log) == [1, 2]  # both levels recorded
    assert result.escalated == 2


def test_oversight_is_one_notice_per_person_listing_every_task_raised(session, policy, load):
    # 陈静 supervises three overdue tasks of two owners; one sweep tells her once, of all three
    ids = load(
        task_row(1, date(2026, 11, 6)),
        task_row(2, date(2026, 11, 5), "孙丽"),
        task_row(3, date(2026, 11, 2), "孙丽"),
        task_row(4, date(2026, 11, 30), "孙丽"),  # not overdue: not listed
    )
    result = run(session, policy, date(2026, 11, 10))
    told = oversight(session, result)
    assert told["陈静"] == [(ids["1"], 1), (ids["2"], 1), (ids["3"], 1)]
    owners = [r for r in queued(session, result) if r[2].startswith("overdue")]
    assert sorted(r[0] for r in owners) == ["孙丽", "孙丽", "赵磊"]  # owners: one per task
    assert result.by_kind["oversight"] == len(told)


def test_an_oversight_notice_of_60_tasks_fits_telegram_and_drops_what_moved_on(
    session, settings, policy, load
):
    from bot.dispatcher import MAX_BUTTONS, button_groups
    from ledger.notices import enrich, render_notice

    ids = load(*[task_row(n, date(2026, 11, 6), f"人{n % 5}") for n in range(1, 61)])
    result = run(session, policy, date(2026, 11, 9))
    (row,) = session.exec(
        select(Outbox).where(Outbox.sweep_id == result.sweep_id, Outbox.kind == "oversight")
    ).all()

    def rendered():
        params = enrich(
            session, None, row.params, today=date(2026, 11, 9), yellow_days=10, kind=row.kind
        )
        return render_notice(row.kind, row.text_key, params, "zh")

    notice = rendered()
    assert notice.text.startswith("【督办汇总】60 项") and "另有 10 项" in notice.text
    groups = button_groups(notice.buttons)  # 50 tasks listed: one keyboard of 100 buttons
    assert len(groups) == 1 and sum(map(len, groups[0])) == MAX_BUTTONS
    actions = {(b.action, b.target) for row_ in notice.buttons for b in row_}
    assert actions == {(a, i) for i in list(ids.values())[:50] for a in ("remind", "details")}
    # submitted since, or made long-term since (its level reset): not in it when it goes out
    later = at(date(2026, 11, 9), 10)
    lifecycle.mark_submitted(as_official(session, settings, later, "人1"), ids["1"], "已完成")
    lifecycle.make_long_term(as_official(session, settings, later, "陈静"), ids["2"], "长期")
    session.commit()
    left = {b.target for row_ in rendered().buttons for b in row_}
    assert left == set(list(ids.values())[:52]) - {ids["1"], ids["2"]}
    assert rendered().text.startswith("【督办汇总】58 项") and "另有 8 项" in rendered().text


def test_an_oversight_notice_of_many_tasks_keeps_the_most_urgent_and_counts_all(
    session, policy, load
):
    # a province's supervisor may oversee 100k tasks: the row keeps the most urgent (most
    # overdue first) and counts the rest, instead of listing every task in one row
    from ledger.notices import OVERSIGHT_KEPT, enrich, render_notice

    rows = [task_row(n, date(2026, 11, 6 if n > 20 else 5), f"人{n % 7}") for n in range(1, 151)]
    ids = load(*rows)
    result = run(session, policy, date(2026, 11, 10))
    (row,) = session.exec(
        select(Outbox).where(
            Outbox.sweep_id == result.sweep_id,
            Outbox.kind == "oversight",
            Outbox.recipient_id
            == session.exec(select(Official.id).where(Official.name == "陈静")).one(),
        )
    ).all()
    kept = [item["task_id"] for item in row.params["items"]]
    assert row.params["count"] == 150 and len(kept) == OVERSIGHT_KEPT
    assert kept[:20] == [ids[str(n)] for n in range(1, 21)]  # the 20 due on the 5th first
    params = enrich(
        session, None, row.params, today=date(2026, 11, 10), yellow_days=10, kind=row.kind
    )
    text = render_notice(row.kind, row.text_key, params, "zh").text
    assert text.startswith("【督办汇总】150 项") and "另有 100 项" in text


def test_catch_up_after_four_missed_days_sends_one_merged_notice(session, policy, load):
    load(task_row(1, date(2026, 11, 20)), task_row(2, date(2026, 11, 13), "孙丽"))
    run(session, policy, date(2026, 11, 2))  # Monday: stage 20 for task 1 (unbound: pending)
    result = run(session, policy, date(2026, 11, 13))  # 8 working days later, service was down
    rows = [r for r in queued(session, result) if r[1] == "reminder"]
    assert sorted(r[:1] + r[2:] for r in rows if r[0] in ("赵磊", "孙丽")) == [
        ("孙丽", "before:0"),
        ("赵磊", "before:10"),
    ]
    pending = session.exec(
        select(Outbox).where(
            Outbox.status == "pending", Outbox.recipient_id == 1, Outbox.kind == "reminder"
        )
    ).all()
    assert [p.stage.split(":")[-1] for p in pending if p.task_id == 1] == ["10"]
    # the leader (李明) hears of both tasks in one notice
    assert oversight(session, result) == {"李明": [(1, 0), (2, 0)]}
    covered = session.exec(select(Outbox).where(Outbox.status == "covered")).all()
    assert sorted((c.task_id, c.stage.split(":")[-1]) for c in covered) == [(1, "20"), (2, "20")]


def test_two_sweeps_at_the_same_instant_queue_nothing_twice(session, policy, load):
    load(task_row(1, date(2026, 11, 12)), task_row(2, date(2026, 10, 30), "孙丽"))
    first = run(session, policy, date(2026, 11, 2))
    second = run(session, policy, date(2026, 11, 2))
    assert first.queued > 0 and second.queued == 0
    keys = session.exec(select(*NOTICE_KEY)).all()
    assert len(keys) == len(set(keys))


def test_concurrent_sweeps_queue_no_duplicate(engine, session, policy, load):
    load(
        *[
            task_row(n, date(2026, 11, 3) + timedelta(days=n % 12), f"人{n % 7}")
            for n in range(1, 60)
        ]
    )
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def worker():
        try:
            barrier.wait()
            run_sweep(engine, policy, at(date(2026, 11, 2)))
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(engine) as fresh:
        keys = fresh.exec(select(*NOTICE_KEY)).all()
    assert len(keys) == len(set(keys)) and len(keys) > 50


def test_long_term_monthly_request_and_escalation(session, settings, policy, load):
    ids = load(task_row(1, "长期坚持"), task_row(2, "长期坚持", "孙丽"))
    before = queued(session, run(session, policy, date(2026, 11, 24)))
    assert not any(r[1] == "long_term_request" for r in before)
    rows = queued(session, run(session, policy, date(2026, 11, 25)))
    assert ("赵磊", "long_term_request", "lt:2026-11") in rows
    lifecycle.record_progress(
        as_official(session, settings, at(date(2026, 11, 26)), "孙丽"),
        ids["2"],
        "本月已完成民宿推进会",
    )
    session.commit()
    assert not any(
        r[1] == "escalation" for r in queued(session, run(session, policy, date(2026, 12, 1)))
    )
    rows = queued(session, run(session, policy, date(2026, 12, 2)))  # 5 working days unanswered
    escalations = [r for r in rows if r[1] == "escalation"]
    assert escalations == [("陈静", "escalation", "lt_esc:2026-11")]
    assert session.exec(select(ProgressReport)).one().task_id == ids["2"]


def test_awaiting_verification_list_daily_to_the_supervisor(session, settings, policy, load):
    ids = load(task_row(1, date(2026, 12, 31)), task_row(2, date(2026, 12, 31), "孙丽"))
    lifecycle.mark_submitted(
        as_official(session, settings, at(date(2026, 11, 2), 8), "赵磊"), ids["1"], "已完成"
    )
    session.commit()
    result = run(session, policy, date(2026, 11, 3))
    row = session.exec(
        select(Outbox).where(Outbox.sweep_id == result.sweep_id, Outbox.kind == "pending_list")
    ).one()
    assert row.params["count"] == 1 and row.params["items"][0]["task_id"] == ids["1"]


def test_weekly_digest_on_monday_lists_red_items_and_unbound(session, policy, load):
    load(task_row(1, date(2026, 10, 30)), task_row(2, date(2026, 12, 31), "孙丽", leader="张伟"))
    result = run(session, policy, date(2026, 11, 2))  # Monday
    digests = session.exec(
        select(Outbox).where(Outbox.sweep_id == result.sweep_id, Outbox.kind == "weekly_digest")
    ).all()
    by_name = {session.get(Official, d.recipient_id).name: d.params for d in digests}
    assert set(by_name) == {"陈静", "李明", "张伟", "王局长"}
    assert by_name["陈静"]["red"] == 1 and by_name["陈静"]["total"] == 2
    assert [i["task_id"] for i in by_name["陈静"]["red_items"]] == [1]
    assert by_name["张伟"]["total"] == 1 and by_name["张伟"]["red"] == 0  # only what he leads
    assert "赵磊" in by_name["陈静"]["unbound"]
    assert (
        queued(session, run(session, policy, date(2026, 11, 3))).count(
            ("陈静", "weekly_digest", "week:2026-W45")
        )
        == 0
    )


def test_catch_up_due(session, policy):
    assert not catch_up_due(session, at(date(2026, 11, 5), 10), policy)  # fresh: none missed
    run(session, policy, date(2026, 11, 2))
    assert not catch_up_due(session, at(date(2026, 11, 2), 18), policy)
    assert not catch_up_due(session, at(date(2026, 11, 3), 8), policy)  # before 09:00
    assert catch_up_due(session, at(date(2026, 11, 3), 9), policy)
    run(session, policy, date(2026, 11, 6))  # Friday
    assert not catch_up_due(session, at(date(2026, 11, 8), 12), policy)  # the weekend


async def test_downtime_over_two_working_days_and_a_holiday_catches_up_once(
    engine, session, settings, load
):
    """Down from Mon 28 Sep (after its sweep) until 8 Oct: 29-30 Sep and National Day missed."""
    from jobs.runner import SweepScheduler
    from ledger.clock import FakeClock

    load(task_row(1, date(2026, 10, 9)), task_row(2, date(2026, 9, 30), "孙丽"))
    policy = SweepPolicy.from_settings(settings, WorkCalendar())
    run(session, policy, date(2026, 9, 28))  # the last sweep before the outage
    clock = FakeClock(at(date(2026, 10, 8), 10))  # back at 10:00 on the first working day
    scheduler = SweepScheduler(engine, policy, clock)
    try:
        result = await scheduler.start()
    finally:
        scheduler.shutdown()
    assert result is not None and result.working_day  # the catch-up ran at start
    rows = queued(session, result)
    assert sorted(r for r in rows if r[1] == "reminder") == [
        ("孙丽", "reminder", "overdue:2026-10-08"),  # one merged notice, not one per missed day
        ("赵磊", "reminder", "before:1"),
    ]
    assert oversight(session, result) == {"李明": [(1, 0)], "陈静": [(2, 1)]}
    again = SweepScheduler(engine, policy, clock)
    try:
        assert await again.start() is None  # a second start finds nothing missed
    finally:
        again.shutdown()
