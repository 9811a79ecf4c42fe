"""The demo's portal step: every compound gets a QR token, residents get phone identities."""

from __future__ import annotations

import random

import pytest

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.areas.models import Compound
from gridgov.demo.portal import portal_demo_create
from gridgov.portal.models import CompoundQr, ResidentPhone
from gridgov.portal.services import login_code_request
from gridgov.testing.factories import AreaTree, make_user_with_role
from gridgov.testing.portal import last_sms_code

pytestmark = pytest.mark.django_db


def test_every_compound_gets_a_token_and_residents_can_sign_in_by_phone(tree: AreaTree) -> None:
    # given the demo's sample resident account
    sample = make_user_with_role(Role.RESIDENT, tree.grids[3], username="resident")
    # when the portal step runs
    result = portal_demo_create(rng=random.Random(7), residents=3)
    # then every compound has a distinct token
    assert CompoundQr.objects.count() == Compound.objects.count() == result.qr_tokens_created
    assert len(set(CompoundQr.objects.values_list("token", flat=True))) == Compound.objects.count()
    # and the sample resident plus three more have phones, masked, each living in a compound of their grid
    assert ResidentPhone.objects.count() == 4 == len(result.residents)
    sample_identity = ResidentPhone.objects.get(user=sample)
    assert sample_identity.compound is not None and sample_identity.compound.grid == tree.grids[3]
    for identity in ResidentPhone.objects.select_related("user", "compound"):
        assert identity.user.is_active
        assert "****" in identity.phone_masked
        assert RoleAssignment.objects.filter(user=identity.user, role=Role.RESIDENT).exists()
    # and a demo phone signs in with a code
    phone = result.residents[1][0]
    sent = login_code_request(phone=phone, client_ip="10.0.0.1")
    assert len(last_sms_code(phone)) == 6 and sent.identity.user.is_active
    # a second run adds no tokens and no duplicate phones
    again = portal_demo_create(rng=random.Random(7), residents=0)
    assert again.qr_tokens_created == 0
    assert ResidentPhone.objects.count() == 4
