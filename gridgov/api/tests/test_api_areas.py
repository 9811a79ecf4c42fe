"""/api/v1/areas: bearer-token authentication, area scope, pagination, Chinese errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.accounts.choices import Role
from gridgov.accounts.models import ApiToken, User
from gridgov.accounts.services import api_token_issue, api_token_revoke, role_assign
from gridgov.testing.factories import AreaTree, UserFactory, make_user_with_role

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "对象不存在或无权查看。"}


def bearer(username: str) -> dict[str, str]:
    _token, raw = api_token_issue(actor=None, user=User.objects.get(username=username))
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def codes(response: Any) -> list[str]:
    return [item["code"] for item in response.json()["items"]]


# ------------------------------------------------------------- authentication


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer ggv_not-a-real-token",
        "Bearer ",
        "Token ggv_not-a-real-token",
        "Basic YWRtaW46YWRtaW4=",
    ],
    ids=["missing", "unknown", "empty", "wrong-scheme", "basic"],
)
def test_request_without_a_valid_token_gets_401_in_chinese(
    client: Client, tree: AreaTree, personas: dict, header: str | None
) -> None:
    # given a request with no usable bearer token
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    # when it asks for an area
    response = client.get(f"/api/v1/areas/{tree.district.code}", **extra)
    # then it is refused with a JSON body in Chinese and a bearer challenge
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "缺少有效的访问令牌，或令牌已过期、已吊销。"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_gets_401(client: Client, tree: AreaTree, personas: dict) -> None:
    # given the admin's token, which expired a second ago
    token, raw = api_token_issue(actor=None, user=personas["admin"])
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # when it is used
    response = client.get(f"/api/v1/areas/{tree.district.code}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    # then it is refused
    assert response.status_code == 401


def test_revoked_token_gets_401(client: Client, tree: AreaTree, personas: dict) -> None:
    # given a token that worked, and was then revoked
    token, raw = api_token_issue(actor=None, user=personas["admin"])
    url = f"/api/v1/areas/{tree.district.code}"
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    api_token_revoke(actor=None, token=token)
    # when it is used again, then it is refused
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_token_of_a_deactivated_user_gets_401(client: Client, tree: AreaTree, personas: dict) -> None:
    headers = bearer("admin")
    User.objects.filter(username="admin").update(is_active=False)
    response = client.get(f"/api/v1/areas/{tree.district.code}", **headers)
    assert response.status_code == 401


def test_session_cookie_is_not_accepted_by_the_api(client: Client, tree: AreaTree, personas: dict) -> None:
    # given the admin signed in to the web pages
    client.force_login(personas["admin"])
    assert client.get(f"/areas/{tree.district.code}/").status_code == 200
    # when the browser calls the API with only its session cookie
    response = client.get(f"/api/v1/areas/{tree.district.code}")
    # then the API does not treat the cookie as authentication
    assert response.status_code == 401


def test_digest_is_stored_and_the_raw_token_is_not(tree: AreaTree, personas: dict) -> None:
    token, raw = api_token_issue(actor=None, user=personas["admin"], name="测试")
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert len(row["digest"]) == 64
    assert raw not in row.values()
    assert all(raw not in str(value) for value in row.values())
    assert not ApiToken.objects.filter(digest=raw).exists()


# --------------------------------------------------------------------- scope


def test_town_staff_reads_their_town_with_statistics(client: Client, tree: AreaTree, personas: dict) -> None:
    # given staff of the first town
    headers = bearer("town_staff")
    # when they read their town
    response = client.get(f"/api/v1/areas/{tree.towns[0].code}", **headers)
    # then they get its code, parent, path, bbox, geometry and counts
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == tree.towns[0].code
    assert body["parent_code"] == tree.district.code
    assert body["level"] == "town"
    assert body["level_label"] == "镇街"
    assert body["path"] == tree.towns[0].path
    assert body["geometry"]["type"] == "Polygon"
    assert len(body["bbox"]) == 4
    # 2 communities × 2 grids × 2 buildings × 40 households
    assert body["stats"]["households"] == 320
    assert body["stats"]["grids"] == 4


def test_out_of_scope_area_gets_the_same_404_as_a_missing_one(client: Client, tree: AreaTree, personas: dict) -> None:
    # given staff of the second town
    headers = bearer("outsider")
    # when they ask for a grid of the first town, its children, and codes that do not exist
    responses = [
        client.get(f"/api/v1/areas/{tree.grids[0].code}", **headers),
        client.get(f"/api/v1/areas/{tree.towns[0].code}/children", **headers),
        client.get("/api/v1/areas/370281999999999", **headers),
        client.get("/api/v1/areas/370281999999999/children", **headers),
        client.get("/api/v1/areas/not-a-code", **headers),
    ]
    # then every answer is the same JSON 404 with a Chinese detail
    for response in responses:
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/json")
        assert response.json() == NOT_FOUND


def test_out_of_scope_worker_gets_404_for_the_neighbouring_grid(client: Client, tree: AreaTree, personas: dict) -> None:
    headers = bearer("grid_worker")
    assert client.get(f"/api/v1/areas/{tree.grids[0].code}", **headers).status_code == 200
    assert client.get(f"/api/v1/areas/{tree.grids[1].code}", **headers).status_code == 404
    assert client.get(f"/api/v1/areas/{tree.communities[0].code}", **headers).status_code == 404


def test_resident_without_any_assignment_sees_nothing(client: Client, tree: AreaTree) -> None:
    UserFactory(username="newcomer")
    headers = bearer("newcomer")
    assert client.get(f"/api/v1/areas/{tree.city.code}", **headers).status_code == 404
    assert client.get(f"/api/v1/areas/{tree.grids[0].code}", **headers).status_code == 404


def test_department_handler_sees_the_areas_of_their_district(client: Client, tree: AreaTree, personas: dict) -> None:
    # given a department handler bound to the district
    headers = bearer("handler")
    # when they read the district, a town, a grid and the city above
    district = client.get(f"/api/v1/areas/{tree.district.code}", **headers)
    town = client.get(f"/api/v1/areas/{tree.towns[1].code}", **headers)
    grid = client.get(f"/api/v1/areas/{tree.grids[-1].code}", **headers)
    city = client.get(f"/api/v1/areas/{tree.city.code}", **headers)
    # then everything in the district is visible and nothing above it
    assert (district.status_code, town.status_code, grid.status_code) == (200, 200, 200)
    assert city.status_code == 404
    children = client.get(f"/api/v1/areas/{tree.district.code}/children", **headers)
    assert codes(children) == [town.code for town in tree.towns]


def test_user_with_two_assignments_sees_both_subtrees_but_not_their_parent(client: Client, tree: AreaTree) -> None:
    # given a grid worker of the first grid who is also community staff of the last community
    user = make_user_with_role(Role.GRID_WORKER, tree.grids[0], username="twohats")
    role_assign(actor=None, user=user, role=Role.COMMUNITY_STAFF, area=tree.communities[-1])
    headers = bearer("twohats")
    # then both subtrees answer, and the nodes around them do not
    assert client.get(f"/api/v1/areas/{tree.grids[0].code}", **headers).status_code == 200
    assert client.get(f"/api/v1/areas/{tree.communities[-1].code}", **headers).status_code == 200
    assert codes(client.get(f"/api/v1/areas/{tree.communities[-1].code}/children", **headers)) == [
        grid.code for grid in tree.grids[-2:]
    ]
    assert client.get(f"/api/v1/areas/{tree.grids[1].code}", **headers).status_code == 404
    assert client.get(f"/api/v1/areas/{tree.towns[1].code}", **headers).status_code == 404


# ---------------------------------------------------------------- pagination


def test_children_are_paginated_by_page_and_page_size(client: Client, tree: AreaTree, personas: dict) -> None:
    # given the county command centre, whose district has two towns
    headers = bearer("command")
    url = f"/api/v1/areas/{tree.district.code}/children"
    # when it pages through them one at a time
    first = client.get(url, {"page": 1, "page_size": 1}, **headers)
    second = client.get(url, {"page": 2, "page_size": 1}, **headers)
    beyond = client.get(url, {"page": 3, "page_size": 1}, **headers)
    everything = client.get(url, **headers)
    # then each page holds one town, the count is the total, and the pages join up
    assert first.json()["count"] == second.json()["count"] == 2
    assert codes(first) == [tree.towns[0].code]
    assert codes(second) == [tree.towns[1].code]
    assert codes(beyond) == []
    assert codes(everything) == [town.code for town in tree.towns]
    # and each item carries its own statistics
    assert [item["stats"]["households"] for item in everything.json()["items"]] == [320, 320]
    assert all("geometry" not in item for item in everything.json()["items"])


def test_invalid_page_is_rejected(client: Client, tree: AreaTree, personas: dict) -> None:
    headers = bearer("command")
    url = f"/api/v1/areas/{tree.district.code}/children"
    assert client.get(url, {"page": 0}, **headers).status_code == 422
    assert client.get(url, {"page_size": 0}, **headers).status_code == 422


def test_children_query_count_does_not_grow_with_the_page(
    client: Client, tree: AreaTree, personas: dict, django_assert_max_num_queries: Any
) -> None:
    # given a token, already used once so that its last-use write is out of the way
    headers = bearer("command")
    client.get(f"/api/v1/areas/{tree.towns[0].code}", **headers)
    # when one page holds 1 community and another 2
    with django_assert_max_num_queries(12) as small:
        client.get(f"/api/v1/areas/{tree.towns[0].code}/children", {"page_size": 1}, **headers)
    with django_assert_max_num_queries(12) as large:
        client.get(f"/api/v1/areas/{tree.towns[0].code}/children", {"page_size": 2}, **headers)
    # then both cost the same number of queries
    assert len(small.captured_queries) == len(large.captured_queries)


def test_api_has_no_unsafe_methods_on_areas(client: Client, tree: AreaTree, personas: dict) -> None:
    headers = bearer("admin")
    client.force_login(personas["admin"])
    for method in (client.post, client.put, client.patch, client.delete):
        response = method(f"/api/v1/areas/{tree.district.code}", **headers)
        assert response.status_code == 405
