"""`manage.py export_areas`: a subtree as GeoJSON that `import_areas` takes back."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import shape

from gridgov.areas.models import Area, Building, Compound
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db


def test_export_writes_the_subtree_with_readable_chinese(tree: AreaTree) -> None:
    # given the tiny county
    town = tree.towns[0]
    # when a town is exported to standard output
    out = StringIO()
    call_command("export_areas", town.code, stdout=out)
    # then the town, its communities and its grids come out, parents first, names unescaped
    text = out.getvalue()
    assert "测试1街道" in text
    data = json.loads(text)
    assert data["type"] == "FeatureCollection"
    properties = [feature["properties"] for feature in data["features"]]
    assert [p["level"] for p in properties] == ["town", "community", "grid", "grid", "community", "grid", "grid"]
    assert properties[0] == {"code": town.code, "name": town.name, "level": "town", "parent_code": tree.district.code}
    assert all(feature["geometry"]["type"] == "Polygon" for feature in data["features"])


def test_export_of_an_unknown_code_fails_clearly(tree: AreaTree) -> None:
    # given a code that does not exist
    # when it is exported
    # then the command says so
    with pytest.raises(CommandError, match="区域编码“370281999”不存在。"):
        call_command("export_areas", "370281999", stdout=StringIO())


def test_exported_grids_round_trip_through_import(tmp_path: Path, tree: AreaTree) -> None:
    # given the grids of a community exported to a file
    community = tree.communities[0]
    path = tmp_path / "grids.geojson"
    out = StringIO()
    call_command("export_areas", community.code, "--level", "grid", "--output", str(path), stdout=out)
    assert "已导出2个区域" in out.getvalue()
    originals = {grid.code: grid for grid in Area.objects.filter(parent=community)}
    # when the grids are deleted (with what sits in them) and the file is imported again
    Building.objects.filter(grid__parent=community).delete()
    Compound.objects.filter(grid__parent=community).delete()
    Area.objects.filter(parent=community).delete()
    call_command(
        "import_areas", str(path), "--level", "grid", "--parent", community.code, stdout=StringIO(), stderr=StringIO()
    )
    # then the same grids are back, with the same names and paths, and the same geometry and
    # bounding boxes up to the 7 decimals (~1 cm) the import keeps
    restored = {grid.code: grid for grid in Area.objects.filter(parent=community)}
    assert restored.keys() == originals.keys()
    for code, grid in restored.items():
        original = originals[code]
        assert (grid.name, grid.path, grid.level) == (original.name, original.path, original.level)
        assert shape(grid.geometry).equals_exact(shape(original.geometry), tolerance=1e-7)
        bbox = (grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat)
        assert bbox == pytest.approx((original.min_lon, original.min_lat, original.max_lon, original.max_lat), abs=1e-7)
