from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeUnit(models.TextChoices):
    """How a time limit is counted."""

    WORKING_HOUR = "working_hour", _("工作时")
    WORKING_DAY = "working_day", _("工作日")
    NATURAL_HOUR = "natural_hour", _("自然小时")
