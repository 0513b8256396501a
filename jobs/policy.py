"""The reminder policy as pure functions of a day: which stage a task has reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from config import PolicySettings, Settings
from ledger.clock import as_utc
from ledger.workdays import WorkCalendar


@dataclass(frozen=True)
class SweepPolicy:
    """Everything a sweep decides by: the settings' policy, the zone and the calendar."""

    rules: PolicySettings
    zone: ZoneInfo
    calendar: WorkCalendar

    @classmethod
    def from_settings(cls, settings: Settings, calendar: WorkCalendar | None = None) -> SweepPolicy:
        return cls(
            rules=settings.policy,
            zone=settings.zone,
            calendar=calendar or WorkCalendar.from_file(settings.calendar_file),
        )

    def local_day(self, instant: datetime) -> date:
        return as_utc(instant).astimezone(self.zone).date()

    def send_instant(self, day: date) -> datetime:
        local = datetime.combine(day, self.rules.send_time, tzinfo=self.zone)
        return as_utc(local)

    def last_scheduled_instant(self, now: datetime) -> datetime:
        """The most recent working day's send time at or before `now`."""
        day = self.local_day(now)
        if self.send_instant(day) > as_utc(now):
            day -= timedelta(days=1)
        day = self.calendar.previous_working_day(day)
        return self.send_instant(day)


def effective_days_left(deadline: date, today: date, calendar: WorkCalendar) -> int:
    """Days left, but 0 when no working day remains before the deadline (e.g. due on a Sunday):
    today is then the last chance to be told "due today"."""
    days = (deadline - today).days
    if days > 0 and calendar.next_working_day(today, include=False) > deadline:
        return 0
    return days


def before_stage(days_left: int, thresholds: list[int]) -> int | None:
    """The most urgent reminder stage reached: the smallest threshold >= days_left."""
    reached = [t for t in thresholds if t >= days_left]
    return min(reached) if reached else None
