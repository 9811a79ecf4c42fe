"""The residents' pages (/r/): phone login by code, report a problem (also from a
compound's QR code), my reports with their timeline, rate and reopen; and the
compound posters staff print.

Thin: reads through `gridgov.portal.selectors` (cases only via `cases_visible_to` /
`case_get_for_user`), writes through services; refusals are shown in Chinese.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Compound
from gridgov.areas.selectors import MAP_DECIMALS, areas_map_bounds
from gridgov.cases.errors import CaseConflict, CaseForbidden
from gridgov.cases.models import CaseAttachment
from gridgov.cases.selectors import case_actions_for
from gridgov.cases.services import case_rate, case_reopen
from gridgov.portal.choices import LocationMode
from gridgov.portal.forms import CodeForm, PhoneForm, RateForm, ReopenForm, ReportForm
from gridgov.portal.models import ResidentPhone
from gridgov.portal.selectors import (
    compound_by_token,
    identity_for_user,
    my_report_get,
    my_reports,
    plain_status,
    poster_compound_get_for_user,
    poster_compounds_for_user,
    resident_timeline,
)
from gridgov.portal.services import (
    ResidentReport,
    compound_qr_ensure,
    login_code_check,
    login_code_request,
    resident_compound_set,
    resident_phone_plaintext,
    resident_report_submit,
)

SESSION_IDENTITY = "portal_login_identity"
SESSION_COMPOUND = "portal_compound"
REPORTS_PER_PAGE = 10
POSTERS_PER_PAGE = 50
_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _client_ip(request: HttpRequest) -> str:
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or ""


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and value.startswith("/r/") and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}):
        return value
    return reverse("portal:home")


def _login_redirect(request: HttpRequest) -> HttpResponseRedirect:
    return redirect(f"{reverse('portal:login')}?{urlencode({'next': request.get_full_path()})}")


ResidentView = Callable[..., HttpResponse]


def resident_required(view: ResidentView) -> Callable[..., HttpResponse]:
    """Signed in with a resident phone identity, else to the phone login (staff accounts too)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        identity = identity_for_user(request.user)
        if identity is None:
            return _login_redirect(request)
        return view(request, identity, *args, **kwargs)

    return wrapped


def _session_compound(request: HttpRequest) -> Compound | None:
    compound_id = request.session.get(SESSION_COMPOUND)
    if not compound_id:
        return None
    return Compound.objects.select_related("grid").filter(pk=compound_id).first()


# --- Sign-in -----------------------------------------------------------------------


