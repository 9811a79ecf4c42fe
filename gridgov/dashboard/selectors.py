"""Reads of the dashboard (一网通看): every figure from the rollups, scoped by `view_cases`.

An area's figures over a period are a sum over that area's own rollup rows
(`gridgov.dashboard.models`), so each panel is one grouped query over
O(days × categories) rows. The definitions are those of
`gridgov.cases.indicators.case_indicators` and the numbers are equal (tests
prove it), except that response and closing times are means, not percentiles.

The heat layer (`dashboard_heat`) follows the same rule: above grid level each grid's
intake comes from its own rollup rows (one grouped query, O(grids × days)); at a grid
the case points are read through `cases_visible_to`.

Scope: the user chooses an area by code; it must lie in their `view_cases`
scope (`scope_for(user, Capability.VIEW_CASES)`), otherwise 404, as an
unknown code. Users without that capability get 403. Live reads of cases
(the overdue list and count, case points) go through `cases_visible_to`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.models import Department
from gridgov.accounts.scope import AreaScope, scope_for
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.areas.selectors import MAP_DECIMALS
from gridgov.cases.choices import TIER_ORDER, TIMED_STATUSES, SlaLight
from gridgov.cases.indicators import percent, period_bounds
from gridgov.cases.models import Case, Category
from gridgov.cases.selectors import cases_visible_to
from gridgov.dashboard.models import METRICS, Rollup, RollupTotal

TIERS: tuple[str, ...] = tuple(str(tier) for tier in TIER_ORDER)
OVERDUE_LIST_LIMIT = 50
LEAF_LEVELS = (AreaLevel.GRID, AreaLevel.MICROGRID)
CASE_POINTS_LIMIT = 1000


@dataclass(frozen=True)
class Summary:
    intake: int
    due_to_close: int
    closed: int
    closed_on_time: int
    close_rate: float | None
    on_time_rate: float | None
    reopened: int
    closes: int
    rework_rate: float | None
    rated: int
    satisfied: int
    satisfaction_rate: float | None
    first_response_count: int
    first_response_mean_minutes: float | None
    closed_in_period: int
    time_to_close_mean_hours: float | None
    overdue_open: int
    tier_outcome: dict[str, int] = field(default_factory=dict)
    grid_settled_rate: float | None = None  # 小事不出网格: closed in the grid / closed in the period


def dashboard_scope(user: Any) -> AreaScope:
    scope = scope_for(user, Capability.VIEW_CASES)
    if scope.is_empty:
        raise PermissionDenied(_("您没有查看事项态势的权限。"))
    return scope


def dashboard_roots_for_user(user: Any) -> list[Area]:
    return list(Area.objects.filter(path__in=dashboard_scope(user).paths).order_by("path"))


def dashboard_area_for_user(user: Any, code: str | None = None) -> Area:
    """The area the dashboard shows: `code` when in scope (404 otherwise), else the user's first root."""
    scope = dashboard_scope(user)
    if not code:
        area = Area.objects.filter(path__in=scope.paths).order_by("path").select_related("parent").first()
    else:
        area = Area.objects.filter(code=code.strip()).select_related("parent").first()
    if area is None or not scope.covers(area.path):
        raise Http404(_("区域不存在或无权查看。"))
    return area


def dashboard_breadcrumbs(user: Any, area: Area) -> list[Area]:
    """The area and its ancestors inside the user's scope, top first."""
    scope = dashboard_scope(user)
    chain: list[Area] = []
    current: Area | None = area
    while current is not None and scope.covers(current.path):
        chain.append(current)
        current = current.parent
    return list(reversed(chain))


def check_period(date_from: date, date_to: date) -> None:
    period_bounds(date_from, date_to)  # the indicator selector's limits and messages


def _rows(
    area_filter: Q, date_from: date, date_to: date, category: str | None, *, detailed: bool = False
) -> QuerySet[Any]:
    """The rollup rows of the period: per (area, day) totals, unless a category is chosen or `detailed`."""
    if not (category or detailed):
        return RollupTotal.objects.filter(area_filter, day__gte=date_from, day__lte=date_to).order_by()
    rows = Rollup.objects.filter(area_filter, day__gte=date_from, day__lte=date_to)
    if category:
        rows = rows.filter(category__code__startswith=category)
    return rows.order_by()


_SUMS = {metric: Sum(metric) for metric in METRICS}


def _overdue_q(now: datetime) -> Q:
    return Q(status__in=TIMED_STATUSES) & (Q(sla_light=SlaLight.RED) | Q(due_at__lt=now))


