"""Council pages: meetings, one meeting with its agenda, decisions and actions, open actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridgov.cases.selectors import case_get_by_number_for_user
from gridgov.council.forms import (
    ActionDoneForm,
    ActionForm,
    AgendaForm,
    AttendeeForm,
    DecisionForm,
    MeetingForm,
    MinutesForm,
    form_error_text,
)
from gridgov.council.selectors import (
    action_get_for_user,
    actions_visible_to,
    agenda_item_get_for_user,
    can_see_attendee_names,
    compounds_for_meetings,
    decision_get_for_user,
    decision_settled,
    is_overdue,
    meeting_agenda,
    meeting_get_for_user,
    meeting_needs_minutes,
    meetings_visible_to,
    settled_per_compound,
)
from gridgov.council.services import (
    action_add,
    action_complete,
    agenda_item_add,
    attendance_record,
    attendee_add,
    decision_record,
    meeting_create,
    minutes_record,
)
from gridgov.patrols.models import PatrolFinding

MEETINGS_SHOWN = 100


def _run(request: HttpRequest, form: Form, write: Callable[[dict[str, Any]], Any], success: str) -> None:
    """Validate `form`, call the service, and leave the outcome as a message."""
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return
    try:
        write(form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)


@login_required
def meeting_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    meetings = list(meetings_visible_to(request.user).order_by("-starts_at", "-id")[:MEETINGS_SHOWN])
    for meeting in meetings:
        meeting.needs_minutes = meeting_needs_minutes(meeting, now)  # type: ignore[attr-defined]
    return render(
        request,
        "council/meeting_list.html",
        {
            "upcoming": [m for m in meetings if m.starts_at > now][::-1],
            "past": [m for m in meetings if m.starts_at <= now],
            "tallies": settled_per_compound(request.user)[:20],
            "can_create": compounds_for_meetings(request.user).exists(),
        },
    )


@login_required
def meeting_new(request: HttpRequest) -> HttpResponse:
    compounds = [(c.pk, f"{c.name}（{c.grid.name}）") for c in compounds_for_meetings(request.user)[:500]]
    if not compounds:
        raise PermissionDenied(_("您无权组织议事会议。"))
    form = MeetingForm(request.POST or None, compounds=compounds)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        compound = compounds_for_meetings(request.user).get(pk=data["compound"])
        try:
            meeting = meeting_create(
                actor=request.user,
                kind=data["kind"],
                compound=compound,
                title=data["title"],
                starts_at=data["starts_at"],
                place=data["place"],
                convener_name=data["convener_name"],
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
        else:
            return redirect("council:meeting_detail", meeting_id=meeting.pk)
    return render(request, "council/meeting_new.html", {"form": form})


@login_required
def meeting_detail(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = meeting_get_for_user(request.user, meeting_id)
    show_names = can_see_attendee_names(request.user, meeting)
    attendees = list(meeting.attendees.all())
    today = timezone.localdate()
    agenda = meeting_agenda(meeting)
    # Each form gets its own id prefix: the page repeats the decision and action forms per item,
    # and labels must point at their own fields (clicks, screen readers).
    for item in agenda:
        item.decision_form = DecisionForm(auto_id=f"decision-{item.pk}-%s")  # type: ignore[attr-defined]
        for decision in item.decisions.all():
            decision.settled = decision_settled(decision)  # type: ignore[attr-defined]
            decision.action_form = ActionForm(auto_id=f"action-{decision.pk}-%s")  # type: ignore[attr-defined]
            for action in decision.actions.all():
                action.overdue = is_overdue(action, today)  # type: ignore[attr-defined]
    return render(
        request,
        "council/meeting_detail.html",
        {
            "meeting": meeting,
            "show_names": show_names,
            "attendees": attendees,
            "present_count": sum(1 for a in attendees if a.present),
            "agenda": agenda,
            "needs_minutes": meeting_needs_minutes(meeting),
            "attendee_form": AttendeeForm(auto_id="attendee-%s"),
            "agenda_form": AgendaForm(auto_id="agenda-%s"),
            "minutes_form": MinutesForm(auto_id="minutes-%s", initial={"text": meeting.minutes}),
            "done_form": ActionDoneForm(),
        },
    )


@login_required
@require_POST
def attendee_add_view(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = meeting_get_for_user(request.user, meeting_id)
    _run(
        request,
        AttendeeForm(request.POST),
        lambda d: attendee_add(actor=request.user, meeting=meeting, category=d["category"], name=d["name"]),
        _("已添加参会人员。"),
    )
    return redirect("council:meeting_detail", meeting_id=meeting.pk)


@login_required
@require_POST
def attendance_view(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = meeting_get_for_user(request.user, meeting_id)
    present = {int(v) for v in request.POST.getlist("present") if v.isdigit()}
    try:
        attendance_record(actor=request.user, meeting=meeting, present_ids=present)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("已记录出席情况。"))
    return redirect("council:meeting_detail", meeting_id=meeting.pk)


@login_required
@require_POST
def agenda_add_view(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = meeting_get_for_user(request.user, meeting_id)

    def write(d: dict[str, Any]) -> Any:
        case_id = None
        if d["case_number"]:
            case = case_get_by_number_for_user(request.user, d["case_number"])
            if case is None:
                raise ValidationError(_("没有找到该事项，或它不在您的辖区内。"))
            case_id = case.pk
        finding = (
            PatrolFinding.objects.select_related("patrol__grid").filter(pk=d["finding"]).first()
            if d["finding"]
            else None
        )
        return agenda_item_add(
            actor=request.user,
            meeting=meeting,
            source=d["source"],
            title=d["title"],
            description=d["description"],
            case_id=case_id,
            patrol_finding=finding,
            proposer_name=d["proposer_name"],
        )

    _run(request, AgendaForm(request.POST), write, _("已加入议程。"))
    return redirect("council:meeting_detail", meeting_id=meeting.pk)


@login_required
@require_POST
def minutes_view(request: HttpRequest, meeting_id: int) -> HttpResponse:
    meeting = meeting_get_for_user(request.user, meeting_id)
    _run(
        request,
        MinutesForm(request.POST),
        lambda d: minutes_record(actor=request.user, meeting=meeting, text=d["text"]),
        _("会议记录已保存。"),
    )
    return redirect("council:meeting_detail", meeting_id=meeting.pk)


@login_required
@require_POST
def decision_add_view(request: HttpRequest, item_id: int) -> HttpResponse:
    item = agenda_item_get_for_user(request.user, item_id)
    _run(
        request,
        DecisionForm(request.POST),
        lambda d: decision_record(
            actor=request.user,
            agenda_item=item,
            text=d["text"],
            votes_for=d["votes_for"],
            votes_against=d["votes_against"],
            votes_abstain=d["votes_abstain"],
            fund_spent=d["fund_spent"],
            fund_note=d["fund_note"],
        ),
        _("决议已记录。"),
    )
    return redirect("council:meeting_detail", meeting_id=item.meeting_id)


@login_required
@require_POST
def action_add_view(request: HttpRequest, decision_id: int) -> HttpResponse:
    decision = decision_get_for_user(request.user, decision_id)
    _run(
        request,
        ActionForm(request.POST),
        lambda d: action_add(
            actor=request.user, decision=decision, title=d["title"], owner_name=d["owner_name"], due_on=d["due_on"]
        ),
        _("已添加落实事项。"),
    )
    return redirect("council:meeting_detail", meeting_id=decision.agenda_item.meeting_id)


@login_required
@require_POST
def action_done_view(request: HttpRequest, action_id: int) -> HttpResponse:
    action = action_get_for_user(request.user, action_id)
    _run(
        request,
        ActionDoneForm(request.POST),
        lambda d: action_complete(actor=request.user, action=action, note=d["note"]),
        _("已标记完成。"),
    )
    if request.POST.get("next") == "actions":
        return redirect("council:action_list")
    return redirect("council:meeting_detail", meeting_id=action.decision.agenda_item.meeting_id)


@login_required
def action_list(request: HttpRequest) -> HttpResponse:
    actions = list(actions_visible_to(request.user)[:200])
    return render(
        request,
        "council/action_list.html",
        {
            "actions": actions,
            "overdue_count": sum(1 for a in actions if getattr(a, "overdue", False)),
            "done_form": ActionDoneForm(),
        },
    )
