"""Test helpers for the party and council apps: households in a compound and a small structure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from gridgov.areas.models import Area, Building, Compound
from gridgov.party.choices import OrgKind
from gridgov.party.models import PartyOrg
from gridgov.party.services import org_create
from gridgov.registry.models import Household
from gridgov.registry.services import HouseholdSpec, households_bulk_create
from gridgov.testing.factories import AreaTree


def make_households(building: Building, count: int, *, start: int = 1) -> list[Household]:
    """`count` households in `building` (rooms numbered from `start`)."""
    compound = building.compound
    return households_bulk_create(
        actor=None,
        specs=[
            HouseholdSpec(
                grid=building.grid,
                compound=compound,
                building=building,
                unit="1单元",
                room=f"{n}",
                address=f"{compound.name if compound else ''}{building.name}1单元{n}",
            )
            for n in range(start, start + count)
        ],
    )


@dataclass
class PartyStructure:
    committee: PartyOrg
    branch: PartyOrg
    group: PartyOrg
    lead: PartyOrg
    households: list[Household]


def community_of(tree: AreaTree, compound: Compound) -> Area:
    return compound.grid.parent  # type: ignore[return-value]


def build_structure(tree: AreaTree, *, households: int = 16, covered: int = 12) -> PartyStructure:
    """社区党委 of community 0 → 小区党支部 of compound 0 → 楼栋党小组 of its first building →
    党员中心户 covering `covered` of `households` households in that building."""
    compound = tree.compounds[0]
    building = tree.buildings[0]
    homes = make_households(building, households)
    committee = org_create(
        actor=None, kind=OrgKind.COMMUNITY_COMMITTEE, name="第1社区党委", community=tree.communities[0]
    )
    branch = org_create(
        actor=None, kind=OrgKind.COMPOUND_BRANCH, name="1号小区党支部", parent=committee, compounds=[compound]
    )
    group = org_create(actor=None, kind=OrgKind.BUILDING_GROUP, name="1号楼党小组", parent=branch, buildings=[building])
    lead = org_create(
        actor=None,
        kind=OrgKind.LEAD_HOUSEHOLD,
        name="1号楼党员中心户",
        parent=group,
        household=homes[0],
        covered=homes[1 : 1 + covered],
        founded_on=date(2026, 1, 1),
    )
    return PartyStructure(committee=committee, branch=branch, group=group, lead=lead, households=homes)


def bearer(user: Any) -> dict[str, str]:
    """Headers of an API request made with a fresh token of `user`."""
    from gridgov.accounts.services import api_token_issue

    _, raw = api_token_issue(actor=None, user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
