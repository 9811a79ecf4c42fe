"""公共资产 endpoints of /api/v1: a compound's register, ledger, contract alerts and the
quarterly disclosure; recording income/expense. Scoped reads (404 for out-of-scope and
unknown alike); writes through services (`AssetForbidden` → 403, `ValidationError` → 400)."""

# No `from __future__ import annotations`: django-ninja reads the parameter types at import time.
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from gridgov.assets.models import AssetContract, LedgerEntry, PublicAsset
from gridgov.assets.selectors import (
    assets_visible_to,
    compound_for_disclosure,
    compound_get_for_user,
    contract_alerts,
    decision_label,
    disclosure,
    ledger_of,
)
from gridgov.assets.services import ledger_record
from gridgov.cases.schemas import WRITE_ERRORS, ErrorOut
from gridgov.council.models import Decision

router = Router(tags=["public-assets"])


class AssetOut(Schema):
    id: int
    compound_id: int
    kind: str
    kind_label: str
    name: str
    location: str
    floor_area: Decimal | None
    current_use: str
    occupant: str
    status: str
    status_label: str


class LedgerEntryOut(Schema):
    id: int
    direction: str
    item: str
    item_label: str
    amount: Decimal
    occurred_on: date
    description: str
    asset_id: int | None
    contract_id: int | None
    reverses_id: int | None
    has_voucher: bool
    decision_id: int | None
    decision_basis: str
    decision_reference: str


class LedgerIn(Schema):
    item: str
    amount: str
    occurred_on: date
    description: str
    asset_id: int | None = None
    contract_id: int | None = None
    decision_id: int | None = None
    decision_reference: str = ""


class AlertOut(Schema):
    contract_id: int
    asset_id: int
    kind: str
    message: str
    amount: Decimal


class DisclosureRowOut(Schema):
    item: str
    label: str
    income: Decimal
    expense: Decimal


class SpendingOut(Schema):
    occurred_on: date
    item_label: str
    description: str
    amount: Decimal
    decision_id: int | None
    decision_title: str
    decision_date: date | None
    basis: str


class DisclosureOut(Schema):
    compound_id: int
    compound: str
    year: int
    quarter: int
    start: date
    end: date
    opening_balance: Decimal
    income: Decimal
    expense: Decimal
    closing_balance: Decimal
    rows: list[DisclosureRowOut]
    spending: list[SpendingOut]


def _asset_out(asset: PublicAsset) -> AssetOut:
    return AssetOut(
        id=asset.pk,
        compound_id=asset.compound_id,
        kind=asset.kind,
        kind_label=str(asset.get_kind_display()),
        name=asset.name,
        location=asset.location,
        floor_area=asset.floor_area,
        current_use=asset.current_use,
        occupant=asset.occupant,
        status=asset.status,
        status_label=str(asset.get_status_display()),
    )


def _decision(decision_id: int | None) -> Decision | None:
    """The decision to link; an unknown id is refused like another compound's (no existence leak)."""
    if decision_id is None:
        return None
    decision = Decision.objects.select_related("agenda_item").filter(pk=decision_id).first()
    if decision is None:
        raise ValidationError(_("所选议事决议不是本小区议事会议作出的，不能作为这笔收支的依据。"))
    return decision


def _entry_out(entry: LedgerEntry) -> LedgerEntryOut:
    return LedgerEntryOut(
        id=entry.pk,
        direction=entry.direction,
        item=entry.item,
        item_label=str(entry.get_item_display()),
        amount=entry.amount,
        occurred_on=entry.occurred_on,
        description=entry.description,
        asset_id=entry.asset_id,
        contract_id=entry.contract_id,
        reverses_id=entry.reverses_id,
        has_voucher=bool(entry.voucher),
        decision_id=entry.decision_id,
        decision_basis=decision_label(entry),
        decision_reference=entry.decision_reference,
    )


@router.get(
    "/compounds/{compound_id}/assets", response={200: list[AssetOut], 404: ErrorOut}, summary="小区公共资产登记"
)
def compound_assets(request: HttpRequest, compound_id: int) -> Any:
    compound = compound_get_for_user(request.auth, compound_id)  # type: ignore[attr-defined]
    return [_asset_out(asset) for asset in assets_visible_to(request.auth).filter(compound=compound)]  # type: ignore[attr-defined]


@router.get(
    "/compounds/{compound_id}/ledger", response={200: list[LedgerEntryOut], 404: ErrorOut}, summary="小区收支台账"
)
def compound_ledger(request: HttpRequest, compound_id: int) -> Any:
    compound = compound_get_for_user(request.auth, compound_id)  # type: ignore[attr-defined]
    return [_entry_out(entry) for entry in ledger_of(compound)[:1000]]


@router.post(
    "/compounds/{compound_id}/ledger", response={201: LedgerEntryOut, **WRITE_ERRORS}, summary="记一笔收入或支出"
)
def compound_ledger_record(request: HttpRequest, compound_id: int, data: LedgerIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    compound = compound_get_for_user(user, compound_id)
    asset = get_object_or_404(PublicAsset, pk=data.asset_id, compound=compound) if data.asset_id else None
    contract = (
        get_object_or_404(AssetContract, pk=data.contract_id, asset__compound=compound) if data.contract_id else None
    )
    entry = ledger_record(
        actor=user,
        compound=compound,
        item=data.item,
        amount=data.amount,
        occurred_on=data.occurred_on,
        description=data.description,
        asset=asset,
        contract=contract,
        decision=_decision(data.decision_id),
        decision_reference=data.decision_reference,
    )
    return Status(201, _entry_out(entry))


@router.get("/alerts", response=list[AlertOut], summary="合同到期与欠费提醒（辖区内）")
def alerts(request: HttpRequest) -> Any:
    return [
        AlertOut(
            contract_id=a.contract.pk, asset_id=a.contract.asset_id, kind=a.kind, message=a.message, amount=a.amount
        )
        for a in contract_alerts(request.auth, timezone.localdate())  # type: ignore[attr-defined]
    ]


@router.get("/compounds/{compound_id}/disclosure", response={200: DisclosureOut, 404: ErrorOut}, summary="季度收支公示")
def compound_disclosure(request: HttpRequest, compound_id: int, year: int, quarter: int) -> Any:
    compound = compound_for_disclosure(request.auth, compound_id)  # type: ignore[attr-defined]
    report = disclosure(compound, year, quarter)
    return DisclosureOut(
        compound_id=compound.pk,
        compound=compound.name,
        year=year,
        quarter=quarter,
        start=report.start,
        end=report.end,
        opening_balance=report.opening_balance,
        income=report.income,
        expense=report.expense,
        closing_balance=report.closing_balance,
        rows=[DisclosureRowOut(item=r.item, label=r.label, income=r.income, expense=r.expense) for r in report.rows],
        spending=[SpendingOut(**vars(line)) for line in report.spending],
    )
