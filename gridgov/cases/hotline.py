"""The 12345 hotline hand-off: orders from the hotline's .xlsx export or from the
JSON API become cases, one `case_submit` per order.

Each order is submitted with `source=hotline` and `external_ref` = the order
number (工单编号), so handing the same orders over twice creates nothing new:
the second time they are reported as already present. An order whose number
was imported before with different content is a row error, never a second case.

Every row is checked first, and every problem is reported with its row and
column in Chinese; valid rows are submitted, invalid ones are skipped. The
caller's phone number is personal data: it is stored encrypted by the service
and no message here ever repeats it (nor any other cell value).

The column headers are the file format, not screen text: they stay Chinese
whatever the interface language.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import IO, Any
from zipfile import BadZipFile

import numpy as np
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from gridding.crs import gcj02_to_wgs84_coords
from gridgov.accounts.choices import STAFF_ROLES
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.cases.choices import CaseKind, CaseSource, Urgency
from gridgov.cases.errors import CaseConflict, CaseForbidden
from gridgov.cases.models import Category
from gridgov.cases.rules import duties_of
from gridgov.cases.selectors import category_tree
from gridgov.cases.services import CaseInput, case_submit
from gridgov.registry.identifiers import phone_normalise

# Orders per file (the command) and per request (the API, which answers synchronously:
# a case takes some 10–30 ms to submit, so 500 orders stay within an HTTP timeout).
HOTLINE_MAX_ROWS = 5_000
HOTLINE_API_MAX_ORDERS = 500
HOTLINE_MAX_BYTES = 10 * 1024 * 1024
# Errors kept in a report; all of them are counted.
MAX_REPORTED_ERRORS = 1_000

TITLE_MAX = 100
DESCRIPTION_MAX = 5_000
ADDRESS_MAX = 200
NAME_MAX = 50
ORDER_NO_MAX = 64


@dataclass(frozen=True)
class HotlineColumn:
    key: str  # the key of the JSON API
    header: str  # the header of the .xlsx export
    required: bool = False


COLUMNS: tuple[HotlineColumn, ...] = (
    HotlineColumn("order_no", "工单编号", required=True),
    HotlineColumn("received_at", "受理时间"),
    HotlineColumn("kind", "诉求类型", required=True),
    HotlineColumn("category", "事项类别", required=True),
    HotlineColumn("title", "标题", required=True),
    HotlineColumn("description", "诉求内容", required=True),
    HotlineColumn("urgency", "紧急程度"),
    HotlineColumn("longitude", "经度"),
    HotlineColumn("latitude", "纬度"),
    HotlineColumn("grid", "所属网格"),
    HotlineColumn("address", "地址"),
    HotlineColumn("reporter_name", "来电人"),
    HotlineColumn("reporter_phone", "来电号码"),
    HotlineColumn("is_anonymous", "是否匿名"),
)
HEADER_BY_KEY: dict[str, str] = {column.key: column.header for column in COLUMNS}
HOTLINE_KINDS = (CaseKind.CONSULTATION, CaseKind.COMPLAINT, CaseKind.SUGGESTION, CaseKind.HELP)
YES_NO: dict[str, bool] = {"是": True, "否": False, "true": True, "false": False, "1": True, "0": False}
ZIP_MAGIC = b"PK\x03\x04"
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M:%S")


class Crs:
    """Coordinate systems accepted on the way in; only WGS84 (CGCS2000) is stored."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"  # AMap/Gaode, Tencent and WeChat locations
    ALL = (WGS84, GCJ02)


# --- Shared by the hotline and the case API ------------------------------------


def point_to_wgs84(longitude: float, latitude: float, crs: str) -> tuple[float, float]:
    """The point in WGS84; GCJ-02 inputs (consumer maps) are shifted back."""
    if crs == Crs.WGS84:
        return longitude, latitude
    if crs != Crs.GCJ02:
        raise ValidationError(_("未知的坐标系，可选wgs84或gcj02。"))
    converted = gcj02_to_wgs84_coords(np.array([[longitude, latitude]], dtype=float))
    return float(converted[0][0]), float(converted[0][1])


def phone_check(raw: str) -> None:
    """A mobile or landline number, checked without repeating it in the message."""
    compact = (raw or "").strip().replace(" ", "")
    if not compact or _LANDLINE.fullmatch(compact):
        return
    try:
        phone_normalise(compact)
    except ValidationError as error:
        raise ValidationError(_("电话号码格式不正确，应为11位手机号或带区号的固定电话。")) from error


