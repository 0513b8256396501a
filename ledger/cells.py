"""Spreadsheet cells that stay text: nothing a person typed becomes a live formula.

Every xlsx and csv the ledger writes (export, archive list) goes through these, so a progress
reply starting with ``=`` reaches a supervisor's sheet as the words typed, not as a formula
(OWASP "CSV injection"). The import reverses the csv prefix, so an export still imports back
with no changes. Sheets are written with XlsxWriter (`XlsxStyles`, `write_value`), which
streams a 100k-row export in seconds.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

# what spreadsheet programs read as the start of a formula (OWASP adds tab and carriage return)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_GUARD = "'"


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


class XlsxStyles:
    """XlsxWriter formats, one per distinct look, each with a quote-prefixed twin for text
    that would start a formula (Excel keeps such a cell text even when it is edited)."""

    def __init__(self, workbook: Any) -> None:
        self._workbook = workbook
        self._made: dict[tuple[tuple[str, Any], ...], Any] = {}

    def get(self, **properties: Any) -> Any:
        key = tuple(sorted(properties.items()))
        if key not in self._made:
            self._made[key] = self._workbook.add_format(properties)
        return self._made[key]

    def pair(self, **properties: Any) -> tuple[Any, Any]:
        """The format and its quote-prefixed twin, for `write_value`."""
        return self.get(**properties), self.get(**properties, quote_prefix=True)


def write_value(sheet: Any, row: int, column: int, value: Any, style: tuple[Any, Any]) -> None:
    """Write one XlsxWriter cell: text always a string cell, never a formula (quote-prefixed
    when it starts like one, so Excel keeps it text when edited), dates as dates (the style
    gives their number format), empty cells blank but formatted."""
    plain, quoted = style
    if value is None or value == "":
        sheet.write_blank(row, column, None, plain)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, column, value, plain)
    elif isinstance(value, date):
        sheet.write_datetime(row, column, datetime.combine(value, time()), plain)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        sheet.write_number(row, column, value, plain)
    else:
        text = str(value)
        sheet.write_string(row, column, text, quoted if is_formula_like(text) else plain)


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
