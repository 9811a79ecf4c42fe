from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from gridgov.core.jobs import JobSpec
from gridgov.core.models import PeriodicJob
from gridgov.core.services import periodic_job_claim, periodic_jobs_run_due

pytestmark = pytest.mark.django_db


def test_a_due_job_is_claimed_exactly_once() -> None:
    # given a job that is due now
    spec = JobSpec("sample", timedelta(minutes=10), lambda: None)
    now = timezone.now()
    # when two workers try to claim it at the same moment
    first = periodic_job_claim(spec=spec, now=now)
    second = periodic_job_claim(spec=spec, now=now)
    # then only one wins, and the next run is one interval later
    assert (first, second) == (True, False)
    assert PeriodicJob.objects.get(name="sample").next_run_at == now + timedelta(minutes=10)


def test_a_failing_job_is_recorded_and_does_not_stop_the_others() -> None:
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    specs = [
        JobSpec("broken", timedelta(minutes=1), broken),
        JobSpec("healthy", timedelta(minutes=1), lambda: calls.append("healthy")),
    ]
    ran = periodic_jobs_run_due(specs=specs)
    assert ran == ["broken", "healthy"]
    assert calls == ["healthy"]
    broken_row = PeriodicJob.objects.get(name="broken")
    assert "RuntimeError: boom" in broken_row.last_error
    assert broken_row.run_count == 1
    # and nothing runs again before its interval has passed
    assert periodic_jobs_run_due(specs=specs) == []


# The worker closes stale connections between rounds, which a test wrapped in
# a transaction would see as a closed connection; so this one commits for real.
@pytest.mark.django_db(transaction=True)
def test_run_worker_once_runs_the_housekeeping_jobs() -> None:
    out = StringIO()
    call_command("run_worker", "--once", stdout=out)
    assert "clear_expired_sessions" in out.getvalue()
    assert set(PeriodicJob.objects.values_list("name", flat=True)) >= {"clear_expired_sessions", "prune_login_attempts"}
