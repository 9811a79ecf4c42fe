"""Reads for cases. So far: the working calendar as configured."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings

from gridgov.cases.calendar import WorkingCalendar, parse_office_hours
from gridgov.cases.models import CalendarOverride


def working_calendar() -> WorkingCalendar:
    """The calendar from `GRIDGOV_OFFICE_HOURS`, the time zone and the override table.

    Build it once per request or sweep; it reads the (small) override table.
    """
    return WorkingCalendar(
        office_hours=parse_office_hours(settings.OFFICE_HOURS),
        timezone=ZoneInfo(settings.TIME_ZONE),
        overrides=dict(CalendarOverride.objects.values_list("day", "is_working_day")),
    )


def calendar_overrides() -> list[CalendarOverride]:
    return list(CalendarOverride.objects.all())
