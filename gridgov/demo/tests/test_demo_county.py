"""`manage.py demo_county`: the small preset end to end."""

from __future__ import annotations

import hashlib
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import shapely
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command
from django.db.models import ProtectedError
from django.test import Client
from shapely.geometry import shape

from gridding.geo import LocalMetricProjection
from gridding.tessellate import order_west_east_north_south
from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department, RoleAssignment, User
from gridgov.accounts.services import user_create
from gridgov.areas.choices import CODE_LENGTH, AreaLevel
from gridgov.areas.models import Area, Building, Compound
from gridgov.areas.selectors import grid_at
from gridgov.demo import generator

# The residents step takes most of a run; test_demo_residents.py covers it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_residents")]

SEED = 7
# A coverage that is exact up to float noise leaves far less than 1 m² of gap or overlap.
AREA_TOLERANCE_M2 = 1.0


def run_demo(tmp_path: Path, *extra: str, seed: int = SEED) -> dict[str, Any]:
    summary_path = tmp_path / f"summary-{seed}.json"
    output = io.StringIO()
    call_command(
        "demo_county", "--preset", "small", "--seed", str(seed), "--summary-json", str(summary_path), *extra,
        stdout=output,
    )  # fmt: skip
    assert "演示县已生成" in output.getvalue()
    return json.loads(summary_path.read_text(encoding="utf-8"))


@pytest.fixture
def without_residents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generator, "STEPS", generator.STEPS_WITHOUT_RESIDENTS)


@pytest.fixture
def summary(tmp_path: Path) -> dict[str, Any]:
    return run_demo(tmp_path)


def shapes(level: str) -> dict[str, Any]:
    return {area.code: shape(area.geometry) for area in Area.objects.filter(level=level)}


def snapshot() -> str:
    """A digest of everything the generator wrote, independent of primary keys."""
    rows: list[Any] = []
    rows += list(Area.objects.order_by("code").values_list("level", "code", "name", "parent__code", "geometry"))
    rows += list(
        Compound.objects.order_by("grid__code", "name").values_list(
            "grid__code", "microgrid__code", "name", "address", "lon", "lat"
        )
    )
    rows += list(
        Building.objects.order_by("grid__code", "compound__name", "name").values_list(
            "grid__code", "compound__name", "microgrid__code", "name", "unit_count", "household_count", "lon", "lat"
        )
    )
    rows += list(Department.objects.order_by("code").values_list("code", "name", "area__code"))
    rows += list(User.objects.order_by("username").values_list("username", "full_name"))
    rows += list(
        RoleAssignment.objects.order_by("user__username", "role").values_list("user__username", "role", "area__code")
    )
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, default=str).encode()).hexdigest()


def test_small_preset_builds_every_level(summary: dict[str, Any]) -> None:
    counts = summary["counts"]

    assert (counts["city"], counts["district"], counts["town"], counts["community"], counts["grid"]) == (1, 1, 2, 6, 30)
    assert 6 <= counts["microgrid"] <= 12  # 3 grids split into 2–4 micro-grids
    assert counts["households"] == 4_500
    assert counts["compounds"] > 20 and counts["buildings"] > counts["compounds"]
    assert counts["departments"] >= 5
    assert counts["grid_workers"] == 30  # one per grid, the sample worker included
    assert Area.objects.get(code="370200").name == "青岛市"
    assert Area.objects.get(code="370281", parent__code="370200").name == "胶州市"
    zhongyun = Area.objects.get(code="370281002")
    ligezhuang = Area.objects.get(code="370281101")
    assert zhongyun.name == "中云街道" and ligezhuang.name == "李哥庄镇"
    # Streets hold communities (社区), towns hold villages (村).
    assert all(name.endswith("社区") for name in zhongyun.children.values_list("name", flat=True))
    assert all(name.endswith("村") for name in ligezhuang.children.values_list("name", flat=True))
    for community in Area.objects.filter(level=AreaLevel.COMMUNITY):
        assert community.children.exists()


def test_seed_article_places_exist(summary: dict[str, Any]) -> None:
    grid = Area.objects.get(name="文澜阁网格")

    assert grid.parent is not None and grid.parent.name == "方井社区"
    assert grid.parent.parent is not None and grid.parent.parent.name == "中云街道"
    assert Compound.objects.filter(grid=grid, name="文澜阁小区").exists()


def test_codes_extend_their_parent_with_the_standard_lengths(summary: dict[str, Any]) -> None:
    for area in Area.objects.select_related("parent"):
        assert area.code.isdigit() and len(area.code) == CODE_LENGTH[area.level]
        if area.level not in (AreaLevel.CITY, AreaLevel.DISTRICT):
            assert area.parent is not None and area.code.startswith(area.parent.code)
    assert Area.objects.filter(level=AreaLevel.GRID).count() == 30
    assert {len(code) for code in Area.objects.filter(level=AreaLevel.GRID).values_list("code", flat=True)} == {15}
    assert {len(c) for c in Area.objects.filter(level=AreaLevel.MICROGRID).values_list("code", flat=True)} == {18}


def test_children_tile_their_parent_without_gaps_or_overlaps(summary: dict[str, Any]) -> None:
    projection = LocalMetricProjection(119.9, 36.25)
    children: dict[str, list[Any]] = defaultdict(list)
    geometries = {}
    for area in Area.objects.exclude(geometry=None).select_related("parent"):
        geometry = shape(area.geometry)
        assert geometry.geom_type == "Polygon" and geometry.is_valid, area.code
        geometries[area.code] = geometry
        if area.parent is not None and area.parent.geometry is not None:
            children[area.parent.code].append(projection.to_metres(geometry))

    assert set(children) >= {code for code in geometries if len(code) in (6, 9, 12)}
    for parent_code, parts in children.items():
        parent = projection.to_metres(geometries[parent_code])
        union = shapely.union_all(parts)
        assert union.symmetric_difference(parent).area < AREA_TOLERANCE_M2, parent_code
        assert sum(part.area for part in parts) == pytest.approx(parent.area, abs=AREA_TOLERANCE_M2)
        # Neighbours share identical edges: no overlap and no sliver at all.
        assert shapely.coverage_is_valid(shapely.GeometryCollection(parts)), parent_code


