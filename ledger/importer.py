"""Import a ledger sheet: all or nothing, idempotent, every bad row reported at once."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from ledger import audit
from ledger.context import WorkContext
from ledger.dates import IMMEDIATE_WORDS, LONG_TERM_WORDS, normalize, parse_date
from ledger.enums import Duty, OfficialRole, TaskKind, TaskRole, TaskStatus
from ledger.errors import ImportFailed, RowError
from ledger.models import Aspect, Official, Problem, ProgressReport, Round, Task, TaskPerson
from ledger.numbering import split_aspect, split_problem
from ledger.sheets import COLUMNS, Sheet, read_sheet

KIND_WORDS: dict[str, TaskKind] = {
    "立行立改": TaskKind.IMMEDIATE,
    "immediate": TaskKind.IMMEDIATE,
    "限期整改": TaskKind.DEADLINE,
    "限期": TaskKind.DEADLINE,
    "deadline": TaskKind.DEADLINE,
    "长期坚持": TaskKind.LONG_TERM,
    "长期": TaskKind.LONG_TERM,
    "long_term": TaskKind.LONG_TERM,
    "long-term": TaskKind.LONG_TERM,
    "ongoing": TaskKind.LONG_TERM,
}
ROLE_WORDS: dict[str, TaskRole] = {
    "牵头": TaskRole.LEAD,
    "lead": TaskRole.LEAD,
    "参与": TaskRole.PARTICIPATING,
    "配合": TaskRole.PARTICIPATING,
    "participating": TaskRole.PARTICIPATING,
}
STATUS_WORDS: dict[str, TaskStatus] = {
    "未启动": TaskStatus.NOT_STARTED,
    "未开始": TaskStatus.NOT_STARTED,
    "not started": TaskStatus.NOT_STARTED,
    "not_started": TaskStatus.NOT_STARTED,
    "推进中": TaskStatus.IN_PROGRESS,
    "正在整改": TaskStatus.IN_PROGRESS,
    "整改中": TaskStatus.IN_PROGRESS,
    "进行中": TaskStatus.IN_PROGRESS,
    "基本完成": TaskStatus.IN_PROGRESS,
    "持续整改": TaskStatus.IN_PROGRESS,
    "in progress": TaskStatus.IN_PROGRESS,
    "in_progress": TaskStatus.IN_PROGRESS,
    "待销号": TaskStatus.SUBMITTED,
    "待验收": TaskStatus.SUBMITTED,
    "submitted": TaskStatus.SUBMITTED,
    "awaiting verification": TaskStatus.SUBMITTED,
    "已销号": TaskStatus.CLOSED,
    "已完成": TaskStatus.CLOSED,
    "已完成整改": TaskStatus.CLOSED,
    "完成整改": TaskStatus.CLOSED,
    "已整改": TaskStatus.CLOSED,
    "closed": TaskStatus.CLOSED,
}
_PEOPLE_SPLIT = re.compile(r"[、,，;；\n]+")
NEW_TASK_DEFAULTS: dict[str, Any] = {
    "original_deadline": None,
    "completed_on": None,
    "completion_note": "",
    "submitted_at": None,
    "closed_by_id": None,
    "closing_opinion": "",
    "escalation_level": 0,
}
# column widths in the schema (PostgreSQL enforces them; a too-long cell is a row error)
MAX_REF, MAX_NAME, MAX_ROUND = 50, 100, 200
# free-text limits (characters): a 200k-character title made /task and /mine send 99 messages
FIELD_LIMITS = {
    "title": 300,
    "aspect": 500,
    "problem": 500,
    "target": 5000,
    "measures": 5000,
    "progress": 5000,
    "notes": 2000,
    "lead_unit": 200,
    "partner_units": 1000,
    "kind": 50,
    "role": 50,
    "status": 50,
    "deadline": 100,
}
# C0 control characters other than tab and line breaks: PostgreSQL refuses NUL, xlsx all of them
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
DUTY_COLUMNS = (("owner", Duty.OWNER), ("leader", Duty.LEADER), ("supervisor", Duty.SUPERVISOR))
ROLE_FOR_DUTY = {
    Duty.OWNER: OfficialRole.OWNER,
    Duty.LEADER: OfficialRole.LEADER,
    Duty.SUPERVISOR: OfficialRole.SUPERVISOR,
}
ROLE_RANK = {OfficialRole.OWNER: 0, OfficialRole.LEADER: 1, OfficialRole.SUPERVISOR: 2}
COMPARED = (
    "title",
    "measures",
    "target",
    "kind",
    "role",
    "lead_unit",
    "participating_units",
    "deadline",
    "status",
    "notes",
)
FIELD_HEADER = {"participating_units": "partner_units"}


def _text(value: Any) -> str:
    """A key-like cell (序号, 类型, 状态, names, dates): full-width folded, spaces trimmed."""
    return normalize(_prose(value))


def _prose(value: Any) -> str:
    """Free text keeps its Chinese punctuation; only surrounding (full-width) spaces go."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().strip("\u3000").strip()