def _summary(totals: dict[str, Any], overdue: int) -> Summary:
    t = {metric: int(totals.get(metric) or 0) for metric in METRICS}
    tiers = {tier: t[f"closed_{tier}"] for tier in TIERS}
    return Summary(
        intake=t["intake"],
        due_to_close=t["due"],
        closed=t["due_closed"],
        closed_on_time=t["due_on_time"],
        close_rate=percent(t["due_closed"], t["due"]),
        on_time_rate=percent(t["due_on_time"], t["due"]),
        reopened=t["reopened"],
        closes=t["closes"],
        rework_rate=percent(t["reopened"], t["closes"]),
        rated=t["rated"],
        satisfied=t["satisfied"],
        satisfaction_rate=percent(t["satisfied"], t["rated"]),
        first_response_count=t["fr_count"],
        first_response_mean_minutes=round(t["fr_seconds"] / t["fr_count"] / 60, 2) if t["fr_count"] else None,
        closed_in_period=t["closed"],
        time_to_close_mean_hours=round(t["close_seconds"] / t["closed"] / 3600, 2) if t["closed"] else None,
        overdue_open=overdue,
        tier_outcome=tiers,
        grid_settled_rate=percent(tiers["grid"], sum(tiers.values())),
    )


def _live_cases(user: Any, area: Area, category: str | None) -> QuerySet[Case]:
    cases = cases_visible_to(user).filter(grid__path__startswith=area.path)
    if category:
        cases = cases.filter(category__code__startswith=category)
    return cases.order_by()


def _open_overdue(area: Area, category: str | None, now: datetime) -> QuerySet[Case]:
    """Open, running cases past their step's limit (red light or due before `now`) in `area`, as
    `case_indicators` counts them — for counts only.

    The caller checked `area` against the user's scope (`dashboard_area_for_user`), so every case
    under it is one the user may see, and a count shows nobody's data: the rows are filtered by the
    area alone, like the rollups. Going through `cases_visible_to` would add its OR-ed scope join,
    which makes PostgreSQL misjudge the join at 10M cases (a nested loop of every open case with
    every grid: 11 s instead of well under one). Lists of cases still go through `cases_visible_to`
    (`dashboard_overdue_cases`). Indexes: (status, due_at) above the grid, (grid, status, due_at) at one.
    """
    cases = Case.objects.filter(grid__path__startswith=area.path).filter(_overdue_q(now))
    if category:
        cases = cases.filter(category__code__startswith=category)
    return cases.order_by()


def dashboard_overdue_count(area: Area, *, category: str | None = None, now: datetime | None = None) -> int:
    """How many of the area's open cases are overdue now (超时未办; the same for any period)."""
    return _open_overdue(area, category, now or timezone.now()).count()


def dashboard_summary(
    user: Any,
    area: Area,
    *,
    date_from: date,
    date_to: date,
    category: str | None = None,
    now: datetime | None = None,
    overdue: int | None = None,
) -> Summary:
    """The area's indicators over the period (area already checked by `dashboard_area_for_user`).

    `overdue` is the current 超时未办 count when the caller has it already (it does not depend on
    the period: pages showing several periods count it once)."""
    check_period(date_from, date_to)
    totals = _rows(Q(area=area), date_from, date_to, category).aggregate(**_SUMS)
    if overdue is None:
        overdue = dashboard_overdue_count(area, category=category, now=now)
    return _summary(totals, overdue)


def dashboard_children(
    user: Any,
    area: Area,
    *,
    date_from: date,
    date_to: date,
    category: str | None = None,
    now: datetime | None = None,
) -> list[tuple[Area, Summary]]:
    """Each child area of `area` with its indicators (league tables and map polygons); two grouped queries."""
    check_period(date_from, date_to)
    now = now or timezone.now()
    children = list(Area.objects.filter(parent=area).order_by("code"))
    if not children:
        return []
    grouped = {
        row.pop("area_id"): row
        for row in _rows(Q(area_id__in=[child.pk for child in children]), date_from, date_to, category)
        .values("area_id")
        .annotate(**_SUMS)
    }
    length = len(children[0].path)
    overdue = {
        row["prefix"]: row["n"]
        for row in _open_overdue(area, category, now)
        .annotate(prefix=Substr("grid__path", 1, length))
        .values("prefix")
        .annotate(n=Count("id"))
    }
    return [(child, _summary(grouped.get(child.pk, {}), overdue.get(child.path, 0))) for child in children]


def dashboard_summary_and_children(
    user: Any,
    area: Area,
    *,
    date_from: date,
    date_to: date,
    category: str | None = None,
    now: datetime | None = None,
) -> tuple[Summary, list[tuple[Area, Summary]]]:
    """The area's indicators and each child's, with the live overdue cases counted once: above the
    grid every case lies in one child, so the area's count is the sum of the children's."""
    now = now or timezone.now()
    period: dict[str, Any] = {"date_from": date_from, "date_to": date_to, "category": category, "now": now}
    children = dashboard_children(user, area, **period)
    overdue = None
    if children and area.level not in LEAF_LEVELS:
        overdue = sum(summary.overdue_open for _child, summary in children)
    return dashboard_summary(user, area, overdue=overdue, **period), children