class CaseReferences:
    """Categories and grids looked up by code, each loaded once per batch.

    The area tree and the category tree are not personal data: any signed-in
    caller may name any grid, as they may drop a pin anywhere on the map.
    """

    def __init__(self) -> None:
        self._by_code: dict[str, Category] | None = None
        self._by_name: dict[str, list[Category]] = {}
        self._grids: dict[str, Area | None] = {}

    def _load(self) -> dict[str, Category]:
        if self._by_code is None:
            self._by_code = {}
            for category in category_tree():
                self._by_code[category.code] = category
                self._by_name.setdefault(category.name, []).append(category)
        return self._by_code

    def category(self, text: str, *, by_name: bool = False) -> Category:
        """An active category by code (or, with `by_name`, by its unique name)."""
        text = (text or "").strip()
        found = self._load().get(text)
        if found is None and by_name:
            named = self._by_name.get(text, [])
            if len(named) > 1:
                raise ValidationError(_("有多个同名的事项类别，请填写类别编码。"))
            found = named[0] if named else None
        if found is None:
            if by_name:
                raise ValidationError(_("事项类别不存在或已停用，请填写类别编码（如0101）或类别名称。"))
            raise ValidationError(_("事项类别编码不存在或已停用（应为如0101的类别编码）。"))
        return found

    def grid(self, code: str) -> Area:
        code = (code or "").strip()
        if code not in self._grids:
            self._grids[code] = (
                Area.objects.filter(code=code, level__in=[AreaLevel.GRID, AreaLevel.MICROGRID])
                .select_related("parent__parent")
                .first()
                if code
                else None
            )
        grid = self._grids[code]
        if grid is None:
            raise ValidationError(_("网格编码不存在，请填写15位网格编码。"))
        return grid


def is_staff(user: Any) -> bool:
    return any(duty.role in STAFF_ROLES for duty in duties_of(user))


# --- Reports ---------------------------------------------------------------------


@dataclass(frozen=True)
class HotlineRowError:
    row: int  # the sheet's row number (the header is row 1), or the position in the JSON list (from 1)
    field: str  # the JSON key; empty for a problem of the whole row
    column: str  # the Chinese column header; empty for a problem of the whole row
    message: str


@dataclass(frozen=True)
class HotlineRowCase:
    row: int
    order_no: str
    case_id: int
    case_number: str
    created: bool


@dataclass
class HotlineReport:
    rows: int = 0
    created: int = 0
    already_present: int = 0
    error_count: int = 0
    errors: list[HotlineRowError] = field(default_factory=list)
    cases: list[HotlineRowCase] = field(default_factory=list)
    error_rows: set[int] = field(default_factory=set)

    def add_error(self, row: int, key: str, message: str) -> None:
        self.error_count += 1
        self.error_rows.add(row)
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(HotlineRowError(row, key, HEADER_BY_KEY.get(key, ""), message))

    @property
    def rows_with_errors(self) -> int:
        return len(self.error_rows)


# --- Reading the .xlsx export ----------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        # Excel keeps order numbers, grid codes and phones typed as numbers as floats.
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value).strip()


def hotline_rows_from_xlsx(file: IO[bytes]) -> list[tuple[int, dict[str, Any]]]:
    """The orders of the first sheet as (row number, values by key); empty rows are skipped.

    Raises `ValidationError` for a file that is not an .xlsx workbook, lacks a
    required column, or holds more than `HOTLINE_MAX_ROWS` orders.
    """
    content = file.read(HOTLINE_MAX_BYTES + 1)
    if len(content) > HOTLINE_MAX_BYTES:
        raise ValidationError(
            _("文件超过%(mb)d MB，请分批导入。") % {"mb": HOTLINE_MAX_BYTES // (1024 * 1024)},
        )
    if not content.startswith(ZIP_MAGIC):
        raise ValidationError(_("文件不是Excel工作簿（.xlsx），请另存为.xlsx后再导入。"))
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise ValidationError(_("无法读取该Excel文件，请确认文件未损坏。")) from error
    try:
        if not workbook.worksheets:
            raise ValidationError(_("工作簿中没有工作表。"))
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None) or ()
        positions: dict[str, int] = {}
        by_header = {column.header: column.key for column in COLUMNS}
        for index, cell in enumerate(header):
            key = by_header.get(_cell_text(cell))
            if key is not None and key not in positions:
                positions[key] = index
        missing = [column.header for column in COLUMNS if column.required and column.key not in positions]
        if missing:
            raise ValidationError(_("第1行缺少必需的列：%(columns)s。") % {"columns": "、".join(missing)})
        orders: list[tuple[int, dict[str, Any]]] = []
        for number, values in enumerate(rows, start=2):
            if all(value is None or _cell_text(value) == "" for value in values):
                continue
            if len(orders) >= HOTLINE_MAX_ROWS:
                raise ValidationError(
                    _("文件中的工单超过%(max)s条，请分批导入。") % {"max": f"{HOTLINE_MAX_ROWS:,}"},
                )
            orders.append(
                (number, {key: values[index] if index < len(values) else None for key, index in positions.items()})
            )
        return orders
    finally:
        workbook.close()


