"""Micro-grids (微网格): one general grid's buildings in contiguous groups of 30–100 households.

`micro_grids` takes building points (WGS84) and returns the groups, their
codes and polygons; `micro_result_to_geojson` writes what the `micro` command
outputs. The grouping itself is `gridding.partition` (see there for why every
group is in band or the input is reported infeasible).

A building is never split unless it alone has more households than the
maximum: then its `units` (单元/楼层, with their own household counts) become
separate pieces, placed on a small circle around the building so each owns a
sector of the building's cell; without units the building is *flagged* and
becomes a micro-grid of its own (`oversize`), the only groups allowed above
the maximum. A flagged building is taken out of the adjacency graph.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import MultiPoint, Point
from shapely.geometry.base import BaseGeometry

from gridding.geo import LocalMetricProjection, geometry_to_geojson
from gridding.io import BuildingInput
from gridding.partition import (
    DEFAULT_TRIES,
    Band,
    CellShapes,
    FloatArray,
    PartitionError,
    adjacency_graph,
    group_polygons,
    median_neighbour_distance,
    partition_component,
    point_faces,
    polsby_popper,
    spread_duplicates,
)
from gridding.tessellate import order_west_east_north_south

DEFAULT_BAND = Band(30, 100)
# Margin around the buildings' hull when no grid outline is given.
MIN_MARGIN_M = 10.0
# Ids listed in an error before "…".
ERROR_ID_LIMIT = 12


@dataclass(frozen=True)
class Piece:
    """A node of the adjacency graph: a whole building, or one unit of a split building."""

    building: int  # index into the input list
    unit: str | None
    households: int


@dataclass
class MicroGrid:
    code: str
    households: int
    nodes: list[int]  # piece indices
    polygon: BaseGeometry | None  # WGS84; None when all its buildings lie outside the given outline
    oversize: bool = False
    polsby_popper: float | None = None


@dataclass
class MicroResult:
    grids: list[MicroGrid]
    pieces: list[Piece]
    graph: nx.Graph  # over piece indices, flagged buildings included (isolated from the rest)
    band: Band
    max_edge_m: float
    automatic_edge: bool
    flagged: list[str]  # building (or building/unit) ids above the maximum that could not be split
    outside_boundary: list[str] = field(default_factory=list)

    def grid_of_piece(self) -> dict[int, str]:
        return {node: grid.code for grid in self.grids for node in grid.nodes}


def _ids(buildings: Sequence[BuildingInput], pieces: Sequence[Piece], nodes: Sequence[int]) -> list[str]:
    seen: dict[str, None] = {}
    for node in nodes:
        seen.setdefault(buildings[pieces[node].building].id, None)
    return list(seen)


def _error(error: PartitionError, buildings: Sequence[BuildingInput], pieces: Sequence[Piece]) -> PartitionError:
    """The same error with building ids instead of node indices (a readable message needs them)."""
    params = dict(error.params)
    nodes = params.pop("nodes", [])
    ids = _ids(buildings, pieces, nodes)
    params["building_count"] = len(ids)
    params["buildings"] = ids[:ERROR_ID_LIMIT]
    params["more"] = max(0, len(ids) - ERROR_ID_LIMIT)
    kind = error.kind
    if kind == "component_below_min" and len(nodes) == len(pieces):
        kind = "total_below_min"
    elif kind == "no_group_count" and len(nodes) == len(pieces):
        kind = "total_no_group_count"
    return PartitionError(kind, params)


def micro_grids(
    buildings: Sequence[BuildingInput],
    *,
    band: Band = DEFAULT_BAND,
    seed: int = 0,
    max_edge_m: float | None = None,
    barriers: Sequence[BaseGeometry] = (),
    boundary: BaseGeometry | None = None,
    code_prefix: str = "",
    tries: int = DEFAULT_TRIES,
) -> MicroResult:
    """Partition `buildings` (WGS84 points) into micro-grids within `band` households.

    Raises `PartitionError` when the band cannot be met: kinds
    `empty`, `total_below_min`, `total_no_group_count`,
    `component_below_min`, `no_group_count` (a part cut off by distance or
    barriers), `not_found` (no cut found; not a proof). Codes are
    `code_prefix` + a 3-digit sequence numbered west→east, north→south.
    """
    if not buildings:
        raise PartitionError("empty")
    projection = LocalMetricProjection.around(MultiPoint([(b.lon, b.lat) for b in buildings]).envelope)

    pieces: list[Piece] = []
    flagged: list[str] = []
    for index, building in enumerate(buildings):
        if building.households > band.high and building.units:
            for unit in building.units:
                pieces.append(Piece(building=index, unit=unit.id, households=unit.households))
                if unit.households > band.high:
                    flagged.append(f"{building.id}/{unit.id}")
        else:
            pieces.append(Piece(building=index, unit=None, households=building.households))
            if building.households > band.high:
                flagged.append(building.id)

    building_xy = np.array(
        [shapely.get_coordinates(projection.to_metres(Point(b.lon, b.lat)))[0] for b in buildings], dtype=np.float64
    )
    xy: FloatArray = spread_duplicates(building_xy[[piece.building for piece in pieces]])
    barriers_m = [projection.to_metres(line) for line in barriers]
    adjacency = adjacency_graph(xy, max_edge_m=max_edge_m, barriers=barriers_m)
    graph = adjacency.graph
    weights = [piece.households for piece in pieces]

    heavy = [node for node, piece in enumerate(pieces) if piece.households > band.high]
    graph.remove_edges_from(list(graph.edges(heavy)))
    rest = graph.subgraph([node for node in graph.nodes if node not in set(heavy)])
    # Cells first: the partition polishes the groups' Polsby-Popper on them.
    if boundary is not None:
        parent = projection.to_metres(boundary)
        shapely.prepare(parent)
        outside = [b.id for b, p in zip(buildings, building_xy, strict=True) if not parent.covers(Point(p))]
    else:
        margin = max(MIN_MARGIN_M, median_neighbour_distance(building_xy))
        parent = shapely.multipoints(xy).convex_hull.buffer(margin)
        outside = []
    faces_of_node = point_faces(parent, xy)
    shapes = CellShapes.from_faces(faces_of_node)

    generator = random.Random(seed)  # noqa: S311 (reproducible layout, not secrets)
    groups: list[list[int]] = [[node] for node in heavy]
    components = sorted((sorted(c) for c in nx.connected_components(rest)), key=lambda c: c[0])
    for component in components:
        try:
            result = partition_component(rest, component, weights, xy, band, rng=generator, tries=tries, shapes=shapes)
        except PartitionError as error:
            raise _error(error, buildings, pieces) from error
        groups.extend(result.groups)

    # Polygons: the pieces' Voronoi faces unioned per group (an exact tiling of the outline).
    shapes_m: list[BaseGeometry] = [
        polygon if not polygon.is_empty else MultiPoint([tuple(xy[n]) for n in group])
        for polygon, group in zip(group_polygons(faces_of_node, groups, xy), groups, strict=True)
    ]

    order = order_west_east_north_south(shapes_m)
    grids: list[MicroGrid] = []
    for number, position in enumerate(order, start=1):
        group = sorted(groups[position])
        shape_m = shapes_m[position]
        polygonal = shape_m.geom_type in ("Polygon", "MultiPolygon") and not shape_m.is_empty
        grids.append(
            MicroGrid(
                code=f"{code_prefix}{number:03d}",
                households=sum(weights[node] for node in group),
                nodes=group,
                polygon=projection.to_degrees(shape_m) if polygonal else None,
                oversize=len(group) == 1 and weights[group[0]] > band.high,
                polsby_popper=round(polsby_popper(shape_m), 4) if polygonal else None,
            )
        )
    return MicroResult(
        grids=grids,
        pieces=pieces,
        graph=graph,
        band=band,
        max_edge_m=adjacency.max_edge_m,
        automatic_edge=adjacency.automatic,
        flagged=flagged,
        outside_boundary=outside,
    )


def micro_result_to_geojson(buildings: Sequence[BuildingInput], result: MicroResult) -> dict[str, Any]:
    """The input points, each with `micro_grid`, then one Polygon feature per micro-grid.

    A building split by units gets `micro_grid` = the micro-grid holding most
    of its households, `micro_grids` = all of them, and each unit its own
    `micro_grid`. A flagged building gets `flagged: "over_max"`.
    """
    grid_of_piece = result.grid_of_piece()
    by_building: dict[int, list[tuple[Piece, str]]] = {}
    for node, piece in enumerate(result.pieces):
        by_building.setdefault(piece.building, []).append((piece, grid_of_piece[node]))
    flagged = set(result.flagged)
    features: list[dict[str, Any]] = []
    for index, building in enumerate(buildings):
        properties = dict(building.properties)
        entries = by_building[index]
        if len(entries) == 1 and entries[0][0].unit is None:
            properties["micro_grid"] = entries[0][1]
        else:
            households: dict[str, int] = {}
            for piece, code in entries:
                households[code] = households.get(code, 0) + piece.households
            properties["micro_grid"] = max(sorted(households), key=lambda code: households[code])
            properties["micro_grids"] = sorted(households)
            unit_codes = {piece.unit: code for piece, code in entries}
            properties["units"] = [
                {**{"id": unit.id, "households": unit.households}, "micro_grid": unit_codes[unit.id]}
                for unit in building.units
            ]
        if building.id in flagged or any(f"{building.id}/{unit.id}" in flagged for unit in building.units):
            properties["flagged"] = "over_max"
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [building.lon, building.lat]},
                "properties": properties,
            }
        )
    for grid in result.grids:
        building_ids = _ids(buildings, result.pieces, grid.nodes)
        features.append(
            {
                "type": "Feature",
                "geometry": geometry_to_geojson(grid.polygon) if grid.polygon is not None else None,
                "properties": {
                    "code": grid.code,
                    "households": grid.households,
                    "buildings": building_ids,
                    "oversize": grid.oversize,
                    "polsby_popper": grid.polsby_popper,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