def dashboard_departments(
    user: Any, area: Area, *, date_from: date, date_to: date, category: str | None = None, now: datetime | None = None
) -> list[tuple[Department, Summary]]:
    """Departments holding the area's cases, with indicators (cases counted at their current department)."""
    check_period(date_from, date_to)
    now = now or timezone.now()
    grouped = {
        row.pop("department_id"): row
        for row in _rows(Q(area=area, department_id__gt=0), date_from, date_to, category, detailed=True)
        .values("department_id")
        .annotate(**_SUMS)
    }
    overdue = dict(
        _open_overdue(area, category, now)
        .filter(department__isnull=False)
        .values("department_id")
        .annotate(n=Count("id"))
        .values_list("department_id", "n")
    )
    departments = Department.objects.filter(pk__in=set(grouped) | set(overdue)).order_by("code")
    return [(d, _summary(grouped.get(d.pk, {}), overdue.get(d.pk, 0))) for d in departments]


def dashboard_trend(area: Area, *, date_from: date, date_to: date, category: str | None = None) -> list[dict[str, Any]]:
    """Per day: intake, closed (in the period, any tier) and first responses."""
    check_period(date_from, date_to)
    rows = {
        row["day"]: row
        for row in _rows(Q(area=area), date_from, date_to, category)
        .values("day")
        .annotate(intake=Sum("intake"), closed=Sum("closed"), due=Sum("due"), due_on_time=Sum("due_on_time"))
    }
    days = []
    day = date_from
    while day <= date_to:
        row = rows.get(day, {})
        days.append(
            {
                "day": day,
                "intake": int(row.get("intake") or 0),
                "closed": int(row.get("closed") or 0),
                "on_time_rate": percent(int(row.get("due_on_time") or 0), int(row.get("due") or 0)),
            }
        )
        day += timedelta(days=1)
    return days


def dashboard_category_mix(
    area: Area, *, date_from: date, date_to: date, category: str | None = None
) -> list[dict[str, Any]]:
    """Intake by top-level category (or by the children of the chosen category), largest first."""
    check_period(date_from, date_to)
    rows = (
        _rows(Q(area=area), date_from, date_to, category, detailed=True)
        .values("category__code")
        .annotate(intake=Sum("intake"))
        .filter(intake__gt=0)
    )
    depth = len(category) + 2 if category else 2
    totals: dict[str, int] = {}
    for row in rows:
        code = row["category__code"][:depth]
        totals[code] = totals.get(code, 0) + int(row["intake"])
    names = dict(Category.objects.filter(code__in=totals).values_list("code", "name"))
    mix = [{"code": code, "name": names.get(code, code), "intake": n} for code, n in totals.items()]
    return sorted(mix, key=lambda item: (-item["intake"], item["code"]))


def dashboard_overdue_cases(
    user: Any, area: Area, *, category: str | None = None, now: datetime | None = None, limit: int = OVERDUE_LIST_LIMIT
) -> list[Case]:
    """Open cases past their step's limit, most overdue first (live, through `cases_visible_to`)."""
    now = now or timezone.now()
    # The most overdue `limit` by the area alone (a short index read), then only those through the
    # scope selector: the list shows cases, so it must.
    most_overdue = _open_overdue(area, category, now).order_by("due_at", "id").values_list("pk", flat=True)[:limit]
    cases = cases_visible_to(user).filter(pk__in=list(most_overdue))
    return list(cases.select_related("category", "grid", "department").order_by("due_at", "id"))


def dashboard_case_points(
    user: Any,
    area: Area,
    *,
    date_from: date,
    date_to: date,
    category: str | None = None,
    limit: int = CASE_POINTS_LIMIT,
) -> list[Case]:
    """Cases submitted in the period with a location (map points at grid level), newest first."""
    start, end = period_bounds(date_from, date_to)
    cases = _live_cases(user, area, category).filter(
        submitted_at__gte=start, submitted_at__lt=end, longitude__isnull=False, latitude__isnull=False
    )
    return list(cases.select_related("category").order_by("-submitted_at", "-id")[:limit])


def category_choices() -> list[Category]:
    """Top-level and second-level categories for the filter (no personal data)."""
    return list(Category.objects.filter(is_active=True).order_by("code"))


def summary_dict(summary: Summary) -> dict[str, Any]:
    return {name: getattr(summary, name) for name in Summary.__dataclass_fields__}


