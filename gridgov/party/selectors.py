"""Reads of the party app, all through the area-scope selector.

Structure (organisations, coverage) needs VIEW_AREAS over the area; members'
names need VIEW_PEOPLE. Out-of-scope and unknown objects are both 404.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.areas.choices import AREA_LEVEL_ORDER, AreaLevel
from gridgov.areas.models import Area, Building, Compound
from gridgov.party.choices import BRANCH_KINDS, OrgKind
from gridgov.party.models import GridResponsibility, LeadHouseholdCover, PartyMember, PartyOrg
from gridgov.registry.models import Household

GAPS_SHOWN = 100


def _not_found() -> Http404:
    return Http404(_("没有找到该党组织，或它不在您的辖区内。"))


def structure_scope(user: Any) -> Any:
    return scope_for(user, Capability.VIEW_AREAS)


def can_see_member_names(user: Any, org: PartyOrg) -> bool:
    return scope_for(user, Capability.VIEW_PEOPLE).covers(org.area.path)


def orgs_visible_to(user: Any, *, area: Area | None = None, kind: str | None = None) -> QuerySet[PartyOrg]:
    queryset = structure_scope(user).filter(PartyOrg.objects.all(), "area__path")
    if area is not None:
        queryset = queryset.filter(area__path__startswith=area.path)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.select_related("area", "parent", "household").annotate(
        member_count=Count("members", filter=Q(members__ended_on__isnull=True), distinct=True),
        cover_count=Count("covers", distinct=True),
    )


def org_get_for_user(user: Any, org_id: int) -> PartyOrg:
    org = (
        PartyOrg.objects.select_related("area", "parent", "household__compound", "household__building")
        .prefetch_related("compounds", "buildings")
        .filter(pk=org_id)
        .first()
    )
    if org is None or not structure_scope(user).covers(org.area.path):
        raise _not_found()
    return org


def org_members(org: PartyOrg, *, current_only: bool = True) -> QuerySet[PartyMember]:
    queryset = org.members.all()
    if current_only:
        queryset = queryset.filter(ended_on__isnull=True)
    return queryset.order_by("post", "name", "id")


def member_get_for_user(user: Any, member_id: int) -> PartyMember:
    """A member whose organisation lies in the user's VIEW_PEOPLE scope (names are people's data)."""
    member = PartyMember.objects.select_related("org__area").filter(pk=member_id).first()
    if member is None or not scope_for(user, Capability.VIEW_PEOPLE).covers(member.org.area.path):
        raise Http404(_("没有找到该成员，或其不在您的辖区内。"))
    return member


def lead_household_covered(org: PartyOrg) -> QuerySet[Household]:
    return (
        Household.objects.filter(lead_cover__org=org).select_related("building").order_by("building_id", "unit", "room")
    )


def area_get_for_user(user: Any, code: str | None) -> Area:
    """The area asked for, or the user's top-most area; 404 when outside the VIEW_AREAS scope."""
    scope = structure_scope(user)
    if code:
        area = Area.objects.filter(code=code).first()
    elif scope.paths:
        area = Area.objects.filter(path=scope.paths[0]).first()
    else:
        area = None
    if area is None or not scope.covers(area.path):
        raise Http404(_("没有找到该区域，或它不在您的辖区内。"))
    return area


@dataclass
class CoverageRow:
    area_id: int | None
    name: str
    code: str = ""
    compounds: int = 0
    compounds_covered: int = 0
    buildings: int = 0
    buildings_covered: int = 0
    households: int = 0
    households_covered: int = 0
    lead_households: int = 0
    lead_households_hung: int = 0

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def compound_rate(self) -> float | None:
        return self._rate(self.compounds_covered, self.compounds)

    @property
    def building_rate(self) -> float | None:
        return self._rate(self.buildings_covered, self.buildings)

    @property
    def household_rate(self) -> float | None:
        return self._rate(self.households_covered, self.households)


@dataclass
class HouseholdGap:
    compound_id: int | None
    compound_name: str
    grid_name: str
    uncovered: int


@dataclass
class Coverage:
    area: Area
    total: CoverageRow
    rows: list[CoverageRow] = field(default_factory=list)
    gap_compounds: list[Compound] = field(default_factory=list)
    gap_buildings: list[Building] = field(default_factory=list)
    gap_households: list[HouseholdGap] = field(default_factory=list)
    grids_without_responsibility: list[Area] = field(default_factory=list)


def _group_key(area: Area, grid_field: str) -> str:
    """The lookup that names the child of `area` each row belongs to (the grid itself below community)."""
    depth = AREA_LEVEL_ORDER.index(AreaLevel.GRID) - AREA_LEVEL_ORDER.index(area.level) - 1
    return grid_field + "__parent" * max(depth, 0) + "_id" if depth > 0 else grid_field + "_id"


def _compound_covered() -> Exists:
    return Exists(
        PartyOrg.compounds.through.objects.filter(
            compound_id=OuterRef("pk"), partyorg__kind__in=BRANCH_KINDS, partyorg__dissolved_on__isnull=True
        )
    )


def _building_covered() -> Exists:
    return Exists(
        PartyOrg.buildings.through.objects.filter(
            building_id=OuterRef("pk"),
            partyorg__kind=OrgKind.BUILDING_GROUP,
            partyorg__dissolved_on__isnull=True,
        )
    )


