from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from gridgov.accounts.models import AuditEvent
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.areas.selectors import area_stats
from gridgov.areas.services import AreaSpec, area_create, areas_bulk_create
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db


def test_paths_are_materialised_from_codes(tree: AreaTree) -> None:
    grid = tree.grids[0]
    assert tree.city.path == "370200/"
    assert tree.district.path == "370200/370281/"
    assert grid.code == "370281001001001"
    assert grid.path == "370200/370281/001/001/001/"
    assert grid.min_lon == pytest.approx(119.90)
    assert grid.max_lat == pytest.approx(36.20)


@pytest.mark.parametrize(
    ("level", "code", "message"),
    [
        (AreaLevel.GRID, "37028100100100", "15位数字"),
        (AreaLevel.GRID, "37028100100A001", "15位数字"),
        (AreaLevel.GRID, "370281002001001", "应以上级编码"),
        (AreaLevel.GRID, "370281001001000", "不能为000"),
        (AreaLevel.TOWN, "370281009", "不能位于"),
    ],
)
def test_bad_codes_are_refused_in_chinese(tree: AreaTree, level: str, code: str, message: str) -> None:
    community = tree.communities[0]
    count = Area.objects.count()
    with pytest.raises(ValidationError) as error:
        area_create(actor=None, level=level, code=code, name="新网格", parent=community)
    assert message in str(error.value)
    assert Area.objects.count() == count


def test_duplicate_code_is_refused(tree: AreaTree) -> None:
    with pytest.raises(ValidationError, match="已被使用"):
        area_create(actor=None, level=AreaLevel.GRID, code=tree.grids[0].code, name="重复", parent=tree.communities[0])


def test_bulk_create_links_children_to_parents_created_in_the_same_batch(tree: AreaTree) -> None:
    # given a new community with two grids, in one batch
    specs = [
        AreaSpec(level=AreaLevel.COMMUNITY, code="370281001009", name="新社区", parent_code="370281001"),
        AreaSpec(level=AreaLevel.GRID, code="370281001009001", name="新社区1号网格", parent_code="370281001009"),
        AreaSpec(level=AreaLevel.GRID, code="370281001009002", name="新社区2号网格", parent_code="370281001009"),
    ]
    # when they are created
    areas_bulk_create(actor=None, specs=specs)
    # then the grids hang under the community, with paths under it
    community = Area.objects.get(code="370281001009")
    grids = list(Area.objects.filter(parent=community).order_by("code"))
    assert [grid.path for grid in grids] == ["370200/370281/001/009/001/", "370200/370281/001/009/002/"]
    assert AuditEvent.objects.filter(action="areas_bulk_create").exists()


def test_stats_count_households_buildings_and_staff_per_subtree(tree: AreaTree, personas: dict) -> None:
    stats = area_stats(tree.towns)
    first, second = stats[tree.towns[0].pk], stats[tree.towns[1].pk]
    assert (first.households, first.buildings, first.compounds, first.grids) == (320, 8, 4, 4)
    # grid worker, community staff, town staff (the resident is not staff)
    assert (first.staff, first.grid_workers) == (3, 1)
    # the outsider is town staff of the second town
    assert (second.staff, second.grid_workers) == (1, 0)


def test_stats_refuse_areas_of_different_depth(tree: AreaTree) -> None:
    with pytest.raises(ValueError, match="one level"):
        area_stats([tree.towns[0], tree.grids[0]])
