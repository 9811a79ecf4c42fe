"""Party pages: the organisation tree, one organisation, the plaque, coverage."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building, Compound
from gridgov.core.http import HtmxHttpRequest
from gridgov.party.choices import ALLOWED_PARENTS, BRANCH_KINDS, OrgKind
from gridgov.party.forms import (
    ChildOrgForm,
    EndTermForm,
    MemberAppointForm,
    PlaqueForm,
    ResponsibilityForm,
    form_error_text,
)
from gridgov.party.models import PartyOrg
from gridgov.party.selectors import (
    area_get_for_user,
    can_see_member_names,
    coverage_for_user,
    lead_household_covered,
    member_get_for_user,
    org_get_for_user,
    org_members,
    org_tree,
    orgs_visible_to,
    responsibilities_visible_to,
)
from gridgov.party.services import grid_responsibility_assign, member_appoint, member_end_term, org_create, plaque_set
from gridgov.registry.models import Household, Resident


def _error(request: HttpRequest, exc: ValidationError | PermissionDenied) -> None:
    text = "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    messages.error(request, text)


@login_required
def org_list(request: HtmxHttpRequest) -> HttpResponse:
    area = area_get_for_user(request.user, request.GET.get("area") or None) if _has_scope(request) else None
    kind = request.GET.get("kind") or None
    orgs = list(orgs_visible_to(request.user, area=area, kind=kind)) if area else []
    context: dict[str, Any] = {
        "area": area,
        "kind": kind,
        "kinds": OrgKind.choices,
        "rows": org_tree(orgs),
        "responsibilities": list(responsibilities_visible_to(request.user, area)) if area else [],
    }
    if request.htmx and request.htmx.target == "org-results":
        return render(request, "party/org_list.html#results", context)
    return render(request, "party/org_list.html", context)


def _has_scope(request: HttpRequest) -> bool:
    return not scope_for(request.user, Capability.VIEW_AREAS).is_empty


def _party_residents(org: PartyOrg) -> list[tuple[int, str]]:
    residents = Resident.objects.filter(
        is_party_member=True,
        moved_out_on__isnull=True,
        died_on__isnull=True,
        household__grid__path__startswith=org.area.path,
    ).order_by("name", "id")[:500]
    return [(r.pk, r.name) for r in residents]


@login_required
def org_detail(request: HttpRequest, org_id: int) -> HttpResponse:
    org = org_get_for_user(request.user, org_id)
    show_names = can_see_member_names(request.user, org)
    members = list(org_members(org).select_related("resident")) if show_names else []
    context = {
        "org": org,
        "show_names": show_names,
        "members": members,
        "member_count": len(members) if show_names else org_members(org).count(),
        "children": list(org.children.filter(dissolved_on__isnull=True).order_by("kind", "name")),
        "covered": list(lead_household_covered(org)) if show_names and org.kind == OrgKind.LEAD_HOUSEHOLD else [],
        "appoint_form": MemberAppointForm(residents=_party_residents(org)) if show_names else None,
        "plaque_form": PlaqueForm(initial={"status": org.plaque_status}),
        "end_form": EndTermForm(),
        "child_form": _child_form(org) if show_names else None,
        "responsibility_form": _responsibility_form(org) if show_names else None,
        "responsible_for": list(org.responsible_for.select_related("grid", "member")),
    }
    return render(request, "party/org_detail.html", context)


@login_required
@require_POST
def org_member_appoint(request: HttpRequest, org_id: int) -> HttpResponse:
    org = org_get_for_user(request.user, org_id)
    form = MemberAppointForm(
        request.POST, residents=_party_residents(org) if can_see_member_names(request.user, org) else []
    )
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return redirect("party:org_detail", org_id=org.pk)
    data = form.cleaned_data
    resident = Resident.objects.filter(pk=data["resident"]).first() if data["resident"] else None
    try:
        member_appoint(
            actor=request.user,
            org=org,
            resident=resident,
            name=data["name"],
            post=data["post"],
            employer=data["employer"] or "",
            source=data["source"],
            term_start=data["term_start"],
            term_end=data["term_end"],
        )
    except (ValidationError, PermissionDenied) as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已任命。"))
    return redirect("party:org_detail", org_id=org.pk)


@login_required
@require_POST
def member_end_term_view(request: HttpRequest, member_id: int) -> HttpResponse:
    member = member_get_for_user(request.user, member_id)
    form = EndTermForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_error_text(form))
    else:
        try:
            member_end_term(
                actor=request.user,
                member=member,
                ended_on=form.cleaned_data["ended_on"],
                reason=form.cleaned_data["reason"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _error(request, exc)
        else:
            messages.success(request, _("任期已结束。"))
    return redirect("party:org_detail", org_id=member.org_id)


@login_required
@require_POST
def org_plaque_set(request: HttpRequest, org_id: int) -> HttpResponse:
    org = org_get_for_user(request.user, org_id)
    form = PlaqueForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_error_text(form))
    else:
        try:
            plaque_set(actor=request.user, org=org, status=form.cleaned_data["status"], on=form.cleaned_data["on"])
        except (ValidationError, PermissionDenied) as exc:
            _error(request, exc)
        else:
            messages.success(request, _("挂牌状态已更新。"))
    return redirect("party:org_detail", org_id=org.pk)


@login_required
def org_plaque(request: HttpRequest, org_id: int) -> HttpResponse:
    """The printable plaque of a lead household (党员中心户 挂牌亮户)."""
    org = org_get_for_user(request.user, org_id)
    if org.kind != OrgKind.LEAD_HOUSEHOLD:
        messages.error(request, _("只有党员中心户有门牌。"))
        return redirect("party:org_detail", org_id=org.pk)
    show_names = can_see_member_names(request.user, org)
    lead_member = org_members(org).first() if show_names else None
    branch = org.parent
    while branch is not None and branch.kind not in (OrgKind.COMPOUND_BRANCH, OrgKind.JOINT_BRANCH):
        branch = branch.parent
    return render(
        request,
        "party/plaque.html",
        {"org": org, "lead_member": lead_member, "branch": branch, "cover_count": org.covers.count()},
    )


@login_required
def coverage(request: HtmxHttpRequest) -> HttpResponse:
    has_scope = _has_scope(request)
    data = coverage_for_user(request.user, request.GET.get("area") or None) if has_scope else None
    context = {"coverage": data, "has_scope": has_scope}
    if request.htmx and request.htmx.target == "coverage-results":
        return render(request, "party/coverage.html#results", context)
    return render(request, "party/coverage.html", context)


CHOICES_SHOWN = 500


def _child_choices(org: PartyOrg) -> dict[str, Any]:
    """What a sub-organisation of `org` may cover: the kinds allowed under it and the parent's places."""
    kinds = [(k.value, k.label) for k in OrgKind if org.kind in ALLOWED_PARENTS[k]]
    compounds: list[tuple[int, str]] = []
    buildings: list[tuple[int, str]] = []
    households: list[tuple[int, str]] = []
    if org.kind == OrgKind.COMMUNITY_COMMITTEE:
        compounds = [
            (c.pk, f"{c.name}（{c.grid.name}）")
            for c in Compound.objects.filter(grid__path__startswith=org.area.path).select_related("grid")[
                :CHOICES_SHOWN
            ]
        ]
    if org.kind in BRANCH_KINDS:
        buildings = [
            (b.pk, f"{b.compound.name if b.compound else ''} {b.name}")
            for b in Building.objects.filter(compound__in=org.compounds.all()).select_related("compound")[
                :CHOICES_SHOWN
            ]
        ]
    if org.kind in (*BRANCH_KINDS, OrgKind.BUILDING_GROUP):
        homes = Household.objects.filter(moved_out_on__isnull=True, lead_cover__isnull=True)
        if org.kind == OrgKind.BUILDING_GROUP:
            homes = homes.filter(building__in=org.buildings.all())
        else:
            homes = homes.filter(compound__in=org.compounds.all())
        households = [(h.pk, h.address) for h in homes.order_by("building_id", "unit", "room", "id")[:CHOICES_SHOWN]]
    return {"kinds": kinds, "compounds": compounds, "buildings": buildings, "households": households}


