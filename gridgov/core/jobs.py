"""Periodic housekeeping jobs run by `manage.py run_worker`.

Each job is a plain function without arguments, idempotent and safe to run
again after a crash. Later apps add their sweeps (e.g. the SLA sweep) to
`PERIODIC_JOBS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone


@dataclass(frozen=True)
class JobSpec:
    name: str
    every: timedelta
    run: Callable[[], None]


def clear_expired_sessions() -> None:
    call_command("clearsessions")


def prune_login_attempts() -> None:
    """Forget failed-login records older than the throttling window plus a margin (PIPL: keep no more than needed)."""
    from axes.models import AccessAttempt, AccessFailureLog

    cutoff = timezone.now() - timedelta(days=30)
    AccessAttempt.objects.filter(attempt_time__lt=cutoff).delete()
    AccessFailureLog.objects.filter(attempt_time__lt=cutoff).delete()


def prune_task_results() -> None:
    call_command("prune_db_task_results", min_age_days=14, verbosity=0)


def purge_stale_registry_imports() -> None:
    from gridgov.registry.importing import registry_imports_purge_stale

    registry_imports_purge_stale()


def sweep_case_deadlines() -> None:
    from gridgov.cases.services import sla_sweep

    sla_sweep()


def refresh_dashboard_rollups() -> None:
    from gridgov.dashboard.worker import dashboard_periodic

    dashboard_periodic()


def remind_overdue_task_assignments() -> None:
    from gridgov.tasks.jobs import remind_overdue_assignments

    remind_overdue_assignments()


def send_contract_alerts() -> None:
    from gridgov.assets.jobs import send_contract_alerts as run

    run()


def deliver_notices() -> None:
    from gridgov.notices.services import notices_deliver

    notices_deliver()


PERIODIC_JOBS: list[JobSpec] = [
    JobSpec("sla_sweep", timedelta(minutes=1), sweep_case_deadlines),
    # Every round of the worker (the poll interval bounds it from below).
    JobSpec("deliver_notices", timedelta(seconds=1), deliver_notices),
    JobSpec("dashboard_rollups", timedelta(seconds=30), refresh_dashboard_rollups),
    JobSpec("clear_expired_sessions", timedelta(hours=1), clear_expired_sessions),
    JobSpec("prune_login_attempts", timedelta(hours=6), prune_login_attempts),
    JobSpec("prune_task_results", timedelta(hours=6), prune_task_results),
    JobSpec("registry_imports_purge_stale", timedelta(hours=6), purge_stale_registry_imports),
    JobSpec("task_reminders", timedelta(minutes=10), remind_overdue_task_assignments),
    # Once per alert and period (ContractAlertSent), so a short interval only makes them prompt.
    JobSpec("contract_alerts", timedelta(hours=6), send_contract_alerts),
]
