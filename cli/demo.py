"""`ledgerbot demo`: the sample ledger in a temporary database, with no token and no network."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from cli.main import print_queued, print_summary, print_tasks
from config import Settings, load_settings
from jobs.policy import SweepPolicy
from jobs.runner import QueuedNotice
from jobs.sweep import sweep
from ledger import lifecycle, sample
from ledger.clock import FakeClock
from ledger.context import Actor, WorkContext
from ledger.db import make_engine, session_scope
from ledger.enums import Duty, OfficialRole, Via
from ledger.errors import LedgerError
from ledger.importer import RoundOptions, import_file
from ledger.lights import open_sql
from ledger.migrate import upgrade
from ledger.models import ExtensionRequest, Official, Outbox, Task, TaskPerson
from ledger.queries import TaskFilter, list_tasks
from ledger.workdays import WorkCalendar


def run_demo(*, days: int = 45, quiet: bool = False, web: bool = False) -> int:
    with tempfile.TemporaryDirectory(prefix="ledgerbot-demo-") as tmp:
        folder = Path(tmp)
        settings = load_settings(
            database_url=f"sqlite:///{folder / 'demo.db'}", evidence_dir=folder / "evidence"
        )
        zone = settings.zone
        start_day = datetime.now(zone).date()
        clock = FakeClock(datetime.combine(start_day, time(9, 0), tzinfo=zone).astimezone(UTC))
        engine = make_engine(settings.database_url)
        upgrade(engine)
        sheet = sample.write_sample(folder / "整改台账.xlsx", start_day)
        print(f"== 整改台账演示 (ledgerbot demo) — {start_day.isoformat()} ==")
        print(
            f"示例台账：{sample.INSPECTED_UNIT}，{sample.INSPECTION_GROUP}反馈 6个方面10个具体问题\n"
        )
        with session_scope(engine) as session:
            ctx = WorkContext(
                session=session, now=clock.now(), actor=Actor(via=Via.CLI), settings=settings
            )
            options = RoundOptions(
                name=sample.ROUND_NAME,
                inspected_unit=sample.INSPECTED_UNIT,
                inspection_group=sample.INSPECTION_GROUP,
                feedback_date=start_day.replace(day=1),
            )
            summary = import_file(ctx, sheet, options)
            head_name, unit, title = sample.HEAD
            head = session.exec(select(Official).where(Official.name == head_name)).one()
            head.role, head.unit, head.title = OfficialRole.HEAD, unit, title
            session.add(head)
        print_summary(summary)
        print()
        with session_scope(engine) as session:
            views = list_tasks(
                session, TaskFilter(), today=start_day, yellow_days=settings.policy.yellow_days
            )
        print_tasks(views, start_day)
        if days > 0:
            simulate(engine, settings, clock, start_day, days, quiet=quiet)
        if web:
            serve_demo_web(engine, settings, clock)
        engine.dispose()
    return 0


class ShiftedClock:
    """The wall clock moved to the simulation's last day, so the pages see the demo's today."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def serve_demo_web(engine: Engine, settings: Settings, clock: FakeClock) -> None:
    """The dashboard on the demo ledger at LEDGERBOT_WEB__LISTEN until interrupted."""
    import asyncio
    import secrets

    from pydantic import SecretStr

    from cli.serve import ListenError, serve_web
    from ledger.links import action_url, create_signin

    web = settings.web.model_copy(update={"secret": SecretStr(secrets.token_urlsafe(32))})
    settings = settings.model_copy(update={"web": web})
    shifted = ShiftedClock(clock.now() - datetime.now(UTC))
    with session_scope(engine) as session:
        now = shifted.now()
        supervisor = session.exec(
            select(Official).where(Official.role == OfficialRole.SUPERVISOR)
        ).first()
        assert supervisor is not None and supervisor.id is not None
        ctx = WorkContext(session=session, now=now, actor=Actor(via=Via.CLI), settings=settings)
        signin = create_signin(ctx, supervisor)
        owned = session.exec(
            select(TaskPerson)
            .join(Task, col(Task.id) == col(TaskPerson.task_id))
            .where(TaskPerson.duty == Duty.OWNER, open_sql(col(Task.status)))
            .order_by(col(Task.deadline))
        ).first()
        owner = session.get(Official, owned.official_id) if owned else None
        action = (
            action_url(
                web.base_url(),
                web.secret.get_secret_value(),
                owned.official_id,
                owned.task_id,
                now,
                web.link_hours,
            )
            if owned and web.secret
            else ""
        )
    print(f"\n== 网页演示 (web demo) {web.base_url()} — Ctrl-C 结束 ==")
    print(f"督办人 {supervisor.name} 登录链接 (supervisor sign-in, one use): {signin}")
    if owner is not None and action:
        print(f"责任人 {owner.name} 的办理链接 (an owner's action link): {action}")
    try:
        asyncio.run(serve_web(settings, engine, shifted))
    except ListenError as exc:
        print(f"ledgerbot demo: {exc}")
    except KeyboardInterrupt:
        pass


