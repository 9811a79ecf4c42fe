"""Claiming and recording runs of periodic jobs."""

from __future__ import annotations

import logging
import traceback
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from gridgov.core.jobs import JobSpec
from gridgov.core.models import PeriodicJob

logger = logging.getLogger(__name__)


def periodic_job_claim(*, spec: JobSpec, now: datetime) -> bool:
    """Claim a due run of `spec`; True for exactly one caller per due run."""
    PeriodicJob.objects.get_or_create(name=spec.name, defaults={"next_run_at": now})
    claimed = PeriodicJob.objects.filter(name=spec.name, next_run_at__lte=now).update(
        next_run_at=now + spec.every, last_started_at=now
    )
    return claimed == 1


def periodic_jobs_run_due(*, specs: list[JobSpec], now: datetime | None = None) -> list[str]:
    """Run every due job once; a failing job is recorded and does not stop the others."""
    ran: list[str] = []
    for spec in specs:
        moment = now or timezone.now()
        with transaction.atomic():
            claimed = periodic_job_claim(spec=spec, now=moment)
        if not claimed:
            continue
        error = ""
        try:
            spec.run()
        except Exception:
            error = traceback.format_exc()
            logger.exception("Periodic job %s failed", spec.name)
        PeriodicJob.objects.filter(name=spec.name).update(
            last_finished_at=timezone.now(), last_error=error, run_count=F("run_count") + 1
        )
        ran.append(spec.name)
    return ran
