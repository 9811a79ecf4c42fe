"""The county admin's pages for the case rules: the category tree, SLA policies per
category × urgency, the departments' categories and the working-calendar overrides.

Only holders of `manage_case_rules` (the admin role) get in; everyone else gets 403.
Reads are of configuration only (no people's data); every write goes through a
`gridgov.cases.services.config` service, which writes its audit row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gridgov.accounts.choices import Capability
from gridgov.accounts.models import Department
from gridgov.accounts.scope import scope_for, user_has_capability
from gridgov.accounts.services import department_create
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.cases.choices import Urgency
from gridgov.cases.forms_rules import (
    CalendarOverrideForm,
    CategoryCreateForm,
    CategoryRenameForm,
    DepartmentCategoriesForm,
    DepartmentCreateForm,
    SlaPolicyForm,
    form_error_text,
)
from gridgov.cases.models import Category, DepartmentCategory, SlaPolicy
from gridgov.cases.selectors import (
    calendar_overrides,
    category_code_chain,
    rules_cache_clear,
    sla_policy_for,
    working_calendar,
)
from gridgov.cases.services.config import (
    calendar_override_clear,
    calendar_override_set,
    category_create,
    category_rename,
    category_set_active,
    department_categories_set,
    sla_policy_clear,
    sla_policy_set,
)
from gridgov.core.http import HtmxHttpRequest

ViewFunc = Callable[..., HttpResponse]


def rules_admin_required(view: ViewFunc) -> ViewFunc:
    """Log in first; then only holders of `manage_case_rules` pass, everyone else gets 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_has_capability(request.user, Capability.MANAGE_CASE_RULES):
            raise PermissionDenied(_("只有系统管理员可以维护事项类别、时限规则与部门职责。"))
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _fresh_rules() -> None:
    """The admin must see the rules as they are in the database now, not this process's
    copy (another worker process may have saved a change a moment ago)."""
    rules_cache_clear()


def _category_or_404(code: str) -> Category:
    return get_object_or_404(Category.objects.select_related("parent"), code=code)


def _urgency_or_404(urgency: str) -> str:
    if urgency not in Urgency.values:
        raise Http404
    return urgency


# ------------------------------------------------------------------ categories


@dataclass
class PolicyPanel:
    """The effective policy of one category for one urgency, and its editor."""

    category: Category
    urgency: str
    label: str
    policy: SlaPolicy | None
    source: Category | None  # the node the policy belongs to (the category itself when own)
    form: SlaPolicyForm
    saved: bool = False
    cleared: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def own(self) -> bool:
        return self.source is not None and self.source.pk == self.category.pk

    @property
    def can_clear(self) -> bool:
        return self.own and self.category.parent_id is not None


def _effective_policy(
    category: Category, urgency: str, nodes: dict[int, Category]
) -> tuple[SlaPolicy | None, Category | None]:
    try:
        policy = sla_policy_for(category, urgency)
    except ValidationError:
        return None, None
    return policy, nodes.get(policy.category_id)


def _policy_panel(
    category: Category, urgency: str, nodes: dict[int, Category], *, form: SlaPolicyForm | None = None
) -> PolicyPanel:
    policy, source = _effective_policy(category, urgency, nodes)
    return PolicyPanel(
        category=category,
        urgency=urgency,
        label=str(Urgency(urgency).label),
        policy=policy,
        source=source,
        form=form or SlaPolicyForm(prefix=urgency, initial=SlaPolicyForm.initial_from(policy)),
    )


def _lineage(category: Category) -> dict[int, Category]:
    """The category and its ancestors, by id (the nodes its policies can come from)."""
    return {node.pk: node for node in Category.objects.filter(code__in=category_code_chain(category.code))}


@rules_admin_required
@require_GET
def category_list(request: HttpRequest) -> HttpResponse:
    return _category_list_page(request)


