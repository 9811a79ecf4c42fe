"""Rollups (汇总计数) behind the dashboard (一网通看).

`Rollup` holds one row per (area, day, category, department) with every counter
the dashboard needs. A case counts in the row of its grid *and* in the rows of
every ancestor of the grid (community, town, district, city), so the figures of
any area over any period are a sum over that area's own rows: O(days ×
categories), whatever the number of cases. `department_id` 0 means "not at a
department".

`CaseContribution` is the ledger: what each case currently contributes, per
day and counter. The worker recomputes a touched case's contribution from the
raw case row and its steps, subtracts the old one and adds the new one, so
processing the same case twice changes nothing (idempotent), and it does so in
the same transaction that moves the watermark in `RollupState` (crash-safe).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.areas.models import Area
from gridgov.cases.models import Case, Category

# Counters kept per row. Day keys: intake / fr_* by submission day; due* by close_due_at's day;
# rated / satisfied by rated_at's day; closed* / close_seconds by closed_at's day; reopened / closes
# by their step's day. All days are local dates (settings.TIME_ZONE), as `case_indicators` uses.
METRICS: tuple[str, ...] = (
    "intake",
    "due",
    "due_closed",
    "due_on_time",
    "rated",
    "satisfied",
    "fr_count",
    "fr_seconds",
    "closed",
    "close_seconds",
    "closed_grid",
    "closed_community",
    "closed_town",
    "closed_department",
    "reopened",
    "closes",
)


class Rollup(models.Model):
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+", verbose_name=_("区域"))
    day = models.DateField(_("日期"))
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+", verbose_name=_("类别"))
    department_id = models.PositiveIntegerField(_("部门"), default=0)
    intake = models.BigIntegerField(_("受理量"), default=0)
    due = models.BigIntegerField(_("应结案"), default=0)
    due_closed = models.BigIntegerField(_("结案"), default=0)
    due_on_time = models.BigIntegerField(_("按期结案"), default=0)
    rated = models.BigIntegerField(_("评价数"), default=0)
    satisfied = models.BigIntegerField(_("满意数"), default=0)
    fr_count = models.BigIntegerField(_("首次响应数"), default=0)
    fr_seconds = models.BigIntegerField(_("首次响应总秒数"), default=0)
    closed = models.BigIntegerField(_("办结数"), default=0)
    close_seconds = models.BigIntegerField(_("办结总秒数"), default=0)
    closed_grid = models.BigIntegerField(_("网格办结"), default=0)
    closed_community = models.BigIntegerField(_("社区办结"), default=0)
    closed_town = models.BigIntegerField(_("镇街办结"), default=0)
    closed_department = models.BigIntegerField(_("部门办结"), default=0)
    reopened = models.BigIntegerField(_("返工数"), default=0)
    closes = models.BigIntegerField(_("结案操作数"), default=0)

    class Meta:
        verbose_name = _("态势汇总")
        verbose_name_plural = _("态势汇总")
        constraints = [
            models.UniqueConstraint(
                fields=["area", "day", "category", "department_id"], name="dashboard_rollup_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area_id}/{self.day}/{self.category_id}/{self.department_id}"


class RollupTotal(models.Model):
    """The same counters summed over categories and departments: one row per (area, day).

    What the dashboard reads when no category is chosen, so a county's year and its towns'
    league table are a few thousand rows, however many categories and departments there are.
    """

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+", verbose_name=_("区域"))
    day = models.DateField(_("日期"))
    intake = models.BigIntegerField(_("受理量"), default=0)
    due = models.BigIntegerField(_("应结案"), default=0)
    due_closed = models.BigIntegerField(_("结案"), default=0)
    due_on_time = models.BigIntegerField(_("按期结案"), default=0)
    rated = models.BigIntegerField(_("评价数"), default=0)
    satisfied = models.BigIntegerField(_("满意数"), default=0)
    fr_count = models.BigIntegerField(_("首次响应数"), default=0)
    fr_seconds = models.BigIntegerField(_("首次响应总秒数"), default=0)
    closed = models.BigIntegerField(_("办结数"), default=0)
    close_seconds = models.BigIntegerField(_("办结总秒数"), default=0)
    closed_grid = models.BigIntegerField(_("网格办结"), default=0)
    closed_community = models.BigIntegerField(_("社区办结"), default=0)
    closed_town = models.BigIntegerField(_("镇街办结"), default=0)
    closed_department = models.BigIntegerField(_("部门办结"), default=0)
    reopened = models.BigIntegerField(_("返工数"), default=0)
    closes = models.BigIntegerField(_("结案操作数"), default=0)

    class Meta:
        verbose_name = _("态势日汇总")
        verbose_name_plural = _("态势日汇总")
        constraints = [models.UniqueConstraint(fields=["area", "day"], name="dashboard_rollup_total_unique_key")]

    def __str__(self) -> str:
        return f"{self.area_id}/{self.day}"


class CaseContribution(models.Model):
    """What one case currently adds to the rollups: {"YYYY-MM-DD": {metric: value}} at its grid."""

    case_id = models.BigIntegerField(_("事项"), primary_key=True)
    grid_id = models.BigIntegerField(_("网格"))
    category_id = models.BigIntegerField(_("类别"))
    department_id = models.PositiveIntegerField(_("部门"), default=0)
    entries = models.JSONField(_("计数"), default=dict)

    class Meta:
        verbose_name = _("事项汇总贡献")
        verbose_name_plural = _("事项汇总贡献")

    def __str__(self) -> str:
        return str(self.case_id)


class RollupState(models.Model):
    """The single row of the worker's progress over the case timeline (CaseStep ids).

    Steps with id <= `watermark` are settled: processed after every transaction that could
    have written them had committed. `horizon_id` is the largest step id seen at
    `horizon_seen_at`; once the settle lag has passed since then, it becomes the watermark.
    """

    key = models.CharField(max_length=16, primary_key=True, default="main")
    watermark = models.BigIntegerField(default=0)
    horizon_id = models.BigIntegerField(default=0)
    horizon_seen_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    alerts_scanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("汇总进度")
        verbose_name_plural = _("汇总进度")

    def __str__(self) -> str:
        return f"{self.key}@{self.watermark}"


class Alert(models.Model):
    """An early warning (预警): why it fired, where, and who was told."""

    class Kind(models.TextChoices):
        SPIKE = "spike", _("诉求激增")
        REPEATED = "repeated", _("同一地点重复诉求")
        DUE_SOON = "due_soon", _("即将超时")

    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    key = models.CharField(_("去重键"), max_length=120, unique=True)
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+", verbose_name=_("区域"))
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("类别")
    )
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("事项")
    )
    reason = models.CharField(_("触发原因"), max_length=300)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    fired_at = models.DateTimeField(_("触发时间"))

    class Meta:
        verbose_name = _("预警")
        verbose_name_plural = _("预警")
        ordering = ["-fired_at", "-id"]
        indexes = [models.Index(fields=["fired_at"], name="dashboard_alert_fired_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.reason}"
