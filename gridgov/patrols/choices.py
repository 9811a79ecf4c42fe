from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PatrolStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    FINISHED = "finished", _("已结束")


class CheckResult(models.TextChoices):
    OK = "ok", _("正常")
    PROBLEM = "problem", _("有问题")
    NOT_APPLICABLE = "na", _("不适用")


class FindingStatus(models.TextChoices):
    OPEN = "open", _("待处置")
    SETTLED = "settled", _("现场已处置")
    CASE = "case", _("已转为事项")