def split_people(value: Any) -> list[str]:
    names = [n.strip() for n in _PEOPLE_SPLIT.split(_text(value))]
    seen: list[str] = []
    for name in names:
        if name and name not in seen:
            seen.append(name)
    return seen


@dataclass
class RoundOptions:
    """What the CLI says about a round the sheet does not describe."""

    name: str | None = None
    inspected_unit: str = ""
    inspection_group: str = ""
    feedback_date: date | None = None
    report_due_date: date | None = None


@dataclass
class ParsedTask:
    row: int
    round_name: str
    ref: str
    aspect_number: int | None
    aspect_title: str
    problem_number: int | None
    problem_title: str
    values: dict[str, Any]
    people: dict[Duty, list[str]]
    progress: str


@dataclass
class Change:
    ref: str
    round_name: str
    task_id: int | None
    fields: list[tuple[str, str, str]]  # header, before, after


@dataclass
class ImportSummary:
    created: list[Change] = field(default_factory=list)
    updated: list[Change] = field(default_factory=list)
    unchanged: int = 0
    new_rounds: list[str] = field(default_factory=list)
    new_officials: list[str] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)  # imported, but someone should look
    hidden_rows: list[int] = field(default_factory=list)  # hidden in the sheet: skipped

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.new_rounds or self.new_officials)


