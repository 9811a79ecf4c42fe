"""The registry's Excel format: the template workbook, a streaming reader and the export writer.

One row per person; the rows of one household repeat its address columns.
The column headers are the file format, not screen text: they stay Chinese
whatever the interface language, so that a file filled under one language
imports under another. Everything a user reads (instructions, messages) is
translated as usual.

Reading streams (`openpyxl` read-only mode, `iter_rows(values_only=True)`), so
memory does not grow with the number of rows; writing the export uses a
write-only workbook spooled to a temporary file.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any
from zipfile import BadZipFile

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from gridgov.registry.choices import Relation, Residence
from gridgov.registry.identifiers import id_check_character

DATA_SHEET = "台账"
INSTRUCTIONS_SHEET = "填写说明"
BUILDINGS_SHEET = "楼栋清单"
TAGS_SHEET = "标签清单"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int
    text: bool = False  # formatted as text so Excel keeps long digit strings intact


COLUMNS: tuple[Column, ...] = (
    Column("compound", "小区", 16),
    Column("building", "楼栋", 10),
    Column("unit", "单元", 8),
    Column("room", "房号", 8, text=True),
    Column("address", "地址", 32),
    Column("household_tags", "户标签", 18),
    Column("name", "姓名", 10),
    Column("id_number", "身份证号", 22, text=True),
    Column("relation", "与户主关系", 12),
    Column("phone", "手机号", 14, text=True),
    Column("residence", "人户状态", 20),
    Column("party", "党员", 6),
    Column("employment", "工作单位", 20),
    Column("person_tags", "人员标签", 20),
)
HEADERS: tuple[str, ...] = tuple(column.header for column in COLUMNS)
COLUMN_INDEX: dict[str, int] = {column.key: index for index, column in enumerate(COLUMNS)}
HEADER_BY_KEY: dict[str, str] = {column.key: column.header for column in COLUMNS}

# Values of the list columns as written in the file.
PARTY_VALUES: dict[str, bool] = {"是": True, "否": False}
TAG_SEPARATORS = ",，、;；"
# Rows covered by the drop-down lists of the template (the import limit plus the header).
VALIDATION_ROWS = 100_001

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and password-protected .xlsx


def _labels(choices: Any) -> dict[str, str]:
    """Chinese label → stored value of a TextChoices, whatever language is active."""
    with translation.override("zh-hans"):
        return {str(label): value for value, label in choices.choices}


def relation_values() -> dict[str, str]:
    return _labels(Relation)


def residence_values() -> dict[str, str]:
    """Residence labels, also without their parenthesised note (人在户不在（流动人口） → 人在户不在)."""
    values = _labels(Residence)
    for label, value in list(values.items()):
        short = label.split("（", 1)[0]
        values.setdefault(short, value)
    return values


def relation_label(value: str) -> str:
    return {v: k for k, v in relation_values().items()}.get(value, value)


def residence_label(value: str) -> str:
    return {v: k for k, v in _labels(Residence).items()}.get(value, value)


def split_tags(text: str) -> list[str]:
    for separator in TAG_SEPARATORS:
        text = text.replace(separator, " ")
    return [name for name in text.split() if name]


# ------------------------------------------------------------------ template


def _header_row(sheet: Any, headers: Sequence[str], required: set[str]) -> None:
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FDE2E1")
    plain = PatternFill("solid", fgColor="EEF1F4")
    for index, header in enumerate(headers, start=1):
        cell = sheet.cell(row=1, column=index, value=header)
        cell.font = bold
        cell.fill = fill if header in required else plain
        cell.alignment = Alignment(horizontal="center")
    sheet.freeze_panes = "A2"


def _list_validation(options: Sequence[str], *, title: str, error: str) -> DataValidation:
    validation = DataValidation(
        type="list", formula1='"' + ",".join(options) + '"', allow_blank=True, showErrorMessage=True
    )
    validation.errorTitle = title
    validation.error = error
    return validation


def template_workbook(
    *,
    area_name: str = "",
    buildings: Sequence[tuple[str, str, str]] = (),
    household_tags: Sequence[str] = (),
    person_tags: Sequence[str] = (),
    required_headers: Sequence[str] = (),
    max_rows: int = VALIDATION_ROWS - 1,
) -> bytes:
    """The import template: the data sheet with drop-down lists, instructions, buildings and tags.

    `buildings` are (grid name, compound name, building name) of the area, listed so the
    user can copy exact names.
    """
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # noqa: S101 (a new workbook always has one sheet)
    sheet.title = DATA_SHEET
    _header_row(sheet, HEADERS, set(required_headers))
    for index, column in enumerate(COLUMNS, start=1):
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = column.width
        if column.text:
            dimension.number_format = "@"
    last_row = VALIDATION_ROWS
    lists = (
        ("relation", list(relation_values()), _("与户主关系"), _("请从下拉列表中选择与户主关系。")),
        ("residence", list(_labels(Residence)), _("人户状态"), _("请从下拉列表中选择人户状态。")),
        ("party", list(PARTY_VALUES), _("党员"), _("请填写“是”或“否”。")),
    )
    for key, options, title, error in lists:
        validation = _list_validation(options, title=title, error=error)
        letter = get_column_letter(COLUMN_INDEX[key] + 1)
        validation.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(validation)

    instructions = workbook.create_sheet(INSTRUCTIONS_SHEET)
    instructions.column_dimensions["A"].width = 16
    instructions.column_dimensions["B"].width = 90
    lines: list[tuple[str, str]] = [
        (_("导入范围"), area_name or _("上传时选择的网格或社区")),
        (_("填写方式"), _("在“台账”工作表中每人一行；同一户的各行，小区、楼栋、单元、房号、地址必须完全相同。")),
        (
            _("必填列"),
            _(
                "姓名、身份证号、与户主关系、地址必填；小区和楼栋在按社区导入时必填"
                "（按网格导入时可留空，表示不在楼栋中的散居户）。表头为红色的列为必填列。"
            ),
        ),
        (_("小区、楼栋"), _("须与“楼栋清单”中的名称完全一致；楼栋按（小区，楼栋）在导入范围内查找。")),
        (_("身份证号"), _("18位（或15位旧号码）；该列已设为文本格式，请勿改成数字格式，否则后几位会丢失。")),
        (_("与户主关系"), "、".join(relation_values())),
        (
            _("人户状态"),
            _("%(values)s；留空时新登记人员默认为“户在人在”。") % {"values": "、".join(_labels(Residence))},
        ),
        (_("党员"), _("填写“是”或“否”；留空时新登记人员默认为“否”。")),
        (_("手机号"), _("中国大陆11位手机号，可留空。")),
        (_("户标签、人员标签"), _("填写“标签清单”中的名称，多个标签用逗号或顿号分隔。")),
        (
            _("重复导入"),
            _(
                "按身份证号更新：已登记在同一户的人员更新其信息，不会重复登记；已登记在本范围内其他户的人员"
                "视为迁入新户（原户记为迁出，保留历史）；登记在本范围以外的人员不能导入。"
                "非空单元格覆盖原有信息，空白单元格保留原有信息（姓名、与户主关系除外）。"
            ),
        ),
        (
            _("导入方式"),
            _("上传后先校验并显示错误明细，再选择：有错误则全部不导入，或只导入无错误的行。"),
        ),
        (_("行数上限"), _("每个文件最多%(n)s行人员数据，超过时请按网格拆分后分批上传。") % {"n": f"{max_rows:,}"}),
        (_("文件格式"), _("只接受.xlsx格式（Excel 2007及以后），旧版.xls请先另存为.xlsx。")),
    ]
    instructions.append([_("项目"), _("说明")])
    for cell in instructions[1]:
        cell.font = Font(bold=True)
    for item, text in lines:
        instructions.append([item, text])
        instructions.cell(row=instructions.max_row, column=2).alignment = Alignment(wrap_text=True)
    instructions.append([])
    instructions.append([_("示例（请勿填在本表）")])
    instructions.append(list(HEADERS))
    example_address = _("阳光小区1号楼1单元301")
    instructions.append(
        ["阳光小区", "1号楼", "1单元", "301", example_address, "党员中心户", "张建国",
         "11010519491231002X", "户主", "13800001111", "户在人在", "是", "胶州市某公司", "退役军人"]
    )  # fmt: skip
    spouse_first17 = "11010519520315002"
    instructions.append(
        ["阳光小区", "1号楼", "1单元", "301", example_address, "", "李秀英",
         spouse_first17 + id_check_character(spouse_first17), "配偶", "", "户在人在", "否", "", ""]
    )  # fmt: skip

    if buildings:
        sheet_buildings = workbook.create_sheet(BUILDINGS_SHEET)
        sheet_buildings.append([_("网格"), _("小区"), _("楼栋")])
        for row in buildings:
            sheet_buildings.append(list(row))
            for cell in sheet_buildings[sheet_buildings.max_row]:
                if _looks_like_formula(cell.value):
                    cell.data_type = "s"
        for letter, width in (("A", 28), ("B", 20), ("C", 12)):
            sheet_buildings.column_dimensions[letter].width = width
    sheet_tags = workbook.create_sheet(TAGS_SHEET)
    sheet_tags.append([_("户标签"), _("人员标签")])
    for index in range(max(len(household_tags), len(person_tags))):
        sheet_tags.append(
            [
                household_tags[index] if index < len(household_tags) else None,
                person_tags[index] if index < len(person_tags) else None,
            ]
        )
    sheet_tags.column_dimensions["A"].width = 16
    sheet_tags.column_dimensions["B"].width = 20
    workbook.active = 0
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------- reading


class WorkbookError(Exception):
    """A file that cannot be read as the registry template; the message is for the user."""


def sniff(content: bytes) -> None:
    """Refuse what is not an .xlsx file, with a message that says what it is instead."""
    if not content:
        raise WorkbookError(_("上传的文件是空的。"))
    if content.startswith(OLE2_MAGIC):
        raise WorkbookError(
            _(
                "这是旧版Excel（.xls）文件或加密的工作簿，无法导入。请在Excel中“另存为”.xlsx格式（并取消密码）后重新上传。"
            )
        )
    if not content.startswith(ZIP_MAGIC):
        raise WorkbookError(
            _("上传的文件不是Excel工作簿（.xlsx）。请使用下载的模板填写后上传，不要上传CSV、WPS或其他格式。")
        )


def cell_text(value: Any) -> str:
    """A cell value as the text the user typed (numbers without `.0`, dates as YYYY-MM-DD)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _header_problem(row: Sequence[Any]) -> str | None:
    found = [cell_text(value).replace(" ", "") for value in row]
    while found and not found[-1]:
        found.pop()
    for index, expected in enumerate(HEADERS):
        actual = found[index] if index < len(found) else ""
        if actual != expected:
            return _(
                "表头与模板不一致：第%(n)d列应为“%(expected)s”，实为“%(actual)s”。请下载最新模板，在模板中填写后上传。"
            ) % {
                "n": index + 1,
                "expected": expected,
                "actual": actual or _("（空）"),
            }
    if len(found) > len(HEADERS):
        return _("表头与模板不一致：第%(n)d列“%(actual)s”不是模板中的列。请删除多余的列后上传。") % {
            "n": len(HEADERS) + 1,
            "actual": found[len(HEADERS)],
        }
    return None


