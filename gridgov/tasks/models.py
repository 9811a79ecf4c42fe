"""Top-down tasks (一网通管): checklist forms, tasks, one assignment per grid, one target per
household/building/place; and emergencies (平急转换): events, duty shifts, resources.

Progress is kept as counters on each assignment, changed in the same transaction as the
target they count, so the roll-up to any level is one grouped query over assignments on the
materialised grid path.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.areas.models import Area, Building, Compound
from gridgov.registry.models import Household
from gridgov.tasks.choices import (
    EmergencyKind,
    ResourceKind,
    TargetLevel,
    TargetStatus,
    TaskKind,
    TaskStatus,
    Vulnerability,
)


class ChecklistForm(models.Model):
    """A checklist (检查表) that tasks carry; editing it adds a version."""

    name = models.CharField(_("表单名称"), max_length=100)
    owner_area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("所属区域"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("创建人")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("检查表")
        verbose_name_plural = _("检查表")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class ChecklistVersion(models.Model):
    """One frozen version of a checklist: `fields` is a list of
    {"key", "label", "kind", "required", "options"} (see `forms_schema.fields_validate`)."""

    form = models.ForeignKey(ChecklistForm, on_delete=models.CASCADE, related_name="versions", verbose_name=_("表单"))
    number = models.PositiveIntegerField(_("版本号"))
    fields = models.JSONField(_("字段"), default=list)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("检查表版本")
        verbose_name_plural = _("检查表版本")
        ordering = ["form_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["form", "number"], name="checklist_version_unique")]

    def __str__(self) -> str:
        return f"{self.form.name} v{self.number}"


class Task(models.Model):
    title = models.CharField(_("任务名称"), max_length=100)
    instructions = models.TextField(_("任务要求"), blank=True)
    kind = models.CharField(_("类型"), max_length=16, choices=TaskKind.choices, default=TaskKind.NORMAL)
    issuer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="issued_tasks", verbose_name=_("下发人")
    )
    issuing_area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="issued_tasks", verbose_name=_("下发单位")
    )
    target_areas = models.ManyToManyField(Area, related_name="targeted_by_tasks", verbose_name=_("目标区域"))
    target_level = models.CharField(_("排查对象"), max_length=16, choices=TargetLevel.choices)
    checklist = models.ForeignKey(
        ChecklistVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("检查表"),
    )
    due_at = models.DateTimeField(_("截止时间"))
    status = models.CharField(_("状态"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.DRAFT)
    # A client token (a hidden form field, the API's Idempotency-Key): a repeated create returns the first task.
    client_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    issued_at = models.DateTimeField(_("下发时间"), null=True, blank=True)
    assignment_count = models.PositiveIntegerField(_("网格数"), default=0)
    target_count = models.PositiveIntegerField(_("对象数"), default=0)

    class Meta:
        verbose_name = _("任务")
        verbose_name_plural = _("任务")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "client_key"], condition=~Q(client_key=""), name="task_client_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Assignment(models.Model):
    """A task's share of one grid. `grid_path` is copied from the grid so that progress rolls up
    with a prefix GROUP BY without joining the area table."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("任务"))
    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="task_assignments", verbose_name=_("网格"))
    grid_path = models.CharField(_("网格路径"), max_length=64)
    workers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="task_assignments", verbose_name=_("网格员")
    )
    total_targets = models.PositiveIntegerField(_("对象数"), default=0)
    recorded_targets = models.PositiveIntegerField(_("已登记"), default=0)
    done_targets = models.PositiveIntegerField(_("已完成"), default=0)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    last_reminded_at = models.DateTimeField(_("最近催办"), null=True, blank=True)

    class Meta:
        verbose_name = _("网格任务")
        verbose_name_plural = _("网格任务")
        ordering = ["task_id", "grid_path"]
        constraints = [
            models.UniqueConstraint(fields=["task", "grid"], name="assignment_one_per_grid"),
            models.CheckConstraint(
                condition=Q(recorded_targets__lte=models.F("total_targets"))
                & Q(done_targets__lte=models.F("recorded_targets")),
                name="assignment_counters_consistent",
            ),
        ]
        indexes = [models.Index(fields=["task", "grid_path"], name="assignment_task_path_idx")]

    def __str__(self) -> str:
        return f"{self.task} · {self.grid}"


