"""Fused general grids (全科网格): per village/community, buildings grouped into 300–500-household grids.

For each community (polygon with a 12-digit code: county 6 + town 3 +
community 3, domain.md §5):

1. its buildings are those whose point falls in it (`PolygonIndex`);
   buildings in no community are reported, not gridded;
2. **stability first**: every existing grid whose buildings in this
   community are already within the band and contiguous over the adjacency
   graph is kept as it is, and a contiguous existing grid above the band
   is split on its own (its pieces stay inside it); the remaining
   buildings are grouped by the
   partition engine (`gridding.partition`). If the remainder cannot be
   grouped, the community is grouped from scratch; if even that fails
   (e.g. 520 households with a 300–500 band: no whole number of grids
   fits), the lower bound is relaxed just enough and the community is
   flagged `band_relaxed`; a community below the minimum becomes one grid
   flagged `below_band`;
3. polygons: the Voronoi faces of the buildings cut by the community
   outline, unioned per grid, so the grids tile the community exactly
   (`gridding.tessellate.voronoi_faces`);
4. codes: the community code + a 3-digit sequence numbered west→east,
   north→south (CJ/T 213), i.e. 15 digits for a 12-digit community code;
5. stability is reported as the share of households whose new grid is the
   one matched to their old grid (each old grid matched to at most one new
   grid, greedily by shared households).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point
from shapely.geometry.base import BaseGeometry

from gridding.audit import repair_polygonal
from gridding.geo import LocalMetricProjection, geometry_to_geojson
from gridding.index import PolygonIndex
from gridding.io import BuildingInput, PolygonFeature, read_buildings, read_lines, read_polygons
from gridding.partition import (
    DEFAULT_TRIES,
    Band,
    CellShapes,
    FloatArray,
    PartitionError,
    adjacency_graph,
    group_polygons,
    partition_component,
    point_faces,
    polsby_popper,
    spread_duplicates,
)
from gridding.tessellate import order_west_east_north_south

DEFAULT_FUSE_BAND = Band(300, 500)
COMMUNITY_CODE_LENGTH = 12


@dataclass
class FusedGrid:
    code: str
    community: str
    buildings: list[int]  # indices into the community's building list
    households: int
    population: int
    polygon: BaseGeometry | None  # WGS84
    polygon_m: BaseGeometry | None
    in_band: bool
    kept_from: str | None = None
    polsby_popper: float | None = None


@dataclass
class CommunityFusion:
    community: PolygonFeature
    buildings: list[BuildingInput]
    grids: list[FusedGrid]
    status: str  # ok | below_band | band_relaxed | no_buildings
    graph: nx.Graph
    outline_m: BaseGeometry
    households_with_old_grid: int = 0
    households_kept: int = 0
    old_grids_kept_whole: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def households(self) -> int:
        return sum(building.households for building in self.buildings)


def _groups_for(
    graph: nx.Graph,
    weights: Sequence[int],
    xy: FloatArray,
    band: Band,
    old: Sequence[str | None],
    rng: random.Random,
    tries: int,
    shapes: CellShapes | None = None,
) -> tuple[list[list[int]], str, int]:
    """(groups, status, old grids kept whole) for all nodes of `graph`."""
    nodes = sorted(graph.nodes)
    total = sum(weights[node] for node in nodes)
    if total < band.low:
        return [nodes], "below_band", 0
    heavy = [node for node in nodes if weights[node] > band.high]
    light = [node for node in nodes if weights[node] <= band.high]
    base = graph.subgraph(light)

    def cut(nodes_to_group: Sequence[int], use_band: Band) -> list[list[int]]:
        sub = base.subgraph(nodes_to_group)
        groups: list[list[int]] = []
        for component in sorted((sorted(c) for c in nx.connected_components(sub)), key=lambda c: c[0]):
            groups.extend(
                partition_component(sub, component, weights, xy, use_band, rng=rng, tries=tries, shapes=shapes).groups
            )
        return groups

    fixed: list[list[int]] = []
    by_old: dict[str, list[int]] = {}
    for node in light:
        label = old[node]
        if label is not None:
            by_old.setdefault(label, []).append(node)
    for label in sorted(by_old):
        members = by_old[label]
        if not nx.is_connected(base.subgraph(members)):
            continue
        weight = sum(weights[n] for n in members)
        if band.contains(weight):
            fixed.append(sorted(members))
        elif weight > band.high:
            # Too big: split it on its own, so each piece stays inside the old grid.
            try:
                fixed.extend(
                    partition_component(base, members, weights, xy, band, rng=rng, tries=tries, shapes=shapes).groups
                )
            except PartitionError:
                continue
    taken = {node for group in fixed for node in group}
    heavy_groups = [[node] for node in heavy]
    if fixed:
        try:
            return heavy_groups + fixed + cut([n for n in light if n not in taken], band), "ok", len(fixed)
        except PartitionError:
            pass
    try:
        return heavy_groups + cut(light, band), "ok", 0
    except PartitionError:
        pass
    # No whole number of band-sized grids fits (or none was found): lower the minimum as little as needed.
    light_total = sum(weights[n] for n in light)
    count = max(1, math.ceil(light_total / band.high))
    # If even that fails (a small piece of the community cut off from the rest weighs less than the
    # lowered minimum), any weight up to the maximum will do: every grid still stays within it.
    for relaxed in (Band(min(band.low, light_total // count), band.high), Band(min(band.low, 1), band.high)):
        try:
            return heavy_groups + cut(light, relaxed), "band_relaxed", 0
        except PartitionError:
            continue
    return heavy_groups + [sorted(light)], "band_relaxed", 0


def _match_old(groups: Sequence[Sequence[int]], weights: Sequence[int], old: Sequence[str | None]) -> dict[int, str]:
    """Each new group's matched old grid (one-to-one, greedy on shared households)."""
    shared: dict[tuple[int, str], int] = {}
    for index, group in enumerate(groups):
        for node in group:
            label = old[node]
            if label is not None:
                shared[(index, label)] = shared.get((index, label), 0) + weights[node]
    matched: dict[int, str] = {}
    used: set[str] = set()
    for (index, label), amount in sorted(shared.items(), key=lambda item: (-item[1], item[0])):
        if index in matched or label in used or amount <= 0:
            continue
        matched[index] = label
        used.add(label)
    return matched


