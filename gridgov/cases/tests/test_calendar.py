from __future__ import annotations

from datetime import date, datetime, time
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gridgov.accounts.models import AuditEvent
from gridgov.cases.calendar import WorkingCalendar, parse_office_hours
from gridgov.cases.choices import TimeUnit
from gridgov.cases.selectors import working_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOURS = parse_office_hours("09:00-12:00,13:30-17:30")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def calendar(overrides: dict[date, bool] | None = None) -> WorkingCalendar:
    return WorkingCalendar(office_hours=HOURS, timezone=SHANGHAI, overrides=overrides or {})


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # 2024 Spring Festival: 10–17 Feb off; Sun 4 Feb and Sun 18 Feb are 调休 working days
        (date(2024, 2, 4), True),
        (date(2024, 2, 12), False),
        (date(2024, 2, 18), True),
        # 2024 National Day: 1–7 Oct off; Sun 29 Sep and Sat 12 Oct are working days
        (date(2024, 9, 29), True),
        (date(2024, 10, 7), False),
        (date(2024, 10, 12), True),
        # 2025 Spring Festival: 28 Jan – 4 Feb off; Sun 26 Jan and Sat 8 Feb are working days
        (date(2025, 1, 26), True),
        (date(2025, 1, 28), False),
        (date(2025, 2, 4), False),
        (date(2025, 2, 8), True),
        # 2025 National Day and Mid-Autumn: 1–8 Oct off; Sun 28 Sep and Sat 11 Oct are working days
        (date(2025, 9, 28), True),
        (date(2025, 10, 8), False),
        (date(2025, 10, 11), True),
        # an ordinary weekend and weekday
        (date(2025, 3, 15), False),
        (date(2025, 3, 17), True),
    ],
)
def test_holidays_and_make_up_working_days(day: date, working: bool) -> None:
    assert calendar().is_working_day(day) is working


def test_a_limit_due_friday_17_00_moves_past_a_friday_holiday() -> None:
    # given 13.5 working hours from Thursday 3 April 2025 09:00 (Thu 7 h, Fri 09:00–12:00 + 13:30–17:00)
    start = at(2025, 4, 3, 9)
    # when Friday is an ordinary working day (an override), the limit ends Friday 17:00
    assert calendar({date(2025, 4, 4): True}).add(start, 13.5, TimeUnit.WORKING_HOUR) == at(2025, 4, 4, 17)
    # but Friday 4 April is 清明节, so it ends Monday 7 April 17:00
    assert calendar().add(start, 13.5, TimeUnit.WORKING_HOUR) == at(2025, 4, 7, 17)


def test_working_days_skip_the_national_day_week_and_count_the_make_up_sunday() -> None:
    # received Thursday 25 Sep 2025: Fri 26, Sun 28 (调休), Mon 29, Tue 30, then 1–8 Oct off, Thu 9 Oct
    assert calendar().add(at(2025, 9, 25, 10), 5, TimeUnit.WORKING_DAY) == at(2025, 10, 9, 17, 30)


def test_working_hours_started_outside_office_hours_begin_at_the_next_opening() -> None:
    # Saturday 5 April 2025 (holiday weekend) 10:00 + 1 working hour → Monday 7 April 10:00
    assert calendar().add(at(2025, 4, 5, 10), 1, TimeUnit.WORKING_HOUR) == at(2025, 4, 7, 10)
    # lunch break: 11:30 + 1 h → 14:00
    assert calendar().add(at(2025, 4, 7, 11, 30), 1, TimeUnit.WORKING_HOUR) == at(2025, 4, 7, 14)
    # a limit ending exactly at closing time is due then
    assert calendar().add(at(2025, 4, 7, 16, 30), 1, TimeUnit.WORKING_HOUR) == at(2025, 4, 7, 17, 30)


def test_urgent_cases_count_natural_hours_through_holidays() -> None:
    assert calendar().add(at(2025, 10, 1, 10), 2, TimeUnit.NATURAL_HOUR) == at(2025, 10, 1, 12)


def test_zero_working_days_means_close_of_the_current_or_next_working_day() -> None:
    assert calendar().add(at(2025, 4, 3, 10), 0, TimeUnit.WORKING_DAY) == at(2025, 4, 3, 17, 30)
    assert calendar().add(at(2025, 4, 3, 18), 0, TimeUnit.WORKING_DAY) == at(2025, 4, 7, 17, 30)


def test_years_the_built_in_calendar_does_not_know_use_overrides_then_weekdays() -> None:
    # 2027 is beyond the package's data: Monday–Friday unless an override says otherwise
    plain = calendar()
    assert plain.covers_year(2025) and not plain.covers_year(2027)
    assert plain.is_working_day(date(2027, 2, 8)) is True
    assert plain.is_working_day(date(2027, 2, 6)) is False
    entered = calendar({date(2027, 2, 8): False, date(2027, 2, 20): True})
    assert entered.covers_year(2027)
    assert entered.is_working_day(date(2027, 2, 8)) is False
    assert entered.is_working_day(date(2027, 2, 20)) is True


@pytest.mark.parametrize("text", ["", "9-12", "13:30-12:00", "09:00-12:00,11:00-17:00"])
def test_bad_office_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_office_hours(text)


def test_negative_limits_and_unknown_units_are_refused() -> None:
    with pytest.raises(ValueError):
        calendar().add(at(2025, 4, 3, 9), -1, TimeUnit.WORKING_HOUR)
    with pytest.raises(ValueError):
        calendar().add(at(2025, 4, 3, 9), 1, "fortnight")


@pytest.mark.django_db
def test_overrides_entered_by_command_shape_the_configured_calendar() -> None:
    # given an administrator declares Monday 8 Feb 2027 a holiday (春节) and Saturday 20 Feb a working day
    out = StringIO()
    call_command("calendar_override", "2027-02-08", "holiday", "--note", "春节", stdout=out)
    call_command("calendar_override", "2027-02-20", "workday", stdout=out)
    assert "休息日" in out.getvalue()
    # then the configured calendar follows them, with office hours from settings
    configured = working_calendar()
    assert configured.is_working_day(date(2027, 2, 8)) is False
    assert configured.is_working_day(date(2027, 2, 20)) is True
    assert configured.office_hours[0] == (time(9, 0), time(12, 0))
    assert AuditEvent.objects.filter(action="calendar_override_set").count() == 2
    # and clearing one restores the weekday rule
    call_command("calendar_override", "2027-02-08", "clear", stdout=out)
    assert working_calendar().is_working_day(date(2027, 2, 8)) is True
    with pytest.raises(CommandError, match="没有调整记录"):
        call_command("calendar_override", "2027-02-08", "clear")
    with pytest.raises(CommandError, match="格式不正确"):
        call_command("calendar_override", "2027-13-01", "holiday")
