"""Staff pages for cases: the queue, one case with its actions, attachments, and new cases.

Thin: every case is read through `cases_visible_to` / `case_get_for_user` (404 for
out-of-scope and unknown alike), every change goes through a service, whose
Chinese error is shown next to the form that caused it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Case as DbCase
from django.db.models import Count, F, IntegerField, Q, QuerySet, Value, When
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
from gridgov.cases.choices import TIMED_STATUSES, CaseSource, CaseStatus, SlaLight, TimeUnit, Urgency
from gridgov.cases.errors import CaseConflict, CaseForbidden
from gridgov.cases.forms import (
    BulkActionForm,
    CloseForm,
    DispatchForm,
    ExtensionDecisionForm,
    ExtensionRequestForm,
    NoteForm,
    RateForm,
    ReasonForm,
    ReportBackForm,
    VerifyForm,
    form_error_text,
)
from gridgov.cases.models import Case
from gridgov.cases.rules import DISPATCHER_ROLES, duties_of, intake_sources, is_reporter
from gridgov.cases.selectors import (
    case_actions_for,
    case_department_queue_for_user,
    case_get_by_number_for_user,
    case_get_for_user,
    case_queue_for_user,
    case_seen_as_staff,
    case_staff_scope,
    case_timeline,
    cases_visible_to,
    category_tree,
    departments_for_case,
    departments_for_dispatcher,
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


def time_left_text(due: datetime | None, now: datetime, *, short: bool = False) -> str:
    """'剩余 2 小时' / '已超时 3 小时' (natural time, rounded down); `short` ('剩 2 小时' / '超 3 小时')
    for the phone's rows."""
    if due is None:
        return ""
    seconds = (due - now).total_seconds()
    span = abs(seconds)
    left = seconds >= 0
    if span < 3600:
        amount = max(int(span // 60), 1)
        if short:
            text = _("剩 %(n)d 分钟") if left else _("超 %(n)d 分钟")
        else:
            text = _("剩余 %(n)d 分钟") if left else _("已超时 %(n)d 分钟")
    elif span < 48 * 3600:
        amount = int(span // 3600)
        if short:
            text = _("剩 %(n)d 小时") if left else _("超 %(n)d 小时")
        else:
            text = _("剩余 %(n)d 小时") if left else _("已超时 %(n)d 小时")
    else:
        amount = int(span // 86400)
        if short:
            text = _("剩 %(n)d 天") if left else _("超 %(n)d 天")
        else:
            text = _("剩余 %(n)d 天") if left else _("已超时 %(n)d 天")
    return text % {"n": amount}


@dataclass(frozen=True)
class CaseRow:
    case: Case
    light: str
    light_label: str
    due_at: datetime | None
    time_left: str
    # The actions of `case_actions_for` the queue offers on the row (bulk and quick buttons).
    actions: frozenset[str] = frozenset()

    @property
    def selectable(self) -> bool:
        return bool(self.actions & BULK_ACTIONS)


def _row(case: Case, now: datetime, actions: frozenset[str] = frozenset()) -> CaseRow:
    light = _light(case, now)
    timed = case.status in TIMED_STATUSES
    return CaseRow(
        case=case,
        light=light,
        light_label=str(_LIGHT_LABELS[light]),
        due_at=case.due_at if timed else None,
        time_left=time_left_text(case.due_at, now) if timed else "",
        actions=actions,
    )


# --- Queue -------------------------------------------------------------------------

# What a row of the queue needs, in the same query (the checks of `case_actions_for` included).
_ROW_RELATED = ("category", "grid", "handling_area")
# Actions that may be taken on several ticked cases at once, each through its own service call.
BULK_ACTIONS = frozenset({"dispatch", "accept", "sign_for"})
# Row actions shown on the department tab, besides the bulk ones.
_ROW_ACTIONS = BULK_ACTIONS | {"report_back", "send_back"}

_LIGHT_RANK = {SlaLight.RED: 0, SlaLight.YELLOW: 1, SlaLight.GREEN: 2, "grey": 3}
_SORTS = {
    "urgent": gettext_lazy("最紧急在前"),
    "due": gettext_lazy("时限最近在前"),
    "new": gettext_lazy("最新登记在前"),
    "old": gettext_lazy("最早登记在前"),
}
_DEPARTMENT_STATES = {
    "waiting": gettext_lazy("待签收"),
    "handling": gettext_lazy("办理中"),
    "overdue": gettext_lazy("已超时"),
}


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""
    category: str = ""
    area: str = ""
    overdue: bool = False
    query: str = ""
    source: str = ""
    light: str = ""
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "urgent"
    # Preset of the department tab: waiting (待签收) / handling (办理中) / overdue.
    state: str = ""

    @property
    def more_active(self) -> bool:
        """A filter inside "更多条件" is set (the group stays open on a phone)."""
        return bool(
            self.category
            or self.area
            or self.source
            or self.light
            or self.date_from
            or self.date_to
            or self.sort != "urgent"
        )

    @property
    def active(self) -> bool:
        return bool(
            self.status
            or self.category
            or self.area
            or self.overdue
            or self.query
            or self.source
            or self.light
            or self.date_from
            or self.date_to
            or self.state
        )


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _queue_filters(request: HtmxHttpRequest) -> QueueFilters:
    """The filters in the URL; an unknown value is ignored rather than refused (old bookmarks)."""
    get = request.GET
    status, source, light = get.get("status", ""), get.get("source", ""), get.get("light", "")
    sort, state = get.get("sort", ""), get.get("state", "")
    return QueueFilters(
        status=status if status in CaseStatus.values else "",
        category=get.get("category", "")[:20],
        area=get.get("area", "")[:18],
        overdue=get.get("overdue") == "1",
        query=get.get("q", "").strip()[:50],
        source=source if source in CaseSource.values else "",
        light=light if light in _LIGHT_RANK else "",
        date_from=_date(get.get("from", "")[:10]),
        date_to=_date(get.get("to", "")[:10]),
        sort=sort if sort in _SORTS else "urgent",
        state=state if state in _DEPARTMENT_STATES else "",
    )


def _overdue(now: datetime) -> Q:
    return Q(Q(sla_light=SlaLight.RED) | Q(due_at__lte=now), status__in=TIMED_STATUSES)


def _warned(now: datetime) -> Q:
    return Q(Q(sla_light=SlaLight.YELLOW) | Q(warn_at__lte=now), status__in=TIMED_STATUSES)


def _light_q(light: str, now: datetime) -> Q:
    """The cases whose row `_light` colours `light`."""
    timed = Q(status__in=TIMED_STATUSES)
    if light == SlaLight.RED:
        return _overdue(now)
    if light == SlaLight.YELLOW:
        return _warned(now) & ~_overdue(now)
    if light == SlaLight.GREEN:
        return timed & ~_overdue(now) & ~_warned(now)
    return ~timed


def _with_light_rank(cases: QuerySet[Case], now: datetime) -> QuerySet[Case]:
    """Annotate `light_rank` (0 red … 3 not timed) the way `_light` colours a row, for sorting."""
    return cases.annotate(
        light_rank=DbCase(
            When(_overdue(now), then=Value(_LIGHT_RANK[SlaLight.RED])),
            When(_warned(now), then=Value(_LIGHT_RANK[SlaLight.YELLOW])),
            When(status__in=TIMED_STATUSES, then=Value(_LIGHT_RANK[SlaLight.GREEN])),
            default=Value(_LIGHT_RANK["grey"]),
            output_field=IntegerField(),
        )
    )


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


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
        cases = cases.filter(_overdue(now))
    if filters.query:
        cases = cases.filter(Q(number__icontains=filters.query) | Q(title__icontains=filters.query))
    if filters.source:
        cases = cases.filter(source=filters.source)
    if filters.light:
        cases = cases.filter(_light_q(filters.light, now))
    if filters.date_from:
        cases = cases.filter(submitted_at__gte=_local_midnight(filters.date_from))
    if filters.date_to:
        cases = cases.filter(submitted_at__lt=_local_midnight(filters.date_to + timedelta(days=1)))
    if filters.state == "waiting":
        cases = cases.filter(status=CaseStatus.DISPATCHED)
    elif filters.state == "handling":
        cases = cases.filter(status=CaseStatus.HANDLING)
    elif filters.state == "overdue":
        cases = cases.filter(_overdue(now))
    return cases


def _ordered(cases: QuerySet[Case], sort: str) -> QuerySet[Case]:
    if sort == "new":
        return cases.order_by("-submitted_at", "-id")
    if sort == "old":
        return cases.order_by("submitted_at", "id")
    if sort == "due":
        return cases.order_by(F("due_at").asc(nulls_last=True), "id")
    # Most urgent first: overdue, then warned, then by the nearest limit; urgency breaks ties.
    urgency_rank = DbCase(
        When(urgency=Urgency.CRITICAL, then=Value(0)),
        When(urgency=Urgency.URGENT, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return cases.order_by("light_rank", F("due_at").asc(nulls_last=True), urgency_rank, "id")


def _filter_areas(user: Any) -> list[tuple[str, str]]:
    """(code, indented name) of the towns, communities and grids where the user sees cases."""
    scope = case_staff_scope(user)
    if scope.is_empty:
        return []
    depth: dict[str, int] = {AreaLevel.TOWN: 0, AreaLevel.COMMUNITY: 1, AreaLevel.GRID: 2}
    areas = Area.objects.filter(scope.q("path"), level__in=list(depth)).order_by("path")[:FILTER_AREAS_MAX]
    return [(area.code, "\u3000" * depth.get(area.level, 0) + area.name) for area in areas]


def _bulk_actions_for(user: Any) -> list[str]:
    """The bulk actions the user's roles could ever take; each case is still checked by its service."""
    roles = {duty.role for duty in duties_of(user)}
    actions = []
    if roles & DISPATCHER_ROLES:
        actions.append("dispatch")
    if roles & {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.TOWN_STAFF}:
        actions.append("accept")
    if Role.DEPARTMENT_HANDLER in roles:
        actions.append("sign_for")
    return actions


def _has_department_tab(user: Any) -> bool:
    return any(
        duty.role in DISPATCHER_ROLES or (duty.role == Role.DEPARTMENT_HANDLER and duty.department_id is not None)
        for duty in duties_of(user)
    )


def _department_counts(cases: QuerySet[Case], now: datetime) -> dict[str, int]:
    counts = cases.aggregate(
        waiting=Count("pk", filter=Q(status=CaseStatus.DISPATCHED)),
        handling=Count("pk", filter=Q(status=CaseStatus.HANDLING)),
        overdue=Count("pk", filter=_overdue(now)),
    )
    return {key: int(value or 0) for key, value in counts.items()}


@login_required
def case_queue(request: HtmxHttpRequest) -> HttpResponse:
    """The queue: my todo, every case of my area, or the department view, with filters in the URL.

    One view serves the page and its `#results` partial (filters and pages swap it by HTMX)."""
    user = request.user
    now = timezone.now()
    staff = _is_staff(user)
    filters = _queue_filters(request)
    department_tab = staff and _has_department_tab(user)
    requested = request.GET.get("tab", "")
    department_counts: dict[str, int] = {}
    if not staff:
        tab = "mine"
        cases = cases_visible_to(user).filter(reporter_id=user.pk).order_by("-submitted_at", "-id")
    elif requested == "area":
        tab = "area"
        cases = _with_light_rank(cases_visible_to(user), now)
        cases = _ordered(_apply_filters(cases, user, filters, now), filters.sort)
    elif requested == "dept" and department_tab:
        tab = "dept"
        base = _with_light_rank(case_department_queue_for_user(user), now)
        department_counts = _department_counts(base, now)
        cases = _ordered(_apply_filters(base, user, filters, now), filters.sort)
    else:
        tab = "todo"
        cases = _ordered(_with_light_rank(case_queue_for_user(user), now), "urgent")
    page = Paginator(cases.select_related(*_ROW_RELATED), CASES_PER_PAGE).get_page(request.GET.get("page"))
    bulk_actions = _bulk_actions_for(user) if staff else []
    rows = [
        _row(case, now, frozenset(case_actions_for(user, case)) & _ROW_ACTIONS if staff else frozenset())
        for case in page.object_list
    ]
    query_without_page = request.GET.copy()
    query_without_page.pop("page", None)
    query_without_page["tab"] = tab
    context: dict[str, Any] = {
        "tab": tab,
        "staff": staff,
        "page": page,
        "rows": rows,
        "filters": filters,
        "querystring": query_without_page.urlencode(),
        "can_register": bool(intake_sources(user)),
        "department_tab": department_tab,
        "department_counts": department_counts,
        "department_states": list(_DEPARTMENT_STATES.items()),
        "bulk_actions": [(name, ACTIONS[name].label) for name in bulk_actions],
        "bulk_departments": list(departments_for_dispatcher(user)) if "dispatch" in bulk_actions else [],
        "any_selectable": any(row.selectable for row in rows),
    }
    if request.htmx and request.htmx.target == "case-results":
        return render(request, "cases/queue.html#results", context)
    if tab in ("area", "dept"):
        context["statuses"] = CaseStatus.choices
        context["categories"] = [category for category in category_tree() if len(category.code) <= 4]
        context["areas"] = _filter_areas(user)
        context["sources"] = CaseSource.choices
        context["lights"] = [(light, _LIGHT_LABELS[light]) for light in _LIGHT_RANK]
        context["sorts"] = list(_SORTS.items())
    return render(request, "cases/queue.html", context)


# --- Several cases at once ----------------------------------------------------------


@dataclass(frozen=True)
class BulkRefusal:
    case: Case
    reason: str


def _queue_url(querystring: str) -> str:
    """Back to the queue page the bulk form came from (only its query string travels)."""
    url = reverse("cases:queue")
    querystring = querystring.lstrip("?")
    return f"{url}?{querystring}" if querystring else url


@login_required
@require_POST
def case_bulk(request: HtmxHttpRequest) -> HttpResponse:
    """Dispatch, accept or sign for the ticked cases: each through its own service call in its own
    transaction, so a refused case (with its Chinese reason) does not stop the others. Cases the
    user cannot see are left out and only counted, as if they did not exist."""
    user = request.user
    actions = _bulk_actions_for(user) if _is_staff(user) else []
    if not actions:
        raise PermissionDenied
    form = BulkActionForm(
        request.POST,
        actions=[(name, ACTIONS[name].label) for name in actions],
        departments=departments_for_dispatcher(user),
    )
    context: dict[str, Any] = {"back": _queue_url(request.POST.get("next", "")[:1000]), "form": form}
    if not form.is_valid():
        context["error"] = form_error_text(form)
        return render(request, "cases/bulk_result.html", context, status=422)
    action = form.cleaned_data["action"]
    ids: list[int] = form.cleaned_data["case"]
    cases = cases_visible_to(user).filter(pk__in=ids).select_related(*_ROW_RELATED).order_by("number")
    done: list[Case] = []
    refused: list[BulkRefusal] = []
    for case in cases:
        try:
            with transaction.atomic():
                ACTIONS[action].perform(user, case, form.cleaned_data)
        except ValidationError as refusal:
            refused.append(BulkRefusal(case, " ".join(refusal.messages)))
        except (CaseConflict, CaseForbidden) as refusal:
            refused.append(BulkRefusal(case, refusal.message))
        else:
            done.append(case)
    context.update(
        {
            "action_label": ACTIONS[action].label,
            "department": form.cleaned_data.get("department") if action == "dispatch" else None,
            "done": done,
            "refused": refused,
            "unseen": len(ids) - len(done) - len(refused),
        }
    )
    return render(request, "cases/bulk_result.html", context)


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
    community = case.grid.parent
    town = community.parent if community is not None else None
    return {
        "case": case,
        "row": _row(case, now),
        "close_time_left": time_left_text(case.close_due_at, now) if case.is_open else "",
        "steps": steps,
        "panels": panels,
        "photos": [attachment for attachment in attachments if attachment.content_type.startswith("image/")],
        "documents": [attachment for attachment in attachments if not attachment.content_type.startswith("image/")],
        "attachment_count": len(attachments),
        "place_path": [area for area in (town, community, case.grid) if area is not None],
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
