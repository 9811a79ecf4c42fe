"""Case endpoints of /api/v1: submit, list, detail, one operation per action,
the indicators and the 12345 hand-off.

Thin, like the pages: every read goes through `cases_visible_to` /
`case_get_for_user` (an out-of-scope case is the same 404 as an unknown one),
every write through a service. Errors keep their Chinese sentence:
`CaseConflict` → 409, `CaseForbidden` → 403, `ValidationError` → 400
(handlers in `gridgov.api.api`).

Submitting answers 201 after the service's transaction has committed (the API
runs without ATOMIC_REQUESTS); a retry under the same `Idempotency-Key`
answers 200 with the same case.

Personal data: the reporter's phone leaves only masked; for an anonymous case
the reporter's name and phone are shown to the reporter alone. A caller who
sees a case only as its reporter gets the reporter's view of the timeline: no
internal steps, and staff by their post instead of their name.
"""

# No `from __future__ import annotations` here: django-ninja reads the
# Query[...] parameter types at import time.
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, Query, Router, Status
from ninja.pagination import PageNumberPagination, paginate

from gridgov.accounts.choices import STAFF_ROLES, Role
from gridgov.accounts.models import Department
from gridgov.areas.selectors import area_get_for_user
from gridgov.cases.choices import TIMED_STATUSES, CaseSource, CaseStatus, SlaLight
from gridgov.cases.errors import CaseForbidden
from gridgov.cases.hotline import (
    HOTLINE_API_MAX_ORDERS,
    CaseReferences,
    Crs,
    hotline_import,
    phone_check,
    point_to_wgs84,
)
from gridgov.cases.indicators import case_indicators
from gridgov.cases.models import Case, CaseStep
from gridgov.cases.rules import duties_of
from gridgov.cases.schemas import (
    CaseDetailOut,
    CaseIn,
    CaseListQuery,
    CaseOut,
    CaseSummaryOut,
    CloseIn,
    DispatchIn,
    ErrorOut,
    ExtensionDecisionIn,
    ExtensionRequestIn,
    HotlineOrderIn,
    HotlineReportOut,
    IndicatorQuery,
    IndicatorsOut,
    NoteIn,
    RateIn,
    ReasonIn,
    ReportBackIn,
    ValidationErrorOut,
    VerifyIn,
)
from gridgov.cases.selectors import (
    case_actions_for,
    case_get_by_number_for_user,
    case_get_for_user,
    case_queue_for_user,
    case_seen_as_staff,
    case_timeline,
    cases_visible_to,
)
from gridgov.cases.services import (
    CaseInput,
    case_accept,
    case_close,
    case_decide_extension,
    case_dispatch,
    case_escalate,
    case_rate,
    case_reopen,
    case_report_back,
    case_request_extension,
    case_resume,
    case_send_back,
    case_sign_for,
    case_submit,
    case_suspend,
    case_verify,
    case_void,
)

router = Router(tags=["cases"])
indicators_router = Router(tags=["cases"])

_WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut}
_ACTION_RESPONSES: dict[int, Any] = {200: CaseOut, 404: ErrorOut, **_WRITE_ERRORS}
_ACTION_DESCRIPTION = (
    "看不到的事项与不存在的事项一样答404；看得到但无权操作答403；事项状态不允许或已被他人先处理答409"
    "（此时不做任何改动）；输入有误答400或422。成功时返回事项的最新状态。"
)

# --- What a caller may see ---------------------------------------------------------

# The post shown to a reporter in place of a staff member's name, most specific first.
_POST_ORDER = (
    Role.GRID_WORKER,
    Role.COMMUNITY_STAFF,
    Role.TOWN_STAFF,
    Role.DEPARTMENT_HANDLER,
    Role.COUNTY_COMMAND,
    Role.LEADER,
    Role.ADMIN,
)


def _reporter_shown_to(user: Any, case: Case) -> bool:
    return not case.is_anonymous or (case.reporter_id is not None and case.reporter_id == user.pk)


def _person_name(user: Any) -> str:
    return str(user.full_name or user.username)


