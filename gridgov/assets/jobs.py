"""The periodic job of the assets app (listed in `gridgov.core.jobs.PERIODIC_JOBS`)."""

from __future__ import annotations


def send_contract_alerts() -> None:
    """Queue contract expiry and arrears alerts to the compounds' community staff (each alert once)."""
    from gridgov.assets.services import contract_alerts_send

    contract_alerts_send()