def fuse_community(
    community: PolygonFeature,
    buildings: Sequence[BuildingInput],
    *,
    old_grids: Sequence[str | None] | None = None,
    band: Band = DEFAULT_FUSE_BAND,
    seed: int = 0,
    max_edge_m: float | None = None,
    barriers: Sequence[BaseGeometry] = (),
    tries: int = DEFAULT_TRIES,
) -> CommunityFusion:
    """General grids for one community from the buildings inside it (see the module docstring)."""
    buildings = list(buildings)
    old = list(old_grids) if old_grids is not None else [b.old_grid for b in buildings]
    projection = LocalMetricProjection.around(shapely.envelope(community.geometry))
    outline_m, _ = repair_polygonal(projection.to_metres(community.geometry))
    code = community.id
    weights = [b.households for b in buildings]
    notes: list[str] = []
    if len(code) != COMMUNITY_CODE_LENGTH or not code.isdigit():
        notes.append("community_code_not_12_digits")

    if not buildings:
        grid = FusedGrid(
            code=f"{code}001",
            community=code,
            buildings=[],
            households=0,
            population=0,
            polygon=projection.to_degrees(outline_m),
            polygon_m=outline_m,
            in_band=band.contains(0),
            polsby_popper=round(polsby_popper(outline_m), 4),
        )
        return CommunityFusion(community, buildings, [grid], "no_buildings", nx.Graph(), outline_m, notes=notes)

    points = np.array(
        [shapely.get_coordinates(projection.to_metres(Point(b.lon, b.lat)))[0] for b in buildings], dtype=np.float64
    )
    xy = spread_duplicates(points)
    rng = random.Random(seed)  # noqa: S311 (reproducible layout, not secrets)
    barriers_m = [projection.to_metres(line) for line in barriers]
    graph = adjacency_graph(xy, max_edge_m=max_edge_m, barriers=barriers_m).graph
    faces_of = point_faces(outline_m, xy)
    shapes = CellShapes.from_faces(faces_of)
    groups, status, kept_whole = _groups_for(graph, weights, xy, band, old, rng, tries, shapes)
    if any(weight > band.high for weight in weights):
        notes.append("building_above_max")
    if status != "ok" and barriers_m:
        # The roads cut off a block that cannot be gridded on its own: grid across them instead.
        open_graph = adjacency_graph(xy, max_edge_m=max_edge_m).graph
        retry = _groups_for(open_graph, weights, xy, band, old, rng, tries, shapes)
        if retry[1] == "ok":
            graph, (groups, status, kept_whole) = open_graph, retry
            notes.append("ignored_barriers")

    polygons: list[BaseGeometry] = [
        polygon if not polygon.is_empty else MultiPoint([tuple(xy[n]) for n in group])
        for polygon, group in zip(group_polygons(faces_of, groups, xy), groups, strict=True)
    ]

    matched = _match_old(groups, weights, old)
    order = order_west_east_north_south(polygons)
    grids: list[FusedGrid] = []
    for number, position in enumerate(order, start=1):
        group = sorted(groups[position])
        shape_m = polygons[position]
        polygonal = shape_m.geom_type in ("Polygon", "MultiPolygon") and not shape_m.is_empty
        households = sum(weights[n] for n in group)
        grids.append(
            FusedGrid(
                code=f"{code}{number:03d}",
                community=code,
                buildings=group,
                households=households,
                population=sum(buildings[n].population or 0 for n in group),
                polygon=projection.to_degrees(shape_m) if polygonal else None,
                polygon_m=shape_m if polygonal else None,
                in_band=band.contains(households),
                kept_from=matched.get(position),
                polsby_popper=round(polsby_popper(shape_m), 4) if polygonal else None,
            )
        )
    with_old = sum(w for w, label in zip(weights, old, strict=True) if label is not None)
    kept = sum(
        weights[n]
        for position, group in enumerate(groups)
        for n in group
        if old[n] is not None and old[n] == matched.get(position)
    )
    return CommunityFusion(
        community=community,
        buildings=buildings,
        grids=grids,
        status=status,
        graph=graph,
        outline_m=outline_m,
        households_with_old_grid=with_old,
        households_kept=kept,
        old_grids_kept_whole=kept_whole,
        notes=notes,
    )