class Target(models.Model):
    """One row of a worker's list: a household, a building, a place or the grid itself."""

    assignment = models.ForeignKey(
        Assignment, on_delete=models.CASCADE, related_name="targets", verbose_name=_("网格任务")
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("住户")
    )
    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("楼栋")
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("场所/小区")
    )
    vulnerability = models.PositiveSmallIntegerField(
        _("关注等级"), choices=Vulnerability.choices, default=Vulnerability.OTHER
    )
    status = models.CharField(_("结果"), max_length=16, choices=TargetStatus.choices, default=TargetStatus.PENDING)
    answers = models.JSONField(_("填报内容"), default=dict, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("登记时间"), null=True, blank=True)
    case = models.ForeignKey(
        "cases.Case", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("事项")
    )

    class Meta:
        verbose_name = _("排查对象")
        verbose_name_plural = _("排查对象")
        ordering = ["assignment_id", "vulnerability", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "household"], condition=Q(household__isnull=False), name="target_one_household"
            ),
            models.UniqueConstraint(
                fields=["assignment", "building"], condition=Q(building__isnull=False), name="target_one_building"
            ),
            models.UniqueConstraint(
                fields=["assignment", "compound"], condition=Q(compound__isnull=False), name="target_one_compound"
            ),
        ]
        indexes = [models.Index(fields=["assignment", "vulnerability", "id"], name="target_worklist_idx")]

    def __str__(self) -> str:
        return f"#{self.pk}"


class TargetPhoto(models.Model):
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="photos", verbose_name=_("排查对象"))
    field_key = models.CharField(_("字段"), max_length=40, blank=True)
    file = models.FileField(_("文件"), upload_to="tasks/%Y/%m/")
    thumbnail = models.FileField(_("缩略图"), upload_to="tasks/%Y/%m/", blank=True)
    content_type = models.CharField(_("类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小"))
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("排查照片")
        verbose_name_plural = _("排查照片")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.file.name


class EmergencyEvent(models.Model):
    """An emergency declared over an area; while active (ended_at is null) new cases in the area
    run on the emergency clock: natural hours, each limit × `sla_factor`, at most `sla_max_hours`."""

    kind = models.CharField(_("类型"), max_length=16, choices=EmergencyKind.choices)
    title = models.CharField(_("事件名称"), max_length=100)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="emergencies", verbose_name=_("影响区域"))
    area_path = models.CharField(_("区域路径"), max_length=64)
    description = models.TextField(_("情况说明"), blank=True)
    started_at = models.DateTimeField(_("开始时间"))
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("启动人")
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sla_factor = models.DecimalField(_("时限系数"), max_digits=4, decimal_places=2, default=0.5)
    sla_max_hours = models.DecimalField(_("单项时限上限（小时）"), max_digits=6, decimal_places=2, default=24)
    check_task = models.OneToOneField(
        Task, on_delete=models.SET_NULL, null=True, blank=True, related_name="emergency", verbose_name=_("入户排查")
    )
    report = models.JSONField(_("总结报告"), default=dict, blank=True)
    client_key = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = _("应急事件")
        verbose_name_plural = _("应急事件")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["ended_at", "area_path"], name="emergency_active_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["declared_by", "client_key"], condition=~Q(client_key=""), name="emergency_client_key_unique"
            ),
            models.CheckConstraint(condition=Q(sla_factor__gt=0), name="emergency_sla_factor_positive"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class DutyShift(models.Model):
    """Who is on call (值班) for a grid or community between two instants."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="duty_shifts", verbose_name=_("区域"))
    area_path = models.CharField(_("区域路径"), max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="duty_shifts", verbose_name=_("值班人")
    )
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    is_lead = models.BooleanField(_("带班"), default=False)
    event = models.ForeignKey(
        EmergencyEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="shifts", verbose_name=_("事件")
    )

    class Meta:
        verbose_name = _("值班安排")
        verbose_name_plural = _("值班安排")
        ordering = ["starts_at", "area_path"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="shift_positive")]
        indexes = [models.Index(fields=["area_path", "starts_at"], name="shift_area_start_idx")]

    def __str__(self) -> str:
        return f"{self.area} {self.user}"


class EmergencyResource(models.Model):
    """A shelter, a stock of supplies, equipment or a team, on the map."""

    kind = models.CharField(_("类型"), max_length=16, choices=ResourceKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="emergency_resources", verbose_name=_("区域"))
    area_path = models.CharField(_("区域路径"), max_length=64)
    quantity = models.PositiveIntegerField(_("数量/容量"), default=0)
    unit = models.CharField(_("单位"), max_length=16, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))

    class Meta:
        verbose_name = _("应急资源")
        verbose_name_plural = _("应急资源")
        ordering = ["area_path", "kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(lon__gte=-180, lon__lte=180, lat__gte=-90, lat__lte=90), name="resource_lonlat_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name
