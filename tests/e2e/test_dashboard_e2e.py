"""A county leader opens the situation map, sees the towns coloured, drills down to a grid's cases,
and the panels page draws its charts."""

from __future__ import annotations

import pytest

from gridgov.accounts.choices import Role
from gridgov.dashboard.rollups import rollups_refresh
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import TEST_PASSWORD, AreaTree, make_user_with_role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

POLYGONS = "#situation-map path.leaflet-interactive"
HEAT = "#situation-map canvas.leaflet-heatmap-layer"
PAINTED = """() => {
  const canvas = document.querySelector("#situation-map canvas.leaflet-heatmap-layer");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) return true;
  return false;
}"""


def test_the_map_drills_down_from_the_county_to_the_cases_of_a_grid(
    live_server, page, case_rules, tree: AreaTree, settings
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    leader = make_user_with_role(Role.LEADER, tree.district, username="leader")
    command = make_user_with_role(Role.COUNTY_COMMAND, tree.district, username="command")
    # given two fresh cases in the first grid, and the worker's rollups
    cases = [
        submit_case(command, tree.grids[0], longitude=119.905, latitude=36.195, title=f"东门垃圾{n}") for n in (1, 2)
    ]
    rollups_refresh()
    # when the leader signs in and opens the situation map
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", leader.username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/areas/**")
    page.goto(f"{live_server.url}/dashboard/map/")
    # then the county's towns are drawn, coloured by intake, and listed with their values
    page.wait_for_selector(f"#situation-map[data-area='{tree.district.code}'] path.leaflet-interactive")
    assert page.locator(POLYGONS).count() == len(tree.towns)
    assert tree.towns[0].name in page.inner_text("#map-list")
    fills = {page.locator(POLYGONS).nth(i).get_attribute("fill") for i in range(len(tree.towns))}
    assert len(fills) == 2  # the busy town and the quiet one differ
    # when they overlay the case points, the county's two cases appear on top of the towns
    page.check("#map-filters input[name=points]")
    page.wait_for_selector("#situation-map[data-points='2']")
    assert page.locator(POLYGONS).count() == len(tree.towns) + len(cases)
    page.uncheck("#map-filters input[name=points]")
    assert page.locator(POLYGONS).count() == len(tree.towns)
    # when they switch to the heat layer, the one busy grid glows on a heat canvas, with a Chinese legend
    page.check("#map-filters input[name=layer][value=heat]")
    page.wait_for_selector("#situation-map[data-heat='1'] canvas.leaflet-heatmap-layer")
    assert page.evaluate(PAINTED)
    assert "热力图" in page.inner_text("#heat-legend-text")
    # when they click the first town on the map under the heat (the canvas lets clicks through)
    page.locator(POLYGONS).first.click()
    # then its two communities are drawn, the heat follows, and the breadcrumbs end with the town
    page.wait_for_selector(f"#situation-map[data-area='{tree.towns[0].code}'][data-heat='1'] path.leaflet-interactive")
    assert page.locator(POLYGONS).count() == 2
    # and back on 区域着色 the heat canvas is gone
    page.check("#map-filters input[name=layer][value=areas]")
    assert page.locator(HEAT).count() == 0
    assert page.locator("#map-breadcrumbs a").last.inner_text() == tree.towns[0].name
    # when they pick the first community from the list beside the map, then its first grid on the map
    page.locator("#map-list a", has_text=tree.communities[0].name).click()
    page.wait_for_selector(f"#situation-map[data-area='{tree.communities[0].code}'] path.leaflet-interactive")
    assert page.locator(POLYGONS).count() == 2
    page.locator(POLYGONS).first.click()
    page.wait_for_selector(f"#situation-map[data-area='{tree.grids[0].code}'][data-kind='cases']")
    # then the grid's cases are points whose list links open the case page
    assert page.locator("#situation-map path.leaflet-interactive").count() == len(cases)
    page.locator("#map-list a").first.click()
    page.wait_for_url(f"{live_server.url}/cases/*/")
    # and the panels page of the county draws its charts
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#chart-trend svg")
    assert page.locator("#chart-mix svg").count() == 1
    assert page.locator("#summary [data-key=intake]").inner_text() == "2"
