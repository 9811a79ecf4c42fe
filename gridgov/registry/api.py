"""Household and resident endpoints of /api/v1: the scope and masking of the pages.

ID numbers and phones leave the API masked only; the audited reveal is a page action.
"""

# No `from __future__ import annotations` here: django-ninja reads the
# Query[...] parameter types at import time.
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from gridgov.registry.models import Household, Resident
from gridgov.registry.selectors import (
    HouseholdFilters,
    hidden_tag_ids_for,
    household_get_for_user,
    household_list_for_user,
    household_members,
    resident_list_for_user,
)

households_router = Router(tags=["registry"])
residents_router = Router(tags=["registry"])


class TagOut(Schema):
    code: str
    name: str


def _visible_tags(tags: Any, grid_path: str, context: Any) -> list[Any]:
    hidden = hidden_tag_ids_for(context["request"].user, grid_path)
    return [tag for tag in tags.all() if tag.pk not in hidden]


class ResidentOut(Schema):
    id: int
    household_id: int
    name: str
    relation: str
    gender: str
    birth_year: int = Field(..., alias="birth_date.year")
    id_number_masked: str = Field(..., alias="id_masked")
    phone_masked: str
    residence: str
    is_party_member: bool
    tags: list[TagOut]

    @staticmethod
    def resolve_tags(obj: Resident, context: Any) -> list[Any]:
        return _visible_tags(obj.tags, obj.household.grid.path, context)


class HouseholdOut(Schema):
    id: int
    address: str
    grid_code: str = Field(..., alias="grid.code")
    grid_name: str = Field(..., alias="grid.name")
    building_id: int | None
    unit: str
    room: str
    member_count: int
    tags: list[TagOut]

    @staticmethod
    def resolve_member_count(obj: Household) -> int:
        return len(obj.members.all())

    @staticmethod
    def resolve_tags(obj: Household, context: Any) -> list[Any]:
        return _visible_tags(obj.tags, obj.grid.path, context)


class HouseholdDetailOut(HouseholdOut):
    members: list[ResidentOut] = Field(..., alias="members_current")

    @staticmethod
    def resolve_member_count(obj: Household) -> int:
        return len(obj.members_current)  # type: ignore[attr-defined]


class ErrorOut(Schema):
    detail: str


class HouseholdQuery(Schema):
    area: str | None = None
    building: int | None = None
    tag: str | None = None
    q: str = Field("", max_length=50)


class ResidentQuery(Schema):
    area: str | None = None
    q: str = Field("", max_length=50)


@households_router.get("", response=list[HouseholdOut], summary="户列表")
@paginate(PageNumberPagination, page_size=50)
def household_list(request: HttpRequest, filters: Query[HouseholdQuery]) -> Any:
    return household_list_for_user(
        request.user,
        HouseholdFilters(area_code=filters.area, building_id=filters.building, tag_code=filters.tag, query=filters.q),
    ).order_by("id")


@households_router.get("/{household_id}", response={200: HouseholdDetailOut, 404: ErrorOut}, summary="户详情")
def household_detail(request: HttpRequest, household_id: int) -> Any:
    household = household_get_for_user(request.user, household_id)
    household.members_current = list(household_members(household))  # type: ignore[attr-defined]
    return household


@residents_router.get("", response=list[ResidentOut], summary="居民查询")
@paginate(PageNumberPagination, page_size=50)
def resident_list(request: HttpRequest, filters: Query[ResidentQuery]) -> Any:
    return resident_list_for_user(request.user, query=filters.q, area_code=filters.area)
