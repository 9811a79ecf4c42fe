"""A year of 美德信用积分 and 两房两共 public assets for the demo county.

`credits_populate` books, for a sample of households, a year of approved awards
and deductions (each deduction approved by a second person), a few appeals
(upheld or reversed by a reversal entry), ranking opt-ins, a redemption catalogue
per district and some redemptions. `assets_populate` registers public assets with
contracts for a share of compounds, with a year of monthly income and some
expenses. Both write with `bulk_create`, so the small preset stays quick; the
ledger stays append-only (inserts only).

`credits_demo_delete_all` empties both; `demo_reset` must call it before the
registry, areas and users are deleted (the ledgers point at them, PROTECT).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Compound
from gridgov.assets.choices import INCOME_ITEMS, AssetKind, AssetStatus, LedgerDirection, PaymentPeriod
from gridgov.assets.models import AssetContract, LedgerEntry, PublicAsset
from gridgov.assets.services import assets_delete_all
from gridgov.council.models import Decision
from gridgov.credits.choices import EntryKind, EntryStatus
from gridgov.credits.models import CreditEntry, CreditRule, HouseholdAccount, RankingOptIn, RedemptionItem
from gridgov.credits.services import credits_delete_all
from gridgov.registry.models import Household

HOUSEHOLDS = 400  # sampled households with credit entries
ENTRIES_PER_HOUSEHOLD = (2, 9)
OPT_IN_SHARE = 0.6
APPEAL_SHARE = 0.15  # of deductions
COMPOUND_SHARE = 0.25
MAX_COMPOUNDS = 40

CATALOGUE = [("洗衣液一瓶", 10, 200), ("米面油套餐", 30, 80), ("家电清洗服务一次", 25, 40), ("理发券", 8, 300)]
NOTES = {
    "DOG": ["网格员巡查发现", "居民反映，现场核实", "小区监控截图核实"],
    "GAR": ["桶边督导记录", "垃圾分类积分箱记录"],
    "VOL": ["参加周末环境整治志愿活动", "疫苗接种点引导志愿服务", "敬老院慰问志愿服务"],
    "NEI": ["帮助独居老人购买生活用品", "调解楼上楼下漏水纠纷", "照看邻居孩子放学"],
    "COU": ["参加小区停车议事会", "参加加装电梯议事协商"],
}
ASSETS = [
    (AssetKind.SERVICE_ROOM, "物业服务用房", "1号楼一层", Decimal("120.00"), "物业办公"),
    (AssetKind.COMMUNITY_ROOM, "社区用房", "会所二层", Decimal("260.00"), "居民活动室"),
    (AssetKind.SHARED_FACILITY, "地面停车位", "小区东侧", None, "临时停车收费"),
    (AssetKind.COMMON_PART, "电梯轿厢广告位", "各单元电梯", None, "电梯广告"),
]


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10, 0)))


def _staff_by_grid() -> tuple[dict[int, int], dict[int, int]]:
    """Grid id → a grid worker's user id; grid id → a community staff user id (the second pair of eyes)."""
    workers: dict[int, int] = {}
    for user_id, area_id in RoleAssignment.objects.filter(role=Role.GRID_WORKER).values_list("user_id", "area_id"):
        workers.setdefault(area_id, user_id)
    community_staff: dict[int, int] = {}
    for user_id, area_id in RoleAssignment.objects.filter(role=Role.COMMUNITY_STAFF).values_list("user_id", "area_id"):
        community_staff.setdefault(area_id, user_id)
    reviewers: dict[int, int] = {}
    for grid_id, parent_id in Area.objects.filter(level=AreaLevel.GRID).values_list("id", "parent_id"):
        if parent_id in community_staff:
            reviewers[grid_id] = community_staff[parent_id]
    return workers, reviewers


