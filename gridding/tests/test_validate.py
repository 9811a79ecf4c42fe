"""Batch checks for sibling polygons: pure shapely, no database."""

from __future__ import annotations

import time
from typing import Any

import pytest
from shapely.geometry import Point, box, mapping
from shapely.geometry.base import BaseGeometry

from gridding.geo import LocalMetricProjection
from gridding.validate import (
    Candidate,
    ExistingArea,
    Problem,
    ProblemKind,
    candidate_from_geojson,
    validate_siblings,
)

SIZE = 0.01  # a grid is 0.01° square, ~900 m × 1,100 m at 36° N
LON, LAT = 119.90, 36.19
COMMUNITY = box(LON, LAT, LON + 2 * SIZE, LAT + SIZE)
# Degrees per metre at this latitude, to place things a known distance away.
_PROJECTION = LocalMetricProjection(LON, LAT)
DEG_PER_M_LON = 1 / _PROJECTION.metres_per_lon
DEG_PER_M_LAT = 1 / _PROJECTION.metres_per_lat


def geojson(geometry: BaseGeometry) -> dict[str, Any]:
    return dict(mapping(geometry))


def candidate(index: int, geometry: Any, code: str | None = None) -> Candidate:
    raw = geojson(geometry) if isinstance(geometry, BaseGeometry) else geometry
    return candidate_from_geojson(index=index, code=code or f"{index + 1:03d}", name=f"网格{index + 1}", geometry=raw)


def two_grids(west: BaseGeometry | None = None, east: BaseGeometry | None = None) -> list[Candidate]:
    return [
        candidate(0, west or box(LON, LAT, LON + SIZE, LAT + SIZE)),
        candidate(1, east or box(LON + SIZE, LAT, LON + 2 * SIZE, LAT + SIZE)),
    ]


def kinds(problems: list[Problem]) -> list[ProblemKind]:
    return [problem.kind for problem in problems]


def test_grids_that_tile_their_community_have_no_problems() -> None:
    # given two grids that exactly cover their community
    # when validated
    problems = validate_siblings(two_grids(), parent=COMMUNITY)
    # then nothing is wrong
    assert problems == []


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (None, ProblemKind.MISSING_GEOMETRY),
        ({"type": "Polygon"}, ProblemKind.INVALID_GEOJSON),
        ({"type": "Polygon", "coordinates": [[["a", "b"]]]}, ProblemKind.INVALID_GEOJSON),
        ({"type": "Circle", "coordinates": [0, 0]}, ProblemKind.INVALID_GEOJSON),
        ({"type": "Point", "coordinates": [LON, LAT]}, ProblemKind.NOT_POLYGON),
        ({"type": "LineString", "coordinates": [[LON, LAT], [LON + SIZE, LAT]]}, ProblemKind.NOT_POLYGON),
        (
            {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + SIZE, LAT], [LON + SIZE, LAT + SIZE]]]},
            ProblemKind.TOO_FEW_POINTS,
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[LON, LAT], [LON + SIZE, LAT], [LON + SIZE, LAT + SIZE], [LON, LAT + SIZE]]],
            },
            ProblemKind.NOT_CLOSED,
        ),
        # Gauss-Krüger metres (CGCS2000 3° zone 40) instead of degrees.
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[40_500_000, 4_000_000], [40_501_000, 4_000_000], [40_500_000, 4_001_000], [40_500_000, 4_000_000]]
                ],
            },  # noqa: E501
            ProblemKind.NOT_LONLAT,
        ),
        ({"type": "Polygon", "coordinates": []}, ProblemKind.EMPTY_GEOMETRY),
    ],
)
def test_malformed_geometry_is_reported_for_its_feature(raw: Any, kind: ProblemKind) -> None:
    # given a batch whose second feature has a malformed geometry
    batch = [candidate(0, box(LON, LAT, LON + SIZE, LAT + SIZE)), candidate(1, raw)]
    # when validated (no parent: only the structure matters here)
    problems = validate_siblings(batch, parent=None)
    # then exactly that feature is reported, by its 0-based index and code
    assert [(problem.kind, problem.index, problem.code) for problem in problems] == [(kind, 1, "002")]


