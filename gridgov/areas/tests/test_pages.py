from __future__ import annotations

import re

import pytest
from django.test import Client

from gridgov.accounts.models import User
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db


def without_csrf_token(body: bytes) -> bytes:
    """The page with its per-response masked CSRF tokens blanked out."""
    body = re.sub(rb'"X-CSRFToken": "[^"]*"', b'"X-CSRFToken": ""', body)
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b'name="csrfmiddlewaretoken" value=""', body)


def login(client: Client, username: str) -> Client:
    client.force_login(User.objects.get(username=username))
    return client


def test_anonymous_is_sent_to_login(client: Client, tree: AreaTree) -> None:
    response = client.get(f"/areas/{tree.district.code}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_county_admin_sees_towns_with_codes_and_counts(client: Client, tree: AreaTree, personas: dict) -> None:
    # given the county administrator
    login(client, "admin")
    # when they open the county
    response = client.get(f"/areas/{tree.district.code}/")
    # then the page lists each town with its code and household count
    assert response.status_code == 200
    body = response.content.decode()
    assert "下级镇街" in body
    for town in tree.towns:
        assert town.code in body
        assert town.name in body
    # 2 communities × 2 grids × 2 buildings × 40 households per town
    assert ">320<" in body


def test_home_redirects_single_root_user_to_their_area(client: Client, tree: AreaTree, personas: dict) -> None:
    login(client, "grid_worker")
    response = client.get("/areas/")
    assert response.status_code == 302
    assert response["Location"] == f"/areas/{tree.grids[0].code}/"


def test_out_of_scope_area_is_404_like_a_missing_one(client: Client, tree: AreaTree, personas: dict) -> None:
    # given staff of the second town
    login(client, "outsider")
    # when they open a grid of the first town, and a code that does not exist
    out_of_scope = client.get(f"/areas/{tree.grids[0].code}/")
    missing = client.get("/areas/370281999999999/")
    # then both answer the same 404
    assert out_of_scope.status_code == missing.status_code == 404
    assert without_csrf_token(out_of_scope.content) == without_csrf_token(missing.content)


def test_children_geojson_is_scoped(client: Client, tree: AreaTree, personas: dict) -> None:
    login(client, "community_staff")
    inside = client.get(f"/areas/{tree.communities[0].code}/children.geojson")
    outside = client.get(f"/areas/{tree.communities[1].code}/children.geojson")
    assert inside.status_code == 200
    assert {f["properties"]["code"] for f in inside.json()["features"]} == {grid.code for grid in tree.grids[:2]}
    assert outside.status_code == 404


def test_area_page_query_count_does_not_grow_with_children(
    client: Client, tree: AreaTree, personas: dict, django_assert_max_num_queries
) -> None:
    # given the county admin looking at a town (2 children) and at the county (2 towns)
    login(client, "admin")
    # then each page costs a bounded number of queries, whatever the number of children
    with django_assert_max_num_queries(25):
        assert client.get(f"/areas/{tree.towns[0].code}/").status_code == 200
    with django_assert_max_num_queries(25):
        assert client.get(f"/areas/{tree.grids[0].code}/").status_code == 200


def test_grid_page_lists_compounds_and_buildings(client: Client, tree: AreaTree, personas: dict) -> None:
    login(client, "grid_worker")
    body = client.get(f"/areas/{tree.grids[0].code}/").content.decode()
    assert tree.compounds[0].name in body
    assert "1号楼" in body and "2号楼" in body


def test_htmx_pagination_returns_only_the_children_partial(client: Client, tree: AreaTree, personas: dict) -> None:
    login(client, "admin")
    response = client.get(f"/areas/{tree.district.code}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="children")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="children"' in body
    assert "<html" not in body


def test_export_contains_only_the_visible_subtree(client: Client, tree: AreaTree, personas: dict) -> None:
    login(client, "community_staff")
    response = client.get(f"/areas/{tree.communities[0].code}/export.geojson")
    assert response.status_code == 200
    codes = {feature["properties"]["code"] for feature in response.json()["features"]}
    assert codes == {tree.communities[0].code, tree.grids[0].code, tree.grids[1].code}


def test_user_without_assignments_sees_an_empty_state(client: Client, tree: AreaTree) -> None:
    from gridgov.testing.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get("/areas/")
    assert response.status_code == 200
    assert "还没有任何区域的查看权限" in response.content.decode()