@transaction.atomic
def credits_populate(*, now: datetime, rng: random.Random, households: int = HOUSEHOLDS) -> dict[str, int]:
    today = timezone.localdate(now)
    start = today - timedelta(days=365)
    workers, reviewers = _staff_by_grid()
    rules = list(CreditRule.objects.filter(area=None, active=True).order_by("code"))
    ids = list(
        Household.objects.filter(grid_id__in=[grid for grid in workers if grid in reviewers]).values_list(
            "id", "grid_id"
        )
    )
    if not rules or not ids:
        return {"credit_entries": 0}
    sample = rng.sample(ids, min(households, len(ids)))
    grid_of = dict(sample)
    entries: list[CreditEntry] = []
    appeals: list[tuple[int, bool]] = []
    for household_id, grid_id in sample:
        recorder, reviewer = workers[grid_id], reviewers[grid_id]
        for _ in range(rng.randint(*ENTRIES_PER_HOUSEHOLD)):
            rule = rng.choice(rules)
            points = rng.randint(rule.points_min, rule.points_max)
            day = start + timedelta(days=rng.randrange(365))
            entry = CreditEntry(
                household_id=household_id,
                rule=rule,
                kind=EntryKind.DEDUCTION if points < 0 else EntryKind.AWARD,
                points=points,
                year=day.year,
                occurred_on=day,
                note=rng.choice(NOTES[rule.code[:3]]),
                recorded_by_id=recorder,
                recorded_at=_aware(day),
                status=EntryStatus.APPROVED,
                approved_by_id=reviewer if points < 0 else recorder,
                approved_at=_aware(day) + timedelta(hours=3),
            )
            if points < 0 and rng.random() < APPEAL_SHARE:
                entry.status = EntryStatus.APPEALED
                entry.appeal_reason = "当时情况有误会，请核实"
                entry.appealed_at = _aware(day) + timedelta(days=1)
                appeals.append((len(entries), rng.random() < 0.5))
            entries.append(entry)
    CreditEntry.objects.bulk_create(entries, batch_size=2_000)
    reversals: list[CreditEntry] = []
    for index, reverse in appeals:
        entry = entries[index]
        decider = reviewers[grid_of[entry.household_id]]
        decided = _aware(entry.occurred_on) + timedelta(days=3)
        if decided.date() > today:
            continue  # still open
        CreditEntry.objects.filter(pk=entry.pk).update(
            status=EntryStatus.REVERSED if reverse else EntryStatus.UPHELD,
            decided_by_id=decider,
            decided_at=decided,
            decision_note="经核实撤销扣分" if reverse else "经核实维持原记录",
        )
        if reverse:
            reversals.append(
                CreditEntry(
                    household_id=entry.household_id,
                    rule=entry.rule,
                    kind=EntryKind.REVERSAL,
                    points=-entry.points,
                    year=entry.year,
                    occurred_on=decided.date(),
                    note="冲正：经核实撤销扣分",
                    recorded_by_id=decider,
                    recorded_at=decided,
                    reverses_id=entry.pk,
                    status=EntryStatus.APPROVED,
                    approved_by_id=decider,
                    approved_at=decided,
                )
            )
    CreditEntry.objects.bulk_create(reversals, batch_size=2_000)
    RankingOptIn.objects.bulk_create(
        [
            RankingOptIn(household_id=household_id, opted_in_at=now)
            for household_id, _ in sample
            if rng.random() < OPT_IN_SHARE
        ],
        ignore_conflicts=True,
    )
    items = []
    for district in Area.objects.filter(level=AreaLevel.DISTRICT):
        for name, cost, stock in CATALOGUE:
            items.append(RedemptionItem.objects.create(area=district, name=name, points_cost=cost, stock=stock))
    redemptions = _redemptions(sample, items, workers, rng, today)
    linked = _link_sample_resident(workers, now)
    return {
        "linked_resident_accounts": linked,
        "credit_entries": len(entries) + len(reversals) + redemptions,
        "credit_appeals": len(appeals),
        "redemption_items": len(items),
        "redemptions": redemptions,
    }


