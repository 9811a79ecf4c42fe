"""The case endpoints of /api/v1: submit, list, detail, every action, indicators, OpenAPI."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gridding.crs import wgs84_to_gcj02_coords
from gridgov.accounts.choices import Role
from gridgov.accounts.services import api_token_issue
from gridgov.areas.selectors import grid_index_invalidate
from gridgov.cases.choices import CaseSource, CaseStatus
from gridgov.cases.models import Case, CaseStep
from gridgov.cases.services import case_dispatch, case_escalate
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import AreaTree, make_user_with_role

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
LONG_AGO = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)  # a Wednesday; every limit of a case submitted then has passed
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _fresh_grid_index() -> None:
    """The point-in-grid index is cached per process; each test builds its own area tree."""
    grid_index_invalidate()


class Api:
    """The test client with one bearer token per user."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.tokens: dict[int, str] = {}

    def headers(self, user: Any) -> dict[str, str]:
        if user.pk not in self.tokens:
            self.tokens[user.pk] = api_token_issue(actor=None, user=user)[1]
        return {"HTTP_AUTHORIZATION": f"Bearer {self.tokens[user.pk]}"}

    def get(self, user: Any, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, **self.headers(user))

    def post(self, user: Any, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(
            f"/api/v1{path}",
            data=json.dumps({} if body is None else body),
            content_type="application/json",
            **self.headers(user),
            **headers,
        )


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)


def report(tree: AreaTree, **overrides: Any) -> dict[str, Any]:
    body = {
        "kind": "complaint",
        "category": "0602",
        "title": "夜间装修噪音",
        "description": "3号楼每晚十点后仍在装修。",
        "grid": tree.grids[0].code,
        "address": "3号楼",
        "reporter_name": "王女士",
        "reporter_phone": "13800001111",
    }
    body.update(overrides)
    return body


def test_a_submit_answers_201_and_a_retry_200_with_the_same_case(api, tree, personas):
    worker = personas["grid_worker"]
    # Given a grid worker's report with an idempotency key
    # When it is submitted
    first = api.post(worker, "/cases", report(tree, source="walk_in"), HTTP_IDEMPOTENCY_KEY="visit-1")
    # Then the case is registered in the grid, waiting for its first response, the phone masked
    assert first.status_code == 201
    body = first.json()
    assert body["status"] == CaseStatus.SUBMITTED and body["status_label"] == "待受理"
    assert (body["tier"], body["grid_code"], body["category_code"]) == ("grid", tree.grids[0].code, "0602")
    assert body["source"] == CaseSource.WALK_IN
    assert body["reporter_name"] == "王女士" and body["reporter_phone_masked"] == "138****1111"
    assert "reporter_phone" not in body and body["number"] == Case.objects.get().number
    # When the same request is retried
    again = api.post(worker, "/cases", report(tree, source="walk_in"), HTTP_IDEMPOTENCY_KEY="visit-1")
    # Then it answers 200 with the same case
    assert again.status_code == 200 and again.json() == body
    # And other content under the same key is refused, creating nothing
    other = api.post(worker, "/cases", report(tree, title="别的事"), HTTP_IDEMPOTENCY_KEY="visit-1")
    assert other.status_code == 409 and "请求编号" in other.json()["detail"]
    assert Case.objects.count() == 1


def test_a_point_in_wgs84_or_gcj02_lands_in_its_grid(api, tree, personas):
    worker = personas["grid_worker"]
    # Given a point inside the second grid and the same point as a consumer map (GCJ-02) gives it
    lon, lat = 119.915, 36.195
    shifted = wgs84_to_gcj02_coords(np.array([[lon, lat]]))[0]
    # When both are submitted by coordinates
    plain = api.post(worker, "/cases", report(tree, grid=None, longitude=lon, latitude=lat))
    gcj = api.post(
        worker,
        "/cases",
        report(tree, grid=None, longitude=float(shifted[0]), latitude=float(shifted[1]), crs="gcj02"),
    )
    # Then both land in that grid, stored in WGS84
    assert plain.status_code == gcj.status_code == 201
    assert plain.json()["grid_code"] == gcj.json()["grid_code"] == tree.grids[1].code
    assert gcj.json()["longitude"] == pytest.approx(lon, abs=1e-6)


