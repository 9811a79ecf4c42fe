"""美德信用积分: the rule catalogue, the append-only ledger per household, yearly
closures, ranking opt-ins, the redemption catalogue and resident-account links.

The ledger (`CreditEntry`) is append-only. Its booking columns (household,
points, year, rule, who recorded it …) never change after insert and rows are
never deleted: database triggers (migration 0002) refuse both. Only the review
columns (status, approver, appeal) move forward, through `services.py`.
Corrections are new reversal entries; a staff reversal is pending until a second
person approves it (four eyes, like a deduction).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.areas.models import Area
from gridgov.credits.choices import EntryKind, EntryStatus, RuleCategory
from gridgov.registry.models import Household, Resident


class CreditRule(models.Model):
    """One rule of the catalogue. Rows without an area are the default catalogue (seeded by
    a migration); a county's rule with the same code overrides it, a town's rule overrides both."""

    area = models.ForeignKey(
        Area,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_rules",
        verbose_name=_("适用区域"),
        help_text=_("空为默认规则；区县或镇街的同编码规则覆盖默认规则。"),
    )
    code = models.CharField(_("编码"), max_length=32)
    name = models.CharField(_("名称"), max_length=100)
    category = models.CharField(_("类别"), max_length=16, choices=RuleCategory.choices)
    points_min = models.IntegerField(_("最低分值"))
    points_max = models.IntegerField(_("最高分值"))
    evidence_required = models.BooleanField(_("须附证据照片"), default=False)
    yearly_cap = models.PositiveIntegerField(
        _("每户年度上限"), null=True, blank=True, help_text=_("同一户一年内按本规则累计加减分的绝对值上限。")
    )
    case_category = models.ForeignKey(
        "cases.Category",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="credit_rules",
        verbose_name=_("对应事项类别"),
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("积分规则")
        verbose_name_plural = _("积分规则")
        ordering = ["category", "code"]
        constraints = [
            models.UniqueConstraint(fields=["area", "code"], name="credit_rule_unique_code_in_area"),
            models.UniqueConstraint(fields=["code"], condition=Q(area__isnull=True), name="credit_rule_unique_default"),
            models.CheckConstraint(condition=Q(points_min__lte=models.F("points_max")), name="credit_rule_range"),
            models.CheckConstraint(condition=Q(points_min__gt=0) | Q(points_max__lt=0), name="credit_rule_one_sign"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_deduction(self) -> bool:
        return self.points_max < 0


class CreditEntry(models.Model):
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="credit_entries", verbose_name=_("户")
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("行为人")
    )
    rule = models.ForeignKey(
        CreditRule, on_delete=models.PROTECT, null=True, blank=True, related_name="entries", verbose_name=_("规则")
    )
    kind = models.CharField(_("类型"), max_length=16, choices=EntryKind.choices)
    points = models.IntegerField(_("分值"))
    year = models.PositiveSmallIntegerField(_("年度"), db_index=True)
    occurred_on = models.DateField(_("发生日期"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    evidence = models.FileField(_("证据照片"), upload_to="credits/%Y/%m/", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("记录人")
    )
    recorded_at = models.DateTimeField(_("记录时间"))
    # At most one live (pending or approved) reversal per entry; a rejected one leaves room for another.
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals", verbose_name=_("冲正对象")
    )
    source_case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("来源事项")
    )
    redemption_item = models.ForeignKey(
        "RedemptionItem", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("兑换物品")
    )
    # Review columns: the only ones that ever change, and only forwards (services).
    status = models.CharField(_("状态"), max_length=16, choices=EntryStatus.choices, default=EntryStatus.PENDING)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    approved_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    appeal_reason = models.CharField(_("申诉理由"), max_length=300, blank=True)
    appealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申诉人"),
    )
    appealed_at = models.DateTimeField(_("申诉时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申诉处理人"),
    )
    decided_at = models.DateTimeField(_("申诉处理时间"), null=True, blank=True)
    decision_note = models.CharField(_("处理意见"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("积分记录")
        verbose_name_plural = _("积分记录")
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["household", "year", "status"], name="credit_entry_household_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["source_case"], condition=Q(source_case__isnull=False), name="credit_entry_one_per_case"
            ),
            models.CheckConstraint(condition=~Q(points=0), name="credit_entry_nonzero"),
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(reverses__isnull=False) & ~Q(status=EntryStatus.REJECTED),
                name="credit_entry_one_live_reversal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.points:+d} ({self.get_status_display()})"


class CreditYearClosure(models.Model):
    """A settled year of one county: nothing may be booked into it any more."""

    county = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("区县"))
    year = models.PositiveSmallIntegerField(_("年度"))
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(_("结算时间"))

    class Meta:
        verbose_name = _("年度结算")
        verbose_name_plural = _("年度结算")
        constraints = [models.UniqueConstraint(fields=["county", "year"], name="credit_year_closed_once")]

    def __str__(self) -> str:
        return f"{self.county_id} {self.year}"


class RankingOptIn(models.Model):
    """A household that agreed to appear (masked) in the public rankings."""

    household = models.OneToOneField(
        Household, on_delete=models.CASCADE, related_name="credit_opt_in", verbose_name=_("户")
    )
    opted_in_at = models.DateTimeField(_("同意时间"))

    class Meta:
        verbose_name = _("参与排名")
        verbose_name_plural = _("参与排名")

    def __str__(self) -> str:
        return str(self.household_id)


class RedemptionItem(models.Model):
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("提供区域"))
    name = models.CharField(_("名称"), max_length=100)
    points_cost = models.PositiveIntegerField(_("所需积分"))
    stock = models.PositiveIntegerField(_("库存"))
    active = models.BooleanField(_("上架"), default=True)

    class Meta:
        verbose_name = _("兑换物品")
        verbose_name_plural = _("兑换物品")
        ordering = ["points_cost", "name"]
        constraints = [models.CheckConstraint(condition=Q(points_cost__gt=0), name="redemption_item_cost_positive")]

    def __str__(self) -> str:
        return self.name


class HouseholdAccount(models.Model):
    """Staff link a resident's portal account to their registry household (the portal
    knows only a phone and a compound, never the household)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_household", verbose_name=_("居民账号")
    )
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="+", verbose_name=_("户"))
    linked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField(_("关联时间"))

    class Meta:
        verbose_name = _("居民账号关联户")
        verbose_name_plural = _("居民账号关联户")

    def __str__(self) -> str:
        return f"{self.user_id} → {self.household_id}"


class LedgerMaintenance(models.Model):
    """While a row exists here (inside `credits_delete_all`'s transaction only), the
    append-only triggers let the demo reset delete ledger rows."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)

    class Meta:
        verbose_name = _("台账维护锁")

    def __str__(self) -> str:
        return str(self.pk)
