"""Every read of the area tree. Functions that take a `user` apply their scope;
out-of-scope and non-existent nodes raise the same `Http404`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Min, QuerySet, Sum
from django.db.models.functions import Substr
from django.http import Http404
from django.utils.translation import gettext as _

from gridding.geo import geometry_from_geojson
from gridding.index import PolygonIndex
from gridgov.accounts.choices import STAFF_ROLES, Capability, Role
from gridgov.accounts.scope import AreaScope, scope_for
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building, Compound, GeometryRevision

# ---------------------------------------------------------------- scoped reads


def area_scope(user: Any) -> AreaScope:
    return scope_for(user, Capability.VIEW_AREAS)


def area_list_for_user(user: Any) -> QuerySet[Area]:
    """All areas the user may see."""
    return area_scope(user).filter(Area.objects.all())


def area_get_for_user(user: Any, code: str) -> Area:
    """One area by code, or Http404 when it does not exist *or* lies outside the scope."""
    area = Area.objects.filter(code=code).select_related("parent").first()
    if area is None or not area_scope(user).covers(area.path):
        raise Http404(_("区域不存在或无权查看。"))
    return area


def area_roots_for_user(user: Any) -> list[Area]:
    """The top-most areas the user can see (one per independent assignment)."""
    paths = area_scope(user).paths
    if not paths:
        return []
    return list(Area.objects.filter(path__in=paths).order_by("path"))


def area_children_for_user(user: Any, area: Area) -> QuerySet[Area]:
    """The children of an area the user can see (the whole list, since the parent is in scope)."""
    return area_scope(user).filter(Area.objects.filter(parent=area)).order_by("code")


def area_path_prefixes(path: str) -> list[str]:
    """`370200/370281/012/` → [`370200/`, `370200/370281/`, `370200/370281/012/`]: the paths of the
    node and its ancestors, top first."""
    segments = [segment for segment in path.split("/") if segment]
    return ["".join(f"{segment}/" for segment in segments[: depth + 1]) for depth in range(len(segments))]


# Map coordinates leave the server rounded (6 decimals ≈ 0.1 m): float noise such as
# 36.190000000000005 adds nothing and its digit runs can look like phone numbers.
MAP_DECIMALS = 6


def areas_map_bounds(areas: QuerySet[Area]) -> list[list[float]] | None:
    """Leaflet bounds `[[south, west], [north, east]]` of the areas' bounding boxes, or None."""
    extent = areas.aggregate(Min("min_lon"), Min("min_lat"), Max("max_lon"), Max("max_lat"))
    if extent["min_lon__min"] is None:
        return None
    return [
        [round(extent["min_lat__min"], MAP_DECIMALS), round(extent["min_lon__min"], MAP_DECIMALS)],
        [round(extent["max_lat__max"], MAP_DECIMALS), round(extent["max_lon__max"], MAP_DECIMALS)],
    ]


def area_breadcrumbs_for_user(user: Any, area: Area) -> list[Area]:
    """Ancestors of `area` that lie inside the scope, top first, ending with `area`."""
    scope = area_scope(user)
    visible = [path for path in area_path_prefixes(area.path) if scope.covers(path)]
    by_path = {a.path: a for a in Area.objects.filter(path__in=visible)}
    return [by_path[path] for path in visible if path in by_path]


# ------------------------------------------------------------------ statistics


@dataclass(frozen=True)
class AreaStats:
    households: int = 0
    buildings: int = 0
    compounds: int = 0
    staff: int = 0
    grid_workers: int = 0
    grids: int = 0


def _grouped_by_prefix(
    queryset: QuerySet[Any], path_field: str, length: int, **aggregates: Any
) -> dict[str, dict[str, Any]]:
    rows = queryset.annotate(_prefix=Substr(path_field, 1, length)).values("_prefix").annotate(**aggregates).order_by()
    return {row.pop("_prefix"): row for row in rows}