def _child_form(org: PartyOrg, data: Any = None) -> ChildOrgForm | None:
    choices = _child_choices(org)
    return ChildOrgForm(data, **choices) if choices["kinds"] else None


def _responsibility_grids(org: PartyOrg) -> list[tuple[int, str]]:
    grids = Area.objects.filter(level=AreaLevel.GRID)
    if org.area.level == AreaLevel.GRID:
        grids = grids.filter(pk=org.area_id)
    else:
        grids = grids.filter(path__startswith=org.area.path)
    return [(g.pk, g.name) for g in grids.order_by("path")[:CHOICES_SHOWN]]


def _responsibility_form(org: PartyOrg, data: Any = None) -> ResponsibilityForm:
    members = [(m.pk, f"{m.name}（{m.get_post_display()}）") for m in org_members(org)]
    return ResponsibilityForm(data, grids=_responsibility_grids(org), members=members)


@login_required
@require_POST
def org_child_create(request: HttpRequest, org_id: int) -> HttpResponse:
    org = org_get_for_user(request.user, org_id)
    if not can_see_member_names(request.user, org):
        raise PermissionDenied(_("您无权维护该区域的党组织。"))
    form = _child_form(org, request.POST)
    if form is None or not form.is_valid():
        messages.error(request, form_error_text(form) if form is not None else _("该组织下不能再建下级组织。"))
        return redirect("party:org_detail", org_id=org.pk)
    data = form.cleaned_data
    household_id: int | None = data.get("household")
    try:
        child = org_create(
            actor=request.user,
            kind=data["kind"],
            name=data["name"],
            parent=org,
            compounds=list(Compound.objects.filter(pk__in=data.get("compounds") or []).select_related("grid")),
            buildings=list(Building.objects.filter(pk__in=data.get("buildings") or []).select_related("grid")),
            household=Household.objects.filter(pk=household_id).select_related("grid").first()
            if household_id is not None
            else None,
            covered=list(Household.objects.filter(pk__in=data.get("covered") or [])),
        )
    except (ValidationError, PermissionDenied) as exc:
        _error(request, exc)
        return redirect("party:org_detail", org_id=org.pk)
    messages.success(request, _("已建立下级组织。"))
    return redirect("party:org_detail", org_id=child.pk)


@login_required
@require_POST
def org_responsibility_assign(request: HttpRequest, org_id: int) -> HttpResponse:
    org = org_get_for_user(request.user, org_id)
    if not can_see_member_names(request.user, org):
        raise PermissionDenied(_("您无权维护该区域的党组织。"))
    form = _responsibility_form(org, request.POST)
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return redirect("party:org_detail", org_id=org.pk)
    data = form.cleaned_data
    member = org_members(org).filter(pk=data["member"]).first() if data["member"] else None
    try:
        grid_responsibility_assign(
            actor=request.user,
            grid=Area.objects.get(pk=data["grid"]),
            org=org,
            member=member,
            replace=data["replace"],
        )
    except (ValidationError, PermissionDenied) as exc:
        _error(request, exc)
    else:
        messages.success(request, _("已指定责任区。"))
    return redirect("party:org_detail", org_id=org.pk)
