"""China's official working-day calendar (holidays and 调休), with a fallback beyond known years.

Where each day comes from, in order: the admin's calendar file (the State Council's schedule,
loaded with `ledgerbot calendar import`), then `chinesecalendar` (official, 2004 to the year
of its release), then for later years the `holidays` package's China calendar, marked
provisional (推定): it knows the statutory holidays but not the 调休 working weekends.
"""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import chinese_calendar
import holidays as holiday_tables

log = logging.getLogger(__name__)

SOURCE_FILE = "file"
SOURCE_OFFICIAL = "chinesecalendar"
SOURCE_PROVISIONAL = "provisional"


@lru_cache(maxsize=64)
def official_year(year: int) -> bool:
    """Whether `chinesecalendar` has the State Council's schedule for this year."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=64)
def provisional_holidays(year: int) -> dict[date, str]:
    """Statutory holidays by the `holidays` package (Chinese names), for unpublished years."""
    return dict(holiday_tables.China(years=year, language="zh_CN").items())


@dataclass
class WorkCalendar:
    """Working days from the admin file, `chinesecalendar`, or provisional holidays.

    A year nobody knows yet never crashes a sweep: it is Monday–Friday minus the provisional
    statutory holidays, with one warning per year.
    """

    extra_holidays: set[date] = field(default_factory=set)
    extra_workdays: set[date] = field(default_factory=set)
    names: dict[date, str] = field(default_factory=dict)
    path: Path | None = None

    def __post_init__(self) -> None:
        self._warned_years: set[int] = set()
        self.is_working_day = lru_cache(maxsize=4096)(self._is_working_day)

    @classmethod
    def from_file(cls, path: Path | None) -> WorkCalendar:
        """Read `holidays = [...]`, `workdays = [...]` (ISO dates) and `[names]` from TOML."""
        if path is None or not path.is_file():
            return cls(path=path)
        holidays, workdays, names = read_toml(path)
        return cls(extra_holidays=holidays, extra_workdays=workdays, names=names, path=path)

    def file_years(self) -> set[int]:
        return {d.year for d in self.extra_holidays | self.extra_workdays}

    def provisional(self, year: int) -> bool:
        """A year whose schedule is only the holidays package's guess (推定)."""
        return not official_year(year) and year not in self.file_years()

    def source(self, day: date) -> str:
        if day in self.extra_workdays or day in self.extra_holidays:
            return SOURCE_FILE
        return SOURCE_OFFICIAL if official_year(day.year) else SOURCE_PROVISIONAL

    def _is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        if official_year(day.year):
            return bool(chinese_calendar.is_workday(day))
        if day.year not in self._warned_years and day.year not in self.file_years():
            self._warned_years.add(day.year)
            log.warning(
                "calendar_year_provisional year=%s source=holidays-package; import the State "
                "Council's schedule with `ledgerbot calendar import` or upgrade chinesecalendar",
                day.year,
            )
        if day in provisional_holidays(day.year):
            return False
        return day.weekday() < 5

    def day_name(self, day: date) -> str:
        if day in self.names:
            return self.names[day]
        if official_year(day.year):
            _on, name = chinese_calendar.get_holiday_detail(day)
            return _OFFICIAL_NAMES.get(str(name), str(name or "")) if name else ""
        return provisional_holidays(day.year).get(day, "")

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


_OFFICIAL_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def provisional_notice(today: date, calendar: WorkCalendar) -> str | None:
    """From 1 November, a line saying next year's working days are still provisional."""
    year = today.year + 1
    if today.month < 11 or not calendar.provisional(year):
        return None
    return (
        f"{year}年的工作日历仍为推定（放假按法定节日推算，调休上班日未知）；国务院通知发布后，"
        f"请用 `ledgerbot calendar import 文件` 导入（holiday-cn 的 JSON 或 calendar.toml）"
    )


