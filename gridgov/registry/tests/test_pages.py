from __future__ import annotations

import pytest
from django.test import Client

from gridgov.accounts.choices import Role
from gridgov.accounts.models import User
from gridgov.registry.models import AccessLogEntry
from gridgov.registry.tests.conftest import RegistryData, make_id_number
from gridgov.testing.factories import AreaTree, make_user_with_role

pytestmark = pytest.mark.django_db

PLAIN_IDS = [make_id_number(1), make_id_number(2, male=False, birth="19820315"), make_id_number(3)]
PLAIN_PHONES = ["13800001111", "13900002222", "13700003333"]


def as_user(client: Client, username: str) -> Client:
    client.force_login(User.objects.get(username=username))
    return client


def assert_no_plaintext(body: str) -> None:
    for value in PLAIN_IDS + PLAIN_PHONES:
        assert value not in body


def test_grid_worker_sees_own_households_masked(client: Client, registry: RegistryData, personas: dict) -> None:
    # given the grid worker of grid 0
    as_user(client, "grid_worker")
    # when they open the household list
    body = client.get("/registry/").content.decode()
    # then only the household of their grid is listed, with its head, and no plaintext
    assert registry.household_a.address in body
    assert registry.household_b.address not in body
    assert "张建国" in body
    assert_no_plaintext(body)


def test_household_card_shows_masked_ids_and_phones(client: Client, registry: RegistryData, personas: dict) -> None:
    as_user(client, "grid_worker")
    body = client.get(f"/registry/households/{registry.household_a.pk}/").content.decode()
    assert "3702**********" in body
    assert "138****1111" in body
    assert "党员中心户" in body
    assert_no_plaintext(body)


def test_worker_of_another_grid_gets_404_and_the_attempt_is_logged(
    client: Client, tree: AreaTree, registry: RegistryData, personas: dict
) -> None:
    # given the grid worker of grid 0, and a household of grid 1 and one that does not exist
    as_user(client, "grid_worker")
    out_of_scope = client.get(f"/registry/households/{registry.household_b.pk}/")
    missing = client.get("/registry/households/999999/")
    # then both are the same 404, and the attempt on the real one is in the access log
    assert out_of_scope.status_code == missing.status_code == 404
    assert AccessLogEntry.objects.filter(
        action="denied", object_type="household", object_id=str(registry.household_b.pk)
    ).exists()
    # and the reveal endpoint and the search do not leak either
    assert (
        client.post(f"/registry/residents/{registry.head_b.pk}/reveal/", {"purpose": "核对身份信息"}).status_code == 404
    )
    search = client.get("/registry/?q=王小明").content.decode()
    assert registry.household_b.address not in search
    assert "共 0 户" in search


def test_outsider_town_staff_sees_nothing_of_the_first_town(
    client: Client, registry: RegistryData, personas: dict
) -> None:
    as_user(client, "outsider")
    body = client.get("/registry/").content.decode()
    assert "张建国" not in body and "王小明" not in body
    assert client.get(f"/registry/households/{registry.household_a.pk}/").status_code == 404


def test_reveal_needs_a_purpose_and_is_logged(client: Client, registry: RegistryData, personas: dict) -> None:
    as_user(client, "grid_worker")
    url = f"/registry/residents/{registry.head_a.pk}/reveal/"
    # when no purpose is given, nothing is revealed
    refused = client.post(url, {"purpose": ""})
    assert refused.status_code == 400
    assert "事由" in refused.content.decode()
    assert_no_plaintext(refused.content.decode())
    # when a purpose is given, the plaintext is shown once and logged with that purpose
    shown = client.post(url, {"purpose": "入户走访核对身份"})
    assert shown.status_code == 200
    assert PLAIN_IDS[0] in shown.content.decode()
    assert PLAIN_PHONES[0] in shown.content.decode()
    entry = AccessLogEntry.objects.get(action="reveal", object_id=str(registry.head_a.pk))
    assert entry.purpose == "入户走访核对身份"
    assert entry.actor_username == "grid_worker"


