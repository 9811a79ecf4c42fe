"""Run the SLA sweep by hand; the worker (`run_worker`) runs it every minute.

manage.py sla_sweep --once
manage.py sla_sweep --once --now 2025-10-09T09:00:00+08:00   # replay a moment
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.cases.services import sla_sweep


class Command(BaseCommand):
    help = _("运行一次时限巡检：80%%预警、超时督办并自动上报上一级。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help=_("运行一轮后退出（默认也只运行一轮）。"))
        parser.add_argument("--now", default=None, help=_("按此时刻巡检（ISO 8601，如 2025-10-09T09:00:00+08:00）。"))

    def handle(self, *args: Any, once: bool, now: str | None, **options: Any) -> None:
        moment = None
        if now:
            try:
                moment = datetime.fromisoformat(now)
            except ValueError as error:
                raise CommandError(_("--now 的格式应为 ISO 8601，如 2025-10-09T09:00:00+08:00。")) from error
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        result = sla_sweep(now=moment)
        self.stdout.write(
            _("时限巡检完成：预警 %(warned)d 件，超时 %(breached)d 件，其中自动上报 %(escalated)d 件。")
            % {"warned": result.warned, "breached": result.breached, "escalated": result.escalated}
        )
