"""党组织 endpoints of /api/v1: organisations and coverage, scoped like the pages."""

# No `from __future__ import annotations`: django-ninja reads the Query[...] types at import time.
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from gridgov.party.selectors import (
    area_get_for_user,
    coverage_for_user,
    orgs_visible_to,
)

router = Router(tags=["party"])


class ErrorOut(Schema):
    detail: str


class OrgOut(Schema):
    id: int
    kind: str
    kind_label: str = Field(..., alias="get_kind_display")
    name: str
    parent_id: int | None
    area_code: str = Field(..., alias="area.code")
    area_name: str = Field(..., alias="area.name")
    member_count: int
    cover_count: int
    plaque_status: str
    founded_on: Any = None
    dissolved_on: Any = None


class OrgQuery(Schema):
    area: str | None = Field(None, description="区域编码；默认为本人辖区的最上层")
    kind: str | None = Field(
        None, description="community_committee / compound_branch / joint_branch / building_group / lead_household"
    )


class CoverageRowOut(Schema):
    code: str
    name: str
    compounds: int
    compounds_covered: int
    buildings: int
    buildings_covered: int
    households: int
    households_covered: int
    lead_households: int
    lead_households_hung: int


class GapOut(Schema):
    id: int
    name: str
    grid_code: str


class HouseholdGapOut(Schema):
    compound_id: int | None
    compound_name: str
    grid_name: str
    uncovered: int


class CoverageOut(Schema):
    area_code: str
    area_name: str
    total: CoverageRowOut
    rows: list[CoverageRowOut]
    compounds_without_org: list[GapOut]
    buildings_without_group: list[GapOut]
    households_uncovered_by_compound: list[HouseholdGapOut]
    grids_without_responsibility: list[str]


class CoverageQuery(Schema):
    area: str | None = Field(None, description="区域编码（社区、镇街或县区）；默认为本人辖区的最上层")


@router.get("/organisations", response={200: list[OrgOut], 404: ErrorOut}, summary="党组织列表")
@paginate(PageNumberPagination, page_size=100)
def org_list(request: HttpRequest, filters: Query[OrgQuery]) -> Any:
    area = area_get_for_user(request.user, filters.area)
    return orgs_visible_to(request.user, area=area, kind=filters.kind).order_by("area__path", "kind", "id")


@router.get("/coverage", response={200: CoverageOut, 404: ErrorOut}, summary="党组织覆盖情况")
def coverage(request: HttpRequest, filters: Query[CoverageQuery]) -> Any:
    data = coverage_for_user(request.user, filters.area)
    return {
        "area_code": data.area.code,
        "area_name": data.area.name,
        "total": data.total,
        "rows": data.rows,
        "compounds_without_org": [{"id": c.pk, "name": c.name, "grid_code": c.grid.code} for c in data.gap_compounds],
        "buildings_without_group": [
            {"id": b.pk, "name": f"{b.compound.name if b.compound else ''}{b.name}", "grid_code": b.grid.code}
            for b in data.gap_buildings
        ],
        "households_uncovered_by_compound": data.gap_households,
        "grids_without_responsibility": [g.code for g in data.grids_without_responsibility],
    }
