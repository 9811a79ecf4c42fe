"""Writes of the council app: each one transaction with its audit row.

`actor=None` is the system (demo generator); a person must hold VIEW_PEOPLE
over the meeting's grid (community and grid staff who run the meetings).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.accounts.services import audit_record
from gridgov.areas.models import Area, Compound
from gridgov.cases.errors import CaseForbidden
from gridgov.cases.models import Case
from gridgov.cases.selectors import case_get_for_user
from gridgov.cases.services import case_note
from gridgov.council.choices import AgendaSource, AttendeeCategory, MeetingKind, ProposalStatus
from gridgov.council.models import (
    AgendaItem,
    Attendee,
    Decision,
    FollowUpAction,
    Meeting,
    Proposal,
    ProposalSupport,
)
from gridgov.patrols.models import PatrolFinding
from gridgov.portal.selectors import identity_for_user
from gridgov.registry.models import Resident


def _require_manage(actor: Any, area: Area) -> None:
    if actor is None:
        return
    if not scope_for(actor, Capability.VIEW_PEOPLE).covers(area.path):
        raise PermissionDenied(_("您无权组织该小区的议事会议。"))


def _text(value: str, label: str, *, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(_("%(label)s不能为空。") % {"label": label})
    if len(value) > max_length:
        raise ValidationError(_("%(label)s不能超过 %(n)s 字。") % {"label": label, "n": max_length})
    return value


@transaction.atomic
def meeting_create(
    *,
    actor: Any,
    kind: str,
    compound: Compound,
    title: str,
    starts_at: datetime,
    place: str,
    convener_name: str = "",
) -> Meeting:
    if kind not in MeetingKind.values:
        raise ValidationError(_("会议类型无效。"))
    _require_manage(actor, compound.grid)
    convener_name = convener_name.strip() or (getattr(actor, "full_name", "") or getattr(actor, "username", ""))
    meeting = Meeting.objects.create(
        kind=kind,
        compound=compound,
        area=compound.grid,
        title=_text(title, _("议题概要"), max_length=200),
        starts_at=starts_at,
        place=_text(place, _("地点"), max_length=200),
        convener=actor if getattr(actor, "pk", None) else None,
        convener_name=_text(convener_name, _("召集人"), max_length=50),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit_record(
        actor=actor,
        action="council_meeting_create",
        object_type="council_meeting",
        object_id=str(meeting.pk),
        detail={"kind": kind, "compound": compound.pk, "starts_at": starts_at.isoformat()},
    )
    proposals_promote_for_meeting(meeting, timezone.now())
    return meeting


@transaction.atomic
def attendee_add(
    *,
    actor: Any,
    meeting: Meeting,
    category: str,
    name: str = "",
    resident: Resident | None = None,
    present: bool | None = None,
) -> Attendee:
    _require_manage(actor, meeting.area)
    if category not in AttendeeCategory.values:
        raise ValidationError(_("参会人员类别无效。"))
    if resident is not None:
        name = resident.name
    attendee = Attendee.objects.create(
        meeting=meeting,
        category=category,
        name=_text(name, _("姓名"), max_length=50),
        resident=resident,
        present=present,
    )
    audit_record(
        actor=actor,
        action="council_attendee_add",
        object_type="council_meeting",
        object_id=str(meeting.pk),
        detail={"attendee": attendee.pk, "category": category},
    )
    return attendee


@transaction.atomic
def attendance_record(*, actor: Any, meeting: Meeting, present_ids: set[int]) -> int:
    """Mark the attendees in `present_ids` present and the others absent; returns how many were present."""
    _require_manage(actor, meeting.area)
    attendees = meeting.attendees.all()
    unknown = present_ids - set(attendees.values_list("pk", flat=True))
    if unknown:
        raise ValidationError(_("出席名单中有不属于本次会议的人员。"))
    attendees.filter(pk__in=present_ids).update(present=True)
    attendees.exclude(pk__in=present_ids).update(present=False)
    audit_record(
        actor=actor,
        action="council_attendance_record",
        object_type="council_meeting",
        object_id=str(meeting.pk),
        detail={"present": len(present_ids)},
    )
    return len(present_ids)


@transaction.atomic
def agenda_item_add(
    *,
    actor: Any,
    meeting: Meeting,
    source: str,
    title: str = "",
    description: str = "",
    case_id: int | None = None,
    patrol_finding: PatrolFinding | None = None,
    proposer_name: str = "",
) -> AgendaItem:
    """Put an item on the agenda. A case is looked up through the case scope selector:
    a case the actor may not see is refused like an unknown one."""
    _require_manage(actor, meeting.area)
    if source not in AgendaSource.values:
        raise ValidationError(_("议题来源无效。"))
    case: Case | None = None
    if source == AgendaSource.CASE:
        if case_id is None:
            raise ValidationError(_("请选择诉求事项。"))
        if actor is None:
            case = Case.objects.filter(pk=case_id).first()
        else:
            try:
                case = case_get_for_user(actor, case_id)
            except Http404:
                case = None
        if case is None:
            raise ValidationError(_("没有找到该事项，或它不在您的辖区内。"))
        title = title or case.title
    if source == AgendaSource.PATROL:
        if patrol_finding is None:
            raise ValidationError(_("请选择巡查发现。"))
        patrol_path = patrol_finding.patrol.grid.path
        if actor is not None and not scope_for(actor, Capability.VIEW_CASES).covers(patrol_path):
            raise ValidationError(_("没有找到该巡查发现，或它不在您的辖区内。"))
        title = title or patrol_finding.description[:200]
    if source == AgendaSource.PROPOSAL:
        proposer_name = _text(proposer_name, _("提议人"), max_length=50)
    seq = (meeting.agenda.aggregate(top=Max("seq"))["top"] or 0) + 1
    item = AgendaItem.objects.create(
        meeting=meeting,
        seq=seq,
        source=source,
        title=_text(title, _("议题"), max_length=200),
        description=_text(description, _("说明"), max_length=2000, required=False),
        case=case,
        patrol_finding=patrol_finding if source == AgendaSource.PATROL else None,
        proposer_name=proposer_name if source == AgendaSource.PROPOSAL else "",
    )
    audit_record(
        actor=actor,
        action="council_agenda_item_add",
        object_type="council_meeting",
        object_id=str(meeting.pk),
        detail={"item": item.pk, "source": source, "case": getattr(case, "pk", None)},
    )
    return item


@transaction.atomic
def minutes_record(*, actor: Any, meeting: Meeting, text: str, now: datetime | None = None) -> Meeting:
    _require_manage(actor, meeting.area)
    now = now or timezone.now()
    if meeting.starts_at > now:
        raise ValidationError(_("会议尚未召开，不能填写会议记录。"))
    meeting.minutes = _text(text, _("会议记录"), max_length=20000)
    meeting.minutes_recorded_at = now
    meeting.save(update_fields=["minutes", "minutes_recorded_at", "updated_at"])
    audit_record(
        actor=actor,
        action="council_minutes_record",
        object_type="council_meeting",
        object_id=str(meeting.pk),
        detail={"length": len(meeting.minutes)},
    )
    return meeting


@transaction.atomic
def decision_record(
    *,
    actor: Any,
    agenda_item: AgendaItem,
    text: str,
    votes_for: int,
    votes_against: int,
    votes_abstain: int,
    fund_spent: Decimal | None = None,
    fund_note: str = "",
    now: datetime | None = None,
) -> Decision:
    """Record a decision; the votes cast cannot exceed the attendees marked present."""
    meeting = Meeting.objects.select_for_update().select_related("area").get(pk=agenda_item.meeting_id)
    _require_manage(actor, meeting.area)
    now = now or timezone.now()
    if meeting.starts_at > now:
        raise ValidationError(_("会议尚未召开，不能记录决议。"))
    votes = (votes_for, votes_against, votes_abstain)
    if any(v is None or v < 0 for v in votes):
        raise ValidationError(_("票数不能为负数。"))
    present = meeting.attendees.filter(present=True).count()
    if sum(votes) > present:
        raise ValidationError(
            _("赞成、反对、弃权合计 %(total)s 票，超过出席人数 %(present)s 人。")
            % {"total": sum(votes), "present": present}
        )
    if fund_spent is not None and fund_spent < 0:
        raise ValidationError(_("经费支出不能为负数。"))
    if fund_spent and not fund_note.strip():
        raise ValidationError(_("请注明为民服务经费的用途。"))
    decision = Decision.objects.create(
        agenda_item=agenda_item,
        fund_spent=fund_spent,
        fund_note=_text(fund_note, _("经费用途"), max_length=200, required=False),
        text=_text(text, _("决议内容"), max_length=5000),
        votes_for=votes_for,
        votes_against=votes_against,
        votes_abstain=votes_abstain,
        decided_at=now,
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    noted = _note_on_case(actor, agenda_item, meeting, decision)
    audit_record(
        actor=actor,
        action="council_decision_record",
        object_type="council_decision",
        object_id=str(decision.pk),
        detail={
            "item": agenda_item.pk,
            "for": votes_for,
            "against": votes_against,
            "abstain": votes_abstain,
            "fund_spent": str(fund_spent) if fund_spent is not None else None,
            "case_noted": noted,
        },
    )
    return decision


def _note_on_case(actor: Any, agenda_item: AgendaItem, meeting: Meeting, decision: Decision) -> bool:
    """Write the decision on the timeline of the case the agenda item came from, so handlers and the
    reporter see what the council decided. Only as someone who sees the case: a recorder outside the
    case's scope records the decision without the note (the audit row says so)."""
    if agenda_item.case_id is None:
        return False
    case = Case.objects.get(pk=agenda_item.case_id)
    note = _("%(meeting)s（%(date)s）议定：%(text)s") % {
        "meeting": meeting.get_kind_display(),
        "date": timezone.localtime(meeting.starts_at).date().isoformat(),
        "text": decision.text,
    }
    try:
        case_note(
            actor=actor,
            case=case,
            note=note[:2000],
            detail={"council_decision": decision.pk, "meeting": meeting.pk},
            now=decision.decided_at,
        )
    except CaseForbidden:
        return False
    return True


