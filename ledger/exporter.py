"""Export the ledger in the import's own columns, plus round, light, evidence and days overdue.

An exported file imports back with no changes.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlmodel import Session

from ledger.i18n import render
from ledger.numbering import aspect_label
from ledger.queries import TaskFilter, TaskView, list_tasks
from ledger.sheets import COLUMNS

EXPORT_FIELDS = (
    "round",
    "ref",
    "aspect",
    "problem",
    "title",
    "target",
    "measures",
    "kind",
    "role",
    "leader",
    "lead_unit",
    "partner_units",
    "owner",
    "supervisor",
    "deadline",
    "original_deadline",
    "status",
    "light",
    "progress",
    "evidence_count",
    "days_overdue",
    "notes",
    "task_id",
)
FILLS = {
    "red": "FFC7CE",
    "yellow": "FFEB9C",
    "green": "C6EFCE",
    "blue": "BDD7EE",
    "closed": "D9D9D9",
}
WIDTHS = {"aspect": 28, "problem": 28, "title": 30, "measures": 40, "progress": 30, "target": 24}


def export_row(view: TaskView) -> dict[str, Any]:
    task = view.task
    problem = view.problem
    problem_text = problem.title
    if problem.number is not None:
        problem_text = f"{problem.number}、{problem.title}"
    kind_label = render(f"kind.{task.kind}")
    return {
        "round": view.round_name,
        "ref": task.ref,
        "aspect": f"{aspect_label(view.aspect.number)}{view.aspect.title}",
        "problem": problem_text if problem.title != view.aspect.title else "",
        "title": task.title,
        "target": task.target,
        "measures": task.measures,
        "kind": kind_label,
        "role": render(f"role.{task.role}"),
        "leader": "、".join(view.leaders),
        "lead_unit": task.lead_unit,
        "partner_units": task.participating_units,
        "owner": "、".join(view.owners),
        "supervisor": "、".join(view.supervisors),
        "deadline": task.deadline if task.deadline else render("deadline.none"),
        "original_deadline": task.original_deadline or "",
        "status": render(f"status.{task.status}"),
        "light": render(f"light.{view.light}"),
        "progress": view.latest_progress,
        "evidence_count": view.evidence_count,
        "days_overdue": view.days_overdue,
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
    headers = [COLUMNS[f][0] for f in EXPORT_FIELDS]
    rows = [export_row(v) for v in views]
    if path.suffix.lower() == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([_csv_cell(row[f]) for f in EXPORT_FIELDS])
        path.write_text(buffer.getvalue(), encoding="utf-8-sig")
        return len(rows)
    # write_only: rows are streamed to the file as they come (a 100k-task ledger in seconds
    # and little memory); widths and frozen panes are set before the first row
    workbook = Workbook(write_only=True)
    sheet: Any = workbook.create_sheet("整改台账")
    for index, name in enumerate(EXPORT_FIELDS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = WIDTHS.get(name, 12)
    sheet.freeze_panes = "C2"
    bold = Font(bold=True)
    centred = Alignment(horizontal="center", vertical="center", wrap_text=True)

    def header(text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.alignment = bold, centred
        return cell

    sheet.append([header(h) for h in headers])
    fills = {light: PatternFill("solid", start_color=colour) for light, colour in FILLS.items()}
    filled = {EXPORT_FIELDS.index("light"), EXPORT_FIELDS.index("ref")}
    for view, row in zip(views, rows, strict=True):
        cells: list[Any] = []
        for index, name in enumerate(EXPORT_FIELDS):
            value = row[name]
            if index in filled or isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                if index in filled:
                    cell.fill = fills[view.light.value]
                if isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    workbook.save(path)
    return len(rows)


def _csv_cell(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)
