"""Patrol fixtures: photos go to a temporary media directory; households in the worker's grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gridgov.testing.factories import AreaTree
from gridgov.testing.patrols import households_in


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def homes(tree: AreaTree) -> dict[str, list[Any]]:
    """Four households in grid 0 (the grid worker's) and two in grid 1 (same community)."""
    return {"grid0": households_in(tree.grids[0], 4), "grid1": households_in(tree.grids[1], 2, prefix="2号楼")}
