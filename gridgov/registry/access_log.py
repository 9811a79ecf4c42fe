"""The append-only, SM3-chained personal-data access log."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from gridgov.registry.crypto import sm3_hex
from gridgov.registry.models import AccessLogEntry, AccessLogHead

GENESIS_HASH = "0" * 64


def _row_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_username: str,
    action: str,
    object_type: str,
    object_id: str,
    purpose: str,
    detail: dict[str, Any],
) -> str:
    canonical = json.dumps(
        [seq, at.isoformat(), actor_id, actor_username, action, object_type, object_id, purpose, detail],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return sm3_hex((prev_hash + canonical).encode("utf-8"))


def entry_hash(entry: AccessLogEntry, prev_hash: str) -> str:
    """The hash a stored row should carry, given the hash of the row before it."""
    return _row_hash(
        prev_hash=prev_hash,
        seq=entry.seq,
        at=entry.at,
        actor_id=entry.actor_id,
        actor_username=entry.actor_username,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        purpose=entry.purpose,
        detail=entry.detail,
    )


@transaction.atomic
def access_log_append(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_id: str | int,
    purpose: str = "",
    detail: dict[str, Any] | None = None,
) -> AccessLogEntry:
    """Append one row; call inside the transaction of the read or write it records."""
    head, _ = AccessLogHead.objects.select_for_update().get_or_create(id=1)
    # Microseconds are dropped so the hash survives databases that store less precision.
    at = timezone.now().replace(microsecond=0)
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    entry = AccessLogEntry(
        seq=head.seq + 1,
        at=at,
        actor_id=actor_id,
        actor_username=getattr(actor, "username", "") if actor_id else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        purpose=purpose,
        detail=detail or {},
        prev_hash=head.row_hash,
    )
    entry.row_hash = entry_hash(entry, head.row_hash)
    entry.save(force_insert=True)
    head.seq = entry.seq
    head.row_hash = entry.row_hash
    head.save(update_fields=["seq", "row_hash"])
    return entry


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    message: str


def access_log_verify(entries: Iterable[AccessLogEntry] | None = None) -> list[ChainProblem]:
    """Walk the chain from the start: report edited, deleted, inserted or reordered rows."""
    from django.utils.translation import gettext as _

    # The head is read first: rows up to head.seq were committed with it, so an append racing with
    # the walk below adds rows past the head instead of looking like a truncated log.
    head = AccessLogHead.objects.filter(id=1).first() if entries is None else None
    rows = entries if entries is not None else AccessLogEntry.objects.order_by("seq").iterator(chunk_size=2000)
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    hash_at_head: str | None = None
    for entry in rows:
        if entry.seq != expected_seq:
            problems.append(
                ChainProblem(
                    entry.seq,
                    _("序号不连续：应为%(expected)d，实为%(seq)d（有记录被删除或插入）。")
                    % {"expected": expected_seq, "seq": entry.seq},
                )
            )
        if entry.prev_hash != prev_hash:
            problems.append(ChainProblem(entry.seq, _("与前一条记录的哈希链接不符（记录被删除或顺序被改动）。")))
        if entry.row_hash != entry_hash(entry, entry.prev_hash):
            problems.append(ChainProblem(entry.seq, _("记录内容与其哈希不符（记录被篡改）。")))
        if head is not None and entry.seq == head.seq:
            hash_at_head = entry.row_hash
        prev_hash = entry.row_hash
        expected_seq = entry.seq + 1
    if entries is not None:
        return problems
    if head is None:
        if expected_seq > 1:
            problems.append(ChainProblem(None, _("链头记录缺失，无法确认日志末尾是否完整。")))
    elif head.seq > 0 and hash_at_head is None:
        problems.append(
            ChainProblem(
                head.seq,
                _("链头记录到第%(seq)d条，但日志中没有这一条（末尾的记录被删除）。") % {"seq": head.seq},
            )
        )
    elif head.seq > 0 and hash_at_head != head.row_hash:
        problems.append(ChainProblem(head.seq, _("第%(seq)d条记录的哈希与链头记录不符。") % {"seq": head.seq}))
    return problems