@transaction.atomic
def action_add(
    *, actor: Any, decision: Decision, title: str, owner_name: str, due_on: date, owner: Any = None
) -> FollowUpAction:
    meeting = decision.agenda_item.meeting
    _require_manage(actor, meeting.area)
    if due_on < meeting.starts_at.date():
        raise ValidationError(_("完成期限不能早于会议日期。"))
    action = FollowUpAction.objects.create(
        decision=decision,
        title=_text(title, _("落实事项"), max_length=200),
        owner=owner,
        owner_name=_text(owner_name or getattr(owner, "full_name", ""), _("责任人"), max_length=50),
        due_on=due_on,
    )
    audit_record(
        actor=actor,
        action="council_action_add",
        object_type="council_action",
        object_id=str(action.pk),
        detail={"decision": decision.pk, "due_on": due_on.isoformat()},
    )
    return action


@transaction.atomic
def action_complete(*, actor: Any, action: FollowUpAction, note: str = "", on: date | None = None) -> FollowUpAction:
    action = (
        FollowUpAction.objects.select_for_update()
        .select_related("decision__agenda_item__meeting__area")
        .get(pk=action.pk)
    )
    _require_manage(actor, action.decision.agenda_item.meeting.area)
    if action.done_on is not None:
        raise ValidationError(_("该事项已完成。"))
    action.done_on = on or timezone.localdate()
    action.done_note = _text(note, _("完成情况"), max_length=500, required=False)
    action.save(update_fields=["done_on", "done_note"])
    audit_record(
        actor=actor,
        action="council_action_complete",
        object_type="council_action",
        object_id=str(action.pk),
        detail={"done_on": action.done_on.isoformat()},
    )
    return action


