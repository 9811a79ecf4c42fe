"""Every write of the credit ledger.

The ledger is append-only: entries are inserted, their review columns move
forward (pending → approved / rejected; approved → appealed → upheld / reversed),
and corrections are reversal entries. There is no function that edits or
deletes an entry, and database triggers refuse it anyway.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import AreaScope, scope_for
from gridgov.areas.choices import AreaLevel
from gridgov.cases.models import Case
from gridgov.cases.services.lifecycle import attachments_validate
from gridgov.credits.choices import POSTED_STATUSES, EntryKind, EntryStatus, RuleCategory
from gridgov.credits.errors import CreditConflict, CreditForbidden
from gridgov.credits.models import (
    CreditEntry,
    CreditRule,
    CreditYearClosure,
    HouseholdAccount,
    LedgerMaintenance,
    RankingOptIn,
    RedemptionItem,
)
from gridgov.credits.selectors import (
    balance_of,
    household_of_account,
    rules_for_area,
    year_is_closed,
)
from gridgov.registry.models import Household, Resident

# A staff reversal can be asked for, and approved, while the entry counts and no appeal is open.
REVERSIBLE_STATUSES = (EntryStatus.APPROVED, EntryStatus.UPHELD)


def _require_scope(actor: Any, household: Household) -> None:
    if not scope_for(actor, Capability.VIEW_PEOPLE).covers(household.grid.path):
        raise CreditForbidden(_("您无权为该户记录或审核积分。"))


def _require_open_year(household: Household, year: int) -> None:
    if year_is_closed(household, year):
        raise CreditConflict(_("%(year)d年度积分已结算，不能再记入。") % {"year": year})


def _used_this_year(household: Household, rule: CreditRule, year: int) -> int:
    """Absolute points booked by this rule's code for the household in the year (pending or counting)."""
    entries = CreditEntry.objects.filter(
        household=household,
        rule__code=rule.code,
        year=year,
        status__in=[*POSTED_STATUSES, EntryStatus.PENDING],
        kind__in=[EntryKind.AWARD, EntryKind.DEDUCTION],
    )
    booked = abs(int(entries.aggregate(total=Sum("points"))["total"] or 0))
    reversed_points = abs(
        int(
            CreditEntry.objects.filter(
                reverses__in=entries, kind=EntryKind.REVERSAL, status__in=POSTED_STATUSES
            ).aggregate(total=Sum("points"))["total"]
            or 0
        )
    )
    return booked - reversed_points


def _check_cap(household: Household, rule: CreditRule, year: int, points: int) -> None:
    if rule.yearly_cap is None:
        return
    used = _used_this_year(household, rule, year)
    if used + abs(points) > rule.yearly_cap:
        raise ValidationError(
            _("“%(rule)s”每户每年累计不超过%(cap)d分，本年已记%(used)d分。")
            % {"rule": rule.name, "cap": rule.yearly_cap, "used": used}
        )


@transaction.atomic
def credit_record(
    *,
    actor: Any,
    household: Household,
    rule_code: str,
    points: int,
    occurred_on: date,
    resident: Resident | None = None,
    note: str = "",
    evidence: Sequence[UploadedFile] = (),
    source_case: Case | None = None,
    now: datetime | None = None,
) -> CreditEntry:
    """Book a pending award or deduction by a rule effective at the household's grid."""
    now = now or timezone.now()
    _require_scope(actor, household)
    rule = next((item for item in rules_for_area(household.grid) if item.code == rule_code), None)
    if rule is None:
        raise ValidationError(_("该户所在区域没有编码为“%(code)s”的积分规则。") % {"code": rule_code})
    if not rule.points_min <= points <= rule.points_max:
        raise ValidationError(
            _("“%(rule)s”的分值应在%(low)d到%(high)d之间。")
            % {"rule": rule.name, "low": rule.points_min, "high": rule.points_max}
        )
    if resident is not None and resident.household_id != household.pk:
        raise ValidationError(_("行为人不是该户成员。"))
    if occurred_on > timezone.localdate(now):
        raise ValidationError(_("发生日期不能晚于今天。"))
    prepared = attachments_validate(list(evidence))
    # A closed case is its own evidence: its timeline and photos are on file.
    if rule.evidence_required and not prepared and source_case is None:
        raise ValidationError(_("“%(rule)s”须附现场照片作为证据。") % {"rule": rule.name})
    year = occurred_on.year
    _require_open_year(household, year)
    Household.objects.select_for_update().filter(pk=household.pk).first()
    _check_cap(household, rule, year, points)
    entry = CreditEntry(
        household=household,
        resident=resident,
        rule=rule,
        kind=EntryKind.DEDUCTION if points < 0 else EntryKind.AWARD,
        points=points,
        year=year,
        occurred_on=occurred_on,
        note=note.strip()[:200],
        recorded_by=actor,
        recorded_at=now,
        source_case=source_case,
    )
    if prepared:
        entry.evidence.save(prepared[0].original_name, prepared[0].content, save=False)
    entry.save()
    return entry


