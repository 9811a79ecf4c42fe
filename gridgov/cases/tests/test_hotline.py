"""The 12345 hotline hand-off: the .xlsx import command and `POST /api/v1/cases/hotline`."""

from __future__ import annotations

import json
from datetime import datetime
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import Workbook

from gridgov.accounts.services import api_token_issue
from gridgov.areas.selectors import grid_index_invalidate
from gridgov.cases.choices import CaseSource, Urgency
from gridgov.cases.models import Case
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db

HEADERS = [
    "工单编号", "受理时间", "诉求类型", "事项类别", "标题", "诉求内容", "紧急程度",
    "经度", "纬度", "所属网格", "地址", "来电人", "来电号码", "是否匿名",
]  # fmt: skip
PHONE = "13800001111"


@pytest.fixture(autouse=True)
def _fresh_grid_index() -> None:
    """The point-in-grid index is cached per process; each test builds its own area tree."""
    grid_index_invalidate()


def order_row(tree: AreaTree, number: str, **overrides: Any) -> list[Any]:
    """One row of the hotline's export: a noise complaint in the first grid."""
    values: dict[str, Any] = {
        "工单编号": number,
        "受理时间": datetime(2024, 9, 4, 9, 30),  # noqa: DTZ001 (Excel cells carry no time zone)
        "诉求类型": "投诉",
        "事项类别": "0602",
        "标题": "夜间装修噪音",
        "诉求内容": "3号楼每晚十点后仍在装修。",
        "紧急程度": "一般",
        "经度": None,
        "纬度": None,
        "所属网格": tree.grids[0].code,
        "地址": "3号楼",
        "来电人": "王女士",
        "来电号码": PHONE,
        "是否匿名": "否",
    }
    values.update(overrides)
    return [values[header] for header in HEADERS]