class RowReader:
    """The data rows of an uploaded workbook, streamed.

    Opening checks the file type and the header row; iterating yields
    `(row number, values)` for each non-blank row, `values` padded or cut to
    the template's columns.
    """

    def __init__(self, content: bytes) -> None:
        sniff(content)
        try:
            self._workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except (InvalidFileException, BadZipFile, zipfile.LargeZipFile, KeyError, ValueError, OSError) as error:
            raise WorkbookError(
                _(
                    "无法读取该文件：它不是有效的Excel工作簿（.xlsx），或者文件已损坏。请用Excel打开后另存为.xlsx再上传。"
                )
            ) from error
        names = self._workbook.sheetnames
        self._sheet = self._workbook[DATA_SHEET] if DATA_SHEET in names else self._workbook.worksheets[0]
        rows = self._sheet.iter_rows(min_row=1, max_row=1, values_only=True)
        header = next(rows, None)
        if header is None:
            self.close()
            raise WorkbookError(_("工作簿是空的：没有找到表头行。请使用下载的模板填写。"))
        problem = _header_problem(header)
        if problem:
            self.close()
            raise WorkbookError(problem)

    @property
    def declared_rows(self) -> int | None:
        """Data rows according to the sheet's declared dimension (absent in some files, may count blank rows)."""
        max_row = getattr(self._sheet, "max_row", None)
        return max(max_row - 1, 0) if isinstance(max_row, int) else None

    def __iter__(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        width = len(COLUMNS)
        for number, values in enumerate(self._sheet.iter_rows(min_row=2, values_only=True), start=2):
            if not any(value is not None and cell_text(value) != "" for value in values[:width]):
                continue
            if len(values) < width:
                values = tuple(values) + (None,) * (width - len(values))
            yield number, tuple(values[:width])

    def close(self) -> None:
        self._workbook.close()

    def __enter__(self) -> RowReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------- writing


def _looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("=")


class ExportWriter:
    """A write-only workbook spooled to a temporary file (in memory while small)."""

    def __init__(self, *, sheet_title: str, headers: Sequence[str], widths: Sequence[int] = ()) -> None:
        self._workbook = Workbook(write_only=True)
        self._sheet = self._workbook.create_sheet(sheet_title)
        for index, width in enumerate(widths, start=1):
            self._sheet.column_dimensions[get_column_letter(index)].width = width
        self._sheet.freeze_panes = "A2"
        self._sheet.append(list(headers))
        self.rows = 0

    def append(self, values: Sequence[Any]) -> None:
        self._sheet.append([self._text_cell(value) if _looks_like_formula(value) else value for value in values])
        self.rows += 1

    def _text_cell(self, value: str) -> Any:
        # openpyxl turns any string starting with "=" into a formula; names and addresses come
        # from uploaded files, so they are written as text and never evaluated (formula injection).
        cell = WriteOnlyCell(self._sheet, value=value)
        cell.data_type = "s"
        return cell

    def finish(self) -> IO[bytes]:
        """The finished .xlsx, positioned at its start; the caller closes it."""
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (handed to the response)
        self._workbook.save(spool)
        spool.seek(0)
        return spool
