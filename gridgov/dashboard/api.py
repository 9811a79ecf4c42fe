"""综合态势 endpoints of /api/v1: the summary of an area, its map layer and heat layer, scoped by `view_cases`.

An area outside the caller's scope is the same 404 as an unknown code; a caller
without the `view_cases` capability gets 403. Numbers come from the rollups
(`gridgov.dashboard.selectors`) and equal those of /api/v1/indicators.
"""

# No `from __future__ import annotations` here: django-ninja reads the
# Query[...] parameter types at import time.
from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from gridgov.cases.schemas import ErrorOut, ValidationErrorOut
from gridgov.dashboard.alerts import alerts_for_area
from gridgov.dashboard.selectors import (
    dashboard_area_for_user,
    dashboard_geojson,
    dashboard_heat,
    dashboard_summary_and_children,
    heat_dict,
    summary_dict,
)

router = Router(tags=["dashboard"])


class SummaryQuery(Schema):
    area: str | None = Field(None, max_length=18, description="区域编码；缺省为调用者可见范围的最上级区域")
    date_from: date | None = Field(None, alias="from", description="起始日期 YYYY-MM-DD（含），缺省为本月1日")
    date_to: date | None = Field(None, alias="to", description="截止日期 YYYY-MM-DD（含），缺省为今天")
    category: str | None = Field(
        None, pattern=r"^(\d\d)+$", max_length=20, description="只统计该类别及其子类（类别编码）"
    )


class TierOutcomeOut(Schema):
    grid: int = Field(..., description="网格办结")
    community: int = Field(..., description="社区办结")
    town: int = Field(..., description="镇街办结")
    department: int = Field(..., description="职能部门办结")


class SummaryValuesOut(Schema):
    intake: int = Field(..., description="受理量")
    due_to_close: int = Field(..., description="应结案数")
    closed: int = Field(..., description="结案数")
    closed_on_time: int = Field(..., description="按期结案数")
    close_rate: float | None = Field(..., description="结案率（%）")
    on_time_rate: float | None = Field(..., description="按期结案率（%）")
    reopened: int = Field(..., description="返工数")
    closes: int = Field(..., description="结案操作数")
    rework_rate: float | None = Field(..., description="返工率（%）")
    rated: int = Field(..., description="评价数")
    satisfied: int = Field(..., description="满意数（满意+基本满意）")
    satisfaction_rate: float | None = Field(..., description="满意率（%）")
    first_response_count: int = Field(..., description="有首次响应的事项数")
    first_response_mean_minutes: float | None = Field(..., description="平均首次响应时长（分钟）")
    closed_in_period: int = Field(..., description="时段内办结数")
    time_to_close_mean_hours: float | None = Field(..., description="平均办结时长（小时）")
    overdue_open: int = Field(..., description="超时未办（当前）")
    tier_outcome: TierOutcomeOut = Field(..., description="按办结层级（小事不出网格）")
    grid_settled_rate: float | None = Field(..., description="网格内办结率（%）")


class AreaRefOut(Schema):
    code: str
    name: str
    level: str


class ChildSummaryOut(Schema):
    area: AreaRefOut
    values: SummaryValuesOut


class SummaryOut(Schema):
    area: AreaRefOut
    date_from: date = Field(..., description="起始日期")
    date_to: date = Field(..., description="截止日期")
    category: str | None = Field(None, description="类别编码")
    values: SummaryValuesOut
    children: list[ChildSummaryOut] = Field(..., description="下级区域的同口径指标")


class AlertOut(Schema):
    id: int
    kind: str
    kind_label: str
    area_code: str
    area_name: str
    case_id: int | None
    reason: str = Field(..., description="触发原因")
    fired_at: datetime = Field(..., description="触发时间")


