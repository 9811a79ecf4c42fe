from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AssetKind(models.TextChoices):
    SERVICE_ROOM = "service_room", _("物业服务用房")
    COMMUNITY_ROOM = "community_room", _("社区用房")
    COMMON_PART = "common_part", _("共有部位")
    SHARED_FACILITY = "shared_facility", _("共用设施")


class AssetStatus(models.TextChoices):
    IN_USE = "in_use", _("正常使用")
    IDLE = "idle", _("闲置")
    OCCUPIED = "occupied", _("被占用待收回")
    RECOVERED = "recovered", _("已收回")


class PaymentPeriod(models.TextChoices):
    MONTHLY = "monthly", _("按月")
    QUARTERLY = "quarterly", _("按季")
    YEARLY = "yearly", _("按年")


class ContractAlertKind(models.TextChoices):
    EXPIRY = "expiry", _("合同即将到期")
    ARREARS = "arrears", _("租金欠缴")


PERIOD_MONTHS = {PaymentPeriod.MONTHLY: 1, PaymentPeriod.QUARTERLY: 3, PaymentPeriod.YEARLY: 12}


class LedgerDirection(models.TextChoices):
    INCOME = "income", _("收入")
    EXPENSE = "expense", _("支出")


class LedgerItem(models.TextChoices):
    RENT = "rent", _("房屋租金")
    ADVERTISING = "advertising", _("电梯广告")
    PARKING = "parking", _("停车收费")
    VENUE = "venue", _("场地租用")
    OTHER_INCOME = "other_income", _("其他收入")
    REPAIR = "repair", _("维修养护")
    SERVICE = "service", _("公共服务")
    OTHER_EXPENSE = "other_expense", _("其他支出")


INCOME_ITEMS = frozenset(
    {LedgerItem.RENT, LedgerItem.ADVERTISING, LedgerItem.PARKING, LedgerItem.VENUE, LedgerItem.OTHER_INCOME}
)


class DiscrepancyKind(models.TextChoices):
    UNREGISTERED = "unregistered", _("未登记的资产")
    OCCUPIED = "occupied", _("被占用")
    AREA_MISMATCH = "area_mismatch", _("面积不符")
    USE_MISMATCH = "use_mismatch", _("用途不符")
    MISSING = "missing", _("登记有、现场无")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("收回中")
    DONE = "done", _("已收回")
    DROPPED = "dropped", _("无法收回（已说明）")
