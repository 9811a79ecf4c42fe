"""Excel pages over HTTP: template round trip, upload refusals, scope (404), progress polling, export."""

from __future__ import annotations

import io
from io import StringIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.http import FileResponse
from django.test import Client
from openpyxl import load_workbook

from gridgov.accounts.models import User
from gridgov.registry import importing
from gridgov.registry.choices import ImportStatus
from gridgov.registry.crypto import blind_index, field_decrypt
from gridgov.registry.excel import BUILDINGS_SHEET, DATA_SHEET, HEADERS, INSTRUCTIONS_SHEET, TAGS_SHEET
from gridgov.registry.models import AccessLogEntry, Household, RegistryImport, Resident
from gridgov.registry.services import ID_INDEX_KIND
from gridgov.registry.tests.conftest import RegistryData, make_id_number
from gridgov.registry.tests.test_excel_import import person, xlsx
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db

PLAIN = [make_id_number(1), make_id_number(2, male=False, birth="19820315"), make_id_number(3)]
PHONES = ["13800001111", "13900002222", "13700003333"]


def as_user(client: Client, username: str) -> Client:
    client.force_login(User.objects.get(username=username))
    return client


def upload(
    client: Client, area_code: str, content: bytes, name: str = "台账.xlsx", mode: str = "all_or_nothing"
) -> Any:
    return client.post(
        "/registry/excel/",
        {"area": area_code, "mode": mode, "file": SimpleUploadedFile(name, content)},
    )


def workbook_of(response: Any) -> Any:
    body = b"".join(response.streaming_content) if isinstance(response, FileResponse) else response.content
    return load_workbook(io.BytesIO(body), read_only=True)


def all_cells(workbook: Any) -> list[str]:
    return [str(value) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for value in row]


def test_template_round_trip_creates_households_and_encrypted_residents(
    client: Client, tree: AreaTree, personas: dict[str, User]
) -> None:
    # given the grid worker's template for grid 0
    as_user(client, "grid_worker")
    grid = tree.grids[0]
    response = client.get(f"/registry/excel/template/?area={grid.code}")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    template = response.content
    book = load_workbook(io.BytesIO(template))
    assert book.sheetnames[:2] == [DATA_SHEET, INSTRUCTIONS_SHEET]
    assert [cell.value for cell in book[DATA_SHEET][1]] == list(HEADERS)
    lists = {str(dv.sqref)[0]: dv.formula1 for dv in book[DATA_SHEET].data_validations.dataValidation}
    assert "户主" in lists["I"] and "户在人在" in lists["K"] and lists["L"] == '"是,否"'
    assert tuple(r[2] for r in book[BUILDINGS_SHEET].iter_rows(min_row=2, values_only=True))[:1] == ("1号楼",)
    assert "社区矫正对象" in [r[1] for r in book[TAGS_SHEET].iter_rows(values_only=True)]  # granted to grid workers
    # when three households are filled in and uploaded
    ids = [make_id_number(11), make_id_number(12, male=False), make_id_number(13), make_id_number(14)]
    filled = xlsx(
        [
            person("刘一", ids[0], room="101", household_tags="党员中心户", phone="13811112222"),
            person("陈二", ids[1], "配偶", room="101"),
            person("杨三", ids[2], room="102"),
            person("黄四", ids[3], building="2号楼", room="201", person_tags="独居老人"),
        ],
        template=template,
    )
    response = upload(client, grid.code, filled)
    registry_import = RegistryImport.objects.get()
    assert response.status_code == 302 and response.url == f"/registry/excel/imports/{registry_import.pk}/"
    # and the worker validates it
    importing.registry_import_validate(registry_import.pk)
    preview = client.get(response.url).content.decode()
    assert "校验完成" in preview and "预计新增" in preview and "全部导入" in preview
    # and the user commits all of it, and the worker writes it
    assert (
        client.post(f"/registry/excel/imports/{registry_import.pk}/commit/", {"mode": "all_or_nothing"}).status_code
        == 302
    )
    importing.registry_import_commit(registry_import.pk)
    # then three households and four residents exist, with encrypted ID numbers
    registry_import.refresh_from_db()
    assert registry_import.status == ImportStatus.DONE
    assert Household.objects.filter(grid=grid).count() == 3
    assert Resident.objects.count() == 4
    for id_number in ids:
        resident = Resident.objects.get(id_index=blind_index(id_number, kind=ID_INDEX_KIND))
        assert (
            id_number not in resident.id_ciphertext and field_decrypt(resident.id_ciphertext, field="id") == id_number
        )
    result = client.get(f"/registry/excel/imports/{registry_import.pk}/").content.decode()
    assert "导入完成：新增4人" in result
    for id_number in ids:
        assert id_number not in result


def test_uploading_an_xls_file_explains_what_to_do_and_stores_nothing(
    client: Client, tree: AreaTree, personas: dict[str, User]
) -> None:
    as_user(client, "grid_worker")
    response = upload(client, tree.grids[0].code, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024, "台账.xls")
    assert response.status_code == 400
    assert "另存为”.xlsx格式" in response.content.decode()
    assert not RegistryImport.objects.exists()


