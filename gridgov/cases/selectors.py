"""Reads for cases: the working calendar, categories, SLA policies, and the
scoped case queries (every list or detail of cases goes through `cases_visible_to`)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import ROLE_CAPABILITIES, Capability, Role
from gridgov.accounts.models import Department
from gridgov.accounts.scope import AreaScope, scope_for
from gridgov.areas.selectors import area_path_prefixes
from gridgov.cases.calendar import WorkingCalendar, parse_office_hours
from gridgov.cases.choices import TIMED_STATUSES, CaseStatus, CloseReason, SlaLight, Tier, Urgency
from gridgov.cases.models import CalendarOverride, Case, CaseStep, Category, DepartmentCategory, SlaPolicy
from gridgov.cases.rules import (
    DISPATCHER_ROLES,
    can_handle,
    can_supervise,
    can_verify,
    dispatches,
    duties_of,
    speaks_for_reporter,
)

# Calendar overrides and SLA policies change a few times a year but are read by
# every submit and sweep: keep them per process for a minute. The process that
# writes them drops its copy at once (`rules_cache_clear`).
RULES_CACHE_SECONDS = 60


class _RulesCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loaded_at = 0.0
        self.calendar: WorkingCalendar | None = None
        self.policies: dict[tuple[int, str], SlaPolicy] = {}
        self.parents: dict[int, int | None] = {}


_rules = _RulesCache()


def rules_cache_clear() -> None:
    with _rules.lock:
        _rules.loaded_at = 0.0


def _rules_fresh() -> _RulesCache:
    now = time.monotonic()
    with _rules.lock:
        if _rules.calendar is None or now - _rules.loaded_at > RULES_CACHE_SECONDS:
            _rules.calendar = WorkingCalendar(
                office_hours=parse_office_hours(settings.OFFICE_HOURS),
                timezone=ZoneInfo(settings.TIME_ZONE),
                overrides=dict(CalendarOverride.objects.values_list("day", "is_working_day")),
            )
            _rules.policies = {(policy.category_id, policy.urgency): policy for policy in SlaPolicy.objects.all()}
            _rules.parents = dict(Category.objects.values_list("id", "parent_id"))
            _rules.loaded_at = now
        return _rules


def working_calendar() -> WorkingCalendar:
    """The calendar from `GRIDGOV_OFFICE_HOURS`, the time zone and the override table."""
    calendar = _rules_fresh().calendar
    if calendar is None:  # pragma: no cover — _rules_fresh always sets it
        raise RuntimeError("working calendar not loaded")
    return calendar


def calendar_overrides() -> list[CalendarOverride]:
    return list(CalendarOverride.objects.all())


def category_code_chain(code: str) -> list[str]:
    """`060201` → [`06`, `0602`, `060201`]: the codes of a category and its ancestors, top first."""
    return [code[:length] for length in range(2, len(code) + 1, 2)]


def category_tree() -> list[Category]:
    """Every active category, ordered so that each parent comes before its children."""
    return list(Category.objects.filter(is_active=True).order_by("code"))


def sla_policy_for(category: Category, urgency: str) -> SlaPolicy:
    """The policy of the nearest node, from `category` up to its root, that has one for `urgency`."""
    rules = _rules_fresh()
    node_id: int | None = category.pk
    seen = 0
    while node_id is not None and seen < 64:
        policy = rules.policies.get((node_id, urgency))
        if policy is not None:
            return policy
        node_id = rules.parents.get(node_id)
        seen += 1
    raise ValidationError(
        _("类别“%(name)s”及其上级都没有配置“%(urgency)s”的时限规则。")
        % {"name": category.name, "urgency": Urgency(urgency).label}
    )


# --- Cases ------------------------------------------------------------------------


_DISPATCHED_ROLES = frozenset(
    role for role, capabilities in ROLE_CAPABILITIES.items() if Capability.VIEW_DISPATCHED in capabilities
)


def cases_visible_to(user: Any) -> QuerySet[Case]:
    """THE scoped case query: every list, count or detail of cases starts here.

    A user sees a case when its grid lies in their `view_cases` scope, when it
    is dispatched to their department inside their area, or when they reported it.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Case.objects.none()
    condition = scope_for(user, Capability.VIEW_CASES).q("grid__path")
    for duty in duties_of(user):
        if duty.role in _DISPATCHED_ROLES and duty.department_id is not None:
            condition |= Q(department_id=duty.department_id, grid__path__startswith=duty.path)
    condition |= Q(reporter=user)
    return Case.objects.filter(condition)