def test_town_staff_may_view_but_not_reveal(client: Client, registry: RegistryData, personas: dict) -> None:
    as_user(client, "town_staff")
    card = client.get(f"/registry/households/{registry.household_a.pk}/").content.decode()
    assert "张建国" in card
    assert "查看明文" not in card
    response = client.post(f"/registry/residents/{registry.head_a.pk}/reveal/", {"purpose": "核对身份信息"})
    assert response.status_code == 403
    assert_no_plaintext(response.content.decode())
    assert AccessLogEntry.objects.filter(action="denied", object_id=str(registry.head_a.pk)).exists()


def test_sensitive_tags_are_hidden_from_roles_without_the_grant(
    client: Client, tree: AreaTree, registry: RegistryData, personas: dict
) -> None:
    # the community-correction tag (特殊人群) is granted to grid workers, not to town staff
    as_user(client, "grid_worker")
    assert "社区矫正对象" in client.get(f"/registry/households/{registry.household_a.pk}/").content.decode()
    as_user(client, "town_staff")
    card = client.get(f"/registry/households/{registry.household_a.pk}/").content.decode()
    assert "社区矫正对象" not in card
    assert "退役军人" in card
    # and filtering by the hidden tag does not reveal who carries it
    listing = client.get("/registry/?tag=community_correction").content.decode()
    assert registry.household_a.address not in listing


def test_search_by_pinyin_initials_and_id_tail(client: Client, registry: RegistryData, personas: dict) -> None:
    as_user(client, "community_staff")
    assert registry.household_a.address in client.get("/registry/?q=zjg").content.decode()
    tail = PLAIN_IDS[2][-4:]
    body = client.get(f"/registry/?q={tail}").content.decode()
    assert registry.household_b.address in body
    assert registry.household_a.address not in body


def test_tag_rollup_counts_visible_tags(client: Client, tree: AreaTree, registry: RegistryData, personas: dict) -> None:
    as_user(client, "town_staff")
    body = client.get(f"/registry/areas/{tree.towns[0].code}/tags/").content.decode()
    assert "党员中心户" in body and "退役军人" in body
    assert "社区矫正对象" not in body
    # a department handler has no people scope: 404
    as_user(client, "handler")
    assert client.get(f"/registry/areas/{tree.towns[0].code}/tags/").status_code == 404


def test_admin_without_people_right_sees_an_explanation(client: Client, registry: RegistryData, personas: dict) -> None:
    as_user(client, "admin")
    body = client.get("/registry/").content.decode()
    assert "不能查看实有人口信息" in body
    assert "张建国" not in body


def test_list_page_query_count_is_bounded(
    client: Client, tree: AreaTree, registry: RegistryData, personas: dict, django_assert_max_num_queries
) -> None:
    user = make_user_with_role(Role.COMMUNITY_STAFF, tree.communities[0], username="busy_staff")
    client.force_login(user)
    with django_assert_max_num_queries(15):
        assert client.get("/registry/").status_code == 200


def test_grid_worker_filters_by_building(
    client: Client, tree: AreaTree, registry: RegistryData, personas: dict
) -> None:
    # given the grid worker, whose household_a is in the grid's first building
    as_user(client, "grid_worker")
    page = client.get("/registry/").content.decode()
    # then the building filter offers the grid's buildings
    assert f'value="{tree.buildings[0].pk}"' in page
    # when they pick the second building, household_a is not listed
    other = client.get(f"/registry/?building={tree.buildings[1].pk}").content.decode()
    assert registry.household_a.address not in other
    assert registry.household_a.address in client.get(f"/registry/?building={tree.buildings[0].pk}").content.decode()


def test_household_card_lists_the_head_first(client: Client, registry: RegistryData, personas: dict) -> None:
    from gridgov.registry.services import ResidentSpec, resident_register

    # given a child registered in household_a ("child" sorts before "head" alphabetically)
    resident_register(
        actor=None,
        spec=ResidentSpec(
            household=registry.household_a,
            name="张小宝",
            id_number=make_id_number(9, birth="20150601"),
            relation="child",
        ),
    )
    as_user(client, "grid_worker")
    body = client.get(f"/registry/households/{registry.household_a.pk}/").content.decode()
    # then the card reads head, spouse, child
    assert body.index("张建国") < body.index("李秀英") < body.index("张小宝")
