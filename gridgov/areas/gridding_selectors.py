"""Micro-grid proposals (微网格划分方案) for one general grid, computed on request.

A proposal is never stored: `microgrid_plan` runs `gridding.micro` on the
grid's buildings (deterministic for a band and a seed), and carries a
fingerprint of the buildings it was computed from. Applying it
(`gridding_services.microgrid_plan_apply`) recomputes the same proposal and
refuses when the fingerprint no longer matches — the buildings changed since
the page was shown.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridding.geo import geometry_from_geojson, geometry_to_geojson
from gridding.io import BuildingInput
from gridding.micro import micro_grids
from gridding.partition import Band, PartitionError
from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building, Compound
from gridgov.areas.selectors import area_get_for_user

MICRO_BAND_DEFAULT = (30, 100)
# Proposals are deterministic: the same buildings and band give the same plan.
MICRO_SEED = 0


class PlanInfeasible(Exception):
    """The grid's buildings cannot be grouped as asked; `message` says why, in Chinese."""

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


# ------------------------------------------------------------- access checks


def can_plan_microgrids(user: Any, area: Area) -> bool:
    """May `user` propose and apply micro-grids for this (general grid) area?"""
    return area.level == AreaLevel.GRID and scope_for(user, Capability.MANAGE_AREAS).covers(area.path)


def _area_for_planning(
    user: Any, code: str, *, level: str, wrong_level: str, may_plan: Callable[[Any, Area], bool]
) -> Area:
    """The area `code` of `level` for a planning page: 404 when it does not exist, lies outside the
    user's view scope or is of another level (`wrong_level` says why); 403 when the user sees it but
    `may_plan(user, area)` is false."""
    area = area_get_for_user(user, code)
    if area.level != level:
        raise Http404(wrong_level)
    if not may_plan(user, area):
        raise PermissionDenied(_("您没有维护该区域网格的权限。"))
    return area


def grid_for_planning(user: Any, code: str) -> Area:
    """The general grid `code` for the micro-grid planning pages."""
    return _area_for_planning(
        user, code, level=AreaLevel.GRID, wrong_level=_("只有一般网格可以划分微网格。"), may_plan=can_plan_microgrids
    )


# ------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class ProposedMicrogrid:
    code: str
    name: str
    households: int
    building_ids: list[int]
    in_band: bool
    oversize: bool
    polsby_popper: float | None
    geometry: dict[str, Any] | None
    existing: bool  # an existing micro-grid has this code and will be reused


@dataclass(frozen=True)
class CurrentMicrogrid:
    code: str
    name: str
    households: int
    building_count: int
    geometry: dict[str, Any] | None


@dataclass
class MicroPlan:
    grid: Area
    band: Band
    fingerprint: str
    buildings: list[Building]
    proposed: list[ProposedMicrogrid]
    current: list[CurrentMicrogrid]
    assignment: dict[int, str]  # building pk → proposed micro-grid code
    moved: int  # buildings whose micro-grid would change
    unassigned_before: int  # buildings in no micro-grid today
    flagged: list[str] = field(default_factory=list)  # buildings above the maximum (own micro-grid)
    outside: list[str] = field(default_factory=list)  # buildings outside the grid's outline

    @property
    def households(self) -> int:
        return sum(row.households for row in self.proposed)

    @property
    def in_band_share(self) -> float:
        return sum(row.in_band for row in self.proposed) / len(self.proposed) if self.proposed else 0.0

    @property
    def mean_polsby_popper(self) -> float | None:
        scores = [row.polsby_popper for row in self.proposed if row.polsby_popper is not None]
        return round(sum(scores) / len(scores), 3) if scores else None

    def map_config(self) -> dict[str, Any]:
        """What the page's map draws: the grid outline, current and proposed micro-grids, the buildings."""
        return {
            "selfGeometry": self.grid.geometry,
            "current": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": row.geometry,
                        "properties": {"code": row.code, "name": row.name, "households": row.households},
                    }
                    for row in self.current
                    if row.geometry
                ],
            },
            "proposed": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": row.geometry,
                        "properties": {
                            "code": row.code,
                            "name": row.name,
                            "households": row.households,
                            "buildings": len(row.building_ids),
                            "in_band": row.in_band,
                            "polsby_popper": row.polsby_popper,
                        },
                    }
                    for row in self.proposed
                    if row.geometry
                ],
            },
            "buildings": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [building.lon, building.lat]},
                        "properties": {
                            "name": building_label(building),
                            "households": building.household_count,
                            "proposed": self.assignment[building.pk],
                            "current": building.microgrid.code if building.microgrid else None,
                        },
                    }
                    for building in self.buildings
                ],
            },
        }