def login(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET" and identity_for_user(request.user) is not None:
        return redirect(next_url)
    status = 200
    if request.method == "POST":
        form = PhoneForm(request.POST)
        if form.is_valid():
            try:
                sent = login_code_request(phone=form.cleaned_data["phone"], client_ip=_client_ip(request))
            except ValidationError as refusal:
                form.add_error(None, " ".join(refusal.messages))
            else:
                request.session[SESSION_IDENTITY] = sent.identity.pk
                messages.success(request, _("验证码已发送到 %(masked)s。") % {"masked": sent.identity.phone_masked})
                return redirect(f"{reverse('portal:login_code')}?{urlencode({'next': next_url})}")
        status = 422
    else:
        form = PhoneForm()
    context = {"form": form, "next": next_url, "compound": _session_compound(request)}
    return render(request, "portal/login.html", context, status=status)


def _pending_identity(request: HttpRequest) -> ResidentPhone | None:
    identity_id = request.session.get(SESSION_IDENTITY)
    if not identity_id:
        return None
    return ResidentPhone.objects.filter(pk=identity_id).first()


def login_code(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    identity = _pending_identity(request)
    if identity is None:
        return redirect(f"{reverse('portal:login')}?{urlencode({'next': next_url})}")
    status = 200
    if request.method == "POST":
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                user = login_code_check(
                    identity=identity, code=form.cleaned_data["code"], compound=_session_compound(request)
                )
            except ValidationError as refusal:
                form.add_error("code", " ".join(refusal.messages))
            else:
                auth_login(request, user, backend=_MODEL_BACKEND)
                request.session.pop(SESSION_IDENTITY, None)
                return redirect(next_url)
        status = 422
    else:
        form = CodeForm()
    context = {"form": form, "next": next_url, "masked": identity.phone_masked}
    return render(request, "portal/login_code.html", context, status=status)


@require_POST
def login_resend(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next"))
    identity = _pending_identity(request)
    if identity is None:
        return redirect(f"{reverse('portal:login')}?{urlencode({'next': next_url})}")
    try:
        login_code_request(phone=resident_phone_plaintext(identity), client_ip=_client_ip(request))
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    else:
        messages.success(request, _("新的验证码已发送到 %(masked)s。") % {"masked": identity.phone_masked})
    return redirect(f"{reverse('portal:login_code')}?{urlencode({'next': next_url})}")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    return redirect("portal:login")


# --- Home and report --------------------------------------------------------------


@resident_required
def home(request: HttpRequest, identity: ResidentPhone) -> HttpResponse:
    recent = list(my_reports(request.user)[:3])
    for case in recent:
        case.plain_status = plain_status(case.status)  # type: ignore[attr-defined]
    return render(request, "portal/home.html", {"identity": identity, "recent": recent})


def compound_entry(request: HttpRequest, token: str) -> HttpResponse:
    """The address on a compound's poster: remember the compound, then the report page."""
    compound = compound_by_token(token)
    request.session[SESSION_COMPOUND] = compound.pk
    identity = identity_for_user(request.user)
    if identity is None:
        return _login_redirect(request)
    resident_compound_set(identity=identity, compound=compound)
    return _report_page(request, identity, compound)


@resident_required
def report(request: HttpRequest, identity: ResidentPhone) -> HttpResponse:
    return _report_page(request, identity, identity.compound)


def _map_config(compound: Compound | None) -> str:
    if compound is not None and compound.lon is not None and compound.lat is not None:
        center = [round(compound.lat, MAP_DECIMALS), round(compound.lon, MAP_DECIMALS)]
        return json.dumps({"center": center, "zoom": 17})
    grids = Area.objects.filter(level=AreaLevel.GRID)
    if compound is not None:
        bounds = areas_map_bounds(grids.filter(pk=compound.grid_id))
        if bounds is not None:
            return json.dumps({"bounds": bounds})
    bounds = areas_map_bounds(grids)
    return json.dumps({"bounds": bounds} if bounds is not None else {})


def _report_page(request: HttpRequest, identity: ResidentPhone, compound: Compound | None) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = ReportForm(request.POST, request.FILES, has_compound=compound is not None)
        idempotency_key = (request.POST.get("idempotency_key") or "")[:100] or uuid.uuid4().hex
        if form.is_valid():
            data = form.cleaned_data
            report_data = ResidentReport(
                problem=data["problem"],
                description=data["description"],
                location=data["location"],
                compound=compound,
                longitude=data["longitude"],
                latitude=data["latitude"],
                place_detail=data["place_detail"],
                reporter_name=data["reporter_name"],
                is_anonymous=data["is_anonymous"],
            )
            try:
                case, created = resident_report_submit(
                    actor=request.user,
                    identity=identity,
                    report=report_data,
                    idempotency_key=idempotency_key,
                    attachments=data["photos"],
                )
            except ValidationError as refusal:
                form.add_error(None, " ".join(refusal.messages))
            except (CaseConflict, CaseForbidden) as refusal:
                form.add_error(None, refusal.message)
                idempotency_key = uuid.uuid4().hex
            else:
                if created:
                    messages.success(
                        request, _("已收到您反映的问题，编号 %(number)s。我们会尽快处理。") % {"number": case.number}
                    )
                return redirect("portal:my_report", case_id=case.pk)
        status = 422
    else:
        form = ReportForm(has_compound=compound is not None)
        # One key per rendered form: a double tap or a re-sent POST gives the same case.
        idempotency_key = uuid.uuid4().hex
    context = {
        "form": form,
        "compound": compound,
        "idempotency_key": idempotency_key,
        "map_config": _map_config(compound),
        "pin_mode": LocationMode.PIN,
    }
    return render(request, "portal/report.html", context, status=status)


# --- My reports --------------------------------------------------------------------


@resident_required
def my_report_list(request: HttpRequest, identity: ResidentPhone) -> HttpResponse:
    page = Paginator(my_reports(request.user), REPORTS_PER_PAGE).get_page(request.GET.get("page"))
    for case in page.object_list:
        case.plain_status = plain_status(case.status)
    return render(request, "portal/my_list.html", {"page": page})


def _detail_context(request: HttpRequest, case_id: int, error: str = "", **forms: Any) -> dict[str, Any]:
    case = my_report_get(request.user, case_id)
    actions = set(case_actions_for(request.user, case))
    attachments = list(
        CaseAttachment.objects.filter(case=case, step__internal=False)
        .only("id", "original_name", "content_type")
        .order_by("id")
    )
    return {
        "case": case,
        "plain_status": plain_status(case.status),
        "steps": resident_timeline(case),
        "attachments": attachments,
        "can_rate": "rate" in actions,
        "can_reopen": "reopen" in actions,
        "rate_form": forms.get("rate_form") or RateForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "action_error": error,
    }


def _refused(request: HttpRequest, case_id: int, refusal: CaseConflict | CaseForbidden) -> HttpResponse:
    """The case's state (or a concurrent change) does not allow it: the page again, with the reason."""
    status = 409 if isinstance(refusal, CaseConflict) else 403
    context = _detail_context(request, case_id, error=refusal.message)
    return render(request, "portal/my_detail.html", context, status=status)


@resident_required
def my_report(request: HttpRequest, identity: ResidentPhone, case_id: int) -> HttpResponse:
    return render(request, "portal/my_detail.html", _detail_context(request, case_id))


@require_POST
@resident_required
def my_report_rate(request: HttpRequest, identity: ResidentPhone, case_id: int) -> HttpResponse:
    case = my_report_get(request.user, case_id)
    form = RateForm(request.POST)
    if form.is_valid():
        try:
            case_rate(actor=request.user, case=case, rating=form.cleaned_data["rating"], note=form.cleaned_data["note"])
        except ValidationError as refusal:
            form.add_error(None, " ".join(refusal.messages))
        except (CaseConflict, CaseForbidden) as refusal:
            return _refused(request, case_id, refusal)
        else:
            messages.success(request, _("感谢您的评价。"))
            return redirect("portal:my_report", case_id=case.pk)
    return render(request, "portal/my_detail.html", _detail_context(request, case_id, rate_form=form), status=422)


@require_POST
@resident_required
def my_report_reopen(request: HttpRequest, identity: ResidentPhone, case_id: int) -> HttpResponse:
    case = my_report_get(request.user, case_id)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            case_reopen(actor=request.user, case=case, reason=form.cleaned_data["reason"])
        except ValidationError as refusal:
            form.add_error(None, " ".join(refusal.messages))
        except (CaseConflict, CaseForbidden) as refusal:
            return _refused(request, case_id, refusal)
        else:
            messages.success(request, _("已重新交办，我们会继续处理。"))
            return redirect("portal:my_report", case_id=case.pk)
    return render(request, "portal/my_detail.html", _detail_context(request, case_id, reopen_form=form), status=422)


# --- Posters (staff) -----------------------------------------------------------------


@login_required
def poster_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(poster_compounds_for_user(request.user), POSTERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/poster_list.html", {"page": page})


@login_required
def poster(request: HttpRequest, compound_id: int) -> HttpResponse:
    compound = poster_compound_get_for_user(request.user, compound_id)
    qr = compound_qr_ensure(compound=compound)
    url = request.build_absolute_uri(reverse("portal:compound", args=[qr.token]))
    svg = segno.make(url, error="m").svg_inline(scale=8, border=4)
    return render(request, "portal/poster.html", {"compound": compound, "qr_svg": svg, "qr_url": url})
