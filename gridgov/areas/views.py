"""Area pages: the tree, one node with its children and their map, exports."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.areas.choices import AreaLevel, child_level
from gridgov.areas.exporting import area_subtree_feature_collection, children_feature_collection
from gridgov.areas.selectors import (
    area_breadcrumbs_for_user,
    area_children_for_user,
    area_get_for_user,
    area_roots_for_user,
    area_stats,
    buildings_of_area,
    compounds_of_grid,
)
from gridgov.core.http import HtmxHttpRequest

CHILDREN_PER_PAGE = 50
BUILDINGS_SHOWN = 200


@login_required
def home(request: HttpRequest) -> HttpResponse:
    roots = area_roots_for_user(request.user)
    if len(roots) == 1:
        return redirect("areas:detail", code=roots[0].code)
    stats = {}
    for level_roots in _group_siblings(roots):
        stats.update(area_stats(level_roots))
    rows = [(area, stats[area.pk]) for area in roots]
    return render(request, "areas/home.html", {"rows": rows})


def _group_siblings(areas: list) -> list[list]:
    groups: dict[tuple[int | None, int], list] = {}
    for area in areas:
        groups.setdefault((area.parent_id, len(area.path)), []).append(area)
    return list(groups.values())


@login_required
def detail(request: HtmxHttpRequest, code: str) -> HttpResponse:
    area = area_get_for_user(request.user, code)
    children_qs = area_children_for_user(request.user, area)
    page = Paginator(children_qs, CHILDREN_PER_PAGE).get_page(request.GET.get("page"))
    children = list(page.object_list)
    stats = area_stats(children)
    own_stats = area_stats([area])[area.pk]
    next_level = child_level(area.level)
    buildings = None
    if area.level in (AreaLevel.GRID, AreaLevel.MICROGRID):
        buildings = list(buildings_of_area(area)[: BUILDINGS_SHOWN + 1])
    context = {
        "area": area,
        "own_stats": own_stats,
        "breadcrumbs": area_breadcrumbs_for_user(request.user, area),
        "children_page": page,
        "children_rows": [(child, stats[child.pk]) for child in children],
        "child_level_label": AreaLevel(next_level).label if next_level else "",
        "can_view_people": scope_for(request.user, Capability.VIEW_PEOPLE).covers(area.path),
        "compounds": compounds_of_grid(area) if area.level == AreaLevel.GRID else None,
        "buildings": buildings[:BUILDINGS_SHOWN] if buildings is not None else None,
        "buildings_truncated": buildings is not None and len(buildings) > BUILDINGS_SHOWN,
        "buildings_shown": BUILDINGS_SHOWN,
        "map_config": json.dumps(
            {
                "childrenUrl": f"/areas/{area.code}/children.geojson",
                "selfGeometry": area.geometry,
            }
        ),
    }
    if request.htmx and request.htmx.target == "children":
        return render(request, "areas/detail.html#children", context)
    return render(request, "areas/detail.html", context)


@login_required
def children_geojson(request: HttpRequest, code: str) -> JsonResponse:
    area = area_get_for_user(request.user, code)
    children = list(area_children_for_user(request.user, area))
    return JsonResponse(children_feature_collection(children, area_stats(children)))


@login_required
def export_geojson(request: HttpRequest, code: str) -> HttpResponse:
    area = area_get_for_user(request.user, code)
    collection = area_subtree_feature_collection(request.user, area)
    response = HttpResponse(
        json.dumps(collection, ensure_ascii=False), content_type="application/geo+json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{area.code}.geojson"'
    return response
