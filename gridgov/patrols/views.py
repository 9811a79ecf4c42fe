"""Phone pages for patrols: home (start / continue), the patrol, the daily log and weekly coverage.

Thin: patrols are read through `patrol_get_for_user` (404 for out-of-scope and
unknown alike), every change goes through a service. Small changes (a check
item, a visited household) answer an HTMX partial; the rest post and redirect,
so the pages also work without JavaScript.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gridgov.areas.models import Area
from gridgov.cases.errors import CaseConflict
from gridgov.cases.models import Category
from gridgov.core.http import HtmxHttpRequest
from gridgov.patrols.choices import CheckResult, FindingStatus
from gridgov.patrols.forms import FindingForm, FinishForm, SettleForm, VisitForm
from gridgov.patrols.models import Patrol, PatrolFindingPhoto
from gridgov.patrols.selectors import (
    check_item_get,
    check_items,
    coverage_communities,
    coverage_community_get,
    daily_log,
    finding_get,
    log_worker_get_for_user,
    office_scope,
    open_patrol_of,
    patrol_get_for_user,
    patrol_households_search,
    patrol_list_for_user,
    patrol_scope,
    week_start,
    weekly_coverage,
    worker_grids,
)
from gridgov.patrols.services import (
    patrol_check_record,
    patrol_finding_add,
    patrol_finding_settle,
    patrol_finding_to_case,
    patrol_finish,
    patrol_start,
    patrol_visit_add,
)
from gridgov.registry.models import Household

PATROLS_PER_PAGE = 20
COMMUNITIES_PER_PAGE = 30
INLINE_PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "".join(error.messages)
    return str(getattr(error, "message", "") or error)


def _is_actor(request: HtmxHttpRequest, patrol: Patrol) -> bool:
    return patrol.is_open and patrol.worker_id == request.user.pk


# --- Home ---------------------------------------------------------------------------------


@login_required
def patrol_home(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    grids = worker_grids(user)
    if not grids and patrol_scope(user).is_empty:
        # Reachable from the menu by everyone; only grid workers and the staff above them have patrols.
        return render(request, "patrols/home.html", {"no_patrols": True})
    patrols = patrol_list_for_user(user, mine=bool(grids))
    page = Paginator(patrols, PATROLS_PER_PAGE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "grids": grids,
        "open_patrol": open_patrol_of(user) if grids else None,
        "page": page,
        "is_worker": bool(grids),
        "is_office": not office_scope(user).is_empty,
        "today": timezone.localdate(),
    }
    if request.htmx and request.htmx.target == "patrol-list":
        return render(request, "patrols/home.html#patrol_list", context)
    return render(request, "patrols/home.html", context)


@login_required
@require_POST
def patrol_start_view(request: HtmxHttpRequest) -> HttpResponse:
    grid = Area.objects.filter(pk=request.POST.get("grid") or 0).first()
    if grid is None:
        raise Http404
    try:
        patrol = patrol_start(actor=request.user, grid=grid)
    except (ValidationError, CaseConflict) as error:
        messages.error(request, _error_text(error))
        return redirect("patrols:home")
    messages.success(request, _("巡查已开始，注意安全。"))
    return redirect("patrols:detail", patrol_id=patrol.pk)


# --- One patrol -------------------------------------------------------------------------


def _check_rows(patrol: Patrol) -> list[dict[str, Any]]:
    done = {check.item_id: check for check in patrol.checks.all()}
    return [{"item": item, "check": done.get(item.pk)} for item in check_items()]


def _detail_context(
    request: HtmxHttpRequest, patrol: Patrol, finding_form: FindingForm | None = None
) -> dict[str, Any]:
    rows = _check_rows(patrol)
    initial: dict[str, Any] = {}
    item_id = request.GET.get("item", "")
    item = next((row["item"] for row in rows if item_id.isdigit() and row["item"].pk == int(item_id)), None)
    if item is not None:
        # "记录问题" from a checklist row: the finding form opens with the item and its usual category.
        initial["check_item"] = item.pk
        category = Category.objects.filter(code=item.category_code, is_active=True).first()
        if category is not None:
            initial["category"] = category.pk
    findings = list(patrol.findings.all())
    return {
        "patrol": patrol,
        "can_act": _is_actor(request, patrol),
        "rows": rows,
        "results": CheckResult.choices,
        "visits": list(patrol.visits.all()),
        "findings": findings,
        "pending": sum(1 for finding in findings if finding.status == FindingStatus.OPEN),
        "finding_form": finding_form or FindingForm(initial=initial),
        "finish_form": FinishForm(),
        "visit_form": VisitForm(),
        "open_finding": item is not None,
    }


@login_required
@require_GET
def patrol_detail(request: HtmxHttpRequest, patrol_id: int) -> HttpResponse:
    patrol = patrol_get_for_user(request.user, patrol_id)
    return render(request, "patrols/detail.html", _detail_context(request, patrol))


@login_required
@require_POST
def patrol_check(request: HtmxHttpRequest, patrol_id: int, item_id: int) -> HttpResponse:
    patrol = patrol_get_for_user(request.user, patrol_id)
    item = check_item_get(item_id)
    error = ""
    check = None
    try:
        check = patrol_check_record(actor=request.user, patrol=patrol, item=item, result=request.POST.get("result", ""))
    except (ValidationError, CaseConflict) as exc:
        error = _error_text(exc)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("patrols:detail", patrol_id=patrol.pk)
    context = {
        "patrol": patrol,
        "can_act": _is_actor(request, patrol),
        "row": {"item": item, "check": check or patrol.checks.filter(item=item).first()},
        "results": CheckResult.choices,
        "error": error,
    }
    return render(request, "patrols/detail.html#check_row", context, status=422 if error else 200)


@login_required
@require_GET
def patrol_households(request: HtmxHttpRequest, patrol_id: int) -> HttpResponse:
    patrol = patrol_get_for_user(request.user, patrol_id)
    if not _is_actor(request, patrol):
        raise Http404
    query = request.GET.get("q", "")[:50]
    context = {"patrol": patrol, "households": patrol_households_search(patrol, query), "query": query}
    return render(request, "patrols/detail.html#household_results", context)


@login_required
@require_POST
def patrol_visit(request: HtmxHttpRequest, patrol_id: int) -> HttpResponse:
    patrol = patrol_get_for_user(request.user, patrol_id)
    form = VisitForm(request.POST)
    error = ""
    if form.is_valid():
        household = None
        if form.cleaned_data["household"]:
            household = Household.objects.filter(pk=form.cleaned_data["household"], grid_id=patrol.grid_id).first()
            if household is None:
                error = _("该户不在本次巡查的网格内。")
        if not error:
            try:
                patrol_visit_add(
                    actor=request.user,
                    patrol=patrol,
                    household=household,
                    place=form.cleaned_data["place"],
                    note=form.cleaned_data["note"],
                )
            except (ValidationError, CaseConflict) as exc:
                error = _error_text(exc)
    else:
        error = _("请填写走访的地点。")
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("patrols:detail", patrol_id=patrol.pk)
    patrol = patrol_get_for_user(request.user, patrol_id)
    context = {
        "patrol": patrol,
        "can_act": _is_actor(request, patrol),
        "visits": list(patrol.visits.all()),
        "error": error,
    }
    return render(request, "patrols/detail.html#visits", context, status=422 if error else 200)


@login_required
@require_POST
def patrol_finding(request: HtmxHttpRequest, patrol_id: int) -> HttpResponse:
    patrol = patrol_get_for_user(request.user, patrol_id)
    form = FindingForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            finding = patrol_finding_add(
                actor=request.user,
                patrol=patrol,
                category=data["category"],
                description=data["description"],
                longitude=data["longitude"],
                latitude=data["latitude"],
                address=data["address"],
                check_item=data["check_item"],
                photos=data["photos"],
            )
        except (ValidationError, CaseConflict) as exc:
            form.add_error(None, _error_text(exc))
        else:
            return _after_finding(request, patrol, finding, data["then"], data["result"])
    context = _detail_context(request, patrol, finding_form=form)
    context["open_finding"] = True
    return render(request, "patrols/detail.html", context, status=422)


def _after_finding(request: HtmxHttpRequest, patrol: Patrol, finding: Any, then: str, result: str) -> HttpResponse:
    try:
        if then == "settle":
            patrol_finding_settle(actor=request.user, finding=finding, result=result)
            messages.success(request, _("已记录发现和现场处置结果。"))
        elif then == "case":
            case, _created = patrol_finding_to_case(actor=request.user, finding=finding)
            messages.success(request, _("已转为事项 %(number)s。") % {"number": case.number})
        else:
            messages.info(request, _("已记录发现，结束巡查前请现场处置或转为事项。"))
    except (ValidationError, CaseConflict) as exc:
        messages.error(request, _("发现已记录，但%(error)s") % {"error": _error_text(exc)})
    return redirect(f"{reverse('patrols:detail', args=[patrol.pk])}#findings")


@login_required
@require_POST
def patrol_finding_action(request: HtmxHttpRequest, patrol_id: int, finding_id: int, action: str) -> HttpResponse:
    patrol = patrol_get_for_user(request.user, patrol_id)
    finding = finding_get(patrol, finding_id)
    try:
        if action == "case":
            case, created = patrol_finding_to_case(actor=request.user, finding=finding)
            messages.success(request, _("已转为事项 %(number)s。") % {"number": case.number})
        elif action == "settle":
            form = SettleForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("请填写现场处置结果。"))
            patrol_finding_settle(actor=request.user, finding=finding, result=form.cleaned_data["result"])
            messages.success(request, _("已记录现场处置结果。"))
        else:
            raise Http404
    except (ValidationError, CaseConflict) as exc:
        messages.error(request, _error_text(exc))
    return redirect(f"{reverse('patrols:detail', args=[patrol.pk])}#findings")


@login_required
@require_GET
def patrol_photo(request: HtmxHttpRequest, patrol_id: int, photo_id: int) -> FileResponse:
    patrol = patrol_get_for_user(request.user, patrol_id)
    photo = get_object_or_404(PatrolFindingPhoto, pk=photo_id, finding__patrol=patrol)
    thumbnail = request.GET.get("thumb") == "1" and bool(photo.thumbnail)
    try:
        handle = (photo.thumbnail if thumbnail else photo.file).open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    content_type = "image/jpeg" if thumbnail else photo.content_type
    inline = content_type in INLINE_PHOTO_TYPES
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=photo.original_name,
        content_type=content_type if inline else "application/octet-stream",
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def patrol_finish_view(request: HtmxHttpRequest, patrol_id: int) -> HttpResponse:
    patrol = patrol_get_for_user(request.user, patrol_id)
    form = FinishForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("巡查记录不能超过2000个字。"))
        return redirect("patrols:detail", patrol_id=patrol.pk)
    try:
        raw_route = form.cleaned_data["route"]
        route = json.loads(raw_route) if raw_route else None
    except ValueError:
        route = None  # a garbled route from the phone must not stop the patrol from ending
    try:
        patrol_finish(actor=request.user, patrol=patrol, notes=form.cleaned_data["notes"], route=route)
    except ValidationError:
        patrol_finish(actor=request.user, patrol=patrol, notes=form.cleaned_data["notes"])
    except CaseConflict as exc:
        messages.error(request, _error_text(exc))
        return redirect("patrols:detail", patrol_id=patrol.pk)
    messages.success(request, _("巡查已结束，辛苦了。"))
    return redirect("patrols:detail", patrol_id=patrol.pk)


# --- Daily log and weekly coverage -----------------------------------------------------------


def _parse_day(raw: str | None, default: date) -> date:
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


@login_required
@require_GET
def patrol_log(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    if patrol_scope(user).is_empty:
        raise Http404
    day = _parse_day(request.GET.get("day"), timezone.localdate())
    worker_raw = request.GET.get("worker", "")
    worker = log_worker_get_for_user(user, int(worker_raw)) if worker_raw.isdigit() else user
    patrols = daily_log(user, worker=worker, day=day)
    findings = [finding for patrol in patrols for finding in patrol.findings.all()]
    context = {
        "worker": worker,
        "day": day,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1) if day < timezone.localdate() else None,
        "patrols": patrols,
        "problems": [
            check for patrol in patrols for check in patrol.checks.all() if check.result == CheckResult.PROBLEM
        ],
        "findings": findings,
        "settled": [finding for finding in findings if finding.status == FindingStatus.SETTLED],
        "cased": [finding for finding in findings if finding.status == FindingStatus.CASE],
        "visit_count": sum(len(patrol.visits.all()) for patrol in patrols),
    }
    return render(request, "patrols/log.html", context)


@login_required
@require_GET
def coverage_index(request: HtmxHttpRequest) -> HttpResponse:
    communities = coverage_communities(request.user).select_related("parent").order_by("path")
    if office_scope(request.user).is_empty:
        raise Http404
    page = Paginator(communities, COMMUNITIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "patrols/coverage_index.html", {"page": page})


@login_required
@require_GET
def coverage(request: HtmxHttpRequest, code: str) -> HttpResponse:
    community = coverage_community_get(request.user, code)
    week = week_start(_parse_day(request.GET.get("week"), timezone.localdate()))
    rows = weekly_coverage(community, week=week)
    households = sum(row.households for row in rows)
    visited = sum(row.visited for row in rows)
    context = {
        "community": community,
        "week": week,
        "week_end": week + timedelta(days=6),
        "previous_week": week - timedelta(days=7),
        "next_week": week + timedelta(days=7) if week + timedelta(days=7) <= timezone.localdate() else None,
        "rows": rows,
        "households": households,
        "visited": visited,
        "percent": round(100 * visited / households, 1) if households else 0.0,
    }
    return render(request, "patrols/coverage.html", context)