def area_stats(areas: list[Area]) -> dict[int, AreaStats]:
    """Household, building, compound, staff and grid counts of each area's subtree.

    All areas must be siblings (same parent), so their paths have one length
    and each count is one grouped query, whatever the number of areas.
    """
    if not areas:
        return {}
    length = len(areas[0].path)
    if any(len(area.path) != length for area in areas):
        raise ValueError("area_stats expects areas of one level under one parent")
    paths = [area.path for area in areas]
    scope = AreaScope.from_paths(paths)
    microgrid_level = areas[0].level == AreaLevel.MICROGRID
    # A micro-grid's buildings are found through their own micro-grid link;
    # everything above through the grid the building belongs to.
    building_path = "microgrid__path" if microgrid_level else "grid__path"
    buildings = _grouped_by_prefix(
        scope.filter(Building.objects.all(), building_path),
        building_path,
        length,
        households=Sum("household_count"),
        buildings=Count("id"),
    )
    compound_path = "microgrid__path" if microgrid_level else "grid__path"
    compounds = _grouped_by_prefix(
        scope.filter(Compound.objects.all(), compound_path), compound_path, length, compounds=Count("id")
    )
    from gridgov.accounts.models import RoleAssignment

    staff = _grouped_by_prefix(
        scope.filter(RoleAssignment.objects.filter(role__in=STAFF_ROLES), "area__path"),
        "area__path",
        length,
        staff=Count("user", distinct=True),
    )
    workers = _grouped_by_prefix(
        scope.filter(RoleAssignment.objects.filter(role=Role.GRID_WORKER), "area__path"),
        "area__path",
        length,
        grid_workers=Count("user", distinct=True),
    )
    grids = _grouped_by_prefix(
        scope.filter(Area.objects.filter(level=AreaLevel.GRID)), "path", length, grids=Count("id")
    )
    result: dict[int, AreaStats] = {}
    for area in areas:
        key = area.path
        result[area.pk] = AreaStats(
            households=int(buildings.get(key, {}).get("households") or 0),
            buildings=int(buildings.get(key, {}).get("buildings") or 0),
            compounds=int(compounds.get(key, {}).get("compounds") or 0),
            staff=int(staff.get(key, {}).get("staff") or 0),
            grid_workers=int(workers.get(key, {}).get("grid_workers") or 0),
            grids=int(grids.get(key, {}).get("grids") or 0),
        )
    return result


def compounds_of_grid(grid: Area) -> QuerySet[Compound]:
    """Compounds of one grid (the caller has already checked the grid is in scope)."""
    return (
        Compound.objects.filter(grid=grid)
        .annotate(building_total=Count("buildings"), household_total=Sum("buildings__household_count"))
        .order_by("name")
    )


def buildings_of_area(area: Area) -> QuerySet[Building]:
    """Buildings of one grid or micro-grid (the caller has already checked scope)."""
    if area.level == AreaLevel.MICROGRID:
        return Building.objects.filter(microgrid=area).select_related("compound").order_by("compound__name", "name")
    return Building.objects.filter(grid=area).select_related("compound", "microgrid").order_by("compound__name", "name")


# -------------------------------------------------------------- point in grid

# How often a process asks the database whether the grid polygons changed.
GRID_INDEX_RECHECK_SECONDS = 5.0


@dataclass(frozen=True)
class GridHit:
    id: int
    code: str
    name: str
    path: str


class _GridIndexCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: PolygonIndex[str] | None = None
        self.hits: dict[str, GridHit] = {}
        self.revision: int | None = None
        self.checked_at = 0.0

    def clear(self) -> None:
        with self.lock:
            self.index = None
            self.hits = {}
            self.revision = None
            self.checked_at = 0.0


_grid_index = _GridIndexCache()


def grid_index_invalidate() -> None:
    """Forget this process's grid index (called on commit of a geometry change)."""
    _grid_index.clear()


def _current_revision() -> int:
    return GeometryRevision.objects.filter(key="areas").values_list("revision", flat=True).first() or 0


def _load_grid_index() -> tuple[PolygonIndex[str], dict[str, GridHit]]:
    items = []
    hits = {}
    for area in Area.objects.filter(level=AreaLevel.GRID, geometry__isnull=False).only(
        "id", "code", "name", "path", "geometry"
    ):
        if area.geometry is None:  # excluded by the filter; keeps the type checker honest
            continue
        items.append((area.code, geometry_from_geojson(area.geometry)))
        hits[area.code] = GridHit(id=area.pk, code=area.code, name=area.name, path=area.path)
    return PolygonIndex(items), hits


def grid_at(lon: float, lat: float) -> GridHit | None:
    """The general grid containing the WGS84 point, or None outside every grid.

    Uses an STRtree built once per process and rebuilt when the geometry
    revision in the database moves (checked at most every few seconds).
    """
    cache = _grid_index
    now = time.monotonic()
    index, hits = cache.index, cache.hits
    if index is None or now - cache.checked_at > GRID_INDEX_RECHECK_SECONDS:
        with cache.lock:
            revision = _current_revision()
            if cache.index is None or revision != cache.revision:
                cache.index, cache.hits = _load_grid_index()
                cache.revision = revision
            cache.checked_at = now
            # Read both under the lock so a concurrent invalidation cannot
            # hand us an index without its hits.
            index, hits = cache.index, cache.hits
    code = index.lookup(lon, lat) if index is not None else None
    return hits.get(code) if code is not None else None
