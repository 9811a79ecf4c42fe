"""Excel pages of the registry: template download, upload, import preview/progress, export.

Mounted at /registry/excel/ (see urls_excel.py). Thin: parse, call the import
services or the scoped selectors, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gridgov.areas.models import Area, Building
from gridgov.core.http import HtmxHttpRequest
from gridgov.registry import importing
from gridgov.registry.access_log import access_log_append
from gridgov.registry.choices import AccessAction, ImportMode, ImportStatus, TagTarget
from gridgov.registry.excel import ExportWriter, relation_label, residence_label, template_workbook
from gridgov.registry.models import Resident, Tag
from gridgov.registry.selectors import (
    HouseholdFilters,
    hidden_tag_ids_for,
    household_list_for_user,
    people_area_get_for_user,
    people_scope,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_MAX_HOUSEHOLDS = 50_000


def _import_area(user: Any, code: str | None) -> Area:
    """An area the user may import into or download the template for; 404 for anything else."""
    if not code:
        raise Http404(_("区域不存在或无权查看。"))
    return people_area_get_for_user(user, code)


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response.headers["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    return response


# ----------------------------------------------------------------- template


@login_required
@require_GET
def template_download(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("area")
    area = _import_area(request.user, code) if code else None
    if area is None and people_scope(request.user).is_empty:
        raise Http404(_("区域不存在或无权查看。"))
    buildings: list[tuple[str, str, str]] = []
    if area is not None:
        buildings = [
            (building.grid.name, building.compound.name if building.compound else "", building.name)
            for building in Building.objects.filter(grid__path__startswith=area.path)
            .select_related("grid", "compound")
            .order_by("grid__code", "compound__name", "name")
        ]
    path = area.path if area is not None else people_scope(request.user).paths[0]
    hidden = hidden_tag_ids_for(request.user, path)
    tags = [tag for tag in Tag.objects.select_related("group") if tag.pk not in hidden]
    content = template_workbook(
        area_name=area.name if area is not None else "",
        buildings=buildings,
        household_tags=[tag.name for tag in tags if tag.target == TagTarget.HOUSEHOLD],
        person_tags=[tag.name for tag in tags if tag.target == TagTarget.PERSON],
        required_headers=["姓名", "身份证号", "与户主关系", "地址"],
        max_rows=importing.max_rows(),
    )
    name = _("实有人口导入模板") + (f"_{area.name}" if area is not None else "") + ".xlsx"
    return _attachment(HttpResponse(content, content_type=XLSX), name)


# ------------------------------------------------------------------- import


@login_required
def import_home(request: HttpRequest) -> HttpResponse:
    """The upload form (GET) and the upload itself (POST), with the user's recent imports."""
    areas = list(importing.import_areas_for_user(request.user).only("code", "name", "level", "path"))
    context: dict[str, Any] = {
        "areas": areas,
        "selected": request.GET.get("area", ""),
        "modes": ImportMode.choices,
        "mode": ImportMode.ALL_OR_NOTHING,
        "max_mb": importing.MAX_UPLOAD_BYTES // 1024 // 1024,
        "max_rows": importing.max_rows(),
    }
    if request.method == "POST":
        area = _import_area(request.user, request.POST.get("area"))
        context["selected"] = area.code
        mode = request.POST.get("mode", ImportMode.ALL_OR_NOTHING)
        context["mode"] = mode
        upload = request.FILES.get("file")
        error = None
        if upload is None:
            error = _("请选择要上传的文件。")
        elif upload.size is not None and upload.size > importing.MAX_UPLOAD_BYTES:
            error = _("文件大小超过了%(limit)d MB的上限。请按网格拆分后分批上传。") % {"limit": context["max_mb"]}
        else:
            try:
                registry_import = importing.registry_import_upload(
                    actor=request.user, area=area, filename=upload.name or "", content=upload.read(), mode=mode
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                return redirect("registry_excel:import_detail", import_id=registry_import.pk)
        context["error"] = error
        context["imports"] = importing.registry_import_list_for_user(request.user)
        return render(request, "registry/excel_import.html", context, status=400)
    context["imports"] = importing.registry_import_list_for_user(request.user)
    return render(request, "registry/excel_import.html", context)


@login_required
def import_detail(request: HtmxHttpRequest, import_id: int) -> HttpResponse:
    """The preview with errors, the progress while the worker runs (polled by HTMX), the result."""
    registry_import = importing.registry_import_get_for_user(request.user, import_id)
    context = {
        "imp": registry_import,
        "active": registry_import.status in importing.ACTIVE_STATUSES,
        "validated": registry_import.status == ImportStatus.VALIDATED,
        "valid_rows": max(registry_import.total_rows - registry_import.error_rows, 0),
        "errors_capped": registry_import.error_rows and len(registry_import.errors) >= importing.MAX_STORED_ERRORS,
        "percent": (
            min(100, registry_import.processed_rows * 100 // registry_import.total_rows)
            if registry_import.total_rows
            else None
        ),
        "one_transaction": registry_import.status == ImportStatus.COMMITTING
        and registry_import.mode == ImportMode.ALL_OR_NOTHING,
        "statuses": ImportStatus,
        "modes": ImportMode,
        "max_errors": importing.MAX_STORED_ERRORS,
    }
    if request.htmx:
        return render(request, "registry/excel_import_detail.html#status", context)
    return render(request, "registry/excel_import_detail.html", context)


@login_required
@require_POST
def import_commit(request: HttpRequest, import_id: int) -> HttpResponse:
    registry_import = importing.registry_import_get_for_user(request.user, import_id)
    try:
        importing.registry_import_commit_request(
            actor=request.user, registry_import=registry_import, mode=request.POST.get("mode", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("registry_excel:import_detail", import_id=registry_import.pk)


@login_required
@require_POST
def import_cancel(request: HttpRequest, import_id: int) -> HttpResponse:
    registry_import = importing.registry_import_get_for_user(request.user, import_id)
    if not importing.registry_import_cancel(actor=request.user, registry_import=registry_import):
        messages.error(request, _("该导入已开始写入或已结束，不能取消。"))
    return redirect("registry_excel:import_detail", import_id=registry_import.pk)


# ------------------------------------------------------------------- export


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _export_headers() -> list[str]:
    return [
        _("网格"),
        _("小区"),
        _("楼栋"),
        _("单元"),
        _("房号"),
        _("地址"),
        _("户标签"),
        _("姓名"),
        _("身份证号（脱敏）"),
        _("与户主关系"),
        _("手机号（脱敏）"),
        _("人户状态"),
        _("党员"),
        _("工作单位"),
        _("人员标签"),
    ]


@login_required
@require_GET
def export(request: HttpRequest) -> HttpResponseBase:
    """The filtered household list as .xlsx: scoped like the list page, masked, visible tags only, logged."""
    if people_scope(request.user).is_empty:
        raise Http404(_("记录不存在或无权查看。"))
    filters = HouseholdFilters(
        area_code=request.GET.get("area") or None,
        building_id=_int_or_none(request.GET.get("building")),
        microgrid_code=request.GET.get("microgrid") or None,
        tag_code=request.GET.get("tag") or None,
        query=request.GET.get("q", "")[:50],
    )
    if filters.area_code:
        # An area outside the scope answers like a missing one, not with an empty file.
        people_area_get_for_user(request.user, filters.area_code)
    households = (
        household_list_for_user(request.user, filters)
        .prefetch_related(None)
        .prefetch_related(
            Prefetch(
                "members",
                queryset=Resident.objects.filter(moved_out_on__isnull=True, died_on__isnull=True)
                .prefetch_related("tags")
                .order_by("id"),
            ),
            "tags",
        )
        .order_by("grid__code", "address", "id")
    )
    count = households.count()
    if count > EXPORT_MAX_HOUSEHOLDS:
        return HttpResponse(
            _("筛选结果有%(n)s户，超过单次导出%(limit)s户的上限。请按社区或网格筛选后分批导出。")
            % {"n": f"{count:,}", "limit": f"{EXPORT_MAX_HOUSEHOLDS:,}"},
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    writer = ExportWriter(
        sheet_title=_("实有人口台账"),
        headers=_export_headers(),
        widths=(24, 16, 10, 8, 8, 32, 18, 10, 22, 12, 14, 20, 6, 20, 20),
    )
    hidden_by_path: dict[str, set[int]] = {}
    yes, no = _("是"), _("否")
    for household in households.iterator(chunk_size=500):
        path = household.grid.path
        if path not in hidden_by_path:
            hidden_by_path[path] = hidden_tag_ids_for(request.user, path)
        hidden = hidden_by_path[path]
        place = [
            household.grid.name,
            household.compound.name if household.compound else "",
            household.building.name if household.building else "",
            household.unit,
            household.room,
            household.address,
            "、".join(tag.name for tag in household.tags.all() if tag.pk not in hidden),
        ]
        members = sorted(household.members.all(), key=_member_order)
        if not members:
            writer.append(place)
        for resident in members:
            writer.append(
                [
                    *place,
                    resident.name,
                    resident.id_masked,
                    relation_label(resident.relation),
                    resident.phone_masked,
                    residence_label(resident.residence),
                    yes if resident.is_party_member else no,
                    resident.employment,
                    "、".join(tag.name for tag in resident.tags.all() if tag.pk not in hidden),
                ]
            )
    spool = writer.finish()
    access_log_append(
        actor=request.user,
        action=AccessAction.EXPORT,
        object_type="household_list",
        object_id=filters.area_code or "*",
        detail={
            "filters": {
                key: value
                for key, value in {
                    "area": filters.area_code,
                    "building": filters.building_id,
                    "microgrid": filters.microgrid_code,
                    "tag": filters.tag_code,
                    "q": filters.query,
                }.items()
                if value
            },
            "rows": writer.rows,
            "households": count,
        },
    )
    stamp = timezone.localtime().strftime("%Y%m%d%H%M")
    filename = _("实有人口台账") + f"_{filters.area_code or _('全部')}_{stamp}.xlsx"
    return FileResponse(spool, as_attachment=True, filename=filename, content_type=XLSX)


def _member_order(resident: Resident) -> tuple[bool, int]:
    return (resident.relation != "head", resident.pk)
