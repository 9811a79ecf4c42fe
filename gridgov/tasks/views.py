"""Pages of tasks and emergencies: staff lists and forms, task progress, the worker's phone pages.

Thin: reads through `gridgov.tasks.selectors` (404 out of scope and when unknown), writes
through `gridgov.tasks.services`. Recording a target answers an HTMX partial (the row).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.areas.models import Area
from gridgov.cases.errors import CaseConflict
from gridgov.cases.models import Category
from gridgov.core.http import HtmxHttpRequest
from gridgov.tasks.checklist import fields_validate
from gridgov.tasks.choices import (
    EmergencyKind,
    FieldKind,
    ResourceKind,
    TargetLevel,
    TargetStatus,
    TaskStatus,
)
from gridgov.tasks.excel import task_results_workbook
from gridgov.tasks.models import ChecklistVersion
from gridgov.tasks.selectors import (
    active_emergencies_for,
    assignment_get_for_user,
    assignments_for_worker,
    declarer_scope,
    duty_roster,
    emergencies_visible_to,
    emergency_get_for_user,
    issuer_scope,
    issuing_areas_for,
    league_table,
    progress_root_for,
    resources_geojson,
    resources_visible_to,
    target_get_for_user,
    task_get_for_user,
    task_progress_by_child,
    task_progress_total,
    task_scope,
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
    duty_shift_add,
    emergency_declare,
    emergency_end,
    resource_add,
    target_record,
    task_close,
    task_create,
)

_KIND_WORDS = {
    "是否": FieldKind.YES_NO,
    "单选": FieldKind.CHOICE,
    "数字": FieldKind.NUMBER,
    "文本": FieldKind.TEXT,
    "照片": FieldKind.PHOTO,
}


def checklist_from_text(text: str) -> list[dict[str, Any]]:
    """The create form's small form builder: one field per line, `类型|名称|选项1、选项2`, a
    trailing `*` on the name marks it required (`是否|是否使用瓶装液化气*`)."""
    fields: list[dict[str, Any]] = []
    for number, raw in enumerate((line.strip() for line in text.splitlines() if line.strip()), start=1):
        parts = [part.strip() for part in raw.split("|")]
        kind = _KIND_WORDS.get(parts[0])
        if kind is None or len(parts) < 2:
            raise ValidationError(
                _("检查表第%(n)d行格式应为“类型|名称”，类型为是否、单选、数字、文本或照片。") % {"n": number}
            )
        label = parts[1]
        required = label.endswith("*")
        options = [item.strip() for item in parts[2].replace(",", "、").split("、")] if len(parts) > 2 else []
        fields.append(
            {"key": f"f{number}", "label": label.rstrip("*"), "kind": kind, "required": required, "options": options}
        )
    return fields_validate(fields)


def _staff_or_404(user: Any) -> None:
    if task_scope(user).is_empty:
        raise Http404(_("页面不存在。"))


TASKS_PER_PAGE = 30


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    _staff_or_404(request.user)
    page = Paginator(tasks_visible_to(request.user).order_by("-created_at", "-id"), TASKS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "tasks/list.html",
        {
            "page": page,
            "can_issue": not issuer_scope(request.user).is_empty,
            "can_declare": not declarer_scope(request.user).is_empty,
            "active_emergencies": active_emergencies_for(request.user),
        },
    )


def _create_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    areas = list(issuing_areas_for(request.user))
    return {
        "areas": areas,
        "levels": TargetLevel.choices,
        "client_key": uuid.uuid4().hex,
        "values": request.POST if request.method == "POST" else {},
        **extra,
    }


def _area_in(request: HttpRequest, code: str) -> Area:
    area = Area.objects.filter(code=code).first()
    if area is None or not issuer_scope(request.user).covers(area.path):
        raise ValidationError(_("请选择本辖区内的区域。"))
    return area


def _parse_local(value: str) -> datetime:
    parsed = parse_datetime(value or "")
    if parsed is None:
        raise ValidationError(_("请填写正确的时间。"))
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@login_required
def task_new(request: HttpRequest) -> HttpResponse:
    if issuer_scope(request.user).is_empty:
        raise Http404(_("页面不存在。"))
    if request.method != "POST":
        return render(request, "tasks/new.html", _create_context(request))
    post = request.POST
    try:
        issuing = _area_in(request, post.get("issuing_area", ""))
        targets = [_area_in(request, code) for code in post.getlist("target_areas")] or [issuing]
        checklist: ChecklistVersion | None = None
        if post.get("checklist", "").strip():
            checklist = checklist_create(
                actor=request.user,
                name=post.get("title", "")[:100] or _("检查表"),
                owner_area=issuing,
                fields=checklist_from_text(post["checklist"]),
            )
        task, _created = task_create(
            actor=request.user,
            data=TaskInput(
                title=post.get("title", ""),
                instructions=post.get("instructions", ""),
                issuing_area=issuing,
                target_areas=targets,
                target_level=post.get("target_level", ""),
                due_at=_parse_local(post.get("due_at", "")),
                checklist=checklist,
            ),
            client_key=post.get("client_key", ""),
        )
    except ValidationError as error:
        return render(request, "tasks/new.html", _create_context(request, error="".join(error.messages)), status=400)
    messages.success(request, _("任务已下发到%(n)d个网格。") % {"n": task.assignment_count})
    return redirect("tasks:detail", task.pk)


@login_required
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(request.user, task_id)
    root = progress_root_for(request.user, task)
    area = root
    if request.GET.get("area"):
        area = Area.objects.filter(code=request.GET["area"]).first() or root
    rows = task_progress_by_child(request.user, task, area)
    breadcrumbs = [
        a for a in Area.objects.filter(path__in=_prefixes(area.path)).order_by("path") if a.path.startswith(root.path)
    ]
    return render(
        request,
        "tasks/detail.html",
        {
            "task": task,
            "area": area,
            "rows": rows,
            "league": league_table(rows),
            "total": task_progress_total(request.user, task),
            "breadcrumbs": breadcrumbs,
            "can_close": task.status == TaskStatus.ISSUED and issuer_scope(request.user).covers(task.issuing_area.path),
            "fields": task.checklist.fields if task.checklist else [],
        },
    )


def _prefixes(path: str) -> list[str]:
    parts = [part for part in path.split("/") if part]
    return ["".join(f"{part}/" for part in parts[: i + 1]) for i in range(len(parts))]


@login_required
@require_POST
def task_close_view(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(request.user, task_id)
    try:
        task_close(actor=request.user, task=task)
    except PermissionDenied as error:
        messages.error(request, str(error))
    return redirect("tasks:detail", task.pk)


@login_required
def task_export(request: HttpRequest, task_id: int) -> HttpResponse:
    task = task_get_for_user(request.user, task_id)
    content = task_results_workbook(request.user, task)
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="task-{task.pk}.xlsx"'
    return response


@login_required
def my_assignments(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "tasks/my.html",
        {
            "assignments": assignments_for_worker(request.user),
            "active_emergencies": active_emergencies_for(request.user),
        },
    )


def _worklist_context(request: HttpRequest, assignment_id: int) -> dict[str, Any]:
    assignment = assignment_get_for_user(request.user, assignment_id)
    return {
        "assignment": assignment,
        "task": assignment.task,
        "targets": worklist_for_user(request.user, assignment),
        "fields": assignment.task.checklist.fields if assignment.task.checklist else [],
        "statuses": [(value, label) for value, label in TargetStatus.choices if value != TargetStatus.PENDING],
        "categories": Category.objects.filter(is_active=True).exclude(code__regex=r"^\d{2}$").order_by("code"),
        "can_record": assignment.task.status == TaskStatus.ISSUED,
    }


@login_required
def assignment_detail(request: HttpRequest, assignment_id: int) -> HttpResponse:
    return render(request, "tasks/assignment.html", _worklist_context(request, assignment_id))


@login_required
@require_POST
def target_record_view(request: HtmxHttpRequest, target_id: int) -> HttpResponse:
    target = target_get_for_user(request.user, target_id)
    task = target.assignment.task
    fields = task.checklist.fields if task.checklist else []
    post = request.POST
    answers = {
        field["key"]: post.get(f"answer_{field['key']}", "") for field in fields if field["kind"] != FieldKind.PHOTO
    }
    photos = {
        field["key"]: request.FILES.getlist(f"answer_{field['key']}")
        for field in fields
        if field["kind"] == FieldKind.PHOTO and request.FILES.getlist(f"answer_{field['key']}")
    }
    open_case = None
    if post.get("case_category"):
        category = Category.objects.filter(pk=post["case_category"], is_active=True).first()
        if category is not None:
            open_case = CaseRequest(
                category=category,
                title=post.get("case_title", "") or task.title,
                description=post.get("case_description", "") or post.get("note", "") or task.title,
            )
    error = ""
    try:
        target = target_record(
            actor=request.user,
            target=target,
            result=TargetResult(
                status=post.get("status", ""),
                answers=answers,
                note=post.get("note", ""),
                photos=photos,
                open_case=open_case,
            ),
        )
    except (ValidationError, CaseConflict) as exc:
        error = "".join(exc.messages) if isinstance(exc, ValidationError) else exc.message
    except PermissionDenied as exc:
        error = str(exc)
    if request.htmx:
        target = target_get_for_user(request.user, target.pk)
        labels = vulnerability_labels_for(request.user, target.assignment.grid_path)
        target.vulnerability_label = labels[target.vulnerability]  # type: ignore[attr-defined]
        return render(
            request,
            "tasks/assignment.html#target_row",
            {
                "target": target,
                "fields": fields,
                "error": error,
                "can_record": True,
                "statuses": [(v, lbl) for v, lbl in TargetStatus.choices if v != TargetStatus.PENDING],
                "categories": Category.objects.filter(is_active=True).exclude(code__regex=r"^\d{2}$").order_by("code"),
            },
            status=400 if error else 200,
        )
    if error:
        messages.error(request, error)
    return redirect("tasks:assignment", target.assignment_id)


# --- Emergencies -----------------------------------------------------------------


@login_required
def emergency_list(request: HttpRequest) -> HttpResponse:
    _staff_or_404(request.user)
    can_declare = not declarer_scope(request.user).is_empty
    error = ""
    if request.method == "POST" and can_declare:
        post = request.POST
        try:
            area = Area.objects.filter(code=post.get("area", "")).first()
            if area is None or not declarer_scope(request.user).covers(area.path):
                raise ValidationError(_("请选择本辖区内的区域。"))
            try:
                factor = Decimal(post.get("sla_factor") or "0.5")
            except InvalidOperation:
                raise ValidationError(_("时限系数须为数字。")) from None
            event, _created = emergency_declare(
                actor=request.user,
                data=EmergencyInput(
                    kind=post.get("kind", ""),
                    title=post.get("title", ""),
                    area=area,
                    description=post.get("description", ""),
                    sla_factor=factor,
                ),
                client_key=post.get("client_key", ""),
            )
            messages.success(request, _("应急状态已启动，入户排查已下发。"))
            return redirect("tasks:emergency", event.pk)
        except ValidationError as exc:
            error = "".join(exc.messages)
    return render(
        request,
        "tasks/emergencies.html",
        {
            "events": emergencies_visible_to(request.user).order_by("-started_at")[:50],
            "can_declare": can_declare,
            "kinds": EmergencyKind.choices,
            "areas": declarer_scope(request.user).filter(Area.objects.exclude(level__in=["grid", "microgrid"])),
            "client_key": uuid.uuid4().hex,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
def emergency_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = emergency_get_for_user(request.user, event_id)
    progress = None
    rows: list[Any] = []
    if event.check_task_id:
        task = tasks_visible_to(request.user).filter(pk=event.check_task_id).first()
        if task is not None:
            progress = task_progress_total(request.user, task)
            root = progress_root_for(request.user, task)
            rows = task_progress_by_child(request.user, task, root)
    return render(
        request,
        "tasks/emergency.html",
        {
            "event": event,
            "progress": progress,
            "rows": rows,
            "shifts": duty_roster(request.user, event=event)[:200],
            "on_duty": duty_roster(request.user, event=event, at=timezone.now())[:50],
            "can_end": event.is_active and declarer_scope(request.user).covers(event.area_path),
            "can_roster": event.is_active and issuer_scope(request.user).covers(event.area_path),
            "roster_areas": Area.objects.filter(
                path__startswith=event.area_path, level__in=["town", "community", "grid"]
            ).order_by("path")[:500],
            "roster_people": roster_people(event),
        },
    )


def roster_people(event: Any) -> list[Any]:
    """Staff with a role in the event's area, for the roster form."""
    from gridgov.accounts.models import RoleAssignment

    rows = (
        RoleAssignment.objects.filter(area__path__startswith=event.area_path)
        .exclude(role="resident")
        .select_related("user", "area")
        .order_by("area__path", "user__username")[:300]
    )
    return [row for row in rows]