def _post_of(user: Any) -> str:
    roles = {duty.role for duty in duties_of(user)}
    for role in _POST_ORDER:
        if role in roles:
            return str(Role(role).label)
    return _("工作人员")


def _at(moment: datetime | None) -> datetime | None:
    """Every time leaves in the local time zone, whether read from the database or just written."""
    return timezone.localtime(moment) if moment is not None else None


def _case_summary(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "number": case.number,
        "kind": case.kind,
        "kind_label": str(case.get_kind_display()),
        "source": case.source,
        "source_label": str(case.get_source_display()),
        "category_code": case.category.code,
        "category_name": case.category.name,
        "urgency": case.urgency,
        "urgency_label": str(case.get_urgency_display()),
        "title": case.title,
        "status": case.status,
        "status_label": str(case.get_status_display()),
        "tier": case.tier,
        "tier_label": str(case.get_tier_display()),
        "grid_code": case.grid.code,
        "grid_name": case.grid.name,
        "address": case.address,
        "sla_light": case.sla_light,
        "sla_light_label": str(case.get_sla_light_display()),
        "due_at": _at(case.due_at),
        "close_due_at": _at(case.close_due_at),
        "submitted_at": _at(case.submitted_at),
        "closed_at": _at(case.closed_at),
    }


def _case_out(user: Any, case: Case) -> dict[str, Any]:
    shown = _reporter_shown_to(user, case)
    return {
        **_case_summary(case),
        "description": case.description,
        "longitude": case.longitude,
        "latitude": case.latitude,
        "reporter_name": case.reporter_name if shown else None,
        "reporter_phone_masked": case.reporter_phone_masked if shown else None,
        "is_anonymous": case.is_anonymous,
        "external_ref": case.external_ref,
        "department_code": case.department.code if case.department else None,
        "department_name": case.department.name if case.department else None,
        "first_response_at": _at(case.first_response_at),
        "reported_at": _at(case.reported_at),
        "close_reason": case.close_reason,
        "close_reason_label": str(case.get_close_reason_display()) if case.close_reason else "",
        "closed_tier": case.closed_tier,
        "merged_into_number": case.merged_into.number if case.merged_into else None,
        "rating": case.rating,
        "rating_label": str(case.get_rating_display()) if case.rating else "",
        "rated_at": _at(case.rated_at),
        "reopen_count": case.reopen_count,
        "extension_requested": case.extension_requested,
        "extension_reason": case.extension_reason,
        "version": case.version,
    }


def _step_actor(step: CaseStep, case: Case, *, user: Any, staff_view: bool, posts: dict[int, str]) -> str:
    if step.actor is None:
        return _("系统")
    if case.reporter_id is not None and step.actor_id == case.reporter_id:
        if _reporter_shown_to(user, case) and case.reporter_name:
            return case.reporter_name
        return _("反映人")
    if staff_view:
        return _person_name(step.actor)
    if step.actor.pk not in posts:
        posts[step.actor.pk] = _post_of(step.actor)
    return posts[step.actor.pk]


def _case_detail(user: Any, case: Case) -> dict[str, Any]:
    staff_view = case_seen_as_staff(user, case)
    steps = case_timeline(case, for_reporter=not staff_view)
    posts: dict[int, str] = {}
    return {
        **_case_out(user, case),
        "handling_area_code": case.handling_area.code,
        "handling_area_name": case.handling_area.name,
        "owner_name": _person_name(case.owner) if staff_view and case.owner else None,
        "owned_by_me": case.owner_id is not None and case.owner_id == user.pk,
        "actions": case_actions_for(user, case),
        "steps": [
            {
                "seq": step.seq,
                "action": step.action,
                "action_label": str(step.get_action_display()),
                "actor": _step_actor(step, case, user=user, staff_view=staff_view, posts=posts),
                "at": _at(step.at),
                "from_status": step.from_status,
                "to_status": step.to_status,
                "to_status_label": str(step.get_to_status_display()),
                "from_tier": step.from_tier,
                "to_tier": step.to_tier,
                "to_tier_label": str(step.get_to_tier_display()),
                "note": step.note,
                "internal": step.internal,
                "detail": step.detail,
            }
            for step in steps
        ],
        "attachments": [
            {
                "id": attachment.pk,
                "step_seq": step.seq,
                "original_name": attachment.original_name,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "created_at": _at(attachment.created_at),
            }
            for step in steps
            for attachment in step.attachments.all()
        ],
    }