def test_bad_input_is_refused_in_chinese_and_creates_nothing(api, tree, personas):
    worker = personas["grid_worker"]
    # When the category or the grid is unknown, the kind is wrong or the phone malformed
    unknown_category = api.post(worker, "/cases", report(tree, category="9999"))
    unknown_grid = api.post(worker, "/cases", report(tree, grid="370281999999999"))
    wrong_kind = api.post(worker, "/cases", report(tree, kind="praise"))
    bad_phone = api.post(worker, "/cases", report(tree, reporter_phone="1380000111"))
    # Then each is a 400 with a Chinese sentence that does not repeat the phone
    for response in (unknown_category, unknown_grid, wrong_kind, bad_phone):
        assert response.status_code == 400
        assert CJK.search(response.json()["detail"])
    assert "类别" in unknown_category.json()["detail"] and "网格" in unknown_grid.json()["detail"]
    assert "1380000111" not in bad_phone.content.decode()
    # When a required field is missing, it is a 422 naming the field in Chinese, without echoing the body
    body = report(tree)
    del body["title"]
    missing = api.post(worker, "/cases", body)
    assert missing.status_code == 422
    assert missing.json()["detail"] == "请求内容有误：title（缺少必填项）。"
    assert "王女士" not in missing.content.decode()
    # And a body that is not JSON is a 400 in Chinese
    garbled = api.client.post("/api/v1/cases", data="{kind:", content_type="application/json", **api.headers(worker))
    assert garbled.status_code == 400 and garbled.json()["detail"] == "请求体不是有效的JSON。"
    assert not Case.objects.exists()


def test_a_resident_always_reports_as_a_resident(api, tree, personas):
    resident = personas["resident"]
    # When a resident submits without a source
    own = api.post(resident, "/cases", report(tree))
    # Then the case is theirs, with the resident source
    assert own.status_code == 201 and own.json()["source"] == CaseSource.RESIDENT
    assert Case.objects.get().reporter == resident
    # And a staff source is refused
    refused = api.post(resident, "/cases", report(tree, source="hotline"))
    assert refused.status_code == 403 and CJK.search(refused.json()["detail"])
    assert Case.objects.count() == 1


def test_an_anonymous_reporter_is_shown_to_the_reporter_alone(api, tree, personas):
    resident, worker = personas["resident"], personas["grid_worker"]
    # Given a resident's anonymous report
    case_id = api.post(resident, "/cases", report(tree, is_anonymous=True)).json()["id"]
    # When the resident and the grid worker open it
    mine = api.get(resident, f"/cases/{case_id}").json()
    theirs = api.get(worker, f"/cases/{case_id}").json()
    # Then only the resident sees the name and the masked phone
    assert (mine["reporter_name"], mine["reporter_phone_masked"]) == ("王女士", "138****1111")
    assert theirs["reporter_name"] is None and theirs["reporter_phone_masked"] is None
    # And the timeline names the reporter's own step without their name to staff
    assert theirs["steps"][0]["actor"] == "反映人"
    assert resident.full_name not in json.dumps(theirs, ensure_ascii=False)


def test_lists_are_scoped_to_each_caller(api, tree, personas):
    worker, resident = personas["grid_worker"], personas["resident"]
    handler, town = personas["department_handler"], personas["town_staff"]
    # Given a worker's case, a resident's case, and a case dispatched to the department, all in the first town
    worker_case = submit_case(worker, tree.grids[0])
    resident_case = submit_case(resident, tree.grids[0], source=CaseSource.RESIDENT)
    dispatched = submit_case(worker, tree.grids[0])
    case_escalate(actor=worker, case=dispatched, reason="需要社区协调。")
    case_escalate(actor=personas["community_staff"], case=dispatched, reason="涉及执法。")
    case_dispatch(actor=town, case=dispatched, department=handler.role_assignments.get().department)

    def ids(user: Any, **params: Any) -> list[int]:
        response = api.get(user, "/cases", **params)
        assert response.status_code == 200
        return [item["id"] for item in response.json()["items"]]

    # Then town staff see all three, newest first; the outsider none
    assert ids(town) == [dispatched.pk, resident_case.pk, worker_case.pk]
    assert ids(personas["outsider"]) == []
    # The department sees only what was dispatched to it, the resident only their own
    assert ids(handler) == [dispatched.pk]
    assert ids(resident) == [resident_case.pk]
    # And an area outside the caller's scope is the same 404 as an unknown area
    out_of_scope = api.get(personas["outsider"], "/cases", area=tree.towns[0].code)
    unknown = api.get(personas["outsider"], "/cases", area="370281999")
    assert out_of_scope.status_code == unknown.status_code == 404
    assert out_of_scope.json() == unknown.json()


