"""The SM3-chained access log and `manage.py verify_access_log`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gridgov.registry.access_log import GENESIS_HASH, access_log_append, access_log_verify, entry_hash
from gridgov.registry.choices import AccessAction
from gridgov.registry.models import AccessLogEntry, AccessLogHead
from gridgov.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def append_entries(count: int) -> list[AccessLogEntry]:
    actor = UserFactory(username="reader")
    return [
        access_log_append(
            actor=actor,
            action=AccessAction.REVEAL,
            object_type="resident",
            object_id=number,
            purpose="入户走访核实身份",
            detail={"n": number, "字段": ["身份证号"]},
        )
        for number in range(1, count + 1)
    ]


def verify() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("verify_access_log", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def verify_fails() -> tuple[str, str]:
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("verify_access_log", stdout=StringIO(), stderr=err)
    return str(caught.value), err.getvalue()


def test_appends_form_a_chain_from_genesis() -> None:
    # When four rows are appended
    entries = append_entries(4)
    # Then they are numbered 1..4, each linked to the hash of the one before
    assert [entry.seq for entry in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.row_hash
    assert len({entry.row_hash for entry in entries}) == 4
    # And the head points at the last one
    head = AccessLogHead.objects.get(id=1)
    assert (head.seq, head.row_hash) == (4, entries[-1].row_hash)


def test_stored_rows_verify_after_a_round_trip_through_the_database() -> None:
    append_entries(3)
    assert access_log_verify() == []


def test_command_prints_ok_and_the_head_to_anchor() -> None:
    # Given an intact log
    entries = append_entries(3)
    # When it is verified
    out, err = verify()
    # Then a Chinese OK line names the count and the head to keep elsewhere
    assert "访问日志完整：共3条记录" in out
    assert f"3:{entries[-1].row_hash}" in out
    assert err == ""


def test_command_on_an_empty_log_is_ok() -> None:
    out, _ = verify()
    assert "尚无记录" in out


def test_quiet_command_prints_nothing_when_intact() -> None:
    append_entries(2)
    out = StringIO()
    call_command("verify_access_log", "--quiet", stdout=out)
    assert out.getvalue() == ""


def test_edited_purpose_is_found() -> None:
    # Given a DBA rewrites the purpose of row 2 behind the application's back
    append_entries(4)
    AccessLogEntry.objects.filter(seq=2).update(purpose="无")
    # When the log is verified
    error, err = verify_fails()
    # Then row 2, and only row 2, is reported as tampered with
    assert "涉及序号：2。" in error
    assert "访问日志第2条：记录内容与其哈希不符（记录被篡改）。" in err


def test_edited_detail_is_found() -> None:
    append_entries(3)
    AccessLogEntry.objects.filter(seq=3).update(detail={"n": 3, "字段": []})
    error, _ = verify_fails()
    assert "涉及序号：3。" in error


def test_deleted_middle_row_is_found() -> None:
    # Given row 3 of 5 deleted
    append_entries(5)
    AccessLogEntry.objects.filter(seq=3).delete()
    # When the log is verified
    error, err = verify_fails()
    # Then the gap is named at the row after it
    assert "涉及序号：4。" in error
    assert "序号不连续：应为3，实为4" in err
    assert "访问日志第4条：与前一条记录的哈希链接不符" in err


def test_deleted_last_row_is_found() -> None:
    # Given the last row deleted (no row after it to notice the gap)
    append_entries(3)
    AccessLogEntry.objects.filter(seq=3).delete()
    # When the log is verified, then the head still remembers row 3
    error, err = verify_fails()
    assert "涉及序号：3。" in error
    assert "链头记录到第3条，但日志中没有这一条" in err


def test_deleted_head_row_is_found() -> None:
    append_entries(2)
    AccessLogHead.objects.all().delete()
    error, err = verify_fails()
    assert "链头记录缺失" in err
    assert "发现1处问题" in error


def test_swapped_rows_are_found() -> None:
    # Given rows 2 and 3 swapped by renumbering them
    append_entries(4)
    AccessLogEntry.objects.filter(seq=2).update(seq=-2)
    AccessLogEntry.objects.filter(seq=3).update(seq=2)
    AccessLogEntry.objects.filter(seq=-2).update(seq=3)
    # When the log is verified, then both are named (and row 4, whose link now points at the wrong row)
    error, err = verify_fails()
    assert "涉及序号：2、3、4。" in error
    assert "访问日志第2条：记录内容与其哈希不符" in err
    assert "访问日志第3条：记录内容与其哈希不符" in err


def test_rebuilt_chain_passes_alone_but_fails_against_an_anchor() -> None:
    # Given the head recorded elsewhere after a clean verification
    append_entries(3)
    head = AccessLogHead.objects.get(id=1)
    anchor = f"{head.seq}:{head.row_hash}"
    # When someone edits row 2 and recomputes every hash after it, as SM3 has no key
    entry = AccessLogEntry.objects.get(seq=2)
    entry.purpose = "无"
    entry.row_hash = entry_hash(entry, entry.prev_hash)
    entry.save()
    third = AccessLogEntry.objects.get(seq=3)
    third.prev_hash = entry.row_hash
    third.row_hash = entry_hash(third, third.prev_hash)
    third.save()
    AccessLogHead.objects.filter(id=1).update(row_hash=third.row_hash)
    # Then the chain alone looks intact, but the anchor gives it away
    assert access_log_verify() == []
    err = StringIO()
    with pytest.raises(CommandError, match="涉及序号：3。"):
        call_command("verify_access_log", "--anchor", anchor, stderr=err)
    assert "哈希与已记录的锚点不符" in err.getvalue()


def test_anchor_must_look_like_seq_colon_hash() -> None:
    with pytest.raises(CommandError, match="锚点“abc”格式不正确"):
        call_command("verify_access_log", "--anchor", "abc")


def test_append_after_tampering_keeps_reporting_the_tampered_row() -> None:
    # Appends keep chaining from the head, so later rows do not hide an earlier edit.
    append_entries(2)
    AccessLogEntry.objects.filter(seq=1).update(object_id="999")
    access_log_append(actor=None, action=AccessAction.VIEW, object_type="resident", object_id=1)
    problems = access_log_verify()
    assert [problem.seq for problem in problems] == [1]
