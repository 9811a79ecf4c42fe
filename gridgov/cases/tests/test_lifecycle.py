"""The case loop through its services: from a grid worker's report to the reporter's rating."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from gridgov.accounts.choices import Role
from gridgov.cases.choices import CaseSource, CaseStatus, CloseReason, Rating, StepAction, Tier
from gridgov.cases.errors import CaseConflict, CaseForbidden
from gridgov.cases.models import Case, CaseStep
from gridgov.cases.services import (
    case_accept,
    case_close,
    case_decide_extension,
    case_dispatch,
    case_escalate,
    case_rate,
    case_reopen,
    case_report_back,
    case_request_extension,
    case_resume,
    case_send_back,
    case_sign_for,
    case_submit,
    case_suspend,
    case_verify,
    case_void,
)
from gridgov.notices.models import Notice
from gridgov.testing.cases import case_input, submit_case
from gridgov.testing.factories import make_user_with_role

TZ = ZoneInfo("Asia/Shanghai")
# Wednesday 4 September 2024, 10:00 — an ordinary working day.
WEDNESDAY_10 = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)


def _steps(case: Case) -> list[str]:
    return list(CaseStep.objects.filter(case=case).order_by("seq").values_list("action", flat=True))


def test_a_grid_workers_report_is_settled_in_the_grid(tree, personas):
    worker = personas["grid_worker"]
    # Given a grid worker's report in their own grid
    case = submit_case(worker, tree.grids[0], now=WEDNESDAY_10)
    # Then it waits for that grid's first response, due in one working hour
    assert case.status == CaseStatus.SUBMITTED and case.tier == Tier.GRID
    assert case.number.startswith("20240904")
    assert case.due_at == datetime(2024, 9, 4, 11, 0, tzinfo=TZ)
    assert Notice.objects.filter(recipient=worker, kind="new_case").exists()
    # When the worker accepts, reports back and verifies on site
    case_accept(actor=worker, case=case, now=WEDNESDAY_10.replace(minute=20))
    assert case.first_response_at == WEDNESDAY_10.replace(minute=20)
    case_report_back(actor=worker, case=case, result="已联系物业清运。", now=WEDNESDAY_10.replace(hour=14))
    case_verify(actor=worker, case=case, passed=True, note="现场已清理干净。", now=WEDNESDAY_10.replace(hour=15))
    # Then it is closed in the grid, fixed, with one step per change
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.closed_tier == Tier.GRID
    assert case.close_reason == CloseReason.FIXED and case.due_at is None
    assert _steps(case) == [StepAction.SUBMIT, StepAction.ACCEPT, StepAction.REPORT_BACK, StepAction.VERIFY_PASS]
    assert case.version == 4


def test_a_case_climbs_to_a_department_and_back_with_a_rating_and_a_reopen(tree, personas):
    worker, community, town = personas["grid_worker"], personas["community_staff"], personas["town_staff"]
    handler, resident = personas["department_handler"], personas["resident"]
    # Given a resident's report
    case = submit_case(resident, tree.grids[0], source=CaseSource.RESIDENT, now=WEDNESDAY_10)
    assert case.reporter == resident
    # When the grid and the community cannot settle it and the town dispatches it
    case_accept(actor=worker, case=case, now=WEDNESDAY_10)
    case_escalate(actor=worker, case=case, reason="需要社区协调物业。", now=WEDNESDAY_10)
    assert (case.tier, case.status, case.handling_area) == (Tier.COMMUNITY, CaseStatus.SUBMITTED, tree.communities[0])
    case_accept(actor=community, case=case, now=WEDNESDAY_10)
    case_escalate(actor=community, case=case, reason="涉及执法。", now=WEDNESDAY_10)
    assert case.handling_area == tree.towns[0]
    case_accept(actor=town, case=case, now=WEDNESDAY_10)
    department = handler.role_assignments.get().department
    case_dispatch(actor=town, case=case, department=department, now=WEDNESDAY_10)
    assert case.status == CaseStatus.DISPATCHED
    # Then the department signs for it, asks for more time, and reports back
    case_sign_for(actor=handler, case=case, now=WEDNESDAY_10)
    due_before = case.due_at
    case_request_extension(actor=handler, case=case, amount=Decimal(7), reason="需要等待检测结果。", now=WEDNESDAY_10)
    command = personas["county_command"]
    case_decide_extension(actor=command, case=case, approve=True, now=WEDNESDAY_10)
    assert case.due_at > due_before and case.extension_requested is None
    case_report_back(actor=handler, case=case, result="已依法处理。", now=WEDNESDAY_10)
    # And the reporter verifies, rates and later says it is not fixed
    case_verify(actor=resident, case=case, passed=True, now=WEDNESDAY_10)
    assert case.closed_tier == Tier.DEPARTMENT
    case_rate(actor=resident, case=case, rating=Rating.BASICALLY_SATISFIED, now=WEDNESDAY_10)
    case_reopen(actor=resident, case=case, reason="又堆上了。", now=WEDNESDAY_10)
    case.refresh_from_db()
    assert (case.status, case.owner, case.tier) == (CaseStatus.HANDLING, handler, Tier.DEPARTMENT)
    assert case.reopen_count == 1 and case.rating == ""
    assert case.version == CaseStep.objects.filter(case=case).count()


def test_send_back_returns_a_misrouted_case_to_the_town(tree, personas):
    town, handler = personas["town_staff"], personas["department_handler"]
    case = submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10)
    case_escalate(actor=personas["grid_worker"], case=case, reason="无法处理", now=WEDNESDAY_10)
    case_escalate(actor=personas["community_staff"], case=case, reason="无法处理", now=WEDNESDAY_10)
    case_dispatch(actor=town, case=case, department=handler.role_assignments.get().department, now=WEDNESDAY_10)
    # When the department sends it back without a reason, nothing changes
    with pytest.raises(ValidationError):
        case_send_back(actor=handler, case=case, reason="  ", now=WEDNESDAY_10)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DISPATCHED
    # With a reason it returns to the town's queue
    case_send_back(actor=handler, case=case, reason="不属于本部门职责。", now=WEDNESDAY_10)
    assert (case.tier, case.status, case.department) == (Tier.TOWN, CaseStatus.SUBMITTED, None)


def test_out_of_scope_and_illegal_actions_change_nothing(tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10)
    other_worker = make_user_with_role(Role.GRID_WORKER, tree.grids[1])
    with pytest.raises(CaseForbidden):
        case_accept(actor=other_worker, case=case, now=WEDNESDAY_10)
    with pytest.raises(CaseForbidden):
        case_void(actor=personas["outsider"], case=case, reason="无效", now=WEDNESDAY_10)
    with pytest.raises(CaseConflict):
        case_report_back(actor=personas["grid_worker"], case=case, result="x", now=WEDNESDAY_10)
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.status, fresh.version) == (CaseStatus.SUBMITTED, 1)


def test_a_stale_copy_loses_to_the_first_writer(tree, personas):
    worker = personas["grid_worker"]
    case = submit_case(worker, tree.grids[0], now=WEDNESDAY_10)
    second_worker = make_user_with_role(Role.GRID_WORKER, tree.grids[0])
    stale = Case.objects.get(pk=case.pk)
    case_accept(actor=worker, case=case, now=WEDNESDAY_10)
    with pytest.raises(CaseConflict):
        case_accept(actor=second_worker, case=stale, now=WEDNESDAY_10)
    assert CaseStep.objects.filter(case=case, action=StepAction.ACCEPT).count() == 1


def test_a_retried_submit_returns_the_first_case(tree, personas):
    worker = personas["grid_worker"]
    first, created = case_submit(actor=worker, data=case_input(tree.grids[0]), idempotency_key="k-1")
    again, created_again = case_submit(actor=worker, data=case_input(tree.grids[0]), idempotency_key="k-1")
    assert created and not created_again and again.pk == first.pk
    with pytest.raises(CaseConflict):
        case_submit(actor=worker, data=case_input(tree.grids[0], title="别的事"), idempotency_key="k-1")
    assert Case.objects.count() == 1


def test_suspend_pauses_the_clock_and_resume_moves_the_deadlines(tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10)
    due, close_due = case.due_at, case.close_due_at
    case_suspend(actor=personas["community_staff"], case=case, reason="等待法院判决", now=WEDNESDAY_10)
    case_resume(actor=personas["community_staff"], case=case, now=WEDNESDAY_10.replace(day=6))
    assert case.status == CaseStatus.SUBMITTED
    assert case.due_at - due == case.close_due_at - close_due == WEDNESDAY_10.replace(day=6) - WEDNESDAY_10


def test_a_duplicate_is_merged_into_the_first_case(tree, personas):
    worker = personas["grid_worker"]
    first = submit_case(worker, tree.grids[0], now=WEDNESDAY_10)
    second = submit_case(worker, tree.grids[0], now=WEDNESDAY_10)
    case_close(
        actor=worker, case=second, reason=CloseReason.DUPLICATE, note="同一处垃圾", merged_into=first, now=WEDNESDAY_10
    )
    assert second.merged_into == first and second.status == CaseStatus.CLOSED
    with pytest.raises(CaseConflict):
        case_reopen(actor=personas["community_staff"], case=second, reason="x", now=WEDNESDAY_10)


def test_a_point_outside_every_grid_is_refused(tree, personas):
    with pytest.raises(ValidationError, match="不在任何网格内"):
        submit_case(personas["grid_worker"], tree.grids[0], longitude=100.0, latitude=30.0)
    assert not Case.objects.exists()


def test_a_resident_cannot_register_a_case_as_staff(tree, personas):
    with pytest.raises(CaseForbidden):
        submit_case(personas["resident"], tree.grids[0], source=CaseSource.HOTLINE)
    assert not Case.objects.exists()
