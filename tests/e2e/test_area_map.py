"""A county administrator signs in and browses the tree on the map."""

from __future__ import annotations

import pytest

from gridgov.accounts.choices import Role
from gridgov.testing.factories import TEST_PASSWORD, AreaTree, make_user_with_role

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_signs_in_and_walks_down_the_tree_on_the_map(live_server, page, tree: AreaTree, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_user_with_role(Role.ADMIN, tree.district, username="county_admin")
    # given the login page in Chinese
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("h1").inner_text() == "登录"
    # when the county administrator signs in
    page.fill("input[name=username]", "county_admin")
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    # then they land on the county with its towns listed and drawn on the map
    page.wait_for_url(f"{live_server.url}/areas/{tree.district.code}/")
    assert tree.towns[0].name in page.inner_text("#children")
    page.wait_for_selector("#area-map path.leaflet-interactive")
    assert page.locator("#area-map path.leaflet-interactive").count() == len(tree.towns)
    # when they click a town on the map and follow the popup link
    page.locator("#area-map path.leaflet-interactive").first.click()
    page.locator(".leaflet-popup-content a").click()
    # then the town page shows its communities on the map
    page.wait_for_url(f"{live_server.url}/areas/{tree.towns[0].code}/")
    page.wait_for_selector("#area-map path.leaflet-interactive")
    assert page.locator("#area-map path.leaflet-interactive").count() == 2
    assert page.locator(".breadcrumbs").inner_text().startswith(tree.district.name)


def test_wrong_password_is_explained_in_chinese(live_server, page, tree: AreaTree) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "nobody")
    page.fill("input[name=password]", "wrong-password-123")
    page.click("button[type=submit]")
    assert "用户名或密码不正确" in page.inner_text("[role=alert]")
