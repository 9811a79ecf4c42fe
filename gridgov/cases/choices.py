from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeUnit(models.TextChoices):
    """How a time limit is counted."""

    WORKING_HOUR = "working_hour", _("工作时")
    WORKING_DAY = "working_day", _("工作日")
    NATURAL_HOUR = "natural_hour", _("自然小时")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    CRITICAL = "critical", _("特急")


class Tier(models.TextChoices):
    """Levels a case climbs: 小事不出网格、大事不出社区、难事不出镇街, then departments."""

    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    TOWN = "town", _("镇街")
    DEPARTMENT = "department", _("职能部门")