# --- Submitting --------------------------------------------------------------------


def _submit_source(user: Any, requested: str | None) -> str:
    """A resident's account always reports as a resident; staff choose how the case came in (default: api)."""
    roles = {duty.role for duty in duties_of(user)}
    is_resident = Role.RESIDENT in roles
    if not roles & STAFF_ROLES:
        if not is_resident:
            raise CaseForbidden(_("当前账号没有登记事项的权限。"))
        if requested not in (None, "", CaseSource.RESIDENT):
            raise CaseForbidden(_("居民账号只能以“居民上报”的来源登记事项。"))
        return CaseSource.RESIDENT
    if not requested:
        return CaseSource.API
    if requested == CaseSource.RESIDENT and not is_resident:
        raise CaseForbidden(_("只有居民账号可以以“居民上报”的来源登记事项。"))
    return requested


@router.post(
    "",
    response={200: CaseOut, 201: CaseOut, **_WRITE_ERRORS},
    summary="登记事项",
    description=(
        "登记一件诉求或巡查发现，按经纬度（或网格编码）落到网格，由网格员首接。事务提交后才答201。"
        "可带请求头 Idempotency-Key：同一账号以同一编号重试时答200并返回同一事项；编号相同而内容不同答409。"
        "类别或网格编码不存在答400。返回内容中反映人电话只有掩码。"
    ),
)
def case_create(
    request: HttpRequest,
    payload: CaseIn,
    idempotency_key: str = Header(
        "", alias="Idempotency-Key", description="请求编号（每个账号内唯一，最长100字符）：重试时带同一编号不会重复登记"
    ),
) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    source = _submit_source(user, payload.source)
    if payload.crs not in Crs.ALL:
        raise ValidationError(_("未知的坐标系，可选wgs84或gcj02。"))
    references = CaseReferences()
    longitude, latitude = payload.longitude, payload.latitude
    if longitude is not None and latitude is not None:
        longitude, latitude = point_to_wgs84(longitude, latitude, payload.crs)
    phone_check(payload.reporter_phone)
    data = CaseInput(
        kind=payload.kind,
        category=references.category(payload.category),
        title=payload.title,
        description=payload.description,
        source=source,
        urgency=payload.urgency,
        longitude=longitude,
        latitude=latitude,
        grid=references.grid(payload.grid) if payload.grid else None,
        address=payload.address,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        is_anonymous=payload.is_anonymous,
        external_ref=payload.external_ref,
    )
    case, created = case_submit(actor=user, data=data, idempotency_key=idempotency_key)
    return Status(201 if created else 200, _case_out(user, case))


@router.post(
    "/hotline",
    response={200: HotlineReportOut, **_WRITE_ERRORS},
    summary="12345工单交接",
    description=(
        "12345热线工单（JSON列表，每次最多500条）逐条校验后登记为来源为“12345热线”的事项，工单编号作为外部编号："
        "再次交接同一工单不会重复建件（计入 already_present）。有问题的工单不登记，按行列出中文原因；来电号码不会回显。"
        "仅限工作人员。"
    ),
)
def hotline_handoff(request: HttpRequest, orders: list[HotlineOrderIn], crs: str = Crs.WGS84) -> Any:
    return hotline_import(
        actor=request.auth,  # type: ignore[attr-defined]
        orders=[(index, order.model_dump()) for index, order in enumerate(orders, start=1)],
        crs=crs,
        max_orders=HOTLINE_API_MAX_ORDERS,
    )


# --- Reading -----------------------------------------------------------------------


class CasePagination(PageNumberPagination):
    """Page numbers over the scoped queryset; the page's cases become plain summaries."""

    def paginate_queryset(self, queryset: QuerySet[Case], pagination: Any, request: HttpRequest, **params: Any) -> Any:
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page[self.items_attribute] = [_case_summary(case) for case in page[self.items_attribute]]
        return page