class _Parser:
    """Turns sheet rows into tasks, collecting every error instead of stopping at the first."""

    def __init__(self, ctx: WorkContext, sheet: Sheet, options: RoundOptions) -> None:
        self.ctx = ctx
        self.sheet = sheet
        self.options = options
        self.errors: list[RowError] = []
        self.warnings: list[str] = []
        self.rounds = {r.name: r for r in ctx.session.exec(select(Round))}

    def header(self, name: str) -> str:
        name = FIELD_HEADER.get(name, name)
        return self.sheet.headers.get(name, COLUMNS[name][0])

    def fail(self, row: int, column: str, message: str) -> None:
        self.errors.append(RowError(row, self.header(column), message))

    def feedback_date(self, round_name: str) -> date | None:
        existing = self.rounds.get(round_name)
        if existing is not None and existing.feedback_date is not None:
            return existing.feedback_date
        return self.options.feedback_date

    def parse(self) -> list[ParsedTask]:
        parsed: list[ParsedTask] = []
        seen_refs: dict[tuple[str, str], int] = {}
        last_aspect, last_problem = "", ""
        for row, cells in self.sheet.rows:
            self.check_cells(row, cells)
            round_name = _prose(cells.get("round")) or (self.options.name or "")
            if not round_name:
                self.fail(
                    row, "round", "没有指定轮次：请在命令中加 --round 名称，或在表中加“轮次”列"
                )
                continue
            ref = _text(cells.get("ref"))
            if len(round_name) > MAX_ROUND:
                self.fail(row, "round", f"轮次名称过长（{len(round_name)}字，最多{MAX_ROUND}字）")
            if not ref:
                self.fail(row, "ref", "序号为空")
            elif len(ref) > MAX_REF:
                self.fail(row, "ref", f"序号过长（{len(ref)}字，最多{MAX_REF}字）")
                ref = ""
            elif (round_name, ref) in seen_refs:
                self.fail(
                    row, "ref", f"序号“{ref}”重复（与第{seen_refs[(round_name, ref)]}行相同）"
                )
            else:
                seen_refs[(round_name, ref)] = row
            aspect_text = _prose(cells.get("aspect"))
            problem_text = _prose(cells.get("problem"))
            if not aspect_text:
                aspect_text = last_aspect
            elif aspect_text != last_aspect:
                last_problem = ""
            if not problem_text:
                problem_text = last_problem
            last_aspect, last_problem = aspect_text, problem_text
            if not aspect_text:
                aspect_text = problem_text or "其他"
            aspect_number, aspect_title = split_aspect(aspect_text)
            problem_number, problem_title = split_problem(problem_text)
            values = self.task_values(row, cells, round_name, problem_title or aspect_title)
            people: dict[Duty, list[str]] = {}
            for column, duty in DUTY_COLUMNS:
                people[duty] = split_people(cells.get(column))
                for name in people[duty]:
                    if len(name) > MAX_NAME:
                        self.fail(
                            row,
                            column,
                            f"姓名“{name[:20]}…”过长（最多{MAX_NAME}字）；多人请用“、”分隔",
                        )
            if not people[Duty.OWNER]:
                self.fail(row, "owner", "责任人为空（每项任务至少要有一名责任人）")
            self_supervised = [n for n in people[Duty.OWNER] if n in people[Duty.SUPERVISOR]]
            if self_supervised:
                self.warnings.append(
                    f"第{row}行：{'、'.join(self_supervised)} 既是{self.header('owner')}又是"
                    f"{self.header('supervisor')}；本人不能销号自己的任务，请另设督办人"
                )
            if not ref or values is None:
                continue
            parsed.append(
                ParsedTask(
                    row=row,
                    round_name=round_name,
                    ref=ref,
                    aspect_number=aspect_number,
                    aspect_title=aspect_title,
                    problem_number=problem_number if problem_text else None,
                    problem_title=problem_title or aspect_title,
                    values=values,
                    people=people,
                    progress=_prose(cells.get("progress")),
                )
            )
        return parsed

    def check_cells(self, row: int, cells: dict[str, Any]) -> None:
        """Control characters and over-long text are row errors, never stored."""
        for name, value in cells.items():
            if not isinstance(value, str):
                continue
            bad = _CONTROL.search(value)
            if bad is not None:
                self.fail(
                    row,
                    name,
                    f"含有不可见的控制字符 U+{ord(bad.group()):04X}（第{bad.start() + 1}个字符），"
                    "请删除后重新导入",
                )
            limit = FIELD_LIMITS.get(name)
            if limit is not None and len(_prose(value)) > limit:
                self.fail(row, name, f"内容过长（{len(_prose(value))}字，最多{limit}字）")

    def task_values(
        self, row: int, cells: dict[str, Any], round_name: str, fallback_title: str
    ) -> dict[str, Any] | None:
        ok = True
        measures = _prose(cells.get("measures"))
        title = _prose(cells.get("title")) or measures.split("\n")[0][:60] or fallback_title
        kind: TaskKind | None = None
        kind_text = _text(cells.get("kind"))
        if kind_text:
            kind = KIND_WORDS.get(kind_text.lower())
            if kind is None:
                self.fail(
                    row,
                    "kind",
                    f"未知的任务类型“{kind_text}”（可填：立行立改、限期整改、长期坚持）",
                )
                ok = False
        role_text = _text(cells.get("role"))
        role = ROLE_WORDS.get(role_text.lower(), TaskRole.LEAD) if role_text else TaskRole.LEAD
        if role_text and role_text.lower() not in ROLE_WORDS:
            self.fail(row, "role", f"未知的“{role_text}”（可填：牵头、参与）")
            ok = False
        status_text = _text(cells.get("status"))
        status: TaskStatus | None = None
        if status_text in LONG_TERM_WORDS:
            kind = TaskKind.LONG_TERM
        elif status_text:
            status = STATUS_WORDS.get(status_text.lower())
            if status is None:
                self.fail(
                    row,
                    "status",
                    f"未知的状态“{status_text}”（可填：未启动、推进中、待销号、已销号、长期坚持）",
                )
                ok = False
        deadline: date | None = None
        raw_deadline = cells.get("deadline")
        deadline_text = _text(raw_deadline)
        if deadline_text.lower() in LONG_TERM_WORDS:
            if kind not in (None, TaskKind.LONG_TERM):
                self.fail(row, "deadline", "整改时限为“长期坚持”，但任务类型不是长期坚持")
                ok = False
            kind = TaskKind.LONG_TERM
        elif deadline_text in IMMEDIATE_WORDS:
            if kind not in (None, TaskKind.IMMEDIATE):
                self.fail(row, "deadline", "整改时限为“立行立改”，但任务类型不是立行立改")
                ok = False
            kind = TaskKind.IMMEDIATE
            feedback = self.feedback_date(round_name)
            if feedback is None:
                self.fail(
                    row,
                    "deadline",
                    "立行立改的时限按反馈日期推算，但轮次没有反馈日期（请加 --feedback-date）",
                )
                ok = False
            else:
                deadline = feedback + timedelta(days=self.ctx.settings.policy.immediate_days)
        elif deadline_text:
            try:
                deadline = parse_date(
                    raw_deadline if not isinstance(raw_deadline, str) else deadline_text
                )
            except ValueError:
                self.fail(
                    row,
                    "deadline",
                    f"无法识别的日期“{deadline_text}”（示例：2023-01-31、2023年1月31日、2023年1月底、长期坚持）",
                )
                ok = False
        if kind is None:
            kind = TaskKind.DEADLINE
        if kind == TaskKind.LONG_TERM:
            deadline = None
        elif deadline is None and ok:
            feedback = self.feedback_date(round_name)
            if kind == TaskKind.IMMEDIATE and feedback is not None:
                deadline = feedback + timedelta(days=self.ctx.settings.policy.immediate_days)
            else:
                self.fail(
                    row,
                    "deadline",
                    "整改时限为空（限期整改任务必须有截止日期；长期任务请填“长期坚持”）",
                )
                ok = False
        if not ok:
            return None
        return {
            "title": title,
            "measures": measures,
            "target": _prose(cells.get("target")),
            "kind": kind,
            "role": role,
            "lead_unit": _prose(cells.get("lead_unit")),
            "participating_units": "、".join(split_people(cells.get("partner_units"))),
            "deadline": deadline,
            "status": status,
            "notes": _prose(cells.get("notes")),
        }


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(getattr(value, "value", value))


