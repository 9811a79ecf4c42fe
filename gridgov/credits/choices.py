from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleCategory(models.TextChoices):
    DOGS = "dogs", _("文明养犬")
    GARBAGE = "garbage", _("垃圾分类")
    VOLUNTEER = "volunteer", _("志愿服务")
    NEIGHBOUR = "neighbour", _("邻里互助")
    COUNCIL = "council", _("参与议事")


class EntryKind(models.TextChoices):
    AWARD = "award", _("加分")
    DEDUCTION = "deduction", _("扣分")
    REVERSAL = "reversal", _("冲正")
    REDEMPTION = "redemption", _("兑换")


class EntryStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已生效")
    REJECTED = "rejected", _("未通过")
    APPEALED = "appealed", _("申诉中")
    UPHELD = "upheld", _("申诉驳回")
    REVERSED = "reversed", _("已冲正")


# Entries whose points count in the balance. A reversed entry keeps counting:
# its reversal entry (the negated points) cancels it, so the ledger never changes.
POSTED_STATUSES: frozenset[str] = frozenset(
    {EntryStatus.APPROVED, EntryStatus.APPEALED, EntryStatus.UPHELD, EntryStatus.REVERSED}
)
