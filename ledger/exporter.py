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
from functools import lru_cache
from pathlib import Path
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]
from sqlmodel import Session

from ledger.cells import XlsxStyles, csv_text, write_value
from ledger.i18n import render
from ledger.numbering import aspect_label
from ledger.queries import TaskFilter, TaskView, list_tasks, task_ids
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
VIEWS_AT_A_TIME = 5000
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
    ids = task_ids(session, TaskFilter(round_name=round_name, scope=scope), today=today)
    rows: list[dict[str, Any]] = []
    lights: list[str] = []
    # a slice of views at a time: 100k tasks' views at once were ~340 MB
    for start in range(0, len(ids), VIEWS_AT_A_TIME):
        chunk = ids[start : start + VIEWS_AT_A_TIME]
        for view in list_tasks(
            session, TaskFilter(task_ids=chunk), today=today, yellow_days=yellow_days
        ):
            rows.append(export_row(view))
            lights.append(view.light.value)
    if path.suffix.lower() == ".csv":
        buffer = io.StringIO()
        import csv

        writer = csv.writer(buffer)
        writer.writerow([header_for(f) for f in EXPORT_FIELDS])
        for row in rows:
            writer.writerow([csv_text(row[f]) for f in EXPORT_FIELDS])
        path.write_text(buffer.getvalue(), encoding="utf-8-sig")
        return len(rows)
    rounds = sorted({row["round"] for row in rows})
    _write_xlsx(path, lights, rows, rounds, today)
    return len(rows)


LINE_POINTS = 13.5  # one line of 10-point text
GREY = "#808080"
BOX = {"border": 1, "border_color": GREY}  # thin, on every side


def _write_xlsx(
    path: Path, lights: list[str], rows: list[dict[str, Any]], rounds: list[str], today: date
) -> None:
    """The printable sheet, streamed row by row (XlsxWriter's constant-memory mode: a 100k-task
    ledger in seconds and little memory). Rows must come in order, so the merged runs and the
    row heights are worked out first; a merged run's first cell holds the text and the cells
    under it are written blank in the same format as their rows come."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet("整改台账")
        styles = XlsxStyles(workbook)
        width = len(EXPORT_FIELDS)
        last = width - 1
        title = "、".join(rounds) if rounds else ""
        sheet.set_row(0, 30)
        sheet.merge_range(
            0,
            0,
            0,
            last,
            f"《{title}整改台账》" if title else "《整改台账》",
            styles.get(
                font_name="SimHei", bold=True, font_size=16, align="center", valign="vcenter"
            ),
        )
        sheet.merge_range(
            1,
            0,
            1,
            last,
            f"截至 {today.year}年{today.month}月{today.day}日",
            styles.get(align="right"),
        )
        header = styles.pair(
            bold=True, align="center", valign="vcenter", text_wrap=True, bg_color="#D9E1F2", **BOX
        )
        header_row = 2
        for column, name in enumerate(EXPORT_FIELDS):
            write_value(sheet, header_row, column, header_for(name), header)
        first = header_row + 1
        looks = _looks(styles, set(lights))
        runs = _merge_runs(rows)
        heights = _row_heights(rows, runs)
        # merged runs by field: the first row of each, and where it ends
        starts = {name: dict(spans) for name, spans in runs.items()}
        covered = {name: -1 for name in MERGED}  # last row position under a run's first cell
        for position, row in enumerate(rows):
            number = first + position
            sheet.set_row(number, heights[position])
            light = lights[position]
            for column, name in enumerate(EXPORT_FIELDS):
                value = row[name]
                if name in covered:
                    if position <= covered[name]:
                        value = None  # under a merged run's first cell
                    elif position in starts[name]:
                        covered[name] = starts[name][position]
                        # XlsxWriter's merge_range writes every cell of the range at once,
                        # which constant-memory mode cannot do across rows: record the range
                        # (the list its <mergeCells> is written from) and write the cells here
                        sheet.merge.append([number, column, first + covered[name], column])
                dated = isinstance(value, date)
                write_value(sheet, number, column, value, looks[name, light, dated])
        legend = first + len(rows)
        sheet.set_row(legend, 28)
        sheet.merge_range(
            legend, 0, legend, last, LEGEND, styles.get(text_wrap=True, valign="top", font_size=9)
        )
        for column, name in enumerate(EXPORT_FIELDS):
            sheet.set_column(column, column, WIDTHS[name])
        sheet.freeze_panes(first, EXPORT_FIELDS.index("title"))
        sheet.repeat_rows(header_row)
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.fit_to_pages(1, 0)
        sheet.center_horizontally()
        sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.8)
        sheet.set_header("", {"margin": 0.5})
        sheet.set_footer("&C第 &P 页，共 &N 页", {"margin": 0.3})
    finally:
        workbook.close()


def _looks(styles: XlsxStyles, lights: set[str]) -> dict[tuple[str, str, bool], tuple[Any, Any]]:
    """Each column's cell format by light and whether the value is a date: 10-point text in
    a thin grey box, narrow columns centred, 序号 and 状态 in the light's colour, 轮次 and ID
    small and grey."""
    looks = {}
    for name in EXPORT_FIELDS:
        for light in lights:
            look: dict[str, Any] = {"font_size": 10, "valign": "top", "text_wrap": True, **BOX}
            if WIDTHS[name] <= 11:
                look["align"] = "center"
            if name in ("ref", "status"):
                look["bg_color"] = f"#{FILLS[light]}"
            if name in ("round", "task_id"):
                look = {"font_size": 7, "font_color": GREY, "valign": "top", **BOX}
            looks[name, light, False] = styles.pair(**look)
            looks[name, light, True] = styles.pair(**look, num_format="yyyy-mm-dd")
    return looks


def _merge_runs(rows: list[dict[str, Any]]) -> dict[str, list[tuple[int, int]]]:
    """Runs of consecutive equal aspect cells, and of problem cells within one aspect, to be
    merged: per field, (first, last) row positions in `rows`."""
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
                runs[name].append((start, i - 1))
            start = i
    return runs


def _text_width(text: str) -> float:
    """Column units a 10-point text takes (a unit is an 11-point digit; a Chinese character ~1.6)."""
    return sum(1.6 if unicodedata.east_asian_width(ch) in "WF" else 0.9 for ch in text)


@lru_cache(maxsize=1 << 16)  # names, units, dates and statuses repeat on many rows
def _lines(value: Any, width: int) -> int:
    if value is None or value == "":
        return 1
    text = value.isoformat() if isinstance(value, date) else str(value)
    room = max(width - 1, 1)
    return sum(max(1, math.ceil(_text_width(part) / room)) for part in text.split("\n"))


def _row_heights(rows: list[dict[str, Any]], runs: dict[str, list[tuple[int, int]]]) -> list[float]:
    """Row heights in points for wrapped text (spreadsheets do not grow rows they did not lay
    out); a merged run's text is spread over the rows it spans."""
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
    return [count * LINE_POINTS + 3 for count in lines]
