"""Writes for the county's case rules: working-calendar overrides, categories, SLA policies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridgov.accounts.services import audit_record
from gridgov.cases.choices import (
    TimeUnit,
    Urgency,
)
from gridgov.cases.models import (
    CalendarOverride,
    Category,
    SlaPolicy,
)
from gridgov.cases.selectors import rules_cache_clear


def _rules_changed() -> None:
    """Drop this process's copy of calendar and policies now (so this transaction
    reads its own write) and again after commit (so no other thread keeps a
    copy it reloaded before the commit)."""
    rules_cache_clear()
    transaction.on_commit(rules_cache_clear)


@transaction.atomic
def calendar_override_set(*, actor: Any, day: date, is_working_day: bool, note: str = "") -> CalendarOverride:
    """Declare `day` a working day or a day off, replacing any earlier override of it."""
    override, _ = CalendarOverride.objects.update_or_create(
        day=day, defaults={"is_working_day": is_working_day, "note": note.strip()[:100]}
    )
    audit_record(
        actor=actor,
        action="calendar_override_set",
        object_type="calendar",
        object_id=day.isoformat(),
        detail={"is_working_day": is_working_day, "note": override.note},
    )
    _rules_changed()
    return override


@transaction.atomic
def calendar_override_clear(*, actor: Any, day: date) -> bool:
    deleted, _ = CalendarOverride.objects.filter(day=day).delete()
    if deleted:
        audit_record(
            actor=actor, action="calendar_override_clear", object_type="calendar", object_id=day.isoformat(), detail={}
        )
        _rules_changed()
    return bool(deleted)


CATEGORY_SEGMENT_DIGITS = 2
SLA_LIMIT_FIELDS = (
    "first_response",
    "grid_limit",
    "community_limit",
    "town_limit",
    "department_limit",
    "verification_limit",
    "close_limit",
)


@transaction.atomic
def category_create(*, actor: Any, parent: Category | None, segment: str, name: str) -> Category:
    """Add a category below `parent` (None for a top-level class) with a 2-digit code segment."""
    segment = segment.strip()
    name = name.strip()
    if len(segment) != CATEGORY_SEGMENT_DIGITS or not segment.isdigit() or segment == "00":
        raise ValidationError(_("类别编码段应为01–99的两位数字，收到“%(segment)s”。") % {"segment": segment})
    if not name:
        raise ValidationError(_("类别名称不能为空。"))
    code = f"{parent.code if parent else ''}{segment}"
    if Category.objects.filter(code=code).exists():
        raise ValidationError(_("类别编码“%(code)s”已被使用。") % {"code": code})
    if Category.objects.filter(parent=parent, name=name).exists():
        raise ValidationError(_("同一上级下已有名为“%(name)s”的类别。") % {"name": name})
    category = Category.objects.create(parent=parent, code=code, name=name)
    audit_record(actor=actor, action="category_create", object_type="category", object_id=code, detail={"name": name})
    return category


@transaction.atomic
def sla_policy_set(*, actor: Any, category: Category, urgency: str, unit: str, limits: dict[str, Decimal]) -> SlaPolicy:
    """Set the time limits of `category` for one urgency (its subcategories inherit them)."""
    if urgency not in Urgency.values:
        raise ValidationError(_("未知的紧急程度：%(value)s") % {"value": urgency})
    if unit not in TimeUnit.values:
        raise ValidationError(_("未知的计时方式：%(value)s") % {"value": unit})
    missing = [name for name in SLA_LIMIT_FIELDS if name not in limits]
    if missing:
        raise ValidationError(_("缺少时限：%(names)s") % {"names": "、".join(missing)})
    if any(limits[name] < 0 for name in SLA_LIMIT_FIELDS):
        raise ValidationError(_("时限不能为负数。"))
    if limits["first_response"] > limits["grid_limit"]:
        raise ValidationError(_("首次响应时限不能长于网格办理时限。"))
    if limits["close_limit"] < limits["grid_limit"]:
        raise ValidationError(_("办结时限不能短于网格办理时限。"))
    policy, _created = SlaPolicy.objects.update_or_create(
        category=category,
        urgency=urgency,
        defaults={"unit": unit, **{name: limits[name] for name in SLA_LIMIT_FIELDS}},
    )
    audit_record(
        actor=actor,
        action="sla_policy_set",
        object_type="category",
        object_id=category.code,
        detail={"urgency": urgency, "unit": unit, **{name: str(limits[name]) for name in SLA_LIMIT_FIELDS}},
    )
    _rules_changed()
    return policy
