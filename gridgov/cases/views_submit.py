"""Pages that bring files and new cases in: a case's attachments and the new-case form.

Same rules as `views`: reads through `case_get_for_user`, writes through services.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import AreaScope, scope_for
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.areas.selectors import areas_map_bounds, grid_at
from gridgov.cases.choices import CaseSource
from gridgov.cases.errors import CaseConflict, CaseForbidden
from gridgov.cases.forms import CaseNewForm
from gridgov.cases.images import AttachmentSizeLimitHandler
from gridgov.cases.models import CaseAttachment, Category
from gridgov.cases.rules import intake_sources
from gridgov.cases.selectors import case_get_for_user, category_tree
from gridgov.cases.services import CaseInput, case_submit
from gridgov.cases.views import reporter_view
from gridgov.core.http import HtmxHttpRequest

# Grid outlines drawn on the new-case map; beyond this the map shows only the area's extent.
MAP_OUTLINES_MAX = 200
INLINE_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
# Fields of the new-case form a link may fill in beforehand (`/cases/new/?category=…&longitude=…`).
PREFILL_FIELDS = ("kind", "category", "urgency", "title", "description", "longitude", "latitude", "address", "grid")


@login_required
def case_attachment(request: HtmxHttpRequest, case_id: int, attachment_id: int) -> FileResponse:
    """A photo or document of a case, for those who may see the case (and the step it belongs to).

    `?size=thumb` gives a photo's small JPEG (lists, timelines); the full photo otherwise.
    """
    case = case_get_for_user(request.user, case_id)
    attachments = CaseAttachment.objects.filter(case=case)
    if reporter_view(request.user, case):
        attachments = attachments.filter(step__internal=False)
    attachment = get_object_or_404(attachments, pk=attachment_id)
    stored, content_type, filename = attachment.file, attachment.content_type, attachment.original_name
    if request.GET.get("size") == "thumb":
        if attachment.thumbnail:
            stored, content_type = attachment.thumbnail, "image/jpeg"
            filename = f"thumb-{attachment.pk}.jpg"
        elif content_type not in INLINE_CONTENT_TYPES:
            raise Http404
    try:
        handle = stored.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    inline = content_type in INLINE_CONTENT_TYPES
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=filename,
        content_type=content_type if inline else "application/octet-stream",
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- New case ------------------------------------------------------------------------


def _newcase_staff_scope(user: Any, sources: list[str]) -> AreaScope:
    """Where the user may place a new case: staff inside their case scope, residents where they live."""
    if sources == [CaseSource.RESIDENT]:
        return scope_for(user, Capability.VIEW_AREAS)
    return scope_for(user, Capability.VIEW_CASES)


def _new_case_map(grids: QuerySet[Area]) -> str:
    outlines = []
    if grids.count() <= MAP_OUTLINES_MAX:
        outlines = [
            {"type": "Feature", "geometry": grid.geometry, "properties": {"name": grid.name}}
            for grid in grids.exclude(geometry=None)
        ]
    return json.dumps({"bounds": areas_map_bounds(grids), "outlines": outlines})


@csrf_exempt
def case_new(request: HtmxHttpRequest) -> HttpResponse:
    """The new-case form. A photo over the size limit stops being received once it passes it:
    the size handler has to be in place before the CSRF check reads the body, hence the order."""
    request.upload_handlers = [AttachmentSizeLimitHandler(request), *request.upload_handlers]
    return _case_new(request)


@csrf_protect
@login_required
def _case_new(request: HtmxHttpRequest) -> HttpResponse:
    user = request.user
    sources = intake_sources(user)
    if not sources:
        raise PermissionDenied(_("您的角色不能登记事项。"))
    scope = _newcase_staff_scope(user, sources)
    grids = scope.filter(Area.objects.filter(level=AreaLevel.GRID)).select_related("parent").order_by("path")
    categories: list[Category] = category_tree()
    status = 200
    if request.method == "POST":
        form = CaseNewForm(request.POST, request.FILES, sources=sources, categories=categories, grids=grids)
        idempotency_key = (request.POST.get("idempotency_key") or "")[:100] or uuid.uuid4().hex
        if form.is_valid():
            created = _submit(request, form, scope, idempotency_key)
            if created is not None:
                return created
            if form.has_error("__all__", code="reused_key"):
                idempotency_key = uuid.uuid4().hex
        status = 422
    else:
        # A link may prefill the form (a patrol finding: its place, category and words).
        initial = {name: request.GET[name][:200] for name in PREFILL_FIELDS if request.GET.get(name)}
        form = CaseNewForm(initial=initial, sources=sources, categories=categories, grids=grids)
        # One key per rendered form: a double click or a re-sent POST returns the same case.
        idempotency_key = uuid.uuid4().hex
    context = {
        "form": form,
        "idempotency_key": idempotency_key,
        "resident": sources == [CaseSource.RESIDENT],
        "map_config": _new_case_map(grids),
        "photo_max_mb": settings.CASE_ATTACHMENT_MAX_BYTES // (1024 * 1024),
        # A browser cannot keep picked files across a refused submit: say so next to the photos.
        "photos_dropped": request.method == "POST" and bool(request.FILES),
    }
    return render(request, "cases/new.html", context, status=status)


def _submit(request: HtmxHttpRequest, form: CaseNewForm, scope: AreaScope, idempotency_key: str) -> HttpResponse | None:
    """Register the case of a valid form; None (with the reason added to the form) when refused."""
    data = form.cleaned_data
    longitude, latitude = data["longitude"], data["latitude"]
    if longitude is not None and latitude is not None and data["source"] != CaseSource.RESIDENT:
        hit = grid_at(longitude, latitude)
        if hit is not None and not scope.covers(hit.path):
            form.add_error(None, _("所选位置不在您负责的区域内，请重新选点或选择网格。"))
            return None
    case_input = CaseInput(
        kind=data["kind"],
        category=data["category"],
        title=data["title"],
        description=data["description"],
        source=data["source"],
        urgency=data["urgency"],
        longitude=longitude,
        latitude=latitude,
        grid=data["grid"],
        address=data["address"],
        reporter_name=data.get("reporter_name", ""),
        reporter_phone=data["reporter_phone"],
        is_anonymous=data["is_anonymous"],
    )
    try:
        case, created = case_submit(
            actor=request.user, data=case_input, idempotency_key=idempotency_key, attachments=data["photos"]
        )
    except ValidationError as refusal:
        form.add_error(None, " ".join(refusal.messages))
        return None
    except CaseConflict as refusal:
        form.add_error(None, ValidationError(refusal.message, code="reused_key"))
        return None
    except CaseForbidden as refusal:
        form.add_error(None, refusal.message)
        return None
    if created:
        messages.success(request, _("已登记事项 %(number)s。") % {"number": case.number})
    else:
        messages.info(request, _("该事项已登记过（%(number)s），未重复登记。") % {"number": case.number})
    return redirect("cases:detail", case_id=case.pk)
