"""A county administrator proposes micro-grids (and general grids), looks at them on the map and applies them."""

from __future__ import annotations

import pytest

from gridgov.accounts.choices import Role
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building
from gridgov.areas.services import BuildingSpec, buildings_bulk_create
from gridgov.testing.factories import TEST_PASSWORD, AreaTree, make_user_with_role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def place_buildings(tree: AreaTree) -> Area:
    """Grid 0 with 10 buildings (310 households) spread over its square."""
    grid = tree.grids[0]
    west, north = 119.90, 36.20
    for index, building in enumerate(Building.objects.filter(grid=grid).order_by("pk")):
        building.lon, building.lat = west + 0.001, north - 0.001 - 0.002 * index
        building.save(update_fields=["lon", "lat"])
    buildings_bulk_create(
        actor=None,
        specs=[
            BuildingSpec(
                grid=grid,
                compound=tree.compounds[0],
                name=f"{index + 3}号楼",
                household_count=households,
                lon=west + 0.003 + 0.002 * (index % 4),
                lat=north - 0.001 - 0.003 * (index // 4),
            )
            for index, households in enumerate([25, 30, 35, 20, 45, 30, 25, 20])
        ],
    )
    return grid


def test_admin_previews_microgrids_on_the_map_and_applies_them(live_server, page, tree: AreaTree, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_user_with_role(Role.ADMIN, tree.district, username="county_admin")
    grid = place_buildings(tree)
    # given the county administrator signed in, on grid 0's page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "county_admin")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/areas/{tree.district.code}/")
    page.goto(f"{live_server.url}/areas/{grid.code}/")
    # when they ask for a micro-grid proposal
    page.click("text=划分微网格（方案）")
    page.wait_for_url(f"{live_server.url}/areas/{grid.code}/microgrids/plan/")
    # then the map draws one polygon per proposed micro-grid and a dot per building
    proposed = int(page.inner_text("#proposed-count"))
    assert 4 <= proposed <= 10
    page.wait_for_selector("#microgrid-map path.microgrid-proposed")
    assert page.locator("#microgrid-map path.microgrid-proposed").count() == proposed
    assert page.locator("#microgrid-map path.microgrid-building").count() == 10
    assert "10 / 10" in page.inner_text("#moved-count")
    # when they try a band the buildings cannot meet
    page.fill("#id_low", "200")
    page.fill("#id_high", "250")
    page.click("#band-form button[type=submit]")
    # then the reason is shown and nothing can be applied
    assert "无法生成方案" in page.inner_text("#plan-error")
    assert page.locator("#apply-form").count() == 0
    # when they go back to 30–100 and apply the proposal
    page.fill("#id_low", "30")
    page.fill("#id_high", "100")
    page.click("#band-form button[type=submit]")
    page.click("#apply-form button[type=submit]")
    # then the grid page confirms it and lists the new micro-grids, drawn on the map
    page.wait_for_url(f"{live_server.url}/areas/{grid.code}/")
    assert "已应用微网格方案" in page.inner_text(".messages")
    page.wait_for_selector("#area-map path.leaflet-interactive")
    assert page.locator("#area-map path.leaflet-interactive").count() == proposed
    assert Area.objects.filter(parent=grid, level=AreaLevel.MICROGRID).count() == proposed
    assert not Building.objects.filter(grid=grid, microgrid__isnull=True).exists()
    # when they open the proposal again
    page.click("text=划分微网格（方案）")
    # then the current micro-grids are drawn beside the proposal and nothing would move
    page.wait_for_selector("#microgrid-map path.microgrid-current")
    assert page.locator("#microgrid-map path.microgrid-current").count() == proposed
    assert "0 / 10" in page.inner_text("#moved-count")


def test_admin_previews_and_applies_general_grids_of_a_community(live_server, page, tree: AreaTree, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_user_with_role(Role.ADMIN, tree.district, username="county_admin")
    # given community 0 whose grid 0 holds 22 buildings of 40 households and grid 1 twelve
    for index, extra in ((0, 20), (1, 10)):
        grid = tree.grids[index]
        west = 119.90 + 0.01 * index
        positions = [(west + 0.001 + 0.002 * (n % 5), 36.199 - 0.002 * (n // 5)) for n in range(extra + 2)]
        for building, (lon, lat) in zip(Building.objects.filter(grid=grid).order_by("pk"), positions, strict=False):
            building.lon, building.lat = lon, lat
            building.save(update_fields=["lon", "lat"])
        buildings_bulk_create(
            actor=None,
            specs=[
                BuildingSpec(grid=grid, name=f"新{n}号楼", household_count=40, lon=lon, lat=lat)
                for n, (lon, lat) in enumerate(positions[2:])
            ],
        )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "county_admin")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/areas/{tree.district.code}/")
    # when they open the community and ask for a general-grid proposal
    page.goto(f"{live_server.url}/areas/{tree.communities[0].code}/")
    page.click("text=划分网格（方案）")
    # then the proposed grids are drawn beside the two current ones, all within 300–500 households
    page.wait_for_selector("#microgrid-map path.microgrid-proposed")
    assert (
        page.locator("#microgrid-map path.microgrid-proposed").count() == int(page.inner_text("#proposed-count")) == 3
    )
    assert page.locator("#microgrid-map path.microgrid-current").count() == 2
    assert page.locator("#microgrid-map path.microgrid-building").count() == 34
    assert "100%" in page.inner_text("#plan-facts")
    # when they apply it
    page.click("#apply-form button[type=submit]")
    # then the community page confirms it and lists three grids
    page.wait_for_url(f"{live_server.url}/areas/{tree.communities[0].code}/")
    assert "已应用网格方案" in page.inner_text(".messages")
    assert f"{tree.communities[0].code}003" in page.inner_text("#children")
    page.wait_for_selector("#area-map path.leaflet-interactive")
    assert page.locator("#area-map path.leaflet-interactive").count() == 3