def building_label(building: Building) -> str:
    return f"{building.compound.name} {building.name}" if building.compound else building.name


def grid_buildings(grid: Area) -> list[Building]:
    """The buildings of one general grid, in a stable order (the caller has checked scope)."""
    return list(Building.objects.filter(grid=grid).select_related("compound", "microgrid").order_by("pk"))


def grid_microgrids(grid: Area) -> list[Area]:
    return list(Area.objects.filter(parent=grid, level=AreaLevel.MICROGRID).order_by("code"))


def buildings_fingerprint(buildings: Sequence[Building], microgrids: Sequence[Area]) -> str:
    """A digest of everything a proposal depends on: each building's place, size and micro-grid,
    and the grid's micro-grid codes."""
    payload = {
        "buildings": [
            [b.pk, b.lon, b.lat, b.household_count, b.unit_count, b.microgrid_id] for b in sorted(buildings, key=_pk)
        ],
        "microgrids": sorted(area.code for area in microgrids),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


def _pk(building: Building) -> int:
    return int(building.pk)


def microgrid_name(grid: Area, code: str) -> str:
    return _("%(grid)s第%(number)d微网格") % {"grid": grid.name, "number": int(code[-3:])}


def microgrid_plan(grid: Area, *, low: int, high: int, seed: int = MICRO_SEED) -> MicroPlan:
    """Propose micro-grids of `low`–`high` households for `grid`'s buildings.

    Raises `PlanInfeasible` (Chinese message) when the buildings cannot be
    grouped: none at all, some without coordinates, or the band cannot be met.
    """
    try:
        band = Band(low, high)
    except PartitionError as error:
        raise PlanInfeasible(_partition_message(error, {}), error.kind) from error
    buildings = grid_buildings(grid)
    microgrids = grid_microgrids(grid)
    fingerprint = buildings_fingerprint(buildings, microgrids)
    if not buildings:
        raise PlanInfeasible(_("该网格还没有楼栋，无法划分微网格。"), "empty")
    missing = [building_label(b) for b in buildings if b.lon is None or b.lat is None]
    if missing:
        raise PlanInfeasible(
            _("以下 %(count)d 栋楼栋没有坐标，请先补全经纬度再划分：%(names)s")
            % {"count": len(missing), "names": "、".join(missing[:12]) + ("……" if len(missing) > 12 else "")},
            "no_coordinates",
        )
    inputs = [
        BuildingInput(id=str(b.pk), lon=float(b.lon or 0), lat=float(b.lat or 0), households=b.household_count)
        for b in buildings
    ]
    boundary = geometry_from_geojson(grid.geometry) if grid.geometry else None
    names = {str(b.pk): building_label(b) for b in buildings}
    try:
        result = micro_grids(inputs, band=band, seed=seed, boundary=boundary, code_prefix=grid.code)
    except PartitionError as error:
        raise PlanInfeasible(_partition_message(error, names), error.kind) from error

    by_code = {area.code: area for area in microgrids}
    assignment: dict[int, str] = {}
    proposed: list[ProposedMicrogrid] = []
    for row in result.grids:
        building_ids = sorted({int(inputs[result.pieces[node].building].id) for node in row.nodes})
        for pk in building_ids:
            assignment[pk] = row.code
        existing = by_code.get(row.code)
        proposed.append(
            ProposedMicrogrid(
                code=row.code,
                name=existing.name if existing else microgrid_name(grid, row.code),
                households=row.households,
                building_ids=building_ids,
                in_band=band.contains(row.households),
                oversize=row.oversize,
                polsby_popper=row.polsby_popper,
                geometry=geometry_to_geojson(row.polygon) if row.polygon is not None else None,
                existing=existing is not None,
            )
        )
    households_now: dict[int, list[int]] = {}
    for b in buildings:
        if b.microgrid_id is not None:
            households_now.setdefault(b.microgrid_id, []).append(b.household_count)
    current = [
        CurrentMicrogrid(
            code=area.code,
            name=area.name,
            households=sum(households_now.get(area.pk, [])),
            building_count=len(households_now.get(area.pk, [])),
            geometry=area.geometry,
        )
        for area in microgrids
    ]
    moved = sum(1 for b in buildings if (b.microgrid.code if b.microgrid else None) != assignment[b.pk])
    return MicroPlan(
        grid=grid,
        band=band,
        fingerprint=fingerprint,
        buildings=buildings,
        proposed=proposed,
        current=current,
        assignment=assignment,
        moved=moved,
        unassigned_before=sum(1 for b in buildings if b.microgrid_id is None),
        flagged=[names[i] for i in result.flagged if i in names],
        outside=[names[i] for i in result.outside_boundary if i in names],
    )


def _partition_message(error: PartitionError, names: Mapping[str, str]) -> str:
    """The library's reason, in Chinese, naming buildings by their platform names."""
    params = error.params
    listed = [names.get(str(item), str(item)) for item in params.get("buildings", [])]
    buildings = "、".join(listed)
    if params.get("more"):
        buildings += _(" 等共 %(count)d 栋") % {"count": params.get("building_count", len(listed))}
    values = {
        "total": params.get("total", "?"),
        "low": params.get("low", "?"),
        "high": params.get("high", "?"),
        "buildings": buildings,
    }
    templates = {
        "bad_band": _("户数区间无效：下限 %(low)s、上限 %(high)s（须 0 ≤ 下限 ≤ 上限，上限 ≥ 1）。"),
        "empty": _("该网格还没有楼栋，无法划分微网格。"),
        "total_below_min": _("全网格楼栋合计 %(total)s 户，少于每个微网格的下限 %(low)s 户，无法划分。"),
        "total_no_group_count": _(
            "全网格楼栋合计 %(total)s 户，无法分成若干个 %(low)s–%(high)s 户的微网格（任何个数都不满足区间）。"
        ),
        "component_below_min": _(
            "有一片楼栋与其他楼栋相距过远，合计 %(total)s 户，少于下限 %(low)s 户：%(buildings)s。"
        ),
        "no_group_count": _(
            "有一片相连的楼栋合计 %(total)s 户，无法分成若干个 %(low)s–%(high)s 户的微网格：%(buildings)s。"
        ),
        "not_found": _(
            "未能把一片相连的楼栋（合计 %(total)s 户）划分为 %(low)s–%(high)s 户且连片的微网格"
            "（已尝试多种划分，这不是不可行的证明）：%(buildings)s。可放宽户数区间。"
        ),
        "no_partition": _(
            "一片相连的楼栋（合计 %(total)s 户）已穷举全部划分方式，确实无法分成 %(low)s–%(high)s 户且连片的"
            "微网格：%(buildings)s。可放宽户数区间。"
        ),
    }
    template = templates.get(error.kind)
    if template is None:
        return _("无法生成方案（%(kind)s）。") % {"kind": error.kind}
    return template % values


# ------------------------------------------------- general grids of a community

GRID_BAND_DEFAULT = (300, 500)

FUSION_STATUS = {
    "below_band": gettext_lazy("该村/社区总户数不足下限，整体作为一个网格。"),
    "band_relaxed": gettext_lazy("无法让每个网格都达到下限，已把下限放宽到刚好可行。"),
    "no_buildings": gettext_lazy("该村/社区没有楼栋，整体作为一个网格。"),
}


def can_plan_grids(user: Any, area: Area) -> bool:
    """May `user` propose general grids for this (village/community) area?"""
    return area.level == AreaLevel.COMMUNITY and scope_for(user, Capability.MANAGE_AREAS).covers(area.path)


def community_for_planning(user: Any, code: str) -> Area:
    """The village/community `code` for the general-grid proposal."""
    return _area_for_planning(
        user, code, level=AreaLevel.COMMUNITY, wrong_level=_("只有村/社区可以划分一般网格。"), may_plan=can_plan_grids
    )


@dataclass(frozen=True)
class ProposedGrid:
    code: str
    households: int
    building_count: int
    in_band: bool
    kept_from: str | None  # the current grid it matches (most shared households), if any
    polsby_popper: float | None
    geometry: dict[str, Any] | None


@dataclass
class GridPlan:
    community: Area
    band: Band
    status: str  # ok | below_band | band_relaxed | no_buildings (gridding.fuse)
    proposed: list[ProposedGrid]
    current: list[CurrentMicrogrid]  # the current general grids (same figures as micro-grids)
    buildings: list[Building]
    assignment: dict[int, str]  # building pk → proposed grid code
    moved: int  # buildings whose proposed grid is not the one matched to their current grid
    stability_share: float | None  # households keeping their (matched) grid ÷ households with a grid
    fingerprint: str = ""
    compounds: list[Compound] = field(default_factory=list)

    @property
    def status_message(self) -> str:
        return str(FUSION_STATUS.get(self.status, ""))

    @property
    def households(self) -> int:
        return sum(row.households for row in self.proposed)

    @property
    def in_band_share(self) -> float:
        return sum(row.in_band for row in self.proposed) / len(self.proposed) if self.proposed else 0.0

    @property
    def mean_polsby_popper(self) -> float | None:
        scores = [row.polsby_popper for row in self.proposed if row.polsby_popper is not None]
        return round(sum(scores) / len(scores), 3) if scores else None

    def map_config(self) -> dict[str, Any]:
        def collection(rows: Sequence[Any], properties: Any) -> dict[str, Any]:
            return {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "geometry": row.geometry, "properties": properties(row)}
                    for row in rows
                    if row.geometry
                ],
            }

        return {
            "selfGeometry": self.community.geometry,
            "labels": {"current": _("现有网格"), "proposed": _("方案网格")},
            "current": collection(
                self.current, lambda row: {"code": row.code, "name": row.name, "households": row.households}
            ),
            "proposed": collection(
                self.proposed,
                lambda row: {
                    "code": row.code,
                    "name": row.code,
                    "households": row.households,
                    "buildings": row.building_count,
                    "in_band": row.in_band,
                    "polsby_popper": row.polsby_popper,
                },
            ),
            "buildings": {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [b.lon, b.lat]},
                        "properties": {
                            "name": building_label(b),
                            "households": b.household_count,
                            "proposed": self.assignment[b.pk],
                            "current": b.grid.code,
                        },
                    }
                    for b in self.buildings
                ],
            },
        }


