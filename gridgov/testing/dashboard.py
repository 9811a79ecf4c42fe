"""Test helpers for the dashboard: the rollups as comparable data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import connection

from gridgov.cases import services
from gridgov.cases.models import Case
from gridgov.cases.selectors import case_actions_for
from gridgov.dashboard.models import METRICS, CaseContribution, Rollup


def rollup_snapshot() -> dict[tuple[int, date, int, int], dict[str, int]]:
    """Every rollup row's non-zero counters, keyed by (area, day, category, department)."""
    snapshot: dict[tuple[int, date, int, int], dict[str, int]] = {}
    for row in Rollup.objects.all():
        counts = {metric: getattr(row, metric) for metric in METRICS if getattr(row, metric)}
        if counts:
            snapshot[(row.area_id, row.day, row.category_id, row.department_id)] = counts
    return snapshot


def contribution_snapshot() -> dict[int, tuple[int, int, int, dict[str, dict[str, int]]]]:
    return {c.case_id: (c.grid_id, c.category_id, c.department_id, c.entries) for c in CaseContribution.objects.all()}


def act_as_anyone(personas: dict[str, Any], case: Case, action: str, now: datetime, **kwargs: Any) -> str:
    """Perform `action` on `case` as the first persona the pages would offer it to; returns the persona's key."""
    case.refresh_from_db()
    for name, user in personas.items():
        if action in case_actions_for(user, case):
            getattr(services, f"case_{action}")(actor=user, case=case, now=now, **kwargs)
            return name
    raise AssertionError(f"nobody may {action} case {case.pk} ({case.status}/{case.tier})")


RAW_SUMMARY_SQL = """
SELECT
  COUNT(CASE WHEN c.submitted_at >= %(start)s AND c.submitted_at < %(end)s THEN 1 END),
  COUNT(CASE WHEN c.close_due_at >= %(start)s AND c.close_due_at < %(end)s AND c.status <> 'voided' THEN 1 END),
  COUNT(CASE WHEN c.close_due_at >= %(start)s AND c.close_due_at < %(end)s AND c.status = 'closed' THEN 1 END),
  COUNT(CASE WHEN c.close_due_at >= %(start)s AND c.close_due_at < %(end)s AND c.status = 'closed'
              AND c.closed_at <= c.close_due_at THEN 1 END),
  COUNT(CASE WHEN c.rated_at >= %(start)s AND c.rated_at < %(end)s THEN 1 END),
  COUNT(CASE WHEN c.rated_at >= %(start)s AND c.rated_at < %(end)s
              AND c.rating IN ('satisfied', 'basically_satisfied') THEN 1 END),
  COUNT(CASE WHEN c.status = 'closed' AND c.closed_at >= %(start)s AND c.closed_at < %(end)s
              AND c.closed_tier = 'grid' THEN 1 END),
  COUNT(CASE WHEN c.status = 'closed' AND c.closed_at >= %(start)s AND c.closed_at < %(end)s
              AND c.closed_tier = 'community' THEN 1 END),
  COUNT(CASE WHEN c.status = 'closed' AND c.closed_at >= %(start)s AND c.closed_at < %(end)s
              AND c.closed_tier = 'town' THEN 1 END),
  COUNT(CASE WHEN c.status = 'closed' AND c.closed_at >= %(start)s AND c.closed_at < %(end)s
              AND c.closed_tier = 'department' THEN 1 END),
  COUNT(CASE WHEN c.status IN ('submitted', 'handling', 'dispatched', 'reported')
              AND (c.sla_light = 'red' OR c.due_at < %(now)s) THEN 1 END)
FROM cases_case c
JOIN areas_area a ON a.id = c.grid_id
WHERE a.path LIKE %(prefix)s
"""

RAW_STEPS_SQL = """
SELECT
  COUNT(CASE WHEN s.action = 'reopen' THEN 1 END),
  COUNT(CASE WHEN s.action IN ('verify_pass', 'close') THEN 1 END)
FROM cases_casestep s
JOIN cases_case c ON c.id = s.case_id
JOIN areas_area a ON a.id = c.grid_id
WHERE a.path LIKE %(prefix)s AND s.at >= %(start)s AND s.at < %(end)s
"""

RAW_FIELDS = (
    "intake",
    "due_to_close",
    "closed",
    "closed_on_time",
    "rated",
    "satisfied",
    "tier_grid",
    "tier_community",
    "tier_town",
    "tier_department",
    "overdue_open",
)


def raw_summary(path: str, start: datetime, end: datetime, now: datetime) -> dict[str, int]:
    """The dashboard's counts for the subtree at `path` over [start, end), by hand-written SQL on the raw tables."""
    ops = connection.ops
    params = {
        "start": ops.adapt_datetimefield_value(start),
        "end": ops.adapt_datetimefield_value(end),
        "now": ops.adapt_datetimefield_value(now),
        "prefix": path + "%",
    }
    with connection.cursor() as cursor:
        cursor.execute(RAW_SUMMARY_SQL, params)
        counts = dict(zip(RAW_FIELDS, cursor.fetchone(), strict=True))
        cursor.execute(RAW_STEPS_SQL, params)
        counts["reopened"], counts["closes"] = cursor.fetchone()
    return {key: int(value or 0) for key, value in counts.items()}
