"""The working calendar: Chinese public holidays, 调休 make-up working days,
office hours, and deadlines counted in working hours, working days or natural hours.

Pure computation over a `WorkingCalendar` value; `selectors.working_calendar()`
builds one from settings and the override table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from gridgov.cases.choices import TimeUnit

# A search bound: no real limit spans more working days than this.
_MAX_DAYS_SCANNED = 3660


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days, and the office hours on them.

    `overrides` (date → is working day) win over the built-in calendar; for
    years the built-in calendar does not cover, days without an override fall
    back to Monday–Friday.
    """

    office_hours: tuple[tuple[time, time], ...]
    timezone: ZoneInfo
    overrides: Mapping[date, bool] = field(default_factory=dict)

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5

    def covers_year(self, year: int) -> bool:
        """True when the built-in calendar, or at least one override, speaks for `year`."""
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return any(day.year == year for day in self.overrides)
        return True

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        return [
            (datetime.combine(day, start, self.timezone), datetime.combine(day, end, self.timezone))
            for start, end in self.office_hours
        ]

    def close_of_day(self, day: date) -> datetime:
        return datetime.combine(day, self.office_hours[-1][1], self.timezone)

    def add(self, start: datetime, amount: float, unit: str) -> datetime:
        """The moment a limit of `amount` `unit`s that starts at `start` runs out."""
        if amount < 0:
            raise ValueError("a time limit cannot be negative")
        if unit == TimeUnit.NATURAL_HOUR:
            return start + timedelta(hours=amount)
        local = start.astimezone(self.timezone)
        if unit == TimeUnit.WORKING_HOUR:
            return self._add_working_time(local, timedelta(hours=amount))
        if unit == TimeUnit.WORKING_DAY:
            return self._add_working_days(local, int(amount))
        raise ValueError(f"unknown time unit {unit!r}")

    def _add_working_time(self, start: datetime, remaining: timedelta) -> datetime:
        day = start.date()
        for _ in range(_MAX_DAYS_SCANNED):
            if self.is_working_day(day):
                for opens, closes in self._intervals(day):
                    begin = max(opens, start)
                    if begin >= closes:
                        continue
                    available = closes - begin
                    if remaining <= available:
                        # A limit that ends exactly at closing time is due then, not next morning.
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("time limit beyond the calendar's search range")

    def _add_working_days(self, start: datetime, days: int) -> datetime:
        """Due at the close of the `days`-th working day after the day of `start`.

        The day of receipt does not count, as in 12345 practice ("5个工作日内办结").
        With 0 days the limit is the close of the current (or next) working day.
        """
        day = start.date()
        if days == 0:
            for _ in range(_MAX_DAYS_SCANNED):
                if self.is_working_day(day) and start < self.close_of_day(day):
                    return self.close_of_day(day)
                day += timedelta(days=1)
                start = datetime.combine(day, time.min, self.timezone)
            raise ValueError("time limit beyond the calendar's search range")
        counted = 0
        for _ in range(_MAX_DAYS_SCANNED):
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
                if counted == days:
                    return self.close_of_day(day)
        raise ValueError("time limit beyond the calendar's search range")


def parse_office_hours(text: str) -> tuple[tuple[time, time], ...]:
    """`09:00-12:00,13:30-17:30` → ordered, non-overlapping intervals (ValueError otherwise)."""
    intervals: list[tuple[time, time]] = []
    for part in text.split(","):
        begin_text, sep, end_text = part.strip().partition("-")
        if not sep:
            raise ValueError(f"office hours must look like 09:00-12:00, got {part!r}")
        begin, end = time.fromisoformat(begin_text.strip()), time.fromisoformat(end_text.strip())
        if begin >= end or (intervals and begin < intervals[-1][1]):
            raise ValueError(f"office hours must be ordered and not overlap: {text!r}")
        intervals.append((begin, end))
    if not intervals:
        raise ValueError("no office hours given")
    return tuple(intervals)
