"""Reads for cases. So far: the working calendar, categories and SLA policies."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from gridgov.cases.calendar import WorkingCalendar, parse_office_hours
from gridgov.cases.choices import Urgency
from gridgov.cases.models import CalendarOverride, Category, SlaPolicy


def working_calendar() -> WorkingCalendar:
    """The calendar from `GRIDGOV_OFFICE_HOURS`, the time zone and the override table.

    Build it once per request or sweep; it reads the (small) override table.
    """
    return WorkingCalendar(
        office_hours=parse_office_hours(settings.OFFICE_HOURS),
        timezone=ZoneInfo(settings.TIME_ZONE),
        overrides=dict(CalendarOverride.objects.values_list("day", "is_working_day")),
    )


def calendar_overrides() -> list[CalendarOverride]:
    return list(CalendarOverride.objects.all())


def category_tree() -> list[Category]:
    """Every active category, ordered so that each parent comes before its children."""
    return list(Category.objects.filter(is_active=True).order_by("code"))


def sla_policy_for(category: Category, urgency: str) -> SlaPolicy:
    """The policy of the nearest node, from `category` up to its root, that has one for `urgency`."""
    policies = {
        policy.category_id: policy
        for policy in SlaPolicy.objects.filter(category__code__in=_ancestor_codes(category.code), urgency=urgency)
    }
    node: Category | None = category
    while node is not None:
        if node.pk in policies:
            return policies[node.pk]
        node = node.parent
    raise ValidationError(
        _("类别“%(name)s”及其上级都没有配置“%(urgency)s”的时限规则。")
        % {"name": category.name, "urgency": Urgency(urgency).label}
    )


def _ancestor_codes(code: str) -> list[str]:
    return [code[:length] for length in range(2, len(code) + 1, 2)]
