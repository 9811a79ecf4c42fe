"""The dashboard's periodic job: fold new case steps into the rollups, then look for alerts."""

from __future__ import annotations

from gridgov.dashboard.alerts import alerts_scan
from gridgov.dashboard.rollups import rollups_refresh


def dashboard_periodic() -> None:
    rollups_refresh()
    alerts_scan()
