"""The demo's credits and assets step: a plausible ledger that keeps the invariants, and a clean reset."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Sum

from gridgov.assets.models import AssetContract, LedgerEntry, PublicAsset
from gridgov.assets.selectors import disclosure
from gridgov.council.models import Decision
from gridgov.credits.choices import POSTED_STATUSES, EntryKind
from gridgov.credits.models import CreditEntry, HouseholdAccount, RedemptionItem
from gridgov.credits.selectors import balance_of
from gridgov.demo.credits import assets_populate, credits_demo_delete_all, credits_populate
from gridgov.demo.party import party_delete_all
from gridgov.testing.credits import make_household

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.django_db
def test_demo_credits_and_assets_keep_their_invariants_and_reset_cleanly(tree, personas):
    # Given households in the grid worker's grid and the sample resident account
    households = [make_household(tree.grids[0], compound=tree.compounds[0], room=f"{n:03d}") for n in range(12)]
    # and a passed decision of the compound's council a year ago (the party step runs before this one)
    decision = _decision_a_year_ago(tree.compounds[0])
    # When the demo step runs
    counts = credits_populate(now=NOW, rng=random.Random(3), households=10)  # noqa: S311
    asset_counts = assets_populate(now=NOW, rng=random.Random(3), share=1.0)  # noqa: S311
    # Then entries exist, each deduction was approved by someone other than its recorder
    assert counts["credit_entries"] > 10 and RedemptionItem.objects.exists()
    for entry in CreditEntry.objects.filter(kind=EntryKind.DEDUCTION):
        assert entry.approved_by_id != entry.recorded_by_id
    # every reversal cancels exactly its entry, and balances are the sums of counting entries
    for reversal in CreditEntry.objects.filter(kind=EntryKind.REVERSAL).select_related("reverses"):
        assert reversal.points == -reversal.reverses.points
    for household in households:
        total = (
            CreditEntry.objects.filter(household=household, status__in=POSTED_STATUSES).aggregate(t=Sum("points"))["t"]
            or 0
        )
        assert balance_of(household) == total
    assert HouseholdAccount.objects.filter(user=personas["resident"]).exists()
    # and the assets of the compound have contracts and a ledger whose disclosure adds up
    assert asset_counts["public_assets"] == PublicAsset.objects.count() > 0
    assert AssetContract.objects.exists() and LedgerEntry.objects.exists()
    report = disclosure(tree.compounds[0], 2026, 3)
    in_q3 = LedgerEntry.objects.filter(compound=tree.compounds[0], occurred_on__range=(report.start, report.end))
    assert report.income == sum((e.amount for e in in_q3 if e.direction == "income"), 0)
    # and some spending rests on the compound's council decision
    assert LedgerEntry.objects.filter(decision=decision, direction="expense").exists()
    # When the demo is reset, the ledgers are emptied despite the append-only guard,
    # and then the council decisions can go (the ledger pointed at them)
    credits_demo_delete_all()
    assert not CreditEntry.objects.exists() and not LedgerEntry.objects.exists() and not PublicAsset.objects.exists()
    party_delete_all()
    assert not Decision.objects.exists()


def _decision_a_year_ago(compound):
    from datetime import timedelta

    from gridgov.council.choices import AgendaSource, AttendeeCategory, MeetingKind
    from gridgov.council.services import (
        agenda_item_add,
        attendance_record,
        attendee_add,
        decision_record,
        meeting_create,
    )

    held = NOW - timedelta(days=400)
    meeting = meeting_create(
        actor=None,
        kind=MeetingKind.SUNSHINE,
        compound=compound,
        title="公共收益使用",
        starts_at=held,
        place="议事亭",
        convener_name="周书记",
    )
    person = attendee_add(actor=None, meeting=meeting, category=AttendeeCategory.RESIDENT_REP, name="代表")
    attendance_record(actor=None, meeting=meeting, present_ids={person.pk})
    item = agenda_item_add(actor=None, meeting=meeting, source=AgendaSource.STAFF, title="公共区域维修")
    return decision_record(
        actor=None, agenda_item=item, text="同意", votes_for=1, votes_against=0, votes_abstain=0, now=held
    )
