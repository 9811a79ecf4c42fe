"""The demo's weeks of patrols: plausible, consistent with the rules, repeatable, and removable."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import F
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.demo.patrols import patrols_delete_all, patrols_populate
from gridgov.patrols.choices import FindingStatus, PatrolStatus
from gridgov.patrols.models import Patrol, PatrolCheck, PatrolFinding, PatrolVisit
from gridgov.patrols.selectors import weekly_coverage
from gridgov.testing.factories import make_user_with_role
from gridgov.testing.patrols import households_in

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Friday


def seeded(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 — the demo's repeatable generator, not a secret


def snapshot() -> list[tuple]:
    return list(
        Patrol.objects.order_by("worker_id", "started_at").values_list("worker_id", "grid_id", "started_at", "notes")
    )


def test_weeks_of_patrols_for_every_grid_worker(tree, personas):
    households_in(tree.grids[0], 30)
    households_in(tree.grids[1], 30, prefix="2号楼")
    second = make_user_with_role(Role.GRID_WORKER, tree.grids[1])
    # when the demo fills three weeks of patrols
    counts = patrols_populate(now=NOW, rng=seeded(7), weeks=3)
    # then both grid workers patrolled their own grid on most of the 15 working days before today
    assert counts["patrols"] == Patrol.objects.count()
    for worker, grid in ((personas["grid_worker"], tree.grids[0]), (second, tree.grids[1])):
        mine = Patrol.objects.filter(worker=worker)
        assert 8 <= mine.count() <= 15
        assert set(mine.values_list("grid_id", flat=True)) == {grid.pk}
    days = {timezone.localtime(started).date() for started in Patrol.objects.values_list("started_at", flat=True)}
    assert all(day.weekday() < 5 and day < NOW.date() for day in days)
    # and every patrol is finished, with checks, visits of its own grid's households and notes
    assert set(Patrol.objects.values_list("status", flat=True)) == {PatrolStatus.FINISHED}
    assert not Patrol.objects.filter(checks__isnull=True).exists()
    assert not PatrolVisit.objects.exclude(household__grid_id=F("patrol__grid_id")).exists()
    assert not Patrol.objects.filter(notes="").exists()
    # and every finding was settled the same day
    assert not PatrolFinding.objects.exclude(status=FindingStatus.SETTLED).exists()
    assert PatrolCheck.objects.filter(result="problem").count() == PatrolFinding.objects.count()
    # and the coverage page has something to show for the last week
    rows = weekly_coverage(tree.communities[0], week=NOW.date() - timedelta(days=7))
    assert all(0 < row.visited <= row.households == 30 for row in rows)


def test_the_same_seed_gives_the_same_patrols_and_reset_removes_them(tree, personas):
    households_in(tree.grids[0], 10)
    patrols_populate(now=NOW, rng=seeded(3), weeks=2)
    first = snapshot()
    # when everything is deleted and generated again with the same seed
    deleted = patrols_delete_all()
    assert deleted["patrols"] == len(first) and not Patrol.objects.exists() and not PatrolCheck.objects.exists()
    patrols_populate(now=NOW, rng=seeded(3), weeks=2)
    # then the same patrols come back
    assert snapshot() == first
