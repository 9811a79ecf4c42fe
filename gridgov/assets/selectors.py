"""Reads of the public-asset register, contracts, ledger and disclosures.

Staff read through their `view_people` scope (the register names occupants and
parties); out-of-scope and unknown records answer the same 404. A compound's
disclosure is also open to residents whose portal compound it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import AreaScope, scope_for
from gridgov.areas.models import Compound
from gridgov.assets.choices import PERIOD_MONTHS, LedgerDirection, LedgerItem, PaymentPeriod
from gridgov.assets.models import AssetContract, InventoryCampaign, LedgerEntry, PublicAsset, RecoveryTask
from gridgov.portal.models import ResidentPhone

EXPIRY_ALERT_DAYS = 30


def _not_found() -> Http404:
    return Http404(_("记录不存在或无权查看。"))


def asset_scope(user: Any) -> AreaScope:
    return scope_for(user, Capability.VIEW_PEOPLE)


def compounds_visible_to(user: Any) -> QuerySet[Compound]:
    return asset_scope(user).filter(Compound.objects.select_related("grid"), "grid__path")


def compound_get_for_user(user: Any, compound_id: int) -> Compound:
    compound = compounds_visible_to(user).filter(pk=compound_id).first()
    if compound is None:
        raise _not_found()
    return compound


def assets_visible_to(user: Any) -> QuerySet[PublicAsset]:
    return asset_scope(user).filter(PublicAsset.objects.select_related("compound"), "compound__grid__path")


def asset_get_for_user(user: Any, asset_id: int) -> PublicAsset:
    asset = assets_visible_to(user).filter(pk=asset_id).first()
    if asset is None:
        raise _not_found()
    return asset


def campaigns_visible_to(user: Any) -> QuerySet[InventoryCampaign]:
    return asset_scope(user).filter(InventoryCampaign.objects.select_related("area"), "area__path")


def recovery_tasks_visible_to(user: Any) -> QuerySet[RecoveryTask]:
    return asset_scope(user).filter(
        RecoveryTask.objects.select_related("asset__compound"), "asset__compound__grid__path"
    )


def compound_for_disclosure(user: Any, compound_id: int) -> Compound:
    """Staff in scope, or a resident whose portal compound this is (`ResidentPhone.compound`)."""
    compound = Compound.objects.select_related("grid").filter(pk=compound_id).first()
    if compound is None:
        raise _not_found()
    if asset_scope(user).covers(compound.grid.path):
        return compound
    user_id = getattr(user, "pk", None)
    if user_id is not None and ResidentPhone.objects.filter(user_id=user_id, compound=compound).exists():
        return compound
    raise _not_found()


def ledger_of(compound: Compound) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(compound=compound).select_related("asset", "contract", "recorded_by")


# -------------------------------------------------------------- alerts


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def contract_due(contract: AssetContract, today: date) -> Decimal:
    """Rent due up to `today`: each period is due at its start."""
    last = min(today, contract.terminated_on or contract.end_on, contract.end_on)
    if last < contract.start_on:
        return Decimal("0")
    months = PERIOD_MONTHS[PaymentPeriod(contract.period)]
    periods = _months_between(contract.start_on, last) // months + 1
    return contract.rent * periods


def contract_paid(contract: AssetContract) -> Decimal:
    return _cents(
        LedgerEntry.objects.filter(contract=contract, direction=LedgerDirection.INCOME).aggregate(total=Sum("amount"))[
            "total"
        ]
    )


@dataclass(frozen=True)
class ContractAlert:
    contract: AssetContract
    kind: str  # "expiry" | "arrears"
    message: str
    amount: Decimal = Decimal("0")


def contract_alerts(user: Any, today: date) -> list[ContractAlert]:
    """One alert per contract ending within 30 days, and one per contract in arrears."""
    contracts = asset_scope(user).filter(
        AssetContract.objects.filter(
            terminated_on__isnull=True, end_on__gte=today - timedelta(days=365)
        ).select_related("asset__compound"),
        "asset__compound__grid__path",
    )
    alerts: list[ContractAlert] = []
    for contract in contracts:
        if today <= contract.end_on <= today + timedelta(days=EXPIRY_ALERT_DAYS):
            alerts.append(
                ContractAlert(
                    contract,
                    "expiry",
                    _("%(asset)s 与 %(party)s 的合同将于%(end)s到期。")
                    % {"asset": contract.asset.name, "party": contract.party, "end": contract.end_on.isoformat()},
                )
            )
        owed = contract_due(contract, today) - contract_paid(contract)
        if owed > 0:
            alerts.append(
                ContractAlert(
                    contract,
                    "arrears",
                    _("%(party)s 欠缴%(asset)s租金%(owed)s元。")
                    % {"party": contract.party, "asset": contract.asset.name, "owed": owed},
                    owed,
                )
            )
    return alerts


# ---------------------------------------------------------- disclosure


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    if quarter not in (1, 2, 3, 4):
        raise _not_found()
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return start, end - timedelta(days=1)


@dataclass
class DisclosureRow:
    item: str
    label: str
    income: Decimal = Decimal("0.00")
    expense: Decimal = Decimal("0.00")


@dataclass
class Disclosure:
    compound: Compound
    year: int
    quarter: int
    start: date
    end: date
    opening_balance: Decimal
    rows: list[DisclosureRow] = field(default_factory=list)

    @property
    def income(self) -> Decimal:
        return sum((row.income for row in self.rows), Decimal("0.00"))

    @property
    def expense(self) -> Decimal:
        return sum((row.expense for row in self.rows), Decimal("0.00"))

    @property
    def closing_balance(self) -> Decimal:
        return self.opening_balance + self.income - self.expense


def _cents(value: Any) -> Decimal:
    """Sums come back as floats-in-disguise on SQLite: round them to cents."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _net(entries: QuerySet[LedgerEntry]) -> Decimal:
    income = _cents(entries.filter(direction=LedgerDirection.INCOME).aggregate(total=Sum("amount"))["total"])
    expense = _cents(entries.filter(direction=LedgerDirection.EXPENSE).aggregate(total=Sum("amount"))["total"])
    return income - expense


def disclosure(compound: Compound, year: int, quarter: int) -> Disclosure:
    """The quarter's income and expense by item, with the balance carried in and out."""
    start, end = quarter_bounds(year, quarter)
    entries = LedgerEntry.objects.filter(compound=compound)
    result = Disclosure(
        compound=compound,
        year=year,
        quarter=quarter,
        start=start,
        end=end,
        opening_balance=_net(entries.filter(occurred_on__lt=start)),
    )
    totals = (
        entries.filter(occurred_on__gte=start, occurred_on__lte=end)
        .values("item", "direction")
        .annotate(total=Sum("amount"))
    )
    by_item: dict[str, DisclosureRow] = {}
    for row in totals:
        target = by_item.setdefault(row["item"], DisclosureRow(row["item"], str(LedgerItem(row["item"]).label)))
        if row["direction"] == LedgerDirection.INCOME:
            target.income += _cents(row["total"])
        else:
            target.expense += _cents(row["total"])
    order = list(LedgerItem.values)
    result.rows = sorted(by_item.values(), key=lambda item: order.index(item.item))
    return result