def _link_sample_resident(workers: dict[int, int], now: datetime) -> int:
    """Link the demo's sample resident account ("resident") to a household of its grid, so
    /credits/mine/ shows something."""
    assignment = RoleAssignment.objects.filter(user__username="resident", role=Role.RESIDENT).first()
    if assignment is None:
        return 0
    household = (
        Household.objects.filter(grid_id=assignment.area_id, credit_entries__isnull=False).first()
        or Household.objects.filter(grid_id=assignment.area_id).first()
    )
    if household is None or assignment.area_id not in workers:
        return 0
    HouseholdAccount.objects.update_or_create(
        user_id=assignment.user_id,
        defaults={"household": household, "linked_by_id": workers[assignment.area_id], "linked_at": now},
    )
    return 1


def _redemptions(
    sample: list[tuple[int, int]], items: list[RedemptionItem], workers: dict[int, int], rng: random.Random, today: date
) -> int:
    """Spend points of some households whose balance allows it (balance never negative)."""
    from gridgov.credits.selectors import balance_of

    if not items:
        return 0
    count = 0
    for household_id, grid_id in rng.sample(sample, min(40, len(sample))):
        household = Household(pk=household_id)
        item = rng.choice(items)
        if balance_of(household) < item.points_cost or item.stock < 1:
            continue
        day = today - timedelta(days=rng.randrange(60))
        CreditEntry.objects.create(
            household_id=household_id,
            kind=EntryKind.REDEMPTION,
            points=-item.points_cost,
            year=day.year,
            occurred_on=day,
            note=f"兑换：{item.name} × 1",
            recorded_by_id=workers[grid_id],
            recorded_at=_aware(day),
            redemption_item=item,
            status=EntryStatus.APPROVED,
            approved_by_id=workers[grid_id],
            approved_at=_aware(day),
        )
        item.stock -= 1
        RedemptionItem.objects.filter(pk=item.pk).update(stock=item.stock)
        count += 1
    return count


