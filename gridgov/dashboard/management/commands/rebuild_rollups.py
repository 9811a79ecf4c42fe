"""`manage.py rebuild_rollups`: recompute the dashboard's rollups from the raw cases and steps."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from gridgov.dashboard.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "从事项原始数据重新计算综合态势汇总表。"

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        count = rollups_rebuild()
        seconds = time.perf_counter() - started
        if options["verbosity"]:
            self.stdout.write(f"rebuilt rollups from {count} cases in {seconds:.1f} s")
