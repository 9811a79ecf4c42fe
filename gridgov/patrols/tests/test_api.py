"""The patrol API: start, check, finding → case, finish; scope and Chinese errors."""

from __future__ import annotations

import pytest
from django.test import Client

from gridgov.accounts.choices import Role
from gridgov.cases.choices import CaseSource
from gridgov.cases.models import Case
from gridgov.patrols.models import Patrol
from gridgov.testing.api import ApiClient
from gridgov.testing.factories import make_user_with_role
from gridgov.testing.patrols import grid_centre

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client: Client) -> ApiClient:
    return ApiClient(client, "/api/v1/patrols")


def test_a_patrol_through_the_api(api, tree, personas):
    worker = personas["grid_worker"]
    # when the worker starts a patrol of their grid
    started = api.post(worker, "", {"grid": tree.grids[0].code})
    assert started.status_code == 201, started.json()
    patrol_id = started.json()["id"]
    assert started.json()["status"] == "open" and started.json()["status_label"] == "进行中"
    # and records a check
    checked = api.post(worker, f"/{patrol_id}/checks", {"item": "ebike_charging", "result": "problem"})
    assert checked.status_code == 200
    assert checked.json()["checks"][0]["item_name"] == "电动车室内充电/飞线充电"
    # and a finding at their position, then turns it into a case twice
    lon, lat = grid_centre(tree.grids[0])
    finding = api.post(
        worker,
        f"/{patrol_id}/findings",
        {"category": "0502", "description": "3号楼楼道飞线充电", "longitude": lon, "latitude": lat},
    )
    assert finding.status_code == 201, finding.json()
    finding_id = finding.json()["id"]
    first = api.post(worker, f"/{patrol_id}/findings/{finding_id}/case")
    second = api.post(worker, f"/{patrol_id}/findings/{finding_id}/case")
    # then one case exists, with source patrol; the second call answers it with 200
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["case_id"] == second.json()["case_id"]
    case = Case.objects.get()
    assert case.source == CaseSource.PATROL and first.json()["case_number"] == case.number
    assert first.json()["finding"]["status"] == "case"
    # when they finish with the route
    finished = api.post(worker, f"/{patrol_id}/finish", {"notes": "飞线充电已上报", "route": [[lon, lat, 1764400000]]})
    # then the patrol is finished and listed
    assert finished.status_code == 200 and finished.json()["status"] == "finished"
    assert finished.json()["route_points"] == 1
    listed = api.get(worker, "", mine="true")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["items"]] == [patrol_id]
    assert listed.json()["items"][0]["finding_count"] == 1


def test_errors_are_in_chinese_with_their_status(api, tree, personas):
    worker = personas["grid_worker"]
    # a grid the worker is not assigned to → 403
    refused = api.post(worker, "", {"grid": tree.grids[1].code})
    assert refused.status_code == 403 and "只能在您负责的网格内" in refused.json()["detail"]
    # an unknown grid → 400
    assert api.post(worker, "", {"grid": "999"}).status_code == 400
    patrol_id = api.post(worker, "", {"grid": tree.grids[0].code}).json()["id"]
    # a second open patrol → 409
    again = api.post(worker, "", {"grid": tree.grids[0].code})
    assert again.status_code == 409 and "还有一次巡查没有结束" in again.json()["detail"]
    # a bad check result → 400; an unknown item → 400
    bad = api.post(worker, f"/{patrol_id}/checks", {"item": "gas", "result": "maybe"})
    assert bad.status_code == 400 and "未知的检查结果" in bad.json()["detail"]
    assert api.post(worker, f"/{patrol_id}/checks", {"item": "nope", "result": "ok"}).status_code == 400
    # a finding in another grid → 400; finishing with an open finding → 409
    lon, lat = grid_centre(tree.grids[1])
    outside = api.post(
        worker, f"/{patrol_id}/findings", {"category": "0101", "description": "垃圾", "longitude": lon, "latitude": lat}
    )
    assert outside.status_code == 400 and "不在本次巡查的网格内" in outside.json()["detail"]
    finding = api.post(worker, f"/{patrol_id}/findings", {"category": "0101", "description": "垃圾"}).json()
    blocked = api.post(worker, f"/{patrol_id}/finish")
    assert blocked.status_code == 409 and "没有处置" in blocked.json()["detail"]
    settled = api.post(worker, f"/{patrol_id}/findings/{finding['id']}/settle", {"result": "已清理"})
    assert settled.status_code == 200 and settled.json()["status"] == "settled"
    assert api.post(worker, f"/{patrol_id}/finish").status_code == 200


@pytest.mark.parametrize("viewer", ["neighbour", "outsider", "department_handler", "leader", "resident"])
def test_out_of_scope_patrols_are_the_same_404_as_unknown_ones(api, tree, personas, viewer):
    patrol_id = api.post(personas["grid_worker"], "", {"grid": tree.grids[0].code}).json()["id"]
    # the neighbour is the grid worker of the next grid in the same community
    user = make_user_with_role(Role.GRID_WORKER, tree.grids[1]) if viewer == "neighbour" else personas[viewer]
    # when someone outside the scope reads or writes the patrol, or an unknown one
    for path in (f"/{patrol_id}", f"/{patrol_id + 1000}"):
        response = api.get(user, path)
        assert response.status_code == 404 and response.json() == {"detail": "对象不存在或无权查看。"}
    assert api.post(user, f"/{patrol_id}/checks", {"item": "gas", "result": "ok"}).status_code == 404
    assert api.post(user, f"/{patrol_id}/finish").status_code == 404
    # then they do not see it listed either
    assert api.get(user, "").json()["items"] == []


def test_staff_read_but_do_not_write_and_lists_are_scoped(api, tree, personas):
    api.post(personas["grid_worker"], "", {"grid": tree.grids[0].code})
    other = make_user_with_role(Role.GRID_WORKER, tree.grids[4])  # in the second town
    api.post(other, "", {"grid": tree.grids[4].code})
    patrol = Patrol.objects.get(worker=personas["grid_worker"])
    staff = personas["community_staff"]
    # staff read the patrol, but writing it is 403
    assert api.get(staff, f"/{patrol.pk}").status_code == 200
    assert api.post(staff, f"/{patrol.pk}/checks", {"item": "gas", "result": "ok"}).status_code == 403
    # each caller lists only patrols in their scope
    assert [row["id"] for row in api.get(staff, "").json()["items"]] == [patrol.pk]
    assert len(api.get(personas["county_command"], "").json()["items"]) == 2
    assert [row["id"] for row in api.get(personas["outsider"], "").json()["items"]] == [
        Patrol.objects.get(worker=other).pk
    ]


def test_the_operations_appear_in_openapi(api, personas):
    schema = api.client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/patrols",
        "/api/v1/patrols/{patrol_id}/checks",
        "/api/v1/patrols/{patrol_id}/findings",
        "/api/v1/patrols/{patrol_id}/findings/{finding_id}/case",
        "/api/v1/patrols/{patrol_id}/finish",
    ):
        assert path in paths
    assert "FindingIn" in schema["components"]["schemas"]
