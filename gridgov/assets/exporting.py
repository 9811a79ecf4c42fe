"""Export of a compound's register, contracts and ledger as one .xlsx workbook, and
reading an existing income/expense ledger for import."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zipfile import BadZipFile

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from gridgov.areas.models import Compound
from gridgov.assets.choices import LedgerItem
from gridgov.assets.models import AssetContract, LedgerEntry, PublicAsset
from gridgov.assets.selectors import decision_label


def compound_workbook(compound: Compound) -> bytes:
    workbook = Workbook()
    register = workbook.active
    assert register is not None  # noqa: S101 (a new workbook always has one sheet)
    register.title = _("资产登记")
    register.append([_("名称"), _("类别"), _("位置"), _("面积（㎡）"), _("现用途"), _("使用/占用方"), _("状态")])
    for asset in PublicAsset.objects.filter(compound=compound):
        register.append(
            [
                asset.name,
                str(asset.get_kind_display()),
                asset.location,
                float(asset.floor_area) if asset.floor_area is not None else None,
                asset.current_use,
                asset.occupant,
                str(asset.get_status_display()),
            ]
        )
    contracts = workbook.create_sheet(_("合同"))
    contracts.append([_("资产"), _("承租/使用方"), _("起始日期"), _("终止日期"), _("每期租金（元）"), _("缴费周期")])
    for contract in AssetContract.objects.filter(asset__compound=compound).select_related("asset"):
        contracts.append(
            [
                contract.asset.name,
                contract.party,
                contract.start_on,
                contract.end_on,
                float(contract.rent),
                str(contract.get_period_display()),
            ]
        )
    ledger = workbook.create_sheet(_("收支台账"))
    ledger.append([_("日期"), _("收支"), _("科目"), _("金额（元）"), _("摘要"), _("议事决定"), _("冲正对象")])
    entries = LedgerEntry.objects.filter(compound=compound).select_related("decision__agenda_item__meeting")
    for entry in entries.order_by("occurred_on", "id"):
        ledger.append(
            [
                entry.occurred_on,
                str(entry.get_direction_display()),
                str(entry.get_item_display()),
                float(entry.amount),
                entry.description,
                decision_label(entry),
                entry.reverses_id,
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------ import

IMPORT_HEADERS = ["日期", "科目", "金额（元）", "摘要", "议事决定"]


@dataclass
class ImportRow:
    line: int
    occurred_on: date
    item: str
    amount: Decimal
    description: str
    decision_reference: str


def ledger_rows_read(content: bytes) -> list[ImportRow]:
    """Read an existing ledger (.xlsx; first sheet; columns 日期, 科目, 金额（元）, 摘要, 议事决定).

    Every row is checked before anything is booked; all problems are reported together,
    each with its row number, as one `ValidationError`."""
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError):
        raise ValidationError(_("无法读取该文件，请上传.xlsx格式的收支台账。")) from None
    sheet = workbook.worksheets[0]
    labels = {str(label): value for value, label in LedgerItem.choices}
    rows: list[ImportRow] = []
    errors: list[str] = []
    for line, values in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        cells = list(values[:5]) + [None] * (5 - len(values[:5]))
        if all(cell in (None, "") for cell in cells):
            continue
        raw_day, raw_item, raw_amount, raw_text, raw_decision = cells
        day: date | None = None
        if isinstance(raw_day, datetime):
            day = raw_day.date()
        elif isinstance(raw_day, date):
            day = raw_day
        else:
            try:
                day = date.fromisoformat(str(raw_day).strip())
            except ValueError:
                errors.append(_("第%(line)d行：日期“%(value)s”无效。") % {"line": line, "value": raw_day})
        item = labels.get(str(raw_item or "").strip())
        if item is None:
            errors.append(_("第%(line)d行：科目“%(value)s”不存在。") % {"line": line, "value": raw_item or ""})
        try:
            amount = Decimal(str(raw_amount).strip()).quantize(Decimal("0.01"))
            if not amount.is_finite() or amount <= 0:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.append(
                _("第%(line)d行：金额“%(value)s”无效，须为大于0的数字。") % {"line": line, "value": raw_amount}
            )
            amount = Decimal("0")
        text = str(raw_text or "").strip()
        if not text:
            errors.append(_("第%(line)d行：缺少摘要。") % {"line": line})
        if day is not None and item is not None and amount > 0 and text:
            rows.append(ImportRow(line, day, item, amount, text[:200], str(raw_decision or "").strip()[:100]))
    if errors:
        raise ValidationError(errors)
    if not rows:
        raise ValidationError(_("文件中没有收支记录。"))
    return rows
