"""`manage.py rotate_field_keys`: SM4 key rotation and blind-index rebuild, online and re-runnable."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gridgov.registry import crypto
from gridgov.registry.access_log import access_log_verify
from gridgov.registry.choices import AccessAction
from gridgov.registry.crypto import blind_index, field_decrypt, field_encrypt
from gridgov.registry.identifiers import id_check_character
from gridgov.registry.management.commands.rotate_field_keys import SNAPSHOT_FIELDS, rotate_batch
from gridgov.registry.models import AccessLogEntry, Resident
from gridgov.registry.services import (
    HouseholdSpec,
    ResidentSpec,
    households_bulk_create,
    residents_bulk_register,
)
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db

NEW_INDEX_KEY = base64.b64encode(b"the-new-blind-index-key!").decode()


@pytest.fixture(autouse=True)
def _fresh_keyring() -> Iterator[None]:
    crypto._keyring_from.cache_clear()
    yield
    crypto._keyring_from.cache_clear()


def id_number(n: int) -> str:
    first17 = f"37028119850101{n:03d}"
    return first17 + id_check_character(first17)


@pytest.fixture
def residents(tree: AreaTree) -> list[Resident]:
    """Seven people under key t1, every other one with a phone."""
    households = households_bulk_create(
        actor=None, specs=[HouseholdSpec(grid=tree.grids[0], address=f"测试路{n}号") for n in range(7)]
    )
    specs = [
        ResidentSpec(
            household=household,
            name=f"居民{n}",
            id_number=id_number(n),
            phone=f"1390000{n:04d}" if n % 2 == 0 else "",
        )
        for n, household in enumerate(households)
    ]
    return residents_bulk_register(actor=None, specs=specs)


def plaintexts() -> dict[int, tuple[str, str, str, str]]:
    """Per resident: ID, phone, and both blind indexes."""
    return {
        r.pk: (
            field_decrypt(r.id_ciphertext, field="id"),
            field_decrypt(r.phone_ciphertext, field="phone") if r.phone_ciphertext else "",
            r.id_index,
            r.phone_index,
        )
        for r in Resident.objects.all()
    }


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_field_keys", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_rotation_moves_every_row_to_the_new_current_key(residents: list[Resident], settings: Any) -> None:
    # Given residents encrypted under t1, and t2 made the current key
    assert set(Resident.objects.values_list("key_id", flat=True)) == {"t1"}
    before = plaintexts()
    settings.FIELD_KEY_CURRENT = "t2"
    # When the rotation runs in batches smaller than the table
    out = rotate("--batch-size", "3")
    # Then every row and every ciphertext is under t2 and reads back the same
    assert "已将7位居民的个人信息重新加密为密钥t2" in out
    for resident in Resident.objects.all():
        assert resident.key_id == "t2"
        assert resident.id_ciphertext.startswith("t2:")
        assert resident.phone_ciphertext == "" or resident.phone_ciphertext.startswith("t2:")
    assert plaintexts() == before
    # And one access-log row records it, in an intact chain
    entry = AccessLogEntry.objects.get(action=AccessAction.ROTATE)
    assert (entry.object_type, entry.object_id, entry.detail) == ("resident", "*", {"count": 7, "to": "t2"})
    assert access_log_verify() == []


def test_rerun_after_rotation_changes_nothing(residents: list[Resident], settings: Any) -> None:
    # Given a completed rotation to t2
    settings.FIELD_KEY_CURRENT = "t2"
    rotate()
    after_first = list(Resident.objects.values_list("id_ciphertext", "phone_ciphertext", "updated_at"))
    # When it runs again
    out = rotate()
    # Then no row is touched and nothing more is logged
    assert "已将0位居民" in out
    assert list(Resident.objects.values_list("id_ciphertext", "phone_ciphertext", "updated_at")) == after_first
    assert AccessLogEntry.objects.filter(action=AccessAction.ROTATE).count() == 1


def test_resumes_after_a_crash_half_way(residents: list[Resident], settings: Any) -> None:
    # Given a rotation that committed one batch of three and then died
    settings.FIELD_KEY_CURRENT = "t2"
    first = list(Resident.objects.order_by("pk").values(*SNAPSHOT_FIELDS)[:3])
    assert rotate_batch(first, target="t2", reindex=False).rotated == 3
    # When the command is started again, then it finishes only the remaining four
    assert "已将4位居民" in rotate()
    assert set(Resident.objects.values_list("key_id", flat=True)) == {"t2"}


def test_row_changed_during_the_batch_is_left_to_the_writer(residents: list[Resident], settings: Any) -> None:
    # Given a batch snapshot taken by the rotation
    settings.FIELD_KEY_CURRENT = "t2"
    rows = list(Resident.objects.order_by("pk").values(*SNAPSHOT_FIELDS))
    # And a normal write that changes one person's phone before the batch is written
    changed = residents[0]
    new_phone = field_encrypt("13911112222", field="phone")
    Resident.objects.filter(pk=changed.pk).update(phone_ciphertext=new_phone, key_id="t2")
    # When the batch is written
    outcome = rotate_batch(rows, target="t2", reindex=False)
    # Then the concurrent write survives and the row is counted as skipped
    assert (outcome.rotated, outcome.skipped) == (6, 1)
    assert Resident.objects.get(pk=changed.pk).phone_ciphertext == new_phone


def test_row_left_half_under_the_old_key_is_still_rotated(residents: list[Resident], settings: Any) -> None:
    # Given a row whose key_id says t2 but whose phone ciphertext is still under t1
    settings.FIELD_KEY_CURRENT = "t2"
    odd = residents[0]
    Resident.objects.filter(pk=odd.pk).update(
        key_id="t2", id_ciphertext=field_encrypt(id_number(0), key_id="t2", field="id")
    )
    # When the rotation runs, then the t1 phone ciphertext is caught as well
    rotate()
    assert Resident.objects.get(pk=odd.pk).phone_ciphertext.startswith("t2:")
    assert field_decrypt(Resident.objects.get(pk=odd.pk).phone_ciphertext, field="phone") == "13900000000"


def test_explicit_target_key_and_unknown_key(residents: list[Resident]) -> None:
    # Rotating to a configured, non-current key works (e.g. to roll back) ...
    out = StringIO()
    call_command("rotate_field_keys", "--to", "t2", stdout=out, stderr=StringIO())
    assert set(Resident.objects.values_list("key_id", flat=True)) == {"t2"}
    # ... an unconfigured one is refused before anything is touched.
    with pytest.raises(CommandError, match="密钥“t9”未在GRIDGOV_FIELD_KEYS中配置"):
        call_command("rotate_field_keys", "--to", "t9")
    with pytest.raises(CommandError, match="必须为正整数"):
        call_command("rotate_field_keys", "--batch-size", "0")


def test_undecryptable_row_is_reported_and_the_rest_rotated(residents: list[Resident], settings: Any) -> None:
    # Given one row whose ciphertext is corrupt
    broken = residents[3]
    Resident.objects.filter(pk=broken.pk).update(id_ciphertext="t1:AAAA")
    settings.FIELD_KEY_CURRENT = "t2"
    # When the rotation runs, then it names the row and exits non-zero, having rotated the others
    with pytest.raises(CommandError, match=f"1条记录无法解密.*居民编号：{broken.pk}"):
        rotate()
    assert Resident.objects.filter(key_id="t2").count() == 6
    assert AccessLogEntry.objects.get(action=AccessAction.ROTATE).detail["count"] == 6


def test_reindex_rebuilds_blind_indexes_after_the_index_key_changed(residents: list[Resident], settings: Any) -> None:
    # Given a new blind-index key: lookups by the old indexes no longer match
    settings.BLIND_INDEX_KEY = NEW_INDEX_KEY
    target = id_number(4)
    assert not Resident.objects.filter(id_index=blind_index(target, kind="id")).exists()
    # When the indexes are rebuilt
    rotate("--reindex", "--batch-size", "2")
    # Then exact lookups by ID number and phone work again
    assert Resident.objects.get(id_index=blind_index(target, kind="id")).name == "居民4"
    assert Resident.objects.get(phone_index=blind_index("13900000004", kind="phone")).name == "居民4"
    assert set(Resident.objects.filter(phone_ciphertext="").values_list("phone_index", flat=True)) == {""}
    entry = AccessLogEntry.objects.get(action=AccessAction.ROTATE)
    assert entry.detail == {"count": 7, "to": "t1", "reindex": True}