def test_outsiders_get_404_for_other_areas_and_other_users_imports(
    client: Client, tree: AreaTree, personas: dict[str, User]
) -> None:
    # given an import of the community staff for their community
    registry_import = importing.registry_import_upload(
        actor=personas["community_staff"], area=tree.communities[0], filename="a.xlsx", content=xlsx([])
    )
    # when the grid worker of grid 0 tries another grid, and the other user's import
    as_user(client, "grid_worker")
    assert upload(client, tree.grids[1].code, xlsx([])).status_code == 404
    assert upload(client, "999999999", xlsx([])).status_code == 404
    assert client.get(f"/registry/excel/template/?area={tree.grids[1].code}").status_code == 404
    for url in (f"/registry/excel/imports/{registry_import.pk}/", "/registry/excel/imports/999999/"):
        assert client.get(url).status_code == 404
    assert (
        client.post(f"/registry/excel/imports/{registry_import.pk}/commit/", {"mode": "valid_rows"}).status_code == 404
    )
    assert client.post(f"/registry/excel/imports/{registry_import.pk}/cancel/").status_code == 404
    # then nothing changed; and the outsider (another town) sees nothing either
    assert RegistryImport.objects.get().status == ImportStatus.UPLOADED
    as_user(client, "outsider")
    assert upload(client, tree.communities[0].code, xlsx([])).status_code == 404
    assert RegistryImport.objects.count() == 1


def test_progress_is_polled_while_the_worker_runs_and_the_poll_stops_when_it_is_done(
    client: Client, tree: AreaTree, personas: dict[str, User]
) -> None:
    as_user(client, "grid_worker")
    upload(client, tree.grids[0].code, xlsx([person("进度", make_id_number(21))]))
    registry_import = RegistryImport.objects.get()
    url = f"/registry/excel/imports/{registry_import.pk}/"
    page = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in page and "已上传" in page
    RegistryImport.objects.filter(pk=registry_import.pk).update(
        status=ImportStatus.VALIDATING, processed_rows=2000, total_rows=8000
    )
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and 'hx-trigger="every 2s"' in partial
    assert "2000 / 8000" in partial and 'value="25"' in partial
    RegistryImport.objects.filter(pk=registry_import.pk).update(status=ImportStatus.UPLOADED)
    importing.registry_import_validate(registry_import.pk)
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "every 2s" not in partial and "校验完成" in partial
    # and the upload page lists the import among the user's recent ones
    assert "台账.xlsx" in client.get("/registry/excel/").content.decode()


def test_export_is_masked_scoped_to_the_user_and_logged(
    client: Client, tree: AreaTree, registry: RegistryData, personas: dict[str, User]
) -> None:
    # given the grid worker of grid 0
    as_user(client, "grid_worker")
    # when they export their list
    response = client.get("/registry/excel/export/", {"area": tree.grids[0].code})
    # then the xlsx has their two residents, masked, and nothing of grid 1
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    cells = all_cells(workbook_of(response))
    assert "张建国" in cells and "李秀英" in cells and "王小明" not in cells
    assert "3702**********" + PLAIN[0][-4:] in cells and "138****1111" in cells
    assert "社区矫正对象" in cells
    for plaintext in PLAIN + PHONES:
        assert not any(plaintext in cell for cell in cells)
    # and the export is in the access log with its filters and row count
    entry = AccessLogEntry.objects.get(action="export")
    assert (entry.object_type, entry.object_id, entry.actor_username) == (
        "household_list",
        tree.grids[0].code,
        "grid_worker",
    )
    assert entry.detail == {"filters": {"area": tree.grids[0].code}, "rows": 2, "households": 1}


def test_outsider_export_has_none_of_our_rows(
    client: Client, tree: AreaTree, registry: RegistryData, personas: dict[str, User]
) -> None:
    as_user(client, "outsider")
    for params in ({}, {"q": "张建国"}):
        cells = all_cells(workbook_of(client.get("/registry/excel/export/", params)))
        assert not {"张建国", "李秀英", "王小明"} & set(cells)
    assert AccessLogEntry.objects.filter(action="export", object_id="*").count() == 2
    # asking for an area outside the scope is the same 404 as an unknown area
    assert client.get("/registry/excel/export/", {"area": tree.grids[0].code}).status_code == 404
    assert client.get("/registry/excel/export/", {"area": "370281999999999"}).status_code == 404
    # and a role without people scope gets nothing at all
    as_user(client, "admin")
    assert client.get("/registry/excel/export/").status_code == 404


def test_export_leaves_out_tags_the_user_may_not_see(
    client: Client,
    tree: AreaTree,
    registry: RegistryData,
    personas: dict[str, User],
    django_assert_max_num_queries: Any,
) -> None:
    as_user(client, "town_staff")
    with django_assert_max_num_queries(20):
        cells = all_cells(workbook_of(client.get("/registry/excel/export/")))
    assert "李秀英" in cells and "王小明" in cells
    assert "社区矫正对象" not in cells and "退役军人" in cells


# The worker closes stale connections between rounds; this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_the_worker_picks_up_an_upload_and_validates_it(
    client: Client, tree: AreaTree, personas: dict[str, User]
) -> None:
    as_user(client, "grid_worker")
    assert upload(client, tree.grids[0].code, xlsx([person("后台", make_id_number(31))])).status_code == 302
    call_command("run_worker", "--once", stdout=StringIO())
    registry_import = RegistryImport.objects.get()
    assert registry_import.status == ImportStatus.VALIDATED and registry_import.total_rows == 1


def test_export_writes_formula_like_text_as_text(
    client: Client, tree: AreaTree, registry: RegistryData, personas: dict[str, User]
) -> None:
    # given a name that Excel would run as a formula (it came in through an upload)
    Resident.objects.filter(pk=registry.head_a.pk).update(name='=HYPERLINK("http://example.com","点我")')
    as_user(client, "grid_worker")
    response = client.get("/registry/excel/export/")
    body = b"".join(response.streaming_content)
    # then the cell is a plain string, not a formula
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    cells = [cell for row in sheet.iter_rows() for cell in row if str(cell.value).startswith("=")]
    assert [(cell.value, cell.data_type) for cell in cells] == [('=HYPERLINK("http://example.com","点我")', "s")]