def dashboard_geojson(
    user: Any, area: Area, *, date_from: date, date_to: date, category: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The map layer of `area`: its children as polygons with their indicators, or, for a grid
    (no children), its cases of the period as points linking to the case page."""
    children = dashboard_children(user, area, date_from=date_from, date_to=date_to, category=category, now=now)
    if children:
        features = [
            {
                "type": "Feature",
                "geometry": child.geometry,
                "properties": {
                    "code": child.code,
                    "name": child.name,
                    "level": child.level,
                    "level_label": str(child.get_level_display()),
                    **summary_dict(summary),
                },
            }
            for child, summary in children
        ]
        return {"type": "FeatureCollection", "kind": "areas", "features": features}
    return dashboard_points_geojson(user, area, date_from=date_from, date_to=date_to, category=category)


def dashboard_points_geojson(
    user: Any, area: Area, *, date_from: date, date_to: date, category: str | None = None
) -> dict[str, Any]:
    """The cases of the period inside `area` as points (newest first, at most `CASE_POINTS_LIMIT`)."""
    points = dashboard_case_points(user, area, date_from=date_from, date_to=date_to, category=category)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [case.longitude, case.latitude]},
            "properties": {
                "id": case.pk,
                "number": case.number,
                "category": case.category.name,
                "status": case.status,
                "status_label": str(case.get_status_display()),
                "sla_light": case.sla_light,
                "url": reverse("cases:detail", args=[case.pk]),
            },
        }
        for case in points
    ]
    return {"type": "FeatureCollection", "kind": "cases", "features": features}


# ------------------------------------------------------------------ heat layer


@dataclass(frozen=True)
class Heat:
    """The heat layer of an area: `points` are (lat, lon, weight), rounded to `MAP_DECIMALS`.

    `source` is "rollups" (above grid level: one point per grid with intake, at the centre of
    the grid's bounding box, weighted by the grid's intake of the period) or "cases" (at a grid:
    one point per located case of the period, weight 1, at most `CASE_POINTS_LIMIT`).
    `unlocated` is intake that has no place on the map (grids without bounds; cases without a
    location are simply not points), so `total + unlocated` is the area's intake above grid level.
    """

    source: Literal["rollups", "cases"]
    points: list[tuple[float, float, int]]
    total: int
    max_weight: int
    unlocated: int = 0
    limited: bool = False


def _bbox_centre(row: dict[str, Any]) -> tuple[float, float] | None:
    bounds = (row["area__min_lat"], row["area__max_lat"], row["area__min_lon"], row["area__max_lon"])
    if any(value is None for value in bounds):
        return None
    min_lat, max_lat, min_lon, max_lon = bounds
    return round((min_lat + max_lat) / 2, MAP_DECIMALS), round((min_lon + max_lon) / 2, MAP_DECIMALS)


def dashboard_heat(user: Any, area: Area, *, date_from: date, date_to: date, category: str | None = None) -> Heat:
    """The heat layer of `area` over the period (area already checked by `dashboard_area_for_user`).

    Above grid level: every grid under `area` with intake in the period, weighted by that intake
    and placed at the centre of its bounding box (`min/max_lon/lat`; grids are small and mostly
    convex, and the centre needs no geometry parsing). The weights come from the grids' own
    rollup rows (`RollupTotal`, or `Rollup` when a category is chosen) in one grouped query over
    O(grids × days) rows, never from the case table, so they add up to the area's intake.
    At a grid: its cases of the period with a location (through `cases_visible_to`), weight 1.
    """
    check_period(date_from, date_to)
    if area.level in LEAF_LEVELS:
        cases = dashboard_case_points(user, area, date_from=date_from, date_to=date_to, category=category)
        points = [
            (round(case.latitude, MAP_DECIMALS), round(case.longitude, MAP_DECIMALS), 1)
            for case in cases
            if case.latitude is not None and case.longitude is not None
        ]
        return Heat(
            source="cases",
            points=points,
            total=len(points),
            max_weight=1 if points else 0,
            limited=len(cases) >= CASE_POINTS_LIMIT,
        )
    grids = Q(area__level=AreaLevel.GRID, area__path__startswith=area.path)
    rows = (
        _rows(grids, date_from, date_to, category)
        .values("area_id", "area__min_lat", "area__max_lat", "area__min_lon", "area__max_lon")
        .annotate(weight=Sum("intake"))
        .filter(weight__gt=0)
        .order_by("area_id")
    )
    points = []
    unlocated = 0
    for row in rows:
        weight = int(row["weight"])
        centre = _bbox_centre(row)
        if centre is None:
            unlocated += weight
        else:
            points.append((centre[0], centre[1], weight))
    return Heat(
        source="rollups",
        points=points,
        total=sum(point[2] for point in points),
        max_weight=max((point[2] for point in points), default=0),
        unlocated=unlocated,
    )


def heat_dict(heat: Heat) -> dict[str, Any]:
    return {
        "source": heat.source,
        "points": [list(point) for point in heat.points],
        "total": heat.total,
        "max_weight": heat.max_weight,
        "unlocated": heat.unlocated,
        "limited": heat.limited,
    }