# --- Residents' proposals ------------------------------------------------------------

DEFAULT_PROPOSAL_THRESHOLD = 5


def proposal_threshold() -> int:
    """Supporters (the proposer included) a proposal needs to go onto the next agenda;
    `COUNCIL_PROPOSAL_THRESHOLD` in settings overrides the default."""
    return int(getattr(settings, "COUNCIL_PROPOSAL_THRESHOLD", DEFAULT_PROPOSAL_THRESHOLD))


def resident_compound(actor: Any) -> Compound:
    """The compound a signed-in resident belongs to (their portal identity's compound)."""
    identity = identity_for_user(actor)
    if identity is None or identity.compound is None:
        raise ValidationError(_("请先扫描小区二维码，确认您所在的小区。"))
    return identity.compound


def _promote(proposal: Proposal, now: datetime) -> None:
    """Put a proposal past the threshold onto its compound's next meeting; the caller holds its row lock."""
    if proposal.agenda_item_id is not None:
        return
    supporters = proposal.supports.count()
    if supporters < proposal_threshold():
        return
    meeting = (
        Meeting.objects.filter(compound_id=proposal.compound_id, starts_at__gt=now).order_by("starts_at", "id").first()
    )
    if meeting is None:
        proposal.status = ProposalStatus.WAITING
        proposal.save(update_fields=["status"])
        return
    proposal.agenda_item = agenda_item_add(
        actor=None,
        meeting=meeting,
        source=AgendaSource.PROPOSAL,
        title=proposal.title,
        description=proposal.text,
        proposer_name=_("居民提议（%(n)s 人支持）") % {"n": supporters},
    )
    proposal.status = ProposalStatus.ON_AGENDA
    proposal.save(update_fields=["agenda_item", "status"])


