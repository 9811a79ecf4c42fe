"""Property tests for gridding.tessellate: the cells tile the parent exactly."""

from __future__ import annotations

import itertools
import math
import random

import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from gridding.geo import LocalMetricProjection
from gridding.tessellate import (
    county_outline,
    county_outline_metres,
    exact_coverage,
    order_west_east_north_south,
    partition,
    partition_lonlat,
)


def rng_for(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 (reproducible geometry, not secrets)


# Area tolerance relative to the parent: the only error is the float position
# of vertices inserted on the parent's boundary.
RELATIVE_TOLERANCE = 1e-9


@st.composite
def star_polygons(draw: st.DrawFn) -> Polygon:
    """Simple (star-shaped) polygons of a few hundred metres, convex or not."""
    vertices = draw(st.integers(min_value=3, max_value=14))
    radii = draw(st.lists(st.floats(min_value=0.25, max_value=1.0), min_size=vertices, max_size=vertices))
    scale = draw(st.floats(min_value=50.0, max_value=5000.0))
    points = [
        (scale * r * math.cos(2 * math.pi * i / vertices), scale * r * math.sin(2 * math.pi * i / vertices))
        for i, r in enumerate(radii)
    ]
    return Polygon(points)


def assert_tiles(parent: Polygon, cells: list[Polygon]) -> None:
    tolerance = parent.area * RELATIVE_TOLERANCE
    for cell in cells:
        assert isinstance(cell, Polygon)
        assert cell.is_valid
        assert cell.area > 0
    union = shapely.union_all(cells)
    assert union.symmetric_difference(parent).area <= tolerance
    assert abs(sum(cell.area for cell in cells) - parent.area) <= tolerance
    for a, b in itertools.combinations(cells, 2):
        assert a.intersection(b).area <= tolerance
    # Neighbours share identical edges, which is stricter than "overlap ≈ 0".
    assert shapely.coverage_is_valid(shapely.GeometryCollection(cells))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parent=star_polygons(), count=st.integers(min_value=1, max_value=12), seed=st.integers(0, 2**32))
def test_partition_tiles_parent_with_n_valid_cells(parent: Polygon, count: int, seed: int) -> None:
    cells = partition(parent, count, rng=rng_for(seed))

    assert len(cells) == count
    assert_tiles(parent, cells)


@settings(max_examples=15, deadline=None)
@given(parent=star_polygons(), count=st.integers(min_value=2, max_value=6), seed=st.integers(0, 2**32))
def test_jagged_partition_tiles_parent(parent: Polygon, count: int, seed: int) -> None:
    cells = partition(parent, count, rng=rng_for(seed), jagged=6)

    assert len(cells) == count
    assert_tiles(parent, cells)


def test_partition_is_deterministic_for_a_seed() -> None:
    parent = county_outline_metres(rng_for(3))

    first = partition(parent, 9, rng=rng_for(42), jagged=5)
    second = partition(parent, 9, rng=rng_for(42), jagged=5)

    assert [cell.wkb for cell in first] == [cell.wkb for cell in second]


def test_lloyd_relaxation_evens_out_cell_sizes() -> None:
    parent = box(0, 0, 10_000, 10_000)

    def spread(steps: int) -> float:
        areas = [cell.area for cell in partition(parent, 20, rng=rng_for(7), relax_steps=steps)]
        return max(areas) / min(areas)

    assert spread(4) < spread(0)


def test_partition_lonlat_cells_are_not_squashed_by_latitude() -> None:
    # A 10 km square at 36° N is 0.111° wide but only 0.090° tall.
    projection = LocalMetricProjection(119.9, 36.25)
    square = projection.to_degrees(box(-5000, -5000, 5000, 5000))

    cells = partition_lonlat(square, 16, rng=rng_for(1), relax_steps=6)

    assert len(cells) == 16
    for cell in cells:
        metric = projection.to_metres(cell)
        min_x, min_y, max_x, max_y = metric.bounds
        assert 0.4 < (max_x - min_x) / (max_y - min_y) < 2.5


def test_exact_coverage_snaps_separately_made_cells_onto_shared_vertices() -> None:
    # Given two towns, each split on its own, whose cells meet only up to floating point
    parent = county_outline_metres(rng_for(5), width_m=8000, height_m=9000, area_m2=40e6)
    rng = rng_for(5)
    towns = partition(parent, 2, rng=rng)
    cells = [cell for town in towns for cell in partition(town, 6, rng=rng)]
    projection = LocalMetricProjection(119.9, 36.25)
    degrees = [projection.to_degrees(cell) for cell in cells]

    # When snapped together onto a 1e-7° grid
    snapped = exact_coverage(degrees, grid_size=1e-7)

    # Then they form an exact coverage of the same shape, every vertex on the grid
    assert len(snapped) == len(cells)
    assert shapely.coverage_is_valid(shapely.GeometryCollection(snapped))
    outline = projection.to_degrees(parent)
    # (moving the outline's vertices onto the grid shifts it by at most one grid step)
    assert shapely.union_all(snapped).symmetric_difference(outline).area < outline.length * 1e-7
    for cell in snapped:
        assert cell.is_valid
        assert cell.exterior.is_ccw
        for x, y in cell.exterior.coords:
            assert round(x, 7) == pytest.approx(x, abs=1e-12)
            assert round(y, 7) == pytest.approx(y, abs=1e-12)


def test_order_numbers_rows_north_to_south_then_west_to_east() -> None:
    # A 3 × 3 block of unit squares, centroids jittered a little, shuffled.
    rng = rng_for(0)
    cells = {}
    for row in range(3):
        for col in range(3):
            dx, dy = rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1)
            cells[(row, col)] = box(col + dx, -row + dy, col + 1 + dx, -row + 1 + dy)
    keys = list(cells)
    rng.shuffle(keys)

    order = order_west_east_north_south([cells[key] for key in keys])

    assert [keys[i] for i in order] == [(r, c) for r in range(3) for c in range(3)]


def test_order_of_nothing_is_empty() -> None:
    assert order_west_east_north_south([]) == []


def test_county_outline_has_jiaozhou_extent_and_area() -> None:
    outline = county_outline(rng_for(1))

    min_lon, min_lat, max_lon, max_lat = outline.bounds
    assert outline.is_valid
    assert 119.6 < min_lon < 119.65 and 120.15 < max_lon < 120.22
    assert 35.99 < min_lat < 36.02 and 36.48 < max_lat < 36.51
    area_km2 = LocalMetricProjection.around(outline).to_metres(outline).area / 1e6
    assert 1250 < area_km2 < 1400
