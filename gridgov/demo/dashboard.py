"""The demo county's dashboard: rollups built from the generated cases, and a first alert scan.

The year of demo cases is written in bulk (`gridgov.demo.cases`), past the
services, so the worker's incremental refresh would have to read every step
once; instead the generator rebuilds the rollups from raw, which also moves the
watermark past the generated steps. Then the alert detectors run once, as the
worker would on its first round.

The generator calls `step_dashboard(build)` after `step_cases` (the lead wires
it into `generator.STEPS`); on its own: `dashboard_populate(now=...)`. The reset
calls `dashboard_delete_all()` before it deletes cases and areas (alerts and
rollup rows point at them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gridgov.core.db import delete_every_row
from gridgov.dashboard.alerts import alerts_scan
from gridgov.dashboard.models import Alert, CaseContribution, Rollup, RollupState, RollupTotal
from gridgov.dashboard.rollups import rollups_rebuild


@dataclass(frozen=True)
class DashboardDemo:
    cases: int
    rollup_rows: int
    alerts: int


def dashboard_populate(*, now: datetime) -> DashboardDemo:
    """Rebuild the rollups from the demo cases as of `now` and run the alert detectors once."""
    cases = rollups_rebuild(now=now)
    alerts = alerts_scan(now=now, force=True)
    return DashboardDemo(cases=cases, rollup_rows=Rollup.objects.count(), alerts=alerts)


def step_dashboard(build: Any) -> None:
    """Generator step (after `step_cases`): see `dashboard_populate`."""
    dashboard_populate(now=build.now)


def dashboard_delete_all() -> dict[str, int]:
    """Delete every alert, rollup row, contribution and the worker's progress (one DELETE per table)."""
    deleted: dict[str, int] = {}
    for name, model in (
        ("dashboard_alerts", Alert),
        ("dashboard_rollups", Rollup),
        ("dashboard_rollup_totals", RollupTotal),
        ("dashboard_contributions", CaseContribution),
        ("dashboard_state", RollupState),
    ):
        deleted[name] = delete_every_row(model)
    return deleted
