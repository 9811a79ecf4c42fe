"""Test helpers for credits: households with a head resident, and a linked resident account."""

from __future__ import annotations

from typing import Any

from gridgov.accounts.choices import Role
from gridgov.areas.models import Area, Compound
from gridgov.credits.models import HouseholdAccount
from gridgov.registry.identifiers import id_check_character
from gridgov.registry.models import Household, Resident
from gridgov.registry.services import HouseholdSpec, ResidentSpec, household_create, residents_bulk_register
from gridgov.testing.factories import make_user_with_role

_sequence = [700]


def _id_number() -> str:
    _sequence[0] += 1
    first17 = f"37028119850101{(_sequence[0] % 500) * 2 + 1:03d}"
    return first17 + id_check_character(first17)


def make_household(
    grid: Area, *, compound: Compound | None = None, head: str = "张建国", room: str = "101"
) -> Household:
    household = household_create(
        actor=None,
        spec=HouseholdSpec(grid=grid, compound=compound, address=f"{grid.name}{room}室", room=room),
    )
    residents_bulk_register(actor=None, specs=[ResidentSpec(household=household, name=head, id_number=_id_number())])
    return household


def head_of(household: Household) -> Resident:
    return Resident.objects.filter(household=household).first()  # type: ignore[return-value]


def make_linked_resident(household: Household, *, username: str = "linked_resident") -> Any:
    """A resident account that staff linked to `household`."""
    from django.utils import timezone

    user = make_user_with_role(Role.RESIDENT, household.grid, username=username)
    HouseholdAccount.objects.create(user=user, household=household, linked_by=user, linked_at=timezone.now())
    return user
