"""Reads of the council app through the area-scope selector (VIEW_AREAS over the
meeting's grid; attendees' names need VIEW_PEOPLE). Unknown or out of scope: 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.council.models import AgendaItem, Decision, FollowUpAction, Meeting


def _not_found() -> Http404:
    return Http404(_("没有找到该会议，或它不在您的辖区内。"))


def meetings_visible_to(user: Any) -> QuerySet[Meeting]:
    return (
        scope_for(user, Capability.VIEW_AREAS)
        .filter(Meeting.objects.all(), "area__path")
        .select_related("compound", "area")
        .annotate(
            present_count=Count("attendees", filter=Q(attendees__present=True), distinct=True),
            agenda_count=Count("agenda", distinct=True),
        )
    )


def meeting_get_for_user(user: Any, meeting_id: int) -> Meeting:
    meeting = Meeting.objects.select_related("compound", "area").filter(pk=meeting_id).first()
    if meeting is None or not scope_for(user, Capability.VIEW_AREAS).covers(meeting.area.path):
        raise _not_found()
    return meeting


def can_see_attendee_names(user: Any, meeting: Meeting) -> bool:
    return scope_for(user, Capability.VIEW_PEOPLE).covers(meeting.area.path)


def meeting_agenda(meeting: Meeting) -> list[AgendaItem]:
    """The agenda with decisions and their actions, in three queries."""
    from django.db.models import Prefetch

    return list(
        meeting.agenda.select_related("case", "patrol_finding").prefetch_related(
            Prefetch(
                "decisions",
                queryset=Decision.objects.order_by("id").prefetch_related(
                    Prefetch("actions", queryset=FollowUpAction.objects.order_by("due_on", "id"))
                ),
            )
        )
    )


def meeting_needs_minutes(meeting: Meeting, now: Any = None) -> bool:
    """A meeting already held without minutes: a warning on its page and in the list."""
    return meeting.starts_at <= (now or timezone.now()) and not meeting.minutes


def is_overdue(action: FollowUpAction, today: date | None = None) -> bool:
    return action.done_on is None and action.due_on < (today or timezone.localdate())


def decision_settled(decision: Decision) -> bool:
    """落实: the decision has actions and every one of them is done."""
    actions = list(decision.actions.all())
    return bool(actions) and all(action.done_on is not None for action in actions)


def actions_visible_to(user: Any, *, open_only: bool = True, today: date | None = None) -> QuerySet[FollowUpAction]:
    today = today or timezone.localdate()
    queryset = scope_for(user, Capability.VIEW_AREAS).filter(
        FollowUpAction.objects.all(), "decision__agenda_item__meeting__area__path"
    )
    if open_only:
        queryset = queryset.filter(done_on__isnull=True)
    return (
        queryset.select_related("decision__agenda_item__meeting__compound")
        .annotate(overdue=ExpressionWrapper(Q(done_on__isnull=True, due_on__lt=today), output_field=BooleanField()))
        .order_by("due_on", "id")
    )


@dataclass
class CompoundTally:
    compound_id: int
    compound_name: str
    decisions: int
    settled: int


def settled_per_compound(user: Any) -> list[CompoundTally]:
    """Decisions and settled decisions (all actions done) per compound: one grouped query."""
    open_action = FollowUpAction.objects.filter(decision_id=OuterRef("pk"), done_on__isnull=True)
    any_action = FollowUpAction.objects.filter(decision_id=OuterRef("pk"))
    rows = (
        scope_for(user, Capability.VIEW_AREAS)
        .filter(Decision.objects.all(), "agenda_item__meeting__area__path")
        .annotate(is_settled=Exists(any_action) & ~Exists(open_action))
        .values("agenda_item__meeting__compound_id", "agenda_item__meeting__compound__name")
        .annotate(total=Count("pk"), settled=Count("pk", filter=Q(is_settled=True)))
        .order_by("-settled", "agenda_item__meeting__compound__name")
    )
    return [
        CompoundTally(
            compound_id=row["agenda_item__meeting__compound_id"],
            compound_name=row["agenda_item__meeting__compound__name"],
            decisions=row["total"],
            settled=row["settled"],
        )
        for row in rows
    ]


def agenda_item_get_for_user(user: Any, item_id: int) -> AgendaItem:
    item = AgendaItem.objects.select_related("meeting__area").filter(pk=item_id).first()
    if item is None or not scope_for(user, Capability.VIEW_AREAS).covers(item.meeting.area.path):
        raise _not_found()
    return item


def decision_get_for_user(user: Any, decision_id: int) -> Decision:
    decision = Decision.objects.select_related("agenda_item__meeting__area").filter(pk=decision_id).first()
    if decision is None or not scope_for(user, Capability.VIEW_AREAS).covers(decision.agenda_item.meeting.area.path):
        raise _not_found()
    return decision


def action_get_for_user(user: Any, action_id: int) -> FollowUpAction:
    action = FollowUpAction.objects.select_related("decision__agenda_item__meeting__area").filter(pk=action_id).first()
    if action is None or not scope_for(user, Capability.VIEW_AREAS).covers(
        action.decision.agenda_item.meeting.area.path
    ):
        raise _not_found()
    return action


def compounds_for_meetings(user: Any) -> QuerySet[Any]:
    """Compounds where the user may convene a meeting (VIEW_PEOPLE over the grid)."""
    from gridgov.areas.models import Compound

    return scope_for(user, Capability.VIEW_PEOPLE).filter(Compound.objects.all(), "grid__path").select_related("grid")


# --- Residents: proposals and the compound's public notice (公示) ---------------------


def proposals_of_compound(user: Any, compound_id: int) -> QuerySet[Any]:
    """A compound's proposals with their support count and whether `user` supports each."""
    from gridgov.council.models import Proposal, ProposalSupport

    return (
        Proposal.objects.filter(compound_id=compound_id)
        .select_related("agenda_item__meeting")
        .annotate(
            support_count=Count("supports", distinct=True),
            supported=Exists(ProposalSupport.objects.filter(proposal_id=OuterRef("pk"), user_id=user.pk)),
        )
        .order_by("-created_at", "-id")
    )


