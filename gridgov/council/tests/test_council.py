"""Meetings, votes, follow-up actions, and their scope."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gridgov.accounts.models import AuditEvent
from gridgov.council.choices import AgendaSource, AttendeeCategory, MeetingKind
from gridgov.council.selectors import actions_visible_to, decision_settled, settled_per_compound
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
from gridgov.testing.cases import submit_case
from gridgov.testing.party import bearer

pytestmark = pytest.mark.django_db

PAST = datetime(2026, 3, 5, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _held_meeting(tree, actor=None, *, present=3, absent=1):
    meeting = meeting_create(
        actor=actor,
        kind=MeetingKind.SUNSHINE,
        compound=tree.compounds[0],
        title="电动车停放与楼道堆物",
        starts_at=PAST,
        place="小区议事亭",
        convener_name="周书记",
    )
    people = [
        attendee_add(actor=actor, meeting=meeting, category=AttendeeCategory.RESIDENT_REP, name=f"代表{n}")
        for n in range(present + absent)
    ]
    attendance_record(actor=actor, meeting=meeting, present_ids={p.pk for p in people[:present]})
    return meeting


def test_votes_cannot_exceed_the_attendees_present(tree):
    # given a held meeting with three of four attendees present
    meeting = _held_meeting(tree)
    item = agenda_item_add(actor=None, meeting=meeting, source=AgendaSource.STAFF, title="电动车集中停放")
    # when four votes are recorded
    with pytest.raises(ValidationError, match="超过出席人数 3 人"):
        decision_record(
            actor=None, agenda_item=item, text="设集中充电棚", votes_for=3, votes_against=1, votes_abstain=0
        )
    with pytest.raises(ValidationError, match="负数"):
        decision_record(
            actor=None, agenda_item=item, text="设集中充电棚", votes_for=-1, votes_against=0, votes_abstain=0
        )
    # then three votes are accepted
    decision = decision_record(
        actor=None, agenda_item=item, text="设集中充电棚", votes_for=2, votes_against=0, votes_abstain=1
    )
    assert decision.passed
    assert AuditEvent.objects.filter(action="council_decision_record", object_id=str(decision.pk)).exists()


def test_a_meeting_not_yet_held_takes_no_decision_or_minutes(tree):
    future = meeting_create(
        actor=None,
        kind=MeetingKind.MAZHA,
        compound=tree.compounds[0],
        title="绿化补种",
        starts_at=timezone.now() + timedelta(days=3),
        place="3号楼下",
        convener_name="周书记",
    )
    item = agenda_item_add(
        actor=None, meeting=future, source=AgendaSource.PROPOSAL, title="补种", proposer_name="吴阿姨"
    )
    with pytest.raises(ValidationError, match="尚未召开"):
        decision_record(actor=None, agenda_item=item, text="补种", votes_for=0, votes_against=0, votes_abstain=0)
    with pytest.raises(ValidationError, match="尚未召开"):
        minutes_record(actor=None, meeting=future, text="记录")


def test_decision_with_three_actions_is_settled_only_when_all_are_done_and_overdue_is_flagged(tree, personas):
    meeting = _held_meeting(tree)
    item = agenda_item_add(actor=None, meeting=meeting, source=AgendaSource.STAFF, title="消防通道")
    decision = decision_record(
        actor=None, agenda_item=item, text="清理通道", votes_for=3, votes_against=0, votes_abstain=0
    )
    actions = [
        action_add(actor=None, decision=decision, title=f"事项{n}", owner_name="物业", due_on=date(2026, 4, n + 1))
        for n in range(3)
    ]
    # when two of three are done
    action_complete(actor=None, action=actions[0], on=date(2026, 3, 20))
    action_complete(actor=None, action=actions[1], on=date(2026, 3, 21))
    decision.refresh_from_db()
    assert not decision_settled(decision)
    # then the open one is overdue after its due date, not before
    staff = personas["community_staff"]
    before = actions_visible_to(staff, today=date(2026, 4, 3)).get()
    after = actions_visible_to(staff, today=date(2026, 4, 4)).get()
    assert before.pk == actions[2].pk and not before.overdue and after.overdue
    assert [t.settled for t in settled_per_compound(staff)] == [0]
    # and the decision is settled when the third is done
    action_complete(actor=None, action=actions[2], on=date(2026, 4, 5))
    assert decision_settled(decision)
    assert [(t.decisions, t.settled) for t in settled_per_compound(staff)] == [(1, 1)]
    assert actions_visible_to(staff).count() == 0
    with pytest.raises(ValidationError, match="已完成"):
        action_complete(actor=None, action=actions[2])


def test_agenda_item_from_a_case_goes_through_the_case_scope(tree, personas):
    worker = personas["grid_worker"]
    meeting = _held_meeting(tree, actor=worker)
    own_case = submit_case(worker, tree.grids[0], title="楼道堆物堵塞消防通道")
    other_case = submit_case(personas["outsider"], tree.grids[4], title="别处的事项")
    item = agenda_item_add(actor=worker, meeting=meeting, source=AgendaSource.CASE, case_id=own_case.pk)
    assert item.case == own_case and item.title == "楼道堆物堵塞消防通道"
    with pytest.raises(ValidationError, match="不在您的辖区内"):
        agenda_item_add(actor=worker, meeting=meeting, source=AgendaSource.CASE, case_id=other_case.pk)
    with pytest.raises(PermissionDenied):
        agenda_item_add(actor=personas["outsider"], meeting=meeting, source=AgendaSource.STAFF, title="x")


def test_a_decision_on_a_case_is_written_on_the_case_timeline_and_the_reporter_sees_it(tree, personas):
    # given a resident's case put on the agenda of a held meeting by the grid worker
    from gridgov.cases.choices import CaseStatus, StepAction
    from gridgov.cases.models import CaseStep
    from gridgov.portal.selectors import resident_timeline

    worker = personas["grid_worker"]
    case = submit_case(personas["resident"], tree.grids[0], title="楼道堆物堵塞消防通道", source="resident")
    meeting = _held_meeting(tree, actor=worker)
    item = agenda_item_add(actor=worker, meeting=meeting, source=AgendaSource.CASE, case_id=case.pk)
    version = case.version
    # when the worker records the decision
    decision = decision_record(
        actor=worker, agenda_item=item, text="周六集中清理楼道", votes_for=3, votes_against=0, votes_abstain=0
    )
    # then the case has a note step with the decision, in the same state, one version on
    case.refresh_from_db()
    note = CaseStep.objects.get(case=case, action=StepAction.NOTE)
    assert (case.status, case.version, note.seq) == (CaseStatus.SUBMITTED, version + 1, version + 1)
    assert "周六集中清理楼道" in note.note and note.detail["council_decision"] == decision.pk
    assert note.actor == worker and not note.internal
    # and the reporter reads it on their timeline; the audit row says the case was noted
    assert any("周六集中清理楼道" in step.note for step in resident_timeline(case))
    assert AuditEvent.objects.get(action="council_decision_record").detail["case_noted"] is True


def test_case_note_refuses_out_of_scope_staff_and_empty_text_and_writes_nothing(tree, personas):
    from gridgov.cases.errors import CaseForbidden
    from gridgov.cases.models import CaseStep
    from gridgov.cases.services import case_note

    # given a case of grid 0
    case = submit_case(personas["resident"], tree.grids[0], title="噪音扰民", source="resident")
    steps = CaseStep.objects.filter(case=case).count()
    # when staff of another town or an empty note try to write on it
    with pytest.raises(CaseForbidden):
        case_note(actor=personas["outsider"], case=case, note="越权记事")
    with pytest.raises(ValidationError):
        case_note(actor=personas["community_staff"], case=case, note="   ")
    # then nothing was written
    case.refresh_from_db()
    assert CaseStep.objects.filter(case=case).count() == steps and case.version == steps
    # and an internal note by staff in scope is not on the reporter's timeline
    from gridgov.portal.selectors import resident_timeline

    case_note(actor=personas["community_staff"], case=case, note="内部：已联系物业", internal=True)
    assert not any("已联系物业" in step.note for step in resident_timeline(case))


def test_pages_and_api_are_scoped(client: Client, tree, personas):
    meeting = _held_meeting(tree)
    item = agenda_item_add(actor=None, meeting=meeting, source=AgendaSource.STAFF, title="养犬管理")
    decision = decision_record(
        actor=None, agenda_item=item, text="文明养犬公约", votes_for=3, votes_against=0, votes_abstain=0
    )
    action_add(actor=None, decision=decision, title="张贴公约", owner_name="网格员", due_on=date(2026, 3, 10))
    detail = reverse("council:meeting_detail", args=[meeting.pk])
    client.force_login(personas["community_staff"])
    page = client.get(detail).content.decode()
    assert "文明养犬公约" in page and "已逾期" in page and "代表0" in page
    assert "会议已召开，尚无会议记录" in page
    listing = client.get(reverse("council:meeting_list")).content.decode()
    assert "待补会议记录" in listing
    # a leader sees the meeting but no attendee names
    client.force_login(personas["leader"])
    leader_page = client.get(detail).content.decode()
    assert "代表0" not in leader_page and "文明养犬公约" in leader_page and "记录决议" not in leader_page
    # out of scope: 404 on page, POST and API
    client.force_login(personas["outsider"])
    assert client.get(detail).status_code == 404
    assert client.post(reverse("council:decision_add", args=[item.pk]), {"text": "x"}).status_code == 404
    assert client.get(f"/api/v1/council/meetings/{meeting.pk}", **bearer(personas["outsider"])).status_code == 404
    assert client.get("/api/v1/council/meetings", **bearer(personas["outsider"])).json()["items"] == []
    body = client.get(f"/api/v1/council/meetings/{meeting.pk}", **bearer(personas["town_staff"])).json()
    assert body["agenda"][0]["decisions"][0]["actions"][0]["overdue"] is True
    assert body["attendance"] == [{"category": "resident_rep", "invited": 4, "present": 3}]
    assert "代表0" not in str(body)


def test_staff_record_a_meeting_through_the_pages(client: Client, tree, personas):
    client.force_login(personas["community_staff"])
    response = client.post(
        reverse("council:meeting_new"),
        {
            "kind": MeetingKind.SUNSHINE,
            "compound": tree.compounds[0].pk,
            "title": "群租房整治",
            "starts_at": "2026-03-01T19:00",
            "place": "党群服务站",
        },
    )
    assert response.status_code == 302
    meeting_url = response["Location"]
    meeting_id = int(meeting_url.rstrip("/").split("/")[-1])
    client.post(reverse("council:attendee_add", args=[meeting_id]), {"category": "party_member", "name": "党员甲"})
    client.post(reverse("council:attendee_add", args=[meeting_id]), {"category": "property_staff", "name": "物业乙"})
    from gridgov.council.models import Attendee, Decision

    ids = list(Attendee.objects.filter(meeting_id=meeting_id).values_list("pk", flat=True))
    client.post(reverse("council:attendance", args=[meeting_id]), {"present": [str(i) for i in ids]})
    client.post(
        reverse("council:agenda_add", args=[meeting_id]),
        {"source": "proposal", "title": "群租", "proposer_name": "吴阿姨"},
    )
    from gridgov.council.models import AgendaItem

    item = AgendaItem.objects.get(meeting_id=meeting_id)
    too_many = client.post(
        reverse("council:decision_add", args=[item.pk]),
        {"text": "联合执法", "votes_for": 3, "votes_against": 0, "votes_abstain": 0},
        follow=True,
    )
    assert "超过出席人数" in too_many.content.decode()
    client.post(
        reverse("council:decision_add", args=[item.pk]),
        {"text": "联合执法", "votes_for": 2, "votes_against": 0, "votes_abstain": 0},
    )
    assert Decision.objects.get(agenda_item=item).votes_for == 2


def test_open_actions_page_flags_overdue_and_stays_in_scope(client: Client, tree, personas):
    meeting = _held_meeting(tree)
    item = agenda_item_add(actor=None, meeting=meeting, source=AgendaSource.STAFF, title="停车")
    decision = decision_record(actor=None, agenda_item=item, text="划线", votes_for=1, votes_against=0, votes_abstain=0)
    action_add(actor=None, decision=decision, title="施划停车线", owner_name="物业", due_on=date(2026, 3, 8))
    client.force_login(personas["grid_worker"])
    page = client.get(reverse("council:action_list")).content.decode()
    assert "施划停车线" in page and "已逾期" in page
    assert client.get(reverse("council:meeting_new")).status_code == 200
    client.force_login(personas["outsider"])
    assert "施划停车线" not in client.get(reverse("council:action_list")).content.decode()


def test_fund_spending_is_recorded_against_a_decision_with_its_purpose(tree):
    meeting = _held_meeting(tree)
    item = agenda_item_add(actor=None, meeting=meeting, source=AgendaSource.STAFF, title="充电棚")
    with pytest.raises(ValidationError, match="用途"):
        decision_record(
            actor=None,
            agenda_item=item,
            text="建棚",
            votes_for=3,
            votes_against=0,
            votes_abstain=0,
            fund_spent=Decimal("800"),
        )
    decision = decision_record(
        actor=None,
        agenda_item=item,
        text="建棚",
        votes_for=3,
        votes_against=0,
        votes_abstain=0,
        fund_spent=Decimal("800.00"),
        fund_note="充电棚材料费",
    )
    assert decision.fund_spent == Decimal("800.00")
