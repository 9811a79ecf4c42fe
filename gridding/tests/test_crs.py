"""GCJ-02 conversion: pure shapely, no database."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box

from gridding.crs import gcj02_to_wgs84, gcj02_to_wgs84_coords, wgs84_to_gcj02, wgs84_to_gcj02_coords
from gridding.geo import LocalMetricProjection

JIAOZHOU = Point(119.95, 36.25)


def metres_between(a: Point, b: Point) -> float:
    projection = LocalMetricProjection(a.x, a.y)
    return math.hypot((b.x - a.x) * projection.metres_per_lon, (b.y - a.y) * projection.metres_per_lat)


def test_gcj02_offset_in_jiaozhou_is_several_hundred_metres() -> None:
    # given a WGS84 point in Jiaozhou
    # when it is shifted to GCJ-02
    shifted = wgs84_to_gcj02(JIAOZHOU)
    # then it moves by the few hundred metres consumer maps are known for
    assert 200 < metres_between(JIAOZHOU, shifted) < 1000


def test_round_trip_wgs84_gcj02_wgs84_is_within_a_metre() -> None:
    # given points spread over China, from Harbin to Sanya and Kashgar to Shanghai
    wgs = np.array([[126.63, 45.75], [109.51, 18.25], [75.99, 39.47], [121.47, 31.23], [119.95, 36.25]])
    # when shifted to GCJ-02 and back with the iterative inverse
    back = gcj02_to_wgs84_coords(wgs84_to_gcj02_coords(wgs))
    # then every point is where it started, far inside a metre (1e-7° ≈ 1 cm)
    assert np.abs(back - wgs).max() < 1e-7


# (WGS84 lon, lat) → (GCJ-02 lon, lat): the Shanghai, Shenzhen and Beijing
# vectors shared by the eviltransform implementations in many languages.
PUBLISHED_PAIRS = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]


@pytest.mark.parametrize(("wgs", "gcj"), PUBLISHED_PAIRS)
def test_matches_published_vectors_both_ways(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    # given a published WGS84 / GCJ-02 pair
    # when converting in each direction
    forward = wgs84_to_gcj02_coords(np.array([wgs]))[0]
    inverse = gcj02_to_wgs84_coords(np.array([gcj]))[0]
    # then the forward formula matches to the last digits and the inverse within a centimetre
    assert np.abs(forward - np.array(gcj)).max() < 1e-9
    assert metres_between(Point(*inverse), Point(*wgs)) < 0.01


def test_outside_china_is_identity() -> None:
    # given points in Paris and New York
    points = np.array([[2.35, 48.85], [-74.0, 40.7]])
    # when converted either way
    # then nothing moves
    assert np.array_equal(wgs84_to_gcj02_coords(points), points)
    assert np.array_equal(gcj02_to_wgs84_coords(points), points)


def test_polygon_round_trip_keeps_shape_and_validity() -> None:
    # given a grid polygon with a hole
    grid = box(119.90, 36.19, 119.91, 36.20).difference(box(119.903, 36.193, 119.905, 36.195))
    # when it is shifted to GCJ-02 and back
    back = gcj02_to_wgs84(wgs84_to_gcj02(grid))
    # then it is still a valid polygon with a hole, every vertex where it was
    assert back.is_valid
    assert len(back.interiors) == 1
    assert np.abs(shapely.get_coordinates(back) - shapely.get_coordinates(grid)).max() < 1e-7