def test_list_filters(api, tree, personas):
    worker, town = personas["grid_worker"], personas["town_staff"]
    # Given, in the worker's grid: an old case past its limit, a case the worker handles,
    # a fresh noise complaint and a case escalated to the community; and a case in another community
    overdue = submit_case(worker, tree.grids[0], now=LONG_AGO)
    handled = api.post(worker, "/cases", report(tree, category="0101")).json()["id"]
    api.post(worker, f"/cases/{handled}/accept")
    noise = api.post(worker, "/cases", report(tree)).json()["id"]
    escalated = submit_case(worker, tree.grids[0])
    case_escalate(actor=worker, case=escalated, reason="需要社区协调。")
    elsewhere = submit_case(make_user_with_role(Role.GRID_WORKER, tree.grids[2]), tree.grids[2])

    def ids(user: Any, **params: Any) -> set[int]:
        response = api.get(user, "/cases", **params)
        assert response.status_code == 200
        return {item["id"] for item in response.json()["items"]}

    # Then each filter keeps what it says
    assert ids(town, category="06") == {noise}  # 社区服务 and its subcategories
    assert ids(town, category="0101") == {overdue.pk, handled, escalated.pk, elsewhere.pk}
    assert ids(town, status="handling") == {handled}
    assert ids(town, area=tree.communities[1].code) == {elsewhere.pk}
    assert ids(town, overdue="true") == {overdue.pk}
    assert ids(town, overdue="false") == {handled, noise, escalated.pk, elsewhere.pk}
    assert ids(worker, mine="true") == {handled}
    assert ids(worker, queue="true") == {overdue.pk, handled, noise}
    assert ids(worker, queue="true", status="submitted") == {overdue.pk, noise}
    # And an unknown status is a 400 in Chinese
    unknown = api.get(town, "/cases", status="lost")
    assert unknown.status_code == 400 and CJK.search(unknown.json()["detail"])


def test_the_list_costs_the_same_queries_for_one_case_or_many(api, tree, personas):
    worker, town = personas["grid_worker"], personas["town_staff"]
    submit_case(worker, tree.grids[0])
    api.get(town, "/cases")  # the token is issued and cached outside the measurement
    with CaptureQueriesContext(connection) as one:
        assert api.get(town, "/cases").json()["count"] == 1
    for grid in tree.grids[:4]:
        submit_case(worker, grid)
    with CaptureQueriesContext(connection) as five:
        assert api.get(town, "/cases").json()["count"] == 5
    assert len(five.captured_queries) == len(one.captured_queries)


def test_an_out_of_scope_case_is_the_same_404_as_an_unknown_one(api, tree, personas):
    outsider = personas["outsider"]
    case = submit_case(personas["grid_worker"], tree.grids[0])
    # When the outsider reads it or acts on it
    detail, missing = api.get(outsider, f"/cases/{case.pk}"), api.get(outsider, "/cases/999999")
    action = api.post(outsider, f"/cases/{case.pk}/void", {"reason": "无效"})
    missing_action = api.post(outsider, "/cases/999999/void", {"reason": "无效"})
    # Then every answer is the same fixed 404 and nothing changes
    assert detail.status_code == missing.status_code == action.status_code == missing_action.status_code == 404
    assert detail.json() == missing.json() == action.json() == missing_action.json()
    assert Case.objects.get(pk=case.pk).version == 1


