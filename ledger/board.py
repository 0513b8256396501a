"""The dashboard's read model: the ledger scoped to one person, filtered, counted, queued.

Scope comes from ledger.reads (what the person oversees or owns); a task or file outside it
is answered exactly like one that does not exist, so a guessed id reveals nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlmodel import col, select

from ledger import reads
from ledger.context import WorkContext
from ledger.enums import ExtensionStatus
from ledger.i18n import register
from ledger.models import Evidence, ExtensionRequest
from ledger.queries import TaskFilter, TaskView
from ledger.workdays import WorkCalendar

register(
    "zh",
    {
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


def board(ctx: WorkContext, flt: BoardFilter) -> Board:
    views = reads.task_list(ctx, TaskFilter())
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


def overdue(ctx: WorkContext, calendar: WorkCalendar) -> list[OverdueRow]:
    views = reads.task_list(ctx, TaskFilter(overdue=True))
    rows = [
        OverdueRow(v, calendar.working_days_between(v.task.deadline, ctx.today))
        for v in views
        if v.task.deadline is not None
    ]
    return sorted(rows, key=lambda r: (-r.view.days_overdue, r.view.id))


def awaiting(ctx: WorkContext) -> list[tuple[TaskView, list[Evidence]]]:
    """The 待销号 queue with each task's files."""
    views = reads.task_list(ctx, TaskFilter(awaiting_verification=True))
    files = reads.evidence_of(ctx.session, [v.id for v in views])
    return [(v, [f for f in files if f.task_id == v.id]) for v in views]


def extension_requests(ctx: WorkContext) -> list[tuple[ExtensionRequest, TaskView]]:
    pending = list(
        ctx.session.exec(
            select(ExtensionRequest)
            .where(ExtensionRequest.status == ExtensionStatus.PENDING)
            .order_by(col(ExtensionRequest.id))
        )
    )
    ids = [r.task_id for r in pending]
    views = {v.id: v for v in reads.task_list(ctx, TaskFilter(task_ids=ids))}
    return [(r, views[r.task_id]) for r in pending if r.task_id in views]


def visible(ctx: WorkContext, task_id: int) -> TaskView | None:
    """The task if the actor may see it; None otherwise (as if it did not exist)."""
    views = reads.task_list(ctx, TaskFilter(task_ids=[task_id]))
    return views[0] if views else None
