"""The background worker: periodic jobs plus the django-tasks database queue.

Polls the database; needs no broker. Run one or more next to the web server.
"""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django_tasks_db.management.commands.db_worker import Worker

from gridgov.core.jobs import PERIODIC_JOBS
from gridgov.core.services import periodic_jobs_run_due


class Command(BaseCommand):
    help = _("运行后台工作进程：周期任务与任务队列。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help=_("只运行一轮后退出（用于运维脚本与测试）。"))
        parser.add_argument("--interval", type=float, default=None, help=_("两轮之间的间隔秒数。"))

    def handle(self, *args: Any, once: bool, interval: float | None, **options: Any) -> None:
        pause = interval if interval is not None else float(settings.WORKER_POLL_SECONDS)
        self.running = True
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        worker_id = get_random_string(32)
        self.stdout.write(_("后台工作进程已启动（%(id)s）。") % {"id": worker_id[:8]})
        while self.running:
            close_old_connections()
            ran = periodic_jobs_run_due(specs=PERIODIC_JOBS)
            for name in ran:
                self.stdout.write(_("已运行周期任务：%(name)s") % {"name": name})
            # Drain the task queue, then come back for the periodic jobs.
            Worker(
                queue_names=["*"],
                interval=0,
                batch=True,
                backend_name="default",
                startup_delay=False,
                max_tasks=100,
                worker_id=worker_id,
                excluded_queue_names=[],
            ).run()
            if once:
                break
            self._sleep(pause)
        self.stdout.write(_("后台工作进程已停止。"))

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.running = False

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.running and time.monotonic() < deadline:
            time.sleep(min(0.5, seconds))