@router.get(
    "",
    response={200: list[CaseSummaryOut], 400: ErrorOut, 404: ErrorOut},
    summary="事项列表",
    description=(
        "调用者可见的事项，最新的在前：辖区内的、派遣给本部门的、本人反映的。"
        "可按状态、类别（含下级类别）、区域（不在可见范围内答404）、是否超时、是否由我办理、是否等我处理筛选。"
    ),
)
@paginate(CasePagination, page_size=50)
def case_list(request: HttpRequest, filters: Query[CaseListQuery]) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    cases = case_queue_for_user(user) if filters.queue else cases_visible_to(user)
    if filters.status:
        if filters.status not in CaseStatus.values:
            raise ValidationError(_("未知的事项状态。"))
        cases = cases.filter(status=filters.status)
    if filters.category:
        cases = cases.filter(category__code__startswith=filters.category.strip())
    if filters.area:
        area = area_get_for_user(user, filters.area.strip())
        cases = cases.filter(grid__path__startswith=area.path)
    if filters.overdue is not None:
        overdue = Q(status__in=TIMED_STATUSES) & (Q(sla_light=SlaLight.RED) | Q(due_at__lt=timezone.now()))
        cases = cases.filter(overdue) if filters.overdue else cases.exclude(overdue)
    if filters.mine:
        cases = cases.filter(owner=user)
    return cases.select_related("category", "grid").order_by("-submitted_at", "-id")


@router.get(
    "/{case_id}",
    response={200: CaseDetailOut, 404: ErrorOut},
    summary="事项详情",
    description=(
        "事项、办理记录、附件信息和调用者现在可以执行的操作。看不到的事项与不存在的事项一样答404。"
        "只以反映人身份看到事项的调用者看不到内部记录，工作人员以岗位显示。"
    ),
)
def case_detail(request: HttpRequest, case_id: int) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    return _case_detail(user, case_get_for_user(user, case_id))


# --- Acting: one operation per action ----------------------------------------------


def _department(code: str) -> Department:
    department = Department.objects.filter(code=(code or "").strip()).select_related("area").first()
    if department is None:
        raise ValidationError(_("部门编码不存在。"))
    return department


