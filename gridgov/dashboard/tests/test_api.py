"""GET /api/v1/dashboard/summary, /areas.geojson and /alerts: typed, scoped, in the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from gridgov.accounts.choices import Role
from gridgov.accounts.services import api_token_issue
from gridgov.cases.indicators import case_indicators
from gridgov.dashboard.rollups import rollups_refresh
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import make_user_with_role

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
SEPT = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)
PERIOD = {"from": "2024-09-01", "to": "2024-09-30"}


def _get(client: Client, user: Any, path: str, **params: Any) -> Any:
    token = api_token_issue(actor=None, user=user)[1]
    return client.get(f"/api/v1/dashboard{path}", params, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def cases(tree, personas) -> None:
    for index, grid in enumerate(tree.grids):
        for _ in range(index % 3 + 1):
            submit_case(personas["county_command"], grid, now=SEPT + timedelta(days=index))
    rollups_refresh()


def test_the_summary_equals_the_indicators_endpoint_numbers(client, tree, personas, cases):
    leader = personas["leader"]
    body = _get(client, leader, "/summary", area=tree.towns[0].code, **PERIOD).json()
    expected = case_indicators(
        leader, area_code=tree.towns[0].code, date_from=date(2024, 9, 1), date_to=date(2024, 9, 30)
    )
    assert body["area"]["code"] == tree.towns[0].code
    assert body["values"]["intake"] == expected.intake == 1 + 2 + 3 + 1
    assert body["values"]["overdue_open"] == expected.overdue_open
    assert [child["area"]["code"] for child in body["children"]] == [c.code for c in tree.communities[:2]]
    assert sum(child["values"]["intake"] for child in body["children"]) == body["values"]["intake"]


def test_a_town_leader_gets_404_for_another_town_and_a_resident_403(client, tree, personas, cases):
    leader = make_user_with_role(Role.LEADER, tree.towns[1])
    assert _get(client, leader, "/summary", **PERIOD).json()["area"]["code"] == tree.towns[1].code
    for path in ("/summary", "/areas.geojson", "/alerts"):
        assert _get(client, leader, path, area=tree.towns[0].code, **PERIOD).status_code == 404
        assert _get(client, leader, path, area="000000", **PERIOD).status_code == 404
        assert _get(client, personas["resident"], path, **PERIOD).status_code == 403
    layer = _get(client, leader, "/areas.geojson", **PERIOD).json()
    assert {f["properties"]["code"] for f in layer["features"]} == {c.code for c in tree.communities[2:]}


def test_bad_periods_are_refused(client, tree, personas):
    leader = personas["leader"]
    assert _get(client, leader, "/summary", **{"from": "2024-09-30", "to": "2024-09-01"}).status_code == 400
    assert _get(client, leader, "/summary", **{"from": "2023-01-01", "to": "2024-09-01"}).status_code == 400
    assert _get(client, leader, "/summary", category="abc").status_code == 422


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/dashboard/summary", "/api/v1/dashboard/areas.geojson", "/api/v1/dashboard/alerts"):
        assert paths[path]["get"]["summary"]
        assert paths[path]["get"]["security"] == [{"BearerToken": []}]
