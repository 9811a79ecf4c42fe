"""美德信用积分 endpoints of /api/v1: rules, a household's balance and ledger, recording,
review (four eyes for deductions), reversal, a resident's own ledger and appeal,
rankings and redemption.

Thin: households are read through `household_get_for_user` (out-of-scope and
unknown alike answer 404); every write goes through a service. `CreditConflict`
→ 409, `CreditForbidden` → 403, `ValidationError` → 400. Evidence photos are
uploaded on the page; a rule that requires a photo is refused here with 400.
"""

# No `from __future__ import annotations`: django-ninja reads the parameter types at import time.
from datetime import date
from typing import Any

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.areas.models import Area, Compound
from gridgov.cases.schemas import WRITE_ERRORS, ErrorOut
from gridgov.credits.choices import POSTED_STATUSES
from gridgov.credits.models import CreditEntry, CreditRule, RedemptionItem
from gridgov.credits.selectors import (
    balance_of,
    entry_get_for_user,
    household_get_for_user,
    household_of_account,
    households_visible_to,
    ledger_of,
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
)
from gridgov.registry.models import Resident

router = Router(tags=["credits"])


class RuleOut(Schema):
    id: int
    code: str
    name: str
    category: str
    category_label: str
    points_min: int
    points_max: int
    evidence_required: bool
    yearly_cap: int | None
    case_category: str | None
    scope: str


class EntryOut(Schema):
    id: int
    household_id: int
    kind: str
    kind_label: str
    rule_code: str | None
    rule_name: str | None
    points: int
    year: int
    occurred_on: date
    note: str
    status: str
    status_label: str
    has_evidence: bool
    reverses_id: int | None
    appeal_reason: str
    decision_note: str


class LedgerOut(Schema):
    household_id: int
    address: str
    balance: int
    year_points: int
    entries: list[EntryOut]


class RecordIn(Schema):
    rule_code: str
    points: int
    occurred_on: date
    resident_id: int | None = None
    note: str = ""


class NoteIn(Schema):
    note: str


class ReasonIn(Schema):
    reason: str


class DecideIn(Schema):
    reverse: bool
    note: str


class RedeemIn(Schema):
    item_id: int
    quantity: int = 1


class RankingRowOut(Schema):
    rank: int
    name_masked: str
    points: int


def _rule_out(rule: CreditRule) -> RuleOut:
    return RuleOut(
        id=rule.pk,
        code=rule.code,
        name=rule.name,
        category=rule.category,
        category_label=str(rule.get_category_display()),
        points_min=rule.points_min,
        points_max=rule.points_max,
        evidence_required=rule.evidence_required,
        yearly_cap=rule.yearly_cap,
        case_category=rule.case_category.code if rule.case_category else None,
        scope=rule.area.name if rule.area else _("默认"),
    )


def entry_out(entry: CreditEntry) -> EntryOut:
    return EntryOut(
        id=entry.pk,
        household_id=entry.household_id,
        kind=entry.kind,
        kind_label=str(entry.get_kind_display()),
        rule_code=entry.rule.code if entry.rule else None,
        rule_name=entry.rule.name if entry.rule else None,
        points=entry.points,
        year=entry.year,
        occurred_on=entry.occurred_on,
        note=entry.note,
        status=entry.status,
        status_label=str(entry.get_status_display()),
        has_evidence=bool(entry.evidence),
        reverses_id=entry.reverses_id,
        appeal_reason=entry.appeal_reason,
        decision_note=entry.decision_note,
    )


def _ledger(household: Any) -> LedgerOut:
    return LedgerOut(
        household_id=household.pk,
        address=household.address,
        balance=balance_of(household),
        year_points=balance_of(household, year=timezone.localdate().year),
        entries=[entry_out(entry) for entry in ledger_of(household)[:200]],
    )


def _visible_area(user: Any, area_id: int, capability: str = Capability.VIEW_PEOPLE) -> Area:
    area = Area.objects.filter(pk=area_id).first()
    if area is None or not scope_for(user, capability).covers(area.path):
        raise Http404(_("记录不存在或无权查看。"))
    return area


@router.get("/rules", response={200: list[RuleOut], 404: ErrorOut}, summary="某区域生效的积分规则")
def rules(request: HttpRequest, area_id: int) -> Any:
    return [_rule_out(rule) for rule in rules_for_area(_visible_area(request.auth, area_id))]  # type: ignore[attr-defined]


@router.get("/households/{household_id}", response={200: LedgerOut, 404: ErrorOut}, summary="一户的积分余额与明细")
def household_ledger(request: HttpRequest, household_id: int) -> Any:
    return _ledger(household_get_for_user(request.auth, household_id))  # type: ignore[attr-defined]


