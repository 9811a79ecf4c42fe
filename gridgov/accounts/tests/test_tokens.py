"""API tokens: the `issue_api_token` command and what is kept in the database."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from gridgov.accounts.models import ApiToken, AuditEvent, User
from gridgov.accounts.selectors import user_for_api_token
from gridgov.accounts.services import api_token_digest, api_token_issue
from gridgov.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def issue(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("issue_api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_prints_only_the_token_and_stores_only_its_digest() -> None:
    # given an active user
    user = UserFactory(username="hotline")
    # when the operator issues a token
    out, err = issue("hotline", "--name", "12345热线对接", "--days", "30")
    # then stdout holds the token alone on one line, and stderr the Chinese hint
    raw = out.strip()
    assert out == raw + "\n"
    assert raw.startswith("ggv_")
    assert len(raw) > 40
    assert "只显示这一次" in err
    # and the database keeps its digest and prefix, never the token itself
    token = ApiToken.objects.get(user=user)
    assert token.digest == api_token_digest(raw)
    assert token.prefix == raw[:8]
    assert token.name == "12345热线对接"
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    stored = [str(value) for value in ApiToken.objects.values_list().get(pk=token.pk)]
    assert all(raw not in value for value in stored)
    assert not any(raw in str(event.detail) for event in AuditEvent.objects.all())
    # and the token authenticates its user
    assert user_for_api_token(raw) == user


def test_command_defaults_to_the_configured_lifetime(settings: pytest.FixtureRequest) -> None:
    settings.API_TOKEN_DAYS = 7  # type: ignore[attr-defined]
    UserFactory(username="hotline")
    issue("hotline")
    token = ApiToken.objects.get()
    assert timedelta(days=6, hours=23) < token.expires_at - timezone.now() <= timedelta(days=7)


def test_command_refuses_an_unknown_user_in_chinese() -> None:
    with pytest.raises(CommandError, match="用户“nobody”不存在。"):
        issue("nobody")
    assert not ApiToken.objects.exists()


def test_command_refuses_an_inactive_user_in_chinese() -> None:
    UserFactory(username="retired", is_active=False)
    with pytest.raises(CommandError, match="已停用，不能签发令牌"):
        issue("retired")
    assert not ApiToken.objects.exists()


def test_command_refuses_a_non_positive_lifetime() -> None:
    UserFactory(username="hotline")
    with pytest.raises(CommandError, match="有效期必须大于0天"):
        issue("hotline", "--days", "0")
    assert not ApiToken.objects.exists()


def test_command_refuses_an_absurd_lifetime() -> None:
    UserFactory(username="hotline")
    with pytest.raises(CommandError, match="令牌有效期过长"):
        issue("hotline", "--days", "999999999")
    assert not ApiToken.objects.exists()


def test_revoke_by_prefix_makes_the_token_useless() -> None:
    # given a user with two tokens
    user = UserFactory(username="hotline")
    first, first_raw = api_token_issue(actor=None, user=user, name="a")
    second, second_raw = api_token_issue(actor=None, user=user, name="b")
    # when the operator revokes the first by its prefix
    _out, err = issue("hotline", "--revoke", first.prefix)
    # then only that token stops working, and the revocation is audited
    assert "已吊销" in err
    assert user_for_api_token(first_raw) is None
    assert user_for_api_token(second_raw) == user
    assert AuditEvent.objects.filter(action="api_token_revoke", detail__token=first.pk).exists()


def test_revoke_refuses_an_unknown_prefix_and_another_users_token() -> None:
    UserFactory(username="hotline")
    other = UserFactory(username="other")
    token, raw = api_token_issue(actor=None, user=other)
    with pytest.raises(CommandError, match="没有以“ggv_zzzz”开头的有效令牌"):
        issue("hotline", "--revoke", "ggv_zzzz")
    with pytest.raises(CommandError, match="没有以"):
        issue("hotline", "--revoke", token.prefix)
    assert user_for_api_token(raw) == other


def test_revoke_refuses_an_ambiguous_prefix() -> None:
    user = UserFactory(username="hotline")
    api_token_issue(actor=None, user=user)
    api_token_issue(actor=None, user=user)
    with pytest.raises(CommandError, match="匹配到2个令牌"):
        issue("hotline", "--revoke", "ggv_")
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 2


def test_list_shows_prefixes_and_states_but_no_secret() -> None:
    user = UserFactory(username="hotline")
    active, active_raw = api_token_issue(actor=None, user=user, name="热线")
    revoked, _raw = api_token_issue(actor=None, user=user, name="旧")
    issue("hotline", "--revoke", revoked.prefix)
    out, _err = issue("hotline", "--list")
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{active.prefix}\t有效\t")
    assert lines[1].startswith(f"{revoked.prefix}\t已吊销\t")
    assert active_raw not in out


def test_expired_and_revoked_tokens_and_inactive_users_authenticate_nobody() -> None:
    # given three tokens: one expired, one revoked, one whose user left
    user = UserFactory()
    expired, expired_raw = api_token_issue(actor=None, user=user)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, revoked_raw = api_token_issue(actor=None, user=user)
    call_command("issue_api_token", user.username, "--revoke", revoked.prefix, stderr=StringIO())
    leaver = UserFactory()
    _token, leaver_raw = api_token_issue(actor=None, user=leaver)
    User.objects.filter(pk=leaver.pk).update(is_active=False)
    # then none of them authenticates, nor does an empty or made-up token
    for raw in (expired_raw, revoked_raw, leaver_raw, "", "ggv_made-up"):
        assert user_for_api_token(raw) is None


def test_use_is_recorded_at_most_once_a_minute() -> None:
    user = UserFactory()
    token, raw = api_token_issue(actor=None, user=user)
    assert user_for_api_token(raw) == user
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    assert user_for_api_token(raw) == user
    token.refresh_from_db()
    assert token.last_used_at == first_use
