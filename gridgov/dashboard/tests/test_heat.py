"""The heat layer of the situation map: each grid's intake from the rollups above grid level, the
case points at a grid; scoped like every dashboard read; in the API, the map data and the page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.http import Http404
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.choices import Role
from gridgov.accounts.services import api_token_issue
from gridgov.areas.models import Area
from gridgov.areas.selectors import MAP_DECIMALS
from gridgov.cases.models import Case, Category
from gridgov.dashboard.rollups import rollups_refresh
from gridgov.dashboard.selectors import (
    dashboard_area_for_user,
    dashboard_children,
    dashboard_heat,
    dashboard_summary,
)
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import make_user_with_role

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
SEPT = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)
PERIOD: dict[str, Any] = {"date_from": date(2024, 9, 1), "date_to": date(2024, 9, 30)}
QUERY = {"from": "2024-09-01", "to": "2024-09-30"}


def _centre(grid: Area) -> tuple[float, float]:
    assert grid.min_lat is not None and grid.max_lat is not None
    assert grid.min_lon is not None and grid.max_lon is not None
    return (
        round((grid.min_lat + grid.max_lat) / 2, MAP_DECIMALS),
        round((grid.min_lon + grid.max_lon) / 2, MAP_DECIMALS),
    )


def _weights(points: list[Any]) -> dict[tuple[float, float], int]:
    return {(lat, lon): weight for lat, lon, weight in points}


@pytest.fixture
def cases(tree, personas) -> dict[str, list[Case]]:
    """September: grid 0 has three 暴露垃圾 (one without a location) and one 噪音扰民, grid 1 one
    噪音扰民, grid 5 (second town) two 暴露垃圾; August: one more in grid 0, outside the period."""
    command = personas["county_command"]
    noise = Category.objects.get(code="0602")
    located = {"longitude": 119.9051234567, "latitude": 36.1951234567}
    made: dict[str, list[Case]] = {"grid0": [], "grid1": [], "grid5": []}
    for n in range(2):
        made["grid0"].append(submit_case(command, tree.grids[0], now=SEPT + timedelta(days=n), **located))
    made["grid0"].append(submit_case(command, tree.grids[0], now=SEPT + timedelta(days=2)))
    made["grid0"].append(submit_case(command, tree.grids[0], now=SEPT + timedelta(days=3), category=noise, **located))
    made["grid1"].append(submit_case(command, tree.grids[1], now=SEPT + timedelta(days=1), category=noise))
    for n in range(2):
        made["grid5"].append(
            submit_case(command, tree.grids[5], now=SEPT + timedelta(days=n), longitude=119.915, latitude=36.185)
        )
    submit_case(command, tree.grids[0], now=SEPT - timedelta(days=20), **located)
    rollups_refresh()
    return made


def test_above_grid_level_each_grid_weighs_its_intake_at_its_centre(tree, personas, cases):
    leader = personas["leader"]
    for area in (tree.district, tree.towns[0], tree.communities[0]):
        # when the leader asks for the heat of a county, a town and a community
        heat = dashboard_heat(leader, area, **PERIOD)
        # then each grid with intake is one point at its centre, weighted by the grid's own intake
        grids = [grid for grid in tree.grids if grid.path.startswith(area.path)]
        expected = {
            _centre(grid): dashboard_summary(leader, grid, **PERIOD).intake
            for grid in grids
            if dashboard_summary(leader, grid, **PERIOD).intake
        }
        assert heat.source == "rollups" and _weights(heat.points) == expected, area.level
        # and the weights add up to the area's intake and to its children's, as the panels show them
        intake = dashboard_summary(leader, area, **PERIOD).intake
        children = sum(summary.intake for _child, summary in dashboard_children(leader, area, **PERIOD))
        assert heat.total == sum(w for *_p, w in heat.points) == intake == children, area.level
        assert heat.max_weight == max(expected.values()) and heat.unlocated == 0
    county = dashboard_heat(leader, tree.district, **PERIOD)
    assert county.total == 7 and _weights(county.points)[_centre(tree.grids[0])] == 4


def test_the_category_filter_is_respected(tree, personas, cases):
    leader = personas["leader"]
    noise = dashboard_heat(leader, tree.district, category="06", **PERIOD)
    assert _weights(noise.points) == {_centre(tree.grids[0]): 1, _centre(tree.grids[1]): 1}
    assert noise.total == dashboard_summary(leader, tree.district, category="06", **PERIOD).intake == 2
    garbage = dashboard_heat(leader, tree.towns[0], category="0101", **PERIOD)
    assert _weights(garbage.points) == {_centre(tree.grids[0]): 3}
    assert garbage.total == dashboard_summary(leader, tree.towns[0], category="0101", **PERIOD).intake


def test_the_county_heat_is_one_query_over_the_rollups_never_the_case_table(tree, personas, cases):
    leader = personas["leader"]
    with CaptureQueriesContext(connection) as queries:
        heat = dashboard_heat(leader, tree.district, category="01", **PERIOD)
    assert heat.total == 5
    assert len(queries.captured_queries) == 1
    sql = queries.captured_queries[0]["sql"]
    assert "dashboard_rollup" in sql and "cases_case" not in sql


def test_at_a_grid_the_heat_is_its_located_cases_of_the_period_with_weight_one(tree, personas, cases):
    leader = personas["leader"]
    heat = dashboard_heat(leader, tree.grids[0], **PERIOD)
    # the unlocated case and the August case are not points; coordinates leave rounded
    assert heat.source == "cases" and heat.points == [(36.195123, 119.905123, 1)] * 3
    assert heat.total == 3 and heat.max_weight == 1 and not heat.limited
    assert dashboard_heat(leader, tree.grids[0], category="06", **PERIOD).total == 1
    assert dashboard_heat(leader, tree.grids[2], **PERIOD).points == []


def test_a_town_leader_heat_holds_nothing_of_another_town(tree, personas, cases):
    leader = make_user_with_role(Role.LEADER, tree.towns[1])
    own = dashboard_area_for_user(leader)
    assert own == tree.towns[1]
    heat = dashboard_heat(leader, own, **PERIOD)
    assert _weights(heat.points) == {_centre(tree.grids[5]): 2}
    first_town = {_centre(grid) for grid in tree.grids[:4]}
    assert not first_town & set(_weights(heat.points))
    grid = dashboard_heat(leader, tree.grids[5], **PERIOD)
    assert grid.points == [(36.185, 119.915, 1)] * 2
    for code in (tree.towns[0].code, tree.grids[0].code, tree.district.code):
        with pytest.raises(Http404):
            dashboard_area_for_user(leader, code)


def _api(client: Client, user: Any, **params: Any) -> Any:
    token = api_token_issue(actor=None, user=user)[1]
    return client.get("/api/v1/dashboard/heat", params, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_heat_endpoint_is_typed_scoped_and_in_openapi(client, tree, personas, cases):
    leader = personas["leader"]
    body = _api(client, leader, area=tree.towns[0].code, **QUERY).json()
    assert body["area"]["code"] == tree.towns[0].code and body["source"] == "rollups"
    assert body["total"] == dashboard_summary(leader, tree.towns[0], **PERIOD).intake == 5
    assert sorted(map(tuple, body["points"])) == sorted(dashboard_heat(leader, tree.towns[0], **PERIOD).points)
    assert _api(client, leader, area=tree.grids[0].code, category="06", **QUERY).json()["points"] == [
        [36.195123, 119.905123, 1]
    ]
    outsider = make_user_with_role(Role.LEADER, tree.towns[1])
    assert _api(client, outsider, area=tree.towns[0].code, **QUERY).status_code == 404
    assert _api(client, outsider, area="000000", **QUERY).status_code == 404
    assert _api(client, personas["resident"], **QUERY).status_code == 403
    assert _api(client, leader, **{"from": "2024-09-30", "to": "2024-09-01"}).status_code == 400
    operation = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/dashboard/heat"]["get"]
    assert operation["summary"] == "态势热力图层" and "汇总表" in operation["description"]
    assert operation["security"] == [{"BearerToken": []}]


def test_the_map_page_offers_the_heat_layer_and_its_data_uses_the_session(client, tree, personas, cases):
    client.force_login(personas["leader"])
    data = client.get("/dashboard/map/data/", {"area": tree.towns[0].code, "heat": "1", **QUERY}).json()
    assert data["source"] == "rollups" and data["total"] == 5 and data["area"]["code"] == tree.towns[0].code
    page = client.get("/dashboard/map/", {"layer": "heat"}).content.decode()
    assert "vendor/leaflet-heat/leaflet-heat.js" in page
    assert 'name="layer" value="heat" checked' in page and "热力图" in page and "区域着色" in page
    outsider = make_user_with_role(Role.LEADER, tree.towns[1])
    client.force_login(outsider)
    assert client.get("/dashboard/map/data/", {"area": tree.towns[0].code, "heat": "1"}).status_code == 404
