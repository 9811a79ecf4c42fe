"""Every read of the credit ledger, through the caller's `view_people` scope (404 otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Compound
from gridgov.cases.choices import CaseStatus
from gridgov.cases.models import Case
from gridgov.cases.selectors import cases_visible_to
from gridgov.credits.choices import POSTED_STATUSES, EntryStatus
from gridgov.credits.models import CreditEntry, CreditRule, CreditYearClosure, HouseholdAccount, RedemptionItem
from gridgov.registry.models import Household, Resident


def _not_found() -> Http404:
    return Http404(_("记录不存在或无权查看。"))


def ancestor_paths(path: str) -> list[str]:
    """`a/b/c/` → [`a/`, `a/b/`, `a/b/c/`]."""
    parts = [part for part in path.split("/") if part]
    return ["/".join(parts[: index + 1]) + "/" for index in range(len(parts))]


def county_of(area: Area) -> Area | None:
    """The district (区县) above or at `area`."""
    return Area.objects.filter(level=AreaLevel.DISTRICT, path__in=ancestor_paths(area.path)).first()


# ------------------------------------------------------------------ rules


def rules_for_area(area: Area) -> list[CreditRule]:
    """The effective catalogue at `area`: per code the rule of the deepest area above it,
    falling back to the default (area-less) rule. Inactive overrides hide the rule."""
    paths = ancestor_paths(area.path)
    candidates = (
        CreditRule.objects.filter(Q(area__isnull=True) | Q(area__path__in=paths))
        .select_related("area", "case_category")
        .order_by("code")
    )
    chosen: dict[str, CreditRule] = {}
    for rule in candidates:
        current = chosen.get(rule.code)
        depth = len(rule.area.path) if rule.area else 0
        if current is None or depth > (len(current.area.path) if current.area else 0):
            chosen[rule.code] = rule
    return sorted((rule for rule in chosen.values() if rule.active), key=lambda rule: (rule.category, rule.code))


def rule_effective_at(area: Area, code: str) -> CreditRule | None:
    return next((rule for rule in rules_for_area(area) if rule.code == code), None)


# ------------------------------------------------------------- households


def households_visible_to(user: Any) -> QuerySet[Household]:
    return scope_for(user, Capability.VIEW_PEOPLE).filter(Household.objects.all(), "grid__path")


def household_get_for_user(user: Any, household_id: int) -> Household:
    household = households_visible_to(user).select_related("grid", "compound").filter(pk=household_id).first()
    if household is None:
        raise _not_found()
    return household


def household_of_account(user: Any) -> Household | None:
    """The household a resident's account is linked to by staff (`HouseholdAccount`)."""
    if not getattr(user, "is_authenticated", False):
        return None
    link = HouseholdAccount.objects.select_related("household__grid").filter(user=user).first()
    return link.household if link else None


def entry_get_for_user(user: Any, entry_id: int) -> CreditEntry:
    """An entry staff may see (scope) or that belongs to the resident's own household."""
    entry = CreditEntry.objects.select_related("household__grid", "rule", "resident").filter(pk=entry_id).first()
    if entry is None:
        raise _not_found()
    own = household_of_account(user)
    if own is not None and own.pk == entry.household_id:
        return entry
    if not scope_for(user, Capability.VIEW_PEOPLE).covers(entry.household.grid.path):
        raise _not_found()
    return entry


def balance_of(household: Household, *, year: int | None = None) -> int:
    entries = CreditEntry.objects.filter(household=household, status__in=POSTED_STATUSES)
    if year is not None:
        entries = entries.filter(year=year)
    return int(entries.aggregate(total=Sum("points"))["total"] or 0)


def ledger_of(household: Household, *, year: int | None = None) -> QuerySet[CreditEntry]:
    entries = CreditEntry.objects.filter(household=household).select_related("rule", "resident", "recorded_by")
    if year is not None:
        entries = entries.filter(year=year)
    return entries.order_by("-recorded_at", "-id")


def entries_pending_for_user(user: Any) -> QuerySet[CreditEntry]:
    scope = scope_for(user, Capability.VIEW_PEOPLE)
    return scope.filter(
        CreditEntry.objects.filter(status=EntryStatus.PENDING).select_related("household", "rule", "recorded_by"),
        "household__grid__path",
    )


def appeals_open_for_user(user: Any) -> QuerySet[CreditEntry]:
    scope = scope_for(user, Capability.VIEW_PEOPLE)
    return scope.filter(
        CreditEntry.objects.filter(status=EntryStatus.APPEALED).select_related("household", "rule"),
        "household__grid__path",
    )


def year_is_closed(household: Household, year: int) -> bool:
    county = county_of(household.grid)
    return county is not None and CreditYearClosure.objects.filter(county=county, year=year).exists()


def redemption_items_for(area: Area) -> QuerySet[RedemptionItem]:
    return RedemptionItem.objects.filter(active=True, area__path__in=ancestor_paths(area.path))


# --------------------------------------------------------------- rankings


