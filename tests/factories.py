"""Build ledgers for tests: sheets written with openpyxl, and contexts for each kind of actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlmodel import Session, select

from config import Settings
from ledger.contacts import contact_of
from ledger.context import Actor, WorkContext
from ledger.enums import Channel, OfficialRole, Via
from ledger.importer import RoundOptions, import_file
from ledger.models import Contact, Official, Outbox, SentMessage, Task

HEADERS = [
    "序号",
    "方面",
    "具体问题",
    "整改任务",
    "整改措施",
    "任务类型",
    "责任领导",
    "牵头单位",
    "责任人",
    "督办人",
    "整改时限",
    "状态",
]

# what makes an outbox row unique: (task, recipient, kind, stage), or its dedupe key
NOTICE_KEY = (Outbox.task_id, Outbox.recipient_id, Outbox.kind, Outbox.stage, Outbox.dedupe_key)


def write_xlsx(
    path: Path, rows: list[list[Any]], headers: list[str] | None = None, title_rows: int = 0
) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for n in range(title_rows):
        sheet.append([f"标题行 {n + 1}"])
    sheet.append(headers or HEADERS)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def task_row(
    ref: int | str,
    deadline: Any,
    owner: str = "赵磊",
    *,
    aspect: str = "(一)方面一",
    problem: str = "1、问题一",
    leader: str = "李明",
    supervisor: str = "陈静",
    unit: str = "办公室",
    kind: str = "",
    status: str = "",
    title: str = "",
) -> list[Any]:
    return [
        ref,
        aspect,
        problem,
        title or f"任务{ref}",
        f"措施{ref}",
        kind,
        leader,
        unit,
        owner,
        supervisor,
        deadline,
        status,
    ]


def cli_ctx(session: Session, settings: Settings, now: datetime) -> WorkContext:
    return WorkContext(session=session, now=now, actor=Actor(via=Via.CLI), settings=settings)


def as_official(session: Session, settings: Settings, now: datetime, name: str) -> WorkContext:
    official = session.exec(select(Official).where(Official.name == name)).one()
    return WorkContext(
        session=session,
        now=now,
        actor=Actor(via=Via.TELEGRAM, official=official),
        settings=settings,
    )


@dataclass
class Ledger:
    """The standard small ledger: 赵磊 and 孙丽 own tasks, 李明/张伟 lead, 陈静 supervises."""

    tasks: dict[str, Task]

    def id(self, ref: str) -> int:
        task_id = self.tasks[ref].id
        assert task_id is not None
        return task_id


def build_ledger(
    session: Session,
    settings: Settings,
    now: datetime,
    tmp: Path,
    *,
    today: date,
    rows: list[list[Any]] | None = None,
) -> Ledger:
    rows = rows or [
        task_row(1, today + timedelta(days=30)),
        task_row(2, today + timedelta(days=5), "孙丽", leader="张伟", unit="产业发展股"),
        task_row(3, today - timedelta(days=3), "赵磊", aspect="(二)方面二", problem=""),
        task_row(4, "长期坚持", "孙丽", aspect="(二)方面二", problem="", leader="张伟"),
    ]
    path = write_xlsx(tmp / "ledger.xlsx", rows)
    ctx = cli_ctx(session, settings, now)
    import_file(ctx, path, RoundOptions(name="第一轮", feedback_date=today - timedelta(days=30)))
    head = Official(name="王建国", role=OfficialRole.HEAD, unit="办公室", created_at=now)
    admin = Official(name="管理员", role=OfficialRole.ADMIN, created_at=now)
    session.add_all([head, admin])
    session.commit()
    tasks = {t.ref: t for t in session.exec(select(Task))}
    return Ledger(tasks=tasks)


def bind_telegram(session: Session, official: Official, user_id: int, *, now: datetime) -> None:
    """Bind `official` on Telegram as user (and private chat) `user_id`, as redeeming an
    invite would, without the invite."""
    assert official.id is not None
    session.add(
        Contact(
            official_id=official.id,
            channel=Channel.TELEGRAM,
            address=str(user_id),
            bound_at=now,
        )
    )


def message_id_of(session: Session, row: Outbox) -> int | None:
    """The channel's message id of a sent outbox row (what a reply to it names)."""
    found = session.exec(select(SentMessage).where(SentMessage.outbox_id == row.id)).first()
    return int(found.message_id) if found is not None else None


def telegram_id(session: Session, official: Official) -> int | None:
    """The official's Telegram user id (their private chat's id), if they are bound there."""
    assert official.id is not None
    contact = contact_of(session, official.id, Channel.TELEGRAM)
    return int(contact.address) if contact is not None else None


def reachable(session: Session, official: Official) -> bool:
    """Whether the official's Telegram contact can be reached."""
    assert official.id is not None
    contact = contact_of(session, official.id, Channel.TELEGRAM)
    return contact is not None and contact.reachable
