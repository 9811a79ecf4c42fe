"""Registry pages: households list, household card, the audited reveal, tag roll-up,
and the card's lifecycle actions (visits, moving out, deaths)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.areas.selectors import buildings_of_area
from gridgov.core.http import HtmxHttpRequest
from gridgov.registry.forms import (
    HouseholdMoveOutForm,
    ResidentDeathForm,
    ResidentMoveOutForm,
    VisitForm,
    form_error_text,
)
from gridgov.registry.models import Household, Resident, Tag
from gridgov.registry.selectors import (
    HouseholdFilters,
    hidden_tag_ids_for,
    household_get_for_user,
    household_list_for_user,
    household_members,
    household_visits,
    people_area_get_for_user,
    people_scope,
    resident_get_for_user,
    tag_rollup_for_user,
)
from gridgov.registry.services import (
    household_move_out,
    household_visit_record,
    resident_move_out,
    resident_record_death,
    resident_reveal,
)

HOUSEHOLDS_PER_PAGE = 50


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _head(household: Household) -> Resident | None:
    members = list(household.members.all())
    return next((m for m in members if m.relation == "head"), members[0] if members else None)


def _filter_grid(request: HttpRequest, filters: HouseholdFilters) -> Area | None:
    """The grid whose buildings and micro-grids the filter offers: the one asked
    for, or the user's only grid (a grid worker's usual case)."""
    scope = people_scope(request.user)
    if filters.area_code:
        area = Area.objects.filter(code=filters.area_code, level=AreaLevel.GRID).first()
        return area if area is not None and scope.covers(area.path) else None
    if len(scope.paths) == 1:
        return Area.objects.filter(path=scope.paths[0], level=AreaLevel.GRID).first()
    return None


@login_required
def household_list(request: HtmxHttpRequest) -> HttpResponse:
    filters = HouseholdFilters(
        area_code=request.GET.get("area") or None,
        building_id=_int_or_none(request.GET.get("building")),
        microgrid_code=request.GET.get("microgrid") or None,
        tag_code=request.GET.get("tag") or None,
        query=request.GET.get("q", "")[:50],
    )
    page = Paginator(
        household_list_for_user(request.user, filters).order_by("grid__code", "address", "id"), HOUSEHOLDS_PER_PAGE
    ).get_page(request.GET.get("page"))
    rows = []
    for household in page.object_list:
        hidden = hidden_tag_ids_for(request.user, household.grid.path)
        rows.append(
            {
                "household": household,
                "head": _head(household),
                "member_count": len(household.members.all()),
                "tags": [tag for tag in household.tags.all() if tag.pk not in hidden],
            }
        )
    grid = _filter_grid(request, filters)
    query_without_page = request.GET.copy()
    query_without_page.pop("page", None)
    context: dict[str, Any] = {
        "page": page,
        "rows": rows,
        "filters": filters,
        "has_scope": not people_scope(request.user).is_empty,
        "tags": Tag.objects.select_related("group").filter(group__sensitive=False),
        "filter_grid": grid,
        "buildings": buildings_of_area(grid).select_related("compound") if grid else [],
        "microgrids": Area.objects.filter(parent=grid, level=AreaLevel.MICROGRID) if grid else [],
        "querystring": query_without_page.urlencode(),
    }
    if request.htmx and request.htmx.target == "household-results":
        return render(request, "registry/household_list.html#results", context)
    return render(request, "registry/household_list.html", context)


@login_required
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    household = household_get_for_user(request.user, household_id)
    hidden = hidden_tag_ids_for(request.user, household.grid.path)
    today = date.today()  # noqa: DTZ011 (ages are calendar arithmetic)
    members = [
        {
            "resident": resident,
            "age": _age(resident.birth_date, today),
            "tags": [tag for tag in resident.tags.all() if tag.pk not in hidden],
        }
        for resident in household_members(household)
    ]
    context = {
        "household": household,
        "household_tags": [tag for tag in household.tags.all() if tag.pk not in hidden],
        "members": members,
        "can_reveal": scope_for(request.user, Capability.REVEAL_PERSONAL).covers(household.grid.path),
        **_visits_context(household),
    }
    return render(request, "registry/household_detail.html", context)


@login_required
@require_POST
def resident_reveal_view(request: HttpRequest, resident_id: int) -> HttpResponse:
    resident = resident_get_for_user(request.user, resident_id)
    context: dict[str, Any] = {"resident": resident}
    try:
        context["revealed"] = resident_reveal(
            actor=request.user, resident=resident, purpose=request.POST.get("purpose", "")[:200]
        )
    except ValidationError as error:
        context["error"] = " ".join(error.messages)
        return render(request, "registry/_reveal.html", context, status=400)
    except PermissionDenied as error:
        context["error"] = str(error)
        return render(request, "registry/_reveal.html", context, status=403)
    return render(request, "registry/_reveal.html", context)


@login_required
def area_tags(request: HttpRequest, code: str) -> HttpResponse:
    area = people_area_get_for_user(request.user, code)
    return render(request, "registry/area_tags.html", {"area": area, "rows": tag_rollup_for_user(request.user, area)})


# ------------------------------------------------------------------ lifecycle
#
# Whoever may open the card (a VIEW_PEOPLE scope covering the household) may
# record visits, move-outs and deaths on it; the scoped selectors answer 404
# to everyone else before anything is read from the form.


def _visits_context(household: Household, *, form: VisitForm | None = None, saved: bool = False) -> dict[str, Any]:
    return {
        "household": household,
        "visits": household_visits(household),
        "visit_form": form or VisitForm(initial={"visited_on": timezone.localdate()}),
        "visit_saved": saved,
    }


@login_required
@require_POST
def household_visit_view(request: HtmxHttpRequest, household_id: int) -> HttpResponse:
    """Record a visit. HTMX gets the visits section back (errors included, with status 200 so
    that htmx swaps it in); a plain form post is redirected to the card with a message."""
    household = household_get_for_user(request.user, household_id)
    form = VisitForm(request.POST)
    saved = False
    if form.is_valid():
        try:
            household_visit_record(
                actor=request.user,
                household=household,
                visited_on=form.cleaned_data["visited_on"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            saved = True
    if request.htmx:
        context = _visits_context(household, form=None if saved else form, saved=saved)
        return render(request, "registry/household_detail.html#visits", context)
    if saved:
        messages.success(request, _("已记录走访。"))
    else:
        messages.error(request, form_error_text(form))
    return redirect("registry:household_detail", household_id=household.pk)


def _other_members(resident: Resident) -> QuerySet[Resident]:
    """Candidates for the new head: the other current members of the resident's (scoped) household."""
    return household_members(resident.household).exclude(pk=resident.pk)


