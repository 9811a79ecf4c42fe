"""Patrols (巡查日志): a grid worker's round of their grid, the items checked, the
households visited, and the problems found — each settled on the spot or turned
into a case. Data and invariants only; writes live in `services.py`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.areas.models import Area
from gridgov.cases.models import Case, Category
from gridgov.patrols.choices import CheckResult, FindingStatus, PatrolStatus
from gridgov.registry.models import Household


class CheckItem(models.Model):
    """One line of the patrol checklist (消防通道, 燃气使用 …), the same for every grid.

    `category_code` names the case category a problem found under this item
    usually belongs to; it pre-selects the category of a new finding.
    """

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("检查项"), max_length=50)
    hint = models.CharField(_("检查要点"), max_length=200, blank=True)
    category_code = models.CharField(_("默认事项类别编码"), max_length=20, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("巡查检查项")
        verbose_name_plural = _("巡查检查项")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name


class Patrol(models.Model):
    """One patrol of one grid by its worker, from start to finish."""

    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patrols", verbose_name=_("网格员")
    )
    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="patrols", verbose_name=_("网格"))
    status = models.CharField(_("状态"), max_length=16, choices=PatrolStatus.choices, default=PatrolStatus.OPEN)
    started_at = models.DateTimeField(_("开始时间"))
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    notes = models.TextField(_("巡查记录"), blank=True)
    # [[longitude, latitude, unix seconds], …] (WGS84), from the browser's geolocation.
    route = models.JSONField(_("巡查轨迹"), default=list, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("巡查")
        verbose_name_plural = _("巡查")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["worker", "started_at"], name="patrol_worker_started_idx"),
            models.Index(fields=["grid", "started_at"], name="patrol_grid_started_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["worker"], condition=Q(status=PatrolStatus.OPEN), name="patrol_one_open_per_worker"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[status.value for status in PatrolStatus]), name="patrol_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=PatrolStatus.OPEN, ended_at__isnull=True)
                | Q(status=PatrolStatus.FINISHED, ended_at__isnull=False),
                name="patrol_ended_when_finished",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grid_id}@{self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.status == PatrolStatus.OPEN


class PatrolCheck(models.Model):
    """The result of one checklist item on one patrol (the last answer counts)."""

    patrol = models.ForeignKey(Patrol, on_delete=models.CASCADE, related_name="checks", verbose_name=_("巡查"))
    item = models.ForeignKey(CheckItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("检查项"))
    result = models.CharField(_("结果"), max_length=16, choices=CheckResult.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    checked_at = models.DateTimeField(_("检查时间"))

    class Meta:
        verbose_name = _("检查记录")
        verbose_name_plural = _("检查记录")
        ordering = ["item__sort_order", "item_id"]
        constraints = [
            models.UniqueConstraint(fields=["patrol", "item"], name="patrol_check_once_per_item"),
            models.CheckConstraint(
                condition=Q(result__in=[result.value for result in CheckResult]), name="patrol_check_result_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.result}"


class PatrolVisit(models.Model):
    """A household of the patrol's grid, or another place (a shop, a site), visited on the patrol."""

    patrol = models.ForeignKey(Patrol, on_delete=models.CASCADE, related_name="visits", verbose_name=_("巡查"))
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patrol_visits",
        verbose_name=_("走访户"),
    )
    place = models.CharField(_("地点"), max_length=100, blank=True)
    note = models.CharField(_("情况"), max_length=200, blank=True)
    visited_at = models.DateTimeField(_("走访时间"))

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["visited_at", "id"]
        indexes = [models.Index(fields=["household", "visited_at"], name="patrol_visit_household_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["patrol", "household"], condition=Q(household__isnull=False), name="patrol_visit_household_once"
            ),
            models.CheckConstraint(condition=Q(household__isnull=False) | ~Q(place=""), name="patrol_visit_has_place"),
        ]

    def __str__(self) -> str:
        return self.place or str(self.household_id)


class PatrolFinding(models.Model):
    """A problem found on a patrol: settled on the spot (`result`) or turned into a case (`case`)."""

    patrol = models.ForeignKey(Patrol, on_delete=models.CASCADE, related_name="findings", verbose_name=_("巡查"))
    check_item = models.ForeignKey(
        CheckItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("检查项")
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+", verbose_name=_("问题类别"))
    description = models.TextField(_("问题描述"))
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    address = models.CharField(_("地点"), max_length=200, blank=True)
    status = models.CharField(_("处置情况"), max_length=16, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    result = models.TextField(_("现场处置结果"), blank=True)
    settled_at = models.DateTimeField(_("处置时间"), null=True, blank=True)
    case = models.OneToOneField(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="patrol_finding", verbose_name=_("事项")
    )
    found_at = models.DateTimeField(_("发现时间"))

    class Meta:
        verbose_name = _("巡查发现")
        verbose_name_plural = _("巡查发现")
        ordering = ["found_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[status.value for status in FindingStatus]), name="patrol_finding_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=FindingStatus.CASE, case__isnull=False)
                | (~Q(status=FindingStatus.CASE) & Q(case__isnull=True)),
                name="patrol_finding_case_when_case",
            ),
            models.CheckConstraint(
                condition=(Q(longitude__isnull=True) & Q(latitude__isnull=True))
                | (
                    Q(longitude__gte=-180, longitude__lte=180, latitude__gte=-90, latitude__lte=90)
                    & Q(longitude__isnull=False, latitude__isnull=False)
                ),
                name="patrol_finding_point_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.description[:30]


class PatrolFindingPhoto(models.Model):
    """A photo taken of a finding; passed on as an attachment when the finding becomes a case."""

    finding = models.ForeignKey(PatrolFinding, on_delete=models.CASCADE, related_name="photos", verbose_name=_("发现"))
    file = models.FileField(_("文件"), upload_to="patrols/%Y/%m/")
    thumbnail = models.FileField(_("缩略图"), upload_to="patrols/%Y/%m/", blank=True)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小"))
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("现场照片")
        verbose_name_plural = _("现场照片")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name
