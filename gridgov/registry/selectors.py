"""Every read of households and residents, always through the caller's scope.

Out-of-scope and non-existent records raise the same Http404; an attempt on
an existing out-of-scope record is written to the access log as denied.
Sensitive tags are left out unless one of the caller's roles covering the
record is granted the tag's group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.models import RoleAssignment
from gridgov.accounts.scope import AreaScope, scope_for
from gridgov.areas.models import Area
from gridgov.registry.access_log import access_log_append
from gridgov.registry.choices import AccessAction, Relation
from gridgov.registry.models import Household, HouseholdVisit, Resident, Tag, TagGroup

PATH_FIELD = "grid__path"
# Members in family order: head, spouse, parents, children … (the order of `Relation`).
_RELATION_ORDER = Case(
    *[When(relation=value, then=Value(position)) for position, value in enumerate(Relation.values)],
    default=Value(len(Relation.values)),
)


def people_scope(user: Any) -> AreaScope:
    return scope_for(user, Capability.VIEW_PEOPLE)


def _not_found() -> Http404:
    return Http404(_("记录不存在或无权查看。"))


# ------------------------------------------------------------- sensitive tags


def _roles_covering(user: Any, path: str) -> set[str]:
    """Roles of the user's assignments whose area contains `path` (assignments read once per request)."""
    assignments: list[tuple[str, str]] | None = getattr(user, "_gridgov_role_paths", None)
    if assignments is None:
        assignments = list(RoleAssignment.objects.filter(user=user).values_list("role", "area__path"))
        user._gridgov_role_paths = assignments
    return {role for role, area_path in assignments if path.startswith(area_path)}


def _sensitive_groups(user: Any) -> list[tuple[set[str], set[int]]]:
    """(granted roles, tag ids) of each sensitive group, read once per request."""
    groups: list[tuple[set[str], set[int]]] | None = getattr(user, "_gridgov_sensitive_groups", None)
    if groups is None:
        groups = [
            (set(group.granted_roles), {tag.pk for tag in group.tags.all()})
            for group in TagGroup.objects.filter(sensitive=True).prefetch_related("tags")
        ]
        user._gridgov_sensitive_groups = groups
    return groups


def hidden_tag_ids_for(user: Any, path: str) -> set[int]:
    """Ids of tags in sensitive groups that none of the user's roles covering `path` may see."""
    roles = _roles_covering(user, path)
    hidden: set[int] = set()
    for granted_roles, tag_ids in _sensitive_groups(user):
        if not roles.intersection(granted_roles):
            hidden.update(tag_ids)
    return hidden


def visible_tags(user: Any, path: str, tags: list[Tag]) -> list[Tag]:
    hidden = hidden_tag_ids_for(user, path)
    return [tag for tag in tags if tag.pk not in hidden]


# ------------------------------------------------------------------ households


def people_area_get_for_user(user: Any, code: str) -> Area:
    """An area whose people the user may see; unknown and out-of-scope codes give the same 404."""
    area = Area.objects.filter(code=code).first()
    if area is None or not people_scope(user).covers(area.path):
        raise _not_found()
    return area


def _within_area(queryset: QuerySet[Any], area_code: str, path_field: str) -> QuerySet[Any]:
    """Rows under the area with `area_code` (none for an unknown code); the scope is applied elsewhere."""
    area = Area.objects.filter(code=area_code).only("path").first()
    if area is None:
        return queryset.none()
    return queryset.filter(**{f"{path_field}__startswith": area.path})


def _person_search(query: str) -> Q:
    """Residents matching a name fragment, pinyin initials (zjg) or the last 4 ID characters."""
    condition = Q(name__contains=query)
    if query.isascii() and query.isalpha():
        condition |= Q(name_initials__startswith=query.lower())
    if len(query) == 4 and query[:3].isdigit() and (query[3].isdigit() or query[3] in "xX"):
        condition |= Q(id_masked__endswith=query.upper())
    return condition


@dataclass(frozen=True)
class HouseholdFilters:
    area_code: str | None = None
    building_id: int | None = None
    microgrid_code: str | None = None
    tag_code: str | None = None
    query: str = ""


