"""Cells the ledger writes stay text, and the csv guard is reversed on import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook, load_workbook

from ledger.cells import append_row, csv_text, csv_untext


def test_formula_like_text_is_written_as_a_string_cell(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    append_row(sheet, ["序号", "整改进展"])
    append_row(sheet, ["1", '=HYPERLINK("http://evil.invalid","点击")'])
    append_row(sheet, ["2", "-已完成"])
    path = tmp_path / "out.xlsx"
    workbook.save(path)
    cells = list(load_workbook(path).active.iter_rows(min_row=2, values_only=False))
    assert [(c.value, c.data_type) for c in cells[0]] == [
        ("1", "s"),
        ('=HYPERLINK("http://evil.invalid","点击")', "s"),
    ]
    assert (cells[1][1].value, cells[1][1].data_type) == ("-已完成", "s")


def test_csv_guard_round_trips() -> None:
    for text in ("=1+1", "+86 138", "-3", "@SUM(A1)", "普通文字", "'引号开头", ""):
        assert csv_untext(csv_text(text)) == text
    assert csv_text("=1+1") == "'=1+1"
    assert csv_text(date(2027, 1, 4)) == "2027-01-04"
    assert csv_text(None) == ""
    assert csv_text(3) == "3"
