"""Reads of users and tokens."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from gridgov.accounts.models import ApiToken, RoleAssignment, User
from gridgov.accounts.services import api_token_digest


def user_for_api_token(raw_token: str) -> User | None:
    """The active user behind a bearer token, or None when unknown, expired or revoked."""
    if not raw_token:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=api_token_digest(raw_token), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    # Only touch the row once a minute so that reads do not turn into writes.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now)).update(
            last_used_at=now
        )
    return token.user


def role_assignments_of(user: User) -> list[RoleAssignment]:
    return list(
        RoleAssignment.objects.filter(user=user).select_related("area", "department").order_by("area__path", "role")
    )
