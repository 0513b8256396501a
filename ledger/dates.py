"""Dates as offices write them: Excel dates, 2023-01-31, 2023/1/31, 2023.1.31, 2023年1月31日, 2023年1月底."""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache

_EXCEL_EPOCH = date(1899, 12, 30)
_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_END_OF_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*(?:底|末|月底|月末)$")
_ISO_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]\d{1,2}:\d{2}(:\d{2})?$")

FIRST_YEAR, LAST_YEAR = 2000, 2100  # a deadline outside is a typo (1900-01-00, 2202), not a plan
LONG_TERM_WORDS = frozenset({"长期坚持", "长期", "持续整改", "long-term", "long term", "ongoing"})
IMMEDIATE_WORDS = frozenset({"立行立改", "立即整改", "immediate"})


def normalize(text: str) -> str:
    """Full-width to half-width, stray spaces trimmed (NFKC leaves Chinese characters alone)."""
    return unicodedata.normalize("NFKC", text).strip()


def end_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


class DateOutOfRange(ValueError):
    """A real date, but not one a rectification ledger can mean."""


def parse_date(value: object) -> date:
    """A date from a cell or a typed argument; ValueError says what was not understood."""
    parsed = _parse_date(value)
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise DateOutOfRange(f"year {parsed.year} outside {FIRST_YEAR}-{LAST_YEAR}")
    return parsed


def _parse_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"not a date: {value!r}")
        serial = int(value)
        if 1 <= serial <= 2958465 and serial == value:
            return _EXCEL_EPOCH + timedelta(days=serial)
        raise ValueError(f"not an Excel date serial: {value}")
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    return _parse_text(value)


@lru_cache(maxsize=4096)  # a ledger's deadlines are a few dates written on many rows
def _parse_text(value: str) -> date:
    text = normalize(value).replace(" ", "")
    if not text:
        raise ValueError("empty date")
    if text.isdigit() and len(text) <= 6:
        return _parse_date(int(text))
    match = _ISO_DATETIME.match(text)
    if match:
        text = match.group(1)
    match = _YMD.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return date(year, month, day)  # raises ValueError for 2023-02-30
    match = _END_OF_MONTH.match(text)
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"month {month} out of range")
        return end_of_month(year, month)
    raise ValueError(f"unrecognised date {value!r}")
