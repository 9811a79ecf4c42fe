"""Cases (一网通办) and their SLA machinery: the category tree, SLA policies,
working-calendar overrides, departments' categories, cases and their timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.models import Department
from gridgov.areas.models import Area
from gridgov.cases.choices import (
    CaseKind,
    CaseSource,
    CaseStatus,
    CloseReason,
    Rating,
    SlaLight,
    StepAction,
    Tier,
    TimeUnit,
    Urgency,
)


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
    # 办结时限: from receipt to closing, whatever tier handles it; 按期结案率 is measured against it.
    close_limit = models.DecimalField(_("办结时限"), max_digits=6, decimal_places=2, default=0)

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
                & Q(verification_limit__gte=0)
                & Q(close_limit__gte=0),
                name="sla_policy_limits_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} · {self.get_urgency_display()}"


class DepartmentCategory(models.Model):
    """A department owns a category (and its subcategories): dispatch suggests it, and
    automatic escalation from the town/street tier sends the case there."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="owned_categories", verbose_name=_("部门")
    )
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="owning_departments", verbose_name=_("类别")
    )

    class Meta:
        verbose_name = _("部门职责类别")
        verbose_name_plural = _("部门职责类别")
        constraints = [
            models.UniqueConstraint(fields=["department", "category"], name="department_category_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.department} · {self.category}"


class Case(models.Model):
    """One request or finding (事项), from intake to rating.

    The current step's clock is in columns (`step_started_at`, `warn_at`,
    `due_at`) so the SLA sweep is an indexed range query. `version` grows with
    every change; each change is a conditional UPDATE on it, so of several
    concurrent actors exactly one wins.
    """

    number = models.CharField(_("事项编号"), max_length=20, unique=True)
    kind = models.CharField(_("事项类型"), max_length=20, choices=CaseKind.choices)
    source = models.CharField(_("来源"), max_length=20, choices=CaseSource.choices)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases", verbose_name=_("类别"))
    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    title = models.CharField(_("标题"), max_length=100)
    description = models.TextField(_("描述"))

    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="cases", verbose_name=_("所在网格"))
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)
    address = models.CharField(_("地点"), max_length=200, blank=True)

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_cases",
        verbose_name=_("反映人账号"),
    )
    reporter_name = models.CharField(_("反映人"), max_length=50, blank=True)
    reporter_phone_ciphertext = models.TextField(_("反映人电话（密文）"), blank=True)
    reporter_phone_masked = models.CharField(_("反映人电话"), max_length=20, blank=True)
    is_anonymous = models.BooleanField(_("对办理人匿名"), default=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submitted_cases",
        verbose_name=_("登记人"),
    )
    idempotency_key = models.CharField(_("幂等键"), max_length=100, blank=True)
    idempotency_fingerprint = models.CharField(_("请求指纹"), max_length=64, blank=True)
    external_ref = models.CharField(_("外部编号"), max_length=64, blank=True)

    status = models.CharField(_("状态"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.SUBMITTED)
    tier = models.CharField(_("办理层级"), max_length=16, choices=Tier.choices, default=Tier.GRID)
    handling_area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="handled_cases", verbose_name=_("办理单位所在区域")
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("承办部门"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_cases",
        verbose_name=_("当前办理人"),
    )
    last_handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("最近办理人"),
    )
    last_handler_tier = models.CharField(_("最近办理层级"), max_length=16, choices=Tier.choices, blank=True)

    sla_unit = models.CharField(_("计时方式"), max_length=16, choices=TimeUnit.choices)
    step_started_at = models.DateTimeField(_("本环节开始"))
    warn_at = models.DateTimeField(_("预警时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("本环节时限"), null=True, blank=True)
    sla_light = models.CharField(_("时限状态"), max_length=8, choices=SlaLight.choices, default=SlaLight.GREEN)
    close_due_at = models.DateTimeField(_("办结时限"))
    breach_count = models.PositiveIntegerField(_("超时次数"), default=0)

    extension_requested = models.DecimalField(_("申请延期时长"), max_digits=6, decimal_places=2, null=True, blank=True)
    extension_reason = models.CharField(_("延期理由"), max_length=500, blank=True)
    suspended_status = models.CharField(_("挂起前状态"), max_length=16, choices=CaseStatus.choices, blank=True)
    suspended_at = models.DateTimeField(_("挂起时间"), null=True, blank=True)

    submitted_at = models.DateTimeField(_("登记时间"))
    first_response_at = models.DateTimeField(_("首次响应时间"), null=True, blank=True)
    reported_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    close_reason = models.CharField(_("结案方式"), max_length=20, choices=CloseReason.choices, blank=True)
    closed_tier = models.CharField(_("结案层级"), max_length=16, choices=Tier.choices, blank=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="duplicates", verbose_name=_("合并到")
    )
    rating = models.CharField(_("评价"), max_length=20, choices=Rating.choices, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    reopen_count = models.PositiveIntegerField(_("重办次数"), default=0)
    version = models.PositiveIntegerField(_("版本"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("事项")
        verbose_name_plural = _("事项")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="case_status_due_idx"),
            models.Index(fields=["status", "warn_at"], name="case_status_warn_idx"),
            models.Index(fields=["grid", "submitted_at"], name="case_grid_submitted_idx"),
            # A grid's open cases (overdue counts, the worker's lists) without reading its closed history.
            models.Index(fields=["grid", "status", "due_at"], name="case_grid_status_idx"),
            models.Index(fields=["close_due_at"], name="case_close_due_idx"),
            models.Index(fields=["submitted_at"], name="case_submitted_idx"),
            models.Index(fields=["owner", "status"], name="case_owner_status_idx"),
            models.Index(fields=["department", "status"], name="case_department_status_idx"),
            models.Index(fields=["handling_area", "tier", "status"], name="case_handling_idx"),
            models.Index(fields=["reporter", "submitted_at"], name="case_reporter_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["submitted_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="case_idempotency_key_unique",
            ),
            models.UniqueConstraint(
                fields=["source", "external_ref"], condition=~Q(external_ref=""), name="case_external_ref_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[CaseStatus.CLOSED, CaseStatus.VOIDED]) | Q(due_at__isnull=False),
                name="case_open_has_due_at",
            ),
            models.CheckConstraint(
                condition=~Q(status=CaseStatus.CLOSED) | ~Q(close_reason=""), name="case_closed_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(status=CaseStatus.HANDLING) | Q(owner__isnull=False), name="case_handling_has_owner"
            ),
            models.CheckConstraint(
                condition=~Q(tier=Tier.DEPARTMENT) | Q(department__isnull=False), name="case_department_tier"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status not in (CaseStatus.CLOSED, CaseStatus.VOIDED)


class CaseStep(models.Model):
    """One row of a case's timeline: who did what, when, from which state to which."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps", verbose_name=_("事项"))
    seq = models.PositiveIntegerField(_("序号"))
    action = models.CharField(_("动作"), max_length=20, choices=StepAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="case_steps",
        verbose_name=_("操作人"),
    )
    at = models.DateTimeField(_("时间"))
    from_status = models.CharField(_("原状态"), max_length=16, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=CaseStatus.choices)
    from_tier = models.CharField(_("原层级"), max_length=16, choices=Tier.choices, blank=True)
    to_tier = models.CharField(_("新层级"), max_length=16, choices=Tier.choices)
    note = models.TextField(_("说明"), blank=True)
    # Internal notes are shown to staff only, never on the reporter's page.
    internal = models.BooleanField(_("仅内部可见"), default=False)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["case_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="case_step_seq_unique")]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.action}"


class CaseAttachment(models.Model):
    """A photo or document attached to a case at one of its steps."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("事项"))
    step = models.ForeignKey(CaseStep, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("办理记录"))
    file = models.FileField(_("文件"), upload_to="cases/%Y/%m/")
    # A small JPEG of a photo (long side 480 px) for lists and timelines; empty for documents.
    thumbnail = models.FileField(_("缩略图"), upload_to="cases/%Y/%m/", blank=True)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("上传人")
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name