@router.post("/{case_id}/accept", response=_ACTION_RESPONSES, summary="受理", description=_ACTION_DESCRIPTION)
def case_accept_op(request: HttpRequest, case_id: int, payload: NoteIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_accept(actor=user, case=case, note=payload.note)
    return _case_out(user, case)


@router.post("/{case_id}/escalate", response=_ACTION_RESPONSES, summary="上报上一级", description=_ACTION_DESCRIPTION)
def case_escalate_op(request: HttpRequest, case_id: int, payload: ReasonIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_escalate(actor=user, case=case, reason=payload.reason)
    return _case_out(user, case)


@router.post("/{case_id}/dispatch", response=_ACTION_RESPONSES, summary="派遣职能部门", description=_ACTION_DESCRIPTION)
def case_dispatch_op(request: HttpRequest, case_id: int, payload: DispatchIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_dispatch(actor=user, case=case, department=_department(payload.department), note=payload.note)
    return _case_out(user, case)


@router.post("/{case_id}/sign_for", response=_ACTION_RESPONSES, summary="签收", description=_ACTION_DESCRIPTION)
def case_sign_for_op(request: HttpRequest, case_id: int, payload: NoteIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_sign_for(actor=user, case=case, note=payload.note)
    return _case_out(user, case)


@router.post("/{case_id}/send_back", response=_ACTION_RESPONSES, summary="回退", description=_ACTION_DESCRIPTION)
def case_send_back_op(request: HttpRequest, case_id: int, payload: ReasonIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_send_back(actor=user, case=case, reason=payload.reason)
    return _case_out(user, case)


@router.post(
    "/{case_id}/report_back", response=_ACTION_RESPONSES, summary="反馈办理结果", description=_ACTION_DESCRIPTION
)
def case_report_back_op(request: HttpRequest, case_id: int, payload: ReportBackIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_report_back(actor=user, case=case, result=payload.result)
    return _case_out(user, case)


@router.post(
    "/{case_id}/request_extension", response=_ACTION_RESPONSES, summary="申请延期", description=_ACTION_DESCRIPTION
)
def case_request_extension_op(request: HttpRequest, case_id: int, payload: ExtensionRequestIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_request_extension(actor=user, case=case, amount=payload.amount, reason=payload.reason)
    return _case_out(user, case)


@router.post(
    "/{case_id}/decide_extension", response=_ACTION_RESPONSES, summary="审批延期", description=_ACTION_DESCRIPTION
)
def case_decide_extension_op(request: HttpRequest, case_id: int, payload: ExtensionDecisionIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_decide_extension(actor=user, case=case, approve=payload.approve, note=payload.note)
    return _case_out(user, case)


@router.post("/{case_id}/verify", response=_ACTION_RESPONSES, summary="核查", description=_ACTION_DESCRIPTION)
def case_verify_op(request: HttpRequest, case_id: int, payload: VerifyIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_verify(actor=user, case=case, passed=payload.passed, note=payload.note, close_reason=payload.close_reason)
    return _case_out(user, case)


@router.post("/{case_id}/close", response=_ACTION_RESPONSES, summary="结案", description=_ACTION_DESCRIPTION)
def case_close_op(request: HttpRequest, case_id: int, payload: CloseIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    merged_into = None
    if payload.merged_into:
        merged_into = case_get_by_number_for_user(user, payload.merged_into)
        if merged_into is None:
            raise ValidationError(_("找不到要合并到的事项，请核对事项编号。"))
    case_close(actor=user, case=case, reason=payload.reason, note=payload.note, merged_into=merged_into)
    return _case_out(user, case)


@router.post("/{case_id}/rate", response=_ACTION_RESPONSES, summary="评价", description=_ACTION_DESCRIPTION)
def case_rate_op(request: HttpRequest, case_id: int, payload: RateIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_rate(actor=user, case=case, rating=payload.rating, note=payload.note)
    return _case_out(user, case)


@router.post("/{case_id}/reopen", response=_ACTION_RESPONSES, summary="重新办理", description=_ACTION_DESCRIPTION)
def case_reopen_op(request: HttpRequest, case_id: int, payload: ReasonIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_reopen(actor=user, case=case, reason=payload.reason)
    return _case_out(user, case)


@router.post("/{case_id}/suspend", response=_ACTION_RESPONSES, summary="挂起", description=_ACTION_DESCRIPTION)
def case_suspend_op(request: HttpRequest, case_id: int, payload: ReasonIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_suspend(actor=user, case=case, reason=payload.reason)
    return _case_out(user, case)


@router.post("/{case_id}/resume", response=_ACTION_RESPONSES, summary="恢复办理", description=_ACTION_DESCRIPTION)
def case_resume_op(request: HttpRequest, case_id: int, payload: NoteIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_resume(actor=user, case=case, note=payload.note)
    return _case_out(user, case)


@router.post("/{case_id}/void", response=_ACTION_RESPONSES, summary="作废", description=_ACTION_DESCRIPTION)
def case_void_op(request: HttpRequest, case_id: int, payload: ReasonIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    case = case_get_for_user(user, case_id)
    case_void(actor=user, case=case, reason=payload.reason)
    return _case_out(user, case)


# --- Indicators --------------------------------------------------------------------


@indicators_router.get(
    "",
    response={200: IndicatorsOut, 400: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="考核指标",
    description=(
        "区域（可再限定部门或工作人员）在起止日期内的结案率、按期结案率、返工率、响应时长、满意率等指标；"
        "比率为百分数（保留两位小数），无分母时为 null。时段最长366天。区域不在可见范围内答404。"
    ),
)
def indicators(request: HttpRequest, query: Query[IndicatorQuery]) -> Any:
    return case_indicators(
        request.auth,  # type: ignore[attr-defined]
        area_code=query.area,
        department_id=_department(query.department).pk if query.department else None,
        worker_id=query.worker,
        date_from=query.date_from,
        date_to=query.date_to,
    )
