"""The portal's JSON API: code, verify (a bearer token), my reports."""

from __future__ import annotations

import pytest

from gridgov.cases.choices import CaseSource
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import AreaTree
from gridgov.testing.portal import last_sms_code, make_resident

pytestmark = pytest.mark.django_db

PHONE = "15012345678"


def test_resident_gets_a_token_by_code_and_lists_only_their_reports(client, tree: AreaTree) -> None:
    # given a code requested through the API
    response = client.post("/api/v1/portal/login/code", {"phone": PHONE}, content_type="application/json")
    assert response.status_code == 202
    assert response.json()["phone_masked"] == "150****5678"
    # when the code from the SMS is sent back
    response = client.post(
        "/api/v1/portal/login/verify", {"phone": PHONE, "code": last_sms_code(PHONE)}, content_type="application/json"
    )
    # then a bearer token comes back, and nothing else personal
    assert response.status_code == 200
    token = response.json()["token"]
    assert set(response.json()) == {"token", "expires_at", "phone_masked"}
    # given a report of theirs and one of another resident
    from gridgov.testing.portal import identity_of

    mine = submit_case(identity_of(PHONE).user, tree.grids[0], source=CaseSource.RESIDENT, title="楼道灯坏了")
    other = make_resident("15087654321")
    submit_case(other, tree.grids[0], source=CaseSource.RESIDENT, title="别人的事")
    # when they list their reports with the token
    response = client.get("/api/v1/portal/my/reports", HTTP_AUTHORIZATION=f"Bearer {token}")
    # then only theirs is there, with a plain status
    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["number"] for item in items] == [mine.number]
    assert items[0]["status_text"] == "已提交，等待受理"


def test_wrong_code_and_throttle_answer_in_chinese(client, tree: AreaTree) -> None:
    client.post("/api/v1/portal/login/code", {"phone": PHONE}, content_type="application/json")
    code = last_sms_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(
        "/api/v1/portal/login/verify", {"phone": PHONE, "code": wrong}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "验证码不正确" in response.json()["detail"]
    response = client.post("/api/v1/portal/login/code", {"phone": PHONE}, content_type="application/json")
    assert response.status_code == 429
    assert "秒后再重新获取" in response.json()["detail"]


def test_unknown_phone_verify_is_like_an_expired_code(client, tree: AreaTree) -> None:
    response = client.post(
        "/api/v1/portal/login/verify", {"phone": "15900000000", "code": "123456"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "验证码已失效" in response.json()["detail"]


def test_my_reports_needs_a_token(client, tree: AreaTree) -> None:
    assert client.get("/api/v1/portal/my/reports").status_code == 401


def test_operations_are_in_the_openapi_schema(client, tree: AreaTree) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/portal/login/code", "/api/v1/portal/login/verify", "/api/v1/portal/my/reports"} <= set(paths)
