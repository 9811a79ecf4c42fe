"""On the demo county (small preset, a year of 600 cases): the dashboard equals the indicator
selector and a hand-written SQL query for the county, a town and a grid."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import override_settings

from gridgov.accounts.choices import Role
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.cases.indicators import case_indicators, period_bounds
from gridgov.dashboard.models import Rollup, RollupState, RollupTotal
from gridgov.dashboard.selectors import dashboard_children, dashboard_heat, dashboard_summary
from gridgov.demo import generator
from gridgov.demo.dashboard import dashboard_delete_all, dashboard_populate
from gridgov.demo.presets import PRESETS
from gridgov.testing.dashboard import raw_summary
from gridgov.testing.factories import make_user_with_role

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STEPS = (*generator.STEPS_WITHOUT_RESIDENTS, generator.step_cases)
# The small preset with a fifth of its year of cases: the same shapes, a quicker test.
PRESET = dataclasses.replace(PRESETS["small"], cases_per_year=600)


@pytest.fixture(scope="module")
def county(django_db_setup: None, django_db_blocker: Any) -> Iterator[Any]:
    """The small preset with its cases and dashboard, generated once; rolled back after the module."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
                generator.generate_county(preset=PRESET, seed=7, steps=STEPS, now=NOW)
            yield dashboard_populate(now=NOW)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_demo_numbers_agree_at_three_levels(county):
    assert county.cases > 500 and county.rollup_rows > 0
    district = Area.objects.get(level=AreaLevel.DISTRICT)
    town = Area.objects.filter(level=AreaLevel.TOWN).order_by("code").first()
    grid = Area.objects.filter(level=AreaLevel.GRID, path__startswith=town.path).order_by("code").first()
    leader = make_user_with_role(Role.LEADER, district)
    today = NOW.date()
    periods = [(today - timedelta(days=29), today), (date(2026, 1, 1), today), (today.replace(day=1), today)]
    for area in (district, town, grid):
        for date_from, date_to in periods:
            mine = dashboard_summary(leader, area, date_from=date_from, date_to=date_to, now=NOW)
            theirs = case_indicators(leader, area_code=area.code, date_from=date_from, date_to=date_to, now=NOW)
            start, end = period_bounds(date_from, date_to)
            raw = raw_summary(area.path, start, end, NOW)
            for name in (
                "intake",
                "due_to_close",
                "closed",
                "closed_on_time",
                "rated",
                "satisfied",
                "overdue_open",
                "reopened",
                "closes",
            ):
                assert getattr(mine, name) == getattr(theirs, name) == raw[name], (area.level, date_from, name)
            assert mine.on_time_rate == theirs.on_time_rate and mine.satisfaction_rate == theirs.satisfaction_rate
            assert mine.tier_outcome == theirs.tier_outcome == {t: raw[f"tier_{t}"] for t in mine.tier_outcome}
    year = dashboard_summary(leader, district, date_from=date(2026, 1, 1), date_to=today, now=NOW)
    assert year.intake > 400 and year.closed > 0 and year.rated > 0
    assert Rollup.objects.filter(area=district).exists()


def test_demo_heat_weights_add_up_to_the_intake_of_the_county_and_a_town(county):
    district = Area.objects.get(level=AreaLevel.DISTRICT)
    town = Area.objects.filter(level=AreaLevel.TOWN).order_by("code").first()
    leader = make_user_with_role(Role.LEADER, district)
    today = NOW.date()
    for area in (district, town):
        for category in (None, "01"):
            period: dict[str, Any] = {"date_from": today - timedelta(days=89), "date_to": today, "category": category}
            heat = dashboard_heat(leader, area, **period)
            intake = dashboard_summary(leader, area, now=NOW, **period).intake
            children = sum(s.intake for _c, s in dashboard_children(leader, area, now=NOW, **period))
            assert heat.source == "rollups" and heat.unlocated == 0
            assert sum(weight for _lat, _lon, weight in heat.points) == intake == children > 0, (area.level, category)
            assert len(heat.points) > 1


def test_the_reset_empties_the_dashboard_tables(county):
    deleted = dashboard_delete_all()
    assert deleted["dashboard_rollups"] > 0 and deleted["dashboard_contributions"] == county.cases
    assert not Rollup.objects.exists() and not RollupTotal.objects.exists() and not RollupState.objects.exists()
