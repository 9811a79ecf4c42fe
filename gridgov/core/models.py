"""State of the background worker's periodic jobs."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodicJob(models.Model):
    """One row per periodic job; `next_run_at` is the timer (a column, not a sleeping task).

    A worker claims a due job with a conditional UPDATE on `next_run_at`, so
    with several workers each run happens exactly once.
    """

    name = models.CharField(_("任务"), max_length=100, primary_key=True)
    next_run_at = models.DateTimeField(_("下次运行"))
    last_started_at = models.DateTimeField(_("上次开始"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("上次结束"), null=True, blank=True)
    last_error = models.TextField(_("上次错误"), blank=True)
    run_count = models.PositiveIntegerField(_("运行次数"), default=0)

    class Meta:
        verbose_name = _("周期任务")
        verbose_name_plural = _("周期任务")

    def __str__(self) -> str:
        return self.name