def test_bow_tie_is_a_self_intersection_with_its_location() -> None:
    # given a bow-tie: the ring crosses itself in the middle of the east grid
    west, south, east, north = LON + SIZE, LAT, LON + 2 * SIZE, LAT + SIZE
    bow_tie = {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, north], [east, south], [west, north], [west, south]]],
    }
    batch = [candidate(0, box(LON, LAT, LON + SIZE, LAT + SIZE)), candidate(1, bow_tie)]
    # when validated
    problems = validate_siblings(batch, parent=COMMUNITY)
    # then the crossing point is reported, and not the holes the bow-tie leaves (fixing it settles them)
    assert kinds(problems) == [ProblemKind.SELF_INTERSECTION]
    assert problems[0].index == 1
    assert problems[0].params["lon"] == pytest.approx(LON + 1.5 * SIZE)
    assert problems[0].params["lat"] == pytest.approx(LAT + 0.5 * SIZE)


def test_other_invalid_polygons_carry_the_geos_reason() -> None:
    # given a polygon whose hole lies outside its shell
    shell = [[LON, LAT], [LON + SIZE, LAT], [LON + SIZE, LAT + SIZE], [LON, LAT + SIZE], [LON, LAT]]
    hole = [[LON + 5 * SIZE, LAT], [LON + 6 * SIZE, LAT], [LON + 6 * SIZE, LAT + SIZE], [LON + 5 * SIZE, LAT]]
    batch = [candidate(0, {"type": "Polygon", "coordinates": [shell, hole]})]
    # when validated
    problems = validate_siblings(batch, parent=None)
    # then the GEOS reason is kept for the renderer
    assert kinds(problems) == [ProblemKind.INVALID_GEOMETRY]
    assert problems[0].params["reason"] == "Hole lies outside shell"


def test_a_boundary_within_the_outside_tolerance_is_accepted() -> None:
    # given an east grid that pokes 0.5 m beyond the community
    east = box(LON + SIZE, LAT, LON + 2 * SIZE + 0.5 * DEG_PER_M_LON, LAT + SIZE)
    # when validated with a 1 m tolerance
    problems = validate_siblings(two_grids(east=east), parent=COMMUNITY, outside_tolerance_m=1.0)
    # then digitising noise is not an error
    assert problems == []


def test_a_grid_outside_its_parent_is_reported_with_area_and_distance() -> None:
    # given an east grid that reaches 20 m beyond the community's east edge
    east = box(LON + SIZE, LAT, LON + 2 * SIZE + 20 * DEG_PER_M_LON, LAT + SIZE)
    # when validated with a 1 m tolerance
    problems = validate_siblings(two_grids(east=east), parent=COMMUNITY, outside_tolerance_m=1.0)
    # then the grid is reported with how far and how much it sticks out
    assert kinds(problems) == [ProblemKind.OUTSIDE_PARENT]
    params = problems[0].params
    assert problems[0].index == 1
    assert params["distance_m"] == pytest.approx(20, rel=0.01)
    assert params["area_m2"] == pytest.approx(20 * SIZE / DEG_PER_M_LAT, rel=0.01)
    assert params["lon"] > LON + 2 * SIZE


def test_overlapping_siblings_are_reported_once_on_the_later_feature() -> None:
    # given a west grid that reaches 50 m into the east grid
    west = box(LON, LAT, LON + SIZE + 50 * DEG_PER_M_LON, LAT + SIZE)
    # when validated
    problems = validate_siblings(two_grids(west=west), parent=COMMUNITY)
    # then one overlap is reported, on the second feature, naming the first
    assert kinds(problems) == [ProblemKind.OVERLAP]
    problem = problems[0]
    assert (problem.index, problem.params["other_index"], problem.params["other_code"]) == (1, 0, "001")
    assert problem.params["area_m2"] == pytest.approx(50 * SIZE / DEG_PER_M_LAT, rel=0.01)
    assert LON + SIZE < problem.params["lon"] < LON + SIZE + 50 * DEG_PER_M_LON


def test_an_overlap_below_the_area_tolerance_is_accepted() -> None:
    # given grids that share a 0.1 m wide strip along their border (~110 m²)
    west = box(LON, LAT, LON + SIZE + 0.1 * DEG_PER_M_LON, LAT + SIZE)
    # when validated with a 200 m² tolerance
    problems = validate_siblings(two_grids(west=west), parent=COMMUNITY, overlap_tolerance_m2=200)
    # then nothing is reported
    assert problems == []


