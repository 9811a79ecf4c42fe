"""Area pages: the tree, one node with its children and their map, exports."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.areas.choices import AreaLevel, child_level
from gridgov.areas.exporting import area_subtree_feature_collection, children_feature_collection
from gridgov.areas.gridding_forms import MicroApplyForm, MicroBandForm
from gridgov.areas.gridding_selectors import (
    GRID_BAND_DEFAULT,
    PlanInfeasible,
    can_plan_grids,
    can_plan_microgrids,
    community_for_planning,
    grid_for_planning,
    grid_plan,
    microgrid_plan,
)
from gridgov.areas.gridding_services import grid_plan_apply, microgrid_plan_apply
from gridgov.areas.models import Area
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
        "can_plan_microgrids": can_plan_microgrids(request.user, area),
        "can_plan_grids": can_plan_grids(request.user, area),
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


def _plan_page(
    request: HttpRequest, area: Area, form: MicroBandForm, propose: Callable[..., Any], template: str
) -> HttpResponse:
    """A proposal (computed on request, never stored) beside the area's current state, with the
    band form and, when there is a proposal, the form that applies exactly this one."""
    plan = None
    error = None
    if form.is_valid():
        try:
            plan = propose(area, low=form.cleaned_data["low"], high=form.cleaned_data["high"])
        except PlanInfeasible as infeasible:
            error = infeasible.message
    context = {
        "area": area,
        "breadcrumbs": area_breadcrumbs_for_user(request.user, area),
        "form": form,
        "plan": plan,
        "error": error,
        "apply_form": MicroApplyForm(
            initial={"low": plan.band.low, "high": plan.band.high, "fingerprint": plan.fingerprint}
        )
        if plan
        else None,
        "map_config": json.dumps(plan.map_config() if plan else {"selfGeometry": area.geometry}),
    }
    return render(request, template, context)


@login_required
def microgrid_plan_page(request: HttpRequest, code: str) -> HttpResponse:
    """The micro-grid proposal for one general grid beside its current micro-grids."""
    grid = grid_for_planning(request.user, code)
    return _plan_page(request, grid, MicroBandForm.from_query(request.GET), microgrid_plan, "areas/microgrid_plan.html")


def _plan_apply(
    request: HttpRequest,
    area: Area,
    plan_route: str,
    apply: Callable[..., Any],
    *,
    applied: str,
    kept: str,
    follow_up: Callable[[Any], list[str]] = lambda result: [],
) -> HttpResponse:
    """Apply the proposal the form names (band + fingerprint) and report the outcome as messages:
    the counts, then `follow_up(result)`'s warnings, then the old areas kept for their references."""
    form = MicroApplyForm(request.POST)
    plan_url = reverse(plan_route, args=[area.code])
    if not form.is_valid():
        messages.error(request, _("方案参数无效，请重新生成方案。"))
        return redirect(plan_url)
    low, high = form.cleaned_data["low"], form.cleaned_data["high"]
    try:
        result = apply(low=low, high=high, fingerprint=form.cleaned_data["fingerprint"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(f"{plan_url}?low={low}&high={high}")
    counts = {
        "created": len(result.created),
        "reused": len(result.reused),
        "removed": len(result.removed),
        "moved": result.moved,
    }
    messages.success(request, applied % counts)
    for warning in follow_up(result):
        messages.warning(request, warning)
    for old_code, references in result.kept.items():
        messages.warning(request, kept % {"code": old_code, "refs": "、".join(references)})
    return redirect("areas:detail", code=area.code)


@login_required
@require_POST
def microgrid_plan_apply_view(request: HttpRequest, code: str) -> HttpResponse:
    grid = grid_for_planning(request.user, code)
    return _plan_apply(
        request,
        grid,
        "areas:microgrid_plan",
        partial(microgrid_plan_apply, actor=request.user, grid=grid),
        applied=_(
            "已应用微网格方案：新建 %(created)d 个、沿用 %(reused)d 个、删除 %(removed)d 个，调整楼栋 %(moved)d 栋。"
        ),
        kept=_("原微网格 %(code)s 仍有关联数据（%(refs)s），已保留，请核对后处理。"),
    )


@login_required
def grid_plan_page(request: HttpRequest, code: str) -> HttpResponse:
    """A general-grid proposal for one village/community beside its current grids."""
    community = community_for_planning(request.user, code)
    form = MicroBandForm.from_query(request.GET, default=GRID_BAND_DEFAULT)
    return _plan_page(request, community, form, grid_plan, "areas/grid_plan.html")


@login_required
@require_POST
def grid_plan_apply_view(request: HttpRequest, code: str) -> HttpResponse:
    community = community_for_planning(request.user, code)
    return _plan_apply(
        request,
        community,
        "areas:grid_plan",
        partial(grid_plan_apply, actor=request.user, community=community),
        applied=_(
            "已应用网格方案：新建 %(created)d 个、沿用 %(reused)d 个、删除 %(removed)d 个，调整楼栋 %(moved)d 栋。"
        ),
        kept=_("原网格 %(code)s 仍有关联数据（%(refs)s），已保留，请核对后处理。"),
        follow_up=lambda result: (
            [
                _("有 %(count)d 栋楼栋随网格调整移出了原微网格，请重新划分相关网格的微网格。")
                % {"count": result.microgrids_detached}
            ]
            if result.microgrids_detached
            else []
        ),
    )