def workbook(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run_import(path: Path, username: str) -> str:
    out = StringIO()
    call_command("import_hotline", str(path), "--as", username, stdout=out)
    return out.getvalue()


def run_failing_import(path: Path, username: str) -> tuple[str, str]:
    out = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_hotline", str(path), "--as", username, stdout=out)
    return out.getvalue(), str(failure.value)


def test_the_command_imports_a_file_and_a_second_import_creates_nothing(tmp_path, tree, personas):
    # Given an export with two orders: one by grid code, one anonymous, urgent, by coordinates and category name
    file = tmp_path / "orders.xlsx"
    file.write_bytes(
        workbook(
            [
                order_row(tree, "GD20240904001"),
                order_row(
                    tree,
                    "GD20240904002",
                    事项类别="噪音扰民",
                    紧急程度="紧急",
                    经度=119.915,
                    纬度=36.195,
                    所属网格=None,
                    是否匿名="是",
                ),
            ]
        )
    )
    # When command-centre staff import it
    output = run_import(file, "command")
    # Then two hotline cases exist, keyed by their order numbers, and no phone is printed
    assert output.strip() == "共2条工单：新建事项2件，此前已导入0件，错误0处。"
    first, second = Case.objects.order_by("external_ref")
    assert (first.source, first.external_ref, first.grid) == (CaseSource.HOTLINE, "GD20240904001", tree.grids[0])
    assert (second.grid, second.urgency, second.is_anonymous) == (tree.grids[1], Urgency.URGENT, True)
    assert second.category.code == "0602" and first.reporter_phone_masked == "138****1111"
    assert "12345受理时间：2024-09-04 09:30" in first.description
    # When the same file is imported again
    again = run_import(file, "command")
    # Then nothing new is created
    assert again.strip() == "共2条工单：新建事项0件，此前已导入2件，错误0处。"
    assert Case.objects.count() == 2


def test_row_errors_name_the_row_and_column_and_skip_only_those_rows(tmp_path, tree, personas):
    # Given an export with one good order and one problem in each other row
    file = tmp_path / "orders.xlsx"
    file.write_bytes(
        workbook(
            [
                order_row(tree, "A1"),
                order_row(tree, "A2", 标题=None),
                order_row(tree, "A3", 事项类别="不存在的类别"),
                order_row(tree, "A4", 来电号码="1380000111"),
                order_row(tree, "A5", 诉求类型="表扬"),
                order_row(tree, "A1"),
                order_row(tree, "A7", 所属网格=None),
                order_row(tree, "A8", 所属网格=None, 经度="东经120度", 纬度=36.195),
                order_row(tree, "A9", 所属网格="370281999999999", 是否匿名="也许"),
            ]
        )
    )
    # When it is imported
    output, failure = run_failing_import(file, "command")
    # Then the good order is a case and every problem is listed by row and column
    assert Case.objects.get().external_ref == "A1"
    lines = output.strip().splitlines()
    assert lines == [
        "共9条工单：新建事项1件，此前已导入0件，错误9处。",
        "第3行【标题】：必填，不能为空。",
        "第4行【事项类别】：事项类别不存在或已停用，请填写类别编码（如0101）或类别名称。",
        "第5行【来电号码】：格式不正确，应为11位手机号或带区号的固定电话。",
        "第6行【诉求类型】：应为咨询、投诉、建议或求助。",
        "第7行【工单编号】：与第2行的工单编号重复。",
        "第8行【所属网格】：请填写所属网格，或同时填写经度和纬度。",
        "第9行【经度】：应为数字。",
        "第10行【所属网格】：网格编码不存在，请填写15位网格编码。",
        "第10行【是否匿名】：应为“是”或“否”。",
    ]
    assert failure == "有8行未导入，请按上面的提示修改后重新导入（已导入的工单不会重复建件）。"
    # And the malformed phone is not repeated
    assert "1380000111" not in output


def test_an_order_imported_before_with_other_content_is_a_row_error(tmp_path, tree, personas):
    file = tmp_path / "orders.xlsx"
    file.write_bytes(workbook([order_row(tree, "B1")]))
    run_import(file, "command")
    # When the same order number comes back with another title
    file.write_bytes(workbook([order_row(tree, "B1", 标题="另一件事")]))
    output, _ = run_failing_import(file, "command")
    # Then it is refused as a row error and the first case is unchanged
    assert "第2行【工单编号】：该工单编号已导入过，但内容与本次不同；请核对后单独处理。" in output
    assert Case.objects.get().title == "夜间装修噪音"


def test_the_command_refuses_non_staff_unknown_accounts_and_bad_files(tmp_path, tree, personas):
    good = tmp_path / "orders.xlsx"
    good.write_bytes(workbook([order_row(tree, "C1")]))
    # When a resident, or an unknown account, imports
    _, resident = run_failing_import(good, "resident")
    _, unknown = run_failing_import(good, "nobody")
    # Then the import is refused
    assert "不是工作人员" in resident and "不存在" in unknown
    # When the file is not a workbook, or lacks required columns
    not_excel = tmp_path / "orders.csv"
    not_excel.write_text("工单编号,标题\nC1,噪音\n", encoding="utf-8")
    missing_columns = tmp_path / "short.xlsx"
    missing_columns.write_bytes(workbook([["C1", "噪音"]], headers=["工单编号", "诉求内容"]))
    _, wrong_format = run_failing_import(not_excel, "command")
    _, short = run_failing_import(missing_columns, "command")
    # Then each says why, and nothing was created
    assert "不是Excel工作簿" in wrong_format
    assert short == "第1行缺少必需的列：诉求类型、事项类别、标题。"
    assert not Case.objects.exists()


def test_a_file_over_the_row_limit_is_refused_whole(tmp_path, tree, personas, monkeypatch):
    monkeypatch.setattr("gridgov.cases.hotline.HOTLINE_MAX_ROWS", 2)
    file = tmp_path / "orders.xlsx"
    file.write_bytes(workbook([order_row(tree, f"D{index}") for index in range(3)]))
    _, failure = run_failing_import(file, "command")
    assert failure == "文件中的工单超过2条，请分批导入。"
    assert not Case.objects.exists()


# --- The JSON API ------------------------------------------------------------------


def order(tree: AreaTree, number: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "order_no": number,
        "received_at": "2024-09-04T09:30:00+08:00",
        "kind": "求助",
        "category": "0101",
        "title": "楼道垃圾无人清运",
        "description": "2号楼楼道垃圾堆放三天。",
        "grid": tree.grids[0].code,
        "reporter_name": "李先生",
        "reporter_phone": PHONE,
    }
    body.update(overrides)
    return body


def post_orders(client: Client, user: Any, orders: list[dict[str, Any]]) -> Any:
    _, token = api_token_issue(actor=None, user=user)
    return client.post(
        "/api/v1/cases/hotline",
        data=json.dumps(orders),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_the_api_hands_over_orders_and_reports_each_row(client, tree, personas):
    command = personas["county_command"]
    orders = [
        order(tree, "E1"),
        order(tree, "E2", is_anonymous=True, urgency="特急"),
        order(tree, "E3", category="9999"),
    ]
    # When the hotline's system hands over three orders, one with an unknown category
    response = post_orders(client, command, orders)
    # Then two cases are created and the third is reported by position and field
    assert response.status_code == 200
    report = response.json()
    assert (report["rows"], report["created"], report["already_present"], report["error_count"]) == (3, 2, 0, 1)
    assert report["errors"] == [
        {
            "row": 3,
            "field": "category",
            "column": "事项类别",
            "message": "事项类别不存在或已停用，请填写类别编码（如0101）或类别名称。",
        }
    ]
    assert [(row["order_no"], row["created"]) for row in report["cases"]] == [("E1", True), ("E2", True)]
    anonymous = Case.objects.get(external_ref="E2")
    assert (anonymous.urgency, anonymous.is_anonymous, anonymous.source) == ("critical", True, CaseSource.HOTLINE)
    # When the same orders are handed over again
    again = post_orders(client, command, orders[:2]).json()
    # Then they are already present and nothing new is created
    assert (again["created"], again["already_present"]) == (0, 2)
    assert [row["case_id"] for row in again["cases"]] == [row["case_id"] for row in report["cases"]]
    assert Case.objects.count() == 2


def test_the_api_refuses_residents_and_oversized_batches(client, tree, personas):
    # When a resident hands over orders
    refused = post_orders(client, personas["resident"], [order(tree, "F1")])
    # Then it is a 403
    assert refused.status_code == 403 and refused.json()["detail"] == "只有工作人员可以导入12345工单。"
    # When a batch is over the limit of one request
    oversized = post_orders(client, personas["county_command"], [order(tree, f"G{index}") for index in range(501)])
    # Then it is refused whole with a 400
    assert oversized.status_code == 400
    assert oversized.json()["detail"] == "每次最多导入500条工单，本次为501条，请分批导入。"
    assert not Case.objects.exists()
