"""Test helpers for patrols: households in a grid, the seeded checklist, a photo."""

from __future__ import annotations

import importlib

from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile

from gridgov.areas.models import Area
from gridgov.registry.models import Household
from gridgov.testing.images import jpeg_upload


def jpeg(name: str = "现场.jpg") -> SimpleUploadedFile:
    return jpeg_upload(name)


def households_in(grid: Area, count: int, *, prefix: str = "1号楼") -> list[Household]:
    """`count` households of `grid` with plain addresses (no residents, so no personal data)."""
    return Household.objects.bulk_create(
        [
            Household(grid=grid, address=f"{grid.name}{prefix}{index + 1:02d}室", room=str(index + 1))
            for index in range(count)
        ]
    )


def check_items_seed() -> None:
    """The checklist the migration seeds, again: a transactional test's flush deletes it."""
    seed = importlib.import_module("gridgov.patrols.migrations.0002_seed_check_items")
    seed.seed(django_apps, None)


def grid_centre(grid: Area) -> tuple[float, float]:
    """The centre of a grid's bounding box (a point inside the square test grids)."""
    if grid.min_lon is None or grid.max_lon is None or grid.min_lat is None or grid.max_lat is None:
        raise ValueError("the grid has no extent")
    return (grid.min_lon + grid.max_lon) / 2, (grid.min_lat + grid.max_lat) / 2
