"""Excel export of a task's results (openpyxl), limited to the grids whose people the user may
see, and written to the personal-information access log."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.registry.access_log import access_log_append
from gridgov.registry.choices import AccessAction
from gridgov.tasks.models import Target, Task
from gridgov.tasks.selectors import vulnerability_labels_for

MAX_ROWS = 1_000_000


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # no formulas from user input
    return value


def task_results_workbook(user: Any, task: Task) -> bytes:
    scope = scope_for(user, Capability.VIEW_PEOPLE)
    if scope.is_empty:
        raise Http404(_("对象不存在或无权查看。"))
    fields = task.checklist.fields if task.checklist else []
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("排查结果"))
    header = [_("网格"), _("对象"), _("关注等级"), _("结果"), _("登记时间"), _("备注"), _("事项编号")]
    sheet.append(header + [field["label"] for field in fields])
    targets = (
        scope.filter(Target.objects.filter(assignment__task=task), "assignment__grid_path")
        .select_related("assignment__grid", "household", "building", "compound", "case")
        .order_by("assignment__grid_path", "vulnerability", "id")
    )
    count = 0
    labels: dict[str, dict[int, str]] = {}
    for target in targets.iterator(chunk_size=2000):
        path = target.assignment.grid_path
        if path not in labels:
            labels[path] = vulnerability_labels_for(user, path)
        place = target.household or target.building or target.compound
        recorded = timezone.localtime(target.recorded_at).strftime("%Y-%m-%d %H:%M") if target.recorded_at else ""
        row = [
            target.assignment.grid.name,
            str(place) if place else target.assignment.grid.name,
            labels[path][target.vulnerability],
            target.get_status_display(),
            recorded,
            target.note,
            target.case.number if target.case else "",
        ] + [target.answers.get(field["key"], "") for field in fields]
        sheet.append([_cell(value) for value in row])
        count += 1
        if count >= MAX_ROWS:
            break
    with transaction.atomic():
        access_log_append(
            actor=user,
            action=AccessAction.EXPORT,
            object_type="task",
            object_id=task.pk,
            purpose=_("导出任务排查结果"),
            detail={"rows": count},
        )
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
