"""Credits pages and API: scope 404, four eyes through the API, a resident's own ledger and appeal."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from gridgov.credits.choices import EntryStatus
from gridgov.credits.models import CreditEntry, RankingOptIn
from gridgov.testing.api import ApiClient
from gridgov.testing.credits import make_household, make_linked_resident
from gridgov.testing.images import jpeg_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client: Client) -> ApiClient:
    return ApiClient(client, "/api/v1/credits")


@pytest.fixture
def household(tree):
    return make_household(tree.grids[0], compound=tree.compounds[0])


def test_deduction_through_the_api_needs_four_eyes(api, personas, household):
    today = timezone.localdate().isoformat()
    # Given the grid worker records a 3-point award (no photo needed) and a deduction through the API
    award = api.post(
        personas["grid_worker"],
        f"/households/{household.pk}/entries",
        {"rule_code": "NEI-01", "points": 3, "occurred_on": today},
    )
    assert award.status_code == 201, award.content
    # A rule that requires a photo is refused with a Chinese message
    refused = api.post(
        personas["grid_worker"],
        f"/households/{household.pk}/entries",
        {"rule_code": "DOG-01", "points": -3, "occurred_on": today},
    )
    assert refused.status_code == 400 and "照片" in refused.json()["detail"]
    # When the recorder approves the award it counts
    assert api.post(personas["grid_worker"], f"/entries/{award.json()['id']}/approve").status_code == 200
    assert api.get(personas["grid_worker"], f"/households/{household.pk}").json()["balance"] == 3
    # Points outside the rule's range are refused
    outside = api.post(
        personas["grid_worker"],
        f"/households/{household.pk}/entries",
        {"rule_code": "NEI-01", "points": 50, "occurred_on": today},
    )
    assert outside.status_code == 400


def test_out_of_scope_staff_get_404_on_page_and_api(api, client, personas, household):
    # Given a household in town 0; the outsider works in town 1
    assert api.get(personas["outsider"], f"/households/{household.pk}").status_code == 404
    assert api.get(personas["outsider"], "/households/999999").status_code == 404
    assert (
        api.post(
            personas["outsider"],
            f"/households/{household.pk}/entries",
            {"rule_code": "NEI-01", "points": 3, "occurred_on": "2026-01-02"},
        ).status_code
        == 404
    )
    client.force_login(personas["outsider"])
    assert client.get(f"/credits/households/{household.pk}/").status_code == 404
    client.force_login(personas["grid_worker"])
    assert client.get(f"/credits/households/{household.pk}/").status_code == 200


def test_resident_sees_only_own_household_and_appeals(api, client, personas, tree, household):
    # Given an approved deduction on the resident's household, and an entry of another household
    other = make_household(tree.grids[0], compound=tree.compounds[0], head="李明", room="102")
    client.force_login(personas["grid_worker"])
    client.post(
        f"/credits/households/{household.pk}/",
        {
            "rule_code": "DOG-01",
            "points": -3,
            "occurred_on": timezone.localdate().isoformat(),
            "evidence": jpeg_upload(),
        },
    )
    entry = CreditEntry.objects.get(household=household)
    client.force_login(personas["community_staff"])
    client.post(f"/credits/entries/{entry.pk}/approve/")
    staff_page = client.get(f"/credits/households/{household.pk}/").content.decode()
    assert "已生效" in staff_page and "冲正" in staff_page and "-3" in staff_page
    other_entry = api.post(
        personas["grid_worker"],
        f"/households/{other.pk}/entries",
        {"rule_code": "NEI-01", "points": 3, "occurred_on": timezone.localdate().isoformat()},
    ).json()
    resident = make_linked_resident(household)
    # When the resident reads their ledger, they see their own entry only
    mine = api.get(resident, "/mine").json()
    assert mine["balance"] == -3 and [row["id"] for row in mine["entries"]] == [entry.pk]
    assert api.get(resident, f"/households/{other.pk}").status_code == 404
    # Appealing someone else's entry answers like an unknown one; their own is accepted
    assert (
        api.post(resident, f"/entries/{other_entry['id']}/appeal", {"reason": "这条不是我家的记录"}).status_code == 404
    )
    appealed = api.post(resident, f"/entries/{entry.pk}/appeal", {"reason": "狗绳在手上，照片角度问题"})
    assert appealed.status_code == 200 and appealed.json()["status"] == EntryStatus.APPEALED
    # And the resident's page shows the balance and the appeal
    client.force_login(resident)
    page = client.get("/credits/mine/").content.decode()
    assert "申诉中" in page and "李明" not in page


def test_ranking_page_shows_masked_opted_in_only(client, personas, tree, household):
    other = make_household(tree.grids[0], compound=tree.compounds[0], head="王小明", room="103")
    for target in (household, other):
        entry = CreditEntry.objects.create(
            household=target,
            kind="award",
            points=4,
            year=timezone.localdate().year,
            occurred_on=timezone.localdate(),
            recorded_by=personas["grid_worker"],
            recorded_at=timezone.now(),
            status=EntryStatus.APPROVED,
        )
        assert entry.pk
    RankingOptIn.objects.create(household=household, opted_in_at=timezone.now())
    client.force_login(personas["resident"])
    page = client.get(f"/credits/rankings/{tree.compounds[0].pk}/").content.decode()
    assert "张**" in page and "张建国" not in page and "王*" not in page
    client.force_login(personas["outsider"])
    assert client.get(f"/credits/rankings/{tree.compounds[0].pk}/").status_code == 404


def test_credit_operations_appear_in_openapi(api):
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/credits/households/{household_id}", "/api/v1/credits/mine", "/api/v1/credits/rankings"):
        assert path in paths


def test_closed_dog_case_proposes_a_pending_entry_through_the_page(client, personas, tree, household):
    from gridgov.cases.models import Case, Category
    from gridgov.testing.cases import submit_case

    # Given a closed 养犬管理 case in the grid worker's grid
    case = submit_case(personas["grid_worker"], tree.grids[0], category=Category.objects.get(code="0603"))
    Case.objects.filter(pk=case.pk).update(status="closed", closed_at=timezone.now(), close_reason="fixed")
    # The outsider cannot open its proposal page
    client.force_login(personas["outsider"])
    assert client.get(f"/credits/cases/{case.pk}/propose/").status_code == 404
    # When the grid worker proposes -3 points for the household
    client.force_login(personas["grid_worker"])
    assert case.number in client.get("/credits/").content.decode()
    client.post(f"/credits/cases/{case.pk}/propose/", {"household": household.pk, "points": -3})
    # Then a pending deduction linked to the case exists, and the case is no longer listed
    entry = CreditEntry.objects.get(source_case=case)
    assert entry.status == EntryStatus.PENDING and entry.points == -3 and entry.rule.code == "DOG-01"
    assert f"/credits/cases/{case.pk}/propose/" not in client.get("/credits/").content.decode()


def test_year_closes_through_the_api_and_then_refuses_entries(api, personas, tree, household):
    year = timezone.localdate().year - 1
    # Out-of-scope staff get 404, the county command closes the year
    assert api.post(personas["outsider"], f"/years/{year}/close?county_id={tree.district.pk}").status_code == 404
    closed = api.post(personas["county_command"], f"/years/{year}/close?county_id={tree.district.pk}")
    assert closed.status_code == 200, closed.content
    # When an entry dated in the closed year is recorded, it is refused with 409
    refused = api.post(
        personas["grid_worker"],
        f"/households/{household.pk}/entries",
        {"rule_code": "NEI-01", "points": 3, "occurred_on": f"{year}-12-01"},
    )
    assert refused.status_code == 409 and "已结算" in refused.json()["detail"]


def test_resident_redeems_on_own_page_and_cannot_overspend(client, personas, tree, household):
    from gridgov.credits.models import RedemptionItem

    CreditEntry.objects.create(
        household=household,
        kind="award",
        points=12,
        year=timezone.localdate().year,
        occurred_on=timezone.localdate(),
        recorded_by=personas["grid_worker"],
        recorded_at=timezone.now(),
        status=EntryStatus.APPROVED,
    )
    item = RedemptionItem.objects.create(area=tree.district, name="洗衣液", points_cost=10, stock=3)
    resident = make_linked_resident(household)
    client.force_login(resident)
    client.post(f"/credits/households/{household.pk}/redeem/", {"item": item.pk})
    client.post(f"/credits/households/{household.pk}/redeem/", {"item": item.pk})
    item.refresh_from_db()
    assert item.stock == 2
    page = client.get("/credits/mine/").content.decode()
    assert "积分不足" in page and ">2<" in page


def test_unlinked_resident_is_told_to_ask_for_a_link(api, client, personas):
    client.force_login(personas["resident"])
    response = client.get("/credits/", follow=True)
    assert response.redirect_chain[-1][0] == "/credits/mine/"
    assert "尚未关联住户" in response.content.decode()
    assert api.get(personas["resident"], "/mine").status_code == 404


def test_balances_of_a_grid_equal_the_sum_of_counting_entries(api, personas, tree, household):
    from gridgov.credits.services import credit_approve, credit_record, credit_reverse

    worker, staff = personas["grid_worker"], personas["community_staff"]
    today = timezone.localdate()
    kept = credit_approve(
        actor=worker,
        entry=credit_record(actor=worker, household=household, rule_code="NEI-01", points=4, occurred_on=today),
    )
    wrong = credit_approve(
        actor=worker,
        entry=credit_record(actor=worker, household=household, rule_code="COU-01", points=3, occurred_on=today),
    )
    credit_record(actor=worker, household=household, rule_code="NEI-01", points=2, occurred_on=today)  # pending
    reversal = credit_reverse(actor=staff, entry=wrong, note="录错了")
    credit_approve(actor=worker, entry=reversal)  # the second person
    rows = api.get(worker, "/households", grid_id=tree.grids[0].pk).json()
    assert [(row["household_id"], row["balance"]) for row in rows] == [(household.pk, kept.points)]
    assert api.get(personas["outsider"], "/households", grid_id=tree.grids[0].pk).status_code == 404


def test_county_command_settles_a_year_on_the_page(client, personas, tree):
    from gridgov.credits.models import CreditYearClosure

    year = timezone.localdate().year - 1
    client.force_login(personas["grid_worker"])
    assert "年度结算" not in client.get("/credits/").content.decode()
    assert client.post("/credits/years/close/", {"county": tree.district.pk, "year": year}).status_code == 404
    client.force_login(personas["county_command"])
    assert "年度结算" in client.get("/credits/").content.decode()
    client.post("/credits/years/close/", {"county": tree.district.pk, "year": year})
    assert CreditYearClosure.objects.filter(county=tree.district, year=year).exists()


def test_staff_link_a_portal_account_by_phone_and_the_resident_sees_the_household(client, personas, tree, household):
    from gridgov.testing.portal import make_resident

    resident = make_resident("13712340000", compound=tree.compounds[0])
    client.force_login(personas["grid_worker"])
    refused = client.post(f"/credits/households/{household.pk}/", {"link_phone": "13700000000"}, follow=True)
    assert "还没有登录过" in refused.content.decode()
    client.post(f"/credits/households/{household.pk}/", {"link_phone": "13712340000"})
    client.force_login(resident)
    assert household.address in client.get("/credits/mine/").content.decode()


def test_reversal_on_the_page_waits_for_a_second_person_through_the_api(api, client, personas, household):
    from gridgov.credits.services import credit_approve, credit_record

    worker, staff = personas["grid_worker"], personas["community_staff"]
    award = credit_approve(
        actor=worker,
        entry=credit_record(
            actor=worker, household=household, rule_code="NEI-01", points=4, occurred_on=timezone.localdate()
        ),
    )
    # When the community staff reverse the award on the household page
    client.force_login(staff)
    client.post(f"/credits/entries/{award.pk}/reverse/", {"note": "重复记录"})
    reversal = CreditEntry.objects.get(reverses=award)
    # Then the reversal is pending, listed for review, and the balance is unchanged
    assert reversal.status == EntryStatus.PENDING
    assert api.get(staff, f"/households/{household.pk}").json()["balance"] == 4
    assert f'id="entry-{reversal.pk}"' in client.get("/credits/").content.decode()
    # When the same person approves it on the page, a Chinese refusal is shown and nothing changes
    refused = client.post(f"/credits/entries/{reversal.pk}/approve/", follow=True)
    assert "另一名工作人员" in refused.content.decode()
    own_api = api.post(staff, f"/entries/{reversal.pk}/approve")
    assert own_api.status_code == 403 and "另一名工作人员" in own_api.json()["detail"]
    # Out-of-scope staff cannot approve it either
    assert api.post(personas["outsider"], f"/entries/{reversal.pk}/approve").status_code == 404
    assert api.get(staff, f"/households/{household.pk}").json()["balance"] == 4
    # When the grid worker approves it through the API, the balance drops
    approved = api.post(worker, f"/entries/{reversal.pk}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == EntryStatus.APPROVED
    assert api.get(staff, f"/households/{household.pk}").json()["balance"] == 0
