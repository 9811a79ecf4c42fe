"""The small form builder of task checklists: a version's field list and the answers to it.

A field is {"key": "has_alarm", "label": "是否安装燃气报警器", "kind": "yes_no",
"required": true, "options": []}; `options` only for `choice`. Answers are a dict keyed by
field key: bool for yes/no, one of the options for choice, a number, a text; photo fields
are answered by uploads, whose count is stored as the answer.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from gridgov.tasks.choices import FieldKind

MAX_FIELDS = 50
MAX_TEXT = 1000
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def fields_validate(fields: Any) -> list[dict[str, Any]]:
    """The cleaned field list of a new checklist version, or a ValidationError in Chinese."""
    if not isinstance(fields, list) or not fields:
        raise ValidationError(_("检查表至少需要一个字段。"))
    if len(fields) > MAX_FIELDS:
        raise ValidationError(_("检查表最多%(count)d个字段。") % {"count": MAX_FIELDS})
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, raw in enumerate(fields, start=1):
        if not isinstance(raw, dict):
            raise ValidationError(_("第%(n)d个字段格式不正确。") % {"n": position})
        key = str(raw.get("key", "")).strip()
        label = str(raw.get("label", "")).strip()
        kind = str(raw.get("kind", ""))
        if not _KEY.match(key) or key in seen:
            raise ValidationError(
                _("第%(n)d个字段的标识须为小写字母开头的字母、数字或下划线，且不能重复。") % {"n": position}
            )
        if not label or len(label) > 100:
            raise ValidationError(_("第%(n)d个字段需要1至100字的名称。") % {"n": position})
        if kind not in FieldKind.values:
            raise ValidationError(_("第%(n)d个字段的类型不正确。") % {"n": position})
        options: list[str] = []
        if kind == FieldKind.CHOICE:
            options = [str(option).strip() for option in raw.get("options") or [] if str(option).strip()]
            if len(options) < 2 or len(set(options)) != len(options):
                raise ValidationError(_("单选字段“%(label)s”至少需要两个不重复的选项。") % {"label": label})
        seen.add(key)
        cleaned.append(
            {"key": key, "label": label, "kind": kind, "required": bool(raw.get("required", False)), "options": options}
        )
    return cleaned


def answers_validate(fields: list[dict[str, Any]], answers: Any, photo_counts: dict[str, int]) -> dict[str, Any]:
    """Answers checked against the field list of the task's checklist version.

    Unknown keys are refused; a required field must be answered; `photo_counts` gives the
    number of uploads per photo field.
    """
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        raise ValidationError(_("填报内容格式不正确。"))
    known = {field["key"] for field in fields}
    unknown = sorted(set(answers) - known) + sorted(set(photo_counts) - known)
    if unknown:
        raise ValidationError(_("检查表中没有这些字段：%(keys)s。") % {"keys": "、".join(unknown)})
    cleaned: dict[str, Any] = {}
    for field in fields:
        key, label, kind = field["key"], field["label"], field["kind"]
        if kind == FieldKind.PHOTO:
            count = photo_counts.get(key, 0)
            if field["required"] and count == 0:
                raise ValidationError(_("请为“%(label)s”上传照片。") % {"label": label})
            if count:
                cleaned[key] = count
            continue
        value = answers.get(key)
        if value is None or value == "":
            if field["required"]:
                raise ValidationError(_("请填写“%(label)s”。") % {"label": label})
            continue
        cleaned[key] = _answer(field, value)
    return cleaned


def _answer(field: dict[str, Any], value: Any) -> Any:
    label, kind = field["label"], field["kind"]
    if kind == FieldKind.YES_NO:
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"true", "1", "yes", "是"}:
            return True
        if str(value).lower() in {"false", "0", "no", "否"}:
            return False
        raise ValidationError(_("“%(label)s”请选择是或否。") % {"label": label})
    if kind == FieldKind.CHOICE:
        if str(value) not in field["options"]:
            raise ValidationError(_("“%(label)s”的选项不正确。") % {"label": label})
        return str(value)
    if kind == FieldKind.NUMBER:
        if isinstance(value, bool):
            raise ValidationError(_("“%(label)s”须为数字。") % {"label": label})
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationError(_("“%(label)s”须为数字。") % {"label": label}) from None
        if number != number or abs(number) > 1e12:  # NaN or absurd
            raise ValidationError(_("“%(label)s”须为数字。") % {"label": label})
        return int(number) if number.is_integer() else number
    text = str(value).strip()
    if len(text) > MAX_TEXT:
        raise ValidationError(_("“%(label)s”最多%(count)d字。") % {"label": label, "count": MAX_TEXT})
    return text
