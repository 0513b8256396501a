"""The dashboard's read model: the ledger scoped to one person, filtered, counted, queued.

Scope comes from ledger.access (what the person oversees); a task or file outside it is
answered exactly like one that does not exist, so a guessed id reveals nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from ledger.access import manages_filter
from ledger.enums import ExtensionStatus
from ledger.i18n import register
from ledger.models import Evidence, ExtensionRequest, Official
from ledger.queries import TaskFilter, TaskView, list_tasks
from ledger.workdays import WorkCalendar

register(
    "zh",
    {
        "audit.progress": "报告进展",
        "audit.submit": "提交销号",
        "audit.verify": "销号",
        "audit.reject": "退回",
        "audit.long_term": "转为长期坚持",
        "audit.reopen": "重新打开（回头看）",
        "audit.extension_request": "申请延期",
        "audit.extension_approved": "批准延期",
        "audit.extension_rejected": "不批准延期",
        "audit.evidence": "上传佐证材料",
        "audit.nudge": "催办",
        "audit.import_create": "导入新建",
        "audit.import_update": "导入更新",
        "audit.web_link_requested": "申请新的办理链接",
        "via.cli": "命令行",
        "via.telegram": "Telegram",
        "via.scheduler": "调度器",
        "via.import": "导入",
        "via.web": "网页",
    },
)
register(
    "en",
    {
        "audit.progress": "progress reported",
        "audit.submit": "submitted for verification",
        "audit.verify": "verified and closed",
        "audit.reject": "rejected",
        "audit.long_term": "made long-term",
        "audit.reopen": "reopened",
        "audit.extension_request": "extension requested",
        "audit.extension_approved": "extension approved",
        "audit.extension_rejected": "extension refused",
        "audit.evidence": "evidence attached",
        "audit.nudge": "nudged",
        "audit.import_create": "imported",
        "audit.import_update": "updated by import",
        "audit.web_link_requested": "asked for a fresh web link",
        "via.cli": "command line",
        "via.telegram": "Telegram",
        "via.scheduler": "scheduler",
        "via.import": "import",
        "via.web": "web",
    },
)

FILTERS = ("aspect", "unit", "owner", "light", "status", "role")


@dataclass
class BoardFilter:
    aspect: str = ""
    unit: str = ""
    owner: str = ""
    light: str = ""
    status: str = ""
    role: str = ""  # lead (牵头) / participating (参与)
    q: str = ""  # search in ref, title, measures, units, people

    def matches(self, view: TaskView) -> bool:
        task = view.task
        if self.aspect and view.aspect.title != self.aspect:
            return False
        if self.unit and self.unit not in (task.lead_unit, *_units(task.participating_units)):
            return False
        if self.owner and self.owner not in view.owners:
            return False
        if self.light and view.light.value != self.light:
            return False
        if self.status and task.status != self.status:
            return False
        if self.role and task.role != self.role:
            return False
        if self.q:
            haystack = " ".join(
                [
                    task.ref,
                    task.title,
                    task.measures,
                    task.lead_unit,
                    task.participating_units,
                    view.problem.title,
                    *view.owners,
                    *view.leaders,
                ]
            )
            return self.q.strip().lower() in haystack.lower()
        return True


def _units(text: str) -> list[str]:
    return [u.strip() for u in text.replace("，", "、").replace(",", "、").split("、") if u.strip()]


@dataclass
class Board:
    rows: list[TaskView]
    in_scope: int
    by_aspect: list[tuple[str, int]]
    by_unit: list[tuple[str, int]]
    by_light: dict[str, int]
    options: dict[str, list[str]] = field(default_factory=dict)


def scoped(
    session: Session, official: Official, *, today: date, yellow_days: int, flt: TaskFilter | None
) -> list[TaskView]:
    base = flt or TaskFilter()
    base.scope = manages_filter(session, official)
    return list_tasks(session, base, today=today, yellow_days=yellow_days)


def board(
    session: Session, official: Official, flt: BoardFilter, *, today: date, yellow_days: int
) -> Board:
    views = scoped(session, official, today=today, yellow_days=yellow_days, flt=None)
    rows = [v for v in views if flt.matches(v)]
    aspects = Counter(v.aspect.title for v in rows)
    units = Counter(v.task.lead_unit or "—" for v in rows)
    options = {
        "aspect": list(dict.fromkeys(v.aspect.title for v in views)),
        "unit": sorted(
            {u for v in views for u in (v.task.lead_unit, *_units(v.task.participating_units)) if u}
        ),
        "owner": sorted({o for v in views for o in v.owners}),
    }
    return Board(
        rows=rows,
        in_scope=len(views),
        by_aspect=[(a, aspects[a]) for a in options["aspect"] if aspects[a]],
        by_unit=units.most_common(),
        by_light=dict(Counter(v.light.value for v in rows)),
        options=options,
    )


@dataclass
class OverdueRow:
    view: TaskView
    working_days: int


def overdue(
    session: Session,
    official: Official,
    *,
    today: date,
    yellow_days: int,
    calendar: WorkCalendar,
) -> list[OverdueRow]:
    views = scoped(
        session, official, today=today, yellow_days=yellow_days, flt=TaskFilter(overdue=True)
    )
    rows = [
        OverdueRow(v, calendar.working_days_between(v.task.deadline, today))
        for v in views
        if v.task.deadline is not None
    ]
    return sorted(rows, key=lambda r: (-r.view.days_overdue, r.view.id))


def awaiting(
    session: Session, official: Official, *, today: date, yellow_days: int
) -> list[tuple[TaskView, list[Evidence]]]:
    """The 待销号 queue with each task's files."""
    views = scoped(
        session,
        official,
        today=today,
        yellow_days=yellow_days,
        flt=TaskFilter(awaiting_verification=True),
    )
    return [(v, files(session, v.id)) for v in views]


def extension_requests(
    session: Session, official: Official, *, today: date, yellow_days: int
) -> list[tuple[ExtensionRequest, TaskView]]:
    pending = list(
        session.exec(
            select(ExtensionRequest)
            .where(ExtensionRequest.status == ExtensionStatus.PENDING)
            .order_by(col(ExtensionRequest.id))
        )
    )
    ids = [r.task_id for r in pending]
    views = {
        v.id: v
        for v in scoped(
            session, official, today=today, yellow_days=yellow_days, flt=TaskFilter(task_ids=ids)
        )
    }
    return [(r, views[r.task_id]) for r in pending if r.task_id in views]


def visible(
    session: Session, official: Official, task_id: int, *, today: date, yellow_days: int
) -> TaskView | None:
    """The task if `official` oversees it; None otherwise (as if it did not exist)."""
    views = scoped(
        session, official, today=today, yellow_days=yellow_days, flt=TaskFilter(task_ids=[task_id])
    )
    return views[0] if views else None


def files(session: Session, task_id: int) -> list[Evidence]:
    return list(
        session.exec(select(Evidence).where(Evidence.task_id == task_id).order_by(col(Evidence.id)))
    )


def visible_file(
    session: Session, official: Official, evidence_id: int, *, today: date, yellow_days: int
) -> Evidence | None:
    evidence = session.get(Evidence, evidence_id)
    if evidence is None:
        return None
    if visible(session, official, evidence.task_id, today=today, yellow_days=yellow_days) is None:
        return None
    return evidence
