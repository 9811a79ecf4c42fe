"""Split a polygon into cells that tile it with no gaps and no overlaps.

Pure Python + shapely/numpy (no Django), used by the demo county generator and,
later, by micro-grid drawing tools. The recipe:

1. sample seed points inside the parent from a caller-supplied
   `random.Random`, so a seed number reproduces the same cells;
2. build the Voronoi diagram of the seeds and *node* its edges together with
   the parent's boundary, then polygonise. Every face comes out of one noding,
   so neighbouring cells share exactly the same vertices, which is what makes
   "no gaps, no overlaps" hold exactly instead of within a float epsilon;
3. a few Lloyd steps (seed ← centroid of its cell) even out the cell sizes;
4. a Voronoi cell clipped by a concave parent can fall apart; stray pieces
   join the neighbour they share the longest border with, so every cell is a
   single polygon;
5. optionally (`jagged`), borders follow the edges of a much finer
   tessellation instead of straight Voronoi lines, like real boundaries.

`exact_coverage` then snaps cells drawn by separate calls onto one coordinate
grid, and `order_west_east_north_south` numbers them (CJ/T 213).

Work in planar metres (see `partition_lonlat` or `LocalMetricProjection`):
in raw degrees, cells at 36° N come out ~20 % wider than they are tall.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from gridding.geo import LocalMetricProjection

__all__ = [
    "TessellationError",
    "county_outline",
    "county_outline_metres",
    "exact_coverage",
    "order_west_east_north_south",
    "partition",
    "partition_lonlat",
    "sample_points",
    "union_faces",
    "voronoi_faces",
]


class TessellationError(ValueError):
    """The polygon cannot be split as asked (e.g. more cells than the sampler can place)."""


# ------------------------------------------------------------------ sampling


def sample_points(polygon: BaseGeometry, count: int, rng: random.Random) -> list[Point]:
    """`count` distinct points strictly inside `polygon`, by rejection sampling in its bounding box."""
    if count <= 0:
        return []
    if polygon.is_empty or polygon.area <= 0:
        raise TessellationError("cannot sample points inside an empty polygon")
    min_x, min_y, max_x, max_y = polygon.bounds
    shapely.prepare(polygon)
    points: list[Point] = []
    seen: set[tuple[float, float]] = set()
    # Even a thin parent filling 1 % of its box needs ~100 tries per point.
    budget = 1000 * count + 1000
    while len(points) < count:
        budget -= 1
        if budget < 0:
            raise TessellationError("could not place enough points inside the polygon")
        x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
        if (x, y) in seen or not shapely.contains_xy(polygon, x, y):
            continue
        seen.add((x, y))
        points.append(Point(x, y))
    return points


# ------------------------------------------------------------------ partition


def _faces(parent: Polygon, seeds: Sequence[Point]) -> list[Polygon]:
    """Polygonised faces of (Voronoi edges ∪ parent boundary) that lie inside the parent."""
    edges = shapely.voronoi_polygons(shapely.multipoints(list(seeds)), extend_to=parent, only_edges=True)
    # One union nodes every crossing once, so faces on both sides of an edge
    # get bit-identical vertices.
    noded = shapely.union_all([parent.boundary, edges])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 0]
    inside = list(faces[shapely.contains(parent, shapely.point_on_surface(faces))]) if len(faces) else []
    if not inside:
        raise TessellationError("the Voronoi faces do not cover the parent polygon")
    return inside


def _nearest(pieces: Sequence[Polygon], anchors: Sequence[Point]) -> list[int]:
    """For each piece, the index of the anchor nearest to a point inside it."""
    reps = shapely.get_coordinates(shapely.point_on_surface(np.array(pieces, dtype=object)))
    anchor_xy = shapely.get_coordinates(np.array(anchors, dtype=object))
    distances = ((reps[:, None, :] - anchor_xy[None, :, :]) ** 2).sum(axis=2)
    return [int(i) for i in distances.argmin(axis=1)]


def _union(faces: Sequence[Polygon]) -> BaseGeometry:
    # Faces from one polygonize match edge for edge: the coverage union is exact and fast.
    return shapely.coverage_union_all(list(faces)) if len(faces) > 1 else faces[0]


def _shared_border(a: BaseGeometry, b: BaseGeometry) -> float:
    return float(a.boundary.intersection(b.boundary).length)


def _group(pieces: Sequence[Polygon], owner: Sequence[int], anchors: Sequence[Point]) -> list[Polygon]:
    """Union the pieces of each anchor into one polygon per anchor, in anchor order.

    `pieces` must form an exact coverage (shared edges identical). A group
    that falls apart keeps the part holding its anchor; every other part joins
    the neighbouring cell it shares the longest border with.
    """
    groups: list[list[Polygon]] = [[] for _ in anchors]
    for piece, index in zip(pieces, owner, strict=True):
        groups[index].append(piece)
    if any(not group for group in groups):
        raise TessellationError("an anchor ended up without a cell")

    main: list[list[Polygon]] = []
    fragments: list[list[Polygon]] = []
    for anchor, group in zip(anchors, groups, strict=True):
        parts = list(shapely.get_parts(_union(group)))
        if len(parts) == 1:
            main.append(group)
            continue
        keep = next((p for p in parts if p.intersects(anchor)), max(parts, key=lambda p: p.area))
        for part in parts:
            shapely.prepare(part)
            members = [piece for piece in group if part.contains(piece.point_on_surface())]
            (main.append if part is keep else fragments.append)(members)

    cells: list[BaseGeometry] = [_union(group) for group in main]
    # A stray part may only touch another stray part at first; repeat until
    # every part has found a home (each pass attaches at least one, or fails).
    while fragments:
        pending: list[list[Polygon]] = []
        for fragment in fragments:
            part = _union(fragment)
            best, best_length = -1, 0.0
            for index, cell in enumerate(cells):
                if not cell.envelope.intersects(part.envelope):
                    continue
                length = _shared_border(cell, part)
                if length > best_length:
                    best, best_length = index, length
            if best < 0:
                pending.append(fragment)
                continue
            main[best].extend(fragment)
            cells[best] = _union(main[best])
        if len(pending) == len(fragments):
            raise TessellationError("a piece of a clipped cell touches no other cell")
        fragments = pending

    result: list[Polygon] = []
    for cell in cells:
        if not isinstance(cell, Polygon) or not cell.is_valid:
            raise TessellationError("a cell is not a single valid polygon")
        result.append(cell)
    return result


def _voronoi_cells(parent: Polygon, seeds: Sequence[Point]) -> list[Polygon]:
    """One single-polygon cell per seed, in seed order."""
    faces = _faces(parent, seeds)
    # A face lies inside one Voronoi cell, so its interior point is nearest to that cell's seed.
    return _group(faces, _nearest(faces, seeds), seeds)


def _relaxed_seed(cell: Polygon) -> Point:
    centroid = cell.centroid
    return centroid if cell.contains(centroid) else cell.point_on_surface()


def partition(
    parent: Polygon, count: int, *, rng: random.Random, relax_steps: int = 2, jagged: int = 0
) -> list[Polygon]:
    """Split `parent` (planar coordinates, e.g. metres) into `count` polygons.

    The cells cover the parent exactly (their union is the parent up to the
    floating-point position of the vertices inserted on its boundary),
    neighbours share identical edges, and each cell is one valid Polygon.

    `jagged` > 0 draws borders that zig-zag like real administrative lines
    instead of straight Voronoi edges: the parent is first cut into
    `count × jagged` small atoms, and each atom joins the cell whose seed is
    nearest.

    The order of the result follows the seeds, i.e. is arbitrary: use
    `order_west_east_north_south` to number the cells.
    """
    if count < 1:
        raise TessellationError("count must be at least 1")
    if not isinstance(parent, Polygon) or not parent.is_valid or parent.is_empty:
        raise TessellationError("the parent must be a single valid polygon")
    if count == 1:
        return [parent]
    seeds = sample_points(parent, count, rng)
    cells = _voronoi_cells(parent, seeds)
    for _ in range(relax_steps):
        relaxed = [_relaxed_seed(cell) for cell in cells]
        if len({point.coords[0] for point in relaxed}) < count:
            break  # two cells collapsed onto one centroid: keep the unrelaxed cells
        seeds, cells = relaxed, _voronoi_cells(parent, relaxed)
    if jagged <= 0:
        return cells
    atoms = partition(parent, count * jagged, rng=rng, relax_steps=1)
    try:
        return _group(atoms, _nearest(atoms, seeds), seeds)
    except TessellationError:
        return cells  # a seed won no atom (cells far smaller than atoms): straight borders will do


def partition_lonlat(parent: Polygon, count: int, *, rng: random.Random, relax_steps: int = 2) -> list[Polygon]:
    """`partition` for a WGS84 longitude/latitude polygon, done in local metres."""
    projection = LocalMetricProjection.around(parent)
    metric = projection.to_metres(parent)
    assert isinstance(metric, Polygon)  # noqa: S101 (a projection keeps the geometry type)
    cells = partition(metric, count, rng=rng, relax_steps=relax_steps)
    return [_as_polygon(projection.to_degrees(cell)) for cell in cells]


def _as_polygon(geometry: BaseGeometry) -> Polygon:
    if not isinstance(geometry, Polygon):
        raise TessellationError("expected a polygon")
    return geometry


# ------------------------------------------------------------- exact coverage


def exact_coverage(cells: Sequence[Polygon], *, grid_size: float) -> list[Polygon]:
    """Snap nearly-matching cells onto a grid so that they form an exact coverage.

    Cells made by separate `partition` calls (towns, then communities inside
    each town, …) agree only up to floating point along borders between
    different parents, and rounding for storage would open centimetre slivers
    there. Noding *all* borders together with snap-rounding at `grid_size`
    (e.g. 1e-7° ≈ 1 cm) gives every cell vertices that lie on the grid and
    are shared exactly with each neighbour. Returns the cells in input order,
    each a valid Polygon with its exterior counter-clockwise (RFC 7946).
    """
    if not cells:
        return []
    noded = shapely.union_all([cell.boundary for cell in cells], grid_size=grid_size)
    faces = [face for face in shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))) if face.area > 0]
    tree = shapely.STRtree(list(cells))
    groups: list[list[Polygon]] = [[] for _ in cells]
    for face in faces:
        rep = face.point_on_surface()
        hits = tree.query(rep, predicate="within")
        if len(hits) == 1:
            groups[int(hits[0])].append(face)
            continue
        # A sliver born of snapping (in two cells or none): give it to the
        # cell it overlaps most, or failing that the nearest one.
        candidates = tree.query(face, predicate="intersects")
        if len(candidates):
            best = max(candidates, key=lambda i: cells[int(i)].intersection(face).area)
        else:
            best = tree.nearest(rep)
        groups[int(best)].append(face)

    result: list[BaseGeometry] = [_union(group) if group else Polygon() for group in groups]
    # Snapping can cut a sliver off a cell; hand detached bits to the
    # neighbour sharing the longest border, as in `partition`.
    for index, geometry in enumerate(result):
        if isinstance(geometry, Polygon):
            continue
        parts = sorted(shapely.get_parts(geometry), key=lambda p: p.area, reverse=True)
        if not parts:
            raise TessellationError("a cell vanished when snapped to the grid")
        result[index] = parts[0]
        for part in parts[1:]:
            neighbours = [j for j in range(len(result)) if j != index and result[j].envelope.intersects(part.envelope)]
            best = max(neighbours, key=lambda j: _shared_border(result[j], part), default=None)
            if best is None or _shared_border(result[best], part) == 0:
                raise TessellationError("a snapped piece touches no other cell")
            result[best] = shapely.coverage_union_all([result[best], part])
    polygons: list[Polygon] = []
    for geometry in result:
        if not isinstance(geometry, Polygon) or not geometry.is_valid:
            raise TessellationError("snapping produced an invalid cell")
        oriented = shapely.orient_polygons(geometry)
        polygons.append(_as_polygon(oriented))
    return polygons


# ---------------------------------------------------------------- numbering


def order_west_east_north_south(cells: Sequence[BaseGeometry], *, row_height: float | None = None) -> list[int]:
    """Indices of `cells` in numbering order: rows north→south, west→east inside a row.

    CJ/T 213 numbers grids west to east, north to south. Irregular cells do
    not sit in neat rows, so rows are latitude bands: starting from the
    northernmost unnumbered centroid, every centroid less than `row_height`
    south of it joins that row. `row_height` defaults to 0.6 × the side of a
    square of the mean cell area: wide enough to keep a ragged row together,
    narrow enough not to swallow the next row. Coordinates are used as given
    (x = longitude/east, y = latitude/north).
    """
    if not cells:
        return []
    centroids = [(float(cell.centroid.x), float(cell.centroid.y)) for cell in cells]
    if row_height is None:
        mean_area = sum(cell.area for cell in cells) / len(cells)
        row_height = 0.6 * math.sqrt(mean_area) if mean_area > 0 else 0.0
    remaining = sorted(range(len(cells)), key=lambda i: (-centroids[i][1], centroids[i][0], i))
    order: list[int] = []
    while remaining:
        top = centroids[remaining[0]][1]
        row = [i for i in remaining if top - centroids[i][1] < row_height] or [remaining[0]]
        row_set = set(row)
        order.extend(sorted(row, key=lambda i: (centroids[i][0], -centroids[i][1], i)))
        remaining = [i for i in remaining if i not in row_set]
    return order


# ---------------------------------------------------------------- county shape

# Jiaozhou: 36°00′–36°30′ N, 119°37′–120°12′ E, ≈51 km E–W × 54 km N–S, ≈1,318 km².
JIAOZHOU_CENTRE = (119.9083, 36.25)
JIAOZHOU_WIDTH_M = 51_000.0
JIAOZHOU_HEIGHT_M = 54_000.0
JIAOZHOU_AREA_M2 = 1_318e6


def county_outline_metres(
    rng: random.Random,
    *,
    width_m: float = JIAOZHOU_WIDTH_M,
    height_m: float = JIAOZHOU_HEIGHT_M,
    area_m2: float = JIAOZHOU_AREA_M2,
    vertices: int = 180,
) -> Polygon:
    """An irregular county outline in local metres, centred on (0, 0).

    A star-shaped polygon whose radius is a random smooth function of the
    angle (so it is always simple), stretched to the requested extent, with
    the lobes deepened until the area matches (a real county fills only about
    half of its bounding box).
    """
    harmonics = [(k, rng.uniform(0.6, 1.0) / k**1.1, rng.uniform(0, 2 * math.pi)) for k in range(2, 13)]
    jitter = [rng.gauss(0.0, 1.0) for _ in range(vertices)]
    angles = [2 * math.pi * i / vertices for i in range(vertices)]
    box_area = width_m * height_m

    def shape_for(strength: float) -> Polygon:
        points = []
        for angle, noise in zip(angles, jitter, strict=True):
            wave = sum(amplitude * math.cos(k * angle + phase) for k, amplitude, phase in harmonics)
            radius = math.exp(strength * wave + 0.015 * noise)
            points.append((radius * math.cos(angle), radius * math.sin(angle)))
        min_x = min(x for x, _ in points)
        max_x = max(x for x, _ in points)
        min_y = min(y for _, y in points)
        max_y = max(y for _, y in points)
        sx, sy = width_m / (max_x - min_x), height_m / (max_y - min_y)
        cx, cy = (min_x + max_x) / 2, (min_y + max_y) / 2
        return Polygon([((x - cx) * sx, (y - cy) * sy) for x, y in points])

    # Bisection on the lobe strength: a stronger wave fills less of the box.
    target = area_m2 / box_area
    low, high = 0.0, 3.0
    for _ in range(40):
        middle = (low + high) / 2
        if shape_for(middle).area / box_area > target:
            low = middle
        else:
            high = middle
    outline = shape_for((low + high) / 2)
    if not outline.is_valid:
        raise TessellationError("the generated outline is not a valid polygon")
    return outline


def county_outline(
    rng: random.Random,
    *,
    centre: tuple[float, float] = JIAOZHOU_CENTRE,
    width_m: float = JIAOZHOU_WIDTH_M,
    height_m: float = JIAOZHOU_HEIGHT_M,
    area_m2: float = JIAOZHOU_AREA_M2,
    vertices: int = 180,
) -> Polygon:
    """`county_outline_metres` placed at `centre` (longitude, latitude) in WGS84 degrees."""
    projection = LocalMetricProjection(*centre)
    metric = county_outline_metres(rng, width_m=width_m, height_m=height_m, area_m2=area_m2, vertices=vertices)
    return _as_polygon(projection.to_degrees(metric))


# ---------------------------------------------------------------- seeded faces


def voronoi_faces(parent: BaseGeometry, seeds: Sequence[Point]) -> tuple[list[Polygon], list[int]]:
    """The Voronoi diagram of `seeds` cut to `parent`, as faces with the index of their seed.

    Faces come from one noding of the Voronoi edges with the parent's
    boundary, so the union of the faces of any set of seeds (a building
    group) tiles the parent together with the other sets: no gaps, no
    overlaps, identical shared edges. A seed outside the parent may own no
    face. `parent` may be a Polygon or a MultiPolygon; seeds must be distinct.
    """
    if not seeds:
        return [], []
    if len(seeds) == 1:
        parts = [part for part in shapely.get_parts(parent) if isinstance(part, Polygon) and part.area > 0]
        return parts, [0] * len(parts)
    faces = _faces(parent, seeds)  # type Polygon in its signature; MultiPolygons work as well
    return faces, _nearest(faces, seeds)


def union_faces(faces: Sequence[Polygon]) -> BaseGeometry:
    """Union of faces from one `voronoi_faces` call (exact coverage union); empty Polygon for none."""
    if not faces:
        return Polygon()
    return _union(faces)
