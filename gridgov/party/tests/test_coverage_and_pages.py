"""Coverage figures, the pages and the API, and their scope."""

from __future__ import annotations

from datetime import date

import pytest
from django.db.models import Q
from django.test import Client
from django.urls import reverse

from gridgov.areas.models import Building, Compound
from gridgov.party.choices import OrgKind, PlaqueStatus, Post
from gridgov.party.models import LeadHouseholdCover, PartyMember, PartyOrg
from gridgov.party.selectors import coverage_for_area
from gridgov.party.services import grid_responsibility_assign, member_appoint, org_create, plaque_set
from gridgov.registry.models import Household
from gridgov.testing.party import bearer, build_structure, make_households

pytestmark = pytest.mark.django_db


def _direct_counts(path: str) -> dict[str, int]:
    compounds = Compound.objects.filter(grid__path__startswith=path)
    buildings = Building.objects.filter(grid__path__startswith=path)
    households = Household.objects.filter(grid__path__startswith=path, moved_out_on__isnull=True)
    covered_ids = set(LeadHouseholdCover.objects.values_list("household_id", flat=True)) | set(
        PartyOrg.objects.filter(kind=OrgKind.LEAD_HOUSEHOLD).values_list("household_id", flat=True)
    )
    return {
        "compounds": compounds.count(),
        "compounds_covered": sum(
            1 for c in compounds if c.party_orgs.filter(kind__in=["compound_branch", "joint_branch"]).exists()
        ),
        "buildings": buildings.count(),
        "buildings_covered": sum(1 for b in buildings if b.party_orgs.filter(kind="building_group").exists()),
        "households": households.count(),
        "households_covered": sum(1 for h in households if h.pk in covered_ids),
    }


def test_coverage_figures_equal_a_direct_count_at_every_level(tree, django_assert_max_num_queries):
    # given a structure in compound 0 and a bare second compound with households
    build_structure(tree, households=16, covered=12)
    make_households(tree.buildings[2], 5, start=900)
    make_households(tree.buildings[6], 3, start=950)  # another community
    for area in (tree.communities[0], tree.towns[0], tree.district):
        # when coverage is computed
        with django_assert_max_num_queries(9):
            coverage = coverage_for_area(area)
            list(coverage.gap_compounds)
        # then every figure equals the direct count
        direct = _direct_counts(area.path)
        for name, value in direct.items():
            assert getattr(coverage.total, name) == value, (area.level, name)
        assert sum(row.households for row in coverage.rows) == direct["households"]
    district = coverage_for_area(tree.district)
    assert district.total.households_covered == 13  # 12 covered + the lead household itself
    assert district.total.compounds_covered == 1 and district.total.compounds == 8
    assert [row.name for row in district.rows] == [t.name for t in tree.towns]
    assert len(district.gap_compounds) == 7
    assert len(district.grids_without_responsibility) == 8


def test_coverage_query_count_does_not_grow_with_the_data(tree, django_assert_max_num_queries):
    build_structure(tree)
    for building in tree.buildings[2:8]:
        make_households(building, 4)
    with django_assert_max_num_queries(9):
        coverage_for_area(tree.district)


def test_coverage_page_and_api_are_scoped(client: Client, tree, personas):
    build_structure(tree)
    town_staff, outsider = personas["town_staff"], personas["outsider"]
    client.force_login(town_staff)
    page = client.get(reverse("party:coverage"), {"area": tree.communities[0].code})
    assert page.status_code == 200
    assert "党组织覆盖情况" in page.content.decode()
    client.force_login(outsider)
    assert client.get(reverse("party:coverage"), {"area": tree.communities[0].code}).status_code == 404
    api = client.get("/api/v1/party/coverage", {"area": tree.communities[0].code}, **bearer(outsider))
    assert api.status_code == 404
    ok = client.get("/api/v1/party/coverage", {"area": tree.towns[0].code}, **bearer(town_staff))
    assert ok.status_code == 200
    body = ok.json()
    assert body["total"]["compounds_covered"] == 1
    assert body["total"]["households_covered"] == 13


def test_organisation_pages_and_api_are_scoped_and_names_need_people_access(client: Client, tree, personas):
    structure = build_structure(tree)
    member_appoint(actor=None, org=structure.branch, name="钱书记", post=Post.SECRETARY, term_start=date(2026, 1, 1))
    detail = reverse("party:org_detail", args=[structure.branch.pk])
    # given the community staff: the page lists the name
    client.force_login(personas["community_staff"])
    assert "钱书记" in client.get(detail).content.decode()
    # a leader (areas but no people) sees the branch but not the name
    client.force_login(personas["leader"])
    page = client.get(detail).content.decode()
    assert "1号小区党支部" in page and "钱书记" not in page
    # out-of-scope staff get 404 on page and API
    client.force_login(personas["outsider"])
    assert client.get(detail).status_code == 404
    assert client.get(reverse("party:org_plaque", args=[structure.lead.pk])).status_code == 404
    outsider_api = client.get(
        "/api/v1/party/organisations", {"area": tree.communities[0].code}, **bearer(personas["outsider"])
    )
    assert outsider_api.status_code == 404
    own = client.get("/api/v1/party/organisations", **bearer(personas["outsider"])).json()
    assert own["items"] == []
    listed = client.get("/api/v1/party/organisations", **bearer(personas["town_staff"])).json()
    assert {item["kind"] for item in listed["items"]} == set(OrgKind.values) - {"joint_branch"}
    assert all("钱书记" not in str(item) for item in listed["items"])