def _category_list_page(
    request: HttpRequest, *, form: CategoryCreateForm | None = None, status: int = 200
) -> HttpResponse:
    _fresh_rules()
    categories = list(Category.objects.order_by("code"))
    nodes = {category.pk: category for category in categories}
    owners: dict[int, list[Department]] = defaultdict(list)
    for link in DepartmentCategory.objects.select_related("department").order_by("department__code"):
        owners[link.category_id].append(link.department)
    rows = []
    for category in categories:
        cells = []
        for urgency, label in Urgency.choices:
            policy, source = _effective_policy(category, urgency, nodes)
            cells.append({"urgency": urgency, "label": label, "policy": policy, "source": source})
        rows.append(
            {
                "category": category,
                "indent": (len(category.code) // 2 - 1) * 1.5,
                "policies": cells,
                "departments": owners.get(category.pk, []),
            }
        )
    context = {"rows": rows, "form": form or CategoryCreateForm(), "urgencies": Urgency.choices}
    return render(request, "cases/rules/categories.html", context, status=status)


def _category_page(
    request: HttpRequest,
    category: Category,
    *,
    status: int = 200,
    rename_form: CategoryRenameForm | None = None,
    child_form: CategoryCreateForm | None = None,
    panel: PolicyPanel | None = None,
) -> HttpResponse:
    _fresh_rules()
    nodes = _lineage(category)
    panels = [
        panel if panel is not None and panel.urgency == urgency else _policy_panel(category, urgency, nodes)
        for urgency in Urgency.values
    ]
    lineage = sorted(nodes.values(), key=lambda node: node.code)
    owners = list(
        DepartmentCategory.objects.filter(category__in=lineage)
        .select_related("department__area", "category")
        .order_by("-category__code", "department__code")
    )
    context = {
        "category": category,
        "ancestors": [node for node in lineage if node.pk != category.pk],
        "children": list(category.children.order_by("code")),
        "panels": panels,
        "owners": owners,
        "rename_form": rename_form or CategoryRenameForm(initial={"name": category.name}),
        "child_form": child_form or CategoryCreateForm(),
    }
    return render(request, "cases/rules/category.html", context, status=status)


@rules_admin_required
@require_GET
def category_detail(request: HttpRequest, code: str) -> HttpResponse:
    return _category_page(request, _category_or_404(code))


@rules_admin_required
@require_POST
def category_create_view(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """Add a top-level class (no `code`) or a child of the category `code`."""
    parent = _category_or_404(code) if code is not None else None
    form = CategoryCreateForm(request.POST)
    if form.is_valid():
        try:
            category = category_create(
                actor=request.user, parent=parent, segment=form.cleaned_data["segment"], name=form.cleaned_data["name"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("已新增类别“%(code)s %(name)s”。") % {"code": category.code, "name": category.name}
            )
            return redirect("case_rules:category", code=category.code)
    if parent is None:
        return _category_list_page(request, form=form, status=400)
    return _category_page(request, parent, child_form=form, status=400)


@rules_admin_required
@require_POST
def category_rename_view(request: HttpRequest, code: str) -> HttpResponse:
    category = _category_or_404(code)
    form = CategoryRenameForm(request.POST)
    if form.is_valid():
        try:
            category_rename(actor=request.user, category=category, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("已更名为“%(name)s”。") % {"name": category.name})
            return redirect("case_rules:category", code=category.code)
    return _category_page(request, category, rename_form=form, status=400)


@rules_admin_required
@require_POST
def category_active_view(request: HttpRequest, code: str) -> HttpResponse:
    category = _category_or_404(code)
    is_active = request.POST.get("is_active") == "1"
    try:
        codes = category_set_active(actor=request.user, category=category, is_active=is_active)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if not codes:
            messages.info(request, _("没有需要变更的类别。"))
        elif is_active:
            messages.success(request, _("已启用%(count)d个类别。") % {"count": len(codes)})
        else:
            messages.success(
                request,
                _("已停用%(count)d个类别：新事项不能再选用，已登记的事项照常办理。") % {"count": len(codes)},
            )
    return redirect("case_rules:category", code=category.code)


def _policy_response(request: HtmxHttpRequest, category: Category, panel: PolicyPanel, *, status: int) -> HttpResponse:
    if request.htmx:
        return render(
            request, "cases/rules/category.html#policy", {"panel": panel, "category": category}, status=status
        )
    return _category_page(request, category, panel=panel, status=status)


@rules_admin_required
@require_POST
def sla_policy_set_view(request: HtmxHttpRequest, code: str, urgency: str) -> HttpResponse:
    category = _category_or_404(code)
    urgency = _urgency_or_404(urgency)
    form = SlaPolicyForm(request.POST, prefix=urgency)
    if form.is_valid():
        try:
            sla_policy_set(
                actor=request.user,
                category=category,
                urgency=urgency,
                unit=form.cleaned_data["unit"],
                limits=form.limits(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if not request.htmx:
                messages.success(request, _("已保存“%(label)s”的时限规则。") % {"label": Urgency(urgency).label})
                return redirect("case_rules:category", code=category.code)
            _fresh_rules()
            panel = _policy_panel(category, urgency, _lineage(category))
            panel.saved = True
            return _policy_response(request, category, panel, status=200)
    _fresh_rules()
    panel = _policy_panel(category, urgency, _lineage(category), form=form)
    return _policy_response(request, category, panel, status=400)


@rules_admin_required
@require_POST
def sla_policy_clear_view(request: HtmxHttpRequest, code: str, urgency: str) -> HttpResponse:
    category = _category_or_404(code)
    urgency = _urgency_or_404(urgency)
    errors: list[str] = []
    try:
        cleared = sla_policy_clear(actor=request.user, category=category, urgency=urgency)
    except ValidationError as error:
        errors = list(error.messages)
        cleared = False
    if not request.htmx:
        if errors:
            messages.error(request, " ".join(errors))
        elif cleared:
            messages.success(
                request, _("已删除“%(label)s”的本级规则，恢复继承上级。") % {"label": Urgency(urgency).label}
            )
        return redirect("case_rules:category", code=category.code)
    _fresh_rules()
    panel = _policy_panel(category, urgency, _lineage(category))
    panel.cleared = cleared
    panel.errors = errors
    return _policy_response(request, category, panel, status=400 if errors else 200)


# ------------------------------------------------------------------ departments


def _department_areas(user: Any) -> QuerySet[Area]:
    """Where the admin may create departments: the county and its towns/streets inside their scope."""
    scope = scope_for(user, Capability.MANAGE_CASE_RULES)
    return scope.filter(Area.objects.filter(level__in=[AreaLevel.DISTRICT, AreaLevel.TOWN])).order_by("path")


def _departments(user: Any) -> QuerySet[Department]:
    scope = scope_for(user, Capability.MANAGE_CASE_RULES)
    return scope.filter(Department.objects.select_related("area"), "area__path").order_by("area__path", "code")


def _department_list_page(
    request: HttpRequest, *, form: DepartmentCreateForm | None = None, status: int = 200
) -> HttpResponse:
    departments = list(_departments(request.user))
    owned: dict[int, list[Category]] = defaultdict(list)
    links = DepartmentCategory.objects.filter(department__in=departments).select_related("category")
    for link in links.order_by("category__code"):
        owned[link.department_id].append(link.category)
    rows = [{"department": department, "categories": owned[department.pk]} for department in departments]
    context = {"rows": rows, "form": form or DepartmentCreateForm(areas=_department_areas(request.user))}
    return render(request, "cases/rules/departments.html", context, status=status)


@rules_admin_required
@require_GET
def department_list(request: HttpRequest) -> HttpResponse:
    return _department_list_page(request)


@rules_admin_required
@require_POST
def department_create_view(request: HttpRequest) -> HttpResponse:
    form = DepartmentCreateForm(request.POST, areas=_department_areas(request.user))
    if form.is_valid():
        try:
            department = department_create(
                actor=request.user,
                area=form.cleaned_data["area"],
                code=form.cleaned_data["code"].strip(),
                name=form.cleaned_data["name"].strip(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("已新增部门“%(name)s”，请为它勾选负责的类别。") % {"name": department.name})
            return redirect("case_rules:department", department_id=department.pk)
    return _department_list_page(request, form=form, status=400)


@rules_admin_required
def department_detail(request: HttpRequest, department_id: int) -> HttpResponse:
    """The department's owned categories: GET shows the checklist, POST replaces the set."""
    department = get_object_or_404(_departments(request.user), pk=department_id)
    if request.method == "POST":
        form = DepartmentCategoriesForm(request.POST)
        if form.is_valid():
            department_categories_set(
                actor=request.user, department=department, categories=form.cleaned_data["categories"]
            )
            messages.success(request, _("已保存“%(name)s”负责的类别。") % {"name": department.name})
            return redirect("case_rules:department", department_id=department.pk)
        messages.error(request, form_error_text(form))
        status = 400
    elif request.method == "GET":
        status = 200
    else:
        return HttpResponse(status=405)
    owned = set(DepartmentCategory.objects.filter(department=department).values_list("category_id", flat=True))
    categories = [
        {"category": category, "indent": (len(category.code) // 2 - 1) * 1.5, "checked": category.pk in owned}
        for category in Category.objects.order_by("code")
    ]
    return render(
        request, "cases/rules/department.html", {"department": department, "categories": categories}, status=status
    )


# ------------------------------------------------------------------ working calendar


def _calendar_page(
    request: HttpRequest, *, form: CalendarOverrideForm | None = None, status: int = 200
) -> HttpResponse:
    _fresh_rules()
    calendar = working_calendar()
    builtin = replace(calendar, overrides={})
    this_year = timezone.localdate().year
    overrides = calendar_overrides()
    years = sorted(
        {this_year, this_year + 1} | {override.day.year for override in overrides if override.day.year >= this_year}
    )
    coverage = [
        {
            "year": year,
            "builtin": builtin.covers_year(year),
            "overrides": sum(1 for override in overrides if override.day.year == year),
        }
        for year in years
    ]
    context = {
        "overrides": overrides,
        "coverage": coverage,
        "next_year": this_year + 1,
        "next_year_uncovered": not calendar.covers_year(this_year + 1),
        "form": form or CalendarOverrideForm(),
    }
    return render(request, "cases/rules/calendar.html", context, status=status)


@rules_admin_required
@require_GET
def calendar_list(request: HttpRequest) -> HttpResponse:
    return _calendar_page(request)


@rules_admin_required
@require_POST
def calendar_override_set_view(request: HttpRequest) -> HttpResponse:
    form = CalendarOverrideForm(request.POST)
    if not form.is_valid():
        return _calendar_page(request, form=form, status=400)
    day: date = form.cleaned_data["day"]
    is_working_day = form.cleaned_data["kind"] == "workday"
    calendar_override_set(actor=request.user, day=day, is_working_day=is_working_day, note=form.cleaned_data["note"])
    label = _("工作日") if is_working_day else _("休息日")
    messages.success(request, _("已将 %(day)s 设为%(label)s。") % {"day": day.isoformat(), "label": label})
    return redirect("case_rules:calendar")


@rules_admin_required
@require_POST
def calendar_override_clear_view(request: HttpRequest, day: str) -> HttpResponse:
    try:
        parsed = date.fromisoformat(day)
    except ValueError as error:
        raise Http404 from error
    if calendar_override_clear(actor=request.user, day=parsed):
        messages.success(request, _("已清除 %(day)s 的调整。") % {"day": parsed.isoformat()})
    else:
        messages.info(request, _("%(day)s 没有调整记录。") % {"day": parsed.isoformat()})
    return redirect("case_rules:calendar")