def credit_propose_from_case(
    *, actor: Any, case: Case, household: Household, points: int, note: str = "", now: datetime | None = None
) -> CreditEntry:
    """A closed case in a category mapped to a rule proposes a pending entry for the household
    staff name; the case file is its evidence. A second person approves it as usual."""
    from gridgov.cases.choices import CaseStatus
    from gridgov.cases.selectors import case_get_for_user

    case = case_get_for_user(actor, case.pk)
    if case.status != CaseStatus.CLOSED:
        raise CreditConflict(_("只有已办结的事项可以提议积分。"))
    rule = next((item for item in rules_for_area(household.grid) if item.case_category_id == case.category_id), None)
    if rule is None:
        raise ValidationError(_("该事项类别没有对应的积分规则。"))
    if household.grid_id != case.grid_id:
        raise ValidationError(_("住户须与事项在同一网格。"))
    occurred = timezone.localdate(case.submitted_at)
    return credit_record(
        actor=actor,
        household=household,
        rule_code=rule.code,
        points=points,
        occurred_on=occurred,
        note=note or (_("来自事项%(number)s") % {"number": case.number}),
        source_case=case,
        now=now,
    )


def _locked(entry: CreditEntry) -> CreditEntry:
    return (
        CreditEntry.objects.select_for_update(of=("self",)).select_related("household__grid", "rule").get(pk=entry.pk)
    )


@transaction.atomic
def credit_approve(*, actor: Any, entry: CreditEntry, approve: bool = True, now: datetime | None = None) -> CreditEntry:
    """Approve (or reject) a pending entry. Whatever lowers the balance — a deduction, or a
    reversal of an award — needs an approver other than its recorder (four eyes). Approving a
    reversal marks the reversed entry *reversed*; rejecting it leaves that entry in force."""
    now = now or timezone.now()
    entry = _locked(entry)
    _require_scope(actor, entry.household)
    if entry.status != EntryStatus.PENDING:
        raise CreditConflict(_("该记录已审核，不能重复审核。"))
    if approve and entry.points < 0 and entry.recorded_by_id == actor.pk:
        if entry.kind == EntryKind.REVERSAL:
            raise CreditForbidden(_("减少积分的冲正须由冲正人以外的另一名工作人员审核。"))
        raise CreditForbidden(_("扣分须由记录人以外的另一名工作人员审核。"))
    if approve and entry.kind == EntryKind.REVERSAL:
        _require_open_year(entry.household, entry.year)
        reversed_entry = _locked(entry.reverses)  # type: ignore[arg-type]
        if reversed_entry.status == EntryStatus.APPEALED:
            raise CreditConflict(_("被冲正的记录正在申诉中，请先处理申诉。"))
        if reversed_entry.status not in REVERSIBLE_STATUSES:
            raise CreditConflict(_("被冲正的记录已不再生效，该冲正不能通过。"))
        CreditEntry.objects.filter(pk=reversed_entry.pk).update(
            status=EntryStatus.REVERSED, decided_by=actor, decided_at=now
        )
    elif approve:
        _require_open_year(entry.household, entry.year)
        if entry.rule is not None:
            Household.objects.select_for_update().filter(pk=entry.household_id).first()
            # The entry itself is pending and already counted in the cap check of `credit_record`.
            used = _used_this_year(entry.household, entry.rule, entry.year)
            if entry.rule.yearly_cap is not None and used > entry.rule.yearly_cap:
                raise ValidationError(_("超过该规则的年度上限，不能生效。"))
    CreditEntry.objects.filter(pk=entry.pk).update(
        status=EntryStatus.APPROVED if approve else EntryStatus.REJECTED, approved_by=actor, approved_at=now
    )
    entry.refresh_from_db()
    return entry