def test_grids_are_numbered_west_to_east_then_north_to_south(summary: dict[str, Any]) -> None:
    for parent in Area.objects.filter(level__in=[AreaLevel.TOWN, AreaLevel.COMMUNITY, AreaLevel.GRID]):
        children = list(parent.children.order_by("code"))
        if len(children) < 2:
            continue
        order = order_west_east_north_south([shape(child.geometry) for child in children])

        assert order == list(range(len(children))), parent.code


def test_every_building_and_compound_lies_in_its_grid(summary: dict[str, Any]) -> None:
    microgrids = shapes(AreaLevel.MICROGRID)
    items: list[Building | Compound] = [
        *Building.objects.select_related("grid", "microgrid"),
        *Compound.objects.select_related("grid", "microgrid"),
    ]
    for item in items:
        hit = grid_at(item.lon, item.lat)
        assert hit is not None and hit.code == item.grid.code
        if item.microgrid is not None:
            assert item.microgrid.parent_id == item.grid.pk
            assert microgrids[item.microgrid.code].contains(shapely.Point(item.lon, item.lat))


def test_grids_with_microgrids_house_everyone_in_a_microgrid(summary: dict[str, Any]) -> None:
    split = Area.objects.filter(level=AreaLevel.GRID, children__isnull=False).distinct()

    assert split.count() == 3
    for grid in split:
        assert not Building.objects.filter(grid=grid, microgrid=None).exists()
        for microgrid in grid.children.all():
            households = sum(microgrid.microgrid_buildings.values_list("household_count", flat=True))
            assert 30 <= households <= 100


def test_apartment_and_village_buildings_have_plausible_sizes(summary: dict[str, Any]) -> None:
    urban = Building.objects.filter(grid__code__startswith="370281002")
    rural = Building.objects.filter(grid__code__startswith="370281101")

    assert urban.exists() and rural.exists()
    for building in urban:
        assert 1 <= building.unit_count <= 6 and 1 <= building.household_count <= 120
    assert sum(1 for b in urban if b.household_count >= 24) > 0.8 * urban.count()
    for building in rural:
        assert building.unit_count == 1 and 1 <= building.household_count <= 14


def test_every_summary_user_can_sign_in_with_their_role(summary: dict[str, Any]) -> None:
    users = summary["users"]

    assert {user["role"] for user in users} == set(Role.values)
    assert {"admin", "command", "leader", "handler", "town", "community", "gridworker", "resident"} == {
        user["username"] for user in users
    }
    for user in users:
        validate_password(user["password"], User.objects.get(username=user["username"]))
        assert RoleAssignment.objects.filter(
            user__username=user["username"], role=user["role"], area__code=user["area_code"]
        ).exists()
        client = Client()

        response = client.post("/accounts/login/", {"username": user["username"], "password": user["password"]})

        assert response.status_code == 302, user["username"]
        assert client.session.get("_auth_user_id") == str(User.objects.get(username=user["username"]).pk)
    handler = RoleAssignment.objects.get(user__username="handler")
    assert handler.department is not None and handler.department.area.code == "370281"


def test_a_per_grid_worker_can_sign_in_too(summary: dict[str, Any]) -> None:
    password = summary["users"][0]["password"]
    grid = Area.objects.filter(level=AreaLevel.GRID).exclude(name="文澜阁网格").order_by("code").first()
    assert grid is not None
    client = Client()

    response = client.post("/accounts/login/", {"username": f"gw{grid.code}", "password": password})

    assert response.status_code == 302
    assert RoleAssignment.objects.filter(user__username=f"gw{grid.code}", role=Role.GRID_WORKER, area=grid).exists()


def test_same_seed_gives_the_same_county_and_reset_replaces_it(tmp_path: Path) -> None:
    first = run_demo(tmp_path)
    digest = snapshot()
    user_create(actor=None, username="someone-else", password=None)

    second = run_demo(tmp_path, "--reset")

    assert second == first
    assert snapshot() == digest
    assert not User.objects.filter(username="someone-else").exists()


def test_another_seed_gives_another_county(tmp_path: Path) -> None:
    first = run_demo(tmp_path)
    digest = snapshot()

    second = run_demo(tmp_path, "--reset", seed=SEED + 1)

    assert snapshot() != digest
    assert second["users"][0]["password"] != first["users"][0]["password"]


def test_refuses_a_database_that_is_not_empty(tmp_path: Path) -> None:
    user_create(actor=None, username="existing", password=None)

    with pytest.raises(CommandError, match="--reset"):
        run_demo(tmp_path)

    assert not Area.objects.exists()
    assert list(User.objects.values_list("username", flat=True)) == ["existing"]


def test_reset_blocked_by_another_apps_rows_says_which(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_demo(tmp_path)
    blocker = Area.objects.get(code="370281")

    def blocked_reset() -> None:
        raise ProtectedError("protected", {blocker})

    monkeypatch.setattr("gridgov.demo.management.commands.demo_county.demo_reset", blocked_reset)

    with pytest.raises(CommandError, match="区域"):
        run_demo(tmp_path, "--reset")

    assert Area.objects.filter(code="370281").exists()