@router.post(
    "/households/{household_id}/entries", response={201: EntryOut, **WRITE_ERRORS}, summary="记录加减分（待审核）"
)
def entry_record(request: HttpRequest, household_id: int, data: RecordIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    household = household_get_for_user(user, household_id)
    resident = None
    if data.resident_id is not None:
        resident = get_object_or_404(Resident, pk=data.resident_id, household=household)
    entry = credit_record(
        actor=user,
        household=household,
        rule_code=data.rule_code,
        points=data.points,
        occurred_on=data.occurred_on,
        resident=resident,
        note=data.note,
    )
    return Status(201, entry_out(entry))


@router.post(
    "/entries/{entry_id}/approve", response={200: EntryOut, **WRITE_ERRORS}, summary="审核通过（扣分须另一人审核）"
)
def entry_approve(request: HttpRequest, entry_id: int) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    return entry_out(credit_approve(actor=user, entry=_staff_entry(user, entry_id)))


@router.post("/entries/{entry_id}/reject", response={200: EntryOut, **WRITE_ERRORS}, summary="审核不通过")
def entry_reject(request: HttpRequest, entry_id: int) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    return entry_out(credit_approve(actor=user, entry=_staff_entry(user, entry_id), approve=False))


@router.post(
    "/entries/{entry_id}/reverse",
    response={200: EntryOut, **WRITE_ERRORS},
    summary="冲正（相反分值的新记录，另一人审核后生效）",
)
def entry_reverse(request: HttpRequest, entry_id: int, data: NoteIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    return entry_out(credit_reverse(actor=user, entry=_staff_entry(user, entry_id), note=data.note))


@router.post("/entries/{entry_id}/decide", response={200: EntryOut, **WRITE_ERRORS}, summary="处理申诉：维持或冲正")
def entry_decide(request: HttpRequest, entry_id: int, data: DecideIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    entry = credit_decide_appeal(actor=user, entry=_staff_entry(user, entry_id), reverse=data.reverse, note=data.note)
    return entry_out(entry)


def _staff_entry(user: Any, entry_id: int) -> CreditEntry:
    entry = entry_get_for_user(user, entry_id)
    household_get_for_user(user, entry.household_id)
    return entry


@router.get("/mine", response={200: LedgerOut, 404: ErrorOut}, summary="居民：本户积分余额与明细")
def mine(request: HttpRequest) -> Any:
    household = household_of_account(request.auth)  # type: ignore[attr-defined]
    if household is None:
        raise Http404(_("您的账号尚未关联住户，请联系社区工作人员。"))
    return _ledger(household)


@router.post("/entries/{entry_id}/appeal", response={200: EntryOut, **WRITE_ERRORS}, summary="居民：对本户记录提出申诉")
def entry_appeal(request: HttpRequest, entry_id: int, data: ReasonIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    return entry_out(credit_appeal(actor=user, entry=entry_get_for_user(user, entry_id), reason=data.reason))


@router.post(
    "/households/{household_id}/redeem", response={201: EntryOut, **WRITE_ERRORS}, summary="兑换物品（扣减积分与库存）"
)
def redeem(request: HttpRequest, household_id: int, data: RedeemIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    own = household_of_account(user)
    household = own if own is not None and own.pk == household_id else household_get_for_user(user, household_id)
    item = get_object_or_404(RedemptionItem, pk=data.item_id)
    return Status(201, entry_out(credit_redeem(actor=user, household=household, item=item, quantity=data.quantity)))


@router.get(
    "/rankings", response={200: list[RankingRowOut], 404: ErrorOut}, summary="积分排行（仅同意参与的户，姓名脱敏）"
)
def rankings(request: HttpRequest, year: int, compound_id: int | None = None, grid_id: int | None = None) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    compound = grid = None
    if compound_id is not None:
        compound = get_object_or_404(Compound.objects.select_related("grid"), pk=compound_id)
        _visible_area(user, compound.grid_id, Capability.VIEW_AREAS)
    elif grid_id is not None:
        grid = _visible_area(user, grid_id, Capability.VIEW_AREAS)
    else:
        raise Http404(_("请指定小区或网格。"))
    return [
        RankingRowOut(rank=row.rank, name_masked=row.name_masked, points=row.points)
        for row in ranking(year=year, compound=compound, grid=grid)
    ]


class ClosureOut(Schema):
    county_id: int
    year: int
    closed_at: str


@router.post(
    "/years/{year}/close", response={200: ClosureOut, **WRITE_ERRORS}, summary="年度结算（区县）：此后不能再记入该年度"
)
def year_close(request: HttpRequest, year: int, county_id: int) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    county = _visible_area(user, county_id, Capability.SUPERVISE_CASES)
    closure = credit_year_close(actor=user, county=county, year=year)
    return ClosureOut(county_id=county.pk, year=closure.year, closed_at=closure.closed_at.isoformat())


class BalanceOut(Schema):
    household_id: int
    address: str
    grid_id: int
    balance: int


@router.get("/households", response={200: list[BalanceOut], 404: ErrorOut}, summary="网格内各户积分余额（辖区内）")
def household_balances(request: HttpRequest, grid_id: int) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    grid = _visible_area(user, grid_id)
    households = (
        households_visible_to(user)
        .filter(grid=grid)
        .annotate(
            total=Coalesce(Sum("credit_entries__points", filter=Q(credit_entries__status__in=POSTED_STATUSES)), 0)
        )
    )
    return [
        BalanceOut(
            household_id=household.pk, address=household.address, grid_id=household.grid_id, balance=household.total
        )
        for household in households[:2000]
    ]
