"""The SLA sweep: yellow at 80 %, red and one tier up on breach, exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

from django.core.management import call_command

from gridgov.cases.choices import CaseStatus, SlaLight, StepAction, Tier
from gridgov.cases.models import Case, CaseStep, DepartmentCategory
from gridgov.cases.services import case_accept, case_escalate, sla_sweep
from gridgov.notices.models import Notice
from gridgov.testing.cases import submit_case

TZ = ZoneInfo("Asia/Shanghai")
WEDNESDAY_10 = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)


def test_yellow_at_80_percent_then_red_and_escalated_on_breach(tree, personas):
    worker = personas["grid_worker"]
    # Given a report whose first response is due at 11:00 (one working hour)
    case = submit_case(worker, tree.grids[0], now=WEDNESDAY_10)
    # When the sweep runs at 10:50 the case turns yellow and the worker is warned
    assert sla_sweep(now=WEDNESDAY_10 + timedelta(minutes=50)).warned == 1
    case.refresh_from_db()
    assert case.sla_light == SlaLight.YELLOW and case.version == 1
    assert Notice.objects.filter(recipient=worker, kind="sla_warning", channel="inbox").count() == 1
    # When it runs after 11:00 with nobody acting, the case goes up to the community
    result = sla_sweep(now=WEDNESDAY_10 + timedelta(hours=1, minutes=1))
    case.refresh_from_db()
    assert (result.breached, result.escalated) == (1, 1)
    assert (case.tier, case.status, case.breach_count) == (Tier.COMMUNITY, CaseStatus.SUBMITTED, 1)
    assert case.sla_light == SlaLight.GREEN and case.due_at > WEDNESDAY_10 + timedelta(hours=2)
    # And the worker and the community are told (督办)
    supervised = set(Notice.objects.filter(kind="supervision", channel="inbox").values_list("recipient", flat=True))
    assert {worker.pk, personas["community_staff"].pk} <= supervised


def test_a_second_sweep_at_the_same_moment_escalates_nothing(tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10)
    moment = WEDNESDAY_10 + timedelta(hours=2)
    first = sla_sweep(now=moment)
    second = sla_sweep(now=moment)
    assert (first.escalated, second.escalated, second.breached) == (1, 0, 0)
    assert CaseStep.objects.filter(case=case, action=StepAction.AUTO_ESCALATE).count() == 1


def test_a_breach_at_the_town_goes_to_the_department_owning_the_category(tree, personas):
    handler = personas["department_handler"]
    department = handler.role_assignments.get().department
    case = submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10)
    DepartmentCategory.objects.create(department=department, category=case.category.parent)
    case_accept(actor=personas["grid_worker"], case=case, now=WEDNESDAY_10)
    case_escalate(actor=personas["grid_worker"], case=case, reason="需社区", now=WEDNESDAY_10)
    case_escalate(actor=personas["community_staff"], case=case, reason="需镇街", now=WEDNESDAY_10)
    sla_sweep(now=WEDNESDAY_10 + timedelta(days=14))
    case.refresh_from_db()
    assert (case.tier, case.status, case.department) == (Tier.DEPARTMENT, CaseStatus.DISPATCHED, department)


def test_a_breach_with_no_tier_above_stays_red_and_is_supervised_once(tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10)
    case_escalate(actor=personas["grid_worker"], case=case, reason="需社区", now=WEDNESDAY_10)
    case_escalate(actor=personas["community_staff"], case=case, reason="需镇街", now=WEDNESDAY_10)
    later = WEDNESDAY_10 + timedelta(days=14)
    sla_sweep(now=later)
    sla_sweep(now=later + timedelta(hours=1))
    case.refresh_from_db()
    assert (case.tier, case.sla_light, case.breach_count) == (Tier.TOWN, SlaLight.RED, 1)
    assert CaseStep.objects.filter(case=case, action=StepAction.BREACH).count() == 1


def test_the_command_replays_a_moment(tree, personas):
    submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10)
    out = StringIO()
    call_command("sla_sweep", "--once", "--now", "2024-09-04T12:00:00+08:00", stdout=out)
    assert "自动上报 1 件" in out.getvalue()
    assert Case.objects.get().tier == Tier.COMMUNITY