def grid_plan(community: Area, *, low: int, high: int, seed: int = MICRO_SEED) -> GridPlan:
    """Propose general grids of `low`–`high` households for a village/community (`gridding.fuse`).

    A compound (小区) is never split between grids: it goes to the library as
    one point (its buildings' mean position, their households summed);
    buildings outside any compound go one by one. As stable as possible
    against the current grids; computed on request, never stored. Raises
    `PlanInfeasible` when there is no outline, a building has no coordinates,
    or the library reports the band impossible.
    """
    from gridding.fuse import fuse_community
    from gridding.io import PolygonFeature

    try:
        band = Band(low, high)
    except PartitionError as error:
        raise PlanInfeasible(_partition_message(error, {}), error.kind) from error
    if not community.geometry:
        raise PlanInfeasible(_("该村/社区尚未导入边界，无法划分网格。"), "no_outline")
    grids = list(Area.objects.filter(parent=community, level=AreaLevel.GRID).order_by("code"))
    buildings = list(
        Building.objects.filter(grid__in=grids)
        .select_related("compound", "grid", "microgrid")
        .order_by("grid__code", "pk")
    )
    compounds = list(Compound.objects.filter(grid__in=grids).order_by("pk"))
    missing = [building_label(b) for b in buildings if b.lon is None or b.lat is None]
    if missing:
        raise PlanInfeasible(
            _("以下 %(count)d 栋楼栋没有坐标，请先补全经纬度再划分：%(names)s")
            % {"count": len(missing), "names": "、".join(missing[:12]) + ("……" if len(missing) > 12 else "")},
            "no_coordinates",
        )
    fingerprint = _grid_fingerprint(community, grids, buildings, compounds)
    # One library point per compound, and per building outside any compound.
    units: dict[str, list[Building]] = {}
    for b in buildings:
        units.setdefault(f"c{b.compound_id}" if b.compound_id else f"b{b.pk}", []).append(b)
    keys = list(units)
    inputs = [
        BuildingInput(
            id=key,
            lon=sum(float(b.lon or 0) for b in units[key]) / len(units[key]),
            lat=sum(float(b.lat or 0) for b in units[key]) / len(units[key]),
            households=sum(b.household_count for b in units[key]),
            old_grid=units[key][0].grid.code,
        )
        for key in keys
    ]
    feature = PolygonFeature(
        index=0, id=community.code, name=community.name, geometry=geometry_from_geojson(community.geometry)
    )
    names = {
        key: (members[0].compound.name if members[0].compound else building_label(members[0]))
        for key, members in units.items()
    }
    try:
        fusion = fuse_community(feature, inputs, band=band, seed=seed)
    except PartitionError as error:
        raise PlanInfeasible(_partition_message(error, names), error.kind) from error
    assignment: dict[int, str] = {}
    matched: dict[str, str | None] = {}
    proposed: list[ProposedGrid] = []
    for row in fusion.grids:
        members = [b for index in row.buildings for b in units[keys[index]]]
        for b in members:
            assignment[b.pk] = row.code
        matched[row.code] = row.kept_from
        proposed.append(
            ProposedGrid(
                code=row.code,
                households=row.households,
                building_count=len(members),
                in_band=row.in_band,
                kept_from=row.kept_from,
                polsby_popper=row.polsby_popper,
                geometry=geometry_to_geojson(row.polygon) if row.polygon is not None else None,
            )
        )
    households_now: dict[int, list[int]] = {}
    for b in buildings:
        households_now.setdefault(b.grid_id, []).append(b.household_count)
    current = [
        CurrentMicrogrid(
            code=grid.code,
            name=grid.name,
            households=sum(households_now.get(grid.pk, [])),
            building_count=len(households_now.get(grid.pk, [])),
            geometry=grid.geometry,
        )
        for grid in grids
    ]
    return GridPlan(
        community=community,
        band=band,
        status=fusion.status,
        proposed=proposed,
        current=current,
        buildings=buildings,
        assignment=assignment,
        moved=sum(1 for b in buildings if matched.get(assignment[b.pk]) != b.grid.code),
        stability_share=(
            fusion.households_kept / fusion.households_with_old_grid if fusion.households_with_old_grid else None
        ),
        fingerprint=fingerprint,
        compounds=compounds,
    )


def _grid_fingerprint(
    community: Area, grids: Sequence[Area], buildings: Sequence[Building], compounds: Sequence[Compound]
) -> str:
    payload = {
        "outline": community.geometry,
        "grids": [area.code for area in grids],
        "buildings": [
            [b.pk, b.lon, b.lat, b.household_count, b.grid_id, b.compound_id, b.microgrid_id]
            for b in sorted(buildings, key=_pk)
        ],
        "compounds": [[c.pk, c.grid_id, c.name, c.microgrid_id] for c in compounds],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]
