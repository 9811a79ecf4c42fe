"""`manage.py import_areas` and `area_import_geojson`: all-or-nothing GeoJSON import of grids."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import box, mapping, shape
from shapely.geometry.base import BaseGeometry

from gridding.crs import wgs84_to_gcj02
from gridding.geo import LocalMetricProjection
from gridgov.areas.choices import AreaLevel
from gridgov.areas.importing import area_import_geojson
from gridgov.areas.models import Area
from gridgov.areas.services import area_create
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db

SIZE = 0.01
LON, LAT = 120.00, 36.00  # away from the `tree` fixture's squares
COMMUNITY_CODE = "370281001003"
WEST = box(LON, LAT, LON + SIZE, LAT + SIZE)
EAST = box(LON + SIZE, LAT, LON + 2 * SIZE, LAT + SIZE)
_PROJECTION = LocalMetricProjection(LON, LAT)
DEG_PER_M_LON = 1 / _PROJECTION.metres_per_lon


@pytest.fixture
def community(tree: AreaTree) -> Area:
    """An empty community, two grids wide, in the first town of the tiny county."""
    return area_create(
        actor=None,
        level=AreaLevel.COMMUNITY,
        code=COMMUNITY_CODE,
        name="新建社区",
        parent=tree.towns[0],
        geometry=dict(mapping(box(LON, LAT, LON + 2 * SIZE, LAT + SIZE))),
    )


def feature(code: Any, name: str | None, geometry: BaseGeometry | dict[str, Any] | None) -> dict[str, Any]:
    raw = dict(mapping(geometry)) if isinstance(geometry, BaseGeometry) else geometry
    properties = {"code": code, "name": name}
    return {"type": "Feature", "properties": properties, "geometry": raw}


def collection(*features: dict[str, Any]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False)


def valid_pair() -> str:
    return collection(
        feature(f"{COMMUNITY_CODE}001", "东风网格", WEST),
        feature(f"{COMMUNITY_CODE}002", "红旗网格", EAST),
    )


def run_import(tmp_path: Path, content: str | bytes, *args: str, parent: str = COMMUNITY_CODE) -> tuple[str, str]:
    """Run the command on a file; returns (stdout, stderr), or raises CommandError with stderr attached."""
    path = tmp_path / "grids.geojson"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    out, err = StringIO(), StringIO()
    try:
        call_command("import_areas", str(path), "--level", "grid", "--parent", parent, *args, stdout=out, stderr=err)
    except CommandError as error:
        error.stderr = err.getvalue()  # type: ignore[attr-defined]
        raise
    return out.getvalue(), err.getvalue()


def rejected(tmp_path: Path, content: str | bytes, *args: str, parent: str = COMMUNITY_CODE) -> str:
    """Run an import that must fail and write nothing; returns the problem lines."""
    before = Area.objects.count()
    with pytest.raises(CommandError, match="未写入任何数据") as raised:
        run_import(tmp_path, content, *args, parent=parent)
    assert Area.objects.count() == before
    return raised.value.stderr  # type: ignore[attr-defined,no-any-return]


# ------------------------------------------------------------------ success


def test_valid_file_imports_every_grid_with_path_and_bbox(tmp_path: Path, community: Area) -> None:
    # given a file with the two grids that tile the new community
    # when it is imported
    out, err = run_import(tmp_path, valid_pair())
    # then both grids exist under the community with materialised paths and bounding boxes
    assert "已导入2个区域" in out
    assert err == ""
    grids = list(Area.objects.filter(parent=community).order_by("code"))
    assert [(g.code, g.name, g.level) for g in grids] == [
        (f"{COMMUNITY_CODE}001", "东风网格", AreaLevel.GRID),
        (f"{COMMUNITY_CODE}002", "红旗网格", AreaLevel.GRID),
    ]
    assert [g.path for g in grids] == [f"{community.path}001/", f"{community.path}002/"]
    east = grids[1]
    assert (east.min_lon, east.min_lat, east.max_lon, east.max_lat) == pytest.approx(EAST.bounds)
    assert shape(east.geometry).equals(EAST)


def test_report_only_checks_but_writes_nothing(tmp_path: Path, community: Area) -> None:
    # given a valid file
    before = Area.objects.count()
    # when it is checked with --report-only
    out, _ = run_import(tmp_path, valid_pair(), "--report-only")
    # then it passes and nothing is written
    assert "检查通过：共2个要素" in out
    assert Area.objects.count() == before


def test_codes_given_as_json_numbers_and_other_property_names_are_accepted(tmp_path: Path, community: Area) -> None:
    # given a file exported from a spreadsheet: numeric codes under 编码, names under 名称
    content = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"编码": int(f"{COMMUNITY_CODE}00{i + 1}"), "名称": name},
                    "geometry": dict(mapping(geometry)),
                }
                for i, (name, geometry) in enumerate([("东风网格", WEST), ("红旗网格", EAST)])
            ],
        },
        ensure_ascii=False,
    )
    # when imported with the property names given
    run_import(tmp_path, content, "--code-property", "编码", "--name-property", "名称")
    # then the grids exist
    assert Area.objects.filter(parent=community).count() == 2


# ---------------------------------------------------------------- rejection


def test_overlapping_siblings_are_rejected(tmp_path: Path, community: Area) -> None:
    # given a file whose west grid reaches 50 m into the east grid
    west = box(LON, LAT, LON + SIZE + 50 * DEG_PER_M_LON, LAT + SIZE)
    content = collection(
        feature(f"{COMMUNITY_CODE}001", "东风网格", west), feature(f"{COMMUNITY_CODE}002", "红旗网格", EAST)
    )
    # when imported
    lines = rejected(tmp_path, content)
    # then the second feature is named, with the first and the overlap area
    assert f"第2个要素（编码 {COMMUNITY_CODE}002）：与第1个要素（编码 {COMMUNITY_CODE}001）重叠约" in lines
    assert "平方米" in lines


def test_a_grid_outside_its_community_is_rejected(tmp_path: Path, community: Area) -> None:
    # given an east grid that reaches 200 m beyond the community's east edge
    east = box(LON + SIZE, LAT, LON + 2 * SIZE + 200 * DEG_PER_M_LON, LAT + SIZE)
    content = collection(
        feature(f"{COMMUNITY_CODE}001", "东风网格", WEST), feature(f"{COMMUNITY_CODE}002", "红旗网格", east)
    )
    # when imported
    lines = rejected(tmp_path, content)
    # then the grid is named with how far it sticks out of which parent
    assert f"第2个要素（编码 {COMMUNITY_CODE}002）：有约" in lines
    assert "超出上级区域“新建社区”的边界（最远约200.0米" in lines


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        # 14 digits instead of 15
        (
            (f"{COMMUNITY_CODE}01", f"{COMMUNITY_CODE}002"),
            f"第1个要素（编码 {COMMUNITY_CODE}01）：网格编码应为15位数字",
        ),
        # belongs to another community
        (
            ("370281001001009", f"{COMMUNITY_CODE}002"),
            f"第1个要素（编码 370281001001009）：编码“370281001001009”应以上级编码“{COMMUNITY_CODE}”开头",
        ),
        # twice in the file
        (
            (f"{COMMUNITY_CODE}001", f"{COMMUNITY_CODE}001"),
            f"第2个要素（编码 {COMMUNITY_CODE}001）：编码“{COMMUNITY_CODE}001”与第1个要素重复",
        ),
        # missing
        ((None, f"{COMMUNITY_CODE}002"), "第1个要素（名称 东风网格）：缺少编码属性“code”。"),
    ],
)
def test_bad_codes_are_rejected(tmp_path: Path, community: Area, codes: tuple[Any, Any], expected: str) -> None:
    # given a file with a bad code
    content = collection(feature(codes[0], "东风网格", WEST), feature(codes[1], "红旗网格", EAST))
    # when imported
    lines = rejected(tmp_path, content)
    # then the feature and the rule it breaks are named
    assert expected in lines


def test_a_code_already_in_the_database_is_rejected(tmp_path: Path, community: Area) -> None:
    # given one grid already imported
    run_import(tmp_path, collection(feature(f"{COMMUNITY_CODE}001", "东风网格", WEST)), "--allow-gaps")
    # when a file reuses its code for the other half
    lines = rejected(tmp_path, collection(feature(f"{COMMUNITY_CODE}001", "红旗网格", EAST)))
    # then the clash names the stored area
    assert f"第1个要素（编码 {COMMUNITY_CODE}001）：编码“{COMMUNITY_CODE}001”已被已有区域“东风网格”使用。" in lines


def test_a_bow_tie_polygon_is_rejected(tmp_path: Path, community: Area) -> None:
    # given an east grid drawn as a bow-tie (its ring crosses itself)
    w, s, e, n = EAST.bounds
    bow_tie = {"type": "Polygon", "coordinates": [[[w, s], [e, n], [e, s], [w, n], [w, s]]]}
    content = collection(
        feature(f"{COMMUNITY_CODE}001", "东风网格", WEST), feature(f"{COMMUNITY_CODE}002", "红旗网格", bow_tie)
    )
    # when imported
    lines = rejected(tmp_path, content)
    # then the crossing is named with where it is, without gap reports that fixing it will settle
    assert f"第2个要素（编码 {COMMUNITY_CODE}002）：多边形边界自相交" in lines
    assert f"经度{LON + 1.5 * SIZE:.6f}、纬度{LAT + 0.5 * SIZE:.6f}" in lines
    assert "未被任何网格覆盖" not in lines


def test_an_unclosed_ring_is_rejected(tmp_path: Path, community: Area) -> None:
    # given an east grid whose ring stops before returning to its first point
    w, s, e, n = EAST.bounds
    open_ring = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n]]]}
    content = collection(
        feature(f"{COMMUNITY_CODE}001", "东风网格", WEST), feature(f"{COMMUNITY_CODE}002", "红旗网格", open_ring)
    )
    # when imported
    lines = rejected(tmp_path, content)
    # then the open ring is named
    assert f"第2个要素（编码 {COMMUNITY_CODE}002）：多边形未闭合" in lines


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("网格1,370281001003001\n网格2,370281001003002\n", "文件不是有效的JSON（GeoJSON）：第1行第1列附近有语法错误。"),
        ('{"type": "FeatureCollection", "features": [', "文件不是有效的JSON（GeoJSON）"),
        ("[1, 2, 3]", "文件不是GeoJSON要素集合"),
        (
            '{"type": "Feature", "geometry": null, "properties": {}}',
            "顶层对象的type应为FeatureCollection，实际为“Feature”",
        ),
        ('{"type": "FeatureCollection", "features": []}', "文件中没有任何要素。"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "文件不是有效的JSON"),
        (
            json.dumps({"type": "FeatureCollection", "crs": {"properties": {"name": "EPSG:4547"}}, "features": []}),
            "文件声明的坐标系“EPSG:4547”不受支持",
        ),
    ],
)
def test_files_that_are_not_geojson_feature_collections_are_rejected(
    tmp_path: Path, community: Area, content: str | bytes, expected: str
) -> None:
    # given a file that is not a usable FeatureCollection
    # when imported
    lines = rejected(tmp_path, content)
    # then the file as a whole is described
    assert expected in lines


def test_a_feature_without_geometry_is_rejected(tmp_path: Path, community: Area) -> None:
    # given a file whose second feature has no geometry
    content = collection(
        feature(f"{COMMUNITY_CODE}001", "东风网格", WEST), feature(f"{COMMUNITY_CODE}002", "红旗网格", None)
    )
    # when imported
    lines = rejected(tmp_path, content)
    # then that feature is named
    assert f"第2个要素（编码 {COMMUNITY_CODE}002）：缺少几何图形（geometry为空）。" in lines


def test_importing_to_a_missing_parent_or_the_wrong_level_is_rejected(tmp_path: Path, tree: AreaTree) -> None:
    # given a valid-looking file
    # when it is imported under a code that does not exist, and grids straight under a town
    missing = rejected(tmp_path, valid_pair(), parent="370281009009")
    wrong_level = rejected(tmp_path, valid_pair(), parent=tree.towns[0].code)
    # then each says why
    assert "上级区域编码“370281009009”不存在。" in missing
    assert "网格不能直接导入到镇街“测试1街道”之下，其下级应为村/社区。" in wrong_level


def test_every_problem_is_reported_in_one_pass(tmp_path: Path, community: Area) -> None:
    # given a file with several independent mistakes
    content = collection(
        feature(f"{COMMUNITY_CODE}01", "东风网格", WEST),
        feature(f"{COMMUNITY_CODE}002", None, {"type": "Point", "coordinates": [LON, LAT]}),
    )
    # when imported
    lines = rejected(tmp_path, content)
    # then all of them are listed, in file order
    assert lines.splitlines() == [
        f"第1个要素（编码 {COMMUNITY_CODE}01）：网格编码应为15位数字，收到“{COMMUNITY_CODE}01”。",
        f"第2个要素（编码 {COMMUNITY_CODE}002）：缺少名称属性“name”。",
        f"第2个要素（编码 {COMMUNITY_CODE}002）：几何类型为Point，应为闭合多边形（Polygon或MultiPolygon）。",
    ]


# ------------------------------------------------------------ coverage rules


def test_a_gap_in_the_community_is_rejected_unless_gaps_are_allowed(tmp_path: Path, community: Area) -> None:
    # given a file with only the west grid
    content = collection(feature(f"{COMMUNITY_CODE}001", "东风网格", WEST))
    # when imported strictly, then with --allow-gaps
    lines = rejected(tmp_path, content)
    out, _ = run_import(tmp_path, content, "--allow-gaps")
    # then the strict import names the uncovered area and where it is; the lenient one imports
    assert f"上级区域“新建社区”（编码 {COMMUNITY_CODE}）内有约" in lines
    assert "未被任何网格覆盖" in lines
    assert f"经度{LON + 1.5 * SIZE:.6f}" in lines
    assert "已导入1个区域" in out


def test_a_new_grid_overlapping_an_existing_sibling_is_rejected(tmp_path: Path, community: Area) -> None:
    # given the west grid already stored
    run_import(tmp_path, collection(feature(f"{COMMUNITY_CODE}001", "东风网格", WEST)), "--allow-gaps")
    # when a file adds an east grid that reaches 100 m into it
    east = box(LON + SIZE - 100 * DEG_PER_M_LON, LAT, LON + 2 * SIZE, LAT + SIZE)
    lines = rejected(tmp_path, collection(feature(f"{COMMUNITY_CODE}002", "红旗网格", east)))
    # then the stored sibling is named
    assert f"第1个要素（编码 {COMMUNITY_CODE}002）：与已有的网格“东风网格”（编码 {COMMUNITY_CODE}001）重叠约" in lines


def test_the_remaining_grid_completes_a_community_with_existing_grids(tmp_path: Path, community: Area) -> None:
    # given the west grid already stored
    run_import(tmp_path, collection(feature(f"{COMMUNITY_CODE}001", "东风网格", WEST)), "--allow-gaps")
    # when the east grid is imported strictly
    out, _ = run_import(tmp_path, collection(feature(f"{COMMUNITY_CODE}002", "红旗网格", EAST)))
    # then the stored and new grids together cover the community, so it passes
    assert "已导入1个区域" in out


# -------------------------------------------------------------------- GCJ-02


def test_gcj02_import_lands_within_a_metre_of_the_wgs84_original(tmp_path: Path, community: Area) -> None:
    # given the two grids as an AMap/WeChat tool would hand them over, shifted to GCJ-02
    west_gcj, east_gcj = wgs84_to_gcj02(WEST), wgs84_to_gcj02(EAST)
    content = collection(
        feature(f"{COMMUNITY_CODE}001", "东风网格", west_gcj), feature(f"{COMMUNITY_CODE}002", "红旗网格", east_gcj)
    )
    # when imported without saying so, then with --crs gcj02
    unconverted = rejected(tmp_path, content)
    run_import(tmp_path, content, "--crs", "gcj02")
    # then the shifted file does not fit its community, and the converted one lands on the originals
    assert "超出上级区域" in unconverted
    for code, original in [(f"{COMMUNITY_CODE}001", WEST), (f"{COMMUNITY_CODE}002", EAST)]:
        stored = shape(Area.objects.get(code=code).geometry)
        metres = LocalMetricProjection(LON, LAT)
        assert metres.to_metres(stored).hausdorff_distance(metres.to_metres(original)) < 1.0


# ----------------------------------------------------------------- service


def test_the_service_reports_structured_problems_and_writes_nothing(community: Area) -> None:
    # given a file with an overlap
    west = box(LON, LAT, LON + SIZE + 50 * DEG_PER_M_LON, LAT + SIZE)
    content = collection(
        feature(f"{COMMUNITY_CODE}001", "东风网格", west), feature(f"{COMMUNITY_CODE}002", "红旗网格", EAST)
    )
    before = Area.objects.count()
    # when the service is called directly
    report = area_import_geojson(
        actor=None, data=content.encode(), level="grid", parent_code=COMMUNITY_CODE, report_only=False
    )
    # then the problem carries the 0-based index, the 1-based number, the code and the kind
    assert not report.ok
    assert report.created == 0
    assert [(p.kind, p.index, p.number, p.code) for p in report.problems] == [("overlap", 1, 2, f"{COMMUNITY_CODE}002")]
    assert Area.objects.count() == before
