"""The periodic job of the tasks app (listed in `gridgov.core.jobs.PERIODIC_JOBS`)."""

from __future__ import annotations


def remind_overdue_assignments() -> None:
    """Queue reminders to the workers of overdue, unfinished task assignments (once a day each)."""
    from gridgov.tasks.services import assignments_remind_overdue

    assignments_remind_overdue()
