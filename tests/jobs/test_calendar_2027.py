"""The working-day calendar for a year chinesecalendar does not know yet: 2027 (issue #12)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from cli.main import main
from jobs.policy import SweepPolicy
from jobs.sweep import sweep
from ledger.clock import FakeClock
from ledger.models import Outbox
from ledger.notices import render_notice
from ledger.workdays import WorkCalendar, import_calendar, provisional_notice
from tests.factories import build_ledger

ZONE = ZoneInfo("Asia/Shanghai")
# the State Council's 2027 schedule as holiday-cn publishes it (an excerpt; 调休 on a Saturday)
HOLIDAY_CN_2027 = {
    "year": 2027,
    "papers": [],
    "days": [
        {"name": "元旦", "date": "2027-01-01", "isOffDay": True},
        {"name": "春节", "date": "2027-02-06", "isOffDay": True},
        {"name": "春节", "date": "2027-02-11", "isOffDay": True},
        {"name": "春节", "date": "2027-02-20", "isOffDay": False},
    ],
}


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(UTC)


def test_2027_holidays_are_provisional_statutory_days():
    calendar = WorkCalendar()
    assert not calendar.is_working_day(date(2027, 1, 1))  # 元旦, a Friday
    assert not calendar.is_working_day(date(2027, 2, 8))  # 春节, a Monday
    assert not calendar.is_working_day(date(2027, 10, 1))
    assert calendar.is_working_day(date(2027, 1, 4))
    assert calendar.provisional(2027) and not calendar.provisional(2026)
    assert calendar.source(date(2027, 1, 1)) == "provisional"


def test_the_demo_ledgers_due_notice_skips_new_years_day():
    calendar = WorkCalendar()
    assert calendar.previous_working_day(date(2027, 1, 3)) == date(2026, 12, 31)


def test_holiday_cn_json_overrides_the_provisional_days(tmp_path):
    source = tmp_path / "2027.json"
    source.write_text(json.dumps(HOLIDAY_CN_2027, ensure_ascii=False), encoding="utf-8")
    target = tmp_path / "calendar.toml"
    target.write_text('holidays = ["2026-12-31"]\nworkdays = []\n', encoding="utf-8")
    result = import_calendar(source, target)
    assert (result.years, result.holidays, result.workdays) == ([2027], 3, 1)
    calendar = WorkCalendar.from_file(target)
    assert calendar.is_working_day(date(2027, 2, 20))  # the 调休 Saturday
    assert not calendar.is_working_day(date(2027, 2, 11))
    assert not calendar.is_working_day(date(2026, 12, 31))  # what the file had is kept
    assert not calendar.provisional(2027) and calendar.day_name(date(2027, 2, 20)) == "春节"


@pytest.fixture
def cli(monkeypatch, tmp_path, database_url):
    monkeypatch.setenv("LEDGERBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("LEDGERBOT_CALENDAR_FILE", str(tmp_path / "calendar.toml"))

    def run(*argv, now=datetime(2026, 11, 2, 1, 0, tzinfo=UTC)):
        return main(list(argv), clock=FakeClock(now))

    return run


def test_calendar_show_and_import_on_the_command_line(cli, tmp_path, capsys):
    assert cli("calendar", "show", "2027") == 0
    out = capsys.readouterr().out
    assert out.startswith("2027年：推定")
    assert "2027-01-01 周五 放假 元旦  [推定" in out
    source = tmp_path / "2027.json"
    source.write_text(json.dumps(HOLIDAY_CN_2027, ensure_ascii=False), encoding="utf-8")
    assert cli("calendar", "import", str(source)) == 0
    assert "3 个放假日、1 个调休上班日（2027年）" in capsys.readouterr().out
    assert cli("calendar", "show", "2027") == 0
    out = capsys.readouterr().out
    assert "按日历文件" in out and "2027-02-20 周六 调休上班 春节  [日历文件]" in out
    assert cli("calendar", "show", "2026") == 0
    assert "2026-10-10 周六 调休上班" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"year": 2027, "days": [{"date": "2027-01-01"}]}', encoding="utf-8")
    assert cli("calendar", "import", str(bad)) == 2
    assert "不是 holiday-cn 格式" in capsys.readouterr().err


def test_calendar_import_reads_the_toml_form_too(cli, tmp_path, capsys):
    source = tmp_path / "official.toml"
    source.write_text('holidays = ["2027-01-01"]\nworkdays = ["2027-02-20"]\n', encoding="utf-8")
    assert cli("calendar", "import", str(source)) == 0
    assert cli("calendar", "show", "2027") == 0
    assert "2027-02-20 周六 调休上班" in capsys.readouterr().out


def test_sweep_prints_one_line_from_november_while_next_year_is_provisional(cli, tmp_path, capsys):
    assert cli("sweep", "--dry-run", "--at", "2026-10-30T09:00+08:00") == 0
    assert "推定" not in capsys.readouterr().out
    assert cli("sweep", "--dry-run", "--at", "2026-11-02T09:00+08:00") == 0
    out = capsys.readouterr().out
    assert out.count("2027年的工作日历仍为推定") == 1
    source = tmp_path / "2027.json"
    source.write_text(json.dumps(HOLIDAY_CN_2027), encoding="utf-8")
    assert cli("calendar", "import", str(source)) == 0
    assert cli("sweep", "--dry-run", "--at", "2026-11-03T09:00+08:00") == 0
    assert "推定" not in capsys.readouterr().out


def test_weekly_digest_tells_admins_once_a_week(session, settings, tmp_path):
    build_ledger(session, settings, at(date(2026, 11, 2)), tmp_path, today=date(2026, 11, 2))
    policy = SweepPolicy.from_settings(settings, WorkCalendar())
    assert provisional_notice(date(2026, 10, 31), policy.calendar) is None
    sweep(session=session, now=at(date(2026, 11, 2)), policy=policy)  # Monday
    session.commit()
    digests = session.exec(select(Outbox).where(Outbox.kind == "weekly_digest")).all()
    texts = {
        row.recipient_id: render_notice(row.kind, row.text_key, row.params, "zh").text
        for row in digests
    }
    from ledger.models import Official

    people = {o.id: o for o in session.exec(select(Official))}
    admin_text = next(t for rid, t in texts.items() if people[rid].role == "admin")
    others = [t for rid, t in texts.items() if people[rid].role != "admin"]
    assert "【日历】2027年的工作日历仍为推定" in admin_text
    assert others and not any("【日历】" in t for t in others)
    sweep(session=session, now=at(date(2026, 11, 3)), policy=policy)  # same week: no second
    session.commit()
    assert len(session.exec(select(Outbox).where(Outbox.kind == "weekly_digest")).all()) == len(
        digests
    )
