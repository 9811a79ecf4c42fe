"""Reads for patrols, always through the caller's scope.

Who sees a patrol: the grid workers of its grid (the worker who walks it acts
on it), and community, town/street and county command staff whose area
contains the grid (read-only). Everyone else — departments, leaders,
residents, administrators — sees none. Out-of-scope and unknown patrols raise
the same Http404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.accounts.scope import AreaScope
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.cases.models import Category
from gridgov.cases.rules import duties_of
from gridgov.patrols.choices import PatrolStatus
from gridgov.patrols.models import CheckItem, Patrol, PatrolCheck, PatrolFinding, PatrolVisit
from gridgov.registry.models import Household

PATROL_VIEWER_ROLES = frozenset({Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.COUNTY_COMMAND})
OFFICE_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.COUNTY_COMMAND})
HOUSEHOLD_SEARCH_LIMIT = 20


def patrol_scope(user: Any) -> AreaScope:
    """The subtrees whose patrols the user may read."""
    return AreaScope.from_paths([duty.path for duty in duties_of(user) if duty.role in PATROL_VIEWER_ROLES])


def office_scope(user: Any) -> AreaScope:
    """The subtrees whose coverage the user may read (community staff and above)."""
    return AreaScope.from_paths([duty.path for duty in duties_of(user) if duty.role in OFFICE_ROLES])


def worker_grids(user: Any) -> list[Area]:
    """The general grids the user is a grid worker of."""
    paths = [duty.path for duty in duties_of(user) if duty.role == Role.GRID_WORKER]
    if not paths:
        return []
    return list(
        AreaScope.from_paths(paths)
        .filter(Area.objects.filter(level=AreaLevel.GRID), "path")
        .defer("geometry")
        .order_by("path")
    )


def patrols_visible_to(user: Any) -> QuerySet[Patrol]:
    """THE scoped patrol query: every list or detail of patrols starts here."""
    return patrol_scope(user).filter(Patrol.objects.all(), "grid__path")


def patrol_list_for_user(user: Any, *, mine: bool = False, status: str = "") -> QuerySet[Patrol]:
    """Patrols the user may see, newest first, with the counts list pages show."""
    patrols = patrols_visible_to(user)
    if mine:
        patrols = patrols.filter(worker_id=user.pk)
    if status:
        patrols = patrols.filter(status=status)
    return (
        patrols.select_related("worker", "grid")
        .defer("grid__geometry", "route")
        .annotate(
            check_count=_count_of(PatrolCheck),
            visit_count=_count_of(PatrolVisit),
            finding_count=_count_of(PatrolFinding),
        )
        .order_by("-started_at", "-id")
    )


def _count_of(model: type[PatrolCheck] | type[PatrolVisit] | type[PatrolFinding]) -> Coalesce:
    """Rows of `model` per patrol, as a subquery (joins of three child tables would multiply rows)."""
    counted = (
        model._default_manager.filter(patrol=OuterRef("pk"))
        .order_by()
        .values("patrol")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def patrol_get_for_user(user: Any, patrol_id: int) -> Patrol:
    """One patrol the user may see, with its checks, visits and findings; 404 otherwise."""
    try:
        return (
            patrols_visible_to(user)
            .select_related("worker", "grid__parent")
            .defer("grid__geometry", "grid__parent__geometry")
            .prefetch_related(
                Prefetch("checks", queryset=PatrolCheck.objects.select_related("item")),
                Prefetch("visits", queryset=PatrolVisit.objects.select_related("household")),
                Prefetch(
                    "findings",
                    queryset=PatrolFinding.objects.select_related("category", "check_item", "case").prefetch_related(
                        "photos"
                    ),
                ),
            )
            .get(pk=patrol_id)
        )
    except (Patrol.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error


def finding_get(patrol: Patrol, finding_id: int) -> PatrolFinding:
    """A finding of a patrol the caller already got through `patrol_get_for_user`."""
    finding = (
        PatrolFinding.objects.select_related("category", "check_item", "case", "patrol__grid")
        .filter(patrol=patrol, pk=finding_id)
        .first()
    )
    if finding is None:
        raise Http404
    return finding


def open_patrol_of(user: Any) -> Patrol | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Patrol.objects.select_related("grid").filter(worker_id=user.pk, status=PatrolStatus.OPEN).first()


def check_items() -> list[CheckItem]:
    return list(CheckItem.objects.filter(is_active=True).order_by("sort_order", "id"))


def check_item_get(item_id: int | str) -> CheckItem:
    items = CheckItem.objects.filter(is_active=True)
    if isinstance(item_id, str) and not item_id.isdigit():
        item = items.filter(code=item_id).first()
    else:
        item = items.filter(pk=int(item_id)).first()
    if item is None:
        raise Http404
    return item


def finding_categories() -> list[Category]:
    """Active categories a finding may be filed under (leaves and top levels), in code order."""
    return list(Category.objects.filter(is_active=True).order_by("code"))


def patrol_households_search(patrol: Patrol, query: str) -> list[Household]:
    """Current households of the patrol's grid whose address matches (no personal data involved)."""
    households = Household.objects.filter(grid_id=patrol.grid_id, moved_out_on__isnull=True)
    query = query.strip()
    if query:
        households = households.filter(address__contains=query)
    visited = [visit.household_id for visit in patrol.visits.all() if visit.household_id]
    return list(households.exclude(pk__in=visited).order_by("address", "id")[:HOUSEHOLD_SEARCH_LIMIT])


