"""Visits, move-outs and deaths on the household card, through the pages and the services."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from gridgov.accounts.models import AuditEvent, User
from gridgov.registry.models import Household, HouseholdVisit, Resident
from gridgov.registry.selectors import household_members, household_visits, resident_list_for_user
from gridgov.registry.services import (
    ResidentSpec,
    household_move_out,
    household_visit_record,
    resident_move_out,
    resident_record_death,
    resident_register,
)
from gridgov.registry.tests.conftest import RegistryData, make_id_number

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
SPOUSE_ID = make_id_number(2, male=False, birth="19820315")


def as_user(client: Client, username: str) -> User:
    user = User.objects.get(username=username)
    client.force_login(user)
    return user


def today() -> date:
    return timezone.localdate()


def iso(day: date) -> str:
    return day.isoformat()


def card(client: Client, household: Household) -> str:
    response = client.get(f"/registry/households/{household.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def spouse_of(registry: RegistryData) -> Resident:
    return Resident.objects.get(household=registry.household_a, relation="spouse")


# ---------------------------------------------------------------------- visits


def test_a_visit_is_recorded_and_shown_on_the_card(client: Client, registry: RegistryData, personas: dict) -> None:
    # given the grid worker on the card of a household of their grid
    worker = as_user(client, "grid_worker")
    assert "暂无走访记录" in card(client, registry.household_a)
    # when they record a visit through the HTMX form
    response = client.post(
        f"/registry/households/{registry.household_a.pk}/visits/",
        {"visited_on": iso(today()), "note": "入户核实人员情况，老人身体良好"},
        headers=HTMX,
    )
    # then the visits section comes back with the visit, its date and the visitor's name
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="household-visits"' in body and "<html" not in body
    assert "已记录走访" in body
    assert "入户核实人员情况，老人身体良好" in body
    assert worker.full_name in body and iso(today()) in body
    # and the visit is stored, audited and on the card
    visit = HouseholdVisit.objects.get(household=registry.household_a)
    assert visit.visitor == worker
    assert AuditEvent.objects.filter(action="household_visit_record", object_id=str(registry.household_a.pk)).exists()
    assert "入户核实人员情况，老人身体良好" in card(client, registry.household_a)


def test_a_visit_without_htmx_redirects_to_the_card_with_a_message(
    client: Client, registry: RegistryData, personas: dict
) -> None:
    as_user(client, "community_staff")
    response = client.post(
        f"/registry/households/{registry.household_a.pk}/visits/",
        {"visited_on": iso(today()), "note": "电话回访"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/registry/households/{registry.household_a.pk}/"
    body = response.content.decode()
    assert "已记录走访" in body and "电话回访" in body


def test_visits_are_listed_latest_first(registry: RegistryData, personas: dict) -> None:
    worker = User.objects.get(username="grid_worker")
    for days_ago, note in [(10, "十天前"), (1, "昨天"), (5, "五天前")]:
        household_visit_record(
            actor=worker, household=registry.household_a, visited_on=today() - timedelta(days=days_ago), note=note
        )
    assert [visit.note for visit in household_visits(registry.household_a)] == ["昨天", "五天前", "十天前"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"visited_on": "", "note": "入户走访"}, "请填写走访日期"),
        ({"visited_on": "今天", "note": "入户走访"}, "日期格式不正确"),
        ({"note": "   "}, "请填写走访情况"),
        ({"note": "超" * 2001}, "走访情况不能超过2000个字"),
        ({"visited_on": "tomorrow", "note": "入户走访"}, "走访日期不能晚于今天"),
    ],
)
def test_a_bad_visit_is_refused_in_chinese_and_nothing_is_written(
    client: Client, registry: RegistryData, personas: dict, data: dict, message: str
) -> None:
    # given the grid worker
    as_user(client, "grid_worker")
    data = {"visited_on": iso(today()), **data}
    if data["visited_on"] == "tomorrow":
        data["visited_on"] = iso(today() + timedelta(days=1))
    # when the form is sent with an empty note, a future date, …
    response = client.post(f"/registry/households/{registry.household_a.pk}/visits/", data, headers=HTMX)
    # then the section comes back with the Chinese message, and nothing is written
    assert message in response.content.decode()
    assert not HouseholdVisit.objects.exists()
    assert not AuditEvent.objects.filter(action="household_visit_record").exists()


def test_the_visit_service_checks_note_and_date(registry: RegistryData, personas: dict) -> None:
    worker = User.objects.get(username="grid_worker")
    with pytest.raises(ValidationError, match="请填写走访情况"):
        household_visit_record(actor=worker, household=registry.household_a, visited_on=today(), note="  ")
    with pytest.raises(ValidationError, match="不能超过2000个字"):
        household_visit_record(actor=worker, household=registry.household_a, visited_on=today(), note="超" * 2001)
    with pytest.raises(ValidationError, match="走访日期不能晚于今天"):
        household_visit_record(
            actor=worker, household=registry.household_a, visited_on=today() + timedelta(days=1), note="入户走访"
        )
    assert not HouseholdVisit.objects.exists()
    # 2,000 characters exactly are fine
    household_visit_record(actor=worker, household=registry.household_a, visited_on=today(), note="好" * 2000)


# ----------------------------------------------------------------- move-outs


def test_moving_out_a_member_removes_them_from_card_and_list_and_keeps_the_row(
    client: Client, registry: RegistryData, personas: dict
) -> None:
    # given the spouse on the card and in the resident list
    worker = as_user(client, "grid_worker")
    spouse = spouse_of(registry)
    assert "李秀英" in card(client, registry.household_a)
    # when the worker moves her out
    response = client.post(
        f"/registry/residents/{spouse.pk}/move-out/",
        {"moved_out_on": iso(today()), "reason": "婚嫁迁往外地"},
        follow=True,
    )
    # then the card says so and no longer lists her; the list counts one member
    body = response.content.decode()
    assert "已为李秀英办理迁出" in body
    assert "李秀英" not in body.replace("已为李秀英办理迁出", "")
    assert spouse not in resident_list_for_user(worker)
    assert list(household_members(registry.household_a)) == [registry.head_a]
    listing = client.get("/registry/").content.decode()
    assert registry.household_a.address in listing
    # and her row stays with the date, the reason in the audit row
    spouse.refresh_from_db()
    assert spouse.moved_out_on == today()
    audit = AuditEvent.objects.get(action="resident_move_out", object_id=str(spouse.pk))
    assert audit.detail["reason"] == "婚嫁迁往外地"
    assert audit.actor == worker


def test_the_same_id_can_be_registered_elsewhere_after_moving_out(registry: RegistryData, personas: dict) -> None:
    # given the spouse, registered in household A
    worker = User.objects.get(username="grid_worker")
    spouse = spouse_of(registry)
    again = ResidentSpec(
        household=registry.household_b, name="李秀英", id_number=SPOUSE_ID, relation="spouse", phone="13900002222"
    )
    # when she is registered in household B while still current, it is refused
    with pytest.raises(ValidationError, match="身份证号已登记在其他户中"):
        resident_register(actor=worker, spec=again)
    # when she has moved out of A
    resident_move_out(actor=worker, resident=spouse, moved_out_on=today(), reason="迁往本县其他网格")
    # then the same ID number registers in B, and both rows exist
    moved_in = resident_register(actor=worker, spec=again)
    assert moved_in.household == registry.household_b
    assert Resident.objects.filter(id_index=spouse.id_index).count() == 2


def test_moving_out_the_head_needs_a_new_head_while_others_remain(
    client: Client, registry: RegistryData, personas: dict
) -> None:
    # given a household with a head and a spouse
    as_user(client, "grid_worker")
    url = f"/registry/residents/{registry.head_a.pk}/move-out/"
    # when the head is moved out without choosing a new head
    response = client.post(url, {"moved_out_on": iso(today()), "reason": "外出务工落户"}, follow=True)
    # then it is refused with a clear message and nothing changes
    assert "请先指定新户主" in response.content.decode()
    registry.head_a.refresh_from_db()
    assert registry.head_a.moved_out_on is None
    assert not AuditEvent.objects.filter(action="resident_move_out").exists()
    # when the spouse is chosen as the new head
    spouse = spouse_of(registry)
    client.post(url, {"moved_out_on": iso(today()), "reason": "外出务工落户", "new_head": spouse.pk})
    # then the head has moved out and the spouse heads the household, in the list too
    registry.head_a.refresh_from_db()
    spouse.refresh_from_db()
    assert registry.head_a.moved_out_on == today()
    assert spouse.relation == "head"
    listing = client.get("/registry/?q=李秀英").content.decode()
    assert "李秀英" in listing


def test_the_new_head_must_be_another_current_member_of_the_household(
    client: Client, registry: RegistryData, personas: dict
) -> None:
    # given the head of household A, and the head of household B (also in the worker's scope via community staff)
    as_user(client, "community_staff")
    url = f"/registry/residents/{registry.head_a.pk}/move-out/"
    # when a member of another household is named as new head
    response = client.post(
        url, {"moved_out_on": iso(today()), "reason": "迁出", "new_head": registry.head_b.pk}, follow=True
    )
    # then it is refused and nobody changes
    assert "新户主必须是本户其他在册成员" in response.content.decode()
    registry.head_a.refresh_from_db()
    registry.head_b.refresh_from_db()
    assert registry.head_a.moved_out_on is None
    assert registry.head_b.relation == "head"


def test_the_last_member_may_move_out_without_a_new_head(registry: RegistryData, personas: dict) -> None:
    worker = User.objects.get(username="community_staff")
    resident_move_out(actor=worker, resident=registry.head_b, moved_out_on=today(), reason="迁往外地")
    assert not household_members(registry.household_b).exists()


def test_move_out_dates_are_checked(registry: RegistryData, personas: dict) -> None:
    worker = User.objects.get(username="grid_worker")
    spouse = spouse_of(registry)
    with pytest.raises(ValidationError, match="迁出日期不能晚于今天"):
        resident_move_out(actor=worker, resident=spouse, moved_out_on=today() + timedelta(days=1), reason="迁出")
    with pytest.raises(ValidationError, match="迁出日期不能早于出生日期"):
        resident_move_out(actor=worker, resident=spouse, moved_out_on=date(1982, 3, 14), reason="迁出")
    spouse.moved_in_on = date(2010, 5, 1)
    spouse.save()
    with pytest.raises(ValidationError, match="迁出日期不能早于迁入日期"):
        resident_move_out(actor=worker, resident=spouse, moved_out_on=date(2010, 4, 30), reason="迁出")
    with pytest.raises(ValidationError, match="请填写迁出原因"):
        resident_move_out(actor=worker, resident=spouse, moved_out_on=today(), reason=" ")
    spouse.refresh_from_db()
    assert spouse.moved_out_on is None
    # and a person cannot move out twice
    resident_move_out(actor=worker, resident=spouse, moved_out_on=today(), reason="迁出")
    with pytest.raises(ValidationError, match="已迁出或已登记死亡"):
        resident_move_out(actor=worker, resident=spouse, moved_out_on=today(), reason="迁出")


# -------------------------------------------------------------------- deaths


def test_a_death_is_recorded(client: Client, registry: RegistryData, personas: dict) -> None:
    # given the town staff (people scope over the whole town) on the card
    as_user(client, "town_staff")
    spouse = spouse_of(registry)
    url = f"/registry/residents/{spouse.pk}/death/"
    # when a future date is sent, it is refused
    refused = client.post(url, {"died_on": iso(today() + timedelta(days=1))}, follow=True)
    assert "死亡日期不能晚于今天" in refused.content.decode()
    spouse.refresh_from_db()
    assert spouse.died_on is None
    # when the death is recorded
    yesterday = today() - timedelta(days=1)
    body = client.post(url, {"died_on": iso(yesterday)}, follow=True).content.decode()
    # then the card no longer lists her, and her row keeps the date
    assert "已登记李秀英死亡" in body
    assert "李秀英" not in body.replace("已登记李秀英死亡", "")
    spouse.refresh_from_db()
    assert spouse.died_on == yesterday and spouse.moved_out_on is None
    assert AuditEvent.objects.filter(action="resident_record_death", object_id=str(spouse.pk)).exists()
    # and her ID number may be registered again (e.g. a corrected record)
    assert not Resident.objects.filter(id_index=spouse.id_index, died_on__isnull=True).exists()


def test_the_death_of_the_head_hands_over_to_a_new_head(registry: RegistryData, personas: dict) -> None:
    worker = User.objects.get(username="grid_worker")
    spouse = spouse_of(registry)
    with pytest.raises(ValidationError, match="请先指定新户主"):
        resident_record_death(actor=worker, resident=registry.head_a, died_on=today())
    resident_record_death(actor=worker, resident=registry.head_a, died_on=today(), new_head=spouse)
    spouse.refresh_from_db()
    assert spouse.relation == "head"
    assert list(household_members(registry.household_a)) == [spouse]


# --------------------------------------------------------- whole household


def test_moving_out_the_whole_household_removes_it_from_the_list(
    client: Client, registry: RegistryData, personas: dict
) -> None:
    # given the household in the list
    as_user(client, "grid_worker")
    assert registry.household_a.address in client.get("/registry/").content.decode()
    # when the whole household moves out
    response = client.post(
        f"/registry/households/{registry.household_a.pk}/move-out/",
        {"moved_out_on": iso(today()), "reason": "整户迁往外省"},
        follow=True,
    )
    # then the list page says so and no longer lists it
    assert response.redirect_chain[-1][0] == "/registry/"
    body = response.content.decode()
    assert "已整户迁出" in body
    assert "张建国" not in body
    # and the household and every member keep their rows with the date
    registry.household_a.refresh_from_db()
    assert registry.household_a.moved_out_on == today()
    assert set(Resident.objects.filter(household=registry.household_a).values_list("moved_out_on", flat=True)) == {
        today()
    }
    audit = AuditEvent.objects.get(action="household_move_out", object_id=str(registry.household_a.pk))
    assert len(audit.detail["residents"]) == 2
    # and its card shows the notice without any action
    moved = card(client, registry.household_a)
    assert "整户迁出，以下为迁出前的记录" in moved
    assert "记录走访" not in moved and "办理整户迁出" not in moved


def test_a_moved_out_household_refuses_a_second_move_out_and_visits(registry: RegistryData, personas: dict) -> None:
    worker = User.objects.get(username="grid_worker")
    household_move_out(actor=worker, household=registry.household_a, moved_out_on=today())
    with pytest.raises(ValidationError, match="该户已整户迁出"):
        household_move_out(actor=worker, household=registry.household_a, moved_out_on=today())
    with pytest.raises(ValidationError, match="不能再登记走访"):
        household_visit_record(actor=worker, household=registry.household_a, visited_on=today(), note="走访")


def test_whole_household_move_out_date_is_checked(client: Client, registry: RegistryData, personas: dict) -> None:
    as_user(client, "grid_worker")
    response = client.post(
        f"/registry/households/{registry.household_a.pk}/move-out/",
        {"moved_out_on": "1981-01-01"},
        follow=True,
    )
    assert "迁出日期不能早于李秀英的出生日期" in response.content.decode()
    registry.household_a.refresh_from_db()
    assert registry.household_a.moved_out_on is None
    assert not Resident.objects.filter(moved_out_on__isnull=False).exists()


# ------------------------------------------------------------------- scope


def _endpoints(registry: RegistryData, *, in_b: bool) -> list[tuple[str, dict]]:
    household = registry.household_b if in_b else registry.household_a
    resident = registry.head_b if in_b else spouse_of(registry)
    day = iso(today())
    return [
        (f"/registry/households/{household.pk}/visits/", {"visited_on": day, "note": "走访"}),
        (f"/registry/households/{household.pk}/move-out/", {"moved_out_on": day}),
        (f"/registry/residents/{resident.pk}/move-out/", {"moved_out_on": day, "reason": "迁出"}),
        (f"/registry/residents/{resident.pk}/death/", {"died_on": day}),
    ]


@pytest.mark.parametrize(
    ("username", "in_b"),
    [
        ("grid_worker", True),  # grid 0 worker on a household of grid 1
        ("outsider", False),  # staff of the other town
        ("admin", False),  # no people scope at all
        ("leader", False),  # likewise
        ("handler", False),  # department handler
    ],
)
def test_out_of_scope_users_get_404_on_every_lifecycle_endpoint_and_nothing_changes(
    client: Client, registry: RegistryData, personas: dict, username: str, in_b: bool
) -> None:
    # given a user whose people scope does not cover the household
    as_user(client, username)
    for url, data in _endpoints(registry, in_b=in_b):
        # when they post to any lifecycle endpoint, HTMX or not
        assert client.post(url, data).status_code == 404, url
        assert client.post(url, data, headers=HTMX).status_code == 404, url
    # then nothing was written
    assert not HouseholdVisit.objects.exists()
    assert not Household.objects.filter(moved_out_on__isnull=False).exists()
    assert not Resident.objects.filter(moved_out_on__isnull=False).exists()
    assert not Resident.objects.filter(died_on__isnull=False).exists()
    assert not AuditEvent.objects.filter(
        action__in=["household_visit_record", "household_move_out", "resident_move_out", "resident_record_death"]
    ).exists()


def test_lifecycle_endpoints_accept_only_post(client: Client, registry: RegistryData, personas: dict) -> None:
    as_user(client, "grid_worker")
    for url, _data in _endpoints(registry, in_b=False):
        assert client.get(url).status_code == 405


def test_the_card_offers_the_actions_and_the_new_head_choice(
    client: Client, registry: RegistryData, personas: dict
) -> None:
    as_user(client, "grid_worker")
    body = card(client, registry.household_a)
    assert "走访记录" in body and "记录走访" in body
    assert f"/registry/residents/{registry.head_a.pk}/move-out/" in body
    assert f"/registry/residents/{registry.head_a.pk}/death/" in body
    assert "办理整户迁出" in body
    # the head's forms ask for a new head among the others
    assert 'name="new_head"' in body


def test_a_former_members_name_no_longer_finds_the_household(
    client: Client, registry: RegistryData, personas: dict
) -> None:
    from datetime import date

    from gridgov.registry.services import resident_move_out

    # given the spouse of household_a moved out
    spouse = registry.household_a.members.get(name="李秀英")
    resident_move_out(actor=None, resident=spouse, moved_out_on=date(2026, 1, 1), reason="迁往外地")
    client.force_login(User.objects.get(username="grid_worker"))
    # when the grid worker searches for her name, the household is not found
    assert registry.household_a.address not in client.get("/registry/?q=李秀英").content.decode()
    # but the head's name still finds it
    assert registry.household_a.address in client.get("/registry/?q=张建国").content.decode()


# ---------------------------------------------------------- re-gridding (网格调整)


def test_households_follow_their_building_to_its_new_grid_and_micro_grid(registry: RegistryData, tree) -> None:
    # given household A in building 0 of grid 0, and household B (no building) in grid 1
    from gridgov.areas.choices import AreaLevel
    from gridgov.areas.models import Building
    from gridgov.areas.services import area_create
    from gridgov.registry.services import households_follow_buildings

    building = tree.buildings[0]
    microgrid = area_create(
        actor=None, level=AreaLevel.MICROGRID, code=tree.grids[1].code + "901", name="一号微网格", parent=tree.grids[1]
    )
    # when the building is moved to grid 1's micro-grid and its households follow
    Building.objects.filter(pk=building.pk).update(grid=tree.grids[1], microgrid=microgrid)
    updated = households_follow_buildings(building_ids=[building.pk])
    # then household A is in grid 1 and its micro-grid; household B is untouched
    registry.household_a.refresh_from_db()
    registry.household_b.refresh_from_db()
    assert updated == 1
    assert (registry.household_a.grid_id, registry.household_a.microgrid_id) == (tree.grids[1].pk, microgrid.pk)
    assert (registry.household_b.grid_id, registry.household_b.microgrid_id) == (tree.grids[1].pk, None)
    assert households_follow_buildings(building_ids=[]) == 0
