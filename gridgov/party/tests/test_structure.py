"""The organisation tree keeps to the areas it is bound to."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from gridgov.accounts.models import AuditEvent
from gridgov.party.choices import Employer, MemberSource, OrgKind, PlaqueStatus, Post
from gridgov.party.models import GridResponsibility, PartyMember
from gridgov.party.services import (
    grid_responsibility_assign,
    member_appoint,
    member_end_term,
    org_create,
    org_update,
    plaque_set,
)
from gridgov.registry.services import ResidentSpec, resident_register
from gridgov.testing.party import build_structure, make_households

pytestmark = pytest.mark.django_db


def test_compound_branch_outside_its_community_is_refused(tree):
    # given the party committee of community 0
    committee = org_create(actor=None, kind=OrgKind.COMMUNITY_COMMITTEE, name="党委", community=tree.communities[0])
    # when a branch is created under it for a compound of community 1 (grid 2)
    with pytest.raises(ValidationError, match="不在"):
        org_create(
            actor=None, kind=OrgKind.COMPOUND_BRANCH, name="外社区支部", parent=committee, compounds=[tree.compounds[2]]
        )
    # then nothing was created; a compound of its own community is accepted
    branch = org_create(
        actor=None, kind=OrgKind.COMPOUND_BRANCH, name="本社区支部", parent=committee, compounds=[tree.compounds[0]]
    )
    assert branch.area == tree.grids[0]
    assert AuditEvent.objects.filter(action="party_org_create", object_id=str(branch.pk)).exists()


def test_joint_branch_spanning_two_grids_sits_on_the_community_and_a_compound_has_one_branch(tree):
    committee = org_create(actor=None, kind=OrgKind.COMMUNITY_COMMITTEE, name="党委", community=tree.communities[0])
    joint = org_create(
        actor=None,
        kind=OrgKind.JOINT_BRANCH,
        name="联合党支部",
        parent=committee,
        compounds=[tree.compounds[0], tree.compounds[1]],
    )
    assert joint.area == tree.communities[0]
    with pytest.raises(ValidationError, match="只能有一个小区党组织"):
        org_create(
            actor=None, kind=OrgKind.COMPOUND_BRANCH, name="重复", parent=committee, compounds=[tree.compounds[1]]
        )


def test_wrong_parent_kind_is_refused(tree):
    committee = org_create(actor=None, kind=OrgKind.COMMUNITY_COMMITTEE, name="党委", community=tree.communities[0])
    with pytest.raises(ValidationError, match="上级组织类型"):
        org_create(
            actor=None, kind=OrgKind.BUILDING_GROUP, name="楼栋组", parent=committee, buildings=[tree.buildings[0]]
        )


def test_lead_household_must_cover_10_to_30_households_of_its_compound(tree):
    structure = build_structure(tree)
    other_building = tree.buildings[1]  # same compound, second building
    spare = make_households(other_building, 12, start=100)
    elsewhere = make_households(tree.buildings[2], 1, start=500)  # compound of grid 1
    group2 = org_create(
        actor=None, kind=OrgKind.BUILDING_GROUP, name="2号楼党小组", parent=structure.branch, buildings=[other_building]
    )
    # when too few households are covered
    with pytest.raises(ValidationError, match="10–30"):
        org_create(
            actor=None,
            kind=OrgKind.LEAD_HOUSEHOLD,
            name="中心户",
            parent=group2,
            household=spare[0],
            covered=spare[1:5],
        )
    # when one covered household is in another compound
    with pytest.raises(ValidationError, match="不在同一小区"):
        org_create(
            actor=None,
            kind=OrgKind.LEAD_HOUSEHOLD,
            name="中心户",
            parent=group2,
            household=spare[0],
            covered=[*spare[1:11], elsewhere[0]],
        )
    # when a covered household already has a lead household
    with pytest.raises(ValidationError, match="已由其他中心户联系"):
        org_create(
            actor=None,
            kind=OrgKind.LEAD_HOUSEHOLD,
            name="中心户",
            parent=group2,
            household=spare[0],
            covered=[*spare[1:11], structure.households[1]],
        )
    # when the lead household is outside the branch's compound
    with pytest.raises(ValidationError, match="不在所属党支部的小区内"):
        org_create(
            actor=None,
            kind=OrgKind.LEAD_HOUSEHOLD,
            name="中心户",
            parent=structure.branch,
            household=elsewhere[0],
            covered=spare[1:11],
        )
    # then eleven households of the same compound are accepted
    lead = org_create(
        actor=None, kind=OrgKind.LEAD_HOUSEHOLD, name="中心户", parent=group2, household=spare[0], covered=spare[1:12]
    )
    assert lead.covers.count() == 11
    assert lead.plaque_status == PlaqueStatus.PENDING


def test_changing_the_covered_households_keeps_the_rules(tree):
    structure = build_structure(tree, households=20, covered=10)
    with pytest.raises(ValidationError, match="10–30"):
        org_update(actor=None, org=structure.lead, covered=structure.households[1:5])
    org_update(actor=None, org=structure.lead, covered=structure.households[1:20])
    assert structure.lead.covers.count() == 19


def test_one_responsible_organisation_per_grid(tree):
    structure = build_structure(tree)
    grid = tree.grids[0]
    grid_responsibility_assign(actor=None, grid=grid, org=structure.branch)
    # when another organisation is made responsible for the same grid without replacing
    with pytest.raises(ValidationError, match="只有一个责任组织"):
        grid_responsibility_assign(actor=None, grid=grid, org=structure.committee)
    # then the first stays; replacing swaps it, still one row
    assert GridResponsibility.objects.get(grid=grid).org == structure.branch
    grid_responsibility_assign(actor=None, grid=grid, org=structure.committee, replace=True)
    assert list(GridResponsibility.objects.filter(grid=grid).values_list("org", flat=True)) == [structure.committee.pk]
    # and an organisation of another community cannot answer for the grid
    with pytest.raises(ValidationError, match="不在该网格所在的社区内"):
        grid_responsibility_assign(actor=None, grid=tree.grids[2], org=structure.branch)


def _party_resident(tree, household, name="赵党员", seq=7):
    from gridgov.registry.tests.conftest import make_id_number

    return resident_register(
        actor=None,
        spec=ResidentSpec(household=household, name=name, id_number=make_id_number(seq), is_party_member=True),
    )


def test_member_in_two_compound_branches_at_once_is_refused_until_the_first_term_ends(tree):
    structure = build_structure(tree)
    committee = structure.committee
    other_branch = org_create(
        actor=None, kind=OrgKind.COMPOUND_BRANCH, name="2号网格支部", parent=committee, compounds=[tree.compounds[1]]
    )
    resident = _party_resident(tree, structure.households[3])
    first = member_appoint(
        actor=None,
        org=structure.branch,
        resident=resident,
        post=Post.SECRETARY,
        source=MemberSource.FIVE_ELDERS,
        term_start=date(2026, 1, 1),
    )
    with pytest.raises(ValidationError, match="不能同时在两个小区党组织任职"):
        member_appoint(
            actor=None, org=other_branch, resident=resident, post=Post.COMMITTEE_MEMBER, term_start=date(2026, 2, 1)
        )
    member_end_term(actor=None, member=first, ended_on=date(2026, 3, 1))
    second = member_appoint(
        actor=None, org=other_branch, resident=resident, post=Post.COMMITTEE_MEMBER, term_start=date(2026, 3, 2)
    )
    assert second.name == "赵党员"
    assert AuditEvent.objects.filter(action="party_member_end_term", object_id=str(first.pk)).exists()


def test_part_time_member_needs_an_employer_and_terms_run_forward(tree):
    structure = build_structure(tree)
    with pytest.raises(ValidationError, match="物业公司还是业委会"):
        member_appoint(
            actor=None, org=structure.branch, name="物业经理", post=Post.PART_TIME_MEMBER, term_start=date(2026, 1, 1)
        )
    with pytest.raises(ValidationError, match="不能早于"):
        member_appoint(
            actor=None,
            org=structure.branch,
            name="王委员",
            post=Post.COMMITTEE_MEMBER,
            term_start=date(2026, 1, 1),
            term_end=date(2025, 1, 1),
        )
    member = member_appoint(
        actor=None,
        org=structure.branch,
        name="物业经理",
        post=Post.PART_TIME_MEMBER,
        employer=Employer.PROPERTY_COMPANY,
        term_start=date(2026, 1, 1),
    )
    assert PartyMember.objects.get(pk=member.pk).resident is None


def test_staff_outside_the_area_cannot_change_the_structure(tree, personas):
    structure = build_structure(tree)
    with pytest.raises(PermissionDenied):
        member_appoint(
            actor=personas["outsider"], org=structure.branch, name="某人", post=Post.MEMBER, term_start=date(2026, 1, 1)
        )
    with pytest.raises(PermissionDenied):
        plaque_set(actor=personas["outsider"], org=structure.lead, status=PlaqueStatus.HUNG)
    plaque_set(actor=personas["community_staff"], org=structure.lead, status=PlaqueStatus.HUNG, on=date(2026, 5, 1))
    structure.lead.refresh_from_db()
    assert structure.lead.plaque_status == PlaqueStatus.HUNG
    assert structure.lead.plaque_hung_on == date(2026, 5, 1)
