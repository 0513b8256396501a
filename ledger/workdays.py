"""China's official working-day calendar (holidays and 调休), with a fallback beyond known years."""

from __future__ import annotations

import logging
import tomllib
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import chinese_calendar

log = logging.getLogger(__name__)


class WorkCalendar:
    """Working days from `chinesecalendar`; an admin file adds or overrides days for later years.

    Years the package does not know fall back to Monday–Friday with one warning, so a deadline in
    such a year never crashes a sweep.
    """

    def __init__(
        self, *, extra_holidays: set[date] | None = None, extra_workdays: set[date] | None = None
    ) -> None:
        self.extra_holidays = extra_holidays or set()
        self.extra_workdays = extra_workdays or set()
        self._warned_years: set[int] = set()
        self.is_working_day = lru_cache(maxsize=4096)(self._is_working_day)

    @classmethod
    def from_file(cls, path: Path | None) -> WorkCalendar:
        """Read `holidays = [...]` and `workdays = [...]` (ISO dates) from an optional TOML file."""
        if path is None or not path.is_file():
            return cls()
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        try:
            holidays = {date.fromisoformat(str(d)) for d in data.get("holidays", [])}
            workdays = {date.fromisoformat(str(d)) for d in data.get("workdays", [])}
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        return cls(extra_holidays=holidays, extra_workdays=workdays)

    def _is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._warned_years:
                self._warned_years.add(day.year)
                log.warning(
                    "calendar_year_unknown year=%s fallback=mon-fri; add the official schedule "
                    "to the calendar file or upgrade chinesecalendar",
                    day.year,
                )
            return day.weekday() < 5

    def next_working_day(self, day: date, *, include: bool = True) -> date:
        current = day if include else day + timedelta(days=1)
        while not self.is_working_day(current):
            current += timedelta(days=1)
        return current

    def previous_working_day(self, day: date, *, include: bool = True) -> date:
        current = day if include else day - timedelta(days=1)
        while not self.is_working_day(current):
            current -= timedelta(days=1)
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many working days `end` is past `start`."""
        if end <= start:
            return 0
        count = 0
        current = start + timedelta(days=1)
        while current <= end:
            if self.is_working_day(current):
                count += 1
            current += timedelta(days=1)
        return count

    def add_working_days(self, start: date, days: int) -> date:
        """The day `days` working days after `start` (start itself not counted)."""
        current = start
        for _ in range(days):
            current = self.next_working_day(current, include=False)
        return current

    def subtract_working_days(self, end: date, days: int) -> date:
        """The day `days` working days before `end` (end itself not counted)."""
        current = end
        for _ in range(days):
            current = self.previous_working_day(current, include=False)
        return current
