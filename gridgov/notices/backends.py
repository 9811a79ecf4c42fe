"""Delivery channels besides the in-app inbox. A backend has `send(notice)` and
raises on failure; the worker retries later. Configure with
`GRIDGOV_NOTICE_BACKENDS` (channel=dotted.path, comma separated)."""

from __future__ import annotations

import logging
from typing import Protocol

from gridgov.notices.models import Notice

logger = logging.getLogger("gridgov.notices")


class NoticeBackend(Protocol):
    def send(self, notice: Notice) -> None: ...


class LogBackend:
    """Writes the message to the log instead of sending it (development, tests, intranets without a gateway)."""

    def send(self, notice: Notice) -> None:
        logger.info("notice %s to user %s via %s: %s", notice.pk, notice.recipient_id, notice.channel, notice.title)