@login_required
@require_POST
def duty_shift_add_view(request: HttpRequest, event_id: int) -> HttpResponse:
    event = emergency_get_for_user(request.user, event_id)
    post = request.POST
    from gridgov.accounts.models import User

    try:
        area = Area.objects.filter(code=post.get("area", ""), path__startswith=event.area_path).first()
        person = User.objects.filter(
            pk=post.get("user") or 0, role_assignments__area__path__startswith=event.area_path
        ).first()
        if area is None or person is None:
            raise ValidationError(_("请选择事件区域内的区域和人员。"))
        duty_shift_add(
            actor=request.user,
            area=area,
            user=person,
            starts_at=_parse_local(post.get("starts_at", "")),
            ends_at=_parse_local(post.get("ends_at", "")),
            is_lead=bool(post.get("is_lead")),
            event=event,
        )
        messages.success(request, _("已安排值班。"))
    except ValidationError as exc:
        messages.error(request, "".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    return redirect("tasks:emergency", event.pk)


@login_required
@require_POST
def emergency_end_view(request: HttpRequest, event_id: int) -> HttpResponse:
    event = emergency_get_for_user(request.user, event_id)
    try:
        emergency_end(actor=request.user, event=event)
        messages.success(request, _("应急状态已结束，已恢复常态时限。"))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    return redirect("tasks:emergency", event.pk)


@login_required
def resource_map(request: HttpRequest) -> HttpResponse:
    _staff_or_404(request.user)
    can_add = not issuer_scope(request.user).is_empty
    if request.method == "POST" and can_add:
        post = request.POST
        try:
            area = Area.objects.filter(code=post.get("area", "")).first()
            if area is None:
                raise ValidationError(_("请选择本辖区内的区域。"))
            try:
                lon, lat = float(post.get("lon", "")), float(post.get("lat", ""))
                quantity = int(post.get("quantity") or 0)
            except ValueError:
                raise ValidationError(_("经纬度和数量须为数字。")) from None
            resource_add(
                actor=request.user,
                kind=post.get("kind", ""),
                name=post.get("name", ""),
                area=area,
                lon=lon,
                lat=lat,
                quantity=quantity,
                unit=post.get("unit", ""),
                contact_name=post.get("contact_name", ""),
                address=post.get("address", ""),
            )
            messages.success(request, _("已登记应急资源。"))
            return redirect("tasks:resources")
        except ValidationError as exc:
            messages.error(request, "".join(exc.messages))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
    return render(
        request,
        "tasks/resources.html",
        {
            "resources": resources_visible_to(request.user)[:500],
            "kinds": ResourceKind.choices,
            "can_add": can_add,
            "areas": issuing_areas_for(request.user)[:500],
        },
    )


@login_required
def resource_geojson(request: HttpRequest) -> JsonResponse:
    _staff_or_404(request.user)
    return JsonResponse(resources_geojson(request.user))
