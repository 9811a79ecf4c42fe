"""巡查 endpoints of /api/v1: list, start, record a check, add a finding, settle it or
turn it into a case, finish.

Thin: patrols are read through `patrol_get_for_user` (out-of-scope and unknown
alike answer 404), every write goes through a service. Errors keep their Chinese
sentence: `PatrolConflict` → 409, `PatrolForbidden` → 403, `ValidationError` → 400
(handlers in `gridgov.api.api`). Photos are added on the phone page.
"""

# No `from __future__ import annotations`: django-ninja reads the parameter types at import time.
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.cases.models import Category
from gridgov.cases.schemas import WRITE_ERRORS, ErrorOut
from gridgov.patrols.choices import PatrolStatus
from gridgov.patrols.models import Patrol, PatrolFinding
from gridgov.patrols.schemas import (
    CheckIn,
    CheckItemOut,
    CheckOut,
    FindingCaseOut,
    FindingIn,
    FindingOut,
    FinishIn,
    PatrolOut,
    PatrolStartIn,
    PatrolSummaryOut,
    SettleIn,
    VisitOut,
)
from gridgov.patrols.selectors import (
    check_item_get,
    check_items,
    finding_get,
    patrol_get_for_user,
    patrol_list_for_user,
)
from gridgov.patrols.services import (
    patrol_check_record,
    patrol_finding_add,
    patrol_finding_settle,
    patrol_finding_to_case,
    patrol_finish,
    patrol_start,
)

router = Router(tags=["patrols"])

_SCOPE_NOTE = "看不到的巡查与不存在的巡查一样答404；看得到但不是本人的巡查答403；巡查已结束等状态冲突答409。"


def _worker_name(patrol: Patrol) -> str:
    return patrol.worker.full_name or patrol.worker.username


def _finding_out(finding: PatrolFinding) -> FindingOut:
    return FindingOut(
        id=finding.pk,
        category=finding.category.code,
        category_name=finding.category.name,
        description=finding.description,
        longitude=finding.longitude,
        latitude=finding.latitude,
        address=finding.address,
        status=finding.status,
        status_label=str(finding.get_status_display()),
        result=finding.result,
        case_id=finding.case_id,
        case_number=finding.case.number if finding.case_id and finding.case else None,
        photo_count=len(finding.photos.all()),
        found_at=finding.found_at,
    )


def _patrol_out(patrol: Patrol) -> PatrolOut:
    return PatrolOut(
        id=patrol.pk,
        worker=_worker_name(patrol),
        grid=patrol.grid.code,
        grid_name=patrol.grid.name,
        status=patrol.status,
        status_label=str(patrol.get_status_display()),
        started_at=patrol.started_at,
        ended_at=patrol.ended_at,
        notes=patrol.notes,
        route_points=len(patrol.route or []),
        checks=[
            CheckOut(
                item=check.item.code,
                item_name=check.item.name,
                result=check.result,
                result_label=str(check.get_result_display()),
                note=check.note,
                checked_at=check.checked_at,
            )
            for check in patrol.checks.all()
        ],
        visits=[
            VisitOut(household_id=visit.household_id, place=visit.place, note=visit.note, visited_at=visit.visited_at)
            for visit in patrol.visits.all()
        ],
        findings=[_finding_out(finding) for finding in patrol.findings.all()],
    )


def _summary(patrol: Any) -> PatrolSummaryOut:
    return PatrolSummaryOut(
        id=patrol.pk,
        worker=_worker_name(patrol),
        grid=patrol.grid.code,
        grid_name=patrol.grid.name,
        status=patrol.status,
        status_label=str(patrol.get_status_display()),
        started_at=patrol.started_at,
        ended_at=patrol.ended_at,
        check_count=patrol.check_count,
        visit_count=patrol.visit_count,
        finding_count=patrol.finding_count,
    )


class PatrolPagination(PageNumberPagination):
    def paginate_queryset(
        self, queryset: QuerySet[Patrol], pagination: Any, request: HttpRequest, **params: Any
    ) -> Any:
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page[self.items_attribute] = [_summary(patrol) for patrol in page[self.items_attribute]]
        return page


class PatrolListQuery(Schema):
    mine: bool = False
    status: str | None = None


@router.get(
    "",
    response={200: list[PatrolSummaryOut], 400: ErrorOut},
    summary="巡查列表",
    description="调用者可见的巡查，最新的在前：网格员看本网格的，社区、镇街、县级指挥中心看辖区内的（只读）。"
    "mine=true 只列本人的巡查；status=open/finished 按状态筛选。",
)
@paginate(PatrolPagination, page_size=30)
def patrol_list(request: HttpRequest, filters: Query[PatrolListQuery]) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    if filters.status and filters.status not in PatrolStatus.values:
        raise ValidationError(_("未知的巡查状态。"))
    return patrol_list_for_user(user, mine=filters.mine, status=filters.status or "")


