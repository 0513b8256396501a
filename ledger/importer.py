"""Import a ledger sheet: all or nothing, idempotent, every bad row reported at once."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from ledger import audit
from ledger.context import WorkContext
from ledger.dates import (
    FIRST_YEAR,
    IMMEDIATE_WORDS,
    LAST_YEAR,
    LONG_TERM_WORDS,
    DateOutOfRange,
    normalize,
    parse_date,
)
from ledger.db import insert_rows, json_object
from ledger.enums import OPEN_STATUSES, Duty, OfficialRole, TaskKind, TaskRole, TaskStatus
from ledger.errors import ImportFailed, RowError
from ledger.i18n import render
from ledger.models import Aspect, Official, Problem, ProgressReport, Round, Task, TaskPerson
from ledger.names import split_name_title
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
    "正在推进": TaskStatus.IN_PROGRESS,
    "正在整改": TaskStatus.IN_PROGRESS,
    "整改中": TaskStatus.IN_PROGRESS,
    "进行中": TaskStatus.IN_PROGRESS,
    "未完成": TaskStatus.IN_PROGRESS,
    "基本完成": TaskStatus.IN_PROGRESS,
    "持续整改": TaskStatus.IN_PROGRESS,
    "in progress": TaskStatus.IN_PROGRESS,
    "in_progress": TaskStatus.IN_PROGRESS,
    # done but not yet verified: 待销号 until a supervisor closes it
    "待销号": TaskStatus.SUBMITTED,
    "待验收": TaskStatus.SUBMITTED,
    "已完成": TaskStatus.SUBMITTED,
    "已完成整改": TaskStatus.SUBMITTED,
    "完成整改": TaskStatus.SUBMITTED,
    "整改完成": TaskStatus.SUBMITTED,
    "已整改": TaskStatus.SUBMITTED,
    "submitted": TaskStatus.SUBMITTED,
    "awaiting verification": TaskStatus.SUBMITTED,
    "done": TaskStatus.SUBMITTED,
    "已销号": TaskStatus.CLOSED,
    "已验收": TaskStatus.CLOSED,
    "已完成销号": TaskStatus.CLOSED,
    "closed": TaskStatus.CLOSED,
}
# "已完成，11月8日召开专题学习会": a status word, then the rest is progress
_STATUS_THEN_TEXT = re.compile(r"^(?P<word>[^,，;；:：。]{2,8})[,，;；:：。]\s*(?P<rest>.+)$", re.S)
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
    "closed_on",
    "notes",
)
FIELD_HEADER = {"participating_units": "partner_units", "closed_on": "completed_date"}
# sheet column that a task field comes from (a field whose column the sheet lacks is kept)
SOURCE_COLUMN = {
    "participating_units": "partner_units",
    "closed_on": "completed_date",
    "kind": "kind",
}
DEADLINE_WORD = "deadline_word"  # in sheet_values: the deadline was written as 立行立改


def _text(value: Any) -> str:
    """A key-like cell (序号, 类型, 状态, dates): full-width folded, spaces trimmed."""
    return normalize(_prose(value))


def _prose(value: Any) -> str:
    """Free text keeps its Chinese punctuation; only surrounding (full-width) spaces go."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().strip("\u3000").strip()


def split_people(value: Any) -> list[str]:
    """Names in one cell, each cleaned as `ledger.names` does (a trailing （职务） dropped)."""
    return list(split_people_with_titles(value))


def split_people_with_titles(value: Any) -> dict[str, str]:
    """'孙明（股长）、刘　倩' -> {'孙明': '股长', '刘倩': ''}, in cell order."""
    found: dict[str, str] = {}
    for part in _PEOPLE_SPLIT.split(normalize(_prose(value))):
        name, title = split_name_title(part)
        if (name and name not in found) or (name and title and not found[name]):
            found[name] = title
    return found


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
    task_id: int | None
    aspect_number: int | None
    aspect_title: str
    problem_number: int | None
    problem_title: str
    values: dict[str, Any]  # only the fields the sheet has a column (or a word) for
    people: dict[Duty, list[str]]  # only the duties the sheet has a column for
    titles: dict[str, str]  # name -> 职务 written after it
    progress: str | None  # None: the sheet has no progress column
    deadline_word: bool = False  # 立行立改 written instead of a date


