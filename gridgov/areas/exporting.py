"""GeoJSON export of areas (the page download and `manage.py export_areas`)."""

from __future__ import annotations

from typing import Any

from gridgov.accounts.scope import AreaScope
from gridgov.areas.models import Area
from gridgov.areas.selectors import AreaStats, area_scope


def area_feature(area: Area, stats: AreaStats | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "code": area.code,
        "name": area.name,
        "level": area.level,
        "parent_code": area.parent.code if area.parent_id and area.parent else None,
    }
    if stats is not None:
        properties.update(stats.__dict__)
    return {"type": "Feature", "geometry": area.geometry, "properties": properties}


def children_feature_collection(children: list[Area], stats: dict[int, AreaStats]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [area_feature(child, stats.get(child.pk)) for child in children],
    }


def subtree_feature_collection(area: Area, scope: AreaScope | None = None) -> dict[str, Any]:
    """Every node of the subtree under `area` (itself included), parents first.

    `scope` limits the export to what a user may see; None exports everything
    (for the management command run by the operator).
    """
    queryset = Area.objects.filter(path__startswith=area.path).select_related("parent").order_by("path")
    if scope is not None:
        queryset = scope.filter(queryset)
    return {"type": "FeatureCollection", "features": [area_feature(node) for node in queryset]}


def area_subtree_feature_collection(user: Any, area: Area) -> dict[str, Any]:
    return subtree_feature_collection(area, area_scope(user))
