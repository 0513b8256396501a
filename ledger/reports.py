"""The rectification report (整改落实情况报告) and the evidence archive, drafted from the ledger.

Structure and numbering follow published notices (see shared/seed): 一、 sections, (一) aspects,
1、 problems, "整改情况：一是…二是…" under each. The public variant carries no official's name,
no internal note and no evidence list.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import xlsxwriter  # type: ignore[import-untyped]
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from sqlmodel import Session, col, func, select

from config.settings import ReportSettings
from ledger.cells import XlsxStyles, write_value
from ledger.clock import as_utc
from ledger.enums import TaskKind, TaskRole, TaskStatus
from ledger.errors import InvalidInput
from ledger.models import AuditEvent, Evidence, Official, Round
from ledger.numbering import chinese_numeral
from ledger.queries import TaskFilter, TaskView, list_tasks

BODY_PT = 16  # 三号
TITLE_PT = 22  # 二号
FONTS = {"title": "方正小标宋简体", "h1": "黑体", "h2": "楷体", "body": "仿宋"}


@dataclass
class ProblemSection:
    number: int | None
    title: str
    tasks: list[TaskView] = field(default_factory=list)
    shown: bool = True  # False when the aspect is itself the problem (no line of its own)


@dataclass
class AspectSection:
    number: int
    title: str
    problems: list[ProblemSection] = field(default_factory=list)


@dataclass
class EvidenceRow:
    task_id: int
    task_title: str
    file_name: str
    sha256: str
    uploaded_by: str
    uploaded_at: str
    size: int
    local_path: str
    channel_file_id: str
    uploaded_instant: datetime | None = None  # aware; shown in the configured zone


@dataclass
class ReportData:
    round: Round
    today: date
    aspects: list[AspectSection]
    tasks: list[TaskView]
    evidence: list[EvidenceRow]
    official_names: list[str]
    process: dict[str, int] = field(default_factory=dict)  # from the audit trail
    reopened: list[TaskView] = field(default_factory=list)
    zone: ZoneInfo | None = None
    settings: ReportSettings = field(default_factory=ReportSettings)

    @property
    def problem_count(self) -> int:
        return sum(len(a.problems) for a in self.aspects)

    def count(self, predicate: Any) -> int:
        return sum(1 for v in self.tasks if predicate(v))

    @property
    def closed(self) -> int:
        return self.count(lambda v: v.task.status == TaskStatus.CLOSED)

    @property
    def long_term(self) -> int:
        return self.count(
            lambda v: v.task.kind == TaskKind.LONG_TERM and v.task.status != TaskStatus.CLOSED
        )

    @property
    def in_progress(self) -> int:
        return len(self.tasks) - self.closed - self.long_term

    @property
    def lead_count(self) -> int:
        return self.count(lambda v: v.task.role == TaskRole.LEAD)

    @property
    def participating_count(self) -> int:
        return len(self.tasks) - self.lead_count

    @property
    def completion_rate(self) -> float:
        closable = len(self.tasks) - self.long_term
        return round(100 * self.closed / closable, 1) if closable else 100.0


def gather(
    session: Session,
    round_name: str,
    *,
    today: date,
    yellow_days: int,
    scope: Any = None,
    zone: ZoneInfo | None = None,
    report: ReportSettings | None = None,
) -> ReportData:
    """What the report says; `scope` (ledger.reads) limits it to what the asker may see."""
    round_ = session.exec(select(Round).where(Round.name == round_name)).first()
    if round_ is None:
        raise InvalidInput("error.not_found", what="轮次", ref=round_name)
    views = list_tasks(
        session,
        TaskFilter(round_name=round_name, scope=scope),
        today=today,
        yellow_days=yellow_days,
    )
    aspects: dict[int, AspectSection] = {}
    problems: dict[int, ProblemSection] = {}
    for view in views:
        aspect = aspects.get(view.aspect.id or 0)
        if aspect is None:
            aspect = aspects[view.aspect.id or 0] = AspectSection(
                view.aspect.number, view.aspect.title
            )
        problem = problems.get(view.problem.id or 0)
        if problem is None:
            shown = view.problem.title != view.aspect.title
            problem = problems[view.problem.id or 0] = ProblemSection(
                view.problem.number if shown else None, view.problem.title, shown=shown
            )
            aspect.problems.append(problem)
        problem.tasks.append(view)
    for problem in problems.values():  # 牵头 tasks first, then those we take part in
        problem.tasks.sort(key=lambda v: v.task.role != TaskRole.LEAD)
    names = {o.id: o.name for o in session.exec(select(Official))}
    task_titles = {v.id: v.task.title for v in views}
    evidence = [
        EvidenceRow(
            task_id=e.task_id,
            task_title=task_titles[e.task_id],
            file_name=e.file_name,
            sha256=e.sha256,
            uploaded_by=names.get(e.uploaded_by_id or 0, "—"),
            uploaded_at=e.created_at.strftime("%Y-%m-%d %H:%M"),
            size=e.size,
            local_path=e.local_path,
            channel_file_id=e.channel_file_id,
            uploaded_instant=as_utc(e.created_at),
        )
        for e in session.exec(
            select(Evidence)
            .where(col(Evidence.task_id).in_(list(task_titles)))
            .order_by(col(Evidence.task_id), col(Evidence.id))
        )
    ]
    process, reopened_ids = _process_figures(session, list(task_titles))
    return ReportData(
        round=round_,
        today=today,
        aspects=sorted(aspects.values(), key=lambda a: a.number),
        tasks=views,
        evidence=evidence,
        official_names=sorted(set(names.values()), key=len, reverse=True),
        process=process,
        reopened=[v for v in views if v.id in reopened_ids],
        zone=zone,
        settings=report or ReportSettings(),
    )


# what 一、整改工作基本情况 counts from the audit trail, by the actions that record it
PROCESS_ACTIONS = {
    "escalate": "escalations",
    "nudge": "nudges",
    "extension_approved": "extensions",
    "reject": "rejections",
    "reopen": "reopened",
}


def _process_figures(session: Session, task_ids: list[int]) -> tuple[dict[str, int], set[int]]:
    """调度督办, 催办, 延期, 退回, 回头看: how the period was run, counted from the audit trail."""
    figures = dict.fromkeys(PROCESS_ACTIONS.values(), 0)
    reopened: set[int] = set()
    for start in range(0, len(task_ids), 900):
        chunk = task_ids[start : start + 900]
        stmt = (
            sa.select(col(AuditEvent.action), col(AuditEvent.task_id), func.count())
            .where(
                col(AuditEvent.task_id).in_(chunk),
                col(AuditEvent.action).in_(list(PROCESS_ACTIONS)),
            )
            .group_by(col(AuditEvent.action), col(AuditEvent.task_id))
        )
        for action, task_id, count in session.execute(stmt):
            figures[PROCESS_ACTIONS[action]] += int(count)
            if action == "reopen":
                reopened.add(task_id)
    return figures, reopened


def ordinal(n: int) -> str:
    """一是、二是… as the notices enumerate measures."""
    return f"{chinese_numeral(n)}是"


def _sentence(text: str) -> str:
    text = text.strip().rstrip("；;，,")
    return text if not text or text[-1] in "。！？.!?" else text + "。"


class _Writer:
    def __init__(self, data: ReportData, public: bool) -> None:
        self.data = data
        self.public = public
        self.doc = Document()
        section = self.doc.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
        section.left_margin, section.right_margin = Mm(28), Mm(26)
        normal: Any = self.doc.styles["Normal"]
        normal.font.name = FONTS["body"]
        normal.font.size = Pt(BODY_PT)
        normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONTS["body"])
        fmt = normal.paragraph_format
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(28)
        fmt.space_after = Pt(0)

    def scrub(self, text: str) -> str:
        """The public variant names no official, even inside free text, and still reads well.

        "王建国同志负责跟进" becomes "有关同志负责跟进", "赵磊、孙丽负责" "有关同志负责".
        """
        if not self.public:
            return text
        for name in self.data.official_names:
            if name:
                text = re.sub(re.escape(name) + "(?:同志)?", "有关同志", text)
        return re.sub(r"有关同志(?:[、和及与]有关同志)+", "有关同志", text)

    def paragraph(
        self,
        text: str,
        *,
        font: str = "body",
        size: int = BODY_PT,
        bold: bool = False,
        indent: bool = True,
        align: Any = None,
        keep_with_next: bool = False,
    ) -> None:
        para = self.doc.add_paragraph()
        para.paragraph_format.keep_with_next = keep_with_next or None
        if indent:
            para.paragraph_format.first_line_indent = Pt(2 * size)
        if align is not None:
            para.alignment = align
        run = para.add_run(self.scrub(text))
        run.font.name = FONTS[font]
        run.font.size = Pt(size)
        run.font.bold = bold
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONTS[font])

    def heading(self, text: str, level: int) -> None:
        font = {1: "h1", 2: "h2", 3: "body"}[level]
        self.paragraph(text, font=font, bold=level == 3)

    def page_numbers(self) -> None:
        """ "— 1 —" centred at the foot of every page, as official documents number them."""
        para = self.doc.sections[0].footer.paragraphs[0]
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER

        def run(text: str = "") -> Any:
            r = para.add_run(text)
            r.font.size = Pt(14)
            return r

        run("— ")
        for kind, text in (("begin", ""), (None, " PAGE "), ("end", "")):
            element = OxmlElement("w:fldChar" if kind else "w:instrText")
            if kind:
                element.set(qn("w:fldCharType"), kind)
            else:
                element.set(qn("xml:space"), "preserve")
                element.text = text
            run()._element.append(element)
        run(" —")

    def opening(self) -> str:
        data, round_ = self.data, self.data.round
        group = round_.inspection_group or "巡察组"
        unit = round_.inspected_unit or "本单位"
        when = _chinese_date(round_.feedback_date) if round_.feedback_date else "此前"
        tail = "现将巡察整改情况予以公布。" if self.public else "现将整改落实情况报告如下。"
        due = round_.report_due_date
        timing = ""
        if due is not None and not self.public:
            late = (data.today - due).days
            timing = (
                f"本报告按规定时限（{_chinese_date(due)}前）报送。"
                if late <= 0
                else f"本报告应于{_chinese_date(due)}前报送，逾期{late}天报送。"
            )
        return (
            f"{when}，{group}向{unit}反馈了巡察意见，指出了{len(data.aspects)}个方面"
            f"{data.problem_count}个具体问题。{unit}高度重视，诚恳接受并全面认领，"
            f"制定整改方案和整改台账，逐项推动整改落实。{timing}{tail}"
        )

    def basics(self) -> None:
        data = self.data
        group = data.round.inspection_group or "巡察组"
        roles = (
            f"其中牵头任务{data.lead_count}项、参与任务{data.participating_count}项"
            if data.participating_count
            else "均为牵头任务"
        )
        self.paragraph(
            f"{group}反馈的意见中指出了{len(data.aspects)}个方面{data.problem_count}个具体问题，"
            f"分解为{len(data.tasks)}项整改任务，{roles}。截至{_chinese_date(data.today)}，"
            f"已完成整改（销号）{data.closed}项，正在整改{data.in_progress}项，"
            f"长期坚持{data.long_term}项，完成率{data.completion_rate}%。"
        )
        p = data.process
        figures = [
            f"逾期督办{p.get('escalations', 0)}次",
            f"一键催办{p.get('nudges', 0)}次",
            f"批准延期{p.get('extensions', 0)}项次",
            f"退回重新整改{p.get('rejections', 0)}项次",
            f"开展“回头看”重新打开{p.get('reopened', 0)}项次",
        ]
        text = "整改期间坚持一周一调度，" + "，".join(figures) + "。"
        if data.reopened:
            text += "“回头看”重新打开的事项为：" + "；".join(
                f"{v.task.title}（新时限{_chinese_date(v.task.deadline)}）"
                if v.task.deadline
                else v.task.title
                for v in data.reopened
            )
            text = _sentence(text)
        self.paragraph(text)

    def write(self, path: Path) -> None:
        data, round_ = self.data, self.data.round
        group = round_.inspection_group or "巡察组"
        unit = round_.inspected_unit or "本单位"
        self.page_numbers()
        self.paragraph(
            f"关于{group}巡察反馈意见整改落实情况的报告",
            font="title",
            size=TITLE_PT,
            indent=False,
            align=WD_ALIGN_PARAGRAPH.CENTER,
        )
        self.paragraph("", indent=False)
        self.paragraph(self.opening())
        self.heading("一、整改工作基本情况", 1)
        self.basics()
        self.heading("二、问题整改落实情况", 1)
        for aspect in data.aspects:
            self.heading(f"（{chinese_numeral(aspect.number)}）{_sentence(aspect.title)}", 2)
            for problem in aspect.problems:
                if problem.shown:  # numbered or not, a problem keeps its line
                    number = f"{problem.number}、" if problem.number is not None else ""
                    self.heading(f"{number}{_sentence(problem.title)}", 3)
                self.paragraph("整改情况：" + self.measures_text(problem.tasks))
        self.heading("三、下一步工作打算", 1)
        open_items = [
            v
            for v in data.tasks
            if v.task.status != TaskStatus.CLOSED and v.task.kind != TaskKind.LONG_TERM
        ]
        long_items = [
            v
            for v in data.tasks
            if v.task.status != TaskStatus.CLOSED and v.task.kind == TaskKind.LONG_TERM
        ]
        sub = 0
        if open_items:
            sub += 1
            self.heading(f"（{chinese_numeral(sub)}）持续推进未完成事项。", 2)
            for view in open_items:
                self.paragraph(self.next_step(view))
        if long_items:
            sub += 1
            self.heading(f"（{chinese_numeral(sub)}）坚持长期整改事项。", 2)
            for view in long_items:
                self.paragraph(f"{view.task.title}：按月报告进展，持续用力、久久为功。")
        sub += 1
        self.heading(f"（{chinese_numeral(sub)}）建立健全长效机制。", 2)
        # the last paragraph keeps the signature company: no page with the signature alone
        self.paragraph(
            "坚持举一反三，倒查制度缺陷，固化整改成果，对已完成的整改事项开展"
            "“回头看”，防止问题反弹。",
            keep_with_next=not self.public,
        )
        if self.public:
            contact = data.settings.contact.strip()
            self.paragraph(
                "欢迎广大干部群众对巡察整改落实情况进行监督。如有意见建议，请及时向我们反映。"
                + (f"联系方式：{contact}" if contact else ""),
                keep_with_next=True,
            )
        self.paragraph("", indent=False, keep_with_next=True)
        signature = data.settings.signature.strip() or unit
        self.paragraph(signature, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT, keep_with_next=True)
        self.paragraph(_chinese_date(data.today), indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
        if not self.public:
            self.appendix()
        self.doc.save(str(path))

    def next_step(self, view: TaskView) -> str:
        task = view.task
        if view.days_overdue > 0 and task.status != TaskStatus.SUBMITTED:
            doing = _sentence(view.latest_progress) if view.latest_progress else ""
            return (
                f"{task.title}：原定{_chinese_date(task.deadline) if task.deadline else ''}完成，"
                f"已逾期{view.days_overdue}天。{doing}"
                "将挂账督办、加快推进，尽快完成整改并销号。"
            )
        if task.status == TaskStatus.SUBMITTED:
            return f"{task.title}：已完成整改，待验收销号，将从严把关、按程序销号。"
        deadline = _chinese_date(task.deadline) if task.deadline else ""
        return f"{task.title}（整改时限{deadline}）：紧盯不放，确保按期完成整改并销号。"

    def measures_text(self, views: list[TaskView]) -> str:
        """What was done, as the notice writes it: the completion note or latest progress;
        the planned measure only where nothing was reported; overdue items say so."""
        parts = []
        for n, view in enumerate(views, start=1):
            task = view.task
            lead = ordinal(n) if len(views) > 1 else ""  # 一是…二是… only when there are several
            done = task.completion_note if task.status in CLOSED_OR_SUBMITTED else ""
            reported = done or view.latest_progress
            text = lead
            if task.role == TaskRole.PARTICIPATING:
                text += "（参与任务）"
            text += _sentence(reported) if reported else _sentence(task.measures or task.title)
            if task.status == TaskStatus.CLOSED:
                pass
            elif task.kind == TaskKind.LONG_TERM:
                text += "该项长期坚持，按月报告进展。"
            elif task.status == TaskStatus.SUBMITTED:
                text += "已完成整改，待验收销号。"
            elif view.days_overdue > 0:
                text += f"该项已逾期{view.days_overdue}天，正在加紧整改。"
            else:
                text += "该项正在按期推进。"
            if not self.public:
                people = "、".join(view.owners)
                if view.leaders:
                    people += f"；责任领导：{'、'.join(view.leaders)}"
                text += (
                    f"〔#{task.id}，责任人：{people}"
                    + (f"；备注：{task.notes}" if task.notes else "")
                    + "〕"
                )
            parts.append(text)
        return "".join(parts)

    def appendix(self) -> None:
        self.doc.add_page_break()
        self.paragraph("附件：整改档案清单", font="h1", indent=False)
        table = self.doc.add_table(rows=1, cols=6)
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, ARCHIVE_HEADERS, strict=True):
            cell.text = text
        for row in self.data.evidence:
            cells = table.add_row().cells
            # evidence times as the office read them (Beijing time), not UTC
            for cell, text in zip(cells, _archive_row(row, self.data.zone), strict=True):
                cell.text = str(text)
        for row_cells in table.rows:
            for cell in row_cells.cells:
                for para in cell.paragraphs:
                    for run in para.runs:
                        run.font.size = Pt(10.5)


CLOSED_OR_SUBMITTED = (TaskStatus.CLOSED, TaskStatus.SUBMITTED)


ARCHIVE_HEADERS = ["任务", "文件", "SHA-256", "上传人", "上传时间", "本地副本"]


def _archive_row(row: EvidenceRow, zone: ZoneInfo | None = None) -> list[str]:
    """One line of 整改档案清单; with `zone`, the upload time as the office's clock showed it."""
    when = row.uploaded_at
    if zone is not None and row.uploaded_instant is not None:
        when = row.uploaded_instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return [
        f"#{row.task_id} {row.task_title}",
        row.file_name,
        row.sha256 or "—",
        row.uploaded_by,
        when,
        "有" if row.local_path else "无（仅 Telegram 存档）",
    ]


