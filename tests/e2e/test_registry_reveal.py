"""A grid worker finds a household and reveals a member's ID number with a purpose."""

from __future__ import annotations

import pytest

from gridgov.accounts.choices import Role
from gridgov.registry.identifiers import id_check_character
from gridgov.registry.models import AccessLogEntry
from gridgov.registry.services import HouseholdSpec, ResidentSpec, household_create, resident_register
from gridgov.testing.factories import TEST_PASSWORD, AreaTree, make_user_with_role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_grid_worker_reveals_an_id_number_with_a_purpose(live_server, page, tree: AreaTree, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_user_with_role(Role.GRID_WORKER, tree.grids[0], username="worker")
    household = household_create(actor=None, spec=HouseholdSpec(grid=tree.grids[0], address="测试小区1号楼101"))
    first17 = "37028119800101001"
    id_number = first17 + id_check_character(first17)
    resident_register(actor=None, spec=ResidentSpec(household=household, name="赵一", id_number=id_number))
    # given the grid worker signed in
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "worker")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/areas/{tree.grids[0].code}/")
    # when they search the registry by pinyin initials and open the household
    page.goto(f"{live_server.url}/registry/?q=zy")
    page.click("text=测试小区1号楼101")
    # then the ID number is masked
    assert "3702**********" in page.inner_text("table.data")
    assert id_number not in page.content()
    # when they give a purpose and ask to see it
    page.fill(".reveal-form input[name=purpose]", "入户走访核对身份")
    page.click(".reveal-form button")
    # then the plaintext appears in place, and the reveal is in the access log
    page.wait_for_selector(".reveal-result")
    assert id_number in page.inner_text(".reveal-result")
    assert AccessLogEntry.objects.filter(action="reveal", purpose="入户走访核对身份").count() == 1