def household_list_for_user(user: Any, filters: HouseholdFilters | None = None) -> QuerySet[Household]:
    """Households the user may see, filtered; members and tags prefetched for list pages."""
    filters = filters or HouseholdFilters()
    households = people_scope(user).filter(Household.objects.all(), PATH_FIELD).filter(moved_out_on__isnull=True)
    if filters.area_code:
        households = _within_area(households, filters.area_code, PATH_FIELD)
    if filters.building_id:
        households = households.filter(building_id=filters.building_id)
    if filters.microgrid_code:
        households = households.filter(microgrid__code=filters.microgrid_code)
    if filters.tag_code:
        tag = Tag.objects.filter(code=filters.tag_code).select_related("group").first()
        if tag is None:
            return households.none()
        # Filtering by a sensitive tag would reveal it: only where the user may see it.
        households = households.filter(Q(tags=tag) | Q(members__tags=tag)).distinct()
        if tag.group.sensitive:
            allowed_paths = [path for path in people_scope(user).paths if tag.pk not in hidden_tag_ids_for(user, path)]
            households = AreaScope.from_paths(allowed_paths).filter(households, PATH_FIELD)
    query = filters.query.strip()
    if query:
        # Only current members count: a former member's name must not find the household.
        matching_members = Resident.objects.filter(
            _person_search(query), moved_out_on__isnull=True, died_on__isnull=True
        ).values("household_id")
        households = households.filter(Q(address__contains=query) | Q(pk__in=matching_members))
    return households.select_related("grid", "building", "compound", "microgrid").prefetch_related(
        Prefetch("members", queryset=Resident.objects.filter(moved_out_on__isnull=True, died_on__isnull=True)),
        "tags",
    )


def household_get_for_user(user: Any, household_id: int) -> Household:
    household = (
        Household.objects.select_related("grid", "building", "compound", "microgrid")
        .prefetch_related("tags")
        .filter(pk=household_id)
        .first()
    )
    if household is None:
        raise _not_found()
    if not people_scope(user).covers(household.grid.path):
        access_log_append(actor=user, action=AccessAction.DENIED, object_type="household", object_id=household.pk)
        raise _not_found()
    return household


def household_members(household: Household) -> QuerySet[Resident]:
    """Current members of a household the caller already got through `household_get_for_user`."""
    return (
        Resident.objects.filter(household=household, moved_out_on__isnull=True, died_on__isnull=True)
        .prefetch_related("tags__group")
        .order_by(_RELATION_ORDER, "birth_date")
    )


def resident_get_for_user(user: Any, resident_id: int) -> Resident:
    resident = Resident.objects.select_related("household__grid").filter(pk=resident_id).first()
    if resident is None:
        raise _not_found()
    if not people_scope(user).covers(resident.household.grid.path):
        access_log_append(actor=user, action=AccessAction.DENIED, object_type="resident", object_id=resident.pk)
        raise _not_found()
    return resident


def resident_list_for_user(user: Any, *, query: str = "", area_code: str | None = None) -> QuerySet[Resident]:
    residents = people_scope(user).filter(
        Resident.objects.filter(moved_out_on__isnull=True, died_on__isnull=True), "household__grid__path"
    )
    if area_code:
        residents = _within_area(residents, area_code, "household__grid__path")
    query = query.strip()
    if query:
        residents = residents.filter(_person_search(query))
    return residents.select_related("household__grid").prefetch_related("tags").order_by("household_id", "id")


# -------------------------------------------------------------------- roll-up


@dataclass(frozen=True)
class TagCount:
    code: str
    name: str
    group: str
    target: str  # "household" or "person": the other count does not apply
    households: int
    residents: int


def tag_rollup_for_user(user: Any, area: Area) -> list[TagCount]:
    """Households and residents per tag in the subtree of `area` (which the caller checked is in scope).

    Sensitive tags are counted only where the user may see them; for the
    dashboard and the staff pages.
    """
    scope = people_scope(user)
    if not scope.covers(area.path):
        return []
    hidden = hidden_tag_ids_for(user, area.path)
    household_counts = dict(
        Household.tags.through.objects.filter(
            household__grid__path__startswith=area.path, household__moved_out_on__isnull=True
        )
        .values_list("tag_id")
        .annotate(n=Count("household_id"))
        .order_by()
    )
    resident_counts = dict(
        Resident.tags.through.objects.filter(
            resident__household__grid__path__startswith=area.path,
            resident__moved_out_on__isnull=True,
            resident__died_on__isnull=True,
        )
        .values_list("tag_id")
        .annotate(n=Count("resident_id"))
        .order_by()
    )
    return [
        TagCount(
            code=tag.code,
            name=tag.name,
            group=tag.group.name,
            target=tag.target,
            households=household_counts.get(tag.pk, 0),
            residents=resident_counts.get(tag.pk, 0),
        )
        for tag in Tag.objects.select_related("group")
        if tag.pk not in hidden
    ]


# --------------------------------------------------------------------- visits

HOUSEHOLD_VISITS_SHOWN = 20


def household_visits(household: Household, *, limit: int = HOUSEHOLD_VISITS_SHOWN) -> QuerySet[HouseholdVisit]:
    """Latest visits of a household the caller already got through `household_get_for_user`."""
    return (
        HouseholdVisit.objects.filter(household=household)
        .select_related("visitor")
        .order_by("-visited_on", "-id")[:limit]
    )
