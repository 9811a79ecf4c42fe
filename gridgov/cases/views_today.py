"""The grid worker's phone home page: today's cases by time-limit light, new reports, the patrol.

Every case comes from `case_queue_for_user` (inside `cases_visible_to`); two list queries and
one count query, whatever the number of cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Case as SqlCase
from django.db.models import Count, F, IntegerField, Q, QuerySet, Value, When
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.accounts.choices import Role
from gridgov.cases.choices import CaseStatus, SlaLight
from gridgov.cases.models import Case
from gridgov.cases.rules import duties_of, intake_sources
from gridgov.cases.selectors import case_queue_for_user
from gridgov.cases.views import time_left_text
from gridgov.core.http import HtmxHttpRequest
from gridgov.tasks.selectors import active_emergencies_for, assignments_for_worker

# Rows per list on the phone (a screenful or two, and a light page on a slow connection); the
# full queue is one tap away (/cases/).
TODAY_ROWS_MAX = 20

# Waiting for someone at the case's tier to take it: a new report, a case dispatched to a department.
_NEW_STATUSES = (CaseStatus.SUBMITTED, CaseStatus.DISPATCHED)
_RED, _YELLOW, _GREEN = 0, 1, 2
_LIGHTS = {_RED: SlaLight.RED, _YELLOW: SlaLight.YELLOW, _GREEN: SlaLight.GREEN}
_GROUP_LABELS = {
    SlaLight.RED: gettext_lazy("已超时"),
    SlaLight.YELLOW: gettext_lazy("即将超时"),
    SlaLight.GREEN: gettext_lazy("时限内"),
}


def _with_light(cases: QuerySet[Case], now: datetime) -> QuerySet[Case]:
    """`light_rank`: 0 red, 1 yellow, 2 green — the sweep's verdict, or worse if the clock ran on since."""
    red = Q(sla_light=SlaLight.RED) | Q(due_at__lte=now)
    yellow = Q(sla_light=SlaLight.YELLOW) | Q(warn_at__lte=now)
    return cases.annotate(
        light_rank=SqlCase(
            When(red, then=Value(_RED)),
            When(yellow, then=Value(_YELLOW)),
            default=Value(_GREEN),
            output_field=IntegerField(),
        )
    )


@dataclass(frozen=True)
class TodayRow:
    case: Case
    light: str
    time_left: str
    action: str


def _next_step(case: Case, user: Any) -> str:
    """The label of the one big button: what this user will most likely do on the case page."""
    if case.status == CaseStatus.SUBMITTED:
        return _("受理")
    if case.status == CaseStatus.DISPATCHED:
        return _("签收")
    if case.status == CaseStatus.REPORTED:
        return _("核查")
    if case.extension_requested is not None and case.owner_id != user.pk:
        return _("审批延期")
    return _("办理")


def _rows(cases: QuerySet[Case], user: Any, now: datetime) -> list[TodayRow]:
    ordering = ("light_rank", F("due_at").asc(nulls_last=True), "id")
    ordered = cases.select_related("category", "grid").order_by(*ordering)[:TODAY_ROWS_MAX]
    return [
        TodayRow(
            case=case,
            light=_LIGHTS[case.light_rank],  # type: ignore[attr-defined]
            time_left=time_left_text(case.due_at, now, short=True),
            action=_next_step(case, user),
        )
        for case in ordered
    ]


def _groups(rows: list[TodayRow]) -> list[tuple[str, str, list[TodayRow]]]:
    """(light, heading, rows) for each light that has rows, red first."""
    return [
        (light, str(_GROUP_LABELS[light]), [row for row in rows if row.light == light])
        for light in (SlaLight.RED, SlaLight.YELLOW, SlaLight.GREEN)
        if any(row.light == light for row in rows)
    ]


@login_required
def today_home(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    roles = {duty.role for duty in duties_of(user)}
    if not roles - {Role.RESIDENT}:
        return redirect(reverse("portal:home") if Role.RESIDENT in roles else reverse("cases:queue"))
    now = timezone.now()
    queue = _with_light(case_queue_for_user(user), now)
    counts = queue.aggregate(
        total=Count("pk"),
        red=Count("pk", filter=Q(light_rank=_RED)),
        yellow=Count("pk", filter=Q(light_rank=_YELLOW)),
        new=Count("pk", filter=Q(status__in=_NEW_STATUSES)),
        verify=Count("pk", filter=Q(status=CaseStatus.REPORTED)),
    )
    new_rows = _rows(queue.filter(status__in=_NEW_STATUSES), user, now)
    my_rows = _rows(queue.exclude(status__in=_NEW_STATUSES), user, now)
    context = {
        "now": now,
        "counts": counts,
        "new_rows": new_rows,
        "new_more": counts["new"] - len(new_rows),
        "groups": _groups(my_rows),
        "my_more": counts["total"] - counts["new"] - len(my_rows),
        "grid_worker": Role.GRID_WORKER in roles,
        "can_register": bool(intake_sources(user)),
        # Work pushed down (一网通管) and emergencies covering the user's areas, pinned at the top.
        "active_emergencies": active_emergencies_for(user, now=now),
        "task_rows": list(assignments_for_worker(user).filter(completed_at=None)[:TODAY_ROWS_MAX]),
    }
    if request.htmx and request.htmx.target == "today-lists":
        return render(request, "cases/today.html#lists", context)
    return render(request, "cases/today.html", context)