class HeatOut(Schema):
    area: AreaRefOut
    date_from: date = Field(..., description="起始日期")
    date_to: date = Field(..., description="截止日期")
    category: str | None = Field(None, description="类别编码")
    source: Literal["rollups", "cases"] = Field(
        ...,
        description=(
            "数据来源：rollups（网格以上：各网格时段内受理量，取自汇总表）或 cases（网格：时段内事项点位，每件权重1）"
        ),
    )
    points: list[tuple[float, float, int]] = Field(
        ..., description="热力点 [纬度, 经度, 权重]；网格以上每个有受理量的网格一个点，位于网格外包矩形中心"
    )
    total: int = Field(..., description="各点权重之和")
    max_weight: int = Field(..., description="最大单点权重")
    unlocated: int = Field(..., description="无法落图的受理量（网格缺少边界）")
    limited: bool = Field(..., description="网格级点位是否达到上限（1000个）而被截断")


def _period(query: SummaryQuery) -> tuple[date, date]:
    date_to = query.date_to or timezone.localdate()
    date_from = query.date_from or date_to.replace(day=1)
    return date_from, date_to


def _ref(area: Any) -> dict[str, str]:
    return {"code": area.code, "name": area.name, "level": area.level}


@router.get(
    "/summary",
    response={200: SummaryOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="综合态势指标",
    description=(
        "区域在起止日期内的受理量、按期结案率、满意率、平均首次响应、办结层级与超时未办，以及各下级区域的同口径指标。"
        "数字来自汇总表，与 /indicators 一致（响应与办结时长为平均值）。时段最长366天；区域不在可见范围内答404。"
    ),
)
def summary(request: HttpRequest, query: Query[SummaryQuery]) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    area = dashboard_area_for_user(user, query.area)
    date_from, date_to = _period(query)
    values, children = dashboard_summary_and_children(
        user, area, date_from=date_from, date_to=date_to, category=query.category
    )
    return {
        "area": _ref(area),
        "date_from": date_from,
        "date_to": date_to,
        "category": query.category,
        "values": summary_dict(values),
        "children": [{"area": _ref(child), "values": summary_dict(child_values)} for child, child_values in children],
    }


@router.get(
    "/areas.geojson",
    response={200: dict[str, Any], 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="态势地图图层（GeoJSON）",
    description=(
        "区域的下级区域边界（FeatureCollection），properties 含同口径指标；网格（无下级）时为时段内事项的点位"
        "（kind 为 cases，最多1000个）。区域不在可见范围内答404。"
    ),
)
def areas_geojson(request: HttpRequest, query: Query[SummaryQuery]) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    area = dashboard_area_for_user(user, query.area)
    date_from, date_to = _period(query)
    return dashboard_geojson(user, area, date_from=date_from, date_to=date_to, category=query.category)


@router.get(
    "/heat",
    response={200: HeatOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="态势热力图层",
    description=(
        "区域在起止日期内（可按类别）的热力点 [纬度, 经度, 权重]。网格以上：区域内每个网格的受理量（取自汇总表，"
        "一次分组查询，代价与网格数×天数成正比，与事项数无关），置于网格外包矩形中心，权重之和等于区域受理量；"
        "网格：时段内有位置的事项点位（每件权重1，最多1000个）。区域不在可见范围内答404，无查看权限答403。"
    ),
)
def heat(request: HttpRequest, query: Query[SummaryQuery]) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    area = dashboard_area_for_user(user, query.area)
    date_from, date_to = _period(query)
    layer = dashboard_heat(user, area, date_from=date_from, date_to=date_to, category=query.category)
    return {
        "area": _ref(area),
        "date_from": date_from,
        "date_to": date_to,
        "category": query.category,
        **heat_dict(layer),
    }


@router.get(
    "/alerts",
    response={200: list[AlertOut], 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="预警列表",
    description="区域内最近的预警（诉求激增、同一地点重复诉求、即将超时），每条附触发原因。最多100条。",
)
def alerts(request: HttpRequest, area: str | None = None) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    root = dashboard_area_for_user(user, area)
    return [
        {
            "id": alert.pk,
            "kind": alert.kind,
            "kind_label": str(alert.get_kind_display()),
            "area_code": alert.area.code,
            "area_name": alert.area.name,
            "case_id": alert.case_id,
            "reason": alert.reason,
            "fired_at": timezone.localtime(alert.fired_at),
        }
        for alert in alerts_for_area(root)[:100]
    ]
