"""Pages of 美德信用积分: the staff review queue, a household's ledger (record, approve,
reverse), appeals, rankings, and the resident's own page (balance, history, appeal, opt-in).

Thin: households come from `household_get_for_user` (404 for out-of-scope and
unknown alike), every change goes through a service; errors are shown as messages.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Compound
from gridgov.cases.errors import CaseConflict
from gridgov.cases.selectors import case_get_for_user
from gridgov.credits.forms import AppealForm, RecordForm
from gridgov.credits.models import HouseholdAccount, RankingOptIn
from gridgov.credits.selectors import (
    appeals_open_for_user,
    balance_of,
    closed_cases_to_propose,
    entries_pending_for_user,
    entry_get_for_user,
    household_get_for_user,
    household_of_account,
    households_visible_to,
    item_areas_for,
    ledger_of,
    ranking,
    redemption_items_for,
    rule_areas_for,
    rules_for_area,
)
from gridgov.credits.services import (
    credit_appeal,
    credit_approve,
    credit_decide_appeal,
    credit_propose_from_case,
    credit_record,
    credit_redeem,
    credit_reverse,
    credit_year_close,
    household_account_link_by_phone,
    ranking_opt_in,
)
from gridgov.registry.models import Resident


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "；".join(str(message) for message in error.messages)
    return str(getattr(error, "message", "") or error)


def _act(request: HttpRequest, action: Any) -> bool:
    try:
        action()
    except (ValidationError, CaseConflict, PermissionDenied) as error:
        messages.error(request, _error_text(error))
        return False
    messages.success(request, _("已保存。"))
    return True


@login_required
@require_GET
def credits_home(request: HttpRequest) -> HttpResponse:
    """Staff: what waits for review, open appeals, closed cases to propose, and a household search."""
    user = request.user
    if scope_for(user, Capability.VIEW_PEOPLE).is_empty:
        return redirect("credits:mine")
    query = request.GET.get("q", "").strip()
    households = households_visible_to(user).select_related("grid")
    if query:
        households = households.filter(address__contains=query)
    return render(
        request,
        "credits/home.html",
        {
            "pending": entries_pending_for_user(user)[:100],
            "appeals": appeals_open_for_user(user)[:100],
            "cases": closed_cases_to_propose(user)[:50],
            "households": households[:30],
            "query": query,
            "counties": _counties_to_settle(user),
            "keeps_rules": rule_areas_for(user).exists(),
            "keeps_items": item_areas_for(user).exists(),
            "last_year": timezone.localdate().year - 1,
        },
    )


def _counties_to_settle(user: Any) -> list[Area]:
    return list(scope_for(user, Capability.SUPERVISE_CASES).filter(Area.objects.filter(level=AreaLevel.DISTRICT)))


@login_required
@require_POST
def year_close(request: HttpRequest) -> HttpResponse:
    user = request.user
    county = get_object_or_404(Area, pk=request.POST.get("county") or 0, level=AreaLevel.DISTRICT)
    if county not in _counties_to_settle(user):
        raise Http404
    try:
        year = int(request.POST.get("year", ""))
    except ValueError:
        messages.error(request, _("请填写年度。"))
    else:
        _act(request, lambda: credit_year_close(actor=user, county=county, year=year))
    return redirect("credits:home")


@login_required
def household_view(request: HttpRequest, household_id: int) -> HttpResponse:
    user = request.user
    household = household_get_for_user(user, household_id)
    residents = list(Resident.objects.filter(household=household, moved_out_on__isnull=True, died_on__isnull=True))
    rules = rules_for_area(household.grid)
    if request.method == "POST" and "link_phone" in request.POST:
        phone = request.POST.get("link_phone", "")
        _act(request, lambda: household_account_link_by_phone(actor=user, household=household, phone=phone))
        return redirect("credits:household", household_id=household.pk)
    form = RecordForm(request.POST or None, request.FILES or None, rules=rules, residents=residents)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        resident = next((r for r in residents if r.pk == data["resident"]), None)
        files = [data["evidence"]] if data["evidence"] else []

        def record() -> None:
            credit_record(
                actor=user,
                household=household,
                rule_code=data["rule_code"],
                points=data["points"],
                occurred_on=data["occurred_on"],
                resident=resident,
                note=data["note"],
                evidence=files,
            )

        _act(request, record)
        return redirect("credits:household", household_id=household.pk)
    return render(
        request,
        "credits/household.html",
        {
            "household": household,
            "balance": balance_of(household),
            "year_points": balance_of(household, year=timezone.localdate().year),
            "entries": ledger_of(household)[:200],
            "form": form,
            "rules": rules,
            "items": redemption_items_for(household.grid),
            "opted_in": RankingOptIn.objects.filter(household=household).exists(),
            "linked_accounts": HouseholdAccount.objects.filter(household=household).count(),
        },
    )


@login_required
def propose(request: HttpRequest, case_id: int) -> HttpResponse:
    """Propose a pending entry from a closed case: pick the household and the points."""
    user = request.user
    case = case_get_for_user(user, case_id)
    households = households_visible_to(user).filter(grid_id=case.grid_id)[:300]
    if request.method == "POST":
        try:
            household = household_get_for_user(user, int(request.POST.get("household") or 0))
            points = int(request.POST.get("points") or 0)
        except ValueError:
            messages.error(request, _("请选择住户并填写分值。"))
        else:
            done = _act(
                request,
                lambda: credit_propose_from_case(
                    actor=user, case=case, household=household, points=points, note=request.POST.get("note", "")
                ),
            )
            if done:
                return redirect("credits:home")
    rules = [rule for rule in rules_for_area(case.grid) if rule.case_category_id == case.category_id]
    return render(request, "credits/propose.html", {"case": case, "households": households, "rules": rules})


@login_required
@require_POST
def entry_action(request: HttpRequest, entry_id: int, action: str) -> HttpResponse:
    """approve / reject / reverse / uphold / overturn an entry (staff)."""
    user = request.user
    entry = entry_get_for_user(user, entry_id)
    household_get_for_user(user, entry.household_id)
    note = request.POST.get("note", "")
    actions = {
        "approve": lambda: credit_approve(actor=user, entry=entry),
        "reject": lambda: credit_approve(actor=user, entry=entry, approve=False),
        "reverse": lambda: credit_reverse(actor=user, entry=entry, note=note),
        "uphold": lambda: credit_decide_appeal(actor=user, entry=entry, reverse=False, note=note),
        "overturn": lambda: credit_decide_appeal(actor=user, entry=entry, reverse=True, note=note),
    }
    if action not in actions:
        raise Http404
    _act(request, actions[action])
    return redirect(request.POST.get("next") or reverse("credits:household", args=[entry.household_id]))


@login_required
@require_POST
def redeem_view(request: HttpRequest, household_id: int) -> HttpResponse:
    user = request.user
    own = household_of_account(user)
    household = own if own is not None and own.pk == household_id else household_get_for_user(user, household_id)
    item = get_object_or_404(redemption_items_for(household.grid), pk=request.POST.get("item"))
    _act(request, lambda: credit_redeem(actor=user, household=household, item=item))
    if own is not None and own.pk == household.pk:
        return redirect("credits:mine")
    return redirect("credits:household", household_id=household.pk)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """Resident: the linked household's balance and history, appeals and the ranking opt-in."""
    user = request.user
    household = household_of_account(user)
    if household is None:
        return render(request, "credits/mine.html", {"household": None})
    if request.method == "POST":
        if "opt_in" in request.POST:
            _act(request, lambda: ranking_opt_in(actor=user, household=household, opt_in=request.POST["opt_in"] == "1"))
        else:
            form = AppealForm(request.POST)
            if form.is_valid():
                entry = entry_get_for_user(user, int(request.POST.get("entry", "0") or 0))
                _act(request, lambda: credit_appeal(actor=user, entry=entry, reason=form.cleaned_data["reason"]))
            else:
                messages.error(request, _("请写明申诉理由。"))
        return redirect("credits:mine")
    return render(
        request,
        "credits/mine.html",
        {
            "household": household,
            "balance": balance_of(household),
            "year_points": balance_of(household, year=timezone.localdate().year),
            "entries": ledger_of(household)[:200],
            "opted_in": RankingOptIn.objects.filter(household=household).exists(),
            "items": redemption_items_for(household.grid),
            "appeal_form": AppealForm(),
        },
    )


@login_required
@require_GET
def evidence(request: HttpRequest, entry_id: int) -> FileResponse:
    entry = entry_get_for_user(request.user, entry_id)
    if not entry.evidence:
        raise Http404
    return FileResponse(entry.evidence.open("rb"), content_type="image/jpeg")


@login_required
@require_GET
def rankings(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = get_object_or_404(Compound.objects.select_related("grid"), pk=compound_id)
    if not scope_for(request.user, Capability.VIEW_AREAS).covers(compound.grid.path):
        raise Http404(_("记录不存在或无权查看。"))
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = timezone.localdate().year
    return render(
        request,
        "credits/rankings.html",
        {
            "compound": compound,
            "year": year,
            "compound_rows": ranking(year=year, compound=compound),
            "grid_rows": ranking(year=year, grid=compound.grid),
        },
    )
