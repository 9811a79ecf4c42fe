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

from django.db.models import F, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import AreaScope, scope_for
from gridgov.areas.models import Compound
from gridgov.assets.choices import PERIOD_MONTHS, ContractAlertKind, LedgerDirection, LedgerItem, PaymentPeriod
from gridgov.assets.models import AssetContract, InventoryCampaign, LedgerEntry, PublicAsset, RecoveryTask
from gridgov.council.models import Decision
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
    return LedgerEntry.objects.filter(compound=compound).select_related(
        "asset", "contract", "recorded_by", "decision__agenda_item__meeting"
    )


def decisions_for_ledger(user: Any, compound: Compound) -> QuerySet[Decision]:
    """Passed decisions of the compound's council meetings the user may see: what spending can link to."""
    return (
        scope_for(user, Capability.VIEW_AREAS)
        .filter(
            Decision.objects.filter(agenda_item__meeting__compound=compound, votes_for__gt=F("votes_against")),
            "agenda_item__meeting__area__path",
        )
        .select_related("agenda_item__meeting")
        .order_by("-decided_at", "-id")
    )


def decision_label(entry: LedgerEntry) -> str:
    """What a booking rests on: the linked decision as 《议题》决议（日期）, or an old ledger's own text."""
    if entry.decision is not None:
        return _("《%(title)s》决议（%(day)s）") % {
            "title": entry.decision.agenda_item.title,
            "day": timezone.localdate(entry.decision.decided_at).isoformat(),
        }
    return entry.decision_reference


# -------------------------------------------------------------- alerts


def _months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (30 Nov → 1 Dec is 0, 30 Nov → 30 Dec is 1)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if end.day < start.day else months


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


def _latest_period_start(contract: AssetContract, today: date) -> date:
    """The first day of the month in which the latest period due by `today` started."""
    months = PERIOD_MONTHS[PaymentPeriod(contract.period)]
    last = min(today, contract.end_on)
    index = max(0, _months_between(contract.start_on, last) // months) * months
    month0 = contract.start_on.month - 1 + index
    return date(contract.start_on.year + month0 // 12, month0 % 12 + 1, 1)


@dataclass(frozen=True)
class ContractAlert:
    contract: AssetContract
    kind: str  # ContractAlertKind: "expiry" | "arrears"
    message: str
    amount: Decimal = Decimal("0")
    # What makes the alert new: the end date for an expiry, the month of the period due for arrears.
    period: str = ""


def _alerts_of(contracts: QuerySet[AssetContract], today: date) -> list[ContractAlert]:
    alerts: list[ContractAlert] = []
    for contract in contracts:
        if today <= contract.end_on <= today + timedelta(days=EXPIRY_ALERT_DAYS):
            alerts.append(
                ContractAlert(
                    contract,
                    ContractAlertKind.EXPIRY,
                    _("%(asset)s 与 %(party)s 的合同将于%(end)s到期。")
                    % {"asset": contract.asset.name, "party": contract.party, "end": contract.end_on.isoformat()},
                    period=contract.end_on.isoformat(),
                )
            )
        owed = contract_due(contract, today) - contract_paid(contract)
        if owed > 0:
            alerts.append(
                ContractAlert(
                    contract,
                    ContractAlertKind.ARREARS,
                    _("%(party)s 欠缴%(asset)s租金%(owed)s元。")
                    % {"party": contract.party, "asset": contract.asset.name, "owed": owed},
                    owed,
                    period=_latest_period_start(contract, today).strftime("%Y-%m"),
                )
            )
    return alerts


def _alerting_contracts(today: date) -> QuerySet[AssetContract]:
    return (
        AssetContract.objects.filter(
            terminated_on__isnull=True, start_on__lte=today + timedelta(days=EXPIRY_ALERT_DAYS)
        )
        .filter(end_on__gte=today - timedelta(days=365))
        .select_related("asset__compound__grid")
    )


def contract_alerts(user: Any, today: date) -> list[ContractAlert]:
    """One alert per contract ending within 30 days, and one per contract in arrears (user's scope)."""
    return _alerts_of(asset_scope(user).filter(_alerting_contracts(today), "asset__compound__grid__path"), today)


def contract_alerts_all(today: date) -> list[ContractAlert]:
    """Every contract alert of the county, for the notice job (no user: the job picks recipients)."""
    return _alerts_of(_alerting_contracts(today).order_by("id"), today)


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
class SpendingLine:
    occurred_on: date
    item_label: str
    description: str
    amount: Decimal
    decision_id: int | None
    decision_title: str  # the agenda item the decision answered
    decision_date: date | None
    basis: str  # decision_label(): the linked decision, or the old ledger's text, or ""


@dataclass
class Disclosure:
    compound: Compound
    year: int
    quarter: int
    start: date
    end: date
    opening_balance: Decimal
    rows: list[DisclosureRow] = field(default_factory=list)
    # The quarter's spending, one line each, with the council decision it rests on.
    spending: list[SpendingLine] = field(default_factory=list)

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
    spent = (
        entries.filter(occurred_on__gte=start, occurred_on__lte=end, direction=LedgerDirection.EXPENSE)
        .select_related("decision__agenda_item__meeting")
        .order_by("occurred_on", "id")
    )
    result.spending = [
        SpendingLine(
            occurred_on=entry.occurred_on,
            item_label=str(entry.get_item_display()),
            description=entry.description,
            amount=_cents(entry.amount),
            decision_id=entry.decision_id,
            decision_title=entry.decision.agenda_item.title if entry.decision else "",
            decision_date=timezone.localdate(entry.decision.decided_at) if entry.decision else None,
            basis=decision_label(entry),
        )
        for entry in spent
    ]
    return result