@transaction.atomic
def assets_populate(*, now: datetime, rng: random.Random, share: float = COMPOUND_SHARE) -> dict[str, int]:
    today = timezone.localdate(now)
    workers, _reviewers = _staff_by_grid()
    compounds = list(Compound.objects.filter(grid_id__in=list(workers)).order_by("id"))
    chosen = rng.sample(compounds, min(MAX_COMPOUNDS, int(len(compounds) * share) or min(1, len(compounds))))
    # Compounds whose council decided something keep a ledger too, so spending can rest on a decision.
    decisions = _passed_decisions_by_compound([compound.pk for compound in compounds], today)
    chosen += [compound for compound in compounds if compound.pk in decisions and compound not in chosen]
    assets: list[PublicAsset] = []
    for compound in chosen:
        for kind, name, location, area, use in rng.sample(ASSETS, rng.randint(2, len(ASSETS))):
            assets.append(
                PublicAsset(
                    compound=compound,
                    kind=kind,
                    name=name,
                    location=location,
                    floor_area=area,
                    current_use=use,
                    status=AssetStatus.IN_USE,
                    created_by_id=workers[compound.grid_id],
                )
            )
    PublicAsset.objects.bulk_create(assets)
    contracts: list[AssetContract] = []
    for asset in assets:
        if asset.kind in (AssetKind.SHARED_FACILITY, AssetKind.COMMON_PART) or rng.random() < 0.3:
            begin = today.replace(day=1) - timedelta(days=rng.randrange(200, 400))
            begin = begin.replace(day=1)
            contracts.append(
                AssetContract(
                    asset=asset,
                    party=rng.choice(["某传媒广告有限公司", "某停车管理公司", "某便民超市", "某快递驿站"]),
                    start_on=begin,
                    end_on=begin + timedelta(days=rng.choice([365, 730]) + rng.randrange(-20, 40)),
                    rent=Decimal(rng.choice([300, 500, 800, 1200, 1500])),
                    period=PaymentPeriod.MONTHLY,
                    created_by_id=asset.created_by_id,
                )
            )
    AssetContract.objects.bulk_create(contracts)
    entries: list[LedgerEntry] = []
    item_of: dict[str, str] = {AssetKind.SHARED_FACILITY: "parking", AssetKind.COMMON_PART: "advertising"}
    for contract in contracts:
        month = contract.start_on
        while month <= min(today, contract.end_on):
            if rng.random() > 0.08:  # a few missed payments show as arrears
                entries.append(
                    LedgerEntry(
                        compound_id=contract.asset.compound_id,
                        direction=LedgerDirection.INCOME,
                        item=item_of.get(contract.asset.kind, "rent"),
                        amount=contract.rent,
                        occurred_on=month + timedelta(days=rng.randrange(0, 10)),
                        asset=contract.asset,
                        contract=contract,
                        description=f"{contract.party} {month:%Y年%m月}费用",
                        recorded_by_id=contract.created_by_id,
                        recorded_at=_aware(month),
                    )
                )
            month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    for compound in chosen:
        # One piece of work the council decided, paid from the compound's income after the meeting.
        for decided in decisions.get(compound.pk, [])[:1]:
            entries.append(
                LedgerEntry(
                    compound=compound,
                    direction=LedgerDirection.EXPENSE,
                    item="repair",
                    amount=Decimal(rng.randrange(300, 2000)),
                    occurred_on=min(today, timezone.localdate(decided.decided_at) + timedelta(days=rng.randint(1, 5))),
                    description=f"{decided.agenda_item.title}（按议事决议实施）"[:200],
                    decision=decided,
                    recorded_by_id=workers[compound.grid_id],
                    recorded_at=_aware(today),
                )
            )
        for _ in range(rng.randint(2, 6)):
            day = today - timedelta(days=rng.randrange(365))
            item = rng.choice(["repair", "service", "other_expense"])
            # Spending after a decision of the compound's council rests on it; older spending
            # keeps an old ledger's free-text note now and then.
            earlier = [d for d in decisions.get(compound.pk, []) if timezone.localdate(d.decided_at) <= day]
            decision = rng.choice(earlier) if earlier and rng.random() < 0.7 else None
            entries.append(
                LedgerEntry(
                    compound=compound,
                    direction=LedgerDirection.INCOME if item in INCOME_ITEMS else LedgerDirection.EXPENSE,
                    item=item,
                    amount=Decimal(rng.randrange(200, 3000)),
                    occurred_on=day,
                    description=rng.choice(["更换楼道灯具", "绿化补植", "公共区域保洁", "门禁维修"]),
                    decision=decision,
                    decision_reference="" if decision or rng.random() < 0.6 else "居民议事会决定",
                    recorded_by_id=workers[compound.grid_id],
                    recorded_at=_aware(day),
                )
            )
    entries = [entry for entry in entries if entry.occurred_on <= today]
    LedgerEntry.objects.bulk_create(entries, batch_size=2_000)
    return {"public_assets": len(assets), "asset_contracts": len(contracts), "asset_ledger_entries": len(entries)}


def _passed_decisions_by_compound(compound_ids: list[int], today: date) -> dict[int, list[Decision]]:
    """Passed council decisions per compound (the party step runs before this one)."""
    by_compound: dict[int, list[Decision]] = {}
    rows = (
        Decision.objects.filter(agenda_item__meeting__compound_id__in=compound_ids)
        .select_related("agenda_item__meeting")
        .order_by("decided_at", "id")
    )
    for decision in rows:
        if decision.passed and timezone.localdate(decision.decided_at) <= today:
            by_compound.setdefault(decision.agenda_item.meeting.compound_id, []).append(decision)
    return by_compound


def credits_demo_delete_all() -> dict[str, Any]:
    """Empty the credit ledger and the asset tables (for `demo_reset`, before the registry and areas)."""
    assets_delete_all()
    return {"credit_entries": credits_delete_all()}
