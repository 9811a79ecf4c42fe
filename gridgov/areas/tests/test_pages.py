from __future__ import annotations

import pytest
from django.test import Client

from gridgov.accounts.models import User
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db


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
    assert out_of_scope.content == missing.content


def test_children_geojson_is_scoped(client: Client, tree: AreaTree, personas: dict) -> None:
    login(client, "community_staff")
    inside = client.get(f"/areas/{tree.communities[0].code}/children.geojson")
    outside = client.get(f"/areas/{tree.communities[1].code}/children.geojson")
    assert inside.status_code == 200
    assert {f["properties"]["code"] for f in inside.json()["features"]} == {grid.code for grid in tree.grids[:2]}
    assert outside.status_code == 404