@login_required
@require_POST
def resident_move_out_view(request: HttpRequest, resident_id: int) -> HttpResponse:
    resident = resident_get_for_user(request.user, resident_id)
    form = ResidentMoveOutForm(request.POST, candidates=_other_members(resident))
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return redirect("registry:household_detail", household_id=resident.household_id)
    try:
        resident_move_out(
            actor=request.user,
            resident=resident,
            moved_out_on=form.cleaned_data["moved_out_on"],
            reason=form.cleaned_data["reason"],
            new_head=form.cleaned_data["new_head"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已为%(name)s办理迁出。") % {"name": resident.name})
    return redirect("registry:household_detail", household_id=resident.household_id)


@login_required
@require_POST
def resident_death_view(request: HttpRequest, resident_id: int) -> HttpResponse:
    resident = resident_get_for_user(request.user, resident_id)
    form = ResidentDeathForm(request.POST, candidates=_other_members(resident))
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return redirect("registry:household_detail", household_id=resident.household_id)
    try:
        resident_record_death(
            actor=request.user,
            resident=resident,
            died_on=form.cleaned_data["died_on"],
            new_head=form.cleaned_data["new_head"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("已登记%(name)s死亡。") % {"name": resident.name})
    return redirect("registry:household_detail", household_id=resident.household_id)


@login_required
@require_POST
def household_move_out_view(request: HttpRequest, household_id: int) -> HttpResponse:
    """Move the whole household out; on success back to the list, which no longer shows it."""
    household = household_get_for_user(request.user, household_id)
    form = HouseholdMoveOutForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return redirect("registry:household_detail", household_id=household.pk)
    try:
        household_move_out(
            actor=request.user,
            household=household,
            moved_out_on=form.cleaned_data["moved_out_on"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("registry:household_detail", household_id=household.pk)
    messages.success(request, _("“%(address)s”已整户迁出。") % {"address": household.address})
    return redirect("registry:household_list")