def test_tree_page_and_printable_plaque(client: Client, tree, personas):
    structure = build_structure(tree)
    plaque_set(actor=None, org=structure.lead, status=PlaqueStatus.HUNG, on=date(2026, 6, 1))
    grid_responsibility_assign(actor=None, grid=tree.grids[0], org=structure.branch)
    client.force_login(personas["grid_worker"])
    tree_page = client.get(reverse("party:org_list")).content.decode()
    assert "1号楼党员中心户" in tree_page and "已挂牌亮户" in tree_page
    plaque = client.get(reverse("party:org_plaque", args=[structure.lead.pk])).content.decode()
    assert "党员中心户" in plaque and "1号小区党支部" in plaque and "12 户" in plaque


def test_appointing_and_ending_a_term_through_the_page(client: Client, tree, personas):
    structure = build_structure(tree)
    client.force_login(personas["community_staff"])
    response = client.post(
        reverse("party:org_member_appoint", args=[structure.branch.pk]),
        {"name": "孙委员", "post": Post.COMMITTEE_MEMBER, "source": "two_committees", "term_start": "2026-01-01"},
    )
    assert response.status_code == 302
    member = PartyMember.objects.get(name="孙委员")
    client.post(reverse("party:member_end_term", args=[member.pk]), {"ended_on": "2026-09-01"})
    member.refresh_from_db()
    assert member.ended_on == date(2026, 9, 1)
    # the outsider cannot end anyone's term
    client.force_login(personas["outsider"])
    assert client.post(reverse("party:member_end_term", args=[member.pk]), {}).status_code == 404
    assert PartyMember.objects.filter(Q(pk=member.pk) & Q(ended_on=date(2026, 9, 1))).exists()


def test_dissolved_branch_frees_its_compound(tree):
    structure = build_structure(tree)
    PartyOrg.objects.filter(pk=structure.branch.pk).update(dissolved_on=date(2026, 7, 1))
    assert coverage_for_area(tree.communities[0]).total.compounds_covered == 0
    org_create(
        actor=None,
        kind=OrgKind.COMPOUND_BRANCH,
        name="新支部",
        parent=structure.committee,
        compounds=[tree.compounds[0]],
    )
    assert coverage_for_area(tree.communities[0]).total.compounds_covered == 1


def test_staff_build_the_tree_and_assign_a_grid_through_the_pages(client: Client, tree, personas):
    # given a committee and households in the first building
    committee = org_create(
        actor=None, kind=OrgKind.COMMUNITY_COMMITTEE, name="第1社区党委", community=tree.communities[0]
    )
    homes = make_households(tree.buildings[0], 14)
    client.force_login(personas["community_staff"])
    # when staff create a branch for a compound of another community
    client.post(
        reverse("party:org_child_create", args=[committee.pk]),
        {"kind": "compound_branch", "name": "外社区支部", "compounds": [tree.compounds[2].pk]},
    )
    # then it is refused (the compound is not offered under this committee)
    assert not PartyOrg.objects.filter(name="外社区支部").exists()
    # when they create a branch for their own compound, then a lead household under it
    response = client.post(
        reverse("party:org_child_create", args=[committee.pk]),
        {"kind": "compound_branch", "name": "1号小区党支部", "compounds": [tree.compounds[0].pk]},
    )
    branch = PartyOrg.objects.get(name="1号小区党支部")
    assert response["Location"] == reverse("party:org_detail", args=[branch.pk])
    too_few = client.post(
        reverse("party:org_child_create", args=[branch.pk]),
        {"kind": "lead_household", "name": "中心户", "household": homes[0].pk, "covered": [h.pk for h in homes[1:4]]},
        follow=True,
    )
    assert "10–30" in too_few.content.decode()
    client.post(
        reverse("party:org_child_create", args=[branch.pk]),
        {"kind": "lead_household", "name": "中心户", "household": homes[0].pk, "covered": [h.pk for h in homes[1:14]]},
    )
    assert PartyOrg.objects.get(name="中心户").covers.count() == 13
    # and they make the branch responsible for grid 0
    client.post(reverse("party:org_responsibility_assign", args=[branch.pk]), {"grid": tree.grids[0].pk})
    assert coverage_for_area(tree.communities[0]).grids_without_responsibility == [tree.grids[1]]
    # the outsider cannot post there at all
    client.force_login(personas["outsider"])
    assert client.post(reverse("party:org_child_create", args=[branch.pk]), {}).status_code == 404


def test_openapi_documents_the_party_and_council_read_endpoints(client: Client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/party/organisations",
        "/api/v1/party/coverage",
        "/api/v1/council/meetings",
        "/api/v1/council/meetings/{meeting_id}",
        "/api/v1/council/actions",
    ):
        assert "404" in paths[path]["get"]["responses"] or path.endswith(("meetings", "actions")), path
