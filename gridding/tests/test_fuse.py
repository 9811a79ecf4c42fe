"""Fused general grids: inside one community, in band, contiguous, tiling the community, stable."""

from __future__ import annotations

import math
import random
from collections import Counter

import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from gridding.geo import LocalMetricProjection
from gridding.io import BuildingInput, PolygonFeature
from gridding.partition import Band, is_connected_group
from gridding.tessellate import sample_points

ORIGIN = LocalMetricProjection(119.90, 36.20)


def community(code: str, outline_m: Polygon, name: str = "测试社区") -> PolygonFeature:
    return PolygonFeature(index=0, id=code, name=name, geometry=ORIGIN.to_degrees(outline_m))


def buildings_in(outline_m: Polygon, count: int, seed: int, *, low: int = 5, high: int = 60) -> list[BuildingInput]:
    rng = random.Random(seed)  # noqa: S311
    points = sample_points(outline_m, count, rng)
    result = []
    for index, point in enumerate(points):
        lonlat = ORIGIN.to_degrees(point)
        result.append(
            BuildingInput(id=f"b{index}", lon=lonlat.x, lat=lonlat.y, households=rng.randint(low, high), population=3)
        )
    return result


@st.composite
def star_outlines(draw: st.DrawFn) -> Polygon:
    """Simple star-shaped outlines of a few hundred metres, convex or not."""
    vertices = draw(st.integers(min_value=3, max_value=12))
    radii = draw(st.lists(st.floats(min_value=0.3, max_value=1.0), min_size=vertices, max_size=vertices))
    scale = draw(st.floats(min_value=200.0, max_value=1500.0))
    return Polygon(
        [
            (scale * r * math.cos(2 * math.pi * i / vertices), scale * r * math.sin(2 * math.pi * i / vertices))
            for i, r in enumerate(radii)
        ]
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outline=star_outlines(), count=st.integers(0, 60), seed=st.integers(0, 10_000))
def test_fused_grids_tile_their_community_and_respect_the_band(outline: Polygon, count: int, seed: int) -> None:
    from gridding.fuse import fuse

    feature = community("370281001001", outline)
    buildings = buildings_in(outline, count, seed)
    band = Band(150, 300)

    result = fuse([feature], buildings, band=band, seed=seed)

    (fusion,) = result.communities
    polygons = [grid.polygon_m for grid in fusion.grids]
    assert all(polygon is not None for polygon in polygons)
    area = fusion.outline_m.area
    union = shapely.union_all(polygons)
    # Tiles: no gap, no overlap beyond a relative 1e-9 of the community's area.
    assert union.symmetric_difference(fusion.outline_m).area <= 1e-9 * area
    assert abs(sum(p.area for p in polygons) - area) <= 1e-9 * area
    # Every building in exactly one grid.
    counted = Counter(node for grid in fusion.grids for node in grid.buildings)
    assert sorted(counted) == list(range(len(buildings)))
    assert set(counted.values()) <= {1}
    # 15-digit codes under the community, numbered 001…
    assert [grid.code for grid in fusion.grids] == [f"370281001001{n:03d}" for n in range(1, len(fusion.grids) + 1)]
    # No stray pieces: every part of a grid's polygon holds at least one of its buildings.
    for grid in fusion.grids:
        points = [shapely.Point(buildings[n].lon, buildings[n].lat) for n in grid.buildings]
        if points:
            for part in shapely.get_parts(grid.polygon):
                assert any(part.buffer(1e-9).covers(point) for point in points)
    total = sum(b.households for b in buildings)
    if fusion.status == "ok":
        for grid in fusion.grids:
            assert band.contains(grid.households)
            assert is_connected_group(fusion.graph, grid.buildings)
    elif fusion.status in ("below_band", "no_buildings"):
        assert total < band.low and len(fusion.grids) == 1
    else:
        assert fusion.status == "band_relaxed"
        assert all(grid.households <= band.high for grid in fusion.grids)


