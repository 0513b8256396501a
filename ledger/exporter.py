"""Export the ledger as an office hands it to a leader, and in a form that imports back unchanged.

The xlsx prints: a title row (《…整改台账》), the header repeated on every page, A4 landscape
fitted to the page width, aspect and problem cells merged down, the light as the colour of the
序号 and 状态 cells. 完成情况 is the completion note (else the latest progress) and 完成日期 the
closing date; the import reads both back. 轮次 and ID, which the re-import matches rows by,
stand narrow at the right end. Every text cell stays text (ledger.cells), in xlsx and csv.
"""

from __future__ import annotations

import io
import math
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import Session

from ledger.cells import append_row, csv_text, set_text
from ledger.i18n import render
from ledger.numbering import aspect_label
from ledger.queries import TaskFilter, TaskView, list_tasks
from ledger.sheets import COLUMNS

EXPORT_FIELDS = (
    "ref",
    "aspect",
    "problem",
    "title",
    "measures",
    "target",
    "kind",
    "leader",
    "lead_unit",
    "partner_units",
    "owner",
    "supervisor",
    "deadline",
    "status",
    "progress",
    "completed_date",
    "notes",
    "round",
    "task_id",
)
# the export's own header where it differs from the import's canonical one
HEADERS = {"progress": "完成情况", "leader": "责任领导"}
FILLS = {
    "red": "FFC7CE",
    "yellow": "FFEB9C",
    "green": "C6EFCE",
    "blue": "BDD7EE",
    "closed": "E7E6E6",
}
# widths in characters; the sum is what "fit to width" scales onto A4 landscape
WIDTHS = {
    "ref": 5,
    "aspect": 14,
    "problem": 18,
    "title": 18,
    "measures": 28,
    "target": 14,
    "kind": 7,
    "leader": 7,
    "lead_unit": 9,
    "partner_units": 9,
    "owner": 7,
    "supervisor": 7,
    "deadline": 11,
    "status": 7,
    "progress": 24,
    "completed_date": 11,
    "notes": 10,
    "round": 5,
    "task_id": 5,
}
MERGED = ("aspect", "problem")
LEGEND = "注：序号和状态的底色为灯号：红＝逾期，黄＝10日内到期或待销号，绿＝按期推进，蓝＝长期坚持，灰＝已销号。轮次、ID 两列供重新导入时对应任务，请勿改动。"


def header_for(name: str) -> str:
    return HEADERS.get(name, COLUMNS[name][0])


def export_row(view: TaskView) -> dict[str, Any]:
    task = view.task
    problem = view.problem
    problem_text = problem.title
    if problem.number is not None:
        problem_text = f"{problem.number}、{problem.title}"
    return {
        "round": view.round_name,
        "ref": task.ref,
        "aspect": f"{aspect_label(view.aspect.number)}{view.aspect.title}",
        "problem": problem_text if problem.title != view.aspect.title else "",
        "title": task.title,
        "target": task.target,
        "measures": task.measures,
        "kind": render(f"kind.{task.kind}"),
        "leader": "、".join(view.leaders),
        "lead_unit": task.lead_unit,
        "partner_units": task.participating_units,
        "owner": "、".join(view.owners),
        "supervisor": "、".join(view.supervisors),
        "deadline": task.deadline if task.deadline else render("deadline.none"),
        "status": render(f"status.{task.status}"),
        "progress": task.completion_note or view.latest_progress,
        "completed_date": task.closed_on or "",
        "notes": task.notes,
        "task_id": task.id,
    }


def export_ledger(
    session: Session,
    path: Path,
    *,
    today: date,
    yellow_days: int,
    round_name: str | None = None,
    scope: Any = None,
) -> int:
    """Write the ledger; `scope` (from ledger.reads) limits it to what the asker may see."""
    views = list_tasks(
        session,
        TaskFilter(round_name=round_name, scope=scope),
        today=today,
        yellow_days=yellow_days,
    )
    rows = [export_row(v) for v in views]
    if path.suffix.lower() == ".csv":
        buffer = io.StringIO()
        import csv

        writer = csv.writer(buffer)
        writer.writerow([header_for(f) for f in EXPORT_FIELDS])
        for row in rows:
            writer.writerow([csv_text(row[f]) for f in EXPORT_FIELDS])
        path.write_text(buffer.getvalue(), encoding="utf-8-sig")
        return len(rows)
    rounds = sorted({v.round_name for v in views})
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "整改台账"
    _write_sheet(sheet, views, rows, rounds, today)
    workbook.save(path)
    return len(rows)


