"""Staff pages for cases: the queue, one case with its actions, attachments, and new cases.

Thin: every case is read through `cases_visible_to` / `case_get_for_user` (404 for
out-of-scope and unknown alike), every change goes through a service, whose
Chinese error is shown next to the form that caused it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gridgov.accounts.choices import Role
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.cases.choices import TIMED_STATUSES, CaseStatus, SlaLight, TimeUnit
from gridgov.cases.errors import CaseConflict, CaseForbidden
from gridgov.cases.forms import (
    CloseForm,
    DispatchForm,
    ExtensionDecisionForm,
    ExtensionRequestForm,
    NoteForm,
    RateForm,
    ReasonForm,
    ReportBackForm,
    VerifyForm,
)
from gridgov.cases.models import Case
from gridgov.cases.rules import duties_of, intake_sources, is_reporter
from gridgov.cases.selectors import (
    case_actions_for,
    case_get_by_number_for_user,
    case_get_for_user,
    case_queue_for_user,
    case_seen_as_staff,
    case_staff_scope,
    case_timeline,
    cases_visible_to,
    category_tree,
    departments_for_case,
)
from gridgov.cases.services import (
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
    case_suspend,
    case_verify,
    case_void,
)
from gridgov.core.http import HtmxHttpRequest

CASES_PER_PAGE = 30
FILTER_AREAS_MAX = 500


# --- Who is looking --------------------------------------------------------------


def _is_staff(user: Any) -> bool:
    return any(duty.role != Role.RESIDENT for duty in duties_of(user))


# --- Clocks ------------------------------------------------------------------------

_STOPPED_STATUSES = frozenset({CaseStatus.CLOSED, CaseStatus.VOIDED, CaseStatus.SUSPENDED})
_LIGHT_LABELS = {
    SlaLight.GREEN: gettext_lazy("正常"),
    SlaLight.YELLOW: gettext_lazy("预警"),
    SlaLight.RED: gettext_lazy("超时"),
    "grey": gettext_lazy("不计时"),
}


def _light(case: Case, now: datetime) -> str:
    """The traffic light of the current step: the sweep's verdict, or worse if the clock has run on since."""
    if case.status in _STOPPED_STATUSES:
        return "grey"
    if case.sla_light == SlaLight.RED or (case.due_at is not None and now >= case.due_at):
        return SlaLight.RED
    if case.sla_light == SlaLight.YELLOW or (case.warn_at is not None and now >= case.warn_at):
        return SlaLight.YELLOW
    return SlaLight.GREEN


