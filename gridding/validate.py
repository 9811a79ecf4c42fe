"""Checks for a batch of new sibling areas (e.g. the grids of one community) before import.

The standard (CJ/T 213, GB/T 30428.1) wants grids to be closed polygons that
cover their community without gaps or overlaps. This module finds where a
file breaks that and says so in structured `Problem`s: a machine-readable
`kind` plus `params`. Turning them into words is the caller's job (the Django
side renders Simplified Chinese via gettext), so this package stays free of
Django and of any language.

Indexing: `Candidate.index` and `Problem.index` are **0-based** positions in
the file's feature list; anything shown to people should add 1
(“第N个要素”). Parameters whose name ends in `_number` are already 1-based.

Tolerances are in metres / square metres, measured in a local equirectangular
projection around the parent (see `gridding.geo.LocalMetricProjection`), which
is accurate to well under 1 % across a county.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gridding.geo import LocalMetricProjection

POLYGON_TYPES = ("Polygon", "MultiPolygon")
GEOJSON_GEOMETRY_TYPES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)


class ProblemKind(StrEnum):
    # Structure of one feature's geometry.
    MISSING_GEOMETRY = "missing_geometry"  # geometry member absent or null
    INVALID_GEOJSON = "invalid_geojson"  # not a GeoJSON geometry object at all
    NOT_POLYGON = "not_polygon"  # a Point, LineString, … instead of an area
    NOT_LONLAT = "not_lonlat"  # coordinates outside ±180/±90: probably projected metres
    TOO_FEW_POINTS = "too_few_points"  # a ring with fewer than 4 positions
    NOT_CLOSED = "not_closed"  # a ring whose last position differs from its first
    EMPTY_GEOMETRY = "empty_geometry"
    # Validity (OGC simple features) of one polygon.
    SELF_INTERSECTION = "self_intersection"  # e.g. a bow-tie
    INVALID_GEOMETRY = "invalid_geometry"  # any other GEOS validity failure; see params["reason"]
    # Relations between features and with the parent.
    OUTSIDE_PARENT = "outside_parent"
    OVERLAP = "overlap"  # two features of the same batch
    OVERLAP_EXISTING = "overlap_existing"  # a feature and an area already stored under the parent
    GAP = "gap"  # part of the parent covered by nobody
    # Codes.
    DUPLICATE_CODE = "duplicate_code"  # the same code twice in the batch
    BAD_CODE = "bad_code"  # reserved for callers that know the coding rules (not produced here)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a batch.

    `index` is the 0-based position of the feature in the file, or None for a
    problem of the batch as a whole (a gap). `params` holds the numbers a
    message needs: areas in m² (`area_m2`), distances in m, locations as
    WGS84 `lon`/`lat` so a person can find the spot on a map.
    """

    kind: ProblemKind
    index: int | None = None
    code: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A feature proposed for import: a parsed geometry, or the problem that prevented parsing."""

    index: int
    code: str | None
    name: str | None
    geometry: BaseGeometry | None
    error: Problem | None = None


@dataclass(frozen=True)
class ExistingArea:
    """A sibling already stored under the parent; new features must not overlap it."""

    code: str
    name: str
    geometry: BaseGeometry


# ------------------------------------------------------------------ parsing


def candidate_from_geojson(*, index: int, code: str | None, name: str | None, geometry: Any) -> Candidate:
    """Parse one feature's GeoJSON geometry strictly.

    shapely quietly closes open rings and accepts projected coordinates, so
    the structure is checked on the raw GeoJSON first: the standard asks for
    closed polygons, and a file that is not closed is usually cut short or
    mis-exported and deserves a look rather than a silent fix.
    """

    def failed(kind: ProblemKind, **params: Any) -> Candidate:
        error = Problem(kind=kind, index=index, code=code, params=params)
        return Candidate(index=index, code=code, name=name, geometry=None, error=error)

    if geometry is None:
        return failed(ProblemKind.MISSING_GEOMETRY)
    if not isinstance(geometry, Mapping) or geometry.get("type") not in GEOJSON_GEOMETRY_TYPES:
        return failed(ProblemKind.INVALID_GEOJSON)
    geometry_type = geometry["type"]
    if geometry_type not in POLYGON_TYPES:
        return failed(ProblemKind.NOT_POLYGON, type=geometry_type)
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if geometry_type == "Polygon" else coordinates
    if not isinstance(polygons, list | tuple) or not all(isinstance(polygon, list | tuple) for polygon in polygons):
        return failed(ProblemKind.INVALID_GEOJSON)
    ring_number = 0
    for polygon in polygons:
        for ring in polygon:
            ring_number += 1
            if not isinstance(ring, list | tuple) or not all(_is_position(position) for position in ring):
                return failed(ProblemKind.INVALID_GEOJSON)
            for position in ring:
                lon, lat = float(position[0]), float(position[1])
                if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                    return failed(ProblemKind.NOT_LONLAT, x=lon, y=lat)
            if len(ring) < 4:
                return failed(ProblemKind.TOO_FEW_POINTS, ring_number=ring_number, points=len(ring))
            if list(ring[0][:2]) != list(ring[-1][:2]):
                return failed(ProblemKind.NOT_CLOSED, ring_number=ring_number)
    try:
        parsed = shapely.force_2d(shape(geometry))
    except (ValueError, TypeError, KeyError, IndexError, shapely.errors.ShapelyError):
        return failed(ProblemKind.INVALID_GEOJSON)
    if parsed.is_empty:
        return failed(ProblemKind.EMPTY_GEOMETRY)
    return Candidate(index=index, code=code, name=name, geometry=parsed)


def _is_position(position: Any) -> bool:
    return (
        isinstance(position, list | tuple)
        and len(position) >= 2
        and all(isinstance(value, int | float) and not isinstance(value, bool) for value in position)
        and all(math.isfinite(value) for value in position)
    )


# --------------------------------------------------------------- validation

_REASON_LOCATION = re.compile(r"\[\s*(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)\s*\]")


def _validity_problem(candidate: Candidate) -> Problem | None:
    geometry = candidate.geometry
    assert geometry is not None  # noqa: S101 (callers pass parsed candidates only)
    reason = shapely.is_valid_reason(geometry)
    if reason == "Valid Geometry":
        return None
    # GEOS reasons look like "Self-intersection[119.905 36.195]".
    params: dict[str, Any] = {"reason": reason.split("[", 1)[0].strip()}
    match = _REASON_LOCATION.search(reason)
    if match:
        params["lon"], params["lat"] = float(match.group(1)), float(match.group(2))
    kind = ProblemKind.SELF_INTERSECTION if "self-intersection" in reason.lower() else ProblemKind.INVALID_GEOMETRY
    return Problem(kind=kind, index=candidate.index, code=candidate.code, params=params)


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """The areal part of a geometry repaired by make_valid (a bow-tie becomes two triangles)."""
    parts = [part for part in shapely.get_parts(geometry) if part.geom_type in POLYGON_TYPES]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _projector(projection: LocalMetricProjection) -> tuple[Any, Any]:
    """Vectorised forms of the projection (shapely.transform over whole arrays of geometries)."""
    origin = np.array([projection.ref_lon, projection.ref_lat])
    scale = np.array([projection.metres_per_lon, projection.metres_per_lat])

    def to_metres(geometries: Any) -> Any:
        return shapely.transform(geometries, lambda coords: (coords - origin) * scale)

    def to_lonlat(geometries: Any) -> Any:
        return shapely.transform(geometries, lambda coords: coords / scale + origin)

    return to_metres, to_lonlat


def validate_siblings(
    candidates: Sequence[Candidate],
    *,
    parent: BaseGeometry | None,
    existing: Sequence[ExistingArea] = (),
    outside_tolerance_m: float = 1.0,
    overlap_tolerance_m2: float = 1.0,
    gap_tolerance_m2: float | None = None,
    check_gaps: bool = True,
) -> list[Problem]:
    """Every problem of a batch of new siblings, features in file order, gaps last.

    - each geometry must be a valid Polygon/MultiPolygon (parse with
      `candidate_from_geojson`; its errors are reported here);
    - it must lie inside `parent` within `outside_tolerance_m` metres;
    - no two features, and no feature and an `existing` sibling, may share
      more than `overlap_tolerance_m2` square metres;
    - unless `check_gaps` is False, the new and existing siblings together
      must cover `parent`; uncovered pieces larger than `gap_tolerance_m2`
      (default: the overlap tolerance) are reported with their area and a
      point inside them.

    Invalid polygons are repaired with make_valid for the containment and
    overlap checks, so one pass reports as much as possible. The gap check is
    skipped while any geometry is missing or invalid: the holes a broken
    polygon leaves would only repeat its own problem.
    """
    problems: list[Problem] = []
    usable: list[tuple[Candidate, BaseGeometry]] = []
    broken = False
    first_index_by_code: dict[str, int] = {}

    for candidate in candidates:
        if candidate.code:
            first = first_index_by_code.setdefault(candidate.code, candidate.index)
            if first != candidate.index:
                problems.append(
                    Problem(
                        kind=ProblemKind.DUPLICATE_CODE,
                        index=candidate.index,
                        code=candidate.code,
                        params={"other_index": first},
                    )
                )
        if candidate.geometry is None:
            broken = True
            if candidate.error is not None:
                problems.append(candidate.error)
            continue
        invalid = _validity_problem(candidate)
        geometry = candidate.geometry
        if invalid is not None:
            broken = True
            problems.append(invalid)
            geometry = _polygonal(shapely.make_valid(geometry))
        if not geometry.is_empty:
            usable.append((candidate, geometry))

    if usable or parent is not None:
        problems.extend(
            _spatial_problems(
                usable,
                parent=parent,
                existing=existing,
                outside_tolerance_m=outside_tolerance_m,
                overlap_tolerance_m2=overlap_tolerance_m2,
                gap_tolerance_m2=overlap_tolerance_m2 if gap_tolerance_m2 is None else gap_tolerance_m2,
                check_gaps=check_gaps and not broken,
            )
        )

    kind_order = {kind: position for position, kind in enumerate(ProblemKind)}
    problems.sort(
        key=lambda problem: (
            problem.index is None,
            problem.index if problem.index is not None else 0,
            kind_order[problem.kind],
        )
    )
    return problems


def _spatial_problems(
    usable: list[tuple[Candidate, BaseGeometry]],
    *,
    parent: BaseGeometry | None,
    existing: Sequence[ExistingArea],
    outside_tolerance_m: float,
    overlap_tolerance_m2: float,
    gap_tolerance_m2: float,
    check_gaps: bool,
) -> list[Problem]:
    problems: list[Problem] = []
    if parent is not None and not parent.is_valid:
        parent = _polygonal(shapely.make_valid(parent))
    reference = parent if parent is not None and not parent.is_empty else shapely.union_all([g for _, g in usable])
    if reference.is_empty:
        return problems
    projection = LocalMetricProjection.around(shapely.envelope(reference))
    to_metres, to_lonlat = _projector(projection)

    def where(geometry_m: BaseGeometry) -> dict[str, float]:
        point = to_lonlat(shapely.point_on_surface(geometry_m))
        return {"lon": round(float(point.x), 6), "lat": round(float(point.y), 6)}

    new_m = to_metres(np.array([geometry for _, geometry in usable], dtype=object))
    existing_m = to_metres(np.array([area.geometry for area in existing], dtype=object))
    shapely.prepare(new_m)

    # Inside the parent, within a tolerance: digitising two layers never
    # matches to the centimetre, so a boundary a little outside is fine.
    if parent is not None and not parent.is_empty:
        parent_m = to_metres(parent)
        allowed = parent_m.buffer(outside_tolerance_m) if outside_tolerance_m > 0 else parent_m
        shapely.prepare(allowed)
        for (candidate, _), geometry_m in zip(usable, new_m, strict=True):
            if allowed.covers(geometry_m):
                continue
            outside = geometry_m.difference(parent_m)
            vertices = shapely.points(shapely.get_coordinates(outside))
            farthest = float(np.max(shapely.distance(vertices, parent_m))) if len(vertices) else 0.0
            problems.append(
                Problem(
                    kind=ProblemKind.OUTSIDE_PARENT,
                    index=candidate.index,
                    code=candidate.code,
                    params={
                        "area_m2": round(float(outside.area), 1),
                        "distance_m": round(farthest, 1),
                        "tolerance_m": outside_tolerance_m,
                        **where(outside),
                    },
                )
            )

    # Overlaps among the new features. The STRtree finds the few neighbours
    # of each polygon, so ~1,400 grids cost ~10,000 intersections, not 10⁶.
    if len(new_m) > 1:
        tree = shapely.STRtree(new_m)
        left, right = tree.query(new_m, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        shared = shapely.intersection(new_m[left], new_m[right])
        areas = shapely.area(shared)
        for i, j, piece, area in zip(left, right, shared, areas, strict=True):
            if area <= overlap_tolerance_m2:
                continue
            # Reported once, on the later feature, naming the earlier one.
            earlier, later = usable[int(i)][0], usable[int(j)][0]
            problems.append(
                Problem(
                    kind=ProblemKind.OVERLAP,
                    index=later.index,
                    code=later.code,
                    params={
                        "other_index": earlier.index,
                        "other_code": earlier.code,
                        "area_m2": round(float(area), 1),
                        "tolerance_m2": overlap_tolerance_m2,
                        **where(piece),
                    },
                )
            )

    # Overlaps with what is already stored under the parent.
    if len(existing_m) and len(new_m):
        tree = shapely.STRtree(existing_m)
        new_positions, existing_positions = tree.query(new_m, predicate="intersects")
        shared = shapely.intersection(new_m[new_positions], existing_m[existing_positions])
        areas = shapely.area(shared)
        for i, j, piece, area in zip(new_positions, existing_positions, shared, areas, strict=True):
            if area <= overlap_tolerance_m2:
                continue
            candidate, other = usable[int(i)][0], existing[int(j)]
            problems.append(
                Problem(
                    kind=ProblemKind.OVERLAP_EXISTING,
                    index=candidate.index,
                    code=candidate.code,
                    params={
                        "other_code": other.code,
                        "other_name": other.name,
                        "area_m2": round(float(area), 1),
                        "tolerance_m2": overlap_tolerance_m2,
                        **where(piece),
                    },
                )
            )

    # Coverage: what of the parent nobody claims, biggest piece first.
    if check_gaps and parent is not None and not parent.is_empty:
        covered = shapely.union_all(np.concatenate([new_m, existing_m]))
        uncovered = to_metres(parent).difference(covered)
        pieces = [piece for piece in shapely.get_parts(uncovered) if piece.area > gap_tolerance_m2]
        for piece in sorted(pieces, key=lambda piece: piece.area, reverse=True):
            problems.append(
                Problem(
                    kind=ProblemKind.GAP,
                    params={
                        "area_m2": round(float(piece.area), 1),
                        "tolerance_m2": gap_tolerance_m2,
                        **where(piece),
                    },
                )
            )
    return problems
