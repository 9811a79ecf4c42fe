"""`manage.py rotate_field_keys [--to KEY_ID] [--batch-size N] [--reindex]`: re-encrypt residents' personal data.

After a new key is added to GRIDGOV_FIELD_KEYS and made GRIDGOV_FIELD_KEY_CURRENT,
this re-encrypts every ID number and phone still under another key, so that the old
key can be removed. `--reindex` also recomputes the blind indexes after
GRIDGOV_BLIND_INDEX_KEY changed (until it has finished, lookups by ID number or phone
miss the rows not yet done: run it in a maintenance window).

It runs beside normal traffic: rows are read in batches by primary key, decrypted
outside any transaction, and written back in one short transaction per batch with a
compare-and-swap UPDATE, so a row changed meanwhile is left alone (and picked up by
the next run). A crash loses at most one uncommitted batch; running again continues.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from gridgov.registry.access_log import access_log_append
from gridgov.registry.choices import AccessAction
from gridgov.registry.crypto import DecryptionError, blind_index, field_decrypt, field_encrypt, keyring
from gridgov.registry.models import Resident
from gridgov.registry.services import ID_INDEX_KIND, PHONE_INDEX_KIND

SNAPSHOT_FIELDS = ("pk", "key_id", "id_ciphertext", "phone_ciphertext")


@dataclass
class BatchOutcome:
    rotated: int = 0
    skipped: int = 0  # changed by someone else between read and write
    failed: list[int] = field(default_factory=list)  # ciphertext that cannot be decrypted


def residents_to_rotate(*, target: str, reindex: bool) -> QuerySet[Resident]:
    """Rows with any ciphertext not under `target` (all rows when re-indexing)."""
    if reindex:
        return Resident.objects.all()
    prefix = f"{target}:"
    return Resident.objects.filter(
        ~Q(key_id=target)
        | ~Q(id_ciphertext__startswith=prefix)
        | (~Q(phone_ciphertext="") & ~Q(phone_ciphertext__startswith=prefix))
    )


def rotate_batch(rows: Sequence[dict[str, Any]], *, target: str, reindex: bool) -> BatchOutcome:
    """Re-encrypt (and re-index) snapshots of rows taken with `SNAPSHOT_FIELDS`.

    A row is written only if it still holds exactly the snapshot's key id and
    ciphertexts: a concurrent edit wins, and the edited row is skipped.
    """
    outcome = BatchOutcome()
    changes: list[tuple[dict[str, Any], dict[str, str]]] = []
    for row in rows:
        try:
            id_number = field_decrypt(row["id_ciphertext"], field="id")
            phone = field_decrypt(row["phone_ciphertext"], field="phone") if row["phone_ciphertext"] else ""
        except DecryptionError:
            outcome.failed.append(row["pk"])
            continue
        values = {
            "key_id": target,
            "id_ciphertext": field_encrypt(id_number, key_id=target, field="id"),
            "phone_ciphertext": field_encrypt(phone, key_id=target, field="phone") if phone else "",
        }
        if reindex:
            values["id_index"] = blind_index(id_number, kind=ID_INDEX_KIND)
            values["phone_index"] = blind_index(phone, kind=PHONE_INDEX_KIND) if phone else ""
        changes.append((row, values))
    with transaction.atomic():
        for row, values in changes:
            updated = Resident.objects.filter(
                pk=row["pk"],
                key_id=row["key_id"],
                id_ciphertext=row["id_ciphertext"],
                phone_ciphertext=row["phone_ciphertext"],
            ).update(**values)
            if updated:
                outcome.rotated += 1
            else:
                outcome.skipped += 1
    return outcome


class Command(BaseCommand):
    help = _(
        "将居民的身份证号和手机号密文重新加密为当前密钥（或 --to 指定的密钥），分批进行，可在系统运行时执行，"
        "中断后可重复运行。--reindex 在更换盲索引密钥后重建索引。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", default=None, metavar="KEY_ID", help=_("目标密钥编号，默认为当前密钥。"))
        parser.add_argument("--batch-size", type=int, default=500, help=_("每批处理的记录数，默认500。"))
        parser.add_argument("--reindex", action="store_true", help=_("同时用当前盲索引密钥重建全部索引。"))

    def handle(self, *args: Any, to: str | None, batch_size: int, reindex: bool, **options: Any) -> None:
        ring = keyring()
        target = to or ring.current
        if target not in ring.keys:
            raise CommandError(
                _("密钥“%(key)s”未在GRIDGOV_FIELD_KEYS中配置。已配置：%(keys)s。")
                % {"key": target, "keys": "、".join(sorted(ring.keys))}
            )
        if batch_size < 1:
            raise CommandError(_("--batch-size 必须为正整数。"))
        if target != ring.current:
            self.stderr.write(
                _("注意：新写入的数据仍使用当前密钥%(current)s，而不是%(key)s。")
                % {"current": ring.current, "key": target}
            )

        pending = residents_to_rotate(target=target, reindex=reindex)
        total = BatchOutcome()
        last_pk = 0
        while True:
            rows = list(pending.filter(pk__gt=last_pk).order_by("pk").values(*SNAPSHOT_FIELDS)[:batch_size])
            if not rows:
                break
            last_pk = rows[-1]["pk"]
            outcome = rotate_batch(rows, target=target, reindex=reindex)
            total.rotated += outcome.rotated
            total.skipped += outcome.skipped
            total.failed.extend(outcome.failed)
            if options["verbosity"] >= 2:
                self.stdout.write(_("已处理到居民编号%(pk)d。") % {"pk": last_pk})

        if total.rotated:
            detail: dict[str, Any] = {"count": total.rotated, "to": target}
            if reindex:
                detail["reindex"] = True
            access_log_append(
                actor=None, action=AccessAction.ROTATE, object_type="resident", object_id="*", detail=detail
            )
        self.stdout.write(
            _("已将%(count)d位居民的个人信息重新加密为密钥%(key)s。") % {"count": total.rotated, "key": target}
        )
        if total.skipped:
            self.stderr.write(_("%(count)d条记录在处理期间被修改而跳过，请再次运行本命令。") % {"count": total.skipped})
        if total.failed:
            shown = "、".join(str(pk) for pk in total.failed[:20])
            raise CommandError(
                _("%(count)d条记录无法解密（密钥缺失或密文损坏），居民编号：%(pks)s。")
                % {"count": len(total.failed), "pks": shown + ("…" if len(total.failed) > 20 else "")}
            )
