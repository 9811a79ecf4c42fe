"""The task and emergency pages and API, through HTTP."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from gridgov.accounts.models import User
from gridgov.accounts.services import api_token_issue
from gridgov.tasks.choices import ResourceKind, TargetLevel, TargetStatus
from gridgov.tasks.models import Assignment, EmergencyEvent, Target, Task
from gridgov.tasks.services import TaskInput, resource_add, task_create
from gridgov.tasks.views import TASKS_PER_PAGE
from gridgov.testing.factories import AreaTree
from gridgov.testing.tasks import Households, gas_checklist, issue_task, populate_households

pytestmark = pytest.mark.django_db


def bearer(user: User) -> dict[str, str]:
    _, raw = api_token_issue(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def homes(tree: AreaTree) -> Households:
    return populate_households(tree)


def test_staff_create_a_task_once_even_on_double_click(
    client: Client, tree: AreaTree, personas: dict, homes: Households
) -> None:
    # given the county command on the create page
    client.force_login(personas["county_command"])
    page = client.get("/tasks/new/")
    assert page.status_code == 200
    due = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "client_key": "abc123",
        "title": "燃气安全大排查",
        "issuing_area": tree.district.code,
        "target_level": "household",
        "due_at": due,
        "checklist": "是否|是否使用瓶装液化气*\n单选|软管状况|完好、老化\n照片|现场照片",
    }
    # when the form is posted twice with the same token
    first = client.post("/tasks/new/", form)
    second = client.post("/tasks/new/", form)
    # then one task is issued to the 8 grids, and both answers lead to it
    task = Task.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/tasks/{task.pk}/"
    assert (task.assignment_count, task.target_count) == (8, 24)
    assert task.checklist is not None
    assert [field["kind"] for field in task.checklist.fields] == ["yes_no", "choice", "photo"]
    detail = client.get(f"/tasks/{task.pk}/")
    assert detail.status_code == 200
    assert "测试1街道" in detail.content.decode()


def test_task_pages_are_404_out_of_scope(client: Client, tree: AreaTree, personas: dict, homes: Households) -> None:
    task = issue_task(personas["town_staff"], tree.towns[0])
    assignment = Assignment.objects.get(task=task, grid=tree.grids[0])
    for name in ("outsider", "resident", "admin"):
        client.force_login(personas[name])
        assert client.get(f"/tasks/{task.pk}/").status_code == 404
        assert client.get(f"/tasks/assignments/{assignment.pk}/").status_code == 404
        assert client.get(f"/tasks/{task.pk}/export.xlsx").status_code == 404
        assert "燃气安全排查" not in client.get("/tasks/my/").content.decode()
    client.force_login(personas["resident"])
    assert client.get("/tasks/").status_code == 404
    client.force_login(personas["outsider"])
    assert "燃气安全排查" not in client.get("/tasks/").content.decode()


def test_worker_records_a_target_on_the_phone_page(
    client: Client, tree: AreaTree, personas: dict, homes: Households
) -> None:
    # given a county task with a checklist, seen by the first grid's worker
    command = personas["county_command"]
    task = issue_task(command, tree.district, checklist=gas_checklist(command, tree.district))
    worker = personas["grid_worker"]
    client.force_login(worker)
    assignment = Assignment.objects.get(task=task, grid=tree.grids[0])
    assert f"/tasks/assignments/{assignment.pk}/" in client.get("/tasks/my/").content.decode()
    page = client.get(f"/tasks/assignments/{assignment.pk}/").content.decode()
    # then the household with the person living alone is listed first
    first_household = homes.by_grid[0][2]
    assert page.index(first_household.address) < page.index(homes.by_grid[0][0].address)
    target = Target.objects.get(assignment=assignment, household=first_household)
    # when the worker misses a required answer, then answers properly (HTMX)
    bad = client.post(f"/tasks/targets/{target.pk}/record/", {"status": "done"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400
    assert "是否使用瓶装液化气" in bad.content.decode()
    good = client.post(
        f"/tasks/targets/{target.pk}/record/",
        {"status": "done", "answer_uses_lpg": "true", "answer_hose": "老化"},
        HTTP_HX_REQUEST="true",
    )
    assert good.status_code == 200
    target.refresh_from_db()
    assert target.status == TargetStatus.DONE
    assert target.answers == {"uses_lpg": True, "hose": "老化"}
    # and the county exports it to Excel
    client.force_login(command)
    export = client.get(f"/tasks/{task.pk}/export.xlsx")
    assert export.status_code == 200
    rows = list(load_workbook(BytesIO(export.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 24
    assert any(row[1] == first_household.address and row[3] == "已完成" and "是" in row for row in rows)


def test_api_creates_lists_and_records(client: Client, tree: AreaTree, personas: dict, homes: Households) -> None:
    command = bearer(personas["county_command"])
    payload = {
        "title": "汛前排查",
        "issuing_area": tree.district.code,
        "target_areas": [tree.towns[0].code],
        "target_level": "household",
        "due_at": (timezone.now() + timedelta(days=2)).isoformat(),
        "checklist": [{"key": "sandbags", "label": "是否备有沙袋", "kind": "yes_no", "required": True}],
    }
    created = client.post(
        "/api/v1/tasks", payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1", **command
    )
    again = client.post(
        "/api/v1/tasks", payload, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1", **command
    )
    assert (created.status_code, again.status_code) == (201, 200)
    body = created.json()
    assert body["id"] == again.json()["id"]
    assert (body["assignment_count"], body["target_count"], body["progress"]["total"]) == (4, 12, 12)
    # the worker lists the assignment and its targets, vulnerable first, and reports one
    worker = bearer(personas["grid_worker"])
    mine = client.get("/api/v1/tasks/assignments/mine", **worker).json()
    assert [item["task_title"] for item in mine] == ["汛前排查"]
    targets = client.get(f"/api/v1/tasks/assignments/{mine[0]['id']}/targets", **worker).json()
    assert [item["vulnerability_label"] for item in targets] == ["独居老人", "困难人员", "一般住户"]
    result = client.post(
        f"/api/v1/tasks/targets/{targets[0]['id']}/result",
        {
            "status": "done",
            "answers": {"sandbags": False},
            "open_case": {"category": "0608", "title": "缺少沙袋", "description": "低洼住户未备沙袋。"},
        },
        content_type="application/json",
        **worker,
    )
    assert result.status_code == 200, result.content
    assert result.json()["case_number"]
    missing = client.post(
        f"/api/v1/tasks/targets/{targets[1]['id']}/result",
        {"status": "done"},
        content_type="application/json",
        **worker,
    )
    assert missing.status_code == 400
    # out of scope: the other town sees no task, and its detail / targets / result are 404 like unknown ones
    outsider = bearer(personas["outsider"])
    assert client.get("/api/v1/tasks", **outsider).json() == []
    assert client.get(f"/api/v1/tasks/{body['id']}", **outsider).status_code == 404
    assert client.get(f"/api/v1/tasks/assignments/{mine[0]['id']}/targets", **outsider).status_code == 404
    denied = client.post(
        f"/api/v1/tasks/targets/{targets[2]['id']}/result",
        {"status": "done"},
        content_type="application/json",
        **outsider,
    )
    unknown = client.post(
        "/api/v1/tasks/targets/99999999/result", {"status": "done"}, content_type="application/json", **outsider
    )
    assert denied.status_code == unknown.status_code == 404
    assert denied.json() == unknown.json()


def test_api_declares_and_ends_an_emergency(client: Client, tree: AreaTree, personas: dict, homes: Households) -> None:
    town = bearer(personas["town_staff"])
    declared = client.post(
        "/api/v1/tasks/emergencies",
        {"kind": "flood", "title": "强降雨内涝", "area": tree.towns[0].code},
        content_type="application/json",
        **town,
    )
    assert declared.status_code == 201, declared.content
    event_id = declared.json()["id"]
    assert [
        e["id"] for e in client.get("/api/v1/tasks/emergencies/active", **bearer(personas["grid_worker"])).json()
    ] == [event_id]
    assert client.get("/api/v1/tasks/emergencies/active", **bearer(personas["outsider"])).json() == []
    assert client.post(f"/api/v1/tasks/emergencies/{event_id}/end", **bearer(personas["outsider"])).status_code == 404
    ended = client.post(f"/api/v1/tasks/emergencies/{event_id}/end", **town)
    assert ended.status_code == 200
    assert ended.json()["report"]["households_total"] == 12
    assert EmergencyEvent.objects.get().ended_at is not None


def test_emergency_pages_and_resource_map(client: Client, tree: AreaTree, personas: dict, homes: Households) -> None:
    client.force_login(personas["town_staff"])
    response = client.post(
        "/tasks/emergencies/",
        {
            "client_key": "x1",
            "title": "燃气泄漏",
            "kind": "gas_leak",
            "area": tree.communities[0].code,
            "sla_factor": "0.5",
        },
    )
    event = EmergencyEvent.objects.get()
    assert response.status_code == 302
    # the worker inside sees it pinned on the assignments page; the outsider gets 404 on it
    client.force_login(personas["grid_worker"])
    assert "燃气泄漏" in client.get("/tasks/my/").content.decode()
    client.force_login(personas["outsider"])
    assert client.get(f"/tasks/emergencies/{event.pk}/").status_code == 404
    client.force_login(personas["town_staff"])
    assert client.post(f"/tasks/emergencies/{event.pk}/end/").status_code == 302
    page = client.get(f"/tasks/emergencies/{event.pk}/").content.decode()
    assert "总结报告" in page
    resource_add(
        actor=personas["town_staff"],
        kind=ResourceKind.SHELTER,
        name="社区避难点",
        area=tree.communities[0],
        lon=119.905,
        lat=36.195,
    )
    assert client.get("/tasks/resources/").status_code == 200
    features = client.get("/tasks/resources.geojson").json()["features"]
    assert [f["properties"]["name"] for f in features] == ["社区避难点"]
    client.force_login(personas["outsider"])
    assert client.get("/tasks/resources.geojson").json()["features"] == []


def test_task_operations_are_in_the_openapi_document(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/tasks",
        "/api/v1/tasks/assignments/mine",
        "/api/v1/tasks/targets/{target_id}/result",
        "/api/v1/tasks/emergencies",
        "/api/v1/tasks/emergencies/{event_id}/end",
    ):
        assert path in paths


def test_town_staff_put_someone_on_call_and_register_a_resource(client: Client, tree: AreaTree, personas: dict) -> None:
    from gridgov.tasks.models import DutyShift, EmergencyResource
    from gridgov.tasks.services import EmergencyInput, emergency_declare

    town_staff = personas["town_staff"]
    event, _created = emergency_declare(
        actor=town_staff, data=EmergencyInput(kind="fire", title="山林火险", area=tree.towns[0])
    )
    client.force_login(town_staff)
    start = timezone.localtime() - timedelta(hours=1)
    response = client.post(
        f"/tasks/emergencies/{event.pk}/shifts/",
        {
            "area": tree.communities[0].code,
            "user": personas["community_staff"].pk,
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M"),
            "is_lead": "1",
        },
    )
    assert response.status_code == 302
    assert DutyShift.objects.get().user == personas["community_staff"]
    page = client.get(f"/tasks/emergencies/{event.pk}/").content.decode()
    assert "当前值班" in page and str(personas["community_staff"]) in page
    # someone outside the event's area cannot be put on call
    client.post(
        f"/tasks/emergencies/{event.pk}/shifts/",
        {"area": tree.communities[0].code, "user": personas["outsider"].pk, "starts_at": "2026-12-01T08:00",
         "ends_at": "2026-12-01T20:00"},
    )  # fmt: skip
    assert DutyShift.objects.count() == 1
    # a resource is registered from the map page, and an out-of-scope area is refused
    client.post(
        "/tasks/resources/",
        {
            "name": "街道物资库",
            "kind": "supplies",
            "area": tree.towns[0].code,
            "lon": "119.92",
            "lat": "36.19",
            "quantity": "300",
        },
    )
    client.post(
        "/tasks/resources/",
        {"name": "越界", "kind": "supplies", "area": tree.towns[1].code, "lon": "119.92", "lat": "36.18"},
    )
    assert list(EmergencyResource.objects.values_list("name", flat=True)) == ["街道物资库"]


def test_the_worklist_page_costs_the_same_queries_for_more_households(
    client: Client, tree: AreaTree, personas: dict
) -> None:
    from gridgov.registry.services import HouseholdSpec, households_bulk_create

    # given a grid with 3 households, then one with 30
    def page_queries(count: int) -> int:
        households_bulk_create(
            actor=None,
            specs=[HouseholdSpec(grid=tree.grids[0], address=f"{count}-{n}号", room=str(n)) for n in range(count)],
        )
        task = issue_task(personas["county_command"], tree.district)
        assignment = Assignment.objects.get(task=task, grid=tree.grids[0])
        client.force_login(personas["grid_worker"])
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/tasks/assignments/{assignment.pk}/").status_code == 200
        return len(captured.captured_queries)

    # then the page makes the same number of queries (no query per target)
    assert page_queries(3) == page_queries(27)


def test_the_task_list_pages_through_every_task(client: Client, tree: AreaTree, personas: dict) -> None:
    # given more tasks than fit on one page, issued by the community (grid level: no households needed)
    staff = personas["community_staff"]
    due = timezone.now() + timedelta(days=7)
    for number in range(TASKS_PER_PAGE + 2):
        task_create(
            actor=staff,
            data=TaskInput(
                title=f"第{number:02d}号排查",
                issuing_area=tree.communities[0],
                target_areas=[tree.communities[0]],
                target_level=TargetLevel.GRID,
                due_at=due,
            ),
        )
    client.force_login(staff)
    # when they open the list, then the newest page is full and says how many pages there are
    first = client.get("/tasks/").content.decode()
    assert first.count('href="/tasks/') >= TASKS_PER_PAGE and "第 1 / 2 页" in first
    assert f"第{TASKS_PER_PAGE + 1:02d}号排查" in first and "第00号排查" not in first
    # and the oldest tasks are on the second page
    second = client.get("/tasks/", {"page": 2}).content.decode()
    assert "第00号排查" in second and "第01号排查" in second and "第 2 / 2 页" in second