class _Applier:
    """Compares parsed rows with the ledger and writes the difference (unless dry-running)."""

    def __init__(self, ctx: WorkContext, options: RoundOptions, dry_run: bool) -> None:
        self.ctx = ctx
        self.session = ctx.session
        self.options = options
        self.dry_run = dry_run
        self.summary = ImportSummary(dry_run=dry_run)
        self.officials = {o.name: o for o in self.session.exec(select(Official))}
        self.rounds = {r.name: r for r in self.session.exec(select(Round))}
        self.aspects: dict[tuple[int, str], Aspect] = {}
        self.problems: dict[tuple[int, str], Problem] = {}

    def round_for(self, name: str) -> Round:
        existing = self.rounds.get(name)
        if existing is not None:
            return existing
        opts = self.options
        new = Round(
            name=name,
            inspected_unit=opts.inspected_unit,
            inspection_group=opts.inspection_group,
            feedback_date=opts.feedback_date,
            report_due_date=opts.report_due_date,
            created_at=self.ctx.now,
        )
        self.session.add(new)
        self.session.flush()
        audit.record(self.ctx, "round_create", after={"round": name})
        self.rounds[name] = new
        self.summary.new_rounds.append(name)
        self._load_structure(new)
        return new

    def _load_structure(self, round_: Round) -> None:
        for aspect in self.session.exec(select(Aspect).where(Aspect.round_id == round_.id)):
            self.aspects[(aspect.round_id, aspect.title)] = aspect
            for problem in self.session.exec(select(Problem).where(Problem.aspect_id == aspect.id)):
                self.problems[(problem.aspect_id, problem.title)] = problem

    def official(self, name: str, duty: Duty) -> Official:
        role = ROLE_FOR_DUTY[duty]
        existing = self.officials.get(name)
        if existing is not None:
            if existing.id is None and ROLE_RANK.get(role, 0) > ROLE_RANK.get(existing.role, 0):
                existing.role = role  # a person new in this sheet gets the highest column's role
            return existing
        official = Official(name=name, role=role, created_at=self.ctx.now)
        self.session.add(official)
        self.officials[name] = official
        self.summary.new_officials.append(name)
        return official

    def problem_for(self, round_: Round, item: ParsedTask) -> Problem:
        assert round_.id is not None
        aspect = self.aspects.get((round_.id, item.aspect_title))
        if aspect is None:
            numbers = [a.number for (rid, _), a in self.aspects.items() if rid == round_.id]
            number = item.aspect_number or (max(numbers, default=0) + 1)
            aspect = Aspect(round_id=round_.id, number=number, title=item.aspect_title)
            self.session.add(aspect)
            self.session.flush()
            self.aspects[(round_.id, item.aspect_title)] = aspect
        elif item.aspect_number is not None and aspect.number != item.aspect_number:
            aspect.number = item.aspect_number
            self.session.add(aspect)
        assert aspect.id is not None
        problem = self.problems.get((aspect.id, item.problem_title))
        if problem is None:
            problem = Problem(
                aspect_id=aspect.id,
                number=item.problem_number,
                position=item.row,
                title=item.problem_title,
            )
            self.session.add(problem)
            self.session.flush()
            self.problems[(aspect.id, item.problem_title)] = problem
        return problem

    def apply(self, parsed: list[ParsedTask]) -> ImportSummary:
        by_round: dict[str, list[ParsedTask]] = defaultdict(list)
        for item in parsed:
            by_round[item.round_name].append(item)
        for round_name, items in by_round.items():
            round_ = self.round_for(round_name)
            if round_name not in self.summary.new_rounds:
                self._load_structure(round_)
            self._apply_round(round_, items)
        if self.dry_run:
            self.session.rollback()
        return self.summary

    def _apply_round(self, round_: Round, items: list[ParsedTask]) -> None:
        tasks = {
            t.ref: t for t in self.session.exec(select(Task).where(Task.round_id == round_.id))
        }
        task_ids = [t.id for t in tasks.values()]
        people: dict[int, dict[Duty, list[str]]] = defaultdict(lambda: defaultdict(list))
        latest_progress: dict[int, str] = {}
        if task_ids:
            names = {o.id: o.name for o in self.officials.values()}
            links = self.session.exec(
                select(TaskPerson)
                .where(col(TaskPerson.task_id).in_(task_ids))
                .order_by(col(TaskPerson.position))
            )
            for link in links:
                people[link.task_id][Duty(link.duty)].append(names[link.official_id])
            for report in self.session.exec(
                select(ProgressReport)
                .where(col(ProgressReport.task_id).in_(task_ids))
                .order_by(col(ProgressReport.created_at), col(ProgressReport.id))
            ):
                latest_progress[report.task_id] = report.text
        new: list[tuple[ParsedTask, Problem, int]] = []
        for position, item in enumerate(items):
            problem = self.problem_for(round_, item)
            existing = tasks.get(item.ref)
            if existing is None:
                new.append((item, problem, position))
            else:
                assert existing.id is not None
                self._update(
                    existing,
                    problem,
                    item,
                    people[existing.id],
                    latest_progress.get(existing.id, ""),
                    position,
                )
        self._create_many(round_, new)

    def _link_people(self, task: Task, people: dict[Duty, list[str]]) -> None:
        assert task.id is not None
        for duty, names in people.items():
            for position, name in enumerate(names):
                official = self.official(name, duty)
                if official.id is None:
                    self.session.flush()
                self.session.add(
                    TaskPerson(
                        task_id=task.id, official_id=official.id or 0, duty=duty, position=position
                    )
                )

    def _create_many(self, round_: Round, new: list[tuple[ParsedTask, Problem, int]]) -> None:
        """New tasks in a few multi-row inserts (a 100k-row ledger is one import, not 100k)."""
        if not new:
            return
        for item, _, _ in new:  # every person first, so they have ids
            for duty, names in item.people.items():
                for name in names:
                    self.official(name, duty)
        self.session.flush()
        rows = []
        for item, problem, position in new:
            values = dict(item.values)
            status = values.pop("status") or TaskStatus.NOT_STARTED
            if values["kind"] == TaskKind.LONG_TERM and status == TaskStatus.SUBMITTED:
                status = TaskStatus.IN_PROGRESS
            if item.progress and status == TaskStatus.NOT_STARTED:
                status = TaskStatus.IN_PROGRESS
            rows.append(
                {
                    **NEW_TASK_DEFAULTS,
                    **values,
                    "round_id": round_.id,
                    "problem_id": problem.id,
                    "ref": item.ref,
                    "position": position,
                    "status": status,
                    "closed_on": self.ctx.today if status == TaskStatus.CLOSED else None,
                    "created_at": self.ctx.now,
                    "updated_at": self.ctx.now,
                }
            )
        ids = (
            self.session.execute(
                sa.insert(Task).returning(col(Task.id), sort_by_parameter_order=True), rows
            )
            .scalars()
            .all()
        )
        links, reports, events = [], [], []
        for task_id, (item, _, _), row in zip(ids, new, rows, strict=True):
            for duty, names in item.people.items():
                for position, name in enumerate(names):
                    links.append(
                        {
                            "task_id": task_id,
                            "official_id": self.officials[name].id,
                            "duty": duty.value,
                            "position": position,
                        }
                    )
            if item.progress:
                reports.append(
                    {
                        "task_id": task_id,
                        "author_id": None,
                        "text": item.progress,
                        "via": self.ctx.actor.via.value,
                        "created_at": self.ctx.now,
                    }
                )
            after = {k: row[k] for k in (*COMPARED, "ref")}
            events.append((task_id, {**after, "round": round_.name}))
            self.summary.created.append(Change(item.ref, round_.name, task_id, []))
        if links:
            self.session.execute(sa.insert(TaskPerson), links)
        if reports:
            self.session.execute(sa.insert(ProgressReport), reports)
        audit.record_many(self.ctx, "import_create", events)

    def _add_progress(self, task: Task, text: str) -> None:
        self.session.add(
            ProgressReport(
                task_id=task.id or 0, text=text, via=self.ctx.actor.via, created_at=self.ctx.now
            )
        )
        if task.status == TaskStatus.NOT_STARTED:
            task.status = TaskStatus.IN_PROGRESS

    def _update(
        self,
        task: Task,
        problem: Problem,
        item: ParsedTask,
        current_people: dict[Duty, list[str]],
        latest_progress: str,
        position: int,
    ) -> None:
        changes: list[tuple[str, str, str]] = []
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for name in COMPARED:
            new = item.values[name]
            if name == "status" and new is None:
                continue
            old = getattr(task, name)
            if _show(old) != _show(new):
                changes.append((_header_for(name), _show(old), _show(new)))
                before[name], after[name] = old, new
        if task.problem_id != problem.id:
            changes.append(("具体问题", str(task.problem_id), problem.title))
            before["problem_id"], after["problem_id"] = task.problem_id, problem.id
        new_people = {duty: names for duty, names in item.people.items()}
        people_changed = False
        for column, duty in DUTY_COLUMNS:
            if current_people.get(duty, []) != new_people.get(duty, []):
                people_changed = True
                changes.append(
                    (
                        COLUMNS[column][0],
                        "、".join(current_people.get(duty, [])),
                        "、".join(new_people.get(duty, [])),
                    )
                )
        progress_changed = bool(item.progress) and item.progress != latest_progress
        if progress_changed:
            changes.append(("整改进展", latest_progress, item.progress))
        if not changes:
            self.summary.unchanged += 1
            return
        for name, value in after.items():
            setattr(task, name, value)
        if task.kind == TaskKind.LONG_TERM:
            task.deadline = None
        task.position = position
        task.updated_at = self.ctx.now
        self.session.add(task)
        if people_changed:
            for link in self.session.exec(select(TaskPerson).where(TaskPerson.task_id == task.id)):
                self.session.delete(link)
            self.session.flush()
            self._link_people(task, new_people)
        if progress_changed:
            self._add_progress(task, item.progress)
        audit.record(
            self.ctx,
            "import_update",
            task_id=task.id,
            before=before,
            after={**after, "changes": [list(c) for c in changes]},
        )
        self.summary.updated.append(Change(item.ref, item.round_name, task.id, changes))


def _header_for(name: str) -> str:
    return COLUMNS[FIELD_HEADER.get(name, name)][0]


def import_sheet(
    ctx: WorkContext, sheet: Sheet, options: RoundOptions, *, dry_run: bool = False
) -> ImportSummary:
    parser = _Parser(ctx, sheet, options)
    parsed = parser.parse()
    if parser.errors:
        raise ImportFailed(sorted(parser.errors, key=lambda e: e.row))
    if not parsed:
        raise ImportFailed([RowError(0, "表格", "表中没有任务行")])
    summary = _Applier(ctx, options, dry_run).apply(parsed)
    summary.warnings.extend(parser.warnings)
    summary.hidden_rows = list(sheet.hidden_rows)
    return summary


def import_file(
    ctx: WorkContext, path: Path, options: RoundOptions, *, dry_run: bool = False
) -> ImportSummary:
    return import_sheet(ctx, read_sheet(path), options, dry_run=dry_run)