MAX_ENTRY_NAME = 100


def archive_entry_name(task_id: int, file_name: str) -> str:
    """`task-ID/NAME` with NAME safe inside any unzip: no folders, no `..`, never empty.

    The name comes from whoever uploaded the file (Telegram passes it through untouched).
    """
    name = unicodedata.normalize("NFC", file_name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '<>:"|?*')
    name = name.strip(" .")  # no "..", no hidden or trailing-dot names (Windows drops them)
    if not name:
        name = "file"
    stem, dot, ext = name.rpartition(".")
    if len(name) > MAX_ENTRY_NAME:
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_ENTRY_NAME - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:MAX_ENTRY_NAME].rstrip(" .")
    return f"task-{task_id}/{name or 'file'}"


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def write_report(data: ReportData, path: Path, *, public: bool = False) -> Path:
    _Writer(data, public).write(path)
    return path


@dataclass
class ArchiveSummary:
    files: int
    missing_copies: int


def write_archive(data: ReportData, path: Path, *, zone: ZoneInfo) -> ArchiveSummary:
    """Every stored evidence file, a folder per task, hashes checked, with the list as xlsx.

    A file whose bytes no longer match its recorded sha256 stops the archive: nothing is written.
    Entry names are sanitised (`archive_entry_name`); the list's cells are text, never formulas,
    and its times are in `zone`.
    """
    problems = []
    contents: dict[str, bytes] = {}
    used: dict[str, int] = defaultdict(int)
    for row in data.evidence:
        if not row.local_path:
            continue
        try:
            blob = Path(row.local_path).read_bytes()
        except OSError as exc:
            problems.append(f"#{row.task_id} {row.file_name}: 无法读取本地副本（{exc.strerror}）")
            continue
        if row.sha256 and hashlib.sha256(blob).hexdigest() != row.sha256:
            problems.append(f"#{row.task_id} {row.file_name}: 文件内容与登记的 sha256 不一致")
            continue
        name = archive_entry_name(row.task_id, row.file_name)
        used[name] += 1
        if used[name] > 1:
            folder, _, base = name.partition("/")
            stem, dot, ext = base.rpartition(".")
            name = f"{folder}/{stem or ext}-{used[name]}{dot}{ext if stem else ''}"
        contents[name] = blob
    if problems:
        raise InvalidInput(
            "error.input", detail="佐证材料校验失败，未生成归档：\n" + "\n".join(problems)
        )
    listing = io.BytesIO()
    workbook = xlsxwriter.Workbook(listing, {"in_memory": True})
    sheet = workbook.add_worksheet("整改档案清单")
    plain = XlsxStyles(workbook).pair()
    lines = [ARCHIVE_HEADERS, *(_archive_row(row, zone) for row in data.evidence)]
    for number, line in enumerate(lines):
        for column, value in enumerate(line):
            write_value(sheet, number, column, value, plain)
    workbook.close()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("整改档案清单.xlsx", listing.getvalue())
        for name, blob in contents.items():
            archive.writestr(name, blob)
    return ArchiveSummary(
        files=len(contents), missing_copies=sum(1 for r in data.evidence if not r.local_path)
    )
