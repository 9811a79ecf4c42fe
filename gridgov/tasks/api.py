"""Task and emergency endpoints of /api/v1: create/list tasks, my assignments and their targets,
report a target's result, declare/end an emergency, the active emergencies.

Thin: reads through `gridgov.tasks.selectors` (out of scope and unknown alike answer 404),
writes through `gridgov.tasks.services`. Photos are added on the phone page.
"""

# No `from __future__ import annotations`: django-ninja reads the parameter types at import time.
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Header, Router, Schema, Status

from gridgov.areas.models import Area
from gridgov.cases.models import Category
from gridgov.cases.schemas import WRITE_ERRORS, ErrorOut
from gridgov.tasks.choices import TaskKind
from gridgov.tasks.models import Assignment, EmergencyEvent, Target, Task
from gridgov.tasks.selectors import (
    active_emergencies_for,
    assignment_get_for_user,
    assignments_for_worker,
    declarer_scope,
    emergency_get_for_user,
    issuer_scope,
    target_get_for_user,
    task_progress_total,
    tasks_visible_to,
    vulnerability_labels_for,
    worklist_for_user,
)
from gridgov.tasks.services import (
    CaseRequest,
    EmergencyInput,
    TargetResult,
    TaskInput,
    checklist_create,
    emergency_declare,
    emergency_end,
    target_record,
    task_create,
)

router = Router(tags=["tasks"])


class ChecklistFieldIn(Schema):
    key: str = Field(..., max_length=40, description="字段标识：小写字母开头，字母数字下划线")
    label: str = Field(..., max_length=100)
    kind: str = Field(..., description="yes_no / choice / number / text / photo")
    required: bool = False
    options: list[str] = Field(default_factory=list, description="单选的选项")


class TaskIn(Schema):
    title: str = Field(..., max_length=100)
    instructions: str = Field("", max_length=5000)
    issuing_area: str = Field(..., description="下发单位的区域编码")
    target_areas: list[str] = Field(default_factory=list, description="目标区域编码（其下全部网格）；空为下发单位全部")
    target_level: str = Field(..., description="grid / building / household / place")
    due_at: datetime
    checklist: list[ChecklistFieldIn] = Field(default_factory=list, description="检查表字段（可空）")


class TaskOut(Schema):
    id: int
    title: str
    kind: str
    status: str
    issuing_area: str = Field(..., alias="issuing_area.code")
    target_level: str
    due_at: datetime
    issued_at: datetime | None
    assignment_count: int
    target_count: int


class ProgressOut(Schema):
    grids: int
    total: int
    recorded: int
    done: int
    overdue_grids: int
    rate: float | None


class TaskDetailOut(TaskOut):
    progress: ProgressOut
    checklist: list[dict[str, Any]]

    @staticmethod
    def resolve_progress(obj: Task, context: Any) -> dict[str, Any]:
        progress = task_progress_total(context["request"].auth, obj)
        return {
            "grids": progress.grids,
            "total": progress.total,
            "recorded": progress.recorded,
            "done": progress.done,
            "overdue_grids": progress.overdue_grids,
            "rate": progress.rate,
        }

    @staticmethod
    def resolve_checklist(obj: Task) -> list[dict[str, Any]]:
        return list(obj.checklist.fields) if obj.checklist else []


class AssignmentOut(Schema):
    id: int
    task_id: int
    task_title: str = Field(..., alias="task.title")
    task_kind: str = Field(..., alias="task.kind")
    due_at: datetime = Field(..., alias="task.due_at")
    grid_code: str = Field(..., alias="grid.code")
    grid_name: str = Field(..., alias="grid.name")
    total_targets: int
    recorded_targets: int
    done_targets: int


class TargetOut(Schema):
    id: int
    label: str
    vulnerability: int
    vulnerability_label: str
    status: str
    answers: dict[str, Any]
    note: str
    recorded_at: datetime | None
    case_number: str | None

    @staticmethod
    def resolve_label(obj: Target) -> str:
        place = obj.household or obj.building or obj.compound
        return str(place) if place else _("本网格")

    @staticmethod
    def resolve_vulnerability_label(obj: Target) -> str:
        # Set by `worklist_for_user` / the result endpoint: the label as the caller may see it.
        return str(getattr(obj, "vulnerability_label", ""))

    @staticmethod
    def resolve_case_number(obj: Target) -> str | None:
        return obj.case.number if obj.case else None


