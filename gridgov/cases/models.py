"""Cases and their SLA machinery. So far: the working-calendar overrides."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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
