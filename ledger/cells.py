"""Spreadsheet cells that stay text: nothing a person typed becomes a live formula.

Every xlsx and csv the ledger writes (export, archive list) goes through these, so a progress
reply starting with ``=`` reaches a supervisor's sheet as the words typed, not as a formula
(OWASP "CSV injection"). The import reverses the csv prefix, so an export still imports back
with no changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

# what spreadsheet programs read as the start of a formula (OWASP adds tab and carriage return)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_GUARD = "'"


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def set_text(cell: Cell, value: Any) -> None:
    """Put a value in an xlsx cell; text is stored as a string cell whatever it starts with."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if is_formula_like(value):
            # Excel keeps it text even when someone edits the cell later
            cell.quotePrefix = True


def append_row(sheet: Worksheet, values: Iterable[Any]) -> int:
    """Append a row of values as `set_text` would write them; returns the row's number."""
    row = sheet.max_row + 1 if sheet.max_row > 1 or sheet.cell(1, 1).value is not None else 1
    for column, value in enumerate(values, start=1):
        set_text(sheet.cell(row=row, column=column), value)
    return row


def csv_text(value: Any) -> str:
    """A csv cell: dates as ISO, text that would start a formula behind a leading quote."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and is_formula_like(text):
        return CSV_GUARD + text
    return text


def csv_untext(text: str) -> str:
    """Reverse `csv_text`'s guard on import: a quote before a formula start is ours."""
    if text.startswith(CSV_GUARD) and is_formula_like(text[1:]):
        return text[1:]
    return text
