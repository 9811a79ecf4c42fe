"""Writes for the county's case rules: working-calendar overrides, categories, SLA policies,
and which departments own which categories. Each write is one transaction with its audit row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridgov.accounts.models import Department
from gridgov.accounts.services import audit_record
from gridgov.cases.choices import (
    TimeUnit,
    Urgency,
)
from gridgov.cases.models import (
    CalendarOverride,
    Category,
    DepartmentCategory,
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
CATEGORY_NAME_MAX_LENGTH = 50
CATEGORY_CODE_MAX_LENGTH = 20
SLA_LIMIT_FIELDS = (
    "first_response",
    "grid_limit",
    "community_limit",
    "town_limit",
    "department_limit",
    "verification_limit",
    "close_limit",
)
SLA_LIMIT_MAX = Decimal("9999.99")  # the columns hold 6 digits, 2 after the point


@transaction.atomic
def category_create(*, actor: Any, parent: Category | None, segment: str, name: str) -> Category:
    """Add a category below `parent` (None for a top-level class) with a 2-digit code segment.

    A subcategory inherits its parent's time limits; a new top-level class has
    none until they are set (`sla_policy_set`), and cases cannot be filed under it before."""
    segment = segment.strip()
    name = name.strip()
    if len(segment) != CATEGORY_SEGMENT_DIGITS or not segment.isdigit() or segment == "00":
        raise ValidationError(_("类别编码段应为01–99的两位数字，收到“%(segment)s”。") % {"segment": segment})
    if not name:
        raise ValidationError(_("类别名称不能为空。"))
    if len(name) > CATEGORY_NAME_MAX_LENGTH:
        raise ValidationError(_("类别名称不能超过%(limit)d个字。") % {"limit": CATEGORY_NAME_MAX_LENGTH})
    code = f"{parent.code if parent else ''}{segment}"
    if len(code) > CATEGORY_CODE_MAX_LENGTH:
        levels = CATEGORY_CODE_MAX_LENGTH // CATEGORY_SEGMENT_DIGITS
        raise ValidationError(_("类别最多%(levels)d级，不能再往下细分。") % {"levels": levels})
    if Category.objects.filter(code=code).exists():
        raise ValidationError(_("类别编码“%(code)s”已被使用。") % {"code": code})
    if Category.objects.filter(parent=parent, name=name).exists():
        raise ValidationError(_("同一上级下已有名为“%(name)s”的类别。") % {"name": name})
    if parent is not None and not parent.is_active:
        raise ValidationError(_("上级类别“%(name)s”已停用，不能在其下新增类别。") % {"name": parent.name})
    category = Category.objects.create(parent=parent, code=code, name=name)
    audit_record(actor=actor, action="category_create", object_type="category", object_id=code, detail={"name": name})
    # The cached parent map must learn the new node, or its policy lookup would stop at it.
    _rules_changed()
    return category


@transaction.atomic
def category_rename(*, actor: Any, category: Category, name: str) -> Category:
    """Give a category a new name; its code, cases and policies stay."""
    name = name.strip()
    if not name:
        raise ValidationError(_("类别名称不能为空。"))
    if len(name) > CATEGORY_NAME_MAX_LENGTH:
        raise ValidationError(_("类别名称不能超过%(limit)d个字。") % {"limit": CATEGORY_NAME_MAX_LENGTH})
    if Category.objects.filter(parent_id=category.parent_id, name=name).exclude(pk=category.pk).exists():
        raise ValidationError(_("同一上级下已有名为“%(name)s”的类别。") % {"name": name})
    old_name = Category.objects.values_list("name", flat=True).get(pk=category.pk)
    if old_name == name:
        category.name = name
        return category
    Category.objects.filter(pk=category.pk).update(name=name)
    category.name = name
    audit_record(
        actor=actor,
        action="category_rename",
        object_type="category",
        object_id=category.code,
        detail={"old_name": old_name, "name": name},
    )
    _rules_changed()
    return category


@transaction.atomic
def category_set_active(*, actor: Any, category: Category, is_active: bool) -> list[str]:
    """Stop (or resume) offering a category for new cases, together with its whole subtree.

    Cases already filed under it keep it and go on being handled; only new
    submissions are refused (`case_submit` checks the flag). A node cannot be
    resumed while its parent is stopped. Returns the codes that changed.
    """
    if is_active and category.parent_id is not None:
        parent = Category.objects.get(pk=category.parent_id)
        if not parent.is_active:
            raise ValidationError(_("上级类别“%(name)s”已停用，请先启用上级类别。") % {"name": parent.name})
    subtree = Category.objects.filter(code__startswith=category.code, is_active=not is_active)
    codes = list(subtree.order_by("code").values_list("code", flat=True))
    if codes:
        Category.objects.filter(code__in=codes).update(is_active=is_active)
        audit_record(
            actor=actor,
            action="category_activate" if is_active else "category_deactivate",
            object_type="category",
            object_id=category.code,
            detail={"codes": codes},
        )
        _rules_changed()
    category.is_active = is_active
    return codes


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
    if any(limits[name] > SLA_LIMIT_MAX for name in SLA_LIMIT_FIELDS):
        raise ValidationError(_("时限不能超过%(limit)s。") % {"limit": SLA_LIMIT_MAX})
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


@transaction.atomic
def sla_policy_clear(*, actor: Any, category: Category, urgency: str) -> bool:
    """Remove the category's own policy for one urgency, so it inherits its parent's again.

    Top-level classes must keep theirs: they are where every subcategory's
    inheritance ends. Returns False when there was no own policy to remove.
    """
    if urgency not in Urgency.values:
        raise ValidationError(_("未知的紧急程度：%(value)s") % {"value": urgency})
    if category.parent_id is None:
        raise ValidationError(
            _("“%(name)s”是一级类别，必须保留自己的时限规则，只能修改，不能删除。") % {"name": category.name}
        )
    deleted, _deleted_by_model = SlaPolicy.objects.filter(category=category, urgency=urgency).delete()
    if not deleted:
        return False
    audit_record(
        actor=actor,
        action="sla_policy_clear",
        object_type="category",
        object_id=category.code,
        detail={"urgency": urgency},
    )
    _rules_changed()
    return True


@transaction.atomic
def department_categories_set(
    *, actor: Any, department: Department, categories: Iterable[Category]
) -> list[DepartmentCategory]:
    """Make `categories` exactly the ones `department` owns (each with its subcategories).

    The SLA sweep dispatches a case that breaches at the town/street tier to the
    department owning its category, or the category's nearest ancestor.
    """
    wanted = {category.pk: category for category in categories}
    current = dict(
        DepartmentCategory.objects.filter(department=department).values_list("category_id", "category__code")
    )
    removed = sorted(code for category_id, code in current.items() if category_id not in wanted)
    added = sorted(category.code for category_id, category in wanted.items() if category_id not in current)
    if removed:
        DepartmentCategory.objects.filter(department=department).exclude(category_id__in=list(wanted)).delete()
    if added:
        DepartmentCategory.objects.bulk_create(
            [
                DepartmentCategory(department=department, category=category)
                for category_id, category in wanted.items()
                if category_id not in current
            ]
        )
    if added or removed:
        audit_record(
            actor=actor,
            action="department_categories_set",
            object_type="department",
            object_id=department.code,
            detail={"added": added, "removed": removed},
        )
    return list(
        DepartmentCategory.objects.filter(department=department).select_related("category").order_by("category__code")
    )