def test_seeing_without_the_right_to_act_is_403_and_a_wrong_state_is_409(api, tree, personas):
    worker, leader = personas["grid_worker"], personas["leader"]
    case = submit_case(worker, tree.grids[0])
    # When the leader, who may see the case, tries to accept it
    forbidden = api.post(leader, f"/cases/{case.pk}/accept")
    # Then it is a 403 with the reason
    assert forbidden.status_code == 403
    assert forbidden.json()["detail"] == "只有网格的办理人员可以受理此事项。"
    # When the worker reports back on a case not yet accepted
    early = api.post(worker, f"/cases/{case.pk}/report_back", {"result": "已处理。"})
    # Then it is a 409 naming the state
    assert early.status_code == 409 and "待受理" in early.json()["detail"]
    # When two workers of the grid accept it one after the other, the second loses
    assert api.post(worker, f"/cases/{case.pk}/accept").status_code == 200
    second = api.post(make_user_with_role(Role.GRID_WORKER, tree.grids[0]), f"/cases/{case.pk}/accept")
    assert second.status_code == 409
    # And a missing reason is a 400 (or 422 when the field is absent) that changes nothing
    blank = api.post(worker, f"/cases/{case.pk}/escalate", {"reason": " "})
    absent = api.post(worker, f"/cases/{case.pk}/escalate", {})
    assert blank.status_code == 400 and blank.json()["detail"] == "请填写上报理由。"
    assert absent.status_code == 422 and "reason" in absent.json()["detail"]
    assert Case.objects.get(pk=case.pk).version == 2


