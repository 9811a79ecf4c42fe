"""Spending linked to a council decision of the same compound: validated in the service, on the
page and through the API; shown with the spending on the disclosure; old ledgers keep their text."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from openpyxl import load_workbook

from gridgov.accounts.services import api_token_issue
from gridgov.assets.exporting import compound_workbook
from gridgov.assets.models import LedgerEntry
from gridgov.assets.selectors import disclosure
from gridgov.assets.services import ledger_record, ledger_reverse
from gridgov.council.choices import AgendaSource, AttendeeCategory, MeetingKind
from gridgov.council.services import (
    agenda_item_add,
    attendance_record,
    attendee_add,
    decision_record,
    meeting_create,
)
from gridgov.testing.portal import make_resident

pytestmark = pytest.mark.django_db

HELD = datetime(2026, 4, 10, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _decision(compound, title="楼道灯具更换", *, votes_for=3, votes_against=0):
    meeting = meeting_create(
        actor=None,
        kind=MeetingKind.SUNSHINE,
        compound=compound,
        title="公共收益使用",
        starts_at=HELD,
        place="小区议事亭",
        convener_name="周书记",
    )
    people = [
        attendee_add(actor=None, meeting=meeting, category=AttendeeCategory.RESIDENT_REP, name=f"代表{n}")
        for n in range(3)
    ]
    attendance_record(actor=None, meeting=meeting, present_ids={person.pk for person in people})
    item = agenda_item_add(actor=None, meeting=meeting, source=AgendaSource.STAFF, title=title)
    return decision_record(
        actor=None,
        agenda_item=item,
        text=f"同意使用公共收益{title}",
        votes_for=votes_for,
        votes_against=votes_against,
        votes_abstain=0,
        now=HELD + timedelta(hours=1),
    )


def _spend(actor, compound, **kwargs):
    return ledger_record(
        actor=actor,
        compound=compound,
        item="repair",
        amount="860",
        occurred_on=date(2026, 5, 6),
        description="更换楼道灯具",
        now=NOW,
        **kwargs,
    )


def test_spending_linked_to_another_compounds_decision_is_refused_and_nothing_is_written(tree, personas):
    # Given a passed decision of compound 1 (same community) and a failed one of compound 0
    staff = personas["community_staff"]
    elsewhere = _decision(tree.compounds[1])
    failed = _decision(tree.compounds[0], "加装道闸", votes_for=1, votes_against=2)
    # When compound 0's spending names them, it is refused with a Chinese message
    with pytest.raises(ValidationError, match="不是本小区议事会议作出的"):
        _spend(staff, tree.compounds[0], decision=elsewhere)
    with pytest.raises(ValidationError, match="未获通过"):
        _spend(staff, tree.compounds[0], decision=failed)
    # Then nothing is written
    assert not LedgerEntry.objects.exists()


def test_spending_on_a_decision_shows_it_on_the_disclosure_and_its_reversal_keeps_the_link(tree, personas):
    # Given a passed decision of compound 0 and the spending booked on it
    staff = personas["community_staff"]
    decision = _decision(tree.compounds[0])
    entry = _spend(staff, tree.compounds[0], decision=decision)
    assert entry.decision == decision
    # When the Q2 disclosure is read, the spending names the decision's agenda title and date
    report = disclosure(tree.compounds[0], 2026, 2)
    [line] = report.spending
    assert (line.decision_id, line.decision_title, line.decision_date) == (decision.pk, "楼道灯具更换", HELD.date())
    assert line.basis == "《楼道灯具更换》决议（2026-04-10）"
    # And a correction keeps the link, so both lines carry it
    ledger_reverse(actor=staff, entry=entry, reason="发票作废", now=NOW)
    assert [line.decision_id for line in disclosure(tree.compounds[0], 2026, 2).spending] == [decision.pk] * 2
    # And the Excel export names it in the 议事决定 column
    sheet = load_workbook(io.BytesIO(compound_workbook(tree.compounds[0])))["收支台账"]
    assert sheet.cell(row=2, column=6).value == "《楼道灯具更换》决议（2026-04-10）"


def test_page_refuses_another_compounds_decision_and_offers_only_its_own(client: Client, tree, personas):
    staff = personas["community_staff"]
    own = _decision(tree.compounds[0], "绿化补植")
    elsewhere = _decision(tree.compounds[1], "电梯维保")
    client.force_login(staff)
    page = client.get(f"/public-assets/compounds/{tree.compounds[0].pk}/").content.decode()
    # The form offers the compound's own decision only
    assert "绿化补植" in page and "电梯维保" not in page
    form = {
        "ledger-item": "repair",
        "ledger-amount": "300",
        "ledger-occurred_on": "2026-05-06",
        "ledger-description": "补种冬青",
    }
    # When a forged post names another compound's decision, nothing is written
    refused = client.post(
        f"/public-assets/compounds/{tree.compounds[0].pk}/", {**form, "ledger-decision": elsewhere.pk}
    )
    assert refused.status_code == 200 and "不是本小区议事会议作出的" in refused.content.decode()
    assert not LedgerEntry.objects.exists()
    # When the compound's own decision is chosen, the entry links it and the page names it
    client.post(f"/public-assets/compounds/{tree.compounds[0].pk}/", {**form, "ledger-decision": own.pk})
    assert LedgerEntry.objects.get().decision == own
    assert "《绿化补植》决议" in client.get(f"/public-assets/compounds/{tree.compounds[0].pk}/").content.decode()


def test_api_refuses_another_compounds_or_unknown_decision_alike(client: Client, tree, personas):
    staff = personas["community_staff"]
    elsewhere = _decision(tree.compounds[1])
    own = _decision(tree.compounds[0], "单元门禁维修")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_token_issue(actor=None, user=staff)[1]}"}
    url = f"/api/v1/public-assets/compounds/{tree.compounds[0].pk}/ledger"
    body = {"item": "repair", "amount": "120", "occurred_on": "2026-05-06", "description": "门禁维修"}
    # When the decision is another compound's or unknown, the same Chinese 400 answers and nothing is written
    for decision_id in (elsewhere.pk, 999_999):
        refused = client.post(url, {**body, "decision_id": decision_id}, content_type="application/json", **headers)
        assert refused.status_code == 400
        assert "不是本小区议事会议作出的" in refused.json()["detail"]
    assert not LedgerEntry.objects.exists()
    # When it is the compound's own, the entry is linked and the ledger shows its basis
    created = client.post(url, {**body, "decision_id": own.pk}, content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    assert created.json()["decision_id"] == own.pk
    assert created.json()["decision_basis"].startswith("《单元门禁维修》决议")


def test_residents_read_the_decision_with_the_spending_on_the_disclosure_page(client: Client, tree, personas):
    # Given spending on a decision and an old-ledger line with only a text reference
    staff = personas["community_staff"]
    decision = _decision(tree.compounds[0], "楼顶防水")
    _spend(staff, tree.compounds[0], decision=decision)
    _spend(staff, tree.compounds[0], decision_reference="2025年第4次居民议事会")
    resident = make_resident("13612345670", compound=tree.compounds[0])
    # When a resident of the compound opens the Q2 disclosure
    client.force_login(resident)
    page = client.get(f"/public-assets/compounds/{tree.compounds[0].pk}/disclosure/", {"year": 2026, "quarter": 2})
    text = page.content.decode()
    # Then each spending line shows what it rests on
    assert page.status_code == 200
    assert "《楼顶防水》决议（2026-04-10）" in text and "2025年第4次居民议事会" in text
    api = client.get(
        f"/api/v1/public-assets/compounds/{tree.compounds[0].pk}/disclosure",
        {"year": 2026, "quarter": 2},
        HTTP_AUTHORIZATION=f"Bearer {api_token_issue(actor=None, user=staff)[1]}",
    ).json()
    assert [row["decision_title"] for row in api["spending"]] == ["楼顶防水", ""]


def test_import_of_an_old_ledger_keeps_its_decision_text(tree, personas):
    from openpyxl import Workbook

    from gridgov.assets.services import ledger_import

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["日期", "科目", "金额（元）", "摘要", "议事决定"])
    sheet.append([date(2026, 2, 1), "维修养护", 120.5, "修门", "2026年第1次议事会"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    ledger_import(actor=personas["community_staff"], compound=tree.compounds[0], content=buffer.getvalue(), now=NOW)
    entry = LedgerEntry.objects.get()
    assert entry.decision is None and entry.decision_reference == "2026年第1次议事会"
