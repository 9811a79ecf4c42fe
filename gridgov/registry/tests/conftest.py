"""Registry fixtures: households with residents in the first two grids of the test tree."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gridgov.registry.identifiers import id_check_character
from gridgov.registry.models import Household, Resident, Tag
from gridgov.registry.services import HouseholdSpec, ResidentSpec, household_create, residents_bulk_register
from gridgov.testing.factories import AreaTree


def make_id_number(sequence: int, *, birth: str = "19800101", area: str = "370281", male: bool = True) -> str:
    """A valid GB 11643 number; `sequence` keeps numbers apart."""
    order = (sequence % 500) * 2 + (1 if male else 0)
    first17 = f"{area}{birth}{order:03d}"
    return first17 + id_check_character(first17)


@dataclass
class RegistryData:
    household_a: Household  # in grid 0 (grid worker's grid)
    household_b: Household  # in grid 1 (same community, another grid)
    head_a: Resident
    head_b: Resident


@pytest.fixture
def registry(tree: AreaTree) -> RegistryData:
    party_lead = Tag.objects.get(code="party_lead")
    correction = Tag.objects.get(code="community_correction")
    veteran = Tag.objects.get(code="veteran")
    household_a = household_create(
        actor=None,
        spec=HouseholdSpec(
            grid=tree.grids[0],
            building=tree.buildings[0],
            compound=tree.compounds[0],
            unit="1单元",
            room="301",
            address="测试1街道第1社区1号楼1单元301",
            tags=[party_lead],
        ),
    )
    household_b = household_create(
        actor=None,
        spec=HouseholdSpec(grid=tree.grids[1], address="测试1街道第1社区2号网格8号", room="8"),
    )
    head_a, spouse_a, head_b = residents_bulk_register(
        actor=None,
        specs=[
            ResidentSpec(
                household=household_a,
                name="张建国",
                id_number=make_id_number(1),
                phone="13800001111",
                is_party_member=True,
                tags=[veteran],
            ),
            ResidentSpec(
                household=household_a,
                name="李秀英",
                id_number=make_id_number(2, male=False, birth="19820315"),
                relation="spouse",
                phone="13900002222",
                tags=[correction],
            ),
            ResidentSpec(household=household_b, name="王小明", id_number=make_id_number(3), phone="13700003333"),
        ],
    )
    return RegistryData(household_a=household_a, household_b=household_b, head_a=head_a, head_b=head_b)