class CaseRequestIn(Schema):
    category: str = Field(..., description="事项类别编码，如0608")
    title: str = Field(..., max_length=100)
    description: str = Field(..., max_length=5000)
    urgency: str = "normal"


class TargetResultIn(Schema):
    status: str = Field(..., description="done / not_home / refused")
    answers: dict[str, Any] = Field(default_factory=dict)
    note: str = Field("", max_length=500)
    open_case: CaseRequestIn | None = Field(None, description="同时上报一件事项（重试不会重复上报）")


class EmergencyIn(Schema):
    kind: str = Field(..., description="typhoon / flood / fire / gas_leak / epidemic / other")
    title: str = Field(..., max_length=100)
    area: str = Field(..., description="影响区域编码")
    started_at: datetime | None = None
    description: str = Field("", max_length=5000)
    sla_factor: Decimal = Field(Decimal("0.5"), description="应急时限系数（0.05–1）：新事项按自然小时计时乘以该系数")
    sla_max_hours: Decimal = Field(Decimal(24), description="单项时限上限（小时）")
    check_hours: int = Field(24, description="入户排查时限（小时）")


class EmergencyOut(Schema):
    id: int
    kind: str
    title: str
    area: str = Field(..., alias="area.code")
    area_name: str = Field(..., alias="area.name")
    started_at: datetime
    ended_at: datetime | None
    sla_factor: Decimal
    sla_max_hours: Decimal
    check_task_id: int | None
    report: dict[str, Any]


def _area(code: str) -> Area:
    area = Area.objects.filter(code=code.strip()).first()
    if area is None:
        raise ValidationError(_("区域编码不存在：%(code)s") % {"code": code})
    return area


@router.get(
    "",
    response=list[TaskOut],
    summary="任务列表",
    description="本人辖区内下发的、或下发到本人辖区网格的任务（最近200个）。",
)
def task_list(request: HttpRequest) -> Any:
    return list(tasks_visible_to(request.auth).order_by("-created_at")[:200])  # type: ignore[attr-defined]


@router.post(
    "",
    response={200: TaskDetailOut, 201: TaskDetailOut, **WRITE_ERRORS},
    summary="创建并下发任务",
    description=(
        "县、镇街、社区工作人员在本辖区内下发任务：按目标区域内每个网格生成一条网格任务，住户级任务按在册住户逐户生成。"
        "带 Idempotency-Key 重试答200并返回同一任务，不会重复下发。"
    ),
)
def task_create_api(
    request: HttpRequest,
    payload: TaskIn,
    idempotency_key: str = Header("", alias="Idempotency-Key", description="请求编号：重试时带同一编号不会重复下发"),
) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    if issuer_scope(user).is_empty:
        raise Http404
    issuing = _area(payload.issuing_area)
    targets = [_area(code) for code in payload.target_areas] or [issuing]
    existing = (
        Task.objects.filter(issuer=user, client_key=idempotency_key.strip()[:100]).first()
        if idempotency_key.strip()
        else None
    )
    if existing is not None:
        return Status(200, existing)
    checklist = None
    if payload.checklist:
        checklist = checklist_create(
            actor=user, name=payload.title, owner_area=issuing, fields=[field.dict() for field in payload.checklist]
        )
    task, created = task_create(
        actor=user,
        data=TaskInput(
            title=payload.title,
            instructions=payload.instructions,
            issuing_area=issuing,
            target_areas=targets,
            target_level=payload.target_level,
            due_at=payload.due_at,
            checklist=checklist,
            kind=TaskKind.NORMAL,
        ),
        client_key=idempotency_key,
    )
    return Status(201 if created else 200, task)


