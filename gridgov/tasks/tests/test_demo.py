"""The demo's tasks, emergency and resources on the small preset's tree, users and a few households per
grid (the preset's residents step alone takes half a minute)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count, Q, Sum
from django.test import override_settings

from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.demo import generator
from gridgov.demo.tasks import tasks_delete_all, tasks_populate
from gridgov.registry.models import Household
from gridgov.registry.services import HouseholdSpec, households_bulk_create
from gridgov.tasks.choices import TaskStatus
from gridgov.tasks.models import Assignment, EmergencyEvent, EmergencyResource, Target, Task
from gridgov.tasks.selectors import active_emergencies_for, emergency_sla_override

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

pytestmark = pytest.mark.django_db


def test_demo_has_a_county_gas_check_with_progress_an_ended_typhoon_and_resources() -> None:
    # given the small demo county (areas, housing, users)
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        generator.generate_county(preset="small", seed=7, steps=generator.STEPS_WITHOUT_RESIDENTS, now=NOW)
    households_bulk_create(
        actor=None,
        specs=[
            HouseholdSpec(grid=grid, address=f"{grid.name}{number}号", room=str(number))
            for grid in Area.objects.filter(level=AreaLevel.GRID)
            for number in range(1, 6)
        ],
    )
    # when the tasks step runs
    counts = tasks_populate(now=NOW, rng=random.Random(7))  # noqa: S311 (demo data)
    # then the gas check covers every grid and every current household, with partial progress
    gas = Task.objects.get(title="全县燃气安全入户排查")
    assert gas.status == TaskStatus.ISSUED
    assert gas.target_count == Household.objects.filter(moved_out_on__isnull=True).count() > 0
    sums = Assignment.objects.filter(task=gas).aggregate(total=Sum("total_targets"), recorded=Sum("recorded_targets"))
    direct = Target.objects.filter(assignment__task=gas).aggregate(
        total=Count("id"), recorded=Count("id", filter=~Q(status="pending"))
    )
    assert sums == direct
    assert 0 < direct["recorded"] < direct["total"]
    # and the typhoon is over, with a report, and no longer shifts the clock
    typhoon = EmergencyEvent.objects.get()
    assert typhoon.ended_at is not None
    assert typhoon.report["households_total"] > 0
    assert typhoon.report["coverage_percent"] > 50
    assert emergency_sla_override(typhoon.area_path + "001/001/", NOW) is None
    assert active_emergencies_for(typhoon.declared_by, now=NOW - timedelta(days=20)) == [typhoon]
    assert counts["emergency_resources"] == EmergencyResource.objects.count() > 0
    # and everything can be deleted again
    tasks_delete_all()
    assert not Task.objects.exists() and not EmergencyEvent.objects.exists()
