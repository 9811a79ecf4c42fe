"""The dashboard pages, the map data, the export and the weekly report: scoped by `view_cases`."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from gridgov.accounts.choices import Role
from gridgov.cases import services
from gridgov.cases.models import Case
from gridgov.dashboard.models import Alert
from gridgov.dashboard.rollups import rollups_refresh
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import make_user_with_role

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def cases(tree, personas) -> list[Case]:
    """Three cases this month: two in the first town (one closed in its grid, one open and overdue),
    one in the second town, just submitted."""
    now = timezone.localtime()
    start = now.replace(day=1, hour=0, minute=30) if now.day > 1 or now.hour > 2 else now - timedelta(hours=1)
    worker = personas["grid_worker"]
    closed = submit_case(worker, tree.grids[0], now=start, longitude=119.905, latitude=36.195)
    services.case_accept(actor=worker, case=closed, now=start + timedelta(minutes=10))
    services.case_report_back(actor=worker, case=closed, result="已清理。", now=start + timedelta(minutes=20))
    services.case_verify(actor=worker, case=closed, passed=True, now=start + timedelta(minutes=30))
    overdue = submit_case(worker, tree.grids[0], now=start - timedelta(days=40), longitude=119.905, latitude=36.195)
    other = submit_case(personas["county_command"], tree.grids[5], now=now - timedelta(minutes=5))
    rollups_refresh()
    return [closed, overdue, other]


def test_the_county_leader_sees_tiles_charts_leagues_and_the_overdue_list(client, tree, personas, cases):
    client.force_login(personas["leader"])
    response = client.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert tree.district.name in html and 'id="chart-trend"' in html and 'id="dashboard-data"' in html
    summary = response.context["summary"]
    assert summary.intake == 2 and summary.tier_outcome["grid"] == 1 and summary.overdue_open == 1
    assert {area.pk for area, _s in response.context["children"]} == {town.pk for town in tree.towns}
    assert f'href="/cases/{cases[1].pk}/"' in html
    assert "<script>" not in html  # charts are drawn by static files (CSP)


def test_a_town_leader_sees_only_the_town_and_other_codes_are_404(client, tree, personas, cases):
    leader = make_user_with_role(Role.LEADER, tree.towns[1])
    for grid, reason in ((tree.grids[0], "第一镇街的预警"), (tree.grids[5], "第二镇街的预警")):
        Alert.objects.create(kind=Alert.Kind.SPIKE, key=reason, area=grid, reason=reason, fired_at=timezone.now())
    client.force_login(leader)
    # Given a town leader of the second town, the dashboard opens on that town
    response = client.get("/dashboard/")
    assert response.context["area"] == tree.towns[1]
    assert response.context["summary"].intake == 1
    html = response.content.decode()
    assert tree.towns[0].name not in html and f"/cases/{cases[1].pk}/" not in html
    assert "第二镇街的预警" in html and "第一镇街的预警" not in html
    # Then the first town, the county and an unknown code are the same 404, on every page
    for code in (tree.towns[0].code, tree.district.code, "999999999"):
        for path in (
            "/dashboard/",
            "/dashboard/map/",
            "/dashboard/map/data/",
            "/dashboard/export.xlsx",
            "/dashboard/report/",
        ):
            assert client.get(path, {"area": code}).status_code == 404, (path, code)
    # And the export holds nothing from the other town
    workbook = load_workbook(BytesIO(client.get("/dashboard/export.xlsx").content))
    names = {cell.value for sheet in workbook for row in sheet.iter_rows() for cell in row}
    assert tree.towns[1].name in names and tree.towns[0].name not in names
    assert not any(str(name).startswith(tree.communities[0].name) for name in names if name)


def test_people_without_the_view_cases_capability_are_refused(client, tree, personas):
    client.force_login(personas["resident"])
    assert client.get("/dashboard/").status_code == 403
    client.logout()
    assert client.get("/dashboard/").status_code == 302


def test_map_data_drills_down_to_the_cases_of_a_grid(client, tree, personas, cases):
    client.force_login(personas["leader"])
    county = client.get("/dashboard/map/data/", {"indicator": "intake"}).json()
    assert county["kind"] == "areas" and {f["properties"]["code"] for f in county["features"]} == {
        t.code for t in tree.towns
    }
    town = next(f for f in county["features"] if f["properties"]["code"] == tree.towns[0].code)
    assert town["geometry"]["type"] in ("Polygon", "MultiPolygon") and town["properties"]["intake"] == 1
    grid = client.get("/dashboard/map/data/", {"area": tree.grids[0].code}).json()
    assert grid["kind"] == "cases"
    assert [f["properties"]["url"] for f in grid["features"]] == [f"/cases/{cases[0].pk}/"]
    assert [b["code"] for b in grid["breadcrumbs"]][-1] == tree.grids[0].code
    # The point overlay works at any level: the county's cases of the period with a location
    overlay = client.get("/dashboard/map/data/", {"points": "1"}).json()
    assert overlay["kind"] == "cases" and [f["properties"]["id"] for f in overlay["features"]] == [cases[0].pk]
    page = client.get("/dashboard/map/", {"area": tree.towns[0].code})
    assert page.status_code == 200 and 'id="situation-map"' in page.content.decode()


def test_bad_filters_are_refused_in_chinese(client, personas, tree):
    client.force_login(personas["leader"])
    response = client.get("/dashboard/", {"from": "2024-09-30", "to": "2024-09-01"})
    assert response.status_code == 400 and "结束日期不能早于开始日期" in response.content.decode()
    assert client.get("/dashboard/", {"category": "1x"}).status_code == 400


def test_the_weekly_report_and_the_export_carry_the_panel_numbers(client, tree, personas, cases):
    client.force_login(personas["town_staff"])
    report = client.get("/dashboard/report/")
    assert report.status_code == 200
    assert (report.context["filters"].date_to - report.context["filters"].date_from).days == 6
    assert "data-print" in report.content.decode()
    workbook = load_workbook(BytesIO(client.get("/dashboard/export.xlsx").content))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    row = [cell.value for cell in sheet[2]]
    assert row[header.index("受理量")] == 1 and row[0] == tree.towns[0].name
