"""Emergency mode: declaring, the emergency clock, the check list, ending and the report."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.cases.choices import TimeUnit, Urgency
from gridgov.cases.errors import CaseForbidden
from gridgov.cases.models import Category
from gridgov.cases.selectors import sla_policy_for, working_calendar
from gridgov.tasks.choices import EmergencyKind, ResourceKind, TargetStatus, TaskKind, TaskStatus, Vulnerability
from gridgov.tasks.models import Assignment, EmergencyEvent, Target
from gridgov.tasks.selectors import (
    active_emergencies_for,
    assignment_worklist,
    duty_roster,
    emergency_sla_override,
    resources_geojson,
)
from gridgov.tasks.services import (
    EmergencyInput,
    TargetResult,
    duty_shift_add,
    emergency_declare,
    emergency_end,
    resource_add,
    target_record,
)
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import AreaTree, make_user_with_role
from gridgov.testing.tasks import Households, populate_households

pytestmark = pytest.mark.django_db


@pytest.fixture
def homes(tree: AreaTree) -> Households:
    return populate_households(tree)


def declare(actor, area, now=None, key=""):  # type: ignore[no-untyped-def]
    event, _created = emergency_declare(
        actor=actor,
        data=EmergencyInput(kind=EmergencyKind.TYPHOON, title="台风“海葵”", area=area, started_at=now),
        client_key=key,
        now=now,
    )
    return event


def test_override_applies_only_inside_the_area_and_only_while_active(tree: AreaTree, personas: dict) -> None:
    # given a typhoon declared over the first town at t0
    t0 = timezone.now()
    event = declare(personas["town_staff"], tree.towns[0], now=t0)
    inside, outside = tree.grids[0].path, tree.grids[4].path
    # then a grid of the town is on the emergency clock from t0, a grid of the other town never
    assert emergency_sla_override(inside, t0 - timedelta(minutes=1)) is None
    override = emergency_sla_override(inside, t0 + timedelta(hours=1))
    assert override is not None
    assert override.event_id == event.pk
    assert emergency_sla_override(outside, t0 + timedelta(hours=1)) is None
    # when the event ends at t1, new cases after t1 are on the normal clock again
    t1 = t0 + timedelta(hours=6)
    emergency_end(actor=personas["town_staff"], event=event, now=t1)
    assert emergency_sla_override(inside, t1 + timedelta(seconds=1)) is None
    # while a case registered during the event (e.g. imported late) still gets the event's clock
    assert emergency_sla_override(inside, t1 - timedelta(seconds=1)) is not None


def test_override_runs_the_limits_in_natural_hours_shortened(tree: AreaTree, personas: dict) -> None:
    # given the normal policy of 暴露垃圾 counted in working time
    policy = sla_policy_for(Category.objects.get(code="0101"), Urgency.NORMAL)
    declare(personas["county_command"], tree.district)
    override = emergency_sla_override(tree.grids[0].path, timezone.now())
    assert override is not None
    # when it is applied
    emergency = override.apply(policy)
    # then every limit is in natural hours, halved (working days as 24 h), capped at 24 h, and the
    # stored policy is untouched
    assert emergency.unit == TimeUnit.NATURAL_HOUR
    for name in override.LIMIT_FIELDS:
        amount = Decimal(getattr(policy, name))
        natural = amount * (24 if policy.unit == TimeUnit.WORKING_DAY else 1)
        expected = Decimal(0) if amount == 0 else max(min(natural / 2, Decimal(24)), Decimal("0.25"))
        assert Decimal(getattr(emergency, name)) == expected.quantize(Decimal("0.01"))
    policy.refresh_from_db()
    assert policy.unit != TimeUnit.NATURAL_HOUR or policy.pk
    # and a clock built from it runs out no later than the normal one (natural hours over a night)
    start = timezone.now()
    calendar = working_calendar()
    normal_due = calendar.add(start, float(policy.close_limit), policy.unit)
    emergency_due = calendar.add(start, float(emergency.close_limit), emergency.unit)
    assert emergency_due <= normal_due


def test_a_stricter_event_wins_when_two_overlap(tree: AreaTree, personas: dict) -> None:
    declare(personas["county_command"], tree.district)
    emergency_declare(
        actor=personas["town_staff"],
        data=EmergencyInput(kind=EmergencyKind.FLOOD, title="内涝", area=tree.towns[0], sla_factor=Decimal("0.25")),
    )
    override = emergency_sla_override(tree.grids[0].path, timezone.now())
    assert override is not None
    assert override.factor == Decimal("0.25")


def test_declaring_issues_a_check_of_every_household_most_vulnerable_first(
    tree: AreaTree, personas: dict, homes: Households
) -> None:
    # when the town declares a typhoon (twice: a double click)
    first = declare(personas["town_staff"], tree.towns[0], key="k1")
    again = declare(personas["town_staff"], tree.towns[0], key="k1")
    # then one event with one check task over the town's 4 grids, households ordered by vulnerability
    assert first.pk == again.pk
    assert EmergencyEvent.objects.count() == 1
    task = first.check_task
    assert task is not None
    assert (task.kind, task.status, task.assignment_count, task.target_count) == (
        TaskKind.EMERGENCY,
        TaskStatus.ISSUED,
        4,
        12,
    )
    assignment = Assignment.objects.get(task=task, grid=tree.grids[0])
    ranks = [row.vulnerability for row in assignment_worklist(assignment)]
    assert ranks == [Vulnerability.ALONE_ELDERLY, Vulnerability.HARDSHIP, Vulnerability.OTHER]
    # and the grid worker inside sees it pinned, the other town's staff does not
    assert [event.pk for event in active_emergencies_for(personas["grid_worker"])] == [first.pk]
    assert active_emergencies_for(personas["outsider"]) == []
    assert active_emergencies_for(personas["resident"]) == []


def test_only_county_or_town_staff_of_the_area_may_declare(tree: AreaTree, personas: dict) -> None:
    for name in ("grid_worker", "community_staff", "outsider", "admin"):
        with pytest.raises(CaseForbidden):
            declare(personas[name], tree.towns[0])
    with pytest.raises(ValidationError):
        emergency_declare(
            actor=personas["county_command"],
            data=EmergencyInput(kind="meteor", title="x", area=tree.district),
        )
    assert EmergencyEvent.objects.count() == 0


def test_ending_writes_the_report_and_stops_the_pin(tree: AreaTree, personas: dict, homes: Households) -> None:
    # given a typhoon over the first community, two households checked and a case reported during it
    t0 = timezone.now() - timedelta(hours=5)
    town_staff, worker = personas["town_staff"], personas["grid_worker"]
    event = declare(town_staff, tree.communities[0], now=t0)
    targets = list(Target.objects.filter(assignment__task=event.check_task, assignment__grid=tree.grids[0]))
    for target in targets[:2]:
        target_record(actor=worker, target=target, result=TargetResult(status=TargetStatus.DONE), now=t0)
    submit_case(worker, tree.grids[0], now=t0 + timedelta(hours=1))
    submit_case(worker, tree.grids[4], now=t0 + timedelta(hours=1))  # outside the area
    # when the town ends it
    ended = emergency_end(actor=town_staff, event=event, now=t0 + timedelta(hours=4))
    # then the report counts coverage, people, cases of the area and times, and the pin is gone
    report = ended.report
    assert report["households_total"] == 6
    assert report["households_done"] == 2
    assert report["coverage_percent"] == round(2 * 100 / 6, 2)
    assert report["cases_total"] == 1
    assert report["duration_hours"] == 4.0
    assert report["people_checked"] == len([t for t in targets[:2] if t.household and t.household.members.exists()])
    assert active_emergencies_for(worker) == []
    assert ended.check_task is not None
    assert ended.check_task.status == TaskStatus.CLOSED
    # and ending twice changes nothing
    assert emergency_end(actor=town_staff, event=event).ended_at == ended.ended_at


def test_duty_roster_and_resources_stay_in_scope(tree: AreaTree, personas: dict) -> None:
    now = timezone.now()
    staff = personas["town_staff"]
    colleague = make_user_with_role(Role.COMMUNITY_STAFF, tree.communities[0])
    shift = duty_shift_add(
        actor=staff, area=tree.communities[0], user=colleague, starts_at=now, ends_at=now + timedelta(hours=12)
    )
    with pytest.raises(ValidationError):  # overlapping shift of the same person
        duty_shift_add(
            actor=staff, area=tree.communities[0], user=colleague, starts_at=now, ends_at=now + timedelta(hours=1)
        )
    with pytest.raises(CaseForbidden):
        duty_shift_add(
            actor=personas["outsider"],
            area=tree.communities[0],
            user=colleague,
            starts_at=now,
            ends_at=now + timedelta(hours=1),
        )
    assert list(duty_roster(staff, at=now + timedelta(hours=1))) == [shift]
    assert list(duty_roster(personas["outsider"])) == []
    resource_add(
        actor=staff,
        kind=ResourceKind.SHELTER,
        name="第一中学避难点",
        area=tree.towns[0],
        lon=119.91,
        lat=36.19,
        quantity=500,
    )
    assert [f["properties"]["name"] for f in resources_geojson(staff)["features"]] == ["第一中学避难点"]
    assert resources_geojson(personas["outsider"])["features"] == []
