"""议事协商 endpoints of /api/v1: meetings, one meeting with decisions, open actions; scoped like the pages.
Attendees' names are not part of the API (counts by category only)."""

# No `from __future__ import annotations`: django-ninja reads the types at import time.
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from gridgov.council.selectors import (
    actions_visible_to,
    decision_settled,
    is_overdue,
    meeting_agenda,
    meeting_get_for_user,
    meeting_needs_minutes,
    meetings_visible_to,
)

router = Router(tags=["council"])


class ErrorOut(Schema):
    detail: str


class MeetingOut(Schema):
    id: int
    kind: str
    kind_label: str = Field(..., alias="get_kind_display")
    title: str
    compound_id: int
    compound_name: str = Field(..., alias="compound.name")
    grid_code: str = Field(..., alias="area.code")
    starts_at: datetime
    place: str
    agenda_count: int
    present_count: int
    needs_minutes: bool

    @staticmethod
    def resolve_needs_minutes(obj: Any) -> bool:
        return meeting_needs_minutes(obj)


class ActionOut(Schema):
    id: int
    title: str
    owner_name: str
    due_on: date
    done_on: date | None
    overdue: bool


class DecisionOut(Schema):
    id: int
    text: str
    votes_for: int
    votes_against: int
    votes_abstain: int
    decided_at: datetime
    fund_spent: Decimal | None
    fund_note: str
    settled: bool
    actions: list[ActionOut]


class AgendaItemOut(Schema):
    id: int
    seq: int
    source: str
    title: str
    case_number: str | None
    decisions: list[DecisionOut]


class AttendanceOut(Schema):
    category: str
    invited: int
    present: int


class MeetingDetailOut(MeetingOut):
    minutes: str
    attendance: list[AttendanceOut] = Field(..., alias="attendance_out")
    agenda: list[AgendaItemOut] = Field(..., alias="agenda_out")


@router.get("/meetings", response=list[MeetingOut], summary="议事会议列表")
@paginate(PageNumberPagination, page_size=50)
def meeting_list(request: HttpRequest) -> Any:
    return meetings_visible_to(request.user).order_by("-starts_at", "-id")


def _decision(decision: Any, today: date) -> dict[str, Any]:
    return {
        "id": decision.pk,
        "text": decision.text,
        "votes_for": decision.votes_for,
        "votes_against": decision.votes_against,
        "votes_abstain": decision.votes_abstain,
        "decided_at": decision.decided_at,
        "fund_spent": decision.fund_spent,
        "fund_note": decision.fund_note,
        "settled": decision_settled(decision),
        "actions": [
            {
                "id": a.pk,
                "title": a.title,
                "owner_name": a.owner_name,
                "due_on": a.due_on,
                "done_on": a.done_on,
                "overdue": is_overdue(a, today),
            }
            for a in decision.actions.all()
        ],
    }


@router.get("/meetings/{meeting_id}", response={200: MeetingDetailOut, 404: ErrorOut}, summary="议事会议详情")
def meeting_detail(request: HttpRequest, meeting_id: int) -> Any:
    meeting = meeting_get_for_user(request.user, meeting_id)
    listed = meetings_visible_to(request.user).get(pk=meeting.pk)
    today = timezone.localdate()
    attendance = (
        meeting.attendees.order_by()
        .values("category")
        .annotate(invited=Count("pk"), present=Count("pk", filter=Q(present=True)))
        .order_by("category")
    )
    listed.attendance_out = list(attendance)  # type: ignore[attr-defined]
    listed.agenda_out = [  # type: ignore[attr-defined]
        {
            "id": item.pk,
            "seq": item.seq,
            "source": item.source,
            "title": item.title,
            "case_number": item.case.number if item.case else None,
            "decisions": [_decision(d, today) for d in item.decisions.all()],
        }
        for item in meeting_agenda(meeting)
    ]
    return listed


@router.get("/actions", response=list[ActionOut], summary="待落实事项（含逾期标记）")
@paginate(PageNumberPagination, page_size=100)
def action_list(request: HttpRequest) -> Any:
    return actions_visible_to(request.user)
