"""Area endpoints of /api/v1, scoped exactly like the area pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from gridgov.areas.models import Area
from gridgov.areas.selectors import area_children_for_user, area_get_for_user, area_stats

router = Router(tags=["areas"])


class AreaStatsOut(Schema):
    households: int
    buildings: int
    compounds: int
    staff: int
    grid_workers: int
    grids: int


class AreaOut(Schema):
    code: str
    name: str
    level: str
    level_label: str
    parent_code: str | None
    path: str
    bbox: list[float] | None
    stats: AreaStatsOut


class AreaDetailOut(AreaOut):
    geometry: dict[str, Any] | None


class ErrorOut(Schema):
    detail: str


def _area_out(area: Area, stats: Any, *, with_geometry: bool) -> dict[str, Any]:
    bbox = [area.min_lon, area.min_lat, area.max_lon, area.max_lat] if area.min_lon is not None else None
    data: dict[str, Any] = {
        "code": area.code,
        "name": area.name,
        "level": area.level,
        "level_label": str(area.get_level_display()),
        "parent_code": area.parent.code if area.parent_id and area.parent else None,
        "path": area.path,
        "bbox": bbox,
        "stats": stats.__dict__,
    }
    if with_geometry:
        data["geometry"] = area.geometry
    return data


@router.get("/{code}", response={200: AreaDetailOut, 404: ErrorOut}, summary="区域详情")
def area_detail(request: HttpRequest, code: str) -> Any:
    area = area_get_for_user(request.user, code)
    stats = area_stats([area])[area.pk]
    return _area_out(area, stats, with_geometry=True)


class AreaChildrenPagination(PageNumberPagination):
    """Page numbers over the scoped queryset; statistics are computed for the
    requested page only, with one grouped query per counter."""

    def paginate_queryset(self, queryset: QuerySet[Area], pagination: Any, request: HttpRequest, **params: Any) -> Any:
        page = super().paginate_queryset(queryset, pagination, request, **params)
        children = list(page[self.items_attribute])
        stats = area_stats(children)
        page[self.items_attribute] = [_area_out(child, stats[child.pk], with_geometry=False) for child in children]
        return page


@router.get("/{code}/children", response={200: list[AreaOut], 404: ErrorOut}, summary="下级区域")
@paginate(AreaChildrenPagination, page_size=100)
def area_children(request: HttpRequest, code: str) -> Any:
    area = area_get_for_user(request.user, code)
    return area_children_for_user(request.user, area).select_related("parent")
