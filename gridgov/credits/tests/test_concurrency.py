"""20 residents' clerks redeem the last item for households at once: exactly one succeeds,
no balance goes negative (PostgreSQL only: SQLite serialises every write anyway)."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from gridgov.cases.errors import CaseConflict
from gridgov.credits.choices import EntryKind, EntryStatus
from gridgov.credits.models import CreditEntry, RedemptionItem
from gridgov.credits.selectors import balance_of
from gridgov.credits.services import credit_redeem
from gridgov.testing.credits import make_household

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are a PostgreSQL matter")


def _grant(household, worker, points):
    CreditEntry.objects.create(
        household=household,
        kind=EntryKind.AWARD,
        points=points,
        year=timezone.localdate().year,
        occurred_on=timezone.localdate(),
        recorded_by=worker,
        recorded_at=timezone.now(),
        status=EntryStatus.APPROVED,
    )


def _race(calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait()
            call()
            result = "ok"
        except (ValidationError, CaseConflict):
            result = "refused"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_twenty_concurrent_redemptions_of_the_last_item(transactional_db, tree, personas):
    # Given 20 households with 10 points each, and one item in stock costing 10
    worker = personas["grid_worker"]
    households = [make_household(tree.grids[0], room=f"{index + 1:03d}") for index in range(20)]
    for household in households:
        _grant(household, worker, 10)
    item = RedemptionItem.objects.create(area=tree.district, name="米面油套餐", points_cost=10, stock=1)
    # When all of them redeem it at once
    outcomes = _race(
        [lambda h=household: credit_redeem(actor=worker, household=h, item=item) for household in households]
    )
    # Then exactly one succeeds, the stock is zero and no balance is negative
    assert outcomes.count("ok") == 1
    item.refresh_from_db()
    assert item.stock == 0
    assert sorted(balance_of(household) for household in households) == [0] + [10] * 19


def test_twenty_concurrent_redemptions_by_one_household_never_go_negative(transactional_db, tree, personas):
    # Given one household with 10 points and plenty of an item costing 10
    worker = personas["grid_worker"]
    household = make_household(tree.grids[0])
    _grant(household, worker, 10)
    item = RedemptionItem.objects.create(area=tree.district, name="洗衣液", points_cost=10, stock=50)
    # When 20 redemptions race
    outcomes = _race([lambda: credit_redeem(actor=worker, household=household, item=item) for _ in range(20)])
    # Then one succeeds and the balance is zero, equal to the sum of the counting entries
    assert outcomes.count("ok") == 1
    assert balance_of(household) == 0
    item.refresh_from_db()
    assert item.stock == 49
