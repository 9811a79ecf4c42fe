"""`{% inbox_unread as n %}`: the signed-in user's unread message count, for the top bar."""

from __future__ import annotations

from typing import Any

from django import template

from gridgov.notices.selectors import inbox_unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_unread(context: template.Context) -> int:
    user: Any = context.get("user")
    return inbox_unread_count(user) if user is not None else 0
