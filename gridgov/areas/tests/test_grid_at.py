from __future__ import annotations

import pytest

from gridgov.areas.selectors import grid_at, grid_index_invalidate
from gridgov.areas.services import area_set_geometry
from gridgov.testing.factories import AreaTree, square

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_index() -> None:
    grid_index_invalidate()


def test_point_inside_a_grid_finds_that_grid(tree: AreaTree) -> None:
    # the first grid is the 0.01° square with its south-west corner at (119.90, 36.19)
    hit = grid_at(119.905, 36.195)
    assert hit is not None
    assert hit.code == tree.grids[0].code
    assert hit.path == tree.grids[0].path


def test_point_outside_every_grid_finds_nothing(tree: AreaTree) -> None:
    assert grid_at(100.0, 20.0) is None


def test_point_on_a_shared_border_goes_to_the_smaller_code(tree: AreaTree) -> None:
    hit = grid_at(119.91, 36.195)
    assert hit is not None
    assert hit.code == min(tree.grids[0].code, tree.grids[1].code)


def test_moving_a_grid_is_seen_after_commit(tree: AreaTree) -> None:
    # given a lookup that built the index
    assert grid_at(119.905, 36.195).code == tree.grids[0].code  # type: ignore[union-attr]
    # when the first grid's boundary is moved far away
    area_set_geometry(actor=None, area=tree.grids[0], geometry=square(100.0, 20.0, 0.01))
    # then the old place is empty and the new one answers
    assert grid_at(119.905, 36.195) is None
    assert grid_at(100.005, 20.005).code == tree.grids[0].code  # type: ignore[union-attr]
