"""Emptying the database before a new demo county (`demo_county --reset`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from gridgov.accounts.models import Department, User
from gridgov.accounts.services import accounts_delete_all
from gridgov.areas.models import Area
from gridgov.areas.services import area_tree_delete_all
from gridgov.registry.services import registry_delete_all


def database_has_data() -> bool:
    """True when the database already holds areas, users or departments (a demo or real data)."""
    return Area.objects.exists() or User.objects.exists() or Department.objects.exists()


@transaction.atomic
def demo_reset(*, actor: Any = None) -> dict[str, int]:
    """Delete every resident, household, area, compound, building, department, user and role assignment.

    Rows are deleted from the leaves of the foreign-key graph upwards, because
    most links are PROTECT. Features that add rows pointing at areas or users
    (residents, cases …) must delete them here, before the role assignments.

    The audit log goes too: its rows point at the users being deleted
    (PROTECT), and a fresh demo should not inherit the history of the last one.
    Sessions go so that nobody stays signed in as a user that no longer exists.
    """
    deleted = registry_delete_all()
    deleted.update(accounts_delete_all(actor=actor))
    deleted.update(area_tree_delete_all(actor=actor))
    return deleted
