"""两房两共 清收管用: the register of a compound's public assets, their contracts, the
compound's income/expense ledger (append-only, corrections by reversal), inventory
campaigns with their discrepancies, and recovery tasks for occupied assets."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.areas.models import Area, Compound
from gridgov.assets.choices import (
    AssetKind,
    AssetStatus,
    ContractAlertKind,
    DiscrepancyKind,
    LedgerDirection,
    LedgerItem,
    PaymentPeriod,
    TaskStatus,
)


class PublicAsset(models.Model):
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="public_assets", verbose_name=_("小区")
    )
    kind = models.CharField(_("类别"), max_length=20, choices=AssetKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    location = models.CharField(_("位置"), max_length=200)
    floor_area = models.DecimalField(_("面积（㎡）"), max_digits=10, decimal_places=2, null=True, blank=True)
    current_use = models.CharField(_("现用途"), max_length=100, blank=True)
    occupant = models.CharField(_("使用/占用方"), max_length=100, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=AssetStatus.choices, default=AssetStatus.IN_USE)
    notes = models.TextField(_("备注"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("公共资产")
        verbose_name_plural = _("公共资产")
        ordering = ["compound_id", "kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(floor_area__isnull=True) | Q(floor_area__gte=0), name="asset_area_nonnegative"
            )
        ]

    def __str__(self) -> str:
        return self.name


class AssetDocument(models.Model):
    asset = models.ForeignKey(PublicAsset, on_delete=models.CASCADE, related_name="documents", verbose_name=_("资产"))
    file = models.FileField(_("文件"), upload_to="assets/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=100)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("资产证照")
        verbose_name_plural = _("资产证照")

    def __str__(self) -> str:
        return self.original_name


class AssetContract(models.Model):
    asset = models.ForeignKey(PublicAsset, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("资产"))
    party = models.CharField(_("承租/使用方"), max_length=100)
    start_on = models.DateField(_("起始日期"))
    end_on = models.DateField(_("终止日期"))
    rent = models.DecimalField(_("每期租金（元）"), max_digits=12, decimal_places=2)
    period = models.CharField(
        _("缴费周期"), max_length=16, choices=PaymentPeriod.choices, default=PaymentPeriod.MONTHLY
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    terminated_on = models.DateField(_("提前终止日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("资产合同")
        verbose_name_plural = _("资产合同")
        ordering = ["end_on"]
        constraints = [
            models.CheckConstraint(condition=Q(start_on__lte=models.F("end_on")), name="contract_dates_ordered"),
            models.CheckConstraint(condition=Q(rent__gte=0), name="contract_rent_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.asset} · {self.party}"


class ContractAlertSent(models.Model):
    """A contract alert already queued as notices. The daily job sends each
    (contract, kind, period) once, however often it runs: the unique constraint decides."""

    contract = models.ForeignKey(
        AssetContract, on_delete=models.CASCADE, related_name="alerts_sent", verbose_name=_("合同")
    )
    kind = models.CharField(_("提醒类型"), max_length=16, choices=ContractAlertKind.choices)
    # Expiry: the end date (YYYY-MM-DD); arrears: the month of the latest period due (YYYY-MM).
    period = models.CharField(_("提醒期间"), max_length=10)
    sent_at = models.DateTimeField(_("发送时间"))
    recipients = models.PositiveIntegerField(_("接收人数"), default=0)

    class Meta:
        verbose_name = _("合同提醒记录")
        verbose_name_plural = _("合同提醒记录")
        constraints = [
            models.UniqueConstraint(fields=["contract", "kind", "period"], name="contract_alert_sent_once"),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.kind} {self.period}"


class LedgerEntry(models.Model):
    """One income or expense of a compound. Append-only: `save` refuses an existing row,
    `delete` refuses always; a correction is a reversal entry with the negated amount."""

    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="asset_ledger", verbose_name=_("小区")
    )
    direction = models.CharField(_("收支"), max_length=8, choices=LedgerDirection.choices)
    item = models.CharField(_("科目"), max_length=16, choices=LedgerItem.choices)
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    occurred_on = models.DateField(_("发生日期"), db_index=True)
    asset = models.ForeignKey(
        PublicAsset, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger", verbose_name=_("资产")
    )
    contract = models.ForeignKey(
        AssetContract, on_delete=models.PROTECT, null=True, blank=True, related_name="payments", verbose_name=_("合同")
    )
    description = models.CharField(_("摘要"), max_length=200)
    voucher = models.FileField(_("凭证"), upload_to="assets/vouchers/%Y/%m/", blank=True)
    decision = models.ForeignKey(
        "council.Decision",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="asset_ledger_entries",
        verbose_name=_("议事决议"),
        help_text=_("本小区议事会议的决议，支出的依据。"),
    )
    # Free text of old ledgers (the 议事决定 column of an imported Excel ledger), kept as written.
    decision_reference = models.CharField(_("议事决定（原台账记载）"), max_length=100, blank=True)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversal", verbose_name=_("冲正对象")
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("记账时间"))

    class Meta:
        verbose_name = _("收支台账")
        verbose_name_plural = _("收支台账")
        ordering = ["-occurred_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="asset_ledger_nonzero"),
            models.CheckConstraint(
                condition=Q(amount__gt=0) | Q(reverses__isnull=False), name="asset_ledger_negative_only_reversal"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_on} {self.get_item_display()} {self.amount}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("asset ledger entries are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValueError("asset ledger entries are append-only")


class InventoryCampaign(models.Model):
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("盘点范围"))
    title = models.CharField(_("名称"), max_length=100)
    started_on = models.DateField(_("开始日期"))
    closed_on = models.DateField(_("结束日期"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("清查盘点")
        verbose_name_plural = _("清查盘点")
        ordering = ["-started_on"]

    def __str__(self) -> str:
        return self.title


class InventoryFinding(models.Model):
    campaign = models.ForeignKey(
        InventoryCampaign, on_delete=models.CASCADE, related_name="findings", verbose_name=_("盘点")
    )
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+", verbose_name=_("小区"))
    asset = models.ForeignKey(
        PublicAsset, on_delete=models.PROTECT, null=True, blank=True, related_name="findings", verbose_name=_("资产")
    )
    kind = models.CharField(_("差异类型"), max_length=16, choices=DiscrepancyKind.choices)
    note = models.CharField(_("情况说明"), max_length=300)
    found_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    found_at = models.DateTimeField(_("发现时间"))

    class Meta:
        verbose_name = _("盘点差异")
        verbose_name_plural = _("盘点差异")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.note}"


class RecoveryTask(models.Model):
    asset = models.ForeignKey(
        PublicAsset, on_delete=models.PROTECT, related_name="recovery_tasks", verbose_name=_("资产")
    )
    finding = models.ForeignKey(InventoryFinding, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(_("状态"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    due_on = models.DateField(_("限期"))
    result = models.CharField(_("结果"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("收回任务")
        verbose_name_plural = _("收回任务")
        ordering = ["status", "due_on"]
        constraints = [
            models.UniqueConstraint(fields=["asset"], condition=Q(status="open"), name="recovery_one_open_per_asset"),
        ]

    def __str__(self) -> str:
        return f"{self.asset} · {self.get_status_display()}"