def _household_covered() -> Q:
    cover = Exists(LeadHouseholdCover.objects.filter(household_id=OuterRef("pk"), org__dissolved_on__isnull=True))
    lead = Exists(PartyOrg.objects.filter(household_id=OuterRef("pk"), dissolved_on__isnull=True))
    return Q(cover) | Q(lead)


def coverage_for_area(area: Area) -> Coverage:
    """Compounds with a branch, buildings with a group, households covered by a lead household,
    per child area of `area`, with the gaps: a fixed number of grouped queries."""
    under = area.path
    compounds = Compound.objects.filter(grid__path__startswith=under).annotate(is_covered=_compound_covered())
    buildings = Building.objects.filter(grid__path__startswith=under).annotate(is_covered=_building_covered())
    households = Household.objects.filter(grid__path__startswith=under, moved_out_on__isnull=True).annotate(
        is_covered=Exists(Household.objects.filter(pk=OuterRef("pk")).filter(_household_covered()))
    )
    leads = PartyOrg.objects.filter(
        kind=OrgKind.LEAD_HOUSEHOLD, dissolved_on__isnull=True, area__path__startswith=under
    )
    key = _group_key(area, "grid")
    rows: dict[int | None, CoverageRow] = {}
    children_ids = set()
    for queryset, total_name, covered_name in (
        (compounds, "compounds", "compounds_covered"),
        (buildings, "buildings", "buildings_covered"),
        (households, "households", "households_covered"),
    ):
        grouped = (
            queryset.order_by().values(key).annotate(total=Count("pk"), covered=Count("pk", filter=Q(is_covered=True)))
        )
        for entry in grouped:
            row = rows.setdefault(entry[key], CoverageRow(area_id=entry[key], name=""))
            setattr(row, total_name, entry["total"])
            setattr(row, covered_name, entry["covered"])
            children_ids.add(entry[key])
    lead_key = _group_key(area, "area") if area.level != AreaLevel.GRID else "area_id"
    for entry in (
        leads.order_by().values(lead_key).annotate(total=Count("pk"), hung=Count("pk", filter=Q(plaque_status="hung")))
    ):
        row = rows.setdefault(entry[lead_key], CoverageRow(area_id=entry[lead_key], name=""))
        row.lead_households, row.lead_households_hung = entry["total"], entry["hung"]
        children_ids.add(entry[lead_key])
    names = {a.pk: a for a in Area.objects.filter(pk__in=[i for i in children_ids if i is not None])}
    for row in rows.values():
        child = names.get(row.area_id) if row.area_id is not None else None
        row.name, row.code = (child.name, child.code) if child else (_("未归属"), "")
    total = CoverageRow(area_id=area.pk, name=area.name, code=area.code)
    for row in rows.values():
        for attr in (
            "compounds",
            "compounds_covered",
            "buildings",
            "buildings_covered",
            "households",
            "households_covered",
            "lead_households",
            "lead_households_hung",
        ):
            setattr(total, attr, getattr(total, attr) + getattr(row, attr))
    gap_households = [
        HouseholdGap(
            compound_id=entry["compound_id"],
            compound_name=entry["compound__name"] or _("（无小区）"),
            grid_name=entry["grid__name"],
            uncovered=entry["n"],
        )
        for entry in households.filter(is_covered=False)
        .order_by()
        .values("compound_id", "compound__name", "grid__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "compound__name")[:GAPS_SHOWN]
    ]
    grid_gaps = list(
        Area.objects.filter(level=AreaLevel.GRID, path__startswith=under)
        .exclude(Exists(GridResponsibility.objects.filter(grid_id=OuterRef("pk"))))
        .order_by("path")[:GAPS_SHOWN]
    )
    return Coverage(
        area=area,
        total=total,
        rows=sorted(rows.values(), key=lambda r: r.code),
        gap_compounds=list(
            compounds.filter(is_covered=False).select_related("grid").order_by("grid__path", "name")[:GAPS_SHOWN]
        ),
        gap_buildings=list(
            buildings.filter(is_covered=False)
            .select_related("grid", "compound")
            .order_by("grid__path", "compound__name", "name")[:GAPS_SHOWN]
        ),
        gap_households=gap_households,
        grids_without_responsibility=grid_gaps,
    )


def coverage_for_user(user: Any, area_code: str | None) -> Coverage:
    return coverage_for_area(area_get_for_user(user, area_code))


def responsibilities_visible_to(user: Any, area: Area) -> QuerySet[GridResponsibility]:
    return (
        structure_scope(user)
        .filter(GridResponsibility.objects.all(), "grid__path")
        .filter(grid__path__startswith=area.path)
        .select_related("grid", "org", "member")
        .order_by("grid__path")
    )


def org_tree(orgs: list[PartyOrg]) -> list[tuple[PartyOrg, int]]:
    """Depth-first order of the given organisations with their depth (for an indented list)."""
    by_parent: dict[int | None, list[PartyOrg]] = {}
    ids = {org.pk for org in orgs}
    for org in orgs:
        parent = org.parent_id if org.parent_id in ids else None
        by_parent.setdefault(parent, []).append(org)
    result: list[tuple[PartyOrg, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for org in by_parent.get(parent, []):
            result.append((org, depth))
            walk(org.pk, depth + 1)

    walk(None, 0)
    return result
