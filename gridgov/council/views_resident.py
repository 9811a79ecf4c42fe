"""Residents' council pages (under /council/r/): the compound's public notice (公示) and proposals."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.council.selectors import compound_notice, proposal_get_for_resident, proposals_of_compound
from gridgov.council.services import proposal_create, proposal_support, proposal_threshold
from gridgov.portal.selectors import identity_for_user


def _identity_or_login(request: HttpRequest) -> object | HttpResponse:
    identity = identity_for_user(request.user)
    if identity is None:
        return redirect(f"{reverse('portal:login')}?next={request.path}")
    return identity


def notice(request: HttpRequest) -> HttpResponse:
    identity = _identity_or_login(request)
    if isinstance(identity, HttpResponse):
        return identity
    compound = identity.compound  # type: ignore[attr-defined]
    context = {
        "compound": compound,
        "threshold": proposal_threshold(),
        "notice": compound_notice(compound.pk) if compound else None,
        "proposals": list(proposals_of_compound(request.user, compound.pk)[:50]) if compound else [],
    }
    return render(request, "council/resident_notice.html", context)


@require_POST
def propose(request: HttpRequest) -> HttpResponse:
    identity = _identity_or_login(request)
    if isinstance(identity, HttpResponse):
        return identity
    try:
        proposal_create(actor=request.user, title=request.POST.get("title", ""), text=request.POST.get("text", ""))
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("提议已提交，邀请邻居一起支持吧。"))
    return redirect("council:resident_notice")


@require_POST
def support(request: HttpRequest, proposal_id: int) -> HttpResponse:
    identity = _identity_or_login(request)
    if isinstance(identity, HttpResponse):
        return identity
    compound = identity.compound  # type: ignore[attr-defined]
    if compound is None:
        messages.error(request, _("请先扫描小区二维码，确认您所在的小区。"))
        return redirect("council:resident_notice")
    proposal = proposal_get_for_resident(request.user, compound.pk, proposal_id)
    try:
        proposal_support(actor=request.user, proposal=proposal)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已支持。"))
    return redirect("council:resident_notice")
