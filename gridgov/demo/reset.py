"""Emptying the database before a new demo county (`demo_county --reset`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from gridgov.accounts.models import Department, User
from gridgov.accounts.services import accounts_delete_all
from gridgov.areas.models import Area
from gridgov.areas.services import area_tree_delete_all
from gridgov.cases.models import Case, CaseAttachment, CaseStep, DepartmentCategory
from gridgov.core.db import delete_every_row
from gridgov.demo.credits import credits_demo_delete_all
from gridgov.demo.dashboard import dashboard_delete_all
from gridgov.demo.party import party_delete_all
from gridgov.demo.patrols import patrols_delete_all
from gridgov.demo.tasks import tasks_delete_all
from gridgov.notices.models import InboxMessage, Notice
from gridgov.portal.services import portal_delete_all
from gridgov.registry.services import registry_delete_all


def database_has_data() -> bool:
    """True when the database already holds areas, users or departments (a demo or real data)."""
    return Area.objects.exists() or User.objects.exists() or Department.objects.exists()


def cases_delete_all() -> dict[str, int]:
    """Delete every case with its steps and attachments, every notice, and the departments' categories.

    Attachment files stay in the media directory (Django never deletes files with rows).
    """
    deleted = {
        "inbox_messages": delete_every_row(InboxMessage),
        "notices": delete_every_row(Notice),
        "case_attachments": delete_every_row(CaseAttachment),
        "case_steps": delete_every_row(CaseStep),
    }
    # Duplicates point at the case they were merged into (PROTECT).
    Case.objects.exclude(merged_into=None).update(merged_into=None)
    deleted["cases"] = delete_every_row(Case)
    deleted["department_categories"] = DepartmentCategory.objects.all().delete()[0]
    return deleted


@transaction.atomic
def demo_reset(*, actor: Any = None) -> dict[str, int]:
    """Delete every case, notice, resident, household, area, compound, building, department, user and role assignment.

    Rows are deleted from the leaves of the foreign-key graph upwards, because
    most links are PROTECT. Features that add rows pointing at areas or users
    (residents, cases …) must delete them here, before the role assignments.

    The audit log goes too: its rows point at the users being deleted
    (PROTECT), and a fresh demo should not inherit the history of the last one.
    Sessions go so that nobody stays signed in as a user that no longer exists.
    """
    # Party, council, tasks, credits, public assets and patrols point at cases, users, grids and
    # households: they go first.
    # Credits/assets first: their ledger points at council decisions (PROTECT).
    deleted = credits_demo_delete_all()
    deleted.update(party_delete_all())
    deleted.update(tasks_delete_all())
    deleted.update(patrols_delete_all())
    deleted.update(dashboard_delete_all())
    deleted.update(cases_delete_all())
    deleted.update(registry_delete_all())
    deleted.update(portal_delete_all())
    deleted.update(accounts_delete_all(actor=actor))
    deleted.update(area_tree_delete_all(actor=actor))
    return deleted