def _time_left(due: datetime | None, now: datetime) -> str:
    """'剩余 2 小时' / '已超时 3 小时' (natural time, rounded down)."""
    if due is None:
        return ""
    seconds = (due - now).total_seconds()
    span = abs(seconds)
    if span < 3600:
        amount = max(int(span // 60), 1)
        text = _("剩余 %(n)d 分钟") if seconds >= 0 else _("已超时 %(n)d 分钟")
    elif span < 48 * 3600:
        amount = int(span // 3600)
        text = _("剩余 %(n)d 小时") if seconds >= 0 else _("已超时 %(n)d 小时")
    else:
        amount = int(span // 86400)
        text = _("剩余 %(n)d 天") if seconds >= 0 else _("已超时 %(n)d 天")
    return text % {"n": amount}


@dataclass(frozen=True)
class CaseRow:
    case: Case
    light: str
    light_label: str
    due_at: datetime | None
    time_left: str


def _row(case: Case, now: datetime) -> CaseRow:
    light = _light(case, now)
    timed = case.status in TIMED_STATUSES
    return CaseRow(
        case=case,
        light=light,
        light_label=str(_LIGHT_LABELS[light]),
        due_at=case.due_at if timed else None,
        time_left=_time_left(case.due_at, now) if timed else "",
    )


# --- Queue -------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""
    category: str = ""
    area: str = ""
    overdue: bool = False
    query: str = ""

    @property
    def active(self) -> bool:
        return bool(self.status or self.category or self.area or self.overdue or self.query)


def _queue_filters(request: HtmxHttpRequest) -> QueueFilters:
    status = request.GET.get("status", "")
    return QueueFilters(
        status=status if status in CaseStatus.values else "",
        category=request.GET.get("category", "")[:20],
        area=request.GET.get("area", "")[:18],
        overdue=request.GET.get("overdue") == "1",
        query=request.GET.get("q", "").strip()[:50],
    )


def _apply_filters(cases: QuerySet[Case], user: Any, filters: QueueFilters, now: datetime) -> QuerySet[Case]:
    if filters.status:
        cases = cases.filter(status=filters.status)
    if filters.category:
        cases = cases.filter(category__code__startswith=filters.category)
    if filters.area:
        area = Area.objects.filter(code=filters.area).first()
        if area is None or not case_staff_scope(user).covers(area.path):
            raise Http404
        cases = cases.filter(grid__path__startswith=area.path)
    if filters.overdue:
        cases = cases.filter(Q(sla_light=SlaLight.RED) | Q(due_at__lte=now), status__in=TIMED_STATUSES)
    if filters.query:
        cases = cases.filter(Q(number__icontains=filters.query) | Q(title__icontains=filters.query))
    return cases


def _filter_areas(user: Any) -> list[tuple[str, str]]:
    """(code, indented name) of the towns, communities and grids where the user sees cases."""
    scope = case_staff_scope(user)
    if scope.is_empty:
        return []
    depth: dict[str, int] = {AreaLevel.TOWN: 0, AreaLevel.COMMUNITY: 1, AreaLevel.GRID: 2}
    areas = Area.objects.filter(scope.q("path"), level__in=list(depth)).order_by("path")[:FILTER_AREAS_MAX]
    return [(area.code, "\u3000" * depth.get(area.level, 0) + area.name) for area in areas]


@login_required
def case_queue(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    now = timezone.now()
    staff = _is_staff(user)
    filters = _queue_filters(request)
    if not staff:
        tab = "mine"
        cases = cases_visible_to(user).filter(reporter_id=user.pk).order_by("-submitted_at", "-id")
    elif request.GET.get("tab") == "area":
        tab = "area"
        cases = _apply_filters(cases_visible_to(user), user, filters, now).order_by("-submitted_at", "-id")
    else:
        tab = "todo"
        cases = case_queue_for_user(user).order_by(F("due_at").asc(nulls_last=True), "id")
    page = Paginator(cases.select_related("category", "grid"), CASES_PER_PAGE).get_page(request.GET.get("page"))
    query_without_page = request.GET.copy()
    query_without_page.pop("page", None)
    query_without_page["tab"] = tab
    context: dict[str, Any] = {
        "tab": tab,
        "staff": staff,
        "page": page,
        "rows": [_row(case, now) for case in page.object_list],
        "filters": filters,
        "querystring": query_without_page.urlencode(),
        "can_register": bool(intake_sources(user)),
    }
    if request.htmx and request.htmx.target == "case-results":
        return render(request, "cases/queue.html#results", context)
    if tab == "area":
        context["statuses"] = CaseStatus.choices
        context["categories"] = [category for category in category_tree() if len(category.code) <= 4]
        context["areas"] = _filter_areas(user)
    return render(request, "cases/queue.html", context)


# --- Detail and actions ------------------------------------------------------------


_REASON_LABELS = {
    "escalate": gettext_lazy("上报理由"),
    "send_back": gettext_lazy("回退理由"),
    "reopen": gettext_lazy("未解决的情况"),
    "suspend": gettext_lazy("挂起理由"),
    "void": gettext_lazy("作废理由"),
}


def _action_form(action: str, case: Case, data: Any = None, files: Any = None) -> forms.Form:
    if action in ("accept", "sign_for", "resume"):
        return NoteForm(data, prefix=action)
    if action in _REASON_LABELS:
        return ReasonForm(data, prefix=action, reason_label=_REASON_LABELS[action])
    if action == "dispatch":
        return DispatchForm(data, prefix=action, departments=departments_for_case(case))
    if action == "report_back":
        return ReportBackForm(data, files, prefix=action)
    if action == "request_extension":
        return ExtensionRequestForm(data, prefix=action, unit_label=TimeUnit(case.sla_unit).label)
    if action == "decide_extension":
        return ExtensionDecisionForm(data, prefix=action)
    if action == "verify":
        return VerifyForm(data, files, prefix=action)
    if action == "close":
        return CloseForm(data, prefix=action)
    if action == "rate":
        return RateForm(data, prefix=action)
    raise Http404


def _close(actor: Any, case: Case, data: dict[str, Any]) -> str:
    merged_into = None
    number = data["merged_into"].strip()
    if number:
        merged_into = case_get_by_number_for_user(actor, number)
        if merged_into is None:
            raise ValidationError(_("找不到编号为“%(number)s”的事项。") % {"number": number})
    case_close(actor=actor, case=case, reason=data["reason"], note=data["note"], merged_into=merged_into)
    return _("事项已结案。")


def _decide_extension(actor: Any, case: Case, data: dict[str, Any]) -> str:
    approve = data["decision"] == "approve"
    case_decide_extension(actor=actor, case=case, approve=approve, note=data["note"])
    return _("已同意延期。") if approve else _("已不同意延期申请。")


def _verify(actor: Any, case: Case, data: dict[str, Any]) -> str:
    passed = data["outcome"] == "pass"
    case_verify(
        actor=actor,
        case=case,
        passed=passed,
        note=data["note"],
        close_reason=data["close_reason"],
        attachments=data["photos"],
    )
    return _("核查通过，事项已办结。") if passed else _("核查未通过，已退回办理。")


def _dispatch(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_dispatch(actor=actor, case=case, department=data["department"], note=data["note"])
    return _("已派遣到%(name)s。") % {"name": data["department"].name}


def _accept(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_accept(actor=actor, case=case, note=data["note"])
    return _("已受理，请及时办理。")


def _escalate(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_escalate(actor=actor, case=case, reason=data["reason"])
    return _("已上报上一级。")


def _sign_for(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_sign_for(actor=actor, case=case, note=data["note"])
    return _("已签收，请及时办理。")


def _send_back(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_send_back(actor=actor, case=case, reason=data["reason"])
    return _("已回退到镇街。")


def _report_back(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_report_back(actor=actor, case=case, result=data["result"], attachments=data["photos"])
    return _("已反馈办理结果，等待核查。")


def _request_extension(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_request_extension(actor=actor, case=case, amount=data["amount"], reason=data["reason"])
    return _("已提交延期申请，等待上一级审批。")


def _rate(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_rate(actor=actor, case=case, rating=data["rating"], note=data["note"])
    return _("感谢您的评价。")


def _reopen(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_reopen(actor=actor, case=case, reason=data["reason"])
    return _("事项已重新办理。")


def _suspend(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_suspend(actor=actor, case=case, reason=data["reason"])
    return _("事项已挂起，时限暂停计算。")


def _resume(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_resume(actor=actor, case=case, note=data["note"])
    return _("事项已恢复办理。")


def _void(actor: Any, case: Case, data: dict[str, Any]) -> str:
    case_void(actor=actor, case=case, reason=data["reason"])
    return _("事项已作废。")


@dataclass(frozen=True)
class ActionSpec:
    label: Any
    perform: Callable[[Any, Case, dict[str, Any]], str]
    # Shown unfolded: the step the person usually came to the page for.
    primary: bool = False
    danger: bool = False


ACTIONS: dict[str, ActionSpec] = {
    "accept": ActionSpec(gettext_lazy("受理"), _accept, primary=True),
    "sign_for": ActionSpec(gettext_lazy("签收"), _sign_for, primary=True),
    "report_back": ActionSpec(gettext_lazy("反馈办理结果"), _report_back, primary=True),
    "verify": ActionSpec(gettext_lazy("现场核查"), _verify, primary=True),
    "decide_extension": ActionSpec(gettext_lazy("审批延期"), _decide_extension, primary=True),
    "rate": ActionSpec(gettext_lazy("评价"), _rate, primary=True),
    "escalate": ActionSpec(gettext_lazy("上报上一级"), _escalate),
    "dispatch": ActionSpec(gettext_lazy("派遣到职能部门"), _dispatch),
    "send_back": ActionSpec(gettext_lazy("回退"), _send_back),
    "request_extension": ActionSpec(gettext_lazy("申请延期"), _request_extension),
    "close": ActionSpec(gettext_lazy("结案"), _close),
    "reopen": ActionSpec(gettext_lazy("没有解决，重新办理"), _reopen),
    "suspend": ActionSpec(gettext_lazy("挂起"), _suspend, danger=True),
    "resume": ActionSpec(gettext_lazy("恢复办理"), _resume),
    "void": ActionSpec(gettext_lazy("作废"), _void, danger=True),
}


@dataclass
class ActionPanel:
    name: str
    spec: ActionSpec
    form: forms.Form
    error: str = ""

    @property
    def multipart(self) -> bool:
        return self.form.is_multipart()


def reporter_view(user: Any, case: Case) -> bool:
    """The reporter who has no staff view of the case sees the public timeline only."""
    return is_reporter(user, case) and not case_seen_as_staff(user, case)


def _detail_context(
    request: HtmxHttpRequest,
    case: Case,
    *,
    failed: str = "",
    failed_form: forms.Form | None = None,
    error: str = "",
) -> dict[str, Any]:
    user = request.user
    now = timezone.now()
    as_reporter = reporter_view(user, case)
    steps = case_timeline(case, for_reporter=as_reporter)
    actions = case_actions_for(user, case)
    if failed and failed not in actions:
        actions.append(failed)
    panels = [
        ActionPanel(
            name=name,
            spec=ACTIONS[name],
            form=failed_form if name == failed and failed_form is not None else _action_form(name, case),
            error=error if name == failed else "",
        )
        for name in actions
        if name in ACTIONS
    ]
    attachments = [attachment for step in steps for attachment in step.attachments.all()]
    return {
        "case": case,
        "row": _row(case, now),
        "close_time_left": _time_left(case.close_due_at, now) if case.is_open else "",
        "steps": steps,
        "panels": panels,
        "attachments": attachments,
        "reporter_view": as_reporter,
        "show_reporter": not case.is_anonymous or is_reporter(user, case),
        "map_config": json.dumps({"lon": case.longitude, "lat": case.latitude})
        if case.longitude is not None and case.latitude is not None
        else "",
    }


@login_required
def case_detail(request: HtmxHttpRequest, case_id: int) -> HttpResponse:
    case = case_get_for_user(request.user, case_id)
    return render(request, "cases/detail.html", _detail_context(request, case))


@login_required
@require_POST
def case_action(request: HtmxHttpRequest, case_id: int, action: str) -> HttpResponse:
    """One action of the detail page. Success redirects to the page with a message; a refusal
    shows the service's reason next to the form (the action panel for HTMX, the page otherwise)."""
    if action not in ACTIONS:
        raise Http404
    case = case_get_for_user(request.user, case_id)
    form = _action_form(action, case, request.POST, request.FILES)
    error, status = "", 422
    if form.is_valid():
        try:
            message = ACTIONS[action].perform(request.user, case, form.cleaned_data)
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        except CaseConflict as refusal:
            error, status = refusal.message, 409
        except CaseForbidden as refusal:
            error, status = refusal.message, 403
        else:
            messages.success(request, message)
            url = reverse("cases:detail", args=[case.pk])
            if request.htmx:
                return HttpResponse(headers={"HX-Redirect": url})
            return redirect(url)
    # Read the case again: a refused action changed nothing, but a concurrent one may have.
    case = case_get_for_user(request.user, case_id)
    context = _detail_context(request, case, failed=action, failed_form=form, error=error)
    template = "cases/detail.html#actions" if request.htmx else "cases/detail.html"
    return render(request, template, context, status=status)