@dataclass
class Change:
    ref: str
    round_name: str
    task_id: int | None
    fields: list[tuple[str, str, str]]  # header, before, after
    row: int = 0
    title: str = ""
    old_ref: str = ""  # renumbered: the 序号 the task had before


@dataclass
class Conflict:
    """A field changed in the sheet and in the ledger since the last import."""

    ref: str
    row: int
    task_id: int | None
    header: str
    ledger: str
    sheet: str
    sheet_won: bool


@dataclass
class ImportSummary:
    created: list[Change] = field(default_factory=list)
    updated: list[Change] = field(default_factory=list)
    unchanged: int = 0
    new_rounds: list[str] = field(default_factory=list)
    new_officials: list[str] = field(default_factory=list)
    renumbered: list[Change] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    kept: int = 0  # fields the sheet did not change while the ledger did: the ledger's value stays
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)  # imported, but someone should look
    hidden_rows: list[int] = field(default_factory=list)  # hidden in the sheet: skipped

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.new_rounds or self.new_officials)


def _show(value: Any) -> str:
    """A value as the comparison and the sheet_values record see it."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(getattr(value, "value", value))


def _display(name: str, value: Any) -> str:
    """A value as the office reads it in the summary: 立行立改, not 'immediate'."""
    if value is None or value == "":
        return ""
    if name in ("kind", "status", "role"):
        return render(f"{name}.{_show(value)}")
    if name == "deadline" and isinstance(value, str) and not value:
        return render("deadline.none")
    return _show(value)


def _similar(a: str, b: str) -> bool:
    """Titles close enough to be the same task reworded (not a different task)."""
    a, b = normalize(a), normalize(b)
    if not a or not b:
        return a == b
    return a in b or b in a or SequenceMatcher(None, a, b).ratio() >= 0.5


class _Parser:
    """Turns sheet rows into tasks, collecting every error instead of stopping at the first."""

    def __init__(self, ctx: WorkContext, sheet: Sheet, options: RoundOptions) -> None:
        self.ctx = ctx
        self.sheet = sheet
        self.options = options
        self.errors: list[RowError] = []
        self.warnings: list[str] = []
        self.rounds = {r.name: r for r in ctx.session.exec(select(Round))}
        self.import_day_rows: list[int] = []  # 立行立改 counted from today (no feedback date)

    def header(self, name: str) -> str:
        name = FIELD_HEADER.get(name, name)
        return self.sheet.headers.get(name, COLUMNS[name][0])

    def has(self, column: str) -> bool:
        return column in self.sheet.headers

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
            task_id = self.task_id(row, cells.get("task_id"))
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
            progress = _prose(cells.get("progress")) if self.has("progress") else None
            parsed_values = self.task_values(row, cells, round_name, problem_title or aspect_title)
            people: dict[Duty, list[str]] = {}
            titles: dict[str, str] = {}
            for column, duty in DUTY_COLUMNS:
                if not self.has(column):
                    continue
                found = split_people_with_titles(cells.get(column))
                people[duty] = list(found)
                for name, title in found.items():
                    if title:
                        titles[name] = title
                for name in people[duty]:
                    if len(name) > MAX_NAME:
                        self.fail(
                            row,
                            column,
                            f"姓名“{name[:20]}…”过长（最多{MAX_NAME}字）；多人请用“、”分隔",
                        )
            if not people.get(Duty.OWNER):
                self.fail(row, "owner", "责任人为空（每项任务至少要有一名责任人）")
            self_supervised = [
                n for n in people.get(Duty.OWNER, []) if n in people.get(Duty.SUPERVISOR, [])
            ]
            if self_supervised:
                self.warnings.append(
                    f"第{row}行：{'、'.join(self_supervised)} 既是{self.header('owner')}又是"
                    f"{self.header('supervisor')}；本人不能销号自己的任务，请另设督办人"
                )
            if not ref or parsed_values is None:
                continue
            values, deadline_word, status_rest = parsed_values
            if status_rest and not progress:
                progress = status_rest
            parsed.append(
                ParsedTask(
                    row=row,
                    round_name=round_name,
                    ref=ref,
                    task_id=task_id,
                    aspect_number=aspect_number,
                    aspect_title=aspect_title,
                    problem_number=problem_number if problem_text else None,
                    problem_title=problem_title or aspect_title,
                    values=values,
                    people=people,
                    titles=titles,
                    progress=progress,
                    deadline_word=deadline_word,
                )
            )
        return parsed

    def task_id(self, row: int, value: Any) -> int | None:
        text = _text(value).lstrip("#")
        if not text:
            return None
        if not text.isdigit():
            self.fail(row, "task_id", f"ID“{text}”不是任务编号（导出表中的 ID 列请勿修改）")
            return None
        return int(text)

    def date_cell(self, row: int, column: str, raw: Any, text: str) -> date | None:
        try:
            return parse_date(raw if not isinstance(raw, str) else text)
        except DateOutOfRange:
            self.fail(
                row,
                column,
                f"日期“{text}”超出范围（须在{FIRST_YEAR}年至{LAST_YEAR}年之间），请检查年份",
            )
        except ValueError:
            self.fail(
                row,
                column,
                f"无法识别的日期“{text}”（示例：2023-01-31、2023年1月31日、2023年1月底、长期坚持）",
            )
        return None

    def status(self, row: int, text: str) -> tuple[TaskStatus | None, str, bool]:
        """(status, the prose after a status word, ok)."""
        status = STATUS_WORDS.get(text.lower())
        if status is not None:
            return status, "", True
        match = _STATUS_THEN_TEXT.match(text)
        if match and match.group("word").strip().lower() in STATUS_WORDS:
            return STATUS_WORDS[match.group("word").strip().lower()], match.group("rest"), True
        self.fail(
            row,
            "status",
            f"未知的状态“{text[:30]}”（可填：未启动、推进中、已完成、待销号、已销号、长期坚持；"
            "整改情况的文字请放在“完成情况”或“整改进展”列）",
        )
        return None, "", False

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
    ) -> tuple[dict[str, Any], bool, str] | None:
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
        status_rest = ""
        if status_text in LONG_TERM_WORDS:
            kind = TaskKind.LONG_TERM
        elif status_text:
            status, status_rest, status_ok = self.status(row, status_text)
            ok = ok and status_ok
        deadline: date | None = None
        deadline_word = False
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
            deadline_word = True
        elif deadline_text:
            deadline = self.date_cell(row, "deadline", raw_deadline, deadline_text)
            ok = ok and deadline is not None
        closed_on: date | None = None
        completed_text = _text(cells.get("completed_date"))
        if completed_text:
            closed_on = self.date_cell(
                row, "completed_date", cells.get("completed_date"), completed_text
            )
            ok = ok and closed_on is not None
        kind_given = kind is not None
        if kind is None:
            kind = TaskKind.DEADLINE
        if kind == TaskKind.LONG_TERM:
            deadline = None
        elif deadline is None and ok:
            if kind == TaskKind.IMMEDIATE:
                deadline_word = True
                feedback = self.feedback_date(round_name)
                if feedback is None:  # counted from today; `ledgerbot round` re-derives it
                    self.import_day_rows.append(row)
                    feedback = self.ctx.today
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
        values: dict[str, Any] = {"title": title}
        for name, value in (
            ("measures", measures),
            ("target", _prose(cells.get("target"))),
            ("role", role),
            ("lead_unit", _prose(cells.get("lead_unit"))),
            ("participating_units", "、".join(split_people(cells.get("partner_units")))),
            ("notes", _prose(cells.get("notes"))),
        ):
            if self.has(SOURCE_COLUMN.get(name, name)):
                values[name] = value
        if kind_given or self.has("kind"):
            values["kind"] = kind
        if self.has("deadline") or kind == TaskKind.LONG_TERM or deadline_word:
            values["deadline"] = deadline
        values["status"] = status
        if closed_on is not None and status == TaskStatus.CLOSED:
            values["closed_on"] = closed_on
        return values, deadline_word, status_rest


class _Applier:
    """Compares parsed rows with the ledger and writes the difference (unless dry-running)."""

    def __init__(
        self, ctx: WorkContext, options: RoundOptions, dry_run: bool, sheet_wins: bool
    ) -> None:
        self.ctx = ctx
        self.session = ctx.session
        self.options = options
        self.dry_run = dry_run
        self.sheet_wins = sheet_wins
        self.summary = ImportSummary(dry_run=dry_run)
        self.officials = {o.name: o for o in self.session.exec(select(Official))}
        self.rounds = {r.name: r for r in self.session.exec(select(Round))}
        self.aspects: dict[tuple[int, str], Aspect] = {}
        self.problems: dict[tuple[int, str], Problem] = {}
        self.problem_titles: dict[int, str] = {}
        self.titles: dict[str, str] = {}

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
                if problem.id is not None:
                    self.problem_titles[problem.id] = problem.title

    def official(self, name: str, duty: Duty) -> Official:
        role = ROLE_FOR_DUTY[duty]
        existing = self.officials.get(name)
        if existing is not None:
            if existing.id is None and ROLE_RANK.get(role, 0) > ROLE_RANK.get(existing.role, 0):
                existing.role = role  # a person new in this sheet gets the highest column's role
            return existing
        official = Official(
            name=name, role=role, title=self.titles.get(name, ""), created_at=self.ctx.now
        )
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
            aspect.number = item.aspect_number  # in the session already: the flush writes it
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
            if problem.id is not None:
                self.problem_titles[problem.id] = problem.title
        return problem

    def apply(self, parsed: list[ParsedTask]) -> ImportSummary:
        for item in parsed:
            for name, title in item.titles.items():
                self.titles.setdefault(name, title)
        by_round: dict[str, list[ParsedTask]] = defaultdict(list)
        for item in parsed:
            by_round[item.round_name].append(item)
        for round_name, items in by_round.items():
            round_ = self.round_for(round_name)
            if round_name not in self.summary.new_rounds:
                self._load_structure(round_)
            self._apply_round(round_, items)
        self._set_titles()
        if self.dry_run:
            self.session.rollback()
        return self.summary

    def _set_titles(self) -> None:
        """A known person written with a trailing （职务） and no title yet gets it."""
        for name, title in self.titles.items():
            official = self.officials.get(name)
            if official is not None and official.id is not None and not official.title:
                official.title = title
                self.session.add(official)
                audit.record(
                    self.ctx, "official_set", official_id=official.id, after={"title": title}
                )

    def match(
        self, round_: Round, items: list[ParsedTask], tasks: list[Task]
    ) -> dict[int, Task | None]:
        """Which task each row is: by ID, else by unchanged title, else by 序号; None is new."""
        by_id = {t.id: t for t in tasks}
        by_ref = {t.ref: t for t in tasks}
        title_count: dict[str, int] = defaultdict(int)
        by_title: dict[str, Task] = {}
        for task in tasks:
            key = normalize(task.title)
            title_count[key] += 1
            by_title[key] = task
        row_titles: dict[str, int] = defaultdict(int)
        for item in items:
            row_titles[normalize(item.values["title"])] += 1
        found: dict[int, Task | None] = {}
        taken: set[int] = set()

        def take(item: ParsedTask, task: Task) -> None:
            assert task.id is not None
            found[item.row] = task
            taken.add(task.id)

        for item in items:  # 1. the export's ID column
            with_id = by_id.get(item.task_id) if item.task_id is not None else None
            if with_id is not None and with_id.id not in taken:
                take(item, with_id)
            elif item.task_id is not None:
                self.summary.warnings.append(
                    f"第{item.row}行 序号 {item.ref}：ID {item.task_id} 不是本轮次的任务，"
                    "按序号和任务名称匹配"
                )
        for item in items:  # 2. the same title, where it names one task and one row
            if item.row in found:
                continue
            key = normalize(item.values["title"])
            titled = by_title.get(key)
            if (
                titled is not None
                and title_count[key] == 1
                and row_titles[key] == 1
                and titled.id not in taken
            ):
                take(item, titled)
        for item in items:  # 3. the same 序号, title reworded (or beyond recognition: warned)
            if item.row in found:
                continue
            numbered = by_ref.get(item.ref)
            if numbered is not None and numbered.id not in taken:
                take(item, numbered)
                if not _similar(numbered.title, item.values["title"]):
                    self.summary.warnings.append(
                        f"第{item.row}行 序号 {item.ref}：任务名称由“{numbered.title}”改为"
                        f"“{item.values['title']}”，差别很大；如果这是另一项任务，"
                        "请新增一行并保留原行"
                    )
            else:
                found[item.row] = None
        return found

    def _apply_round(self, round_: Round, items: list[ParsedTask]) -> None:
        task_list = list(self.session.exec(select(Task).where(Task.round_id == round_.id)))
        matched = self.match(round_, items, task_list)
        seen = {t.id for t in matched.values() if t is not None}
        absent = [t for t in task_list if t.id not in seen]
        if absent:
            refs = "、".join(t.ref for t in absent[:20]) + ("…" if len(absent) > 20 else "")
            self.summary.warnings.append(
                f"轮次“{round_.name}”中有 {len(absent)} 项任务不在表中（序号 {refs}），保持不变；"
                "台账不会因表中少了一行而删除任务"
            )
        task_ids = [t.id for t in task_list]
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
        self._renumber(items, matched)
        new: list[tuple[ParsedTask, Problem, int]] = []
        for position, item in enumerate(items):
            problem = self.problem_for(round_, item)
            existing = matched[item.row]
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

    def _renumber(self, items: list[ParsedTask], matched: dict[int, Task | None]) -> None:
        """Rows matched to a task under another 序号: move every such ref in two steps."""
        moves = [
            (item, task)
            for item in items
            if (task := matched[item.row]) is not None and task.ref != item.ref
        ]
        if not moves:
            return
        old_refs = {task.id: task.ref for _, task in moves}
        for _, task in moves:  # free the refs first: (round, ref) is unique
            task.ref = f"~{task.id}"
            self.session.add(task)
        self.session.flush()
        for item, task in moves:
            self.summary.renumbered.append(
                Change(
                    item.ref,
                    item.round_name,
                    task.id,
                    [],
                    row=item.row,
                    title=task.title,
                    old_ref=old_refs[task.id],
                )
            )
            task.ref = item.ref
            self.session.add(task)
        self.session.flush()

    def _link_people(self, task: Task, duty: Duty, names: list[str]) -> None:
        assert task.id is not None
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
        # every person first, so they have ids (each name and duty once, in sheet order)
        for name, duty in dict.fromkeys(
            (name, duty)
            for item, _, _ in new
            for duty, names in item.people.items()
            for name in names
        ):
            self.official(name, duty)
        self.session.flush()
        rows = []
        for item, problem, position in new:
            values = {k: v for k, v in item.values.items() if k in COMPARED}
            status = values.pop("status") or TaskStatus.NOT_STARTED
            kind = values.setdefault("kind", TaskKind.DEADLINE)
            if kind == TaskKind.LONG_TERM and status == TaskStatus.SUBMITTED:
                status = TaskStatus.IN_PROGRESS
            if item.progress and status == TaskStatus.NOT_STARTED:
                status = TaskStatus.IN_PROGRESS
            closed_on = values.pop("closed_on", None)
            rows.append(
                {
                    **NEW_TASK_DEFAULTS,
                    "measures": "",
                    "target": "",
                    "role": TaskRole.LEAD,
                    "lead_unit": "",
                    "participating_units": "",
                    "notes": "",
                    "deadline": None,
                    **values,
                    "round_id": round_.id,
                    "problem_id": problem.id,
                    "ref": item.ref,
                    "position": position,
                    "status": status,
                    "completed_on": self.ctx.today if status == TaskStatus.SUBMITTED else None,
                    "submitted_at": self.ctx.now if status == TaskStatus.SUBMITTED else None,
                    "closed_on": (closed_on or self.ctx.today)
                    if status == TaskStatus.CLOSED
                    else None,
                    "sheet_values": _sheet_values(item, {}),
                    "created_at": self.ctx.now,
                    "updated_at": self.ctx.now,
                }
            )
        # no RETURNING: on SQLite, ids returned in parameter order cost one INSERT per row;
        # (round, ref) is unique, so the new tasks' ids are read back by their refs
        insert_rows(self.session, Task, rows)
        by_ref = {
            ref: task_id
            for ref, task_id in self.session.exec(
                select(Task.ref, Task.id).where(Task.round_id == round_.id)
            )
        }
        ids = [by_ref[row["ref"]] for row in rows]
        links, reports = [], []
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
            self.summary.created.append(
                Change(item.ref, round_.name, task_id, [], row=item.row, title=row["title"])
            )
        insert_rows(self.session, TaskPerson, links)
        insert_rows(self.session, ProgressReport, reports)
        # each new task's event says what it was created with, read from the rows just written
        tasks = Task.__table__  # type: ignore[attr-defined]
        after = json_object(
            self.session,
            [
                *((name, tasks.c[name]) for name in (*COMPARED, "ref")),
                ("round", sa.literal(round_.name, sa.String)),
            ],
        )
        for start in range(0, len(ids), 900):
            audit.record_from_select(
                self.session,
                now=self.ctx.now,
                actor=self.ctx.actor,
                action="import_create",
                rows=sa.select(tasks.c.id, after)
                .where(tasks.c.id.in_(ids[start : start + 900]))
                .order_by(tasks.c.id),
            )

    def _decide(
        self,
        item: ParsedTask,
        task: Task,
        name: str,
        header: str,
        sheet_value: Any,
        ledger_value: Any,
        *,
        equal: bool | None = None,
        sheet_same: bool | None = None,
        agreeing: set[str] | None = None,
    ) -> bool:
        """Should the sheet's value replace the ledger's? Three-way, against the last import.

        A field the sheet did not change since it was last imported keeps the ledger's value
        (an extension approved, a task closed in chat); one the ledger did not change takes
        the sheet's; one changed on both sides is a conflict: listed, and the ledger's value
        stands unless --sheet-wins.
        """
        if equal if equal is not None else _show(sheet_value) == _show(ledger_value):
            if agreeing is not None:
                agreeing.add(name)
            return False
        baseline = task.sheet_values or {}
        if name not in baseline:
            return True  # imported before the ledger kept the sheet's values: the sheet says so
        if sheet_same if sheet_same is not None else baseline[name] == _show(sheet_value):
            self.summary.kept += 1
            return False
        if baseline[name] == _show(ledger_value):
            return True
        self.summary.conflicts.append(
            Conflict(
                ref=item.ref,
                row=item.row,
                task_id=task.id,
                header=header,
                ledger=_display(name, ledger_value),
                sheet=_display(name, sheet_value),
                sheet_won=self.sheet_wins,
            )
        )
        return self.sheet_wins

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
        conflicts_before = len(self.summary.conflicts)
        agreeing: set[str] = set()
        for name in COMPARED:
            if name not in item.values:
                continue
            new = item.values[name]
            if name == "status" and new is None:
                continue
            old = getattr(task, name)
            sheet_same = None
            if name == "deadline" and item.deadline_word:
                baseline = task.sheet_values or {}
                sheet_same = bool(baseline.get(DEADLINE_WORD))
            if self._decide(
                item,
                task,
                name,
                _header_for(name),
                new,
                old,
                sheet_same=sheet_same,
                agreeing=agreeing,
            ):
                changes.append((_header_for(name), _display(name, old), _display(name, new)))
                before[name], after[name] = old, new
        if task.problem_id != problem.id:
            changes.append(
                (
                    COLUMNS["problem"][0],
                    self.problem_titles.get(task.problem_id, ""),
                    problem.title,
                )
            )
            before["problem_id"], after["problem_id"] = task.problem_id, problem.id
        people_changed: list[Duty] = []
        for column, duty in DUTY_COLUMNS:
            if duty not in item.people:
                continue
            old_names = "、".join(current_people.get(duty, []))
            new_names = "、".join(item.people[duty])
            if self._decide(
                item, task, column, COLUMNS[column][0], new_names, old_names, agreeing=agreeing
            ):
                people_changed.append(duty)
                changes.append((COLUMNS[column][0], old_names, new_names))
        progress_changed = False
        if item.progress:
            equal = item.progress in (latest_progress, task.completion_note)
            progress_changed = self._decide(
                item,
                task,
                "progress",
                COLUMNS["progress"][0],
                item.progress,
                latest_progress,
                equal=equal,
                agreeing=agreeing,
            )
            if progress_changed:
                changes.append((COLUMNS["progress"][0], latest_progress, item.progress))
        record = _sheet_values(item, task.sheet_values or {}, task, agreeing)
        if record != (task.sheet_values or {}) and not changes:
            task.sheet_values = record  # only bookkeeping: what the sheet says now
            self.session.add(task)
        if not changes:
            if len(self.summary.conflicts) == conflicts_before:
                self.summary.unchanged += 1
            return
        for name, value in after.items():
            setattr(task, name, value)
        self._status_side_effects(task, before, after)
        if task.kind == TaskKind.LONG_TERM:
            task.deadline = None
        task.position = position
        task.updated_at = self.ctx.now
        task.sheet_values = record
        self.session.add(task)
        if people_changed:
            for link in self.session.exec(select(TaskPerson).where(TaskPerson.task_id == task.id)):
                if Duty(link.duty) in people_changed:
                    self.session.delete(link)
            self.session.flush()
            for duty in people_changed:
                self._link_people(task, duty, item.people[duty])
        if progress_changed and item.progress:
            self._add_progress(task, item.progress)
        audit.record(
            self.ctx,
            "import_update",
            task_id=task.id,
            before=before,
            after={**after, "changes": [list(c) for c in changes]},
        )
        self.summary.updated.append(
            Change(item.ref, item.round_name, task.id, changes, row=item.row, title=task.title)
        )

    def _status_side_effects(
        self, task: Task, before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        """A status the sheet changes brings its record with it (never a closed task's alone)."""
        if "status" not in after:
            return
        status = after["status"]
        if status == TaskStatus.CLOSED:
            task.closed_on = after.get("closed_on") or task.closed_on or self.ctx.today
        elif before.get("status") == TaskStatus.CLOSED:
            task.closed_on = None
            task.closed_by_id = None
            task.closing_opinion = ""
        if status == TaskStatus.SUBMITTED and task.submitted_at is None:
            task.submitted_at = self.ctx.now
            task.completed_on = task.completed_on or self.ctx.today
        elif status in OPEN_STATUSES:
            task.submitted_at = None
            task.completed_on = None

    def _add_progress(self, task: Task, text: str) -> None:
        self.session.add(
            ProgressReport(
                task_id=task.id or 0, text=text, via=self.ctx.actor.via, created_at=self.ctx.now
            )
        )
        if task.status == TaskStatus.NOT_STARTED:
            task.status = TaskStatus.IN_PROGRESS


def _sheet_values(
    item: ParsedTask,
    previous: dict[str, Any],
    task: Task | None = None,
    agreeing: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any]:
    """What the sheet says for this task now, field by field: next import's baseline.

    A field where the sheet agrees with the ledger keeps its earlier record, so importing an
    export (which shows the ledger) and then the office's older master still sees the master
    as unchanged.
    """
    record = dict(previous)
    record["ref"] = item.ref
    values: dict[str, Any] = {k: v for k, v in item.values.items() if v is not None}
    for column, duty in DUTY_COLUMNS:
        if duty in item.people:
            values[column] = "、".join(item.people[duty])
    if item.progress:
        values["progress"] = item.progress
    for name, value in values.items():
        if name in agreeing and name in previous:
            continue
        record[name] = _show(value)
    if item.deadline_word:
        record[DEADLINE_WORD] = True
    elif "deadline" in values and "deadline" not in agreeing:
        record.pop(DEADLINE_WORD, None)
    return record


def _header_for(name: str) -> str:
    return COLUMNS[FIELD_HEADER.get(name, name)][0]


def import_sheet(
    ctx: WorkContext,
    sheet: Sheet,
    options: RoundOptions,
    *,
    dry_run: bool = False,
    sheet_wins: bool = False,
) -> ImportSummary:
    parser = _Parser(ctx, sheet, options)
    parsed = parser.parse()
    if parser.errors:
        raise ImportFailed(sorted(parser.errors, key=lambda e: e.row))
    if not parsed:
        raise ImportFailed([RowError(0, "表格", "表中没有任务行")])
    summary = _Applier(ctx, options, dry_run, sheet_wins).apply(parsed)
    summary.skipped_rows = list(sheet.skipped)
    summary.ignored_columns = list(sheet.ignored)
    if parser.import_day_rows:
        rows = "、".join(str(r) for r in parser.import_day_rows)
        summary.warnings.append(
            f"第{rows}行为立行立改，但轮次没有反馈日期：整改时限暂按今天（{ctx.today.isoformat()}）"
            f"加{ctx.settings.policy.immediate_days}天计算；用 `ledgerbot round 轮次名称 "
            "--feedback-date 日期` 设置反馈日期后会重新推算"
        )
    summary.warnings.extend(parser.warnings)
    summary.hidden_rows = list(sheet.hidden_rows)
    return summary


def import_file(
    ctx: WorkContext,
    path: Path,
    options: RoundOptions,
    *,
    dry_run: bool = False,
    sheet_wins: bool = False,
) -> ImportSummary:
    return import_sheet(ctx, read_sheet(path), options, dry_run=dry_run, sheet_wins=sheet_wins)


@dataclass
class RoundUpdate:
    round: Round
    rederived: list[tuple[Task, date | None, date]]  # task, old deadline, new deadline


def set_feedback_date(ctx: WorkContext, round_name: str, feedback: date) -> RoundUpdate:
    """Set a round's feedback date; 立行立改 deadlines written as words count from it again.

    A deadline that was extended (or changed in the sheet to a date) is left as it is.
    """
    round_ = ctx.session.exec(select(Round).where(Round.name == round_name)).first()
    if round_ is None:
        raise ImportFailed([RowError(0, "轮次", f"找不到轮次“{round_name}”")])
    before = {"feedback_date": round_.feedback_date}
    round_.feedback_date = feedback
    ctx.session.add(round_)
    audit.record(
        ctx,
        "round_update",
        before={**before, "round": round_name},
        after={"feedback_date": feedback, "round": round_name},
    )
    deadline = feedback + timedelta(days=ctx.settings.policy.immediate_days)
    changed: list[tuple[Task, date | None, date]] = []
    for task in ctx.session.exec(
        select(Task).where(Task.round_id == round_.id).order_by(col(Task.position))
    ):
        record = task.sheet_values or {}
        if (
            task.kind != TaskKind.IMMEDIATE
            or not record.get(DEADLINE_WORD)
            or task.original_deadline is not None
            or task.status == TaskStatus.CLOSED
            or task.deadline == deadline
        ):
            continue
        old = task.deadline
        task.deadline = deadline
        task.sheet_values = {**record, "deadline": deadline.isoformat()}
        task.updated_at = ctx.now
        ctx.session.add(task)
        audit.record(
            ctx,
            "deadline_rederived",
            task_id=task.id,
            before={"deadline": old},
            after={"deadline": deadline, "feedback_date": feedback},
        )
        changed.append((task, old, deadline))
    ctx.session.flush()
    return RoundUpdate(round=round_, rederived=changed)