def test_grids_number_west_to_east_then_north_to_south() -> None:
    from gridding.fuse import fuse

    # Given a wide community with buildings of 100 households on a 4 × 2 lattice (one grid each, band 100–150).
    outline = box(0, 0, 800, 400)
    lattice = [(100 + 200 * col, 300 - 200 * row) for row in range(2) for col in range(4)]
    buildings = [
        BuildingInput(
            id=f"r{row}c{col}",
            lon=ORIGIN.to_degrees(shapely.Point(x, y)).x,
            lat=ORIGIN.to_degrees(shapely.Point(x, y)).y,
            households=100,
        )
        for (x, y), (row, col) in zip(lattice, [(r, c) for r in range(2) for c in range(4)], strict=True)
    ]

    result = fuse([community("370281001002", outline)], buildings, band=Band(100, 150))

    grids = result.communities[0].grids
    names = [buildings[grid.buildings[0]].id for grid in grids]
    assert names == ["r0c0", "r0c1", "r0c2", "r0c3", "r1c0", "r1c1", "r1c2", "r1c3"]
    assert grids[0].code == "370281001002001" and grids[-1].code == "370281001002008"


def test_existing_grids_in_band_are_kept_and_stability_reported() -> None:
    from gridding.fuse import fuse

    # Given a community whose two existing grids (west and east halves) each hold 400 households.
    outline = box(0, 0, 1000, 500)
    buildings = buildings_in(outline, 40, seed=4, low=20, high=20)  # 40 × 20 = 800 households
    old = [PolygonFeature(index=0, id="W", name=None, geometry=ORIGIN.to_degrees(box(0, 0, 500, 500)))]
    old.append(PolygonFeature(index=1, id="E", name=None, geometry=ORIGIN.to_degrees(box(500, 0, 1000, 500))))
    west = sum(1 for b in buildings if ORIGIN.to_metres(shapely.Point(b.lon, b.lat)).x < 500)
    assert 15 <= west <= 25  # both halves within 300–500 households

    result = fuse([community("370281001003", outline)], buildings, existing=old, band=Band(300, 500))

    # Then both old grids survive unchanged and every household keeps its grid.
    assert result.report["stability_share"] == 1.0
    assert sorted(grid.kept_from or "" for grid in result.communities[0].grids) == ["E", "W"]
    assert result.report["communities"][0]["old_grids_kept_whole"] == 2


def test_community_below_the_band_becomes_one_flagged_grid_and_strays_are_reported() -> None:
    from gridding.fuse import fuse

    outline = box(0, 0, 300, 300)
    buildings = buildings_in(outline, 5, seed=1)  # at most 300 households
    stray = BuildingInput(id="far", lon=120.5, lat=36.9, households=10)

    result = fuse([community("370281001004", outline)], [*buildings, stray], band=Band(400, 500))

    assert result.communities[0].status == "below_band"
    assert len(result.communities[0].grids) == 1
    assert result.report["communities_outside_band"] == ["370281001004"]
    assert result.report["unassigned_buildings"] == ["far"]


def test_roads_that_strand_a_block_below_the_band_are_ignored_for_that_community() -> None:
    from gridding.fuse import fuse

    # Given 300 households north of a road and 100 south of it, with a 150–300 band.
    outline = box(-20, -20, 300, 220)
    rows = [(20.0 * i, 200.0, 30) for i in range(10)] + [(20.0 * i, 0.0, 20) for i in range(5)]
    buildings = [
        BuildingInput(
            id=f"b{i}",
            lon=ORIGIN.to_degrees(shapely.Point(x, y)).x,
            lat=ORIGIN.to_degrees(shapely.Point(x, y)).y,
            households=h,
        )
        for i, (x, y, h) in enumerate(rows)
    ]
    road = ORIGIN.to_degrees(shapely.LineString([(-20, 100), (300, 100)]))

    result = fuse([community("370281001005", outline)], buildings, band=Band(150, 300), barriers=[road])

    # Then the community is still gridded in band, with a note that the road was crossed.
    fusion = result.communities[0]
    assert fusion.status == "ok"
    assert "ignored_barriers" in fusion.notes
    assert all(150 <= grid.households <= 300 for grid in fusion.grids)