@transaction.atomic
def credit_appeal(*, actor: Any, entry: CreditEntry, reason: str, now: datetime | None = None) -> CreditEntry:
    """A resident appeals an entry of their own household that counts."""
    now = now or timezone.now()
    entry = _locked(entry)
    own = household_of_account(actor)
    if own is None or own.pk != entry.household_id:
        raise CreditForbidden(_("只能对本户的积分记录提出申诉。"))
    reason = reason.strip()
    if len(reason) < 5:
        raise ValidationError(_("请写明申诉理由（至少5个字）。"))
    if entry.status != EntryStatus.APPROVED or entry.kind not in (EntryKind.AWARD, EntryKind.DEDUCTION):
        raise CreditConflict(_("只有已生效的加减分记录可以申诉。"))
    _require_open_year(entry.household, entry.year)
    CreditEntry.objects.filter(pk=entry.pk).update(
        status=EntryStatus.APPEALED, appeal_reason=reason[:300], appealed_by=actor, appealed_at=now
    )
    entry.refresh_from_db()
    return entry


@transaction.atomic
def credit_decide_appeal(
    *, actor: Any, entry: CreditEntry, reverse: bool, note: str, now: datetime | None = None
) -> CreditEntry:
    """Uphold the entry, or reverse it: the correction is a new entry with the negated points."""
    now = now or timezone.now()
    entry = _locked(entry)
    _require_scope(actor, entry.household)
    if entry.status != EntryStatus.APPEALED:
        raise CreditConflict(_("该记录不在申诉中。"))
    if not note.strip():
        raise ValidationError(_("请填写处理意见。"))
    if reverse:
        # The resident appealed and a staff member decides: already two people, so it counts at once.
        _reversal(actor=actor, entry=entry, note=note, now=now, pending=False)
    CreditEntry.objects.filter(pk=entry.pk).update(
        status=EntryStatus.REVERSED if reverse else EntryStatus.UPHELD,
        decided_by=actor,
        decided_at=now,
        decision_note=note.strip()[:300],
    )
    entry.refresh_from_db()
    return entry


def _reversal(*, actor: Any, entry: CreditEntry, note: str, now: datetime, pending: bool) -> CreditEntry:
    """The correction entry with the negated points: counting at once (`pending=False`, an appeal
    decided by staff) or waiting for a second person (`pending=True`, a staff reversal)."""
    _require_open_year(entry.household, timezone.localdate(now).year)
    live = CreditEntry.objects.filter(reverses=entry).exclude(status=EntryStatus.REJECTED).first()
    if live is not None and live.status == EntryStatus.PENDING:
        raise CreditConflict(_("该记录已有一条待审核的冲正，请先审核。"))
    if live is not None:
        raise CreditConflict(_("该记录已冲正。"))
    review: dict[str, Any] = (
        {"status": EntryStatus.PENDING}
        if pending
        else {"status": EntryStatus.APPROVED, "approved_by": actor, "approved_at": now}
    )
    return CreditEntry.objects.create(
        household=entry.household,
        resident=entry.resident,
        rule=entry.rule,
        kind=EntryKind.REVERSAL,
        points=-entry.points,
        year=entry.year,
        occurred_on=timezone.localdate(now),
        note=(_("冲正：%(note)s") % {"note": note.strip()})[:200],
        recorded_by=actor,
        recorded_at=now,
        reverses=entry,
        **review,
    )


@transaction.atomic
def credit_reverse(*, actor: Any, entry: CreditEntry, note: str, now: datetime | None = None) -> CreditEntry:
    """Correct a counting entry (a mistake found by staff) with a reversal entry. The reversal is
    pending and changes nothing until a second person approves it (`credit_approve`): one that
    lowers the balance is a deduction in effect, so its recorder cannot approve it."""
    now = now or timezone.now()
    entry = _locked(entry)
    _require_scope(actor, entry.household)
    if entry.status not in REVERSIBLE_STATUSES or entry.kind in (EntryKind.REVERSAL, EntryKind.REDEMPTION):
        raise CreditConflict(_("只有已生效的加减分记录可以冲正。"))
    if not note.strip():
        raise ValidationError(_("请填写冲正原因。"))
    return _reversal(actor=actor, entry=entry, note=note, now=now, pending=True)


@transaction.atomic
def credit_year_close(*, actor: Any, county: Any, year: int, now: datetime | None = None) -> CreditYearClosure:
    """Settle a county's year: pending entries of it must be reviewed first; then nothing more goes in."""
    now = now or timezone.now()
    if not scope_for(actor, Capability.SUPERVISE_CASES).covers(county.path):
        raise CreditForbidden(_("只有区县工作人员可以结算年度积分。"))
    if year >= timezone.localdate(now).year:
        raise ValidationError(_("只能结算已经过去的年度。"))
    if CreditEntry.objects.filter(
        year=year, status=EntryStatus.PENDING, household__grid__path__startswith=county.path
    ).exists():
        raise CreditConflict(_("该年度还有待审核的积分记录，请先审核。"))
    closure, created = CreditYearClosure.objects.get_or_create(
        county=county, year=year, defaults={"closed_by": actor, "closed_at": now}
    )
    if not created:
        raise CreditConflict(_("%(year)d年度已结算。") % {"year": year})
    return closure


