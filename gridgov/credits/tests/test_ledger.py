"""The credit ledger through its services: append-only, four eyes, caps, closed years,
appeals, redemptions, rankings and case proposals."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from gridgov.cases.models import Category
from gridgov.credits.choices import EntryKind, EntryStatus
from gridgov.credits.errors import CreditConflict, CreditForbidden
from gridgov.credits.models import CreditEntry, RankingOptIn, RedemptionItem
from gridgov.credits.selectors import (
    balance_of,
    closed_cases_to_propose,
    ranking,
    rules_for_area,
)
from gridgov.credits.services import (
    credit_appeal,
    credit_approve,
    credit_decide_appeal,
    credit_record,
    credit_redeem,
    credit_reverse,
    credit_year_close,
    rule_override,
)
from gridgov.testing.cases import submit_case
from gridgov.testing.credits import head_of, make_household, make_linked_resident
from gridgov.testing.images import jpeg_upload

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = NOW.date()


@pytest.fixture
def household(tree):
    return make_household(tree.grids[0], compound=tree.compounds[0])


def _award(actor, household, points=3, code="VOL-01", **kwargs):
    kwargs.setdefault("evidence", [jpeg_upload()])
    kwargs.setdefault("occurred_on", TODAY)
    return credit_record(actor=actor, household=household, rule_code=code, points=points, now=NOW, **kwargs)


def _approved_award(personas, household, points=3):
    entry = _award(personas["grid_worker"], household, points)
    return credit_approve(actor=personas["grid_worker"], entry=entry, now=NOW)


def test_pending_entry_does_not_count_until_approved(personas, household):
    # Given a volunteering award recorded with a photo
    entry = _award(personas["grid_worker"], household, 4)
    # Then it is pending and the balance is still zero
    assert entry.status == EntryStatus.PENDING and entry.evidence.name
    assert balance_of(household) == 0
    # When it is approved, it counts
    credit_approve(actor=personas["grid_worker"], entry=entry, now=NOW)
    assert balance_of(household) == 4


def test_points_outside_rule_range_and_missing_evidence_are_refused(personas, household):
    # Given the rule VOL-01 allows 2..5 points and needs a photo
    # When points outside the range or no photo are given, nothing is written
    with pytest.raises(ValidationError, match="之间"):
        _award(personas["grid_worker"], household, 9)
    with pytest.raises(ValidationError, match="照片"):
        _award(personas["grid_worker"], household, 3, evidence=[])
    assert not CreditEntry.objects.exists()


def test_deduction_needs_a_second_person(personas, household):
    # Given a deduction for walking a dog without a leash, recorded by the grid worker
    entry = _award(personas["grid_worker"], household, -3, code="DOG-01")
    # When the same person approves it, it is refused and does not count
    with pytest.raises(CreditForbidden):
        credit_approve(actor=personas["grid_worker"], entry=entry, now=NOW)
    assert balance_of(household) == 0
    # When a different person approves it, it counts
    credit_approve(actor=personas["community_staff"], entry=entry, now=NOW)
    assert balance_of(household) == -3


def test_ledger_rows_cannot_be_edited_or_deleted(personas, household):
    # Given an approved entry
    entry = _approved_award(personas, household, 3)
    # When someone tries to change its points or delete it, by any ORM path, the database refuses
    with pytest.raises(DatabaseError), transaction.atomic():
        CreditEntry.objects.filter(pk=entry.pk).update(points=5)
    with pytest.raises(DatabaseError), transaction.atomic():
        entry.points = 5
        entry.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        CreditEntry.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.points == 3


def test_correction_is_a_reversal_entry_and_balance_matches_the_sum(personas, household):
    # Given two approved awards
    first = _approved_award(personas, household, 3)
    _approved_award(personas, household, 2)
    # When the first is corrected and a second person approves the reversal
    reversal = credit_reverse(actor=personas["community_staff"], entry=first, note="重复记录", now=NOW)
    credit_approve(actor=personas["grid_worker"], entry=reversal, now=NOW)
    # Then a new entry negates it, the original is unchanged, and the balance is the sum of what counts
    first.refresh_from_db()
    reversal.refresh_from_db()
    assert reversal.kind == EntryKind.REVERSAL and reversal.points == -3 and reversal.reverses_id == first.pk
    assert first.points == 3 and first.status == EntryStatus.REVERSED
    assert balance_of(household) == 2
    with pytest.raises(CreditConflict):
        credit_reverse(actor=personas["community_staff"], entry=first, note="再次", now=NOW)


def test_yearly_cap_is_enforced(personas, tree, household):
    # Given a town override of VOL-01 with a yearly cap of 6 points
    rule_override(
        actor=personas["town_staff"],
        area=tree.towns[0],
        code="VOL-01",
        name="志愿服务（本镇）",
        category="volunteer",
        points_min=2,
        points_max=5,
        evidence_required=False,
        yearly_cap=6,
    )
    assert next(rule for rule in rules_for_area(household.grid) if rule.code == "VOL-01").yearly_cap == 6
    _award(personas["grid_worker"], household, 5, evidence=[])
    # When another 2 points would pass the cap, they are refused
    with pytest.raises(ValidationError, match="不超过6分"):
        _award(personas["grid_worker"], household, 2, evidence=[])
    # And the previous year has its own cap
    _award(personas["grid_worker"], household, 2, evidence=[], occurred_on=date(2025, 12, 1))


def test_closed_year_refuses_entries(personas, tree, household):
    # Given 2025 is settled for the county
    credit_year_close(actor=personas["county_command"], county=tree.district, year=2025, now=NOW)
    # When an entry dated 2025 is recorded, it is refused; 2026 is still open
    with pytest.raises(CreditConflict, match="已结算"):
        _award(personas["grid_worker"], household, 3, occurred_on=date(2025, 12, 30))
    assert _award(personas["grid_worker"], household, 3).year == 2026
    # And the current year cannot be closed yet
    with pytest.raises(ValidationError):
        credit_year_close(actor=personas["county_command"], county=tree.district, year=2026, now=NOW)


def test_resident_appeals_own_entry_and_reversal_cancels_it(personas, tree, household):
    # Given an approved deduction and the household's linked resident, and another household
    entry = _award(personas["grid_worker"], household, -3, code="DOG-01")
    credit_approve(actor=personas["community_staff"], entry=entry, now=NOW)
    resident = make_linked_resident(household)
    other = make_household(tree.grids[0], compound=tree.compounds[0], head="李明", room="102")
    stranger = make_linked_resident(other, username="stranger")
    # When a stranger appeals it, it is refused
    with pytest.raises(CreditForbidden):
        credit_appeal(actor=stranger, entry=entry, reason="不是我家的狗狗", now=NOW)
    with pytest.raises(ValidationError):
        credit_appeal(actor=resident, entry=entry, reason="不", now=NOW)
    # When the household's resident appeals and staff reverse it
    credit_appeal(actor=resident, entry=entry, reason="当时狗绳在手上，照片角度问题", now=NOW)
    decided = credit_decide_appeal(
        actor=personas["community_staff"], entry=entry, reverse=True, note="核实后撤销", now=NOW
    )
    # Then the deduction is cancelled by a reversal entry
    assert decided.status == EntryStatus.REVERSED
    assert balance_of(household) == 0
    assert CreditEntry.objects.filter(household=household).count() == 2


def test_redemption_spends_points_and_never_goes_negative(personas, tree, household):
    # Given 5 points and an item costing 4 with one in stock
    _approved_award(personas, household, 5)
    item = RedemptionItem.objects.create(area=tree.communities[0], name="洗衣液", points_cost=4, stock=1)
    # When redeemed once, the balance is 1 and the stock 0
    credit_redeem(actor=personas["grid_worker"], household=household, item=item, now=NOW)
    item.refresh_from_db()
    assert balance_of(household) == 1 and item.stock == 0
    # When redeemed again (above the balance), nothing is written
    item.stock = 5
    item.save()
    with pytest.raises(ValidationError, match="积分不足"):
        credit_redeem(actor=personas["grid_worker"], household=household, item=item, now=NOW)
    item.refresh_from_db()
    assert balance_of(household) == 1 and item.stock == 5


def test_rankings_show_only_opted_in_households_masked(personas, tree, household):
    # Given two households with points, only the first opted in
    other = make_household(tree.grids[0], compound=tree.compounds[0], head="李秀英", room="102")
    _approved_award(personas, household, 3)
    _approved_award(personas, other, 5)
    RankingOptIn.objects.create(household=household, opted_in_at=NOW)
    # When the compound's ranking is read
    rows = ranking(year=2026, compound=tree.compounds[0])
    # Then only the opted-in household appears, with a masked name
    assert [(row.household_id, row.name_masked, row.points) for row in rows] == [(household.pk, "张**", 3)]
    assert head_of(household).name not in str(rows)


def test_closed_case_in_mapped_category_is_listed_for_a_proposal(personas, tree, household):
    # Given a closed dog case (0603 is mapped to DOG-01) in the worker's grid
    from gridgov.cases.models import Case

    dog = Category.objects.get(code="0603")
    case = submit_case(personas["grid_worker"], tree.grids[0], now=NOW, category=dog)
    Case.objects.filter(pk=case.pk).update(status="closed", closed_at=NOW, close_reason="fixed")
    # Then it is listed for the grid worker, not for the outsider
    assert list(closed_cases_to_propose(personas["grid_worker"])) == [case]
    assert not closed_cases_to_propose(personas["outsider"]).exists()
    # When a pending entry is proposed from it, it is no longer listed
    _award(personas["grid_worker"], household, -2, code="DOG-01", source_case=case)
    assert not closed_cases_to_propose(personas["grid_worker"]).exists()


def test_out_of_scope_staff_cannot_record(personas, household):
    with pytest.raises(CreditForbidden):
        _award(personas["outsider"], household, 3)


def test_reversal_by_one_person_changes_nothing_until_a_second_person_approves(personas, household):
    # Given an approved 5-point award
    award = _approved_award(personas, household, 5)
    staff, worker = personas["community_staff"], personas["grid_worker"]
    # When community staff reverse it
    reversal = credit_reverse(actor=staff, entry=award, note="志愿活动未实际参加", now=NOW)
    # Then the reversal is pending, the award still counts and the balance is unchanged
    award.refresh_from_db()
    assert reversal.status == EntryStatus.PENDING and reversal.points == -5
    assert award.status == EntryStatus.APPROVED and balance_of(household) == 5
    # And a second reversal of the same entry is refused while the first waits
    with pytest.raises(CreditConflict, match="待审核"):
        credit_reverse(actor=worker, entry=award, note="再冲一次", now=NOW)
    # When the same person tries to approve their own reversal, it is refused and nothing changes
    with pytest.raises(CreditForbidden, match="另一名工作人员"):
        credit_approve(actor=staff, entry=reversal, now=NOW)
    assert balance_of(household) == 5
    # When a different person approves it, the award is reversed and the balance drops
    credit_approve(actor=worker, entry=reversal, now=NOW)
    award.refresh_from_db()
    assert award.status == EntryStatus.REVERSED and balance_of(household) == 0


def test_rejected_reversal_leaves_the_entry_in_force_and_room_for_another(personas, household):
    # Given an approved award and a reversal of it rejected by a second person
    award = _approved_award(personas, household, 4)
    staff, worker = personas["community_staff"], personas["grid_worker"]
    first = credit_reverse(actor=staff, entry=award, note="录错了", now=NOW)
    credit_approve(actor=worker, entry=first, approve=False, now=NOW)
    award.refresh_from_db()
    # Then the award still counts
    assert award.status == EntryStatus.APPROVED and balance_of(household) == 4
    # When it is reversed again (with a better reason) and approved by another person, it is cancelled
    second = credit_reverse(actor=staff, entry=award, note="同一活动重复记分", now=NOW)
    credit_approve(actor=worker, entry=second, now=NOW)
    assert balance_of(household) == 0
    assert list(award.reversals.values_list("status", flat=True).order_by("id")) == [
        EntryStatus.REJECTED,
        EntryStatus.APPROVED,
    ]


def test_reversal_of_a_deduction_raises_the_balance_once_approved(personas, household):
    # Given an approved deduction (four eyes)
    deduction = _award(personas["grid_worker"], household, -3, code="DOG-01")
    credit_approve(actor=personas["community_staff"], entry=deduction, now=NOW)
    # When the recorder reverses it, it still waits for approval like any entry
    reversal = credit_reverse(actor=personas["grid_worker"], entry=deduction, note="认错了人家", now=NOW)
    assert reversal.points == 3 and balance_of(household) == -3
    # A reversal that raises the balance is like an award: its recorder may approve it
    credit_approve(actor=personas["grid_worker"], entry=reversal, now=NOW)
    assert balance_of(household) == 0