def mask_name(name: str) -> str:
    """张建国 → 张**; 李明 → 李*."""
    if not name:
        return "*"
    return name[0] + "*" * max(1, len(name) - 1)


@dataclass(frozen=True)
class RankingRow:
    rank: int
    household_id: int
    name_masked: str
    points: int


def ranking(
    *, year: int, compound: Compound | None = None, grid: Area | None = None, limit: int = 50
) -> list[RankingRow]:
    """Households of a compound or grid that opted in, by their posted points of `year`.
    Only masked head-of-household names leave this function."""
    households = Household.objects.filter(credit_opt_in__isnull=False)
    if compound is not None:
        households = households.filter(compound=compound)
    if grid is not None:
        households = households.filter(grid=grid)
    totals = (
        CreditEntry.objects.filter(household__in=households, year=year, status__in=POSTED_STATUSES)
        .values("household_id")
        .annotate(total=Sum("points"))
        .order_by("-total", "household_id")[:limit]
    )
    ids = [row["household_id"] for row in totals]
    heads: dict[int, str] = {}
    for resident in Resident.objects.filter(household_id__in=ids).order_by("household_id", "id"):
        if resident.relation == "head" or resident.household_id not in heads:
            heads[resident.household_id] = resident.name
    return [
        RankingRow(
            rank=index + 1,
            household_id=row["household_id"],
            name_masked=mask_name(heads.get(row["household_id"], "")),
            points=int(row["total"]),
        )
        for index, row in enumerate(totals)
    ]


# ---------------------------------------------------------- case proposals


def closed_cases_to_propose(user: Any) -> QuerySet[Case]:
    """Closed cases the user can see, in a category mapped to a rule, with no credit entry yet."""
    mapped = CreditRule.objects.filter(active=True, case_category__isnull=False).values("case_category_id")
    proposed = CreditEntry.objects.filter(source_case__isnull=False).values("source_case_id")
    return (
        cases_visible_to(user)
        .filter(status=CaseStatus.CLOSED, category_id__in=mapped)
        .exclude(pk__in=proposed)
        .select_related("category", "grid")
        .order_by("-closed_at")
    )


# -------------------------------------------------------------- catalogue


def rule_areas_for(user: Any) -> QuerySet[Area]:
    """Counties and towns whose rules the user keeps (`supervise_cases` over them)."""
    return scope_for(user, Capability.SUPERVISE_CASES).filter(
        Area.objects.filter(level__in=[AreaLevel.DISTRICT, AreaLevel.TOWN]).order_by("path")
    )


def item_areas_for(user: Any) -> QuerySet[Area]:
    """Counties, towns and communities whose redemption items the user keeps."""
    return scope_for(user, Capability.SUPERVISE_CASES).filter(
        Area.objects.filter(level__in=[AreaLevel.DISTRICT, AreaLevel.TOWN, AreaLevel.COMMUNITY]).order_by("path")
    )


def rule_area_get_for_user(user: Any, area_id: int) -> Area:
    area = rule_areas_for(user).filter(pk=area_id).first()
    if area is None:
        raise _not_found()
    return area


@dataclass(frozen=True)
class CatalogueRow:
    rule: CreditRule
    source: str  # "default" | "inherited" | "own"
    source_label: str
    used: bool  # entries were booked under this very row: its points range is fixed


def catalogue_at(area: Area) -> list[CatalogueRow]:
    """The rules in force at `area` (county or town) and the area's own inactive rows, each with
    where it comes from: the default catalogue, the county above, or the area itself."""
    rules = {rule.code: rule for rule in rules_for_area(area)}
    for own in CreditRule.objects.filter(area=area, active=False):
        rules[own.code] = own
    used = set(
        CreditEntry.objects.filter(rule_id__in=[rule.pk for rule in rules.values()])
        .values_list("rule_id", flat=True)
        .distinct()
    )
    rows = []
    for rule in sorted(rules.values(), key=lambda rule: (rule.category, rule.code)):
        if rule.area_id is None:
            source, label = "default", _("默认规则")
        elif rule.area_id == area.pk:
            source, label = "own", _("本级规则")
        else:
            source, label = "inherited", _("上级规则（%(area)s）") % {"area": rule.area.name if rule.area else ""}
        rows.append(CatalogueRow(rule=rule, source=source, source_label=label, used=rule.pk in used))
    return rows


def rule_for_editing(area: Area, code: str) -> CreditRule | None:
    """The area's own row for `code` (active or not), else the rule in force there (to override)."""
    own = CreditRule.objects.filter(area=area, code=code).first()
    return own or rule_effective_at(area, code)


def items_managed_by(user: Any) -> QuerySet[RedemptionItem]:
    return scope_for(user, Capability.SUPERVISE_CASES).filter(
        RedemptionItem.objects.select_related("area").order_by("area__path", "points_cost", "name"), "area__path"
    )


def item_get_for_user(user: Any, item_id: int) -> RedemptionItem:
    item = items_managed_by(user).filter(pk=item_id).first()
    if item is None:
        raise _not_found()
    return item