@transaction.atomic
def credit_redeem(
    *, actor: Any, household: Household, item: RedemptionItem, quantity: int = 1, now: datetime | None = None
) -> CreditEntry:
    """Spend points on an item in one transaction; the household row and the item row are
    locked, so neither the balance nor the stock can go below zero, also under concurrency."""
    now = now or timezone.now()
    if quantity < 1:
        raise ValidationError(_("兑换数量至少为1。"))
    own = household_of_account(actor)
    if own is None or own.pk != household.pk:
        _require_scope(actor, household)
    locked_household = Household.objects.select_for_update().select_related("grid").get(pk=household.pk)
    locked_item = RedemptionItem.objects.select_for_update().get(pk=item.pk)
    if not locked_item.active or not locked_household.grid.path.startswith(locked_item.area.path):
        raise ValidationError(_("该户不能兑换此物品。"))
    _require_open_year(locked_household, timezone.localdate(now).year)
    cost = locked_item.points_cost * quantity
    balance = balance_of(locked_household)
    if cost > balance:
        raise ValidationError(
            _("积分不足：需要%(cost)d分，当前余额%(balance)d分。") % {"cost": cost, "balance": balance}
        )
    if locked_item.stock < quantity:
        raise CreditConflict(_("“%(item)s”库存不足。") % {"item": locked_item.name})
    RedemptionItem.objects.filter(pk=locked_item.pk).update(stock=F("stock") - quantity)
    return CreditEntry.objects.create(
        household=locked_household,
        kind=EntryKind.REDEMPTION,
        points=-cost,
        year=timezone.localdate(now).year,
        occurred_on=timezone.localdate(now),
        note=(_("兑换：%(item)s × %(quantity)d") % {"item": locked_item.name, "quantity": quantity})[:200],
        recorded_by=actor,
        recorded_at=now,
        redemption_item=locked_item,
        status=EntryStatus.APPROVED,
        approved_by=actor,
        approved_at=now,
    )


def ranking_opt_in(*, actor: Any, household: Household, opt_in: bool, now: datetime | None = None) -> None:
    """The household (its linked resident) or staff for it agree to / leave the rankings."""
    own = household_of_account(actor)
    if own is None or own.pk != household.pk:
        _require_scope(actor, household)
    if opt_in:
        RankingOptIn.objects.get_or_create(household=household, defaults={"opted_in_at": now or timezone.now()})
    else:
        RankingOptIn.objects.filter(household=household).delete()


def household_account_link(
    *, actor: Any, user: Any, household: Household, now: datetime | None = None
) -> HouseholdAccount:
    _require_scope(actor, household)
    link, _created = HouseholdAccount.objects.update_or_create(
        user=user, defaults={"household": household, "linked_by": actor, "linked_at": now or timezone.now()}
    )
    return link


def household_account_link_by_phone(
    *, actor: Any, household: Household, phone: str, now: datetime | None = None
) -> HouseholdAccount:
    """Link the portal account that signs in with `phone` to the household (staff, in scope).
    The refusal never repeats the number."""
    from gridgov.portal.models import ResidentPhone
    from gridgov.portal.services import phone_index_of
    from gridgov.registry.identifiers import phone_normalise

    _require_scope(actor, household)
    try:
        normalised = phone_normalise(phone or "")
    except ValidationError:
        raise ValidationError(_("手机号格式不正确，请输入1开头的11位手机号。")) from None
    identity = ResidentPhone.objects.select_related("user").filter(phone_index=phone_index_of(normalised)).first()
    if identity is None:
        raise ValidationError(_("该手机号还没有登录过居民端，请居民先扫码登录一次。"))
    return household_account_link(actor=actor, user=identity.user, household=household, now=now)


RULE_LEVELS = (AreaLevel.DISTRICT, AreaLevel.TOWN)
ITEM_LEVELS = (AreaLevel.DISTRICT, AreaLevel.TOWN, AreaLevel.COMMUNITY)
RULE_CODE = re.compile(r"^[A-Z][A-Z0-9-]{1,31}$")


def catalogue_scope(actor: Any) -> AreaScope:
    """Who keeps the catalogue: staff who supervise the area (county command, town staff; community
    staff for their community's redemption items)."""
    return scope_for(actor, Capability.SUPERVISE_CASES)


