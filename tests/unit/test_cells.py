"""Cells the ledger writes stay text, and the csv guard is reversed on import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import xlsxwriter
from openpyxl import load_workbook

from ledger.cells import XlsxStyles, csv_text, csv_untext, write_value


def test_formula_like_text_is_written_as_a_string_cell(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    styles = XlsxStyles(workbook)
    plain, dated = styles.pair(), styles.pair(num_format="yyyy-mm-dd")
    rows = [
        ["序号", "整改进展", "日期"],
        ["1", '=HYPERLINK("http://evil.invalid","点击")', date(2027, 1, 4)],
        ["2", "-已完成", ""],
    ]
    for number, row in enumerate(rows):
        for column, value in enumerate(row):
            write_value(sheet, number, column, value, dated if column == 2 else plain)
    workbook.close()
    cells = list(load_workbook(path).active.iter_rows(min_row=2, values_only=False))
    assert [(c.value, c.data_type) for c in cells[0][:2]] == [
        ("1", "s"),
        ('=HYPERLINK("http://evil.invalid","点击")', "s"),
    ]
    assert cells[0][1].quotePrefix and not cells[0][0].quotePrefix
    assert cells[0][2].value.date() == date(2027, 1, 4)
    assert (cells[1][1].value, cells[1][1].data_type, cells[1][1].quotePrefix) == (
        "-已完成",
        "s",
        True,
    )
    assert cells[1][2].value is None


def test_csv_guard_round_trips() -> None:
    for text in ("=1+1", "+86 138", "-3", "@SUM(A1)", "普通文字", "'引号开头", ""):
        assert csv_untext(csv_text(text)) == text
    assert csv_text("=1+1") == "'=1+1"
    assert csv_text(date(2027, 1, 4)) == "2027-01-04"
    assert csv_text(None) == ""
    assert csv_text(3) == "3"