THIN = Side(style="thin", color="808080")
BODY = Font(size=10)
LINE_POINTS = 13.5  # one line of 10-point text
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _write_sheet(
    sheet: Worksheet,
    views: list[TaskView],
    rows: list[dict[str, Any]],
    rounds: list[str],
    today: date,
) -> None:
    width = len(EXPORT_FIELDS)
    last = get_column_letter(width)
    title = "、".join(rounds) if rounds else ""
    set_text(sheet.cell(row=1, column=1), f"《{title}整改台账》" if title else "《整改台账》")
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"].font = Font(name="SimHei", bold=True, size=16)
    sheet["A1"].alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[1].height = 30
    set_text(sheet.cell(row=2, column=1), f"截至 {today.year}年{today.month}月{today.day}日")
    sheet.merge_cells(f"A2:{last}2")
    sheet["A2"].alignment = Alignment(horizontal="right")
    header_row = append_row(sheet, [header_for(f) for f in EXPORT_FIELDS])
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = PatternFill("solid", start_color="D9E1F2")
        cell.border = BOX
    wrap = Alignment(vertical="top", wrap_text=True)
    center = Alignment(horizontal="center", vertical="top", wrap_text=True)
    index = {name: i for i, name in enumerate(EXPORT_FIELDS, start=1)}
    first = header_row + 1
    for view, row in zip(views, rows, strict=True):
        number = append_row(sheet, [row[f] for f in EXPORT_FIELDS])
        fill = PatternFill("solid", start_color=FILLS[view.light.value])
        for name in EXPORT_FIELDS:
            cell = sheet.cell(row=number, column=index[name])
            cell.border = BOX
            cell.alignment = center if WIDTHS[name] <= 11 else wrap
            if isinstance(row[name], date):
                cell.number_format = "yyyy-mm-dd"
        for name in ("ref", "status"):
            sheet.cell(row=number, column=index[name]).fill = fill
        for name in EXPORT_FIELDS:
            sheet.cell(row=number, column=index[name]).font = BODY
        for name in ("round", "task_id"):
            technical = sheet.cell(row=number, column=index[name])
            technical.font = Font(size=7, color="808080")
            technical.alignment = Alignment(vertical="top")
    runs = _merge_runs(sheet, rows, first, index)
    _fit_row_heights(sheet, rows, first, runs)
    legend = sheet.max_row + 1
    set_text(sheet.cell(row=legend, column=1), LEGEND)
    sheet.merge_cells(f"A{legend}:{last}{legend}")
    sheet.cell(row=legend, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.cell(row=legend, column=1).font = Font(size=9)
    sheet.row_dimensions[legend].height = 28
    for name, i in index.items():
        sheet.column_dimensions[get_column_letter(i)].width = WIDTHS[name]
    sheet.freeze_panes = f"{get_column_letter(index['title'])}{first}"
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = 0.6
    sheet.page_margins.bottom = 0.8
    sheet.page_margins.footer = 0.3
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"


def _merge_runs(
    sheet: Worksheet, rows: list[dict[str, Any]], first: int, index: dict[str, int]
) -> dict[str, list[tuple[int, int]]]:
    """Merge consecutive equal aspect cells, and problem cells within one aspect.

    Returns the merged runs per field as (first, last) row positions in `rows`.
    """
    runs: dict[str, list[tuple[int, int]]] = {name: [] for name in MERGED}
    for name in MERGED:
        start = 0
        for i in range(1, len(rows) + 1):
            same = (
                i < len(rows)
                and rows[i][name]
                and rows[i][name] == rows[start][name]
                and rows[i]["round"] == rows[start]["round"]
                and rows[i]["aspect"] == rows[start]["aspect"]
            )
            if same:
                continue
            if i - 1 > start:
                column = index[name]
                sheet.merge_cells(
                    start_row=first + start,
                    start_column=column,
                    end_row=first + i - 1,
                    end_column=column,
                )
                runs[name].append((start, i - 1))
            start = i
    return runs


def _text_width(text: str) -> float:
    """Column units a 10-point text takes (a unit is an 11-point digit; a Chinese character ~1.6)."""
    return sum(1.6 if unicodedata.east_asian_width(ch) in "WF" else 0.9 for ch in text)


def _lines(value: Any, width: int) -> int:
    if value is None or value == "":
        return 1
    text = value.isoformat() if isinstance(value, date) else str(value)
    room = max(width - 1, 1)
    return sum(max(1, math.ceil(_text_width(part) / room)) for part in text.split("\n"))


def _fit_row_heights(
    sheet: Worksheet, rows: list[dict[str, Any]], first: int, runs: dict[str, list[tuple[int, int]]]
) -> None:
    """Row heights for wrapped text (spreadsheets do not grow rows they did not lay out)."""
    merged_rows = {
        name: {r for a, b in spans for r in range(a, b + 1)} for name, spans in runs.items()
    }
    lines = []
    for position, row in enumerate(rows):
        lines.append(
            max(
                _lines(row[name], WIDTHS[name])
                for name in EXPORT_FIELDS
                if name not in ("round", "task_id") and position not in merged_rows.get(name, set())
            )
        )
    for name, spans in runs.items():
        for a, b in spans:
            needed = _lines(rows[a][name], WIDTHS[name])
            have = sum(lines[a : b + 1])
            if needed > have:
                extra = math.ceil((needed - have) / (b - a + 1))
                for r in range(a, b + 1):
                    lines[r] += extra
    for position, count in enumerate(lines):
        sheet.row_dimensions[first + position].height = count * LINE_POINTS + 3
