"""The SLA switch end to end: new cases in an emergency's area run on the emergency clock.

Needs the two-line hook in `gridgov.cases.services.lifecycle.case_submit` (see docs/tasks.md,
"Wiring"): without it these tests fail, which is the point.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridgov.cases.choices import TimeUnit
from gridgov.cases.models import CaseStep
from gridgov.cases.services import case_accept
from gridgov.tasks.choices import EmergencyKind
from gridgov.tasks.services import EmergencyInput, emergency_declare, emergency_end
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db

# A Friday evening: a working-time clock would wait for Monday morning.
FRIDAY_EVENING = datetime(2026, 11, 20, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_new_cases_in_the_area_use_the_emergency_clock_only_while_it_is_active(tree: AreaTree, personas: dict) -> None:
    worker, town_staff = personas["grid_worker"], personas["town_staff"]
    # given the normal clock: a case on Friday evening is not due before Monday
    normal = submit_case(worker, tree.grids[0], now=FRIDAY_EVENING - timedelta(days=7), key="n")
    assert normal.sla_unit != TimeUnit.NATURAL_HOUR
    # when the town declares a typhoon
    event, _created = emergency_declare(
        actor=town_staff,
        data=EmergencyInput(kind=EmergencyKind.TYPHOON, title="台风", area=tree.towns[0], started_at=FRIDAY_EVENING),
        now=FRIDAY_EVENING,
    )
    # then a new case inside the town runs in natural hours and is due the same night
    inside = submit_case(worker, tree.grids[0], now=FRIDAY_EVENING + timedelta(minutes=5), key="i")
    assert inside.sla_unit == TimeUnit.NATURAL_HOUR
    assert inside.due_at is not None and inside.due_at < FRIDAY_EVENING + timedelta(hours=12)
    assert CaseStep.objects.get(case=inside, seq=1).detail["emergency"] == event.pk
    # while a case in the other town keeps the normal clock
    outside_worker = personas["county_command"]
    outside = submit_case(outside_worker, tree.grids[4], now=FRIDAY_EVENING + timedelta(minutes=5), key="o")
    assert outside.sla_unit == normal.sla_unit
    # and after the end, new cases inside are back on the normal clock
    emergency_end(actor=town_staff, event=event, now=FRIDAY_EVENING + timedelta(hours=2))
    after = submit_case(worker, tree.grids[0], now=FRIDAY_EVENING + timedelta(hours=3), key="a")
    assert after.sla_unit == normal.sla_unit
    assert "emergency" not in CaseStep.objects.get(case=after, seq=1).detail


def test_a_case_submitted_during_the_emergency_keeps_its_clock_after_the_event_ends(
    tree: AreaTree, personas: dict
) -> None:
    worker, town_staff = personas["grid_worker"], personas["town_staff"]
    # given a typhoon over the town and a case reported during it
    event, _created = emergency_declare(
        actor=town_staff,
        data=EmergencyInput(kind=EmergencyKind.TYPHOON, title="台风", area=tree.towns[0], started_at=FRIDAY_EVENING),
        now=FRIDAY_EVENING,
    )
    case = submit_case(worker, tree.grids[0], now=FRIDAY_EVENING + timedelta(minutes=5), key="during")
    # when the event ends and the worker accepts the case afterwards, on Friday night
    emergency_end(actor=town_staff, event=event, now=FRIDAY_EVENING + timedelta(hours=1))
    case_accept(actor=worker, case=case, now=FRIDAY_EVENING + timedelta(hours=2))
    case.refresh_from_db()
    # then its handling clock still runs in natural hours: due the same weekend, not on a working day
    assert case.sla_unit == TimeUnit.NATURAL_HOUR
    assert case.due_at is not None and case.due_at < FRIDAY_EVENING + timedelta(hours=30)