# --- Checking one order ----------------------------------------------------------


def _choice(text: str, choices: Sequence[Any]) -> str | None:
    """The stored value of a choice given by its Chinese label or its value."""
    with translation.override("zh-hans"):
        for choice in choices:
            if text in (choice.value, str(choice.label)):
                return str(choice.value)
    return None


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    return float(value)


def _received_at(value: Any, now: datetime) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=timezone.get_current_timezone())
    else:
        text = str(value).strip()
        for pattern in _DATETIME_FORMATS:
            try:
                moment = datetime.strptime(text, pattern)  # noqa: DTZ007 (made aware below)
                break
            except ValueError:
                continue
        else:
            moment = datetime.fromisoformat(text)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if moment > now + timedelta(minutes=10):
        raise ValidationError(_("受理时间晚于当前时间。"))
    return moment


def _order_input(
    values: Mapping[str, Any], *, references: CaseReferences, crs: str, now: datetime, report: HotlineReport, row: int
) -> CaseInput | None:
    """The `CaseInput` of one order, or None after adding each of its problems to `report`."""
    problems = report.error_count

    def text(key: str, *, limit: int) -> str:
        value = _cell_text(values.get(key))
        column = next(column for column in COLUMNS if column.key == key)
        if column.required and not value:
            report.add_error(row, key, _("必填，不能为空。"))
        elif len(value) > limit:
            report.add_error(row, key, _("不能超过%(max)d个字。") % {"max": limit})
        return value

    order_no = text("order_no", limit=ORDER_NO_MAX)
    title = text("title", limit=TITLE_MAX)
    address = text("address", limit=ADDRESS_MAX)
    reporter_name = text("reporter_name", limit=NAME_MAX)

    received_at = None
    try:
        received_at = _received_at(values.get("received_at"), now)
    except ValidationError as error:
        report.add_error(row, "received_at", error.messages[0])
    except ValueError:
        report.add_error(row, "received_at", _("时间格式不正确，应为“2024-09-04 10:00”。"))
    suffix = ""
    if received_at is not None:
        suffix = "\n\n" + _("（12345受理时间：%(time)s）") % {
            "time": timezone.localtime(received_at).strftime("%Y-%m-%d %H:%M")
        }
    description = text("description", limit=DESCRIPTION_MAX - len(suffix))

    kind_text = _cell_text(values.get("kind"))
    kind = _choice(kind_text, HOTLINE_KINDS)
    if kind is None:
        report.add_error(row, "kind", _("应为咨询、投诉、建议或求助。"))

    urgency_text = _cell_text(values.get("urgency"))
    urgency = _choice(urgency_text, list(Urgency)) if urgency_text else Urgency.NORMAL.value
    if urgency is None:
        report.add_error(row, "urgency", _("应为一般、紧急或特急。"))

    category = None
    category_text = _cell_text(values.get("category"))
    if category_text:
        try:
            category = references.category(category_text, by_name=True)
        except ValidationError as error:
            report.add_error(row, "category", error.messages[0])
    else:
        report.add_error(row, "category", _("必填，不能为空。"))

    longitude = latitude = None
    coordinates_ok = True
    for key in ("longitude", "latitude"):
        try:
            number = _number(values.get(key))
        except (TypeError, ValueError):
            report.add_error(row, key, _("应为数字。"))
            coordinates_ok = False
            continue
        if key == "longitude":
            longitude = number
        else:
            latitude = number
    if coordinates_ok and (longitude is None) != (latitude is None):
        report.add_error(row, "longitude" if longitude is None else "latitude", _("经度和纬度需同时填写。"))
        coordinates_ok = False
    if coordinates_ok and longitude is not None and latitude is not None:
        if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
            report.add_error(row, "longitude", _("经纬度超出范围。"))
        else:
            longitude, latitude = point_to_wgs84(longitude, latitude, crs)

    grid = None
    grid_code = _cell_text(values.get("grid"))
    if grid_code:
        try:
            grid = references.grid(grid_code)
        except ValidationError as error:
            report.add_error(row, "grid", error.messages[0])
    elif longitude is None and coordinates_ok:
        report.add_error(row, "grid", _("请填写所属网格，或同时填写经度和纬度。"))

    phone = _cell_text(values.get("reporter_phone"))
    try:
        phone_check(phone)
    except ValidationError:
        report.add_error(row, "reporter_phone", _("格式不正确，应为11位手机号或带区号的固定电话。"))

    anonymous_value = values.get("is_anonymous")
    is_anonymous = False
    if isinstance(anonymous_value, bool):
        is_anonymous = anonymous_value
    elif _cell_text(anonymous_value):
        flag = YES_NO.get(_cell_text(anonymous_value).lower())
        if flag is None:
            report.add_error(row, "is_anonymous", _("应为“是”或“否”。"))
        else:
            is_anonymous = flag

    if report.error_count > problems or category is None or kind is None or urgency is None:
        return None
    return CaseInput(
        kind=kind,
        category=category,
        title=title,
        description=description + suffix,
        source=CaseSource.HOTLINE,
        urgency=urgency,
        longitude=longitude,
        latitude=latitude,
        grid=grid,
        address=address,
        reporter_name=reporter_name,
        reporter_phone=phone,
        is_anonymous=is_anonymous,
        external_ref=order_no,
    )


