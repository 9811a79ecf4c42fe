"""Patrol pages: the worker's flow on the phone, scope (404 for out-of-scope and unknown alike),
the daily log, weekly coverage, and query counts of the list pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.cases.choices import CaseSource
from gridgov.cases.models import Case, Category
from gridgov.patrols.choices import CheckResult, FindingStatus, PatrolStatus
from gridgov.patrols.models import CheckItem, Patrol, PatrolFinding
from gridgov.patrols.services import (
    patrol_check_record,
    patrol_finding_add,
    patrol_finding_settle,
    patrol_finish,
    patrol_start,
    patrol_visit_add,
)
from gridgov.testing.factories import make_user_with_role
from gridgov.testing.patrols import grid_centre, jpeg

pytestmark = pytest.mark.django_db


def without_csrf(html: str) -> str:
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def finished_patrol(worker, grid, homes, *, started_at=None, findings=1):
    """A finished patrol with two checks, two visits and `findings` settled findings."""
    patrol = patrol_start(actor=worker, grid=grid, now=started_at)
    for code, result in (("fire_corridor", CheckResult.OK), ("gas", CheckResult.PROBLEM)):
        patrol_check_record(actor=worker, patrol=patrol, item=CheckItem.objects.get(code=code), result=result)
    for household in homes[:2]:
        patrol_visit_add(actor=worker, patrol=patrol, household=household)
    for index in range(findings):
        finding = patrol_finding_add(
            actor=worker, patrol=patrol, category=Category.objects.get(code="0608"), description=f"液化气瓶{index}"
        )
        patrol_finding_settle(actor=worker, finding=finding, result="已撤除")
    patrol_finish(actor=worker, patrol=patrol, notes="燃气检查")
    return patrol


def test_a_worker_starts_checks_records_a_finding_as_a_case_and_finishes(client, tree, personas, homes):
    worker = personas["grid_worker"]
    client.force_login(worker)
    # given the patrol home offers the worker's grid
    home = client.get("/patrols/")
    assert home.status_code == 200
    assert "开始巡查" in home.text and tree.grids[0].name in home.text
    # when they start a patrol
    response = client.post("/patrols/start/", {"grid": tree.grids[0].pk})
    patrol = Patrol.objects.get(worker=worker)
    assert response.status_code == 302 and response["Location"] == f"/patrols/{patrol.pk}/"
    page = client.get(f"/patrols/{patrol.pk}/")
    # then the patrol page shows the checklist as toggles and the camera input
    assert "消防通道" in page.text and 'capture="environment"' in page.text and 'accept="image/*"' in page.text
    # when they mark the fire corridor as a problem (HTMX)
    item = CheckItem.objects.get(code="fire_corridor")
    row = client.post(f"/patrols/{patrol.pk}/checks/{item.pk}/", {"result": "problem"}, HTTP_HX_REQUEST="true")
    # then only the row comes back, pressed, with a link to record the problem
    assert row.status_code == 200 and "<html" not in row.text
    assert 'aria-pressed="true"' in row.text and f"?item={item.pk}" in row.text
    # when they search a household and record the visit
    found = client.get(f"/patrols/{patrol.pk}/households/", {"q": "01室"}, HTTP_HX_REQUEST="true")
    assert homes["grid0"][0].address in found.text and homes["grid1"][0].address not in found.text
    visits = client.post(f"/patrols/{patrol.pk}/visits/", {"household": homes["grid0"][0].pk}, HTTP_HX_REQUEST="true")
    assert visits.status_code == 200 and homes["grid0"][0].address in visits.text
    # when they record a finding with a photo and the phone's position and tap "转为事项"
    form = client.get(f"/patrols/{patrol.pk}/?item={item.pk}")
    assert 'value="' in form.text
    lon, lat = grid_centre(tree.grids[0])
    response = client.post(
        f"/patrols/{patrol.pk}/findings/",
        {
            "check_item": item.pk,
            "category": Category.objects.get(code="0607").pk,
            "description": "2号楼楼道电动车堵塞消防通道",
            "longitude": lon,
            "latitude": lat,
            "photos": [jpeg()],
            "then": "case",
        },
    )
    assert response.status_code == 302
    # then a case from the patrol exists, linked on the finding and shown on the page
    case = Case.objects.get()
    assert case.source == CaseSource.PATROL
    finding = PatrolFinding.objects.get()
    assert finding.case_id == case.pk and finding.status == FindingStatus.CASE
    page = client.get(f"/patrols/{patrol.pk}/")
    assert case.number in page.text and "已转为事项" in page.text
    photo = finding.photos.get()
    assert client.get(f"/patrols/{patrol.pk}/photos/{photo.pk}/").status_code == 200
    thumbnail = client.get(f"/patrols/{patrol.pk}/photos/{photo.pk}/?thumb=1")
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"
    # when they finish with notes and a route
    response = client.post(
        f"/patrols/{patrol.pk}/finish/", {"notes": "今日巡查2号楼", "route": f"[[{lon}, {lat}, 1764400000]]"}
    )
    patrol.refresh_from_db()
    # then the patrol is finished, and the page no longer offers the forms
    assert response.status_code == 302 and patrol.status == PatrolStatus.FINISHED and len(patrol.route) == 1
    page = client.get(f"/patrols/{patrol.pk}/")
    assert "今日巡查2号楼" in page.text and "结束巡查</button>" not in page.text


def test_settling_a_finding_on_the_spot_and_refusals_in_chinese(client, tree, personas):
    worker = personas["grid_worker"]
    client.force_login(worker)
    patrol = patrol_start(actor=worker, grid=tree.grids[0])
    # when the worker records a finding settled on the spot without saying how
    response = client.post(
        f"/patrols/{patrol.pk}/findings/",
        {"category": Category.objects.get(code="0608").pk, "description": "商户使用瓶装液化气", "then": "settle"},
    )
    # then the form comes back with the reason
    assert response.status_code == 422 and "请填写现场处置结果" in response.text
    # when they say what was done
    client.post(
        f"/patrols/{patrol.pk}/findings/",
        {
            "category": Category.objects.get(code="0608").pk,
            "description": "商户使用瓶装液化气",
            "then": "settle",
            "result": "已督促撤除",
        },
    )
    # then the finding is settled and no case was filed
    assert PatrolFinding.objects.get().status == FindingStatus.SETTLED and not Case.objects.exists()
    # when they try to start a second patrol while this one is open
    client.post("/patrols/start/", {"grid": tree.grids[0].pk})
    # then the home page says why
    assert "还有一次巡查没有结束" in client.get("/patrols/").text


@pytest.mark.parametrize("viewer", ["community_staff", "town_staff", "county_command"])
def test_office_staff_read_patrols_in_their_scope_without_forms(client, tree, personas, homes, viewer):
    patrol = finished_patrol(personas["grid_worker"], tree.grids[0], homes["grid0"])
    open_patrol = patrol_start(actor=make_user_with_role(Role.GRID_WORKER, tree.grids[0]), grid=tree.grids[0])
    client.force_login(personas[viewer])
    # when staff above the grid open the patrols
    page = client.get(f"/patrols/{open_patrol.pk}/")
    # then they read them, without any form to change them
    assert page.status_code == 200 and "hx-post" not in page.text and "结束巡查</button>" not in page.text
    assert client.get(f"/patrols/{patrol.pk}/").status_code == 200
    assert "燃气检查" in client.get(f"/patrols/{patrol.pk}/").text
    # and a write is refused
    item = CheckItem.objects.get(code="gas")
    assert client.post(f"/patrols/{open_patrol.pk}/checks/{item.pk}/", {"result": "ok"}).status_code == 403


@pytest.mark.parametrize("viewer", ["outsider", "department_handler", "leader", "resident", "admin"])
def test_out_of_scope_and_unknown_patrols_are_the_same_404(client, tree, personas, homes, viewer):
    patrol = finished_patrol(personas["grid_worker"], tree.grids[0], homes["grid0"])
    client.force_login(personas[viewer])
    # when someone outside the patrol's scope opens it, or a patrol that does not exist
    seen = client.get(f"/patrols/{patrol.pk}/")
    missing = client.get(f"/patrols/{patrol.pk + 1000}/")
    # then both are the same 404 page
    assert seen.status_code == missing.status_code == 404
    assert without_csrf(seen.text) == without_csrf(missing.text)
    # and the photo, the log and the writes are 404 too
    item = CheckItem.objects.get(code="gas")
    assert client.post(f"/patrols/{patrol.pk}/checks/{item.pk}/", {"result": "ok"}).status_code == 404
    assert client.get(f"/patrols/log/?worker={personas['grid_worker'].pk}").status_code == 404
    # and their patrol home (linked from the menu) lists none of it
    home = client.get("/patrols/")
    assert home.status_code == 200 and f"/patrols/{patrol.pk}/" not in home.text
    assert tree.grids[0].name not in home.text
    if viewer != "outsider":  # town staff elsewhere have patrols, just not these
        assert "没有巡查任务" in home.text


def test_a_worker_of_another_grid_gets_404(client, tree, personas, homes):
    patrol = finished_patrol(personas["grid_worker"], tree.grids[0], homes["grid0"])
    neighbour = make_user_with_role(Role.GRID_WORKER, tree.grids[1])
    client.force_login(neighbour)
    # when the worker of the neighbouring grid opens the patrol or tries to patrol grid 0
    assert client.get(f"/patrols/{patrol.pk}/").status_code == 404
    client.post("/patrols/start/", {"grid": tree.grids[0].pk})
    # then nothing was started there
    assert not Patrol.objects.filter(worker=neighbour).exists()


def test_the_daily_log_shows_what_was_inspected_found_and_done(client, tree, personas, homes):
    worker = personas["grid_worker"]
    finished_patrol(worker, tree.grids[0], homes["grid0"])
    yesterday = timezone.now() - timedelta(days=1)
    finished_patrol(worker, tree.grids[0], homes["grid0"], started_at=yesterday, findings=0)
    # when the worker opens today's log
    client.force_login(worker)
    log = client.get("/patrols/log/")
    # then it lists the checks, the problems found and what was done the same day
    assert log.status_code == 200
    assert "燃气使用：有问题" in log.text and "液化气瓶0" in log.text and "现场处置：已撤除" in log.text
    # and community staff read the same worker's log; an empty day says so
    client.force_login(personas["community_staff"])
    assert "液化气瓶0" in client.get(f"/patrols/log/?worker={worker.pk}").text
    empty = client.get(f"/patrols/log/?worker={worker.pk}&day=2020-01-01")
    assert "这一天没有巡查记录" in empty.text


def test_weekly_coverage_counts_households_visited_per_grid(client, tree, personas, homes):
    worker = personas["grid_worker"]
    # given two of grid 0's four households visited this week (one of them twice)
    finished_patrol(worker, tree.grids[0], homes["grid0"], findings=0)
    finished_patrol(worker, tree.grids[0], homes["grid0"], findings=0)
    client.force_login(personas["community_staff"])
    # when community staff open their community's coverage
    page = client.get(f"/patrols/coverage/{tree.communities[0].code}/")
    # then grid 0 shows 2 of 4 (50 %), grid 1 0 of 2
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [(row.grid.pk, row.visited, row.households, row.patrols) for row in rows] == [
        (tree.grids[0].pk, 2, 4, 2),
        (tree.grids[1].pk, 0, 2, 0),
    ]
    assert rows[0].percent == 50.0 and page.context["percent"] == pytest.approx(33.3)
    assert "50.0%" in page.text
    # and another community's coverage, or the grid worker asking, is a 404
    assert client.get(f"/patrols/coverage/{tree.communities[2].code}/").status_code == 404
    client.force_login(worker)
    assert client.get(f"/patrols/coverage/{tree.communities[0].code}/").status_code == 404


def test_the_list_pages_cost_the_same_queries_for_few_or_many_patrols(
    client, tree, personas, homes, django_assert_max_num_queries
):
    worker = personas["grid_worker"]
    staff = personas["town_staff"]
    finished_patrol(worker, tree.grids[0], homes["grid0"], started_at=timezone.now() - timedelta(days=3))
    # given one patrol, measure the pages
    client.force_login(staff)
    with django_assert_max_num_queries(12):
        assert client.get("/patrols/").status_code == 200
    # when there are many more patrols of several workers and grids
    for days in range(4, 16):
        other = make_user_with_role(Role.GRID_WORKER, tree.grids[days % 2])
        finished_patrol(
            other, tree.grids[days % 2], homes[f"grid{days % 2}"], started_at=timezone.now() - timedelta(days=days)
        )
    # then the list, the log and the coverage pages still cost a fixed number of queries
    with django_assert_max_num_queries(12):
        assert client.get("/patrols/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(f"/patrols/coverage/{tree.communities[0].code}/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/patrols/coverage/").status_code == 200
    client.force_login(worker)
    for _ in range(3):
        finished_patrol(worker, tree.grids[0], homes["grid0"])
    with django_assert_max_num_queries(14):
        assert client.get("/patrols/log/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/patrols/").status_code == 200
    # and a patrol page with many visits and findings with photos too
    busy = finished_patrol(worker, tree.grids[0], homes["grid0"], findings=4)
    for finding in busy.findings.all():
        finding.photos.create(file="patrols/x.jpg", original_name="x.jpg", content_type="image/jpeg", size=1)
    with django_assert_max_num_queries(16):
        assert client.get(f"/patrols/{busy.pk}/").status_code == 200
