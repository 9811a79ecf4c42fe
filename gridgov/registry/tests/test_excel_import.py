"""Excel import services: validation with row/column errors, all-or-nothing and valid-rows commits,
re-import by ID number, file-type and size refusals, the row limit, crash recovery."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from gridgov.accounts.models import User
from gridgov.areas.models import Area
from gridgov.registry import importing
from gridgov.registry.choices import ImportMode, ImportStatus
from gridgov.registry.crypto import blind_index, field_decrypt
from gridgov.registry.excel import DATA_SHEET, HEADERS
from gridgov.registry.models import Household, RegistryImport, Resident
from gridgov.registry.services import ID_INDEX_KIND, HouseholdSpec, ResidentSpec, household_create, resident_register
from gridgov.registry.tests.conftest import RegistryData, make_id_number
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db

# ------------------------------------------------------------------ helpers


def person(
    name: str,
    id_number: str,
    relation: str = "户主",
    *,
    compound: str = "测试1街道第1社区1号网格小区",
    building: str = "1号楼",
    unit: str = "1单元",
    room: str = "101",
    address: str | None = None,
    household_tags: str = "",
    phone: str = "",
    residence: str = "",
    party: str = "",
    employment: str = "",
    person_tags: str = "",
) -> list[Any]:
    """One row in template column order; the address defaults to compound+building+unit+room."""
    return [
        compound,
        building,
        unit,
        room,
        address if address is not None else f"{compound}{building}{unit}{room}",
        household_tags,
        name,
        id_number,
        relation,
        phone,
        residence,
        party,
        employment,
        person_tags,
    ]


def xlsx(rows: Sequence[Sequence[Any]], *, headers: Sequence[str] = HEADERS, template: bytes | None = None) -> bytes:
    """A workbook with `rows` under the header row (appended to the downloaded template if given)."""
    if template is not None:
        workbook = load_workbook(io.BytesIO(template))
        sheet = workbook[DATA_SHEET]
    else:
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = DATA_SHEET
        sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload_and_validate(
    actor: Any, area: Area, content: bytes, mode: str = ImportMode.ALL_OR_NOTHING
) -> RegistryImport:
    registry_import = importing.registry_import_upload(
        actor=actor, area=area, filename="台账.xlsx", content=content, mode=mode
    )
    importing.registry_import_validate(registry_import.pk)
    registry_import.refresh_from_db()
    return registry_import


def commit(actor: Any, registry_import: RegistryImport, mode: str) -> RegistryImport:
    importing.registry_import_commit_request(actor=actor, registry_import=registry_import, mode=mode)
    importing.registry_import_commit(registry_import.pk)
    registry_import.refresh_from_db()
    return registry_import


def messages_by_row(registry_import: RegistryImport) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for error in registry_import.errors:
        found.setdefault(error["row"], []).append((error["column"], error["message"]))
    return found


def current(id_number: str) -> Resident:
    return Resident.objects.get(
        id_index=blind_index(id_number, kind=ID_INDEX_KIND), moved_out_on__isnull=True, died_on__isnull=True
    )


# -------------------------------------------------------------------- tests


def test_clean_file_commits_all_rows_encrypted_in_one_go(tree: AreaTree, personas: dict[str, User]) -> None:
    # given a clean file of two households (3 people) for grid 0
    ids = [make_id_number(101), make_id_number(102, male=False), make_id_number(103, birth="20100601")]
    content = xlsx(
        [
            person("赵一", ids[0], household_tags="党员中心户", phone="138 0000 1234", party="是"),
            person("钱二", ids[1], "配偶", person_tags="退役军人、低收入"),
            person("孙三", ids[2], building="2号楼", room="502", residence="人在户不在"),
        ]
    )
    # when it is validated
    registry_import = upload_and_validate(personas["grid_worker"], tree.grids[0], content)
    # then the preview has no errors and predicts three new people
    assert registry_import.status == ImportStatus.VALIDATED
    assert (registry_import.total_rows, registry_import.error_rows, registry_import.created_count) == (3, 0, 3)
    # when it is committed all-or-nothing
    registry_import = commit(personas["grid_worker"], registry_import, ImportMode.ALL_OR_NOTHING)
    # then households and residents exist, encrypted, indexed, tagged; the stored file is gone
    assert registry_import.status == ImportStatus.DONE, registry_import.message
    assert (registry_import.created_count, registry_import.updated_count) == (3, 0)
    assert bytes(registry_import.content) == b""
    assert Household.objects.filter(grid=tree.grids[0]).count() == 2
    zhao = current(ids[0])
    assert ids[0] not in zhao.id_ciphertext and field_decrypt(zhao.id_ciphertext, field="id") == ids[0]
    assert field_decrypt(zhao.phone_ciphertext, field="phone") == "13800001234" and zhao.phone_masked == "138****1234"
    assert zhao.is_party_member and zhao.relation == "head"
    assert [t.code for t in zhao.household.tags.all()] == ["party_lead"]
    assert zhao.household.building == tree.buildings[0]
    assert {t.code for t in current(ids[1]).tags.all()} == {"veteran", "low_income"}
    assert current(ids[1]).household_id == zhao.household_id
    sun = current(ids[2])
    assert sun.residence == "not_registered_living" and sun.household.building == tree.buildings[1]


def test_every_bad_row_is_reported_by_row_and_column_and_nothing_is_written(
    tree: AreaTree, registry: RegistryData, personas: dict[str, User]
) -> None:
    # given a file with one good row and a bad one of every kind
    good = make_id_number(201)
    wrong_check = make_id_number(202)[:17] + ("0" if make_id_number(202)[17] != "0" else "1")
    content = xlsx(
        [
            person("好人", good),  # row 2
            person("校验错", wrong_check, room="102"),  # 3
            person("", make_id_number(203), room="103"),  # 4: blank name
            person("无楼", make_id_number(204), building="9号楼", room="104"),  # 5
            person("重复", good, "子女"),  # 6: duplicate of row 2
            person("外区", make_id_number(3), room="106"),  # 7: registered in grid 1 (fixture)
            person("坏手机", make_id_number(205), room="107", phone="12345"),  # 8
            person("坏标签", make_id_number(206), room="108", person_tags="不存在的标签"),  # 9
            person("坏关系", make_id_number(207), "邻居", room="109"),  # 10
            person("数字号", 370281198001010000.0, room="110"),  # 11: stored by Excel as a number
            person("二户主", make_id_number(208)),  # 12: second head of row 2's household
            person("日期错", "370281198013010012", room="111"),  # 13
        ]
    )
    residents_before, households_before = Resident.objects.count(), Household.objects.count()
    # when it is validated
    registry_import = upload_and_validate(personas["grid_worker"], tree.grids[0], content)
    # then each bad row has a clear Chinese message on the right column, and the good row none
    rows = messages_by_row(registry_import)
    assert 2 not in rows
    assert (registry_import.total_rows, registry_import.error_rows) == (12, 11)
    assert rows[3][0][0] == "身份证号" and "校验位错误" in rows[3][0][1]
    assert rows[4] == [("姓名", "“姓名”不能为空。")]
    assert rows[5][0][0] == "楼栋" and "找不到" in rows[5][0][1] and "9号楼" in rows[5][0][1]
    assert rows[6][0][0] == "身份证号" and "与第2行重复" in rows[6][0][1]
    assert rows[7][0][0] == "身份证号" and "导入范围以外" in rows[7][0][1]
    assert rows[8][0][0] == "手机号" and "格式不正确" in rows[8][0][1]
    assert rows[9][0][0] == "人员标签" and "不存在的标签" in rows[9][0][1]
    assert rows[10][0][0] == "与户主关系" and "邻居" in rows[10][0][1]
    assert rows[11][0][0] == "身份证号" and "文本格式" in rows[11][0][1]
    assert rows[12][0][0] == "与户主关系" and "第2行" in rows[12][0][1]
    assert rows[13][0][0] == "身份证号" and "出生日期" in rows[13][0][1]
    # and all-or-nothing is refused, leaving the database as it was
    with pytest.raises(ValidationError, match="11行错误"):
        importing.registry_import_commit_request(
            actor=personas["grid_worker"], registry_import=registry_import, mode=ImportMode.ALL_OR_NOTHING
        )
    registry_import.refresh_from_db()
    assert registry_import.status == ImportStatus.VALIDATED
    assert (Resident.objects.count(), Household.objects.count()) == (residents_before, households_before)


def test_valid_rows_mode_imports_only_the_good_rows(tree: AreaTree, personas: dict[str, User]) -> None:
    good = [make_id_number(301), make_id_number(302, male=False)]
    content = xlsx(
        [
            person("甲", good[0]),
            person("乙", "11010519491231002Y", "配偶"),
            person("丙", good[1], "配偶"),
            person("丁", make_id_number(303), building="不存在", room="9"),
        ]
    )
    registry_import = upload_and_validate(personas["grid_worker"], tree.grids[0], content, ImportMode.VALID_ROWS)
    assert registry_import.error_rows == 2
    registry_import = commit(personas["grid_worker"], registry_import, ImportMode.VALID_ROWS)
    assert registry_import.status == ImportStatus.DONE
    assert (registry_import.created_count, registry_import.error_rows) == (2, 2)
    assert "有错误的2行未导入" in registry_import.message
    assert set(Resident.objects.values_list("name", flat=True)) == {"甲", "丙"}


def test_reimport_updates_by_id_number_and_never_duplicates(tree: AreaTree, personas: dict[str, User]) -> None:
    worker = personas["grid_worker"]
    ids = [make_id_number(401), make_id_number(402, male=False)]
    first = [
        person("周大", ids[0], phone="13800000001", person_tags="退役军人", employment="胶州机械厂"),
        person("吴二", ids[1], "配偶", party="是"),
    ]
    commit(worker, upload_and_validate(worker, tree.grids[0], xlsx(first)), ImportMode.ALL_OR_NOTHING)
    created_at = current(ids[0]).created_at
    # when the same people are imported again with changes (and blank cells)
    again = [
        person("周大伟", ids[0], phone="13900000009", person_tags="低收入", household_tags="低保户"),
        person("吴二", ids[1], "配偶", party="否", residence="户在人不在"),
    ]
    registry_import = commit(worker, upload_and_validate(worker, tree.grids[0], xlsx(again)), ImportMode.ALL_OR_NOTHING)
    # then they are updated in place, not registered twice
    assert (registry_import.created_count, registry_import.updated_count) == (0, 2)
    assert Resident.objects.count() == 2 and Household.objects.count() == 1
    zhou = current(ids[0])
    assert zhou.created_at == created_at
    assert zhou.name == "周大伟" and zhou.name_initials == "zdw"
    assert field_decrypt(zhou.phone_ciphertext, field="phone") == "13900000009"
    assert [t.code for t in zhou.tags.all()] == ["low_income"]
    assert zhou.employment == "胶州机械厂"  # blank cell keeps the stored value
    assert [t.code for t in zhou.household.tags.all()] == ["dibao"]
    wu = current(ids[1])
    assert (wu.is_party_member, wu.residence) == (False, "registered_away")


def test_person_registered_in_another_household_of_the_area_moves_and_keeps_hidden_tags(
    tree: AreaTree, registry: RegistryData, personas: dict[str, User]
) -> None:
    # given 李秀英 in household A carrying 社区矫正对象, which town staff may not see
    spouse_id = make_id_number(2, male=False, birth="19820315")
    old = current(spouse_id)
    assert {t.code for t in old.tags.all()} == {"community_correction"}
    town_staff = personas["town_staff"]
    # when town staff import her into another address of grid 0, with a visible tag
    row = person("李秀英", spouse_id, "户主", room="909", person_tags="低收入", phone="13600006666")
    registry_import = upload_and_validate(town_staff, tree.grids[0], xlsx([row]))
    assert "1人从本范围内其他户迁入" in registry_import.message
    registry_import = commit(town_staff, registry_import, ImportMode.ALL_OR_NOTHING)
    # then the old row is moved out (history kept) and a new row lives at the new address
    old.refresh_from_db()
    assert old.moved_out_on == timezone.localdate()
    moved = current(spouse_id)
    assert moved.pk != old.pk and moved.moved_in_on == timezone.localdate()
    assert moved.household.room == "909" and moved.household_id != registry.household_a.pk
    assert {t.code for t in moved.tags.all()} == {"low_income", "community_correction"}
    assert (registry_import.created_count, registry_import.updated_count) == (0, 1)
    # and a tag the uploader cannot see is an unknown tag to them
    hidden = xlsx([person("李秀英", spouse_id, room="909", person_tags="社区矫正对象")])
    assert "未知的标签" in upload_and_validate(town_staff, tree.grids[0], hidden).errors[0]["message"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "旧版Excel（.xls）"),
        ("姓名,身份证号\n张三,110105194912310021\n".encode(), "不是Excel工作簿"),
        (b"", "文件是空的"),
    ],
    ids=["xls", "csv", "empty"],
)
def test_files_that_are_not_xlsx_are_refused_and_nothing_is_stored(
    tree: AreaTree, personas: dict[str, User], content: bytes, expected: str
) -> None:
    with pytest.raises(ValidationError, match=expected):
        importing.registry_import_upload(
            actor=personas["grid_worker"], area=tree.grids[0], filename="台账.xls", content=content
        )
    assert not RegistryImport.objects.exists()


def test_a_zip_that_is_not_a_workbook_is_refused(tree: AreaTree, personas: dict[str, User]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(ValidationError, match="不是有效的Excel工作簿"):
        importing.registry_import_upload(
            actor=personas["grid_worker"], area=tree.grids[0], filename="a.xlsx", content=buffer.getvalue()
        )
    assert not RegistryImport.objects.exists()


def test_a_wrong_header_row_is_refused_with_the_column_named(tree: AreaTree, personas: dict[str, User]) -> None:
    headers = list(HEADERS)
    headers[7] = "身份证"
    with pytest.raises(ValidationError, match="第8列应为“身份证号”，实为“身份证”"):
        importing.registry_import_upload(
            actor=personas["grid_worker"], area=tree.grids[0], filename="a.xlsx", content=xlsx([], headers=headers)
        )
    assert not RegistryImport.objects.exists()


def test_a_file_over_the_size_limit_is_refused(
    tree: AreaTree, personas: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importing, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(ValidationError, match="超过了"):
        importing.registry_import_upload(
            actor=personas["grid_worker"], area=tree.grids[0], filename="a.xlsx", content=xlsx([])
        )
    assert not RegistryImport.objects.exists()


def test_more_rows_than_the_limit_fail_clearly_and_write_nothing(
    tree: AreaTree, personas: dict[str, User], settings: Any
) -> None:
    # given a limit of 5 rows (the real one is 100,000) and a file of 6
    settings.REGISTRY_IMPORT_MAX_ROWS = 5
    content = xlsx([person(f"人{i}", make_id_number(500 + i), room=str(i)) for i in range(6)])
    registry_import = upload_and_validate(personas["grid_worker"], tree.grids[0], content)
    # then the import fails with the limit named, the file is dropped, nothing is written
    assert registry_import.status == ImportStatus.FAILED
    assert "超过5行的上限" in registry_import.message and "拆分" in registry_import.message
    assert bytes(registry_import.content) == b""
    assert not Resident.objects.exists() and not Household.objects.exists()


def test_all_or_nothing_rolls_everything_back_when_the_database_changed_after_the_preview(
    tree: AreaTree, personas: dict[str, User]
) -> None:
    worker = personas["grid_worker"]
    ids = [make_id_number(601 + i) for i in range(4)]
    registry_import = upload_and_validate(
        worker, tree.grids[0], xlsx([person(f"人{i}", id_number, room=str(i)) for i, id_number in enumerate(ids)])
    )
    assert registry_import.error_rows == 0
    # when, between preview and commit, the last person is registered in grid 1 by someone else
    elsewhere = household_create(actor=None, spec=HouseholdSpec(grid=tree.grids[1], address="别处1号"))
    resident_register(actor=None, spec=ResidentSpec(household=elsewhere, name="人3", id_number=ids[3]))
    registry_import = commit(worker, registry_import, ImportMode.ALL_OR_NOTHING)
    # then nothing of the file is written and the new error is shown for a new choice
    assert registry_import.status == ImportStatus.VALIDATED
    assert registry_import.error_rows == 1 and registry_import.errors[0]["row"] == 5
    assert "全部撤销" in registry_import.message
    assert not Household.objects.filter(grid=tree.grids[0]).exists()
    assert Resident.objects.count() == 1


def test_valid_rows_commit_continues_after_a_crash_without_duplicates(
    tree: AreaTree, personas: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given chunks of 3 rows and a file of 8 people in 4 households spread over the chunks
    monkeypatch.setattr(importing, "CHUNK_ROWS", 3)
    worker = personas["grid_worker"]
    rows = [person(f"人{i}", make_id_number(700 + i), "户主" if i < 4 else "子女", room=str(i % 4)) for i in range(8)]
    registry_import = upload_and_validate(worker, tree.grids[0], xlsx(rows), ImportMode.VALID_ROWS)
    importing.registry_import_commit_request(actor=worker, registry_import=registry_import, mode=ImportMode.VALID_ROWS)
    # when the worker process dies while writing the second chunk
    original = importing._Writer.write
    calls = {"n": 0}

    def dying(self: Any, chunk: Any, counts: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        original(self, chunk, counts)

    monkeypatch.setattr(importing._Writer, "write", dying)
    with pytest.raises(SystemExit):
        importing.registry_import_commit(registry_import.pk)
    registry_import.refresh_from_db()
    assert (registry_import.status, registry_import.processed_rows) == (ImportStatus.COMMITTING, 3)
    assert Resident.objects.count() == 3
    # and the task runs again
    monkeypatch.setattr(importing._Writer, "write", original)
    importing.registry_import_commit(registry_import.pk)
    # then every person is there once, in 4 households, and the counts add up
    registry_import.refresh_from_db()
    assert registry_import.status == ImportStatus.DONE
    assert (registry_import.created_count, registry_import.updated_count) == (8, 0)
    assert Resident.objects.count() == 8 and Household.objects.count() == 4
    # and running the finished task once more changes nothing
    importing.registry_import_commit(registry_import.pk)
    assert Resident.objects.count() == 8


def test_community_import_finds_each_building_in_its_grid(tree: AreaTree, personas: dict[str, User]) -> None:
    staff = personas["community_staff"]
    rows = [
        person("一格", make_id_number(801)),
        person("二格", make_id_number(802), compound="测试1街道第1社区2号网格小区", building="2号楼"),
        person("无址", make_id_number(803), compound="", building="", room="5", address="散居5号"),
    ]
    registry_import = upload_and_validate(staff, tree.communities[0], xlsx(rows), ImportMode.VALID_ROWS)
    assert [(e["row"], e["column"]) for e in registry_import.errors] == [(4, "小区")]
    commit(staff, registry_import, ImportMode.VALID_ROWS)
    assert current(make_id_number(801)).household.grid == tree.grids[0]
    assert current(make_id_number(802)).household.grid == tree.grids[1]
    assert current(make_id_number(802)).household.building == tree.buildings[3]


def test_a_grid_import_may_leave_compound_and_building_blank(tree: AreaTree, personas: dict[str, User]) -> None:
    worker = personas["grid_worker"]
    row = person("散户", make_id_number(811), compound="", building="", unit="", room="7", address="村东7号")
    commit(worker, upload_and_validate(worker, tree.grids[0], xlsx([row])), ImportMode.ALL_OR_NOTHING)
    household = current(make_id_number(811)).household
    assert (household.grid, household.building, household.address) == (tree.grids[0], None, "村东7号")


def test_only_grids_and_communities_in_scope_accept_imports(tree: AreaTree, personas: dict[str, User]) -> None:
    with pytest.raises(ValidationError, match="只能按网格或社区导入"):
        importing.registry_import_upload(
            actor=personas["town_staff"], area=tree.towns[0], filename="a.xlsx", content=xlsx([])
        )
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        importing.registry_import_upload(
            actor=personas["grid_worker"], area=tree.grids[1], filename="a.xlsx", content=xlsx([])
        )


def test_the_stored_file_is_encrypted_and_dropped_on_cancel(tree: AreaTree, personas: dict[str, User]) -> None:
    id_number = make_id_number(901)
    content = xlsx([person("密文", id_number)])
    registry_import = importing.registry_import_upload(
        actor=personas["grid_worker"], area=tree.grids[0], filename="a.xlsx", content=content
    )
    stored = bytes(RegistryImport.objects.get(pk=registry_import.pk).content)
    assert stored.startswith(b"t1:") and content not in stored and not stored[3:].startswith(b"PK")
    assert importing.registry_import_cancel(actor=personas["grid_worker"], registry_import=registry_import)
    registry_import.refresh_from_db()
    assert registry_import.status == ImportStatus.CANCELLED and bytes(registry_import.content) == b""
    # a cancelled import is not validated any more
    importing.registry_import_validate(registry_import.pk)
    registry_import.refresh_from_db()
    assert registry_import.status == ImportStatus.CANCELLED


def test_imports_left_unfinished_for_a_week_are_cancelled_and_their_file_dropped(
    tree: AreaTree, personas: dict[str, User]
) -> None:
    worker = personas["grid_worker"]
    old = importing.registry_import_upload(actor=worker, area=tree.grids[0], filename="旧.xlsx", content=xlsx([]))
    fresh = importing.registry_import_upload(actor=worker, area=tree.grids[0], filename="新.xlsx", content=xlsx([]))
    RegistryImport.objects.filter(pk=old.pk).update(created_at=timezone.now() - importing.STALE_AFTER)
    importing.registry_imports_purge_stale()
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, bytes(old.content)) == (ImportStatus.CANCELLED, b"")
    assert fresh.status == ImportStatus.UPLOADED and bytes(fresh.content) != b""
