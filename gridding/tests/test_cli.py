"""`python -m gridding micro|audit|fuse` on files: results, Chinese messages and exit codes for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import box, mapping

from gridding.cli import main
from gridding.geo import LocalMetricProjection

ORIGIN = LocalMetricProjection(119.90, 36.20)
ROOT = Path(__file__).resolve().parents[2]


def point(x: float, y: float) -> list[float]:
    p = ORIGIN.to_degrees(shapely.Point(x, y))
    return [p.x, p.y]


def feature(geometry: dict[str, Any] | None, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def building(identifier: str, x: float, y: float, households: Any, **extra: Any) -> dict[str, Any]:
    return feature({"type": "Point", "coordinates": point(x, y)}, id=identifier, households=households, **extra)


def write(path: Path, features: list[dict[str, Any]], **top: Any) -> str:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **top}), encoding="utf-8")
    return str(path)


def street(count: int = 12, households: int = 25) -> list[dict[str, Any]]:
    return [building(f"b{i}", 25.0 * (i % 4), 25.0 * (i // 4), households) for i in range(count)]


def test_micro_writes_points_with_their_micro_grid_and_one_polygon_each(tmp_path: Path, capsys: Any) -> None:
    source = write(tmp_path / "in.geojson", street())
    out = tmp_path / "out.geojson"

    code = main(["micro", "--in", source, "--out", str(out), "--seed", "3", "--code", "370281001001001"])

    assert code == 0
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    points = [f for f in features if f["geometry"] and f["geometry"]["type"] == "Point"]
    polygons = [f for f in features if f not in points]
    assert len(points) == 12
    assert {f["properties"]["micro_grid"] for f in points} == {f["properties"]["code"] for f in polygons}
    assert all(30 <= f["properties"]["households"] <= 100 for f in polygons)
    assert sum(f["properties"]["households"] for f in polygons) == 300
    assert all(len(f["properties"]["code"]) == 18 for f in polygons)
    assert "已划分" in capsys.readouterr().out


def test_micro_runs_as_a_module(tmp_path: Path) -> None:
    source = write(tmp_path / "in.geojson", street())
    out = tmp_path / "out.geojson"

    finished = subprocess.run(  # noqa: S603 (fixed argv)
        [sys.executable, "-m", "gridding", "micro", "--in", source, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert out.exists()


@pytest.mark.parametrize(
    ("content", "expected", "exit_code"),
    [
        ("not json at all", "不是有效的 JSON", 2),
        (json.dumps({"type": "Feature"}), "不是 GeoJSON 要素集合", 2),
        (json.dumps({"type": "FeatureCollection", "features": []}), "没有任何要素", 2),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [feature({"type": "Point", "coordinates": [119.9, 36.2]}, id="a")],
                }
            ),
            "缺少户数",
            2,
        ),
        (
            json.dumps({"type": "FeatureCollection", "features": [building("a", 0, 0, -3)]}),
            "户数（households）为负数：-3",
            2,
        ),
        (json.dumps({"type": "FeatureCollection", "features": [building("a", 0, 0, 2.5)]}), "不是整数", 2),
        (
            json.dumps({"type": "FeatureCollection", "features": [building("a", 0, 0, 5), building("a", 9, 0, 5)]}),
            "重复",
            2,
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [feature({"type": "Point", "coordinates": [500000, 4000000]}, id="a", households=3)],
                }
            ),
            "不是经纬度",
            2,
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [feature(mapping(box(119.9, 36.2, 119.91, 36.21)), id="a", households=3)],
                }
            ),
            "不是点",
            2,
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [building("a", 0, 0, 120, units=[{"id": "1", "households": 60}])],
                }
            ),
            "不一致",
            2,
        ),
        (
            json.dumps({"type": "FeatureCollection", "features": [building("a", 0, 0, 10), building("b", 9, 0, 12)]}),
            "合计 22 户，少于每个网格的下限 30 户",
            3,
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [building("a", 0, 0, 19), building("b", 30, 0, 88), building("c", 60, 0, 100)],
                }
            ),
            "已穷举全部划分方式",
            3,
        ),
    ],
)
def test_micro_bad_input_gets_a_chinese_message_and_non_zero_exit(
    tmp_path: Path, capsys: Any, content: str, expected: str, exit_code: int
) -> None:
    source = tmp_path / "in.geojson"
    source.write_text(content, encoding="utf-8")
    out = tmp_path / "out.geojson"

    code = main(["micro", "--in", str(source), "--out", str(out)])

    assert code == exit_code
    assert expected in capsys.readouterr().err
    assert not out.exists()


def test_micro_stranded_cluster_below_min_is_reported(tmp_path: Path, capsys: Any) -> None:
    # Given a hamlet of 20 households 1 km from the rest, and a strict 100 m neighbour distance.
    features = [*street(), building("far1", 1000, 0, 10), building("far2", 1010, 0, 10)]
    source = write(tmp_path / "in.geojson", features)

    code = main(["micro", "--in", source, "--out", str(tmp_path / "o.geojson"), "--max-edge", "100"])

    assert code == 3
    err = capsys.readouterr().err
    assert "合计 20 户" in err and "far1、far2" in err and "--max-edge" in err


def test_micro_missing_file_and_bad_band(tmp_path: Path, capsys: Any) -> None:
    assert main(["micro", "--in", str(tmp_path / "nope.geojson"), "--out", str(tmp_path / "o")]) == 2
    assert "找不到文件" in capsys.readouterr().err
    source = write(tmp_path / "in.geojson", street())
    assert main(["micro", "--in", source, "--out", str(tmp_path / "o"), "--min", "80", "--max", "40"]) == 2
    assert "户数区间无效" in capsys.readouterr().err


def test_audit_writes_report_and_summary(tmp_path: Path, capsys: Any) -> None:
    def polygon(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
        return dict(mapping(ORIGIN.to_degrees(box(x0, y0, x1, y1))))

    boundaries = write(tmp_path / "b.geojson", [feature(polygon(0, 0, 1000, 1000), code="370281001001", name="东村")])
    party = write(
        tmp_path / "party.geojson",
        [feature(polygon(0, 0, 600, 1000), id="P1", staff=["张三"]), feature(polygon(500, 0, 1000, 1000), id="P2")],
        name="党建",
    )
    legal = write(tmp_path / "legal.geojson", [feature(polygon(0, 0, 590, 1000), id="Z1", staff=["张三"])])
    out = tmp_path / "report.json"

    code = main(["audit", "--layers", party, legal, "--boundaries", boundaries, "--out", str(out)])

    assert code == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [layer["name"] for layer in report["layers"]] == ["党建", "legal"]
    assert report["totals"]["overlaps"] == 1
    assert report["near_coincident"][0]["grid_a"] == "P1" and report["near_coincident"][0]["grid_b"] == "Z1"
    assert report["shared_staff"][0]["person"] == "张三"
    assert "网格图层核查" in capsys.readouterr().out


def test_audit_bad_layer_file(tmp_path: Path, capsys: Any) -> None:
    boundaries = write(tmp_path / "b.geojson", [feature(mapping(box(119.9, 36.2, 119.91, 36.21)), code="1")])
    layer = write(tmp_path / "l.geojson", [feature({"type": "Point", "coordinates": [119.9, 36.2]}, id="x")])

    assert main(["audit", "--layers", layer, "--boundaries", boundaries, "--out", str(tmp_path / "r.json")]) == 2
    assert "不是有效的面" in capsys.readouterr().err


def test_fuse_writes_grids_and_report(tmp_path: Path, capsys: Any) -> None:
    outline = dict(mapping(ORIGIN.to_degrees(box(-20, -20, 200, 200))))
    communities = write(tmp_path / "c.geojson", [feature(outline, code="370281001001", name="东村")])
    buildings = write(
        tmp_path / "b.geojson", [building(f"b{i}", 20.0 * (i % 8), 20.0 * (i // 8), 30) for i in range(48)]
    )
    out, report_path = tmp_path / "fused.geojson", tmp_path / "report.json"

    code = main(
        [
            "fuse",
            "--buildings",
            buildings,
            "--communities",
            communities,
            "--out",
            str(out),
            "--report",
            str(report_path),
        ]
    )

    assert code == 0
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    grids = [f for f in features if f["geometry"] and f["geometry"]["type"] != "Point"]
    assert sum(f["properties"]["households"] for f in grids) == 48 * 30
    assert all(300 <= f["properties"]["households"] <= 500 for f in grids)
    assert all(f["properties"]["code"].startswith("370281001001") and len(f["properties"]["code"]) == 15 for f in grids)
    assert json.loads(report_path.read_text(encoding="utf-8"))["grids_in_band"] == len(grids)
    assert "全科网格方案" in capsys.readouterr().out


def test_fuse_community_that_cannot_meet_the_band_exits_3_but_writes_output(tmp_path: Path, capsys: Any) -> None:
    outline = dict(mapping(ORIGIN.to_degrees(box(-20, -20, 200, 200))))
    communities = write(tmp_path / "c.geojson", [feature(outline, code="370281001001")])
    buildings = write(tmp_path / "b.geojson", [building(f"b{i}", 20.0 * i, 0, 10) for i in range(5)])
    out = tmp_path / "fused.geojson"

    code = main(["fuse", "--buildings", buildings, "--communities", communities, "--out", str(out)])

    assert code == 3
    assert out.exists()
    assert "总户数不足下限" in capsys.readouterr().out


def test_micro_with_grid_outline_and_roads(tmp_path: Path) -> None:
    # Given two rows of 150 households each, a road between them, and the grid's outline.
    rows = [building(f"n{i}", 30.0 * i, 60, 30) for i in range(5)] + [
        building(f"s{i}", 30.0 * i, 0, 30) for i in range(5)
    ]
    source = write(tmp_path / "in.geojson", rows)
    road = dict(mapping(ORIGIN.to_degrees(shapely.LineString([(-50, 30), (200, 30)]))))
    roads = write(tmp_path / "roads.geojson", [feature(road, name="幸福路")])
    outline = write(
        tmp_path / "grid.geojson", [feature(dict(mapping(ORIGIN.to_degrees(box(-40, -40, 200, 100)))), id="g")]
    )
    out = tmp_path / "out.geojson"

    code = main(["micro", "--in", source, "--out", str(out), "--roads", roads, "--boundary", outline])

    assert code == 0
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    grid_of = {
        f["properties"]["id"]: f["properties"]["micro_grid"] for f in features if f["geometry"]["type"] == "Point"
    }
    # No micro-grid takes buildings from both sides of the road.
    assert not {grid_of[f"n{i}"] for i in range(5)} & {grid_of[f"s{i}"] for i in range(5)}
    polygons = [shapely.geometry.shape(f["geometry"]) for f in features if f["geometry"]["type"] != "Point"]
    outline_area = ORIGIN.to_degrees(box(-40, -40, 200, 100)).area
    assert sum(p.area for p in polygons) == pytest.approx(outline_area, rel=1e-4)  # output rounded to 1e-7°


def test_fuse_uses_existing_grids_and_is_deterministic(tmp_path: Path) -> None:
    # Given 8 × 4 buildings of 25 households and two existing grids of 400 households each (west, east).
    outline = dict(mapping(ORIGIN.to_degrees(box(-20, -20, 170, 100))))
    communities = write(tmp_path / "c.geojson", [feature(outline, code="370281001001")])
    points = [building(f"b{i}", 20.0 * (i % 8), 20.0 * (i // 8), 25) for i in range(32)]
    buildings = write(tmp_path / "b.geojson", points)
    west = dict(mapping(ORIGIN.to_degrees(box(-20, -20, 70, 100))))
    east = dict(mapping(ORIGIN.to_degrees(box(70, -20, 170, 100))))
    existing = write(tmp_path / "old.geojson", [feature(west, id="老网格西"), feature(east, id="老网格东")])

    outputs = []
    for run in range(2):
        out, report = tmp_path / f"f{run}.geojson", tmp_path / f"r{run}.json"
        args = ["fuse", "--buildings", buildings, "--communities", communities, "--existing", existing]
        assert main([*args, "--out", str(out), "--report", str(report), "--seed", "5"]) == 0
        outputs.append((out.read_text(encoding="utf-8"), json.loads(report.read_text(encoding="utf-8"))))

    # Then the same seed gives the same file, and both old grids (in band, contiguous) are kept whole.
    assert outputs[0][0] == outputs[1][0]
    assert outputs[0][1]["stability_share"] == 1.0
    assert outputs[0][1]["communities"][0]["old_grids_kept_whole"] == 2


def test_audit_summary_can_go_to_a_file(tmp_path: Path, capsys: Any) -> None:
    polygon = dict(mapping(ORIGIN.to_degrees(box(0, 0, 500, 500))))
    boundaries = write(tmp_path / "b.geojson", [feature(polygon, code="370281001001", name="东村")])
    layer = write(tmp_path / "l.geojson", [feature(polygon, id="G1")], name="城管")
    summary = tmp_path / "summary.txt"

    code = main(
        [
            "audit",
            "--layers",
            layer,
            "--boundaries",
            boundaries,
            "--out",
            str(tmp_path / "r.json"),
            "--summary",
            str(summary),
        ]
    )

    assert code == 0
    assert "【城管】1 个网格" in summary.read_text(encoding="utf-8")
    assert "未发现重叠、缝隙或跨界" in summary.read_text(encoding="utf-8")
    assert "中文摘要已写入" in capsys.readouterr().out
