"""Layer audit: overlaps, gaps, boundary crossings, near-coincident pairs, shared staff."""

from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from gridding.audit import AuditSettings, Layer, audit_layers, audit_summary
from gridding.geo import LocalMetricProjection
from gridding.io import PolygonFeature

ORIGIN = LocalMetricProjection(119.90, 36.20)


def area(identifier: str, metres: BaseGeometry, staff: tuple[str, ...] = (), name: str | None = None) -> PolygonFeature:
    return PolygonFeature(index=0, id=identifier, name=name, geometry=ORIGIN.to_degrees(metres), staff=staff)


# Two communities side by side, 1 km × 1 km each.
BOUNDARIES = [
    area("370281001001", box(0, 0, 1000, 1000), name="东村"),
    area("370281001002", box(1000, 0, 2000, 1000), name="西村"),
]


def party_layer() -> Layer:
    # Four clean grids that tile both communities.
    return Layer(
        name="党建",
        grids=[
            area("P1", box(0, 0, 1000, 500), staff=("张三",)),
            area("P2", box(0, 500, 1000, 1000), staff=("李四",)),
            area("P3", box(1000, 0, 2000, 500)),
            area("P4", box(1000, 500, 2000, 1000)),
        ],
    )


def legal_layer() -> Layer:
    # Z1 overlaps Z2 by 50 m × 500 m, Z2 crosses into the second community by 200 m,
    # and a 200 m × 1000 m strip of the second community is left uncovered.
    return Layer(
        name="综治",
        grids=[
            area("Z1", box(0, 0, 650, 1000), staff=("张三", "王五")),
            area("Z2", box(600, 0, 1200, 1000)),
            area("Z3", box(1200, 0, 1800, 1000)),
        ],
    )


def run(**overrides: Any) -> dict[str, Any]:
    return audit_layers([party_layer(), legal_layer()], BOUNDARIES, settings=AuditSettings(**overrides))


def test_clean_layer_has_no_findings() -> None:
    report = run()
    party = report["layers"][0]

    assert party["overlaps"] == [] and party["gaps"] == [] and party["crossing"] == []
    assert party["coverage_share"] == pytest.approx(1.0)


def test_overlap_gap_and_crossing_are_found_with_areas_and_locations() -> None:
    legal = run()["layers"][1]

    (overlap,) = legal["overlaps"]
    assert (overlap["grid_a"], overlap["grid_b"]) == ("Z1", "Z2")
    assert overlap["area_m2"] == pytest.approx(50_000, rel=0.01)
    (gap,) = legal["gaps"]
    assert gap["area_m2"] == pytest.approx(200_000, rel=0.01)
    assert gap["lon"] > ORIGIN.to_degrees(box(1800, 0, 1801, 1)).bounds[0] - 1e-6
    (crossing,) = legal["crossing"]
    assert crossing["grid"] == "Z2"
    assert [piece["id"] for piece in crossing["boundaries"]] == ["370281001001", "370281001002"]
    assert crossing["boundaries"][1]["share"] == pytest.approx(200 / 600, abs=0.01)


def test_crossing_within_tolerance_is_not_reported() -> None:
    # A grid reaching 5 m (0.5 % of its area) into the neighbour is digitising noise.
    layer = Layer(name="城管", grids=[area("C1", box(0, 0, 1005, 1000)), area("C2", box(1005, 0, 2000, 1000))])

    report = audit_layers([layer], BOUNDARIES)

    assert report["layers"][0]["crossing"] == []


def test_near_coincident_pairs_and_shared_staff_across_layers() -> None:
    report = run(iou_threshold=0.5)

    pairs = {(pair["grid_a"], pair["grid_b"]) for pair in report["near_coincident"]}
    # P1 (0–1000 × 0–500) vs Z1 (0–650 × 0–1000): IoU = 325,000 / 825,000 < 0.5; P3 vs Z3 = 300,000 / 800,000.
    assert pairs == set()
    report = run(iou_threshold=0.3)
    pairs = {(pair["grid_a"], pair["grid_b"]): pair["iou"] for pair in report["near_coincident"]}
    assert pairs[("P1", "Z1")] == pytest.approx(325 / 825, abs=0.01)
    assert report["shared_staff"] == [
        {
            "person": "张三",
            "layers": ["党建", "综治"],
            "grids": [{"layer": "党建", "grid": "P1"}, {"layer": "综治", "grid": "Z1"}],
        }
    ]


def test_summary_is_chinese_and_names_the_findings() -> None:
    summary = audit_summary(run(iou_threshold=0.3))

    assert "同图层重叠 1 处" in summary
    assert "Z1 与 Z2 重叠" in summary
    assert "跨越多个村/社区" in summary
    assert "张三：党建 P1、综治 Z1" in summary