def proposals_promote_for_meeting(meeting: Meeting, now: datetime) -> int:
    """Proposals of the compound that reached the threshold with no meeting ahead go onto this one."""
    if meeting.starts_at <= now:
        return 0
    waiting = Proposal.objects.select_for_update().filter(
        compound_id=meeting.compound_id, status=ProposalStatus.WAITING, agenda_item__isnull=True
    )
    promoted = 0
    for proposal in waiting.order_by("created_at", "id"):
        _promote(proposal, now)
        promoted += proposal.agenda_item_id is not None
    return promoted


@transaction.atomic
def proposal_create(*, actor: Any, title: str, text: str = "", now: datetime | None = None) -> Proposal:
    compound = resident_compound(actor)
    proposal = Proposal.objects.create(
        compound=compound,
        proposer=actor,
        title=_text(title, _("议题"), max_length=100),
        text=_text(text, _("说明"), max_length=2000, required=False),
    )
    ProposalSupport.objects.create(proposal=proposal, user=actor)
    audit_record(
        actor=actor,
        action="council_proposal_create",
        object_type="council_proposal",
        object_id=str(proposal.pk),
        detail={"compound": compound.pk},
    )
    _promote(proposal, now or timezone.now())
    return proposal


@transaction.atomic
def proposal_support(*, actor: Any, proposal: Proposal, now: datetime | None = None) -> Proposal:
    """Support a proposal of one's own compound, once; a proposal of another compound is unknown (404)."""
    compound = resident_compound(actor)
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.compound_id != compound.pk:
        raise Http404(_("没有找到该提议。"))
    if ProposalSupport.objects.filter(proposal=proposal, user=actor).exists():
        raise ValidationError(_("您已经支持过这条提议。"))
    ProposalSupport.objects.create(proposal=proposal, user=actor)
    audit_record(
        actor=actor,
        action="council_proposal_support",
        object_type="council_proposal",
        object_id=str(proposal.pk),
        detail={},
    )
    _promote(proposal, now or timezone.now())
    return proposal
