"""Early warnings: a spike against the grid's own baseline, repeats at one address, cases about to breach."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridgov.cases.models import Category
from gridgov.dashboard.alerts import alerts_scan
from gridgov.dashboard.models import Alert, Rollup
from gridgov.dashboard.rollups import rollups_refresh
from gridgov.notices.models import Notice
from gridgov.testing.cases import submit_case

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
WEDNESDAY_10 = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)


def test_a_burst_at_one_address_fires_a_spike_and_a_repeat_once_with_reasons(tree, personas):
    worker, community = personas["grid_worker"], personas["community_staff"]
    # Given four reports of garbage at the east gate of a quiet grid this morning
    for minutes in (0, 20, 40, 60):
        submit_case(worker, tree.grids[0], now=WEDNESDAY_10 - timedelta(hours=2, minutes=minutes), address="东门外")
    rollups_refresh(now=WEDNESDAY_10)
    # When the worker looks for alerts
    assert alerts_scan(now=WEDNESDAY_10, force=True) >= 2
    # Then a spike and a repeat fire, each saying why, and reach the grid worker and the community
    spike = Alert.objects.get(kind=Alert.Kind.SPIKE)
    assert spike.area == tree.grids[0] and spike.category == Category.objects.get(code="0101")
    assert "4件" in spike.reason and "泊松" in spike.reason and spike.detail["p"] < 0.001
    repeat = Alert.objects.get(kind=Alert.Kind.REPEATED)
    assert "东门外" in repeat.reason and "4件" in repeat.reason
    for alert in (spike, repeat):
        recipients = set(Notice.objects.filter(body=alert.reason).values_list("recipient_id", flat=True))
        assert recipients == {worker.pk, community.pk}
    # And a second scan fires nothing new
    assert (
        alerts_scan(now=WEDNESDAY_10 + timedelta(minutes=10), force=True)
        == Alert.objects.filter(kind=Alert.Kind.DUE_SOON, fired_at__gt=WEDNESDAY_10).count()
    )
    assert Alert.objects.filter(kind__in=[Alert.Kind.SPIKE, Alert.Kind.REPEATED]).count() == 2


def test_a_busy_grid_at_its_usual_level_is_no_spike(tree, personas):
    # Given a grid whose rollups show three cases a day for four weeks
    category = Category.objects.get(code="0101")
    for days in range(1, 29):
        day = (WEDNESDAY_10 - timedelta(days=days)).date()
        Rollup.objects.create(area=tree.grids[1], day=day, category=category, intake=3)
    # When three come in today
    for minutes in (0, 20, 40):
        submit_case(
            personas["county_command"],
            tree.grids[1],
            now=WEDNESDAY_10 - timedelta(hours=3, minutes=minutes),
            address=f"{minutes}号",
        )
    rollups_refresh(now=WEDNESDAY_10)
    alerts_scan(now=WEDNESDAY_10, force=True)
    # Then nothing fires for it
    assert not Alert.objects.filter(kind=Alert.Kind.SPIKE).exists()


def test_a_case_due_within_the_hour_warns_whoever_may_take_it(tree, personas):
    # Given a report made 20 minutes ago whose first response is due within the hour
    case = submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10 - timedelta(minutes=20))
    assert case.due_at is not None and WEDNESDAY_10 < case.due_at < WEDNESDAY_10 + timedelta(hours=1)
    alerts_scan(now=WEDNESDAY_10, force=True)
    alert = Alert.objects.get(kind=Alert.Kind.DUE_SOON)
    assert alert.case == case and case.number in alert.reason and "40分钟" in alert.reason
    assert Notice.objects.filter(body=alert.reason, recipient=personas["grid_worker"]).exists()


def test_the_scan_runs_at_most_every_five_minutes(tree, personas):
    submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10 - timedelta(minutes=20))
    alerts_scan(now=WEDNESDAY_10 - timedelta(minutes=30))
    assert alerts_scan(now=WEDNESDAY_10) == 1
    Alert.objects.all().delete()
    assert alerts_scan(now=WEDNESDAY_10 + timedelta(minutes=1)) == 0
