"""Residents' proposals reach the agenda past the threshold, once, and stay inside their compound."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gridgov.accounts.models import User
from gridgov.council.choices import MeetingKind, ProposalStatus
from gridgov.council.models import AgendaItem
from gridgov.council.services import decision_record, meeting_create, proposal_create, proposal_support
from gridgov.testing.portal import make_resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def neighbours(tree, settings):
    settings.COUNCIL_PROPOSAL_THRESHOLD = 3
    phones = ["13800138001", "13800138002", "13800138003", "13800138004"]
    return [make_resident(phone, compound=tree.compounds[0]) for phone in phones]


def _meeting(tree, days: float):
    return meeting_create(
        actor=None,
        kind=MeetingKind.SUNSHINE,
        compound=tree.compounds[0],
        title="例会",
        starts_at=timezone.now() + timedelta(days=days),
        place="议事亭",
        convener_name="周书记",
    )


def test_a_proposal_crossing_the_threshold_lands_on_the_next_agenda_exactly_once(tree, neighbours):
    later = _meeting(tree, 10)
    sooner = _meeting(tree, 3)
    first, second, third, fourth = neighbours
    proposal = proposal_create(actor=first, title="增设电动车充电桩")
    proposal_support(actor=second, proposal=proposal)
    assert not AgendaItem.objects.exists()
    # when the third supporter arrives
    proposal_support(actor=third, proposal=proposal)
    # then it is on the sooner meeting's agenda; a fourth supporter adds nothing
    proposal_support(actor=fourth, proposal=proposal)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.ON_AGENDA
    assert list(AgendaItem.objects.values_list("meeting_id", "title")) == [(sooner.pk, "增设电动车充电桩")]
    assert not later.agenda.exists()
    with pytest.raises(ValidationError, match="已经支持过"):
        proposal_support(actor=fourth, proposal=proposal)


def test_a_proposal_with_no_meeting_ahead_waits_for_the_next_meeting_once(tree, neighbours):
    proposal = proposal_create(actor=neighbours[0], title="楼道灯维修")
    for resident in neighbours[1:3]:
        proposal_support(actor=resident, proposal=proposal)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.WAITING
    first = _meeting(tree, 2)
    _meeting(tree, 9)
    assert list(AgendaItem.objects.values_list("meeting_id", flat=True)) == [first.pk]


def test_a_resident_of_another_compound_cannot_see_or_support_it(client: Client, tree, neighbours):
    proposal = proposal_create(actor=neighbours[0], title="绿地补种")
    stranger = make_resident("13900139009", compound=tree.compounds[1])
    with pytest.raises(Http404):
        proposal_support(actor=stranger, proposal=proposal)
    client.force_login(stranger)
    assert "绿地补种" not in client.get(reverse("council:resident_notice")).content.decode()
    assert client.post(reverse("council:resident_support", args=[proposal.pk])).status_code == 404
    client.force_login(neighbours[1])
    assert "绿地补种" in client.get(reverse("council:resident_notice")).content.decode()
    client.post(reverse("council:resident_support", args=[proposal.pk]))
    assert proposal.supports.count() == 2


def test_the_proposer_sees_what_became_of_it_on_the_public_notice(client: Client, tree, neighbours):
    meeting = _meeting(tree, 1)
    proposal = proposal_create(actor=neighbours[0], title="文明养犬")
    for resident in neighbours[1:3]:
        proposal_support(actor=resident, proposal=proposal)
    proposal.refresh_from_db()
    decision_record(
        actor=None,
        agenda_item=proposal.agenda_item,
        text="制定文明养犬公约",
        votes_for=0,
        votes_against=0,
        votes_abstain=0,
        now=meeting.starts_at + timedelta(hours=1),
    )
    client.force_login(neighbours[0])
    page = client.get(reverse("council:resident_notice")).content.decode()
    assert "议定：制定文明养犬公约" in page and "我的提议" in page and "待安排" in page
    # staff accounts without a resident phone are sent to the portal login
    client.force_login(User.objects.create(username="staffonly"))
    assert client.get(reverse("council:resident_notice")).status_code == 302