_CASE_DETAIL_RELATED = (
    "category",
    "grid__parent__parent",
    "handling_area",
    "department__area",
    "owner",
    "last_handler",
)


def case_get_for_user(user: Any, case_id: int) -> Case:
    """One case the user may see, with what its pages need; 404 otherwise (also for unknown ids)."""
    try:
        return cases_visible_to(user).select_related(*_CASE_DETAIL_RELATED).get(pk=case_id)
    except (Case.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error


def case_get_by_number_for_user(user: Any, number: str) -> Case | None:
    return cases_visible_to(user).filter(number=(number or "").strip()).first()


def case_timeline(case: Case, *, for_reporter: bool = False) -> list[CaseStep]:
    """The case's steps in order; the reporter's view leaves out internal notes."""
    steps = case.steps.select_related("actor").prefetch_related("attachments").order_by("seq")
    if for_reporter:
        steps = steps.filter(internal=False)
    return list(steps)


def case_actions_for(user: Any, case: Case) -> list[str]:
    """The actions (names of `POST /cases/{id}/{action}`) this user may take on the case now.

    Mirrors the checks of the services, which remain the authority.
    """
    status = case.status
    handles = can_handle(user, case)
    superior = can_supervise(user, case)
    is_owner = case.owner_id is not None and case.owner_id == getattr(user, "pk", None)
    actions: list[str] = []
    if status == CaseStatus.SUBMITTED and handles and case.tier != Tier.DEPARTMENT:
        actions.append("accept")
    if status in (CaseStatus.SUBMITTED, CaseStatus.HANDLING):
        if case.tier in (Tier.GRID, Tier.COMMUNITY) and (handles or superior):
            actions.append("escalate")
        if dispatches(user, grid_path=case.grid.path) and (case.tier == Tier.TOWN or superior):
            actions.append("dispatch")
    if status == CaseStatus.DISPATCHED and handles:
        actions.append("sign_for")
    if status in (CaseStatus.DISPATCHED, CaseStatus.HANDLING) and case.tier == Tier.DEPARTMENT and handles:
        actions.append("send_back")
    if status == CaseStatus.HANDLING and is_owner:
        actions.append("report_back")
        if case.extension_requested is None:
            actions.append("request_extension")
    if status == CaseStatus.HANDLING and case.extension_requested is not None and superior:
        actions.append("decide_extension")
    if status == CaseStatus.REPORTED and can_verify(user, case):
        actions.append("verify")
    if status in (CaseStatus.SUBMITTED, CaseStatus.HANDLING, CaseStatus.DISPATCHED, CaseStatus.REPORTED) and (
        handles or superior
    ):
        actions.append("close")
    if status == CaseStatus.CLOSED and case.closed_at is not None:
        in_window = timezone.now() - case.closed_at <= timedelta(days=settings.CASE_REOPEN_DAYS)
        if in_window and not case.rating and speaks_for_reporter(user, case):
            actions.append("rate")
        if (
            in_window
            and case.close_reason in (CloseReason.FIXED, CloseReason.NOT_FIXED)
            and (speaks_for_reporter(user, case) or superior)
        ):
            actions.append("reopen")
    if status in TIMED_STATUSES and superior:
        actions.append("suspend")
    if status == CaseStatus.SUSPENDED and superior:
        actions.append("resume")
    if case.is_open and superior:
        actions.append("void")
    return actions


def case_queue_for_user(user: Any) -> QuerySet[Case]:
    """The cases waiting for this user: owned by them, waiting at a tier they work, waiting for
    their verification, or with an extension request they decide. Always inside `cases_visible_to`."""
    condition = Q(owner=user, status=CaseStatus.HANDLING)
    for duty in duties_of(user):
        if duty.role == Role.GRID_WORKER:
            condition |= Q(tier=Tier.GRID, status=CaseStatus.SUBMITTED, handling_area__path__startswith=duty.path)
            condition |= Q(status=CaseStatus.REPORTED, grid__path__startswith=duty.path)
        elif duty.role == Role.COMMUNITY_STAFF:
            condition |= Q(tier=Tier.COMMUNITY, status=CaseStatus.SUBMITTED, handling_area__path__startswith=duty.path)
            condition |= Q(tier=Tier.GRID, extension_requested__isnull=False, grid__path__startswith=duty.path)
        elif duty.role == Role.TOWN_STAFF:
            condition |= Q(tier=Tier.TOWN, status=CaseStatus.SUBMITTED, handling_area__path__startswith=duty.path)
            condition |= Q(tier=Tier.COMMUNITY, extension_requested__isnull=False, grid__path__startswith=duty.path)
        elif duty.role == Role.DEPARTMENT_HANDLER and duty.department_id is not None:
            condition |= Q(
                tier=Tier.DEPARTMENT,
                status=CaseStatus.DISPATCHED,
                department_id=duty.department_id,
                grid__path__startswith=duty.path,
            )
        elif duty.role == Role.COUNTY_COMMAND:
            condition |= Q(
                tier__in=[Tier.TOWN, Tier.DEPARTMENT],
                extension_requested__isnull=False,
                grid__path__startswith=duty.path,
            )
            condition |= Q(sla_light=SlaLight.RED, status__in=TIMED_STATUSES, grid__path__startswith=duty.path)
    return cases_visible_to(user).filter(condition)


def case_seen_as_staff(user: Any, case: Case) -> bool:
    """True when the user sees the case through their work (scope or department), not only as its
    reporter — the reporter-only view leaves out internal notes and staff names."""
    if scope_for(user, Capability.VIEW_CASES).covers(case.grid.path):
        return True
    return any(
        duty.role in _DISPATCHED_ROLES
        and duty.department_id is not None
        and duty.department_id == case.department_id
        and duty.covers(case.grid.path)
        for duty in duties_of(user)
    )


def case_staff_scope(user: Any) -> AreaScope:
    """Where the user sees cases as staff: their `view_cases` subtrees and their departments' areas."""
    paths = list(scope_for(user, Capability.VIEW_CASES).paths)
    paths += [duty.path for duty in duties_of(user) if duty.role in _DISPATCHED_ROLES and duty.department_id]
    return AreaScope.from_paths(paths)


def departments_for_case(case: Case) -> QuerySet[Department]:
    """Departments whose area contains the case's grid, those owning its category first.

    Departments are offices, not people's data; `case_dispatch` checks the choice again.
    """
    owns = DepartmentCategory.objects.filter(
        department=OuterRef("pk"), category__code__in=category_code_chain(case.category.code)
    )
    return (
        Department.objects.filter(area__path__in=area_path_prefixes(case.grid.path))
        .select_related("area")
        .annotate(owns_category=Exists(owns))
        .order_by("-owns_category", "code")
    )


# --- Office pages -----------------------------------------------------------------


def case_department_queue_for_user(user: Any) -> QuerySet[Case]:
    """Open cases at the department tier (待签收 / 办理中): for a department handler those of
    their department inside their area, for dispatchers (town, command centre) every one in their
    area. Always inside `cases_visible_to`."""
    conditions: list[Q] = []
    for duty in duties_of(user):
        if duty.role == Role.DEPARTMENT_HANDLER and duty.department_id is not None:
            conditions.append(Q(department_id=duty.department_id, grid__path__startswith=duty.path))
        elif duty.role in DISPATCHER_ROLES:
            conditions.append(Q(grid__path__startswith=duty.path))
    if not conditions:
        return Case.objects.none()
    condition = conditions[0]
    for other in conditions[1:]:
        condition |= other
    return cases_visible_to(user).filter(
        condition, tier=Tier.DEPARTMENT, status__in=[CaseStatus.DISPATCHED, CaseStatus.HANDLING]
    )


def departments_for_dispatcher(user: Any) -> QuerySet[Department]:
    """Departments a dispatcher may choose for several cases at once: those whose area contains or
    lies inside one of the user's dispatching areas. `case_dispatch` checks each case again."""
    paths = [duty.path for duty in duties_of(user) if duty.role in DISPATCHER_ROLES]
    if not paths:
        return Department.objects.none()
    condition = Q(area__path__in={prefix for path in paths for prefix in area_path_prefixes(path)})
    for path in paths:
        condition |= Q(area__path__startswith=path)
    return Department.objects.filter(condition).select_related("area").order_by("code")
