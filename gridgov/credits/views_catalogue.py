"""Pages that keep the catalogue: the credit rules of a county or town (own rules and overrides
of the default catalogue) and the redemption items.

Thin: areas and items come from the `supervise_cases` scope (no such area at all → 403; an area
or item outside it, or unknown → 404); every change goes through a service, errors are shown.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from gridgov.credits.forms import ItemForm, RuleForm
from gridgov.credits.models import CreditEntry, CreditRule
from gridgov.credits.selectors import (
    catalogue_at,
    item_areas_for,
    item_get_for_user,
    items_managed_by,
    rule_area_get_for_user,
    rule_areas_for,
    rule_for_editing,
)
from gridgov.credits.services import redemption_item_create, redemption_item_update, rule_override
from gridgov.credits.views import _act


def _rule_values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data["name"],
        "category": data["category"],
        "points_min": data["points_min"],
        "points_max": data["points_max"],
        "evidence_required": data["evidence_required"],
        "yearly_cap": data["yearly_cap"],
        "active": data["active"],
    }


@login_required
def rules(request: HttpRequest, area_id: int | None = None) -> HttpResponse:
    """The catalogue in force at a county or town, and a form for a new rule or an override."""
    user = request.user
    areas = list(rule_areas_for(user))
    if not areas:
        raise PermissionDenied(_("只有区县、镇街工作人员可以维护积分规则。"))
    if area_id is None:
        return redirect("credits:rules_area", area_id=areas[0].pk)
    area = rule_area_get_for_user(user, area_id)
    form = RuleForm(request.POST or None, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        code = data["code"].strip().upper()
        if CreditRule.objects.filter(area=area, code=code).exists():
            messages.error(request, _("本级已有编码为“%(code)s”的规则，请在列表中点“修改”。") % {"code": code})
        elif _act(request, lambda: rule_override(actor=user, area=area, code=code, **_rule_values(data))):
            return redirect("credits:rules_area", area_id=area.pk)
    return render(
        request, "credits/rules.html", {"areas": areas, "area": area, "rows": catalogue_at(area), "form": form}
    )


@login_required
def rule_edit(request: HttpRequest, area_id: int, code: str) -> HttpResponse:
    """Edit the area's own rule, or override the rule in force there with the area's own version."""
    user = request.user
    area = rule_area_get_for_user(user, area_id)
    rule = rule_for_editing(area, code)
    if rule is None:
        raise Http404(_("记录不存在或无权查看。"))
    initial = {
        "code": rule.code,
        "name": rule.name,
        "category": rule.category,
        "points_min": rule.points_min,
        "points_max": rule.points_max,
        "evidence_required": rule.evidence_required,
        "yearly_cap": rule.yearly_cap,
        "active": rule.active,
    }
    form = RuleForm(request.POST or None, initial=initial)
    form.fields["code"].disabled = True
    overriding = rule.area_id != area.pk
    used = not overriding and CreditEntry.objects.filter(rule=rule).exists()
    if used:
        form.fields["points_min"].disabled = True
        form.fields["points_max"].disabled = True
    if request.method == "POST" and form.is_valid():
        values = _rule_values(form.cleaned_data)
        if _act(request, lambda: rule_override(actor=user, area=area, code=rule.code, **values)):
            return redirect("credits:rules_area", area_id=area.pk)
    return render(
        request,
        "credits/rule_edit.html",
        {"area": area, "rule": rule, "form": form, "overriding": overriding, "used": used},
    )


@login_required
def items(request: HttpRequest) -> HttpResponse:
    """The redemption items the user keeps, and a form for a new one."""
    user = request.user
    areas = list(item_areas_for(user))
    if not areas:
        raise PermissionDenied(_("只有社区、镇街或区县工作人员可以维护兑换物品。"))
    form = ItemForm(request.POST or None, areas=areas, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        area = next(area for area in areas if area.pk == data["area"])
        if _act(
            request,
            lambda: redemption_item_create(
                actor=user,
                area=area,
                name=data["name"],
                points_cost=data["points_cost"],
                stock=data["stock"],
                active=data["active"],
            ),
        ):
            return redirect("credits:items")
    return render(request, "credits/items.html", {"items": items_managed_by(user)[:500], "form": form})


@login_required
def item_edit(request: HttpRequest, item_id: int) -> HttpResponse:
    user = request.user
    item = item_get_for_user(user, item_id)
    initial = {
        "area": item.area_id,
        "name": item.name,
        "points_cost": item.points_cost,
        "stock": item.stock,
        "active": item.active,
    }
    form = ItemForm(request.POST or None, areas=[item.area], initial=initial)
    form.fields["area"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _act(
            request,
            lambda: redemption_item_update(
                actor=user,
                item=item,
                name=data["name"],
                points_cost=data["points_cost"],
                stock=data["stock"],
                active=data["active"],
            ),
        ):
            return redirect("credits:items")
    return render(request, "credits/item_edit.html", {"item": item, "form": form})