@dataclass
class FusionResult:
    communities: list[CommunityFusion]
    unassigned: list[BuildingInput]
    band: Band
    geojson: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


def fuse(
    communities: Sequence[PolygonFeature],
    buildings: Sequence[BuildingInput],
    *,
    existing: Sequence[PolygonFeature] = (),
    band: Band = DEFAULT_FUSE_BAND,
    seed: int = 0,
    max_edge_m: float | None = None,
    barriers: Sequence[BaseGeometry] = (),
    tries: int = DEFAULT_TRIES,
) -> FusionResult:
    """General grids for every community; old grids from the buildings' `grid` or the `existing` polygons."""
    community_index = PolygonIndex([(feature.id, feature.geometry) for feature in communities])
    existing_index = PolygonIndex([(feature.id, feature.geometry) for feature in existing]) if existing else None
    members: dict[str, list[BuildingInput]] = {feature.id: [] for feature in communities}
    old_of: dict[str, list[str | None]] = {feature.id: [] for feature in communities}
    unassigned: list[BuildingInput] = []
    for building in buildings:
        key = community_index.lookup(building.lon, building.lat)
        if key is None:
            unassigned.append(building)
            continue
        members[key].append(building)
        old = building.old_grid
        if old is None and existing_index is not None:
            old = existing_index.lookup(building.lon, building.lat)
        old_of[key].append(old)
    results = [
        fuse_community(
            feature,
            members[feature.id],
            old_grids=old_of[feature.id],
            band=band,
            seed=seed,
            max_edge_m=max_edge_m,
            barriers=barriers,
            tries=tries,
        )
        for feature in communities
    ]
    result = FusionResult(communities=results, unassigned=unassigned, band=band)
    result.geojson = fusion_to_geojson(result)
    result.report = fusion_report(result)
    return result


def fusion_to_geojson(result: FusionResult) -> dict[str, Any]:
    """One Polygon per grid (code, community, households, population, kept_from …), then the building points."""
    features: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    for community in result.communities:
        for grid in community.grids:
            features.append(
                {
                    "type": "Feature",
                    "geometry": geometry_to_geojson(grid.polygon) if grid.polygon is not None else None,
                    "properties": {
                        "code": grid.code,
                        "community": grid.community,
                        "households": grid.households,
                        "population": grid.population,
                        "buildings": len(grid.buildings),
                        "in_band": grid.in_band,
                        "kept_from": grid.kept_from,
                        "polsby_popper": grid.polsby_popper,
                    },
                }
            )
            for node in grid.buildings:
                building = community.buildings[node]
                points.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [building.lon, building.lat]},
                        "properties": {**building.properties, "grid": grid.code, "old_grid": building.old_grid},
                    }
                )
    for building in result.unassigned:
        points.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [building.lon, building.lat]},
                "properties": {**building.properties, "grid": None, "flagged": "outside_communities"},
            }
        )
    return {"type": "FeatureCollection", "features": features + points}