def proposal_get_for_resident(user: Any, compound_id: int, proposal_id: int) -> Any:
    """A proposal of the resident's own compound; any other is unknown (404)."""
    from gridgov.council.models import Proposal

    proposal = Proposal.objects.filter(pk=proposal_id, compound_id=compound_id).first()
    if proposal is None:
        raise Http404(_("没有找到该提议。"))
    return proposal


@dataclass
class NoticeDecision:
    meeting: Meeting
    item: AgendaItem
    decision: Decision
    settled: bool
    actions_done: int
    actions_total: int


def compound_notice(compound_id: int, *, now: Any = None, limit: int = 30) -> dict[str, Any]:
    """What the compound's residents see: upcoming meetings, and decisions with their progress.
    No attendee or owner names."""
    now = now or timezone.now()
    upcoming = list(
        Meeting.objects.filter(compound_id=compound_id, starts_at__gt=now)
        .prefetch_related("agenda")
        .order_by("starts_at", "id")[:10]
    )
    decisions = (
        Decision.objects.filter(agenda_item__meeting__compound_id=compound_id)
        .select_related("agenda_item__meeting")
        .prefetch_related("actions")
        .order_by("-decided_at", "-id")[:limit]
    )
    rows = []
    for decision in decisions:
        actions = list(decision.actions.all())
        done = sum(1 for a in actions if a.done_on is not None)
        rows.append(
            NoticeDecision(
                meeting=decision.agenda_item.meeting,
                item=decision.agenda_item,
                decision=decision,
                settled=bool(actions) and done == len(actions),
                actions_done=done,
                actions_total=len(actions),
            )
        )
    return {"upcoming": upcoming, "decisions": rows}