@router.get("/check-items", response=list[CheckItemOut], summary="巡查检查项")
def check_item_list(request: HttpRequest) -> Any:
    return [
        CheckItemOut(code=item.code, name=item.name, hint=item.hint, category_code=item.category_code)
        for item in check_items()
    ]


@router.post(
    "",
    response={201: PatrolOut, **WRITE_ERRORS},
    summary="开始巡查",
    description="网格员在本人负责的网格开始一次巡查；同一时间只能有一次进行中的巡查（否则答409）。",
)
def patrol_start_api(request: HttpRequest, payload: PatrolStartIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    grid = Area.objects.filter(code=payload.grid.strip(), level=AreaLevel.GRID).first()
    if grid is None:
        raise ValidationError(_("找不到编码为“%(code)s”的网格。") % {"code": payload.grid})
    patrol = patrol_start(actor=user, grid=grid)
    return Status(201, _patrol_out(patrol_get_for_user(user, patrol.pk)))


@router.get("/{patrol_id}", response={200: PatrolOut, 404: ErrorOut}, summary="巡查详情", description=_SCOPE_NOTE)
def patrol_detail_api(request: HttpRequest, patrol_id: int) -> Any:
    return _patrol_out(patrol_get_for_user(request.auth, patrol_id))  # type: ignore[attr-defined]


@router.post(
    "/{patrol_id}/checks", response={200: PatrolOut, **WRITE_ERRORS}, summary="记录检查项", description=_SCOPE_NOTE
)
def patrol_check_api(request: HttpRequest, patrol_id: int, payload: CheckIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    patrol = patrol_get_for_user(user, patrol_id)
    try:
        item = check_item_get(payload.item.strip())
    except Http404 as error:
        raise ValidationError(_("未知的检查项：%(code)s") % {"code": payload.item}) from error
    patrol_check_record(actor=user, patrol=patrol, item=item, result=payload.result, note=payload.note)
    return _patrol_out(patrol_get_for_user(user, patrol_id))


@router.post(
    "/{patrol_id}/findings",
    response={201: FindingOut, **WRITE_ERRORS},
    summary="记录发现的问题",
    description=_SCOPE_NOTE + "位置须在本次巡查的网格内。记录后请现场处置（settle）或转为事项（case）。",
)
def patrol_finding_api(request: HttpRequest, patrol_id: int, payload: FindingIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    patrol = patrol_get_for_user(user, patrol_id)
    category = Category.objects.filter(code=payload.category.strip()).first()
    if category is None:
        raise ValidationError(_("未知的事项类别：%(code)s") % {"code": payload.category})
    item = None
    if payload.check_item:
        try:
            item = check_item_get(payload.check_item.strip())
        except Http404 as error:
            raise ValidationError(_("未知的检查项：%(code)s") % {"code": payload.check_item}) from error
    finding = patrol_finding_add(
        actor=user,
        patrol=patrol,
        category=category,
        description=payload.description,
        longitude=payload.longitude,
        latitude=payload.latitude,
        address=payload.address,
        check_item=item,
    )
    return Status(201, _finding_out(finding_get(patrol, finding.pk)))


@router.post(
    "/{patrol_id}/findings/{finding_id}/settle",
    response={200: FindingOut, **WRITE_ERRORS},
    summary="发现的问题现场已处置",
    description=_SCOPE_NOTE,
)
def patrol_finding_settle_api(request: HttpRequest, patrol_id: int, finding_id: int, payload: SettleIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    patrol = patrol_get_for_user(user, patrol_id)
    finding = patrol_finding_settle(actor=user, finding=finding_get(patrol, finding_id), result=payload.result)
    return _finding_out(finding_get(patrol, finding.pk))


@router.post(
    "/{patrol_id}/findings/{finding_id}/case",
    response={200: FindingCaseOut, 201: FindingCaseOut, **WRITE_ERRORS},
    summary="发现的问题转为事项",
    description=_SCOPE_NOTE
    + "以“巡查发现”来源登记事项（位置、类别、描述、照片随之带入）；重复调用返回同一事项（200）。",
)
def patrol_finding_case_api(request: HttpRequest, patrol_id: int, finding_id: int) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    patrol = patrol_get_for_user(user, patrol_id)
    case, created = patrol_finding_to_case(actor=user, finding=finding_get(patrol, finding_id))
    body = FindingCaseOut(
        finding=_finding_out(finding_get(patrol, finding_id)), case_id=case.pk, case_number=case.number, created=created
    )
    return Status(201 if created else 200, body)


@router.post(
    "/{patrol_id}/finish",
    response={200: PatrolOut, **WRITE_ERRORS},
    summary="结束巡查",
    description=_SCOPE_NOTE + "所有发现须先现场处置或转为事项。",
)
def patrol_finish_api(request: HttpRequest, patrol_id: int, payload: FinishIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    patrol = patrol_get_for_user(user, patrol_id)
    patrol_finish(actor=user, patrol=patrol, notes=payload.notes, route=payload.route)
    return _patrol_out(patrol_get_for_user(user, patrol_id))
