"""Households and residents (实有人口), their tags, and the access log.

ID numbers and phones are never stored in plaintext: `*_ciphertext` holds
SM4-GCM ciphertext (with the id of the key that made it), `*_index` an
HMAC-SM3 blind index for exact lookup, `*_masked` what a screen may show.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.areas.models import Area, Building, Compound
from gridgov.registry.choices import (
    AccessAction,
    Gender,
    ImportMode,
    ImportStatus,
    Relation,
    Residence,
    TagTarget,
)


class TagGroup(models.Model):
    """A group of tags along GB/T 31000 "9+X" (特殊人群, 重点青少年, 困难人员 …).

    Tags of a *sensitive* group are shown only to roles listed in `granted_roles`.
    """

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    sensitive = models.BooleanField(_("敏感"), default=False)
    granted_roles = models.JSONField(_("可查看的角色"), default=list, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("标签组")
        verbose_name_plural = _("标签组")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    group = models.ForeignKey(TagGroup, on_delete=models.PROTECT, related_name="tags", verbose_name=_("标签组"))
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    target = models.CharField(_("适用对象"), max_length=16, choices=TagTarget.choices)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("标签")
        verbose_name_plural = _("标签")
        ordering = ["group__sort_order", "sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Household(models.Model):
    """One home (户): an address inside a grid, its members and tags."""

    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="households", verbose_name=_("网格"))
    microgrid = models.ForeignKey(
        Area,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="microgrid_households",
        verbose_name=_("微网格"),
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.SET_NULL, null=True, blank=True, related_name="households", verbose_name=_("小区")
    )
    building = models.ForeignKey(
        Building, on_delete=models.SET_NULL, null=True, blank=True, related_name="households", verbose_name=_("楼栋")
    )
    unit = models.CharField(_("单元"), max_length=10, blank=True)
    room = models.CharField(_("门牌/房号"), max_length=20, blank=True)
    address = models.CharField(_("地址"), max_length=200)
    tags = models.ManyToManyField(Tag, blank=True, related_name="households", verbose_name=_("户标签"))
    notes = models.TextField(_("备注"), blank=True)
    moved_out_on = models.DateField(_("迁出日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        ordering = ["grid_id", "building_id", "unit", "room", "id"]
        indexes = [models.Index(fields=["grid", "building", "unit", "room"], name="household_address_idx")]

    def __str__(self) -> str:
        return self.address


class Resident(models.Model):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="members", verbose_name=_("所属户"))
    name = models.CharField(_("姓名"), max_length=50)
    name_initials = models.CharField(_("姓名拼音首字母"), max_length=20, blank=True, db_index=True)
    id_ciphertext = models.TextField(_("身份证号（密文）"))
    id_index = models.CharField(max_length=64, db_index=True)
    id_masked = models.CharField(_("身份证号"), max_length=18)
    gender = models.CharField(_("性别"), max_length=8, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"))
    phone_ciphertext = models.TextField(_("手机号（密文）"), blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True)
    phone_masked = models.CharField(_("手机号"), max_length=11, blank=True)
    key_id = models.CharField(_("密钥编号"), max_length=16)
    relation = models.CharField(_("与户主关系"), max_length=16, choices=Relation.choices)
    residence = models.CharField(
        _("人户状态"), max_length=32, choices=Residence.choices, default=Residence.REGISTERED_LIVING
    )
    is_party_member = models.BooleanField(_("党员"), default=False)
    employment = models.CharField(_("工作单位/就业状况"), max_length=100, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="residents", verbose_name=_("人员标签"))
    moved_in_on = models.DateField(_("迁入日期"), null=True, blank=True)
    moved_out_on = models.DateField(_("迁出日期"), null=True, blank=True)
    died_on = models.DateField(_("死亡日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["household_id", "id"]
        constraints = [
            # One living, present person per ID number; history rows (moved out, died) may repeat it.
            models.UniqueConstraint(
                fields=["id_index"],
                condition=Q(moved_out_on__isnull=True, died_on__isnull=True),
                name="resident_unique_current_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AccessLogEntry(models.Model):
    """Append-only log of who saw, revealed or exported whose data, and why (PIPL).

    Each row carries the SM3 hash of its content and of the previous row, so
    `manage.py verify_access_log` finds an edited, deleted or reordered row.
    Rows are only ever inserted (`registry.access_log.access_log_append`).
    """

    seq = models.BigIntegerField(_("序号"), unique=True)
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("操作人")
    )
    actor_username = models.CharField(_("用户名"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=16, choices=AccessAction.choices)
    object_type = models.CharField(_("对象类型"), max_length=32)
    object_id = models.CharField(_("对象"), max_length=64)
    purpose = models.CharField(_("事由"), max_length=200, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("个人信息访问日志")
        verbose_name_plural = _("个人信息访问日志")
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="access_log_object_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AccessLogHead(models.Model):
    """The single row holding the last sequence number and hash of the access log.

    Appenders lock and update it (`select_for_update` on PostgreSQL, the
    IMMEDIATE write lock on SQLite), so concurrent appends chain in order.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    row_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("访问日志链头")

    def __str__(self) -> str:
        return f"#{self.seq}"


class RegistryImport(models.Model):
    """One uploaded Excel file of households and residents, validated and imported
    by the worker; the page polls its progress columns."""

    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="registry_imports", verbose_name=_("导入范围")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="registry_imports", verbose_name=_("上传人")
    )
    filename = models.CharField(_("文件名"), max_length=200)
    content = models.BinaryField(_("文件内容"))
    status = models.CharField(_("状态"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    mode = models.CharField(_("导入方式"), max_length=16, choices=ImportMode.choices, default=ImportMode.ALL_OR_NOTHING)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    error_rows = models.PositiveIntegerField(_("错误行数"), default=0)
    errors = models.JSONField(_("错误明细"), default=list, blank=True)
    created_count = models.PositiveIntegerField(_("新增人数"), default=0)
    updated_count = models.PositiveIntegerField(_("更新人数"), default=0)
    message = models.TextField(_("结果说明"), blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("台账导入")
        verbose_name_plural = _("台账导入")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class HouseholdVisit(models.Model):
    """A note of a grid worker's visit to a household (入户走访记录)."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="visits", verbose_name=_("户"))
    visited_on = models.DateField(_("走访日期"))
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="household_visits", verbose_name=_("走访人")
    )
    note = models.TextField(_("走访情况"))
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["-visited_on", "-id"]

    def __str__(self) -> str:
        return f"{self.household} {self.visited_on}"