def read_toml(path: Path) -> tuple[set[date], set[date], dict[date, str]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        holidays = {date.fromisoformat(str(d)) for d in data.get("holidays", [])}
        workdays = {date.fromisoformat(str(d)) for d in data.get("workdays", [])}
        names = {date.fromisoformat(str(k)): str(v) for k, v in data.get("names", {}).items()}
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    return holidays, workdays, names


def read_holiday_cn(path: Path) -> tuple[set[date], set[date], dict[date, str]]:
    """NateScarlet/holiday-cn: {"year": 2027, "days": [{"name", "date", "isOffDay"}]}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        holidays: set[date] = set()
        workdays: set[date] = set()
        names: dict[date, str] = {}
        for entry in data["days"]:
            day = date.fromisoformat(str(entry["date"]))
            if not isinstance(entry["isOffDay"], bool):
                raise ValueError(f"{entry['date']}: isOffDay must be true or false")
            (holidays if entry["isOffDay"] else workdays).add(day)
            if entry.get("name"):
                names[day] = str(entry["name"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f'{path.name}: 不是 holiday-cn 格式（{{"year", "days": [{{"name", "date", '
            f'"isOffDay"}}]}}）：{exc}'
        ) from None
    return holidays, workdays, names


@dataclass(frozen=True)
class CalendarImport:
    years: list[int]
    holidays: int
    workdays: int


def import_calendar(source: Path, target: Path) -> CalendarImport:
    """Merge a schedule into the calendar file; the imported years replace what it had for them."""
    if not source.is_file():
        raise ValueError(f"找不到文件 {source}")
    reader = read_holiday_cn if source.suffix.lower() == ".json" else read_toml
    holidays, workdays, names = reader(source)
    if not holidays and not workdays:
        raise ValueError(f"{source.name}: 没有任何日期")
    clash = holidays & workdays
    if clash:
        raise ValueError(f"{source.name}: {min(clash)} 既是放假日又是上班日")
    years = sorted({d.year for d in holidays | workdays})
    old_h, old_w, old_n = read_toml(target) if target.is_file() else (set(), set(), {})
    keep = {d for d in old_h | old_w | set(old_n) if d.year not in years}
    merged_h = {d for d in old_h if d in keep} | holidays
    merged_w = {d for d in old_w if d in keep} | workdays
    merged_n = {d: n for d, n in old_n.items() if d in keep} | names
    lines = [
        "# Working-day calendar: the State Council's schedule (放假日 and 调休上班日).",
        "# Written by `ledgerbot calendar import`; days here override chinesecalendar.",
        "holidays = [" + ", ".join(f'"{d.isoformat()}"' for d in sorted(merged_h)) + "]",
        "workdays = [" + ", ".join(f'"{d.isoformat()}"' for d in sorted(merged_w)) + "]",
        "",
        "[names]",
        *(
            f'"{d.isoformat()}" = {json.dumps(n, ensure_ascii=False)}'
            for d, n in sorted(merged_n.items())
        ),
        "",
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(target.suffix + ".tmp")
    temporary.write_text("\n".join(lines), encoding="utf-8")
    temporary.replace(target)
    return CalendarImport(years=years, holidays=len(holidays), workdays=len(workdays))


SOURCE_LABELS = {
    SOURCE_FILE: "日历文件",
    SOURCE_OFFICIAL: "chinesecalendar（官方）",
    SOURCE_PROVISIONAL: "推定（holidays 包，法定节日）",
}


def show_year(year: int, path: Path | None) -> list[str]:
    """Each day of the year that is not an ordinary weekday/weekend, with where it came from."""
    calendar = WorkCalendar.from_file(path)
    if year in calendar.file_years():
        head = f"{year}年：按日历文件 {path}（{SOURCE_LABELS[SOURCE_FILE]}）"
    elif official_year(year):
        head = f"{year}年：按国务院通知（chinesecalendar）"
    else:
        head = (
            f"{year}年：推定（chinesecalendar 尚无{year}年；放假按 holidays 包的法定节日，"
            "调休上班日未知）"
        )
    lines = [head]
    day = date(year, 1, 1)
    while day.year == year:
        working = calendar.is_working_day(day)
        if working != (day.weekday() < 5):
            kind = "调休上班" if working else "放假"
            name = calendar.day_name(day)
            weekday = "一二三四五六日"[day.weekday()]
            lines.append(
                f"  {day.isoformat()} 周{weekday} {kind} {name}  [{SOURCE_LABELS[calendar.source(day)]}]"
            )
        day += timedelta(days=1)
    if len(lines) == 1:
        lines.append("  （没有节假日或调休）")
    return lines
