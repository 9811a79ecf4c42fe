"""The dashboard's numbers equal the indicator selector's and a hand-written SQL query's, at three levels."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gridgov.accounts.choices import Role
from gridgov.cases import services
from gridgov.cases.choices import CaseSource, CloseReason, Rating
from gridgov.cases.indicators import case_indicators, period_bounds
from gridgov.cases.models import Case, Category
from gridgov.dashboard.rollups import rollups_rebuild, rollups_refresh
from gridgov.dashboard.selectors import dashboard_children, dashboard_departments, dashboard_summary
from gridgov.testing.cases import submit_case
from gridgov.testing.dashboard import act_as_anyone, raw_summary
from gridgov.testing.factories import make_user_with_role

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
SEPT_2 = datetime(2024, 9, 2, 8, 30, tzinfo=TZ)
NOW = datetime(2024, 10, 20, 12, 0, tzinfo=TZ)
PERIODS = [
    (date(2024, 9, 1), date(2024, 9, 30)),
    (date(2024, 9, 5), date(2024, 9, 12)),
    (date(2024, 9, 1), date(2024, 10, 31)),
]


def history(tree: Any, personas: dict[str, Any]) -> list[Case]:
    """24 cases over September in all eight grids: settled at each tier, on time and late, closed
    without a fix, voided, still open (and overdue by NOW), rated, reopened."""
    categories = list(Category.objects.filter(code__in=["0101", "0602", "0201"]).order_by("code"))
    staff = dict(personas)
    for index, grid in enumerate(tree.grids[1:], start=1):
        staff[f"grid{index}"] = make_user_with_role(Role.GRID_WORKER, grid)
    for index, community in enumerate(tree.communities[1:], start=1):
        staff[f"community{index}"] = make_user_with_role(Role.COMMUNITY_STAFF, community)
    cases = []
    for index in range(24):
        at = SEPT_2 + timedelta(hours=17 * index)
        grid = tree.grids[index % 8]
        category = categories[index % 3]
        by_resident = index % 4 == 0
        if by_resident:
            case = submit_case(personas["resident"], grid, now=at, category=category, source=CaseSource.RESIDENT)
        else:
            case = submit_case(personas["county_command"], grid, now=at, category=category, source=CaseSource.HOTLINE)

        def step(action: str, hours: float, **kwargs: Any) -> None:
            act_as_anyone(staff, case, action, at + timedelta(hours=hours), **kwargs)  # noqa: B023

        pattern = index % 6
        if pattern == 0:  # settled in the grid, in an hour
            step("accept", 0.5)
            step("report_back", 1, result="已清理。")
            step("verify", 1.5, passed=True)
        elif pattern == 1:  # the community settles it
            step("escalate", 0.2, reason="需要协调。")
            step("accept", 2)
            step("report_back", 20, result="已协调。")
            step("verify", 21, passed=True)
        elif pattern == 2:  # the department, late
            step("escalate", 0.2, reason="需要协调。")
            step("escalate", 0.4, reason="涉及执法。")
            step("dispatch", 1, department=personas["department_handler"].role_assignments.get().department)
            step("sign_for", 2)
            step("report_back", 24 * 25, result="已依法处理。")
            step("verify", 24 * 25 + 1, passed=True)
        elif pattern == 3:  # the town closes it as not its business
            step("escalate", 0.2, reason="需要协调。")
            step("escalate", 0.4, reason="涉及多个社区。")
            step("close", 3, reason=CloseReason.NOT_RESPONSIBLE, note="非本辖区。")
        elif pattern == 4:
            step("void", 1, reason="重复登记。")
        else:  # accepted and left open
            step("accept", 4)
        if by_resident and case.status == "closed":
            resident, later = personas["resident"], at + timedelta(hours=30)
            rating = Rating.DISSATISFIED if index in (0, 8) else Rating.SATISFIED
            services.case_rate(actor=resident, case=case, rating=rating, now=later)
            if index == 0:
                services.case_reopen(actor=resident, case=case, reason="又堆上了。", now=later)
        cases.append(case)
    return cases


@pytest.fixture
def county(tree, personas) -> Any:
    history(tree, personas)
    rollups_refresh(now=NOW)
    return tree


def _as_indicators(summary: Any) -> dict[str, Any]:
    fields = ("intake", "due_to_close", "closed", "closed_on_time", "close_rate", "on_time_rate", "reopened")
    fields += ("closes", "rework_rate", "rated", "satisfied", "satisfaction_rate", "overdue_open", "tier_outcome")
    return {name: getattr(summary, name) for name in fields}


def test_dashboard_equals_indicators_and_hand_written_sql_at_three_levels(county, personas):
    leader = personas["leader"]
    for area in (county.district, county.towns[0], county.grids[0]):
        for date_from, date_to in PERIODS:
            # Given the worker's rollups, when the dashboard sums them
            summary = dashboard_summary(leader, area, date_from=date_from, date_to=date_to, now=NOW)
            # Then they equal the indicator selector over the raw cases …
            expected = case_indicators(leader, area_code=area.code, date_from=date_from, date_to=date_to, now=NOW)
            assert _as_indicators(summary) == _as_indicators(expected), (area.code, date_from)
            # … and the hand-written SQL
            start, end = period_bounds(date_from, date_to)
            raw = raw_summary(area.path, start, end, NOW)
            mine = _as_indicators(summary)
            tiers = mine.pop("tier_outcome")
            assert {key: mine[key] for key in raw if key in mine} == {key: raw[key] for key in mine if key in raw}
            assert tiers == {tier: raw[f"tier_{tier}"] for tier in tiers}
    # The data is not trivial: every tier and every kind of count is exercised somewhere
    september = dashboard_summary(
        leader, county.district, date_from=date(2024, 9, 1), date_to=date(2024, 10, 31), now=NOW
    )
    assert all(september.tier_outcome.values()), september.tier_outcome
    assert september.reopened and september.rated > september.satisfied and september.overdue_open
    assert september.closed_on_time < september.closed < september.due_to_close < september.intake


def test_mean_first_response_and_the_category_filter_match_the_raw_cases(county, personas):
    summary = dashboard_summary(
        personas["leader"], county.towns[1], date_from=date(2024, 9, 1), date_to=date(2024, 9, 30), now=NOW
    )
    start, end = period_bounds(date(2024, 9, 1), date(2024, 9, 30))
    seconds = [
        (case.first_response_at - case.submitted_at).total_seconds()
        for case in Case.objects.filter(
            grid__path__startswith=county.towns[1].path, submitted_at__gte=start, submitted_at__lt=end
        )
        if case.first_response_at
    ]
    assert summary.first_response_count == len(seconds) > 0
    assert summary.first_response_mean_minutes == round(sum(seconds) / len(seconds) / 60, 2)
    # A category filter counts only that branch of the category tree
    leader = personas["leader"]
    period: dict[str, Any] = {"date_from": date(2024, 9, 1), "date_to": date(2024, 9, 30), "now": NOW}
    whole = dashboard_summary(leader, county.district, **period)
    parts = [dashboard_summary(leader, county.district, category=code, **period) for code in ("01", "02", "06")]
    assert sum(part.intake for part in parts) == whole.intake
    in_02 = Case.objects.filter(category__code__startswith="02", submitted_at__gte=start, submitted_at__lt=end)
    assert parts[1].intake == in_02.count() > 0


def test_children_and_departments_add_up_to_the_parent(county, personas):
    leader = personas["leader"]
    period: dict[str, Any] = {"date_from": date(2024, 9, 1), "date_to": date(2024, 10, 31), "now": NOW}
    parent = dashboard_summary(leader, county.district, **period)
    towns = dashboard_children(leader, county.district, **period)
    assert [area for area, _ in towns] == county.towns
    assert sum(s.intake for _, s in towns) == parent.intake
    assert sum(s.overdue_open for _, s in towns) == parent.overdue_open
    departments = dashboard_departments(leader, county.district, **period)
    assert [d.name for d, _ in departments] == ["城市管理局"]
    dept = departments[0][1]
    assert dept.intake == Case.objects.filter(department__isnull=False).count()
    # And a rebuild from raw gives the same numbers
    rollups_rebuild(now=NOW)
    assert dashboard_summary(leader, county.district, **period) == parent