@transaction.atomic
def rule_override(
    *,
    actor: Any,
    area: Any,
    code: str,
    name: str,
    category: str,
    points_min: int,
    points_max: int,
    evidence_required: bool = False,
    yearly_cap: int | None = None,
    active: bool = True,
) -> CreditRule:
    """Create or edit a county's or town's own version of a rule: a new code there, an override of
    the default (or the county's) rule with the same code, or the area's own row again.

    Entries keep their points and point at the rule row they were booked under, so a row that
    entries use keeps its points range: change it with a new code (and deactivate the old one).
    Rules are never deleted; `active=False` hides the code at the area and below."""
    if area.level not in RULE_LEVELS:
        raise ValidationError(_("积分规则只能按区县或镇街维护。"))
    if not catalogue_scope(actor).covers(area.path):
        raise CreditForbidden(_("您无权维护该区域的积分规则。"))
    code = (code or "").strip().upper()
    name = (name or "").strip()
    if not RULE_CODE.match(code):
        raise ValidationError(_("编码须以大写字母开头，由大写字母、数字和连字符组成（2至32位），如 VOL-03。"))
    if not name:
        raise ValidationError(_("请填写规则名称。"))
    if category not in RuleCategory.values:
        raise ValidationError(_("请选择规则类别。"))
    if points_min > points_max or (points_min <= 0 <= points_max):
        raise ValidationError(_("分值范围须同为正数或同为负数，且下限不大于上限。"))
    if yearly_cap is not None and yearly_cap < 1:
        raise ValidationError(_("每户年度上限须为正整数，不设上限请留空。"))
    existing = CreditRule.objects.select_for_update().filter(area=area, code=code).first()
    if (
        existing is not None
        and (existing.points_min, existing.points_max) != (points_min, points_max)
        and CreditEntry.objects.filter(rule=existing).exists()
    ):
        raise ValidationError(
            _("规则“%(code)s”已有积分记录，分值范围不能再改（已记的分值不变）。请停用它并以新编码建立规则。")
            % {"code": code}
        )
    rule, _created = CreditRule.objects.update_or_create(
        area=area,
        code=code,
        defaults={
            "name": name[:100],
            "category": category,
            "points_min": points_min,
            "points_max": points_max,
            "evidence_required": evidence_required,
            "yearly_cap": yearly_cap,
            "active": active,
        },
    )
    return rule


def _item_values(name: str, points_cost: int, stock: int) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("请填写物品名称。"))
    if points_cost is None or points_cost < 1:
        raise ValidationError(_("所需积分须为正整数。"))
    if stock is None or stock < 0:
        raise ValidationError(_("库存不能为负数。"))
    return name[:100]


def redemption_item_create(
    *, actor: Any, area: Any, name: str, points_cost: int, stock: int, active: bool = True
) -> RedemptionItem:
    """Put an item into an area's redemption catalogue (county, town or community)."""
    if area.level not in ITEM_LEVELS:
        raise ValidationError(_("兑换物品只能按区县、镇街或社区提供。"))
    if not catalogue_scope(actor).covers(area.path):
        raise CreditForbidden(_("您无权维护该区域的兑换物品。"))
    return RedemptionItem.objects.create(
        area=area, name=_item_values(name, points_cost, stock), points_cost=points_cost, stock=stock, active=active
    )


@transaction.atomic
def redemption_item_update(
    *, actor: Any, item: RedemptionItem, name: str, points_cost: int, stock: int, active: bool
) -> RedemptionItem:
    """Edit an item under the same row lock `credit_redeem` takes, so a stock count set here is not
    lost to a redemption at the same moment. Past redemptions keep the points they cost; items
    are taken off the shelf (`active=False`), never deleted."""
    item = RedemptionItem.objects.select_for_update().select_related("area").get(pk=item.pk)
    if not catalogue_scope(actor).covers(item.area.path):
        raise CreditForbidden(_("您无权维护该区域的兑换物品。"))
    item.name = _item_values(name, points_cost, stock)
    item.points_cost = points_cost
    item.stock = stock
    item.active = active
    item.save(update_fields=["name", "points_cost", "stock", "active"])
    return item


@transaction.atomic
def credits_delete_all() -> int:
    """For the demo reset only: lift the append-only guard inside this transaction and empty the ledger."""
    LedgerMaintenance.objects.get_or_create(pk=1)
    CreditEntry.objects.exclude(reverses=None).delete()
    deleted = CreditEntry.objects.all().delete()[0]
    for model in (CreditYearClosure, RankingOptIn, HouseholdAccount, RedemptionItem):
        model.objects.all().delete()
    CreditRule.objects.exclude(area=None).delete()
    LedgerMaintenance.objects.all().delete()
    return deleted
