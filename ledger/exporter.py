"""Export the ledger in the import's own columns, plus round, light, evidence and days overdue.

An exported file imports back with no changes.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]
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
    write_xlsx(
        path, headers, [(view.light.value, row) for view, row in zip(views, rows, strict=True)]
    )
    return len(rows)


def write_xlsx(path: Path, headers: list[str], rows: list[tuple[str, dict[str, Any]]]) -> None:
    """The printable sheet: bold wrapped header, column widths, header and first two columns
    frozen, 序号 and 灯 filled with the light's colour, dates as dates.

    XlsxWriter in constant-memory mode streams each row to the file (a 100k-task ledger in
    seconds, little memory). Every text is written as text (`write_string`): a cell that
    starts with "=" stays what the person typed, never a formula.
    """
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet("整改台账")
        header = workbook.add_format(
            {"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True}
        )
        dated = workbook.add_format({"num_format": "yyyy-mm-dd"})
        fills = {
            light: workbook.add_format({"bg_color": f"#{colour}", "pattern": 1})
            for light, colour in FILLS.items()
        }
        for index, name in enumerate(EXPORT_FIELDS):
            sheet.set_column(index, index, WIDTHS.get(name, 12))
        sheet.freeze_panes(1, 2)  # C2
        for column, text in enumerate(headers):
            sheet.write_string(0, column, text, header)
        filled = {EXPORT_FIELDS.index("light"), EXPORT_FIELDS.index("ref")}
        for number, (light, row) in enumerate(rows, start=1):
            fill = fills[light]
            for column, name in enumerate(EXPORT_FIELDS):
                value = row[name]
                style = fill if column in filled else None
                if isinstance(value, date):
                    sheet.write_datetime(number, column, datetime.combine(value, time()), dated)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    sheet.write_number(number, column, value, style)
                elif value is None or value == "":
                    if style is not None:
                        sheet.write_blank(number, column, None, style)
                else:
                    sheet.write_string(number, column, str(value), style)
    finally:
        workbook.close()


def _csv_cell(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)
