"""Writes for notifications: queue (inside the caller's transaction) and deliver (by the worker)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from gridgov.notices.backends import NoticeBackend
from gridgov.notices.choices import Channel, NoticeKind
from gridgov.notices.models import InboxMessage, Notice

DELIVERY_BATCH = 500
# Only what needs someone to act now also goes out by SMS/WeChat; the rest stays in the inbox.
URGENT_KINDS = frozenset({NoticeKind.SLA_WARNING, NoticeKind.SUPERVISION})
MAX_ATTEMPTS = 10


def notices_build(
    *, recipient_ids: Iterable[int], kind: str, title: str, body: str = "", link: str = ""
) -> list[Notice]:
    """Unsaved outbox rows: one inbox notice per distinct recipient, plus one per extra configured
    channel for urgent kinds (warnings, supervision)."""
    channels = [Channel.INBOX, *(sorted(extra_channels()) if kind in URGENT_KINDS else [])]
    return [
        Notice(recipient_id=user_id, channel=channel, kind=kind, title=title[:200], body=body, link=link[:200])
        for user_id in sorted(set(recipient_ids))
        for channel in channels
    ]


def notices_queue(*, recipient_ids: Iterable[int], kind: str, title: str, body: str = "", link: str = "") -> int:
    """Put the notices of `notices_build` into the outbox.

    Call it inside the transaction of the change the notice is about.
    """
    rows = notices_build(recipient_ids=recipient_ids, kind=kind, title=title, body=body, link=link)
    Notice.objects.bulk_create(rows)
    return len(rows)


@cache
def _backends() -> dict[str, NoticeBackend]:
    backends: dict[str, NoticeBackend] = {}
    for item in settings.NOTICE_BACKENDS.split(","):
        if "=" in item:
            channel, path = (part.strip() for part in item.split("=", 1))
            backends[channel] = import_string(path)()
    return backends


def extra_channels() -> set[str]:
    return {channel for channel in _backends() if channel != Channel.INBOX}


def notices_deliver(*, limit: int = DELIVERY_BATCH) -> int:
    """Deliver undelivered notices; returns how many were delivered.

    Inbox delivery is idempotent (one message per notice), so a crash between
    writing the message and marking the notice only repeats a no-op.
    """
    delivered = 0
    pending = list(Notice.objects.filter(delivered_at__isnull=True, attempts__lt=MAX_ATTEMPTS).order_by("id")[:limit])
    for notice in pending:
        try:
            with transaction.atomic():
                if notice.channel == Channel.INBOX:
                    InboxMessage.objects.get_or_create(
                        notice=notice,
                        defaults={
                            "user_id": notice.recipient_id,
                            "kind": notice.kind,
                            "title": notice.title,
                            "body": notice.body,
                            "link": notice.link,
                        },
                    )
                else:
                    backend = _backends().get(notice.channel)
                    if backend is None:
                        raise LookupError(f"no backend for channel {notice.channel}")
                    backend.send(notice)
                Notice.objects.filter(pk=notice.pk).update(delivered_at=timezone.now(), attempts=notice.attempts + 1)
            delivered += 1
        except Exception as error:  # noqa: BLE001 — any backend failure is retried later
            Notice.objects.filter(pk=notice.pk).update(attempts=notice.attempts + 1, last_error=str(error)[:500])
    return delivered


def inbox_mark_read(*, user: Any, message_ids: Iterable[int] | None = None) -> int:
    """Mark the user's messages (all unread ones when `message_ids` is None) as read."""
    messages = InboxMessage.objects.filter(user=user, read_at__isnull=True)
    if message_ids is not None:
        messages = messages.filter(pk__in=list(message_ids))
    return messages.update(read_at=timezone.now())