def test_the_whole_loop_through_the_api(api, tree, personas):
    resident, worker = personas["resident"], personas["grid_worker"]
    community, town = personas["community_staff"], personas["town_staff"]
    handler, command = personas["department_handler"], personas["county_command"]

    def act(user: Any, case_id: int, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = api.post(user, f"/cases/{case_id}/{action}", body)
        assert response.status_code == 200, response.json()
        return response.json()

    # Given a resident's report
    case_id = api.post(resident, "/cases", report(tree)).json()["id"]
    assert {"accept", "escalate"} <= set(api.get(worker, f"/cases/{case_id}").json()["actions"])
    # When the grid and the community cannot settle it and the town dispatches it to the department
    act(worker, case_id, "accept", {"note": "已联系。"})
    assert act(worker, case_id, "escalate", {"reason": "需要社区协调。"})["tier"] == "community"
    act(community, case_id, "accept")
    act(community, case_id, "escalate", {"reason": "涉及执法。"})
    act(town, case_id, "accept")
    dispatched = act(town, case_id, "dispatch", {"department": "D370281", "note": "请依法处理。"})
    assert (dispatched["status"], dispatched["department_name"]) == ("dispatched", "城市管理局")
    # Then the department signs for it, gets more time and reports back
    assert "sign_for" in api.get(handler, f"/cases/{case_id}").json()["actions"]
    act(handler, case_id, "sign_for")
    extended = act(handler, case_id, "request_extension", {"amount": "2", "reason": "等待检测结果。"})
    assert float(extended["extension_requested"]) == 2
    act(command, case_id, "decide_extension", {"approve": True, "note": "同意。"})
    assert act(handler, case_id, "report_back", {"result": "已依法处理。"})["status"] == "reported"
    # And the resident verifies, rates, and says it is not fixed after all
    assert act(resident, case_id, "verify", {"passed": True})["close_reason"] == "fixed"
    assert act(resident, case_id, "rate", {"rating": "satisfied"})["rating_label"] == "满意"
    reopened = act(resident, case_id, "reopen", {"reason": "又开始了。"})
    assert (reopened["status"], reopened["reopen_count"]) == ("handling", 1)
    # Then the department sends it back, the county suspends and resumes it, and the town closes it
    assert act(handler, case_id, "send_back", {"reason": "不属于本部门职责。"})["tier"] == "town"
    assert act(command, case_id, "suspend", {"reason": "等待法院裁定。"})["status"] == "suspended"
    act(command, case_id, "resume", {"note": "裁定已出。"})
    closed = act(town, case_id, "close", {"reason": "not_responsible", "note": "属于物业合同纠纷。"})
    assert (closed["status"], closed["close_reason_label"]) == ("closed", "非本辖区/非职责范围")
    # And a duplicate is merged into it, a mistaken registration voided
    duplicate = submit_case(worker, tree.grids[0])
    merged = act(
        worker, duplicate.pk, "close", {"reason": "duplicate", "note": "同一事项。", "merged_into": closed["number"]}
    )
    assert merged["merged_into_number"] == closed["number"]
    mistaken = submit_case(worker, tree.grids[0])
    assert act(community, mistaken.pk, "void", {"reason": "登记错误。"})["status"] == "voided"
    # And the timeline holds one step per action, in order
    detail = api.get(town, f"/cases/{case_id}").json()
    assert [step["action"] for step in detail["steps"]] == [
        "submit",
        "accept",
        "escalate",
        "accept",
        "escalate",
        "accept",
        "dispatch",
        "sign_for",
        "request_extension",
        "approve_extension",
        "report_back",
        "verify_pass",
        "rate",
        "reopen",
        "send_back",
        "suspend",
        "resume",
        "close",
    ]
    assert detail["version"] == len(detail["steps"]) and detail["actions"] == []


def test_the_reporter_sees_posts_not_names_and_no_internal_steps(api, tree, personas):
    resident, worker = personas["resident"], personas["grid_worker"]
    case_id = api.post(resident, "/cases", report(tree)).json()["id"]
    api.post(worker, f"/cases/{case_id}/accept", {"note": "马上去看。"})
    # Given an internal note on the timeline
    case = Case.objects.get(pk=case_id)
    CaseStep.objects.create(
        case=case, seq=case.version + 1, action="accept", actor=worker, at=timezone.now(),
        to_status=case.status, to_tier=case.tier, note="内部：此户多次投诉。", internal=True,
    )  # fmt: skip
    # When the resident and the worker open the case
    mine = api.get(resident, f"/cases/{case_id}").json()
    staff = api.get(worker, f"/cases/{case_id}").json()
    # Then the resident sees the worker by post, not by name, and not the internal note
    assert [(step["action"], step["actor"]) for step in mine["steps"]] == [("submit", "王女士"), ("accept", "网格员")]
    assert worker.full_name not in json.dumps(mine, ensure_ascii=False)
    assert mine["owner_name"] is None and mine["actions"] == []
    # And staff see the name and the internal note
    assert staff["steps"][1]["actor"] == worker.full_name and staff["owner_name"] == worker.full_name
    assert staff["steps"][2]["internal"] and staff["owned_by_me"]


def test_indicators_for_an_area_in_scope(api, tree, personas):
    worker, town = personas["grid_worker"], personas["town_staff"]
    case = api.post(worker, "/cases", report(tree)).json()["id"]
    api.post(worker, f"/cases/{case}/accept")
    today = timezone.localdate().isoformat()
    # When town staff ask for their town's indicators of today
    response = api.get(town, "/indicators", area=tree.towns[0].code, **{"from": today, "to": today})
    # Then the answer carries every figure of the contract
    assert response.status_code == 200
    figures = response.json()
    assert figures["intake"] == 1 and figures["closed"] == 0
    assert set(figures["tier_outcome"]) == {"grid", "community", "town", "department"}
    # And an area outside the caller's scope is the same 404 as an unknown one
    outside = api.get(personas["outsider"], "/indicators", area=tree.towns[0].code, **{"from": today, "to": today})
    unknown = api.get(personas["outsider"], "/indicators", area="370281999", **{"from": today, "to": today})
    assert outside.status_code == unknown.status_code == 404 and outside.json() == unknown.json()
    # And a reversed period is a 400 in Chinese
    reversed_period = api.get(town, "/indicators", area=tree.towns[0].code, **{"from": today, "to": "2020-01-01"})
    assert reversed_period.status_code == 400 and CJK.search(reversed_period.json()["detail"])


def test_the_openapi_document_lists_every_case_operation_in_chinese(client):
    document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    actions = [
        "accept", "escalate", "dispatch", "sign_for", "send_back", "report_back", "request_extension",
        "decide_extension", "verify", "close", "rate", "reopen", "suspend", "resume", "void",
    ]  # fmt: skip
    operations = [
        paths["/api/v1/cases"]["post"],
        paths["/api/v1/cases"]["get"],
        paths["/api/v1/cases/{case_id}"]["get"],
        paths["/api/v1/cases/hotline"]["post"],
        paths["/api/v1/indicators"]["get"],
        *(paths[f"/api/v1/cases/{{case_id}}/{action}"]["post"] for action in actions),
    ]
    for operation in operations:
        assert CJK.search(operation["summary"]) and CJK.search(operation["description"])
        assert operation["security"] == [{"BearerToken": []}]
    submit = paths["/api/v1/cases"]["post"]
    assert {"200", "201", "409"} <= set(submit["responses"])
    assert any(parameter["name"] == "Idempotency-Key" for parameter in submit["parameters"])
