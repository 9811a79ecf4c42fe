"""Case indicators: the published check values, scope, filters, rates, percentiles and period edges."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import Http404

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department, User
from gridgov.accounts.services import department_create
from gridgov.areas.models import Area
from gridgov.cases.choices import (
    CaseKind,
    CaseSource,
    CaseStatus,
    CloseReason,
    Rating,
    SlaLight,
    Tier,
    TimeUnit,
)
from gridgov.cases.indicators import Indicators, case_indicators, percentile
from gridgov.cases.models import Case, Category
from gridgov.cases.services import case_accept, case_close, case_reopen, case_report_back, case_verify
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import make_user_with_role

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
SEPTEMBER: dict[str, date] = {"date_from": date(2024, 9, 1), "date_to": date(2024, 9, 30)}
EARLY_SEPTEMBER = datetime(2024, 9, 2, 9, 0, tzinfo=TZ)
MID_SEPTEMBER = datetime(2024, 9, 15, 10, 0, tzinfo=TZ)
AUGUST = datetime(2024, 8, 20, 10, 0, tzinfo=TZ)
OCTOBER = datetime(2024, 10, 8, 10, 0, tzinfo=TZ)
FAR_FUTURE = datetime(2030, 1, 1, tzinfo=TZ)
NOW = datetime(2024, 10, 9, 12, 0, tzinfo=TZ)

_numbers = itertools.count(1)

Row = Callable[..., Case]


@pytest.fixture
def row() -> Row:
    """An unsaved Case with every NOT NULL column filled: open, submitted early in September,
    due far in the future, unless the keyword arguments say otherwise."""
    category = Category.objects.get(code="0101")

    def make(grid: Area, *, status: str = CaseStatus.SUBMITTED, **fields: Any) -> Case:
        submitted_at = fields.pop("submitted_at", EARLY_SEPTEMBER)
        stopped = status in (CaseStatus.CLOSED, CaseStatus.VOIDED)
        values: dict[str, Any] = {
            "number": f"T{next(_numbers):012d}",
            "kind": CaseKind.COMPLAINT,
            "source": CaseSource.HOTLINE,
            "category": category,
            "title": "指标测试事项",
            "description": "用于统计指标的测试数据。",
            "grid": grid,
            "handling_area": grid,
            "status": status,
            "sla_unit": TimeUnit.WORKING_HOUR,
            "step_started_at": submitted_at,
            "submitted_at": submitted_at,
            "due_at": None if stopped else FAR_FUTURE,
            "close_due_at": FAR_FUTURE,
        }
        if status == CaseStatus.CLOSED:
            values.update(close_reason=CloseReason.FIXED, closed_tier=Tier.GRID, closed_at=MID_SEPTEMBER)
        values.update(fields)
        return Case(**values)

    return make


def _zeros(result: Indicators) -> bool:
    counts = (
        result.intake,
        result.due_to_close,
        result.closed,
        result.closed_on_time,
        result.reopened,
        result.closes,
        result.rated,
        result.satisfied,
        result.overdue_open,
        *result.tier_outcome.values(),
    )
    return not any(counts) and result.close_rate is None and result.first_response_median_minutes is None


@pytest.fixture
def published_check(tree, row: Row) -> None:
    """应结案 972 (due in September, all in the first town), 结案 911, of which 按期 737; plus
    cases that must not count: voided ones due in September, closed ones due in August or October."""
    grids = tree.grids[:4]
    rows = []
    for index in range(972):
        grid = grids[index % len(grids)]
        if index < 737:
            rows.append(row(grid, status=CaseStatus.CLOSED, close_due_at=MID_SEPTEMBER, closed_at=AUGUST))
        elif index < 911:
            late = MID_SEPTEMBER + timedelta(days=3)
            rows.append(row(grid, status=CaseStatus.CLOSED, close_due_at=MID_SEPTEMBER, closed_at=late))
        else:
            rows.append(row(grid, close_due_at=MID_SEPTEMBER, due_at=MID_SEPTEMBER))
    rows += [row(grids[0], status=CaseStatus.VOIDED, close_due_at=MID_SEPTEMBER) for _ in range(5)]
    rows += [row(grids[1], status=CaseStatus.CLOSED, close_due_at=AUGUST, closed_at=AUGUST) for _ in range(3)]
    rows += [row(grids[2], status=CaseStatus.CLOSED, close_due_at=OCTOBER, closed_at=MID_SEPTEMBER) for _ in range(7)]
    Case.objects.bulk_create(rows)


def test_the_published_check_gives_93_72_and_75_82(published_check, personas, django_assert_max_num_queries):
    # Given the check data set and a county command user loaded afresh (no cached scope)
    command = User.objects.get(pk=personas["county_command"].pk)
    # When they ask for September's indicators of the first town
    # Then a fixed, small number of queries answers, however many cases there are
    with django_assert_max_num_queries(6):
        result = case_indicators(command, area_code="370281001", now=NOW, **SEPTEMBER)
    # And the figures are the published ones
    assert (result.due_to_close, result.closed, result.closed_on_time) == (972, 911, 737)
    assert result.close_rate == 93.72
    assert result.on_time_rate == 75.82
    # And the whole county gives the same answer (everything is in the first town)
    assert case_indicators(command, now=NOW, **SEPTEMBER) == result


def test_an_outsider_gets_zeros_for_the_same_period_and_404_for_the_first_town(published_check, personas):
    outsider = personas["outsider"]
    # When the second town's staff ask for the same period, nothing of the first town counts
    assert _zeros(case_indicators(outsider, now=NOW, **SEPTEMBER))
    # And naming the first town, or an area that does not exist, is the same 404
    with pytest.raises(Http404):
        case_indicators(outsider, area_code="370281001", now=NOW, **SEPTEMBER)
    with pytest.raises(Http404):
        case_indicators(personas["county_command"], area_code="370281999", now=NOW, **SEPTEMBER)
    # And their own town is fine, and empty
    assert _zeros(case_indicators(outsider, area_code="370281002", now=NOW, **SEPTEMBER))


def test_anonymous_and_deactivated_users_get_zeros(published_check, personas):
    command = personas["county_command"]
    User.objects.filter(pk=command.pk).update(is_active=False)
    assert _zeros(case_indicators(User.objects.get(pk=command.pk), now=NOW, **SEPTEMBER))
    assert _zeros(case_indicators(AnonymousUser(), now=NOW, **SEPTEMBER))


def test_an_area_narrows_to_the_cases_of_its_grids(tree, personas, row: Row):
    # Given 3 cases in the first community and 2 in the second, all in the first town
    Case.objects.bulk_create(
        [row(tree.grids[0]), row(tree.grids[1]), row(tree.grids[1]), row(tree.grids[2]), row(tree.grids[3])]
    )
    town = personas["town_staff"]
    # Then the town counts 5 and each community its own
    assert case_indicators(town, now=NOW, **SEPTEMBER).intake == 5
    assert case_indicators(town, area_code=tree.communities[0].code, now=NOW, **SEPTEMBER).intake == 3
    assert case_indicators(town, area_code=tree.grids[3].code, now=NOW, **SEPTEMBER).intake == 1
    # And a community's staff may not ask for their town
    with pytest.raises(Http404):
        case_indicators(personas["community_staff"], area_code=tree.towns[0].code, now=NOW, **SEPTEMBER)


def test_the_department_filter_keeps_cases_currently_at_that_department(tree, personas, row: Row):
    handler = personas["department_handler"]
    ours = handler.role_assignments.get().department
    other = department_create(actor=None, area=tree.district, code="D370281X", name="住房和城乡建设局")
    at = {"status": CaseStatus.DISPATCHED, "tier": Tier.DEPARTMENT, "handling_area": tree.district}
    # Given 2 cases at our department, 1 at another department and 3 still in the grid
    Case.objects.bulk_create(
        [
            row(tree.grids[0], department=ours, **at),
            row(tree.grids[5], department=ours, **at),
            row(tree.grids[1], department=other, **at),
            *(row(tree.grids[0]) for _ in range(3)),
        ]
    )
    command = personas["county_command"]
    # Then the command centre counts each department's own
    assert case_indicators(command, now=NOW, **SEPTEMBER).intake == 6
    assert case_indicators(command, department_id=ours.pk, now=NOW, **SEPTEMBER).intake == 2
    assert case_indicators(command, department_id=other.pk, now=NOW, **SEPTEMBER).intake == 1
    # And our handler sees only what is dispatched to us, with or without the filter
    assert case_indicators(handler, now=NOW, **SEPTEMBER).intake == 2
    assert case_indicators(handler, department_id=other.pk, now=NOW, **SEPTEMBER).intake == 0
    # And may narrow to an area of their department's county, still counting only our cases
    assert case_indicators(handler, area_code=tree.district.code, now=NOW, **SEPTEMBER).intake == 2
    assert case_indicators(handler, area_code=tree.towns[0].code, now=NOW, **SEPTEMBER).intake == 1
    assert Department.objects.count() == 2


def test_a_town_departments_handler_gets_404_for_another_town(tree, personas, row: Row):
    # Given a handler of a department of the first town, and a case of theirs in each town
    department = department_create(actor=None, area=tree.towns[0], code="D370281001", name="街道综合执法队")
    handler = make_user_with_role(Role.DEPARTMENT_HANDLER, tree.towns[0], department=department)
    at = {"status": CaseStatus.DISPATCHED, "tier": Tier.DEPARTMENT, "department": department}
    Case.objects.bulk_create([row(tree.grids[0], **at), row(tree.grids[6], **at)])
    # Then only the case in their own town counts, and the other town is a 404
    assert case_indicators(handler, now=NOW, **SEPTEMBER).intake == 1
    assert case_indicators(handler, area_code=tree.towns[0].code, now=NOW, **SEPTEMBER).intake == 1
    with pytest.raises(Http404):
        case_indicators(handler, area_code=tree.towns[1].code, now=NOW, **SEPTEMBER)
    # And a resident, who sees their own reports, may not name an area at all
    with pytest.raises(Http404):
        case_indicators(personas["resident"], area_code=tree.grids[0].code, now=NOW, **SEPTEMBER)


def test_the_worker_filter_keeps_cases_owned_or_last_handled_by_them(tree, personas, row: Row):
    worker, community = personas["grid_worker"], personas["community_staff"]
    # Given one case the worker owns, one they handled last, and two of someone else
    Case.objects.bulk_create(
        [
            row(tree.grids[0], status=CaseStatus.HANDLING, owner=worker),
            row(tree.grids[0], status=CaseStatus.REPORTED, last_handler=worker),
            row(tree.grids[0], status=CaseStatus.HANDLING, owner=community, last_handler=community),
            row(tree.grids[1]),
        ]
    )
    town = personas["town_staff"]
    assert case_indicators(town, worker_id=worker.pk, now=NOW, **SEPTEMBER).intake == 2
    assert case_indicators(town, worker_id=community.pk, now=NOW, **SEPTEMBER).intake == 1


def test_rework_rate_is_reopens_over_closing_steps_in_the_period(tree, personas):
    worker = personas["grid_worker"]
    day = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)
    # Given a case fixed, reopened and fixed again in September
    case = submit_case(worker, tree.grids[0], now=day)
    case_accept(actor=worker, case=case, now=day)
    case_report_back(actor=worker, case=case, result="已清运。", now=day + timedelta(hours=1))
    case_verify(actor=worker, case=case, passed=True, now=day + timedelta(hours=2))
    case_reopen(actor=worker, case=case, reason="又堆上了。", now=day + timedelta(days=1))
    case_report_back(actor=worker, case=case, result="再次清运。", now=day + timedelta(days=2))
    case_verify(actor=worker, case=case, passed=True, now=day + timedelta(days=2, hours=1))
    # And one closed as not ours in September, and one fixed in August
    other = submit_case(worker, tree.grids[0], now=day)
    case_close(actor=worker, case=other, reason=CloseReason.NOT_RESPONSIBLE, note="属于供电公司。", now=day)
    old = submit_case(worker, tree.grids[0], now=AUGUST)
    case_close(actor=worker, case=old, reason=CloseReason.NOT_RESPONSIBLE, note="属于供电公司。", now=AUGUST)
    # When the town looks at September
    result = case_indicators(personas["town_staff"], now=NOW, **SEPTEMBER)
    # Then one reopen over three closing steps
    assert (result.reopened, result.closes, result.rework_rate) == (1, 3, 33.33)
    # And the outsider counts none of these steps
    outside = case_indicators(personas["outsider"], now=NOW, **SEPTEMBER)
    assert (outside.reopened, outside.closes, outside.rework_rate) == (0, 0, None)


def test_satisfaction_counts_satisfied_and_basically_satisfied(tree, personas, row: Row):
    rated = {"status": CaseStatus.CLOSED, "rated_at": MID_SEPTEMBER}
    Case.objects.bulk_create(
        [
            row(tree.grids[0], rating=Rating.SATISFIED, **rated),
            row(tree.grids[0], rating=Rating.SATISFIED, **rated),
            row(tree.grids[1], rating=Rating.BASICALLY_SATISFIED, **rated),
            row(tree.grids[2], rating=Rating.DISSATISFIED, **rated),
            # rated in August: not this period
            row(tree.grids[0], status=CaseStatus.CLOSED, rating=Rating.DISSATISFIED, rated_at=AUGUST),
            # closed, not rated
            row(tree.grids[0], status=CaseStatus.CLOSED),
        ]
    )
    result = case_indicators(personas["county_command"], now=NOW, **SEPTEMBER)
    assert (result.rated, result.satisfied, result.satisfaction_rate) == (4, 3, 75.0)


def test_tier_outcome_counts_cases_closed_in_the_period_by_closing_tier(tree, personas, row: Row):
    department = personas["department_handler"].role_assignments.get().department
    closed = {"status": CaseStatus.CLOSED}
    Case.objects.bulk_create(
        [
            *(row(tree.grids[0], closed_tier=Tier.GRID, **closed) for _ in range(3)),
            *(row(tree.grids[1], closed_tier=Tier.COMMUNITY, **closed) for _ in range(2)),
            row(tree.grids[2], closed_tier=Tier.TOWN, **closed),
            row(tree.grids[3], closed_tier=Tier.DEPARTMENT, tier=Tier.DEPARTMENT, department=department, **closed),
            # closed in August, and a voided case: neither counts
            row(tree.grids[0], closed_tier=Tier.GRID, closed_at=AUGUST, **closed),
            row(tree.grids[0], status=CaseStatus.VOIDED),
        ]
    )
    result = case_indicators(personas["county_command"], now=NOW, **SEPTEMBER)
    assert result.tier_outcome == {"grid": 3, "community": 2, "town": 1, "department": 1}


def test_period_edges_are_local_midnights(tree, personas, row: Row):
    first, last = SEPTEMBER["date_from"], SEPTEMBER["date_to"]

    def local(day: date, hour: int, minute: int, second: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=TZ)

    inside = [local(first, 0, 0), local(last, 23, 59), local(last, 23, 59, 59)]
    outside = [local(first - timedelta(days=1), 23, 59, 59), local(last + timedelta(days=1), 0, 0)]
    # Given cases due to close (and submitted) exactly at the edges of September, local time
    Case.objects.bulk_create(
        [row(tree.grids[0], close_due_at=moment, submitted_at=moment) for moment in inside + outside]
    )
    result = case_indicators(personas["county_command"], now=NOW, **SEPTEMBER)
    # Then 00:00 on the first day and 23:59 on the last count, the instants just outside do not
    assert (result.due_to_close, result.intake) == (3, 3)
    # And a one-day period is that local day only (30 September 00:00 … 23:59:59 +08:00)
    one_day = case_indicators(personas["county_command"], date_from=last, date_to=last, now=NOW)
    assert (one_day.due_to_close, one_day.intake) == (2, 2)


def test_response_and_closing_times_are_interpolated_percentiles(tree, personas, row: Row):
    # Given first responses after 10, 20, 30, 40 and 100 minutes for cases submitted in September
    rows = [
        row(tree.grids[0], first_response_at=EARLY_SEPTEMBER + timedelta(minutes=minutes))
        for minutes in (40, 10, 100, 30, 20)
    ]
    # And cases submitted in September and closed in September after 1, 2, 3 and 4 hours
    rows += [
        row(tree.grids[1], status=CaseStatus.CLOSED, closed_at=EARLY_SEPTEMBER + timedelta(hours=hours))
        for hours in (3, 1, 4, 2)
    ]
    # And cases that must not count: submitted in August (responded and closed in September)
    rows.append(
        row(
            tree.grids[0],
            status=CaseStatus.CLOSED,
            submitted_at=AUGUST,
            first_response_at=EARLY_SEPTEMBER,
            closed_at=AUGUST + timedelta(hours=1),
        )
    )
    Case.objects.bulk_create(rows)
    result = case_indicators(personas["county_command"], now=NOW, **SEPTEMBER)
    # Then the median is the middle value and p90 interpolates between the two top values
    assert result.first_response_median_minutes == 30.0
    assert result.first_response_p90_minutes == 76.0  # 40 + 0.6 × (100 − 40)
    assert result.time_to_close_median_hours == 2.5
    assert result.time_to_close_p90_hours == 3.7  # 3 + 0.7 × (4 − 3)


def test_percentile_by_linear_interpolation():
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile([float(value) for value in range(1, 11)], 0.9) == 9.1


def test_overdue_open_counts_open_cases_red_or_past_due_whatever_the_period(tree, personas, row: Row):
    long_ago = datetime(2023, 3, 1, 9, 0, tzinfo=TZ)
    past = NOW - timedelta(hours=1)
    Case.objects.bulk_create(
        [
            row(tree.grids[0], submitted_at=long_ago, sla_light=SlaLight.RED),  # red
            row(tree.grids[0], due_at=past),  # past due, light not yet swept
            row(tree.grids[1], status=CaseStatus.DISPATCHED, due_at=past, sla_light=SlaLight.YELLOW),
            row(tree.grids[1]),  # on time
            row(tree.grids[1], status=CaseStatus.SUSPENDED, due_at=past, sla_light=SlaLight.RED),  # clock stopped
            row(tree.grids[2], status=CaseStatus.CLOSED, sla_light=SlaLight.RED),
            row(tree.grids[2], status=CaseStatus.VOIDED),
            row(tree.grids[6], sla_light=SlaLight.RED),  # second town
        ]
    )
    assert case_indicators(personas["town_staff"], now=NOW, **SEPTEMBER).overdue_open == 3
    assert case_indicators(personas["county_command"], now=NOW, **SEPTEMBER).overdue_open == 4
    assert case_indicators(personas["outsider"], now=NOW, **SEPTEMBER).overdue_open == 1


def test_no_cases_give_no_rates(personas):
    result = case_indicators(personas["county_command"], now=NOW, **SEPTEMBER)
    assert _zeros(result)
    assert (result.on_time_rate, result.rework_rate, result.satisfaction_rate) == (None, None, None)
    assert result.tier_outcome == {"grid": 0, "community": 0, "town": 0, "department": 0}


def test_a_period_ending_before_it_starts_or_longer_than_366_days_is_refused(personas):
    command = personas["county_command"]
    with pytest.raises(ValidationError) as reversed_period:
        case_indicators(command, date_from=date(2024, 9, 30), date_to=date(2024, 9, 1))
    assert reversed_period.value.messages == ["结束日期不能早于开始日期。"]
    with pytest.raises(ValidationError) as too_long:
        case_indicators(command, date_from=date(2024, 1, 1), date_to=date(2025, 1, 1))
    assert "366" in too_long.value.messages[0]
    with pytest.raises(ValidationError):
        case_indicators(command, date_from=date.max, date_to=date.max)
    # A whole leap year is exactly 366 days, and allowed
    assert case_indicators(command, date_from=date(2024, 1, 1), date_to=date(2024, 12, 31)).intake == 0
