"""The dashboard's panels as an Excel workbook (openpyxl): one sheet per panel, numbers only."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from gridgov.dashboard.selectors import Summary


def _summary_columns() -> list[tuple[str, str]]:
    return [
        ("intake", _("受理量")),
        ("due_to_close", _("应结案")),
        ("closed", _("结案")),
        ("closed_on_time", _("按期结案")),
        ("close_rate", _("结案率(%)")),
        ("on_time_rate", _("按期结案率(%)")),
        ("reopened", _("返工数")),
        ("rework_rate", _("返工率(%)")),
        ("rated", _("评价数")),
        ("satisfied", _("满意数")),
        ("satisfaction_rate", _("满意率(%)")),
        ("first_response_mean_minutes", _("平均首次响应(分钟)")),
        ("time_to_close_mean_hours", _("平均办结时长(小时)")),
        ("overdue_open", _("超时未办")),
        ("grid_settled_rate", _("网格内办结率(%)")),
    ]


def _sheet(workbook: Workbook, title: str, header: list[str], rows: list[list[Any]], first: bool = False) -> None:
    sheet = workbook.active if first and workbook.active is not None else workbook.create_sheet()
    sheet.title = title
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A2"


def dashboard_workbook(panels: dict[str, Any]) -> bytes:
    """Summary, tiles, sub-areas, departments, trend, category mix and tier outcome of one area and period."""
    area, filters = panels["area"], panels["filters"]
    columns = _summary_columns()
    keys = [key for key, _label in columns]
    labels = [label for _key, label in columns]

    def values(summary: Summary) -> list[Any]:
        return [getattr(summary, key) for key in keys]

    workbook = Workbook()
    period = f"{filters.date_from:%Y-%m-%d} ~ {filters.date_to:%Y-%m-%d}"
    _sheet(
        workbook,
        _("总体指标"),
        [_("区域"), _("编码"), _("时段"), *labels],
        [[area.name, area.code, period, *values(panels["summary"])]],
        first=True,
    )
    _sheet(workbook, _("今日本周本月"), [_("时段"), *labels], [[label, *values(s)] for label, s in panels["tiles"]])
    _sheet(
        workbook,
        _("下级区域"),
        [_("区域"), _("编码"), *labels],
        [[child.name, child.code, *values(s)] for child, s in panels["children"]],
    )
    _sheet(
        workbook,
        _("职能部门"),
        [_("部门"), _("编码"), *labels],
        [[department.name, department.code, *values(s)] for department, s in panels["departments"]],
    )
    _sheet(
        workbook,
        _("每日趋势"),
        [_("日期"), _("受理量"), _("办结量"), _("按期结案率(%)")],
        [[row["day"].isoformat(), row["intake"], row["closed"], row["on_time_rate"]] for row in panels["trend"]],
    )
    _sheet(
        workbook,
        _("类别构成"),
        [_("类别编码"), _("类别"), _("受理量")],
        [[item["code"], item["name"], item["intake"]] for item in panels["mix"]],
    )
    _sheet(workbook, _("办结层级"), [_("层级"), _("办结数")], [[str(label), n] for label, n in panels["tiers"]])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