@router.get("/assignments/mine", response=list[AssignmentOut], summary="我的网格任务")
def my_assignments(request: HttpRequest) -> Any:
    return list(assignments_for_worker(request.auth)[:200])  # type: ignore[attr-defined]


@router.get(
    "/assignments/{assignment_id}/targets",
    response={200: list[TargetOut], 404: ErrorOut},
    summary="网格任务的排查名单",
    description="重点户（独居老人、残疾人、困难人员、重点人群）在前。",
)
def assignment_targets(request: HttpRequest, assignment_id: int) -> Any:
    assignment: Assignment = assignment_get_for_user(request.auth, assignment_id)  # type: ignore[attr-defined]
    return worklist_for_user(request.auth, assignment)  # type: ignore[attr-defined]


@router.post(
    "/targets/{target_id}/result",
    response={200: TargetOut, **WRITE_ERRORS},
    summary="登记排查结果",
    description="完成 / 不在家 / 拒绝，填报内容按任务下发时的检查表版本校验；可同时上报一件事项，重试不会重复上报。",
)
def target_result(request: HttpRequest, target_id: int, payload: TargetResultIn) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    target = target_get_for_user(user, target_id)
    open_case = None
    if payload.open_case is not None:
        category = Category.objects.filter(code=payload.open_case.category, is_active=True).first()
        if category is None:
            raise ValidationError(_("事项类别不存在：%(code)s") % {"code": payload.open_case.category})
        open_case = CaseRequest(
            category=category,
            title=payload.open_case.title,
            description=payload.open_case.description,
            urgency=payload.open_case.urgency,
        )
    saved = target_record(
        actor=user,
        target=target,
        result=TargetResult(status=payload.status, answers=payload.answers, note=payload.note, open_case=open_case),
    )
    target = target_get_for_user(user, saved.pk)
    labels = vulnerability_labels_for(user, target.assignment.grid_path)
    target.vulnerability_label = labels[target.vulnerability]  # type: ignore[attr-defined]
    return target


@router.get("/{int:task_id}", response={200: TaskDetailOut, 404: ErrorOut}, summary="任务详情与进度")
def task_detail(request: HttpRequest, task_id: int) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    task = tasks_visible_to(user).filter(pk=task_id).first()
    if task is None:
        raise Http404
    return task


@router.get("/emergencies/active", response=list[EmergencyOut], summary="进行中的应急事件（本人区域）")
def emergencies_active(request: HttpRequest) -> Any:
    return active_emergencies_for(request.auth)  # type: ignore[attr-defined]


@router.post(
    "/emergencies",
    response={200: EmergencyOut, 201: EmergencyOut, **WRITE_ERRORS},
    summary="启动应急状态",
    description=(
        "县级指挥中心或镇街在本辖区启动：区域内网格员置顶提醒，按脆弱程度生成逐户排查名单；"
        "期间区域内新登记事项按应急时限（自然小时×系数）计时。带 Idempotency-Key 重试不会重复启动。"
    ),
)
def emergency_declare_api(
    request: HttpRequest,
    payload: EmergencyIn,
    idempotency_key: str = Header("", alias="Idempotency-Key"),
) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    if declarer_scope(user).is_empty:
        raise Http404
    event, created = emergency_declare(
        actor=user,
        data=EmergencyInput(
            kind=payload.kind,
            title=payload.title,
            area=_area(payload.area),
            started_at=payload.started_at,
            description=payload.description,
            sla_factor=payload.sla_factor,
            sla_max_hours=payload.sla_max_hours,
            check_hours=payload.check_hours,
        ),
        client_key=idempotency_key,
    )
    return Status(201 if created else 200, event)


@router.post(
    "/emergencies/{event_id}/end",
    response={200: EmergencyOut, **WRITE_ERRORS},
    summary="结束应急状态",
    description="恢复常态时限，结束入户排查并生成总结报告（覆盖率、排查人数、期间事项、时长）。重复结束无副作用。",
)
def emergency_end_api(request: HttpRequest, event_id: int) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    event: EmergencyEvent = emergency_get_for_user(user, event_id)
    return emergency_end(actor=user, event=event)
