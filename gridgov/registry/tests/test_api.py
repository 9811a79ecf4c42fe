from __future__ import annotations

import pytest
from django.test import Client

from gridgov.accounts.models import User
from gridgov.accounts.services import api_token_issue
from gridgov.registry.tests.conftest import RegistryData
from gridgov.registry.tests.test_pages import assert_no_plaintext
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db


def bearer(username: str) -> dict[str, str]:
    _, raw = api_token_issue(actor=None, user=User.objects.get(username=username))
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_household_list_is_scoped_and_masked(client: Client, registry: RegistryData, personas: dict) -> None:
    response = client.get("/api/v1/households", **bearer("grid_worker"))
    assert response.status_code == 200
    data = response.json()
    assert [item["id"] for item in data["items"]] == [registry.household_a.pk]
    assert data["items"][0]["member_count"] == 2
    assert_no_plaintext(response.content.decode())


def test_household_detail_lists_members_masked_with_visible_tags(
    client: Client, registry: RegistryData, personas: dict
) -> None:
    worker = client.get(f"/api/v1/households/{registry.household_a.pk}", **bearer("grid_worker")).json()
    assert {m["name"] for m in worker["members"]} == {"张建国", "李秀英"}
    assert all(m["id_number_masked"].count("*") == 10 for m in worker["members"])
    assert any(t["code"] == "community_correction" for m in worker["members"] for t in m["tags"])
    # town staff are not granted the special-groups tags
    town = client.get(f"/api/v1/households/{registry.household_a.pk}", **bearer("town_staff")).json()
    assert not any(t["code"] == "community_correction" for m in town["members"] for t in m["tags"])


def test_out_of_scope_household_is_the_same_404_as_a_missing_one(
    client: Client, registry: RegistryData, personas: dict
) -> None:
    headers = bearer("grid_worker")
    out_of_scope = client.get(f"/api/v1/households/{registry.household_b.pk}", **headers)
    missing = client.get("/api/v1/households/999999", **headers)
    assert out_of_scope.status_code == missing.status_code == 404
    assert out_of_scope.json() == missing.json()


def test_resident_search_is_scoped(client: Client, tree: AreaTree, registry: RegistryData, personas: dict) -> None:
    inside = client.get("/api/v1/residents?q=王", **bearer("community_staff")).json()
    assert [item["name"] for item in inside["items"]] == ["王小明"]
    outside = client.get("/api/v1/residents?q=王", **bearer("outsider")).json()
    assert outside["items"] == []
    nobody = client.get("/api/v1/residents", **bearer("admin")).json()
    assert nobody["count"] == 0


def test_registry_operations_are_in_the_openapi_document(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/households", "/api/v1/households/{household_id}", "/api/v1/residents"} <= set(paths)