def fusion_report(result: FusionResult) -> dict[str, Any]:
    communities: list[dict[str, Any]] = []
    for community in result.communities:
        with_old, kept = community.households_with_old_grid, community.households_kept
        communities.append(
            {
                "code": community.community.id,
                "name": community.community.name,
                "households": community.households,
                "buildings": len(community.buildings),
                "grids": len(community.grids),
                "grids_in_band": sum(grid.in_band for grid in community.grids),
                "status": community.status,
                "notes": community.notes,
                "households_with_old_grid": with_old,
                "households_kept": kept,
                "stability_share": round(kept / with_old, 4) if with_old else None,
                "old_grids_kept_whole": community.old_grids_kept_whole,
                "mean_polsby_popper": round(
                    float(np.mean([g.polsby_popper for g in community.grids if g.polsby_popper is not None] or [0.0])),
                    4,
                ),
            }
        )
    with_old = sum(c["households_with_old_grid"] for c in communities)
    kept = sum(c["households_kept"] for c in communities)
    return {
        "band": {"low": result.band.low, "high": result.band.high},
        "communities": communities,
        "grids": sum(c["grids"] for c in communities),
        "grids_in_band": sum(c["grids_in_band"] for c in communities),
        "households": sum(c["households"] for c in communities),
        "households_with_old_grid": with_old,
        "households_kept": kept,
        "stability_share": round(kept / with_old, 4) if with_old else None,
        "unassigned_buildings": [building.id for building in result.unassigned],
        "communities_outside_band": [c["code"] for c in communities if c["status"] != "ok"],
    }


def fuse_files(
    *,
    buildings_path: str | Path,
    communities_path: str | Path,
    existing_path: str | Path | None = None,
    roads_path: str | Path | None = None,
    band: Band = DEFAULT_FUSE_BAND,
    seed: int = 0,
    max_edge_m: float | None = None,
) -> FusionResult:
    buildings = read_buildings(buildings_path)
    communities = read_polygons(communities_path, id_keys=("code", "id"))
    existing = read_polygons(existing_path, allow_empty=True) if existing_path else []
    barriers = read_lines(roads_path) if roads_path else []
    return fuse(
        communities, buildings, existing=existing, band=band, seed=seed, max_edge_m=max_edge_m, barriers=barriers
    )


_STATUS = {
    "ok": "户数均在区间内",
    "below_band": "总户数不足下限，整体作为一个网格",
    "band_relaxed": "无法全部满足区间，已放宽下限",
    "no_buildings": "无楼栋",
}


def fuse_summary(report: dict[str, Any], *, limit: int = 20) -> str:
    band = report["band"]
    lines = [
        f"全科网格方案：{len(report['communities'])} 个村/社区，{report['households']} 户，"
        f"共 {report['grids']} 个网格，其中 {report['grids_in_band']} 个在 {band['low']}–{band['high']} 户区间内。",
    ]
    if report["stability_share"] is not None:
        lines.append(
            f"稳定性：有原网格的 {report['households_with_old_grid']} 户中，"
            f"{report['households_kept']} 户（{report['stability_share'] * 100:.1f}%）留在原网格。"
        )
    for community in report["communities"][:limit]:
        lines.append(
            f"  {community['name'] or community['code']}（{community['code']}）：{community['households']} 户，"
            f"{community['grids']} 个网格，{_STATUS.get(community['status'], community['status'])}。"
        )
    if len(report["communities"]) > limit:
        lines.append(f"  ……另有 {len(report['communities']) - limit} 个村/社区，见 JSON 报告。")
    if report["unassigned_buildings"]:
        ids = report["unassigned_buildings"]
        lines.append(f"注意：{len(ids)} 栋楼不在任何村/社区范围内，未纳入网格：{'、'.join(ids[:limit])}")
    return "\n".join(lines)