# --- The hand-off ----------------------------------------------------------------


def hotline_import(
    *,
    actor: Any,
    orders: Sequence[tuple[int, Mapping[str, Any]]],
    crs: str = Crs.WGS84,
    max_orders: int | None = None,
    now: datetime | None = None,
) -> HotlineReport:
    """Check every order, then submit the valid ones as hotline cases (one transaction each).

    `orders` are (row number, values by the keys of `COLUMNS`). Only staff may
    hand orders over; at most `max_orders` (default `HOTLINE_MAX_ROWS`) at a time.
    """
    limit = HOTLINE_MAX_ROWS if max_orders is None else max_orders
    if not getattr(actor, "is_authenticated", False) or not actor.is_active or not is_staff(actor):
        raise CaseForbidden(_("只有工作人员可以导入12345工单。"))
    if crs not in Crs.ALL:
        raise ValidationError(_("未知的坐标系，可选wgs84或gcj02。"))
    if len(orders) > limit:
        raise ValidationError(
            _("每次最多导入%(max)s条工单，本次为%(count)s条，请分批导入。")
            % {"max": f"{limit:,}", "count": f"{len(orders):,}"}
        )
    now = now or timezone.now()
    report = HotlineReport(rows=len(orders))
    references = CaseReferences()
    first_row_of: dict[str, int] = {}
    for row, values in orders:
        data = _order_input(values, references=references, crs=crs, now=now, report=report, row=row)
        if data is None:
            continue
        if data.external_ref in first_row_of:
            report.add_error(
                row, "order_no", _("与第%(row)d行的工单编号重复。") % {"row": first_row_of[data.external_ref]}
            )
            continue
        first_row_of[data.external_ref] = row
        try:
            case, created = case_submit(actor=actor, data=data, now=now)
        except CaseConflict:
            report.add_error(row, "order_no", _("该工单编号已导入过，但内容与本次不同；请核对后单独处理。"))
            continue
        except ValidationError as error:
            report.add_error(row, "", "；".join(error.messages))
            continue
        if created:
            report.created += 1
        else:
            report.already_present += 1
        report.cases.append(HotlineRowCase(row, data.external_ref, case.pk, case.number, created))
    return report


def hotline_import_xlsx(
    *, actor: Any, file: IO[bytes], crs: str = Crs.WGS84, now: datetime | None = None
) -> HotlineReport:
    """Hand over the orders of a 12345 .xlsx export (see `COLUMNS` for its headers)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active or not is_staff(actor):
        raise CaseForbidden(_("只有工作人员可以导入12345工单。"))
    return hotline_import(actor=actor, orders=hotline_rows_from_xlsx(file), crs=crs, now=now)
