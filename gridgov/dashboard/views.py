"""Pages of the dashboard (一网通看): panels, the situation map and its data, export, weekly report.

Thin: the filter comes from `FilterForm`, the area from `dashboard_area_for_user`
(404 outside the user's `view_cases` scope), every number from the selectors.
Charts and the map are drawn by static scripts (CSP forbids inline scripts) from
JSON embedded with `json_script` or fetched from `map/data/`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gridgov.cases.choices import TIER_ORDER, Tier
from gridgov.dashboard.alerts import alerts_for_area
from gridgov.dashboard.excel import dashboard_workbook
from gridgov.dashboard.forms import INDICATORS, FilterForm, Filters, tile_periods
from gridgov.dashboard.selectors import (
    category_choices,
    dashboard_area_for_user,
    dashboard_breadcrumbs,
    dashboard_category_mix,
    dashboard_departments,
    dashboard_geojson,
    dashboard_heat,
    dashboard_overdue_cases,
    dashboard_points_geojson,
    dashboard_roots_for_user,
    dashboard_summary,
    dashboard_summary_and_children,
    dashboard_trend,
    heat_dict,
)

MAP_LAYERS = ("areas", "heat")


def _filters(request: HttpRequest) -> Filters | HttpResponse:
    form = FilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("；".join(str(m) for errors in form.errors.values() for m in errors))
    return form.filters()


def _panels(request: HttpRequest, filters: Filters) -> dict[str, Any]:
    user = request.user
    now = timezone.now()
    area = dashboard_area_for_user(user, filters.area)
    period: dict[str, Any] = {
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "category": filters.category or None,
    }
    summary, children = dashboard_summary_and_children(user, area, now=now, **period)
    # 超时未办 is the same for every period: the tiles reuse the count.
    tiles = [
        (
            label,
            dashboard_summary(
                user,
                area,
                date_from=start,
                date_to=end,
                category=filters.category or None,
                now=now,
                overdue=summary.overdue_open,
            ),
        )
        for label, start, end in tile_periods(timezone.localdate(now))
    ]
    departments = dashboard_departments(user, area, now=now, **period)
    trend = dashboard_trend(area, **period)
    mix = dashboard_category_mix(area, **period)
    return {
        "area": area,
        "filters": filters,
        "summary": summary,
        "tiles": tiles,
        "children": sorted(children, key=lambda pair: (-(pair[1].on_time_rate or 0), -pair[1].intake)),
        "departments": sorted(departments, key=lambda pair: (-(pair[1].on_time_rate or 0), -pair[1].intake)),
        "trend": trend,
        "mix": mix,
        "tiers": [(Tier(tier).label, summary.tier_outcome[str(tier)]) for tier in TIER_ORDER],
    }


@login_required
@require_GET
def dashboard_home(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    if isinstance(filters, HttpResponse):
        return filters
    context = _panels(request, filters)
    area = context["area"]
    context.update(
        roots=dashboard_roots_for_user(request.user),
        breadcrumbs=dashboard_breadcrumbs(request.user, area),
        categories=category_choices(),
        overdue=dashboard_overdue_cases(request.user, area, category=filters.category or None),
        alerts=alerts_for_area(area)[:20],
        chart_data={
            "trend": {
                "days": [row["day"].isoformat() for row in context["trend"]],
                "intake": [row["intake"] for row in context["trend"]],
                "closed": [row["closed"] for row in context["trend"]],
                "labels": {"intake": _("受理量"), "closed": _("办结量")},
            },
            "mix": [{"name": item["name"], "value": item["intake"]} for item in context["mix"]],
            "tiers": [{"name": str(label), "value": value} for label, value in context["tiers"]],
        },
    )
    return render(request, "dashboard/home.html", context)


@login_required
@require_GET
def dashboard_map(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    if isinstance(filters, HttpResponse):
        return filters
    area = dashboard_area_for_user(request.user, filters.area)
    map_layer = request.GET.get("layer") if request.GET.get("layer") in MAP_LAYERS else "areas"
    return render(
        request,
        "dashboard/map.html",
        {
            "area": area,
            "map_layer": map_layer,
            "filters": filters,
            "categories": category_choices(),
            "indicators": INDICATORS,
            "roots": dashboard_roots_for_user(request.user),
            "map_config_json": json.dumps(
                {
                    "dataUrl": reverse("dashboard:map_data"),
                    "area": area.code,
                    "areaName": area.name,
                    "from": filters.date_from.isoformat(),
                    "to": filters.date_to.isoformat(),
                    "category": filters.category,
                    "indicator": filters.indicator,
                    "indicators": {key: str(label) for key, label in INDICATORS.items()},
                    "caseLabel": _("事项"),
                    "panelsUrl": reverse("dashboard:home"),
                    "layer": map_layer,
                    "heatLegend": {
                        "rollups": _(
                            "热力图：各网格时段内受理量（汇总表），置于网格中心；合计 {total} 件，单网格最多 {max} 件"
                        ),
                        "cases": _("热力图：时段内事项点位，每件权重1；共 {total} 件"),
                        "limited": _("（仅显示最新1000件）"),
                        "unlocated": _("另有 {n} 件所在网格无边界，未落图"),
                        "low": _("少"),
                        "high": _("多"),
                    },
                },
                ensure_ascii=False,
            ),
            "map_tile_url": settings.MAP_TILE_URL,
            "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        },
    )


@login_required
@require_GET
def dashboard_map_data(request: HttpRequest) -> HttpResponse:
    """GeoJSON of the chosen area's children with indicators (or its case points), plus the breadcrumb trail;
    with `heat=1`, the heat layer instead (the same JSON as GET /api/v1/dashboard/heat, session auth)."""
    filters = _filters(request)
    if isinstance(filters, HttpResponse):
        return filters
    area = dashboard_area_for_user(request.user, filters.area)
    period: dict[str, Any] = {
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "category": filters.category or None,
    }
    if request.GET.get("heat"):
        heat = dashboard_heat(request.user, area, **period)
        area_ref = {"code": area.code, "name": area.name, "level": area.level}
        return JsonResponse({"area": area_ref, **period, **heat_dict(heat)})
    if request.GET.get("points"):  # the case-point overlay, at any level
        collection = dashboard_points_geojson(request.user, area, **period)
    else:
        collection = dashboard_geojson(request.user, area, **period)
    collection["area"] = {"code": area.code, "name": area.name, "level": area.level, "geometry": area.geometry}
    collection["breadcrumbs"] = [
        {"code": node.code, "name": node.name} for node in dashboard_breadcrumbs(request.user, area)
    ]
    return JsonResponse(collection, content_type="application/geo+json")


@login_required
@require_GET
def dashboard_export(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    if isinstance(filters, HttpResponse):
        return filters
    context = _panels(request, filters)
    content = dashboard_workbook(context)
    area = context["area"]
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    filename = f"dashboard-{area.code}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def dashboard_weekly_report(request: HttpRequest) -> HttpResponse:
    """A printable weekly report of an area (a town, typically): the week ending on `to` (default today)."""
    form = FilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("；".join(str(m) for errors in form.errors.values() for m in errors))
    base = form.filters()
    week_end = base.date_to
    filters = Filters(
        area=base.area,
        date_from=week_end - timedelta(days=6),
        date_to=week_end,
        category=base.category,
        indicator=base.indicator,
    )
    context = _panels(request, filters)
    context["overdue"] = dashboard_overdue_cases(request.user, context["area"], category=filters.category or None)
    context["chart_data"] = {
        "trend": {
            "days": [row["day"].isoformat() for row in context["trend"]],
            "intake": [row["intake"] for row in context["trend"]],
            "closed": [row["closed"] for row in context["trend"]],
            "labels": {"intake": _("受理量"), "closed": _("办结量")},
        },
        "mix": [{"name": item["name"], "value": item["intake"]} for item in context["mix"]],
        "tiers": [{"name": str(label), "value": value} for label, value in context["tiers"]],
    }
    return render(request, "dashboard/report.html", context)
