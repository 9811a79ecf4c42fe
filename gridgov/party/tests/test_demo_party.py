"""The demo's party organisations and council meetings keep the rules of the services."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count

from gridgov.council.models import Decision, Meeting, Proposal
from gridgov.demo.party import party_delete_all, party_populate
from gridgov.party.choices import LEAD_HOUSEHOLD_MAX_COVER, LEAD_HOUSEHOLD_MIN_COVER, OrgKind
from gridgov.party.models import GridResponsibility, PartyMember, PartyOrg
from gridgov.party.selectors import coverage_for_area
from gridgov.registry.services import ResidentSpec, residents_bulk_register
from gridgov.registry.tests.conftest import make_id_number
from gridgov.testing.party import make_households
from gridgov.testing.portal import make_resident

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_demo_structure_keeps_the_rules_and_is_deleted_cleanly(tree):
    # given households with some party members in the first four compounds
    homes = []
    for building in tree.buildings[:8]:
        homes += make_households(building, 24)
    residents_bulk_register(
        actor=None,
        specs=[
            ResidentSpec(household=h, name=f"党员{n}", id_number=make_id_number(n + 10), is_party_member=True)
            for n, h in enumerate(homes[::5])
        ],
    )
    make_resident("13800138011", compound=tree.compounds[0])
    make_resident("13800138012", compound=tree.compounds[0])
    # when the demo fills the party structure
    counts = party_populate(now=NOW, rng=random.Random(3))  # noqa: S311
    # then every community has a committee and every grid one responsible organisation
    assert counts["party_committees"] == len(tree.communities)
    assert GridResponsibility.objects.count() == len(tree.grids)
    # and every lead household covers 10–30 households of its own compound
    for lead in PartyOrg.objects.filter(kind=OrgKind.LEAD_HOUSEHOLD).annotate(n=Count("covers")):
        assert LEAD_HOUSEHOLD_MIN_COVER <= lead.n <= LEAD_HOUSEHOLD_MAX_COVER
        assert set(lead.covers.values_list("household__compound_id", flat=True)) == {lead.household.compound_id}
    assert counts["party_lead_households"] > 0
    # and no resident sits on two compound branches
    seats = PartyMember.objects.filter(org__kind=OrgKind.COMPOUND_BRANCH, resident__isnull=False)
    assert seats.values("resident").annotate(n=Count("pk")).filter(n__gt=1).count() == 0
    assert coverage_for_area(tree.district).total.households_covered > 0
    # and the meetings have decisions whose votes fit the attendance
    assert Meeting.objects.count() == counts["council_meetings"] > 0
    for decision in Decision.objects.select_related("agenda_item__meeting"):
        present = decision.agenda_item.meeting.attendees.filter(present=True).count()
        assert decision.votes_for + decision.votes_against + decision.votes_abstain <= present
    assert counts["council_proposals"] == 1
    assert Proposal.objects.get().supports.count() == 2
    # when everything is deleted, nothing is left
    party_delete_all()
    assert not PartyOrg.objects.exists() and not Meeting.objects.exists() and not Proposal.objects.exists()
