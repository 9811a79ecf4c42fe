"""Signing in and out: Chinese pages, login throttling (django-axes), session cookie.

django-axes needs the request in `authenticate`, so these tests post the
login form instead of calling `client.login()`.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from gridgov.testing.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"
WRONG_PASSWORD = "not-the-password"  # noqa: S105
LOCKED_TEXT = "登录失败次数过多"


def sign_in(client: Client, username: str, password: str, ip: str = "10.0.0.1", **data: str) -> Any:
    return client.post(LOGIN_URL, {"username": username, "password": password, **data}, REMOTE_ADDR=ip)


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_login_page_is_in_chinese(client: Client) -> None:
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="zh-hans">' in body
    for text in ("<title>登录", "用户名", "密码", ">登录</button>"):
        assert text in body


def test_correct_password_signs_in_and_redirects_home(client: Client) -> None:
    UserFactory(username="alice")
    response = sign_in(client, "alice", TEST_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/areas/"
    assert is_signed_in(client)


def test_wrong_password_shows_chinese_error(client: Client) -> None:
    # given an existing user
    UserFactory(username="alice")
    # when they type a wrong password
    response = sign_in(client, "alice", WRONG_PASSWORD)
    # then the form comes back with the Chinese message and nobody is signed in
    assert response.status_code == 200
    assert "用户名或密码不正确。" in response.content.decode()
    assert not is_signed_in(client)


def test_unknown_user_gets_the_same_error_as_a_wrong_password(client: Client) -> None:
    UserFactory(username="alice")
    wrong_password = sign_in(client, "alice", WRONG_PASSWORD)
    unknown_user = sign_in(client, "nobody", WRONG_PASSWORD)
    assert "用户名或密码不正确。" in unknown_user.content.decode()
    assert wrong_password.status_code == unknown_user.status_code == 200


def test_deactivated_user_cannot_sign_in(client: Client) -> None:
    UserFactory(username="retired", is_active=False)
    response = sign_in(client, "retired", TEST_PASSWORD)
    assert response.status_code == 200
    assert not is_signed_in(client)


def test_account_is_locked_after_five_failures_even_from_other_addresses(client: Client) -> None:
    # given five wrong passwords for one account, each from a different address
    UserFactory(username="alice")
    for n in range(5):
        sign_in(client, "alice", WRONG_PASSWORD, ip=f"10.0.1.{n + 1}")
    # when the right password arrives from yet another address
    response = sign_in(client, "alice", TEST_PASSWORD, ip="10.0.2.1")
    # then the account is locked and the Chinese lockout page is shown
    assert response.status_code == 429
    body = response.content.decode()
    assert "登录已暂时锁定" in body
    assert LOCKED_TEXT in body
    assert not is_signed_in(client)


def test_four_failures_do_not_lock_the_account(client: Client) -> None:
    UserFactory(username="alice")
    for _n in range(4):
        sign_in(client, "alice", WRONG_PASSWORD)
    response = sign_in(client, "alice", TEST_PASSWORD)
    assert response.status_code == 302
    assert is_signed_in(client)


def test_address_is_locked_after_five_failures_on_different_accounts(client: Client) -> None:
    # given five failures from one address, each on a different account
    for n in range(5):
        UserFactory(username=f"user-{n}")
        sign_in(client, f"user-{n}", WRONG_PASSWORD, ip="10.0.3.3")
    UserFactory(username="bob")
    # when a sixth account signs in correctly from that address
    locked = sign_in(client, "bob", TEST_PASSWORD, ip="10.0.3.3")
    # then the address is locked, while the same account from elsewhere is fine
    assert locked.status_code == 429
    assert LOCKED_TEXT in locked.content.decode()
    assert not is_signed_in(client)
    elsewhere = sign_in(client, "bob", TEST_PASSWORD, ip="10.0.4.4")
    assert elsewhere.status_code == 302
    assert is_signed_in(client)


def test_successful_login_resets_the_failure_counter(client: Client) -> None:
    # given four failures followed by a successful sign-in and sign-out
    UserFactory(username="alice")
    for _n in range(4):
        sign_in(client, "alice", WRONG_PASSWORD)
    assert sign_in(client, "alice", TEST_PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    # when four more failures follow
    for _n in range(4):
        sign_in(client, "alice", WRONG_PASSWORD)
    # then the account is not locked: the earlier failures were forgotten
    response = sign_in(client, "alice", TEST_PASSWORD)
    assert response.status_code == 302
    assert is_signed_in(client)


def test_attacker_cannot_reset_victims_counter_by_signing_in_to_own_account(client: Client) -> None:
    # given an attacker with a valid account, and a victim account
    UserFactory(username="mallory")
    UserFactory(username="victim")
    # when the attacker guesses the victim's password 4 times, signs in to their
    # own account from the same address, and repeats
    for _round in range(2):
        for _n in range(4):
            sign_in(client, "victim", WRONG_PASSWORD, ip="10.0.5.5")
        sign_in(client, "mallory", TEST_PASSWORD, ip="10.0.5.5")
        client.post("/accounts/logout/")
    # then after 8 wrong guesses the victim's account is locked
    response = sign_in(client, "victim", TEST_PASSWORD, ip="10.0.6.6")
    assert response.status_code == 429


def test_login_ignores_a_redirect_to_another_site(client: Client) -> None:
    UserFactory(username="alice")
    response = sign_in(client, "alice", TEST_PASSWORD, next="https://evil.example/")
    assert response.status_code == 302
    assert response["Location"] == "/areas/"


def test_login_follows_a_local_next(client: Client) -> None:
    UserFactory(username="alice")
    response = sign_in(client, "alice", TEST_PASSWORD, next="/accounts/me/")
    assert response["Location"] == "/accounts/me/"


def test_login_changes_the_session_key(client: Client) -> None:
    # given an anonymous session (e.g. planted by an attacker)
    client.get(LOGIN_URL)
    session = client.session
    session["planted"] = "1"
    session.save()
    before = session.session_key
    # when the user signs in
    UserFactory(username="alice")
    sign_in(client, "alice", TEST_PASSWORD)
    # then the session key changed, so the planted one is useless
    assert client.session.session_key != before


def test_session_cookie_is_http_only_and_same_site(client: Client) -> None:
    UserFactory(username="alice")
    response = sign_in(client, "alice", TEST_PASSWORD)
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_session_cookie_is_secure_when_configured(client: Client, settings: Any) -> None:
    settings.SESSION_COOKIE_SECURE = True
    UserFactory(username="alice")
    response = sign_in(client, "alice", TEST_PASSWORD)
    assert response.cookies["sessionid"]["secure"] is True


def test_logout_is_post_only(client: Client) -> None:
    # given a signed-in user
    user = UserFactory(username="alice")
    client.force_login(user)
    # when a link (GET) points at logout, then nothing happens
    assert client.get("/accounts/logout/").status_code == 405
    assert is_signed_in(client)
    # when the logout form is posted, then the user is signed out and sent to login
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert not is_signed_in(client)


def test_logout_requires_the_csrf_token() -> None:
    # given a browser that enforces CSRF, signed in
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="alice"))
    # when another site posts to logout without the token
    response = client.post("/accounts/logout/")
    # then the request is rejected and the user stays signed in
    assert response.status_code == 403
    assert is_signed_in(client)


def test_login_form_requires_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    UserFactory(username="alice")
    response = sign_in(client, "alice", TEST_PASSWORD)
    assert response.status_code == 403
    assert not is_signed_in(client)


def test_profile_lists_roles_in_chinese_and_requires_login(client: Client, tree: Any, personas: dict) -> None:
    # given an anonymous visitor, then a signed-in department handler
    anonymous = client.get("/accounts/me/")
    client.force_login(personas["department_handler"])
    # when each opens the profile
    body = client.get("/accounts/me/").content.decode()
    # then the visitor is sent to login, and the handler sees their role and area in Chinese
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(LOGIN_URL)
    assert "角色与管辖范围" in body
    assert "职能部门办理人" in body
    assert tree.district.code in body
