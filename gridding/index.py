"""Point-in-polygon lookup over many polygons with a shapely STRtree."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

import shapely
from shapely.geometry.base import BaseGeometry

KeyT = TypeVar("KeyT", bound=Hashable)


class PolygonIndex(Generic[KeyT]):
    """Answers "which polygon contains this point" in O(log n).

    A point on a shared border belongs to both neighbours; the smallest key
    wins so the answer does not depend on the order of loading.
    """

    def __init__(self, items: Sequence[tuple[KeyT, BaseGeometry]]) -> None:
        self._keys: list[KeyT] = [key for key, _ in items]
        self._geometries = [geometry for _, geometry in items]
        for geometry in self._geometries:
            shapely.prepare(geometry)
        self._tree = shapely.STRtree(self._geometries)

    def __len__(self) -> int:
        return len(self._keys)

    def lookup(self, lon: float, lat: float) -> KeyT | None:
        point = shapely.Point(lon, lat)
        hits = self._tree.query(point, predicate="intersects")
        if len(hits) == 0:
            return None
        if len(hits) == 1:
            return self._keys[int(hits[0])]
        return min((self._keys[int(i)] for i in hits), key=repr)


def naive_lookup(items: Sequence[tuple[KeyT, BaseGeometry]], lon: float, lat: float) -> KeyT | None:
    """The loop PolygonIndex replaces: test every polygon in turn (benchmarks compare against it)."""
    point = shapely.Point(lon, lat)
    for key, geometry in items:
        if geometry.intersects(point):
            return key
    return None