# --- Daily log ----------------------------------------------------------------------


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def log_worker_get_for_user(user: Any, worker_id: int) -> Any:
    """The grid worker whose log the user asks for: themselves, or a grid worker inside the user's scope."""
    from gridgov.accounts.models import User

    if worker_id == user.pk:
        return user
    scope = office_scope(user)
    assignments = RoleAssignment.objects.filter(user_id=worker_id, role=Role.GRID_WORKER).values_list(
        "area__path", flat=True
    )
    if scope.is_empty or not any(scope.covers(path) for path in assignments):
        raise Http404
    worker = User.objects.filter(pk=worker_id).first()
    if worker is None:
        raise Http404
    return worker


def daily_log(user: Any, *, worker: Any, day: date) -> list[Patrol]:
    """The worker's patrols started on `day` (local time) that the user may see, with everything done on them."""
    start, end = _day_bounds(day)
    return list(
        patrols_visible_to(user)
        .filter(worker=worker, started_at__gte=start, started_at__lt=end)
        .select_related("grid")
        .defer("grid__geometry")
        .prefetch_related(
            Prefetch("checks", queryset=PatrolCheck.objects.select_related("item")),
            Prefetch("visits", queryset=PatrolVisit.objects.select_related("household")),
            Prefetch("findings", queryset=PatrolFinding.objects.select_related("category", "case")),
        )
        .order_by("started_at", "id")
    )


# --- Weekly coverage ----------------------------------------------------------------


@dataclass(frozen=True)
class GridCoverage:
    grid: Area
    households: int
    visited: int
    patrols: int

    @property
    def percent(self) -> float:
        return round(100 * self.visited / self.households, 1) if self.households else 0.0


def coverage_communities(user: Any) -> QuerySet[Area]:
    return office_scope(user).filter(Area.objects.filter(level=AreaLevel.COMMUNITY), "path").defer("geometry")


def coverage_community_get(user: Any, code: str) -> Area:
    community = coverage_communities(user).select_related("parent").filter(code=code).first()
    if community is None:
        raise Http404
    return community


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weekly_coverage(community: Area, *, week: date) -> list[GridCoverage]:
    """Per grid of the community: households, households visited on a patrol that week, patrols that week.

    Three queries whatever the number of grids.
    """
    start, _ = _day_bounds(week_start(week))
    end = start + timedelta(days=7)
    grids = list(Area.objects.filter(level=AreaLevel.GRID, parent=community).defer("geometry").order_by("path"))
    household_counts = dict(
        Household.objects.filter(grid__in=grids, moved_out_on__isnull=True)
        .values_list("grid_id")
        .annotate(n=Count("id"))
        .values_list("grid_id", "n")
    )
    rows = (
        Patrol.objects.filter(grid__in=grids, started_at__gte=start, started_at__lt=end)
        .values_list("grid_id")
        .annotate(
            visited=Count(
                "visits__household",
                distinct=True,
                filter=Q(visits__household__grid_id=F("grid_id"), visits__household__moved_out_on__isnull=True),
            ),
            patrols=Count("id", distinct=True),
        )
        .values_list("grid_id", "visited", "patrols")
    )
    visited = {grid_id: (n_visited, n_patrols) for grid_id, n_visited, n_patrols in rows}
    return [
        GridCoverage(
            grid=grid,
            households=household_counts.get(grid.pk, 0),
            visited=visited.get(grid.pk, (0, 0))[0],
            patrols=visited.get(grid.pk, (0, 0))[1],
        )
        for grid in grids
    ]
