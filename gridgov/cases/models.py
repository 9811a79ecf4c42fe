"""Cases and their SLA machinery. So far: the category tree, SLA policies and
the working-calendar overrides."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.cases.choices import TimeUnit, Urgency


class CalendarOverride(models.Model):
    """A day whose working status differs from the built-in Chinese calendar.

    Used for years the `chinesecalendar` package does not know yet (the State
    Council publishes each year's holidays and 调休 days in the autumn before)
    and for local exceptions (a county-wide emergency day off).
    """

    day = models.DateField(_("日期"), unique=True)
    is_working_day = models.BooleanField(_("是否工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("工作日历调整")
        verbose_name_plural = _("工作日历调整")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'工作日' if self.is_working_day else '休息日'}"


class Category(models.Model):
    """A node of the unbounded event-category tree (GB/T 30428.2 lineage).

    Each level adds a 2-digit segment: `01` 市容环境 → `0101` 暴露垃圾.
    """

    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("上级类别")
    )
    code = models.CharField(_("编码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("事件类别")
        verbose_name_plural = _("事件类别")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SlaPolicy(models.Model):
    """Time limits of a category node for one urgency; children inherit the nearest ancestor's."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="sla_policies", verbose_name=_("类别")
    )
    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices)
    unit = models.CharField(_("计时方式"), max_length=16, choices=TimeUnit.choices)
    first_response = models.DecimalField(_("首次响应时限"), max_digits=6, decimal_places=2)
    grid_limit = models.DecimalField(_("网格办理时限"), max_digits=6, decimal_places=2)
    community_limit = models.DecimalField(_("社区办理时限"), max_digits=6, decimal_places=2)
    town_limit = models.DecimalField(_("镇街办理时限"), max_digits=6, decimal_places=2)
    department_limit = models.DecimalField(_("部门办理时限"), max_digits=6, decimal_places=2)
    verification_limit = models.DecimalField(_("核查时限"), max_digits=6, decimal_places=2)

    class Meta:
        verbose_name = _("时限规则")
        verbose_name_plural = _("时限规则")
        constraints = [
            models.UniqueConstraint(fields=["category", "urgency"], name="sla_policy_unique_per_urgency"),
            models.CheckConstraint(
                condition=Q(first_response__gte=0)
                & Q(grid_limit__gte=0)
                & Q(community_limit__gte=0)
                & Q(town_limit__gte=0)
                & Q(department_limit__gte=0)
                & Q(verification_limit__gte=0),
                name="sla_policy_limits_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} · {self.get_urgency_display()}"