def test_overlap_with_an_existing_sibling_is_reported() -> None:
    # given the west grid already stored, and a new east grid reaching 30 m into it
    stored = ExistingArea(code="001", name="已有网格", geometry=box(LON, LAT, LON + SIZE, LAT + SIZE))
    east = candidate(0, box(LON + SIZE - 30 * DEG_PER_M_LON, LAT, LON + 2 * SIZE, LAT + SIZE), code="002")
    # when validated
    problems = validate_siblings([east], parent=COMMUNITY, existing=[stored])
    # then the overlap names the stored sibling; together they cover the community, so no gap
    assert kinds(problems) == [ProblemKind.OVERLAP_EXISTING]
    assert problems[0].params["other_code"] == "001"
    assert problems[0].params["area_m2"] == pytest.approx(30 * SIZE / DEG_PER_M_LAT, rel=0.01)


def test_a_gap_is_reported_with_its_area_and_a_point_inside_it() -> None:
    # given grids that leave a 100 m wide strip of the community uncovered
    east = box(LON + SIZE + 100 * DEG_PER_M_LON, LAT, LON + 2 * SIZE, LAT + SIZE)
    # when validated
    problems = validate_siblings(two_grids(east=east), parent=COMMUNITY)
    # then the gap belongs to no feature and points into the strip
    assert kinds(problems) == [ProblemKind.GAP]
    gap = problems[0]
    assert gap.index is None
    assert gap.params["area_m2"] == pytest.approx(100 * SIZE / DEG_PER_M_LAT, rel=0.01)
    strip = box(LON + SIZE, LAT, LON + SIZE + 100 * DEG_PER_M_LON, LAT + SIZE)
    assert strip.contains(Point(gap.params["lon"], gap.params["lat"]))


def test_slivers_below_the_tolerance_and_disabled_gap_checks_are_quiet() -> None:
    # given a 1 cm sliver between the grids (~11 m²) and, separately, one grid missing entirely
    east = box(LON + SIZE + 0.01 * DEG_PER_M_LON, LAT, LON + 2 * SIZE, LAT + SIZE)
    # when validated with a 20 m² gap tolerance, and the half-empty batch without a gap check
    sliver = validate_siblings(two_grids(east=east), parent=COMMUNITY, gap_tolerance_m2=20)
    half = validate_siblings(two_grids()[:1], parent=COMMUNITY, check_gaps=False)
    # then neither is reported
    assert sliver == []
    assert half == []


def test_a_duplicate_code_names_the_first_feature() -> None:
    # given two grids with the same code
    batch = [
        candidate(0, box(LON, LAT, LON + SIZE, LAT + SIZE), code="001"),
        candidate(1, box(LON + SIZE, LAT, LON + 2 * SIZE, LAT + SIZE), code="001"),
    ]
    # when validated
    problems = validate_siblings(batch, parent=COMMUNITY)
    # then the second is a duplicate of the first (index 0)
    assert [(p.kind, p.index, p.params["other_index"]) for p in problems] == [(ProblemKind.DUPLICATE_CODE, 1, 0)]


def test_a_county_of_grids_is_checked_quickly_and_finds_the_one_overlap() -> None:
    # given 1,400 grids (40 × 35) of 0.005° tiling a "county", one of them shifted east by 100 m
    columns, rows, size = 40, 35, 0.005
    county = box(LON, LAT, LON + columns * size, LAT + rows * size)
    batch = []
    for row in range(rows):
        for column in range(columns):
            west, south = LON + column * size, LAT + row * size
            batch.append(candidate(len(batch), box(west, south, west + size, south + size), code=f"{len(batch):04d}"))
    shifted = batch[500].geometry
    assert shifted is not None
    west, south, east, north = shifted.bounds
    batch[500] = candidate(500, box(west + 100 * DEG_PER_M_LON, south, east + 100 * DEG_PER_M_LON, north), code="0500")
    # when validated
    started = time.perf_counter()
    problems = validate_siblings(batch, parent=county)
    elapsed = time.perf_counter() - started
    # then the overlap with its east neighbour and the gap it left are found, fast
    assert kinds(problems) == [ProblemKind.OVERLAP, ProblemKind.GAP]
    overlap = next(p for p in problems if p.kind == ProblemKind.OVERLAP)
    assert {overlap.index, overlap.params["other_index"]} == {500, 501}
    assert elapsed < 5
