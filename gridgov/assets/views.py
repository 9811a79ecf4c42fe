"""Pages of 两房两共 清收管用: compounds in scope with alerts, a compound's register and
ledger (register an asset, add a contract, book income/expense, reverse), and the
quarterly disclosure residents of the compound can read.

Thin: compounds come from `compound_get_for_user` (404 for out-of-scope and
unknown alike); every change goes through a service.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.assets.choices import DiscrepancyKind
from gridgov.assets.exporting import compound_workbook
from gridgov.assets.forms import AssetForm, ContractForm, LedgerForm
from gridgov.assets.models import LedgerEntry
from gridgov.assets.selectors import (
    asset_scope,
    assets_visible_to,
    campaigns_visible_to,
    compound_for_disclosure,
    compound_get_for_user,
    compounds_visible_to,
    contract_alerts,
    decisions_for_ledger,
    disclosure,
    ledger_of,
    recovery_tasks_visible_to,
)
from gridgov.assets.services import (
    AssetSpec,
    asset_documents_add,
    asset_register,
    campaign_start,
    contract_create,
    finding_add,
    ledger_import,
    ledger_record,
    ledger_reverse,
    recovery_finish,
)
from gridgov.cases.errors import CaseConflict


def _act(request: HttpRequest, action: Any) -> bool:
    try:
        action()
    except ValidationError as error:
        messages.error(request, "；".join(str(message) for message in error.messages))
    except (CaseConflict, PermissionDenied) as error:
        messages.error(request, str(getattr(error, "message", "") or error))
    else:
        messages.success(request, _("已保存。"))
        return True
    return False


@login_required
@require_GET
def assets_home(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "assets/home.html",
        {
            "compounds": compounds_visible_to(user)[:200],
            "alerts": contract_alerts(user, timezone.localdate()),
            "tasks": recovery_tasks_visible_to(user).filter(status="open")[:100],
        },
    )


@login_required
def compound_view(request: HttpRequest, compound_id: int) -> HttpResponse:
    user = request.user
    compound = compound_get_for_user(user, compound_id)
    asset_form = AssetForm(prefix="asset")
    decisions = list(decisions_for_ledger(user, compound)[:100])
    ledger_form = LedgerForm(prefix="ledger", decisions=decisions)
    if request.method == "POST":
        if "ledger_file" in request.FILES:
            upload = request.FILES.get("ledger_file")
            assert upload is not None  # noqa: S101 (checked just above)
            if _act(request, lambda: ledger_import(actor=user, compound=compound, content=upload.read())):
                return redirect("assets:compound", compound_id=compound.pk)
        elif "asset-name" in request.POST:
            asset_form = AssetForm(request.POST, request.FILES, prefix="asset")
            if asset_form.is_valid():
                data = asset_form.cleaned_data

                def register() -> None:
                    asset = asset_register(
                        actor=user,
                        spec=AssetSpec(
                            compound=compound,
                            kind=data["kind"],
                            name=data["name"],
                            location=data["location"],
                            floor_area=data["floor_area"],
                            current_use=data["current_use"],
                            occupant=data["occupant"],
                            status=data["status"],
                        ),
                    )
                    if data["photos"]:
                        asset_documents_add(actor=user, asset=asset, files=[data["photos"]])

                if _act(request, register):
                    return redirect("assets:compound", compound_id=compound.pk)
        else:
            ledger_form = LedgerForm(request.POST, request.FILES, prefix="ledger", decisions=decisions)
            if ledger_form.is_valid():
                data = ledger_form.cleaned_data
                decision = next((d for d in decisions if d.pk == data["decision"]), None)
                if _act(
                    request,
                    lambda: ledger_record(
                        actor=user,
                        compound=compound,
                        item=data["item"],
                        amount=data["amount"],
                        occurred_on=data["occurred_on"],
                        description=data["description"],
                        decision=decision,
                        decision_reference=data["decision_reference"],
                        voucher=[data["voucher"]] if data["voucher"] else [],
                    ),
                ):
                    return redirect("assets:compound", compound_id=compound.pk)
    today = timezone.localdate()
    return render(
        request,
        "assets/compound.html",
        {
            "compound": compound,
            "assets": assets_visible_to(user).filter(compound=compound).prefetch_related("contracts"),
            "entries": ledger_of(compound)[:300],
            "asset_form": asset_form,
            "ledger_form": ledger_form,
            "year": today.year,
            "quarter": (today.month - 1) // 3 + 1,
        },
    )


@login_required
def asset_view(request: HttpRequest, asset_id: int) -> HttpResponse:
    user = request.user
    asset = get_object_or_404(assets_visible_to(user), pk=asset_id)
    form = ContractForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _act(request, lambda: contract_create(actor=user, asset=asset, **data)):
            return redirect("assets:asset", asset_id=asset.pk)
    return render(
        request,
        "assets/asset.html",
        {
            "asset": asset,
            "contracts": asset.contracts.all(),
            "documents": asset.documents.all(),
            "tasks": asset.recovery_tasks.all(),
            "form": form,
        },
    )


@login_required
def campaigns(request: HttpRequest) -> HttpResponse:
    """清查盘点: the campaigns in scope, and starting one over a community or town."""
    user = request.user
    areas = asset_scope(user).filter(Area.objects.filter(level__in=[AreaLevel.TOWN, AreaLevel.COMMUNITY]))
    if request.method == "POST":
        area = get_object_or_404(areas, pk=request.POST.get("area") or 0)
        title = request.POST.get("title", "")
        if _act(request, lambda: campaign_start(actor=user, area=area, title=title, started_on=timezone.localdate())):
            return redirect("assets:campaigns")
    return render(
        request,
        "assets/campaigns.html",
        {"campaigns": campaigns_visible_to(user)[:100], "areas": areas[:200]},
    )


@login_required
def campaign_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """One campaign: its findings; record a discrepancy (an occupied asset opens a recovery task)."""
    user = request.user
    campaign = get_object_or_404(campaigns_visible_to(user), pk=campaign_id)
    compounds = compounds_visible_to(user).filter(grid__path__startswith=campaign.area.path)
    if request.method == "POST":
        compound = get_object_or_404(compounds, pk=request.POST.get("compound") or 0)
        asset_id = request.POST.get("asset") or None
        asset = get_object_or_404(assets_visible_to(user), pk=asset_id, compound=compound) if asset_id else None
        kind, note = request.POST.get("kind", ""), request.POST.get("note", "")
        if kind not in DiscrepancyKind.values:
            messages.error(request, _("请选择差异类型。"))
        elif _act(
            request,
            lambda: finding_add(actor=user, campaign=campaign, compound=compound, asset=asset, kind=kind, note=note),
        ):
            return redirect("assets:campaign", campaign_id=campaign.pk)
    return render(
        request,
        "assets/campaign.html",
        {
            "campaign": campaign,
            "findings": campaign.findings.select_related("compound", "asset"),
            "compounds": compounds[:200],
            "assets": assets_visible_to(user).filter(compound__in=compounds)[:500],
            "kinds": DiscrepancyKind.choices,
        },
    )


@login_required
@require_POST
def task_finish(request: HttpRequest, task_id: int) -> HttpResponse:
    user = request.user
    task = get_object_or_404(recovery_tasks_visible_to(user), pk=task_id)
    recovered = request.POST.get("recovered") == "1"
    _act(
        request,
        lambda: recovery_finish(actor=user, task=task, recovered=recovered, result=request.POST.get("result", "")),
    )
    return redirect("assets:asset", asset_id=task.asset_id)


@login_required
@require_GET
def compound_export(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = compound_get_for_user(request.user, compound_id)
    response = HttpResponse(
        compound_workbook(compound), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    filename = quote(f"{compound.name}_{_('公共资产台账')}_{timezone.localdate():%Y%m%d}.xlsx")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


@login_required
@require_POST
def entry_reverse(request: HttpRequest, entry_id: int) -> HttpResponse:
    user = request.user
    entry = get_object_or_404(LedgerEntry.objects.select_related("compound__grid"), pk=entry_id)
    compound = compound_get_for_user(user, entry.compound_id)
    _act(request, lambda: ledger_reverse(actor=user, entry=entry, reason=request.POST.get("reason", "")))
    return redirect("assets:compound", compound_id=compound.pk)


@login_required
@require_GET
def disclosure_view(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = compound_for_disclosure(request.user, compound_id)
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year", today.year))
        quarter = int(request.GET.get("quarter", (today.month - 1) // 3 + 1))
    except ValueError:
        year, quarter = today.year, (today.month - 1) // 3 + 1
    report = disclosure(compound, year, quarter)
    previous = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    following = (year, quarter + 1) if quarter < 4 else (year + 1, 1)
    return render(request, "assets/disclosure.html", {"report": report, "previous": previous, "following": following})
