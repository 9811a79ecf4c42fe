"""The in-app inbox: a user's own messages, unread first; mark one or all read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.core.http import HtmxHttpRequest
from gridgov.notices.selectors import inbox_for_user, inbox_unread_count
from gridgov.notices.services import inbox_mark_read

MESSAGES_PER_PAGE = 30


@login_required
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    unread_first = ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField())
    page = Paginator(inbox_for_user(request.user).order_by(unread_first.desc(), "-id"), MESSAGES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "unread": inbox_unread_count(request.user)}
    if request.htmx and request.htmx.target == "inbox-results":
        return render(request, "notices/inbox.html#results", context)
    return render(request, "notices/inbox.html", context)


@login_required
@require_POST
def inbox_open(request: HtmxHttpRequest, message_id: int) -> HttpResponse:
    """Mark one of the user's messages read and follow its link (to the case)."""
    message = get_object_or_404(inbox_for_user(request.user), pk=message_id)
    inbox_mark_read(user=request.user, message_ids=[message.pk])
    if message.link and url_has_allowed_host_and_scheme(message.link, allowed_hosts=None):
        return redirect(message.link)
    return redirect("notices:inbox")


@login_required
@require_POST
def inbox_read(request: HtmxHttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(inbox_for_user(request.user), pk=message_id)
    inbox_mark_read(user=request.user, message_ids=[message.pk])
    return redirect("notices:inbox")


@login_required
@require_POST
def inbox_read_all(request: HtmxHttpRequest) -> HttpResponse:
    count = inbox_mark_read(user=request.user)
    if count:
        messages.success(request, _("已将 %(n)d 条消息标为已读。") % {"n": count})
    return redirect("notices:inbox")