# scripted replies during the simulated period: day offset -> (who, action, task ref, text)
SCRIPT: dict[int, list[tuple[str, str, str, str]]] = {
    1: [("孙丽", "progress", "6", "申报材料已报送市文旅局")],
    2: [("赵磊", "done", "1", "学习方案已经党组会审议印发")],
    3: [("陈静", "verify", "1", "材料齐全，同意销号")],
    4: [("郑涛", "extend", "8", "需等待市局裁量基准修订|+30")],
    5: [("陈静", "approve_extension", "8", "")],
    9: [("周强", "done", "5", "博物馆已开放")],
    10: [("陈静", "reject", "5", "缺少佐证材料，请补充开放运营照片")],
}


def simulate(
    engine: Engine, settings: Settings, clock: FakeClock, start_day: date, days: int, *, quiet: bool
) -> None:
    """Run the period day by day at 09:00: sweep, scripted replies, and every message queued."""
    policy = SweepPolicy.from_settings(settings, WorkCalendar.from_file(settings.calendar_file))
    print(f"\n== 模拟整改期 {days} 天（每个工作日 09:00 调度）==")
    last_id = 0
    totals: dict[str, int] = {}
    with session_scope(engine) as session:
        names = {o.id: o.name for o in session.exec(select(Official)) if o.id is not None}
    for offset in range(days):
        day = start_day + timedelta(days=offset)
        clock.set(policy.send_instant(day))
        with session_scope(engine) as session:
            sweep(session=session, now=clock.now(), policy=policy)
        swept, last_id = _new_rows(engine, settings, day, last_id)  # sent at 09:00
        actions = _act(engine, settings, clock, offset)
        events, last_id = _new_rows(engine, settings, day, last_id)  # replies and decisions
        if not swept and not actions and not events:
            continue
        for row in [*swept, *events]:
            totals[row.kind] = totals.get(row.kind, 0) + 1
        if quiet:
            continue
        print(f"\n— {day.isoformat()}（周{'一二三四五六日'[day.weekday()]}）—")
        print_queued(swept, names, max_lines=3, indent="  ")
        for line in actions:
            print(f"  ✎ {line}")
        print_queued(events, names, max_lines=3, indent="  ")
    print("\n== 模拟结束 ==")
    print(
        "消息统计：" + "，".join(f"{KIND_NAMES.get(k, k)} {n}" for k, n in sorted(totals.items()))
    )
    end = start_day + timedelta(days=days - 1)
    with session_scope(engine) as session:
        views = list_tasks(
            session, TaskFilter(), today=end, yellow_days=settings.policy.yellow_days
        )
    print(f"\n{end.isoformat()} 台账：")
    print_tasks(views, end)


def _new_rows(
    engine: Engine, settings: Settings, day: date, last_id: int
) -> tuple[list[QueuedNotice], int]:
    """Outbox rows queued since `last_id`, as their recipients would read them that day."""
    with session_scope(engine) as session:
        rows = list(
            session.exec(select(Outbox).where(col(Outbox.id) > last_id).order_by(col(Outbox.id)))
        )
        shown = [
            QueuedNotice.of(session, r, today=day, yellow_days=settings.policy.yellow_days)
            for r in rows
        ]
    return shown, (rows[-1].id or last_id) if rows else last_id


KIND_NAMES = {
    "reminder": "提醒",
    "escalation": "督办",
    "oversight": "督办汇总",
    "long_term_request": "长期任务报告请求",
    "pending_list": "待销号清单",
    "weekly_digest": "每周调度",
    "submitted": "提交销号",
    "verified": "销号通知",
    "rejected": "退回通知",
    "extension_requested": "延期申请",
    "extension_approved": "延期批准",
    "extension_rejected": "延期未批准",
    "nudge": "催办",
}


def _act(engine: Engine, settings: Settings, clock: FakeClock, offset: int) -> list[str]:
    done: list[str] = []
    for who, action, ref, text in SCRIPT.get(offset, []):
        with session_scope(engine) as session:
            official = session.exec(select(Official).where(Official.name == who)).one()
            ctx = WorkContext(
                session=session,
                now=clock.now() + timedelta(hours=1),
                actor=Actor(via=Via.TELEGRAM, official=official),
                settings=settings,
            )
            task = session.exec(select(Task).where(Task.ref == ref)).one()
            assert task.id is not None
            try:
                if action == "progress":
                    lifecycle.record_progress(ctx, task.id, text)
                elif action == "done":
                    lifecycle.mark_submitted(ctx, task.id, text)
                elif action == "verify":
                    lifecycle.verify(ctx, task.id, text)
                elif action == "reject":
                    lifecycle.reject(ctx, task.id, text)
                elif action == "extend":
                    reason, shift = text.split("|")
                    assert task.deadline is not None
                    lifecycle.request_extension(
                        ctx, task.id, task.deadline + timedelta(days=int(shift)), reason
                    )
                elif action == "approve_extension":
                    request = session.exec(
                        select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)
                    ).one()
                    assert request.id is not None
                    lifecycle.decide_extension(ctx, request.id, approve=True, note="同意")
            except LedgerError as exc:
                done.append(f"{who} #{task.id}：{exc}")
                continue
        label = {
            "progress": "回复进展",
            "done": "回复“已完成”",
            "verify": "点“销号”",
            "reject": "点“退回”",
            "extend": "申请延期",
            "approve_extension": "批准延期",
        }
        done.append(f"{who} {label[action]} #{task.id} {text.split('|')[0]}".rstrip())
    return done
