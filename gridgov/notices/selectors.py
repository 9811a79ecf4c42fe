"""Reads for notifications: a user sees only their own inbox."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from gridgov.notices.models import InboxMessage


def inbox_for_user(user: Any, *, unread_only: bool = False) -> QuerySet[InboxMessage]:
    messages = InboxMessage.objects.filter(user=user)
    if unread_only:
        messages = messages.filter(read_at__isnull=True)
    return messages


def inbox_unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return InboxMessage.objects.filter(user=user, read_at__isnull=True).count()
