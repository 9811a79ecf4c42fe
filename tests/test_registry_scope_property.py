"""Property test of people's-data scope: random role assignments over the test
county never let a household out of scope through the list page, the card,
the API list or the API detail — and never hide one in scope.

The oracle walks parent links of the household's grid and compares with the
assigned areas; it does not use `gridgov.accounts.scope`.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgov.accounts.choices import ROLE_CAPABILITIES, Capability, Role
from gridgov.accounts.services import api_token_issue, department_create, role_assign
from gridgov.areas.models import Area
from gridgov.registry.identifiers import id_check_character
from gridgov.registry.models import Household
from gridgov.registry.services import HouseholdSpec, ResidentSpec, household_create, resident_register
from gridgov.testing.factories import AreaTree, UserFactory

pytestmark = pytest.mark.django_db

PEOPLE_ROLES = frozenset(role for role, caps in ROLE_CAPABILITIES.items() if Capability.VIEW_PEOPLE in caps)


def _ancestors(area: Area, by_id: dict[int, Area]) -> set[int]:
    ids = set()
    node: Area | None = area
    while node is not None:
        ids.add(node.pk)
        node = by_id.get(node.parent_id) if node.parent_id else None
    return ids


@pytest.fixture
def households(tree: AreaTree) -> list[Household]:
    created = []
    for index, grid in enumerate(tree.grids):
        household = household_create(actor=None, spec=HouseholdSpec(grid=grid, address=f"性质测试{index}号"))
        first17 = f"37028119800101{index * 2 + 1:03d}"
        resident_register(
            actor=None,
            spec=ResidentSpec(
                household=household, name=f"测试{index}", id_number=first17 + id_check_character(first17)
            ),
        )
        created.append(household)
    return created


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_household_leaks_through_pages_or_api(tree: AreaTree, households: list[Household], data: Any) -> None:
    areas = list(Area.objects.all())
    by_id = {area.pk: area for area in areas}
    with transaction.atomic():
        # given a user with 0–3 random role assignments on random nodes
        user = UserFactory()
        held: list[tuple[str, int]] = []
        for _ in range(data.draw(st.integers(0, 3))):
            role = data.draw(st.sampled_from(list(Role)))
            area = data.draw(st.sampled_from(areas))
            department = None
            if role == Role.DEPARTMENT_HANDLER:
                department = department_create(actor=None, area=area, code=f"P{user.pk}{len(held)}", name="测试部门")
            role_assign(actor=None, user=user, role=role, area=area, department=department)
            held.append((role, area.pk))
        people_areas = {area_id for role, area_id in held if role in PEOPLE_ROLES}
        expected = {h.pk for h in households if _ancestors(by_id[h.grid_id], by_id) & people_areas}
        client = Client()
        client.force_login(user)
        _, token = api_token_issue(actor=None, user=user)
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        # then every surface agrees with the oracle
        listing = client.get("/registry/").content.decode()
        api_ids = {item["id"] for item in client.get("/api/v1/households?page_size=100", **auth).json()["items"]}
        assert api_ids == expected
        for household in households:
            visible = household.pk in expected
            assert (household.address in listing) == visible, household.address
            assert client.get(f"/registry/households/{household.pk}/").status_code == (200 if visible else 404)
            assert client.get(f"/api/v1/households/{household.pk}", **auth).status_code == (200 if visible else 404)
        transaction.set_rollback(True)
