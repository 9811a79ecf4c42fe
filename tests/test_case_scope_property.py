"""Property test of case scope: no selector, page or API answer lets a case out to a user
who may not see it, and none hides one they may.

Hypothesis draws a random area tree (city → districts → towns → communities →
grids → micro-grids), a few departments on random districts and towns, random
users with 0–3 role assignments on random nodes (department handlers with a
random department; some users deactivated), and random cases in random grids,
some dispatched to a random department, some reported by a random user.

The expected answer is computed here, independently of `gridgov.cases.rules`,
`gridgov.cases.selectors` and `gridgov.accounts.scope`: each node's path is the
chain of codes from the root, built while the tree is generated, and a user may
see a case iff they are active and
  - hold a role that views cases (grid worker, community staff, town staff,
    county command, leader) on a node whose path is a prefix of the case's grid's path, or
  - are a department handler of the case's department on such a node, or
  - reported the case.
Checked through `cases_visible_to` (the exact id set), `case_get_for_user`
(the case or 404, also for an unknown id), the page GET /cases/<id>/ (200 with
the case's number, 404, or the login redirect for deactivated users), and the
API: GET /api/v1/cases (the exact id set) and GET /api/v1/cases/<id> (200 with
the case's number, the fixed 404 body, or 401 for deactivated users).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http import Http404
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department, User
from gridgov.accounts.services import api_token_issue, role_assign
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.areas.services import AreaSpec, areas_bulk_create
from gridgov.cases.choices import CaseKind, CaseSource, CaseStatus, Tier, TimeUnit
from gridgov.cases.models import Case, Category
from gridgov.cases.selectors import case_get_for_user, cases_visible_to

pytestmark = pytest.mark.django_db

EXAMPLES = 8
USERS = (6, 8)  # per example
CASES = (8, 16)  # per example
# Per user: the selector's and the API's lists, then the selector, the page and the API
# for every case, then an unknown id on all three. Each example has at least USERS[0]
# users and CASES[0] cases, so this total is guaranteed, not just likely.
MIN_CHECKS = EXAMPLES * USERS[0] * (2 + 3 * CASES[0] + 3)
NOT_FOUND = {"detail": "对象不存在或无权查看。"}
MOMENT = datetime(2024, 9, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # times play no part in scope
ROLES = list(Role)
# Written out, not derived from ROLE_CAPABILITIES: administrators, residents and
# department handlers must never see cases by area (PIPL: minimum necessary).
VIEW_CASES_ROLES = frozenset(
    {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.COUNTY_COMMAND, Role.LEADER}
)


# --------------------------------------------------------------------- world


@dataclass
class Tree:
    """The generated tree, kept in Python: the oracle never reads it back from the database."""

    specs: list[AreaSpec] = field(default_factory=list)
    path: dict[str, str] = field(default_factory=dict)  # code → "city/district/…/code/", codes in full
    by_level: dict[str, list[str]] = field(default_factory=dict)

    def add(self, level: str, code: str, parent: str | None) -> None:
        self.specs.append(AreaSpec(level=level, code=code, name=f"区域{code}", parent_code=parent))
        self.path[code] = f"{self.path[parent] if parent else ''}{code}/"
        self.by_level.setdefault(level, []).append(code)


@dataclass(frozen=True)
class Assignment:
    role: str
    area: str
    department: int  # index into World.departments; used for department handlers only


@dataclass
class UserPlan:
    active: bool
    assignments: list[Assignment]


@dataclass(frozen=True)
class CasePlan:
    grid: str
    department: int | None
    reporter: int | None  # index into World.users


@dataclass
class World:
    tree: Tree
    departments: list[str]  # the area code of each department
    users: list[UserPlan]
    cases: list[CasePlan]


@st.composite
def area_trees(draw: st.DrawFn) -> Tree:
    tree = Tree()
    city = "370200"
    tree.add(AreaLevel.CITY, city, None)
    for d in range(draw(st.integers(1, 2))):
        district = f"3702{81 + d:02d}"
        tree.add(AreaLevel.DISTRICT, district, city)
        for t in range(draw(st.integers(1, 3))):
            town = f"{district}{t + 1:03d}"
            tree.add(AreaLevel.TOWN, town, district)
            for m in range(draw(st.integers(1, 2))):
                community = f"{town}{m + 1:03d}"
                tree.add(AreaLevel.COMMUNITY, community, town)
                for g in range(draw(st.integers(1, 3))):
                    grid = f"{community}{g + 1:03d}"
                    tree.add(AreaLevel.GRID, grid, community)
                    for x in range(draw(st.integers(0, 1))):
                        tree.add(AreaLevel.MICROGRID, f"{grid}{x + 1:03d}", grid)
    return tree


@st.composite
def worlds(draw: st.DrawFn) -> World:
    tree = draw(area_trees())
    departments = draw(
        st.lists(
            st.sampled_from(tree.by_level[AreaLevel.DISTRICT] + tree.by_level[AreaLevel.TOWN]), min_size=1, max_size=3
        )
    )
    levels = sorted(tree.by_level)
    node = st.sampled_from(levels).flatmap(lambda level: st.sampled_from(tree.by_level[level]))
    department = st.integers(0, len(departments) - 1)
    users = draw(
        st.lists(
            st.builds(
                UserPlan,
                active=st.sampled_from([True, True, True, True, False]),
                # One assignment per (role, area), as the database keeps it.
                assignments=st.lists(
                    st.builds(Assignment, role=st.sampled_from(ROLES), area=node, department=department),
                    max_size=3,
                    unique_by=lambda assignment: (assignment.role, assignment.area),
                ),
            ),
            min_size=USERS[0],
            max_size=USERS[1],
        )
    )
    cases = draw(
        st.lists(
            st.builds(
                CasePlan,
                grid=st.sampled_from(tree.by_level[AreaLevel.GRID]),
                department=st.none() | department,
                reporter=st.none() | st.integers(0, len(users) - 1),
            ),
            min_size=CASES[0],
            max_size=CASES[1],
        )
    )
    return World(tree=tree, departments=departments, users=users, cases=cases)


# -------------------------------------------------------------------- oracle


def may_see(world: World, user_index: int, case: CasePlan) -> bool:
    plan = world.users[user_index]
    if not plan.active:
        return False
    grid_path = world.tree.path[case.grid]
    for assignment in plan.assignments:
        covers = grid_path.startswith(world.tree.path[assignment.area])
        if covers and assignment.role in VIEW_CASES_ROLES:
            return True
        if covers and assignment.role == Role.DEPARTMENT_HANDLER and assignment.department == case.department:
            return True
    return case.reporter == user_index


# ------------------------------------------------------------------ the test


@dataclass
class Tally:
    checks: int = 0  # (user, case, surface) answers that matched the oracle
    pairs: int = 0  # (user, case) pairs
    visible_pairs: int = 0
    examples: int = 0
    seconds: float = 0.0


def build(world: World) -> tuple[list[User], list[Client], list[dict[str, str]], list[Case]]:
    """Write the tree, departments, users, assignments and cases; sign every user in and give
    each an API token, then deactivate the leavers."""
    areas_bulk_create(actor=None, specs=world.tree.specs)
    areas = {area.code: area for area in Area.objects.all()}
    departments = Department.objects.bulk_create(
        [
            Department(area=areas[code], code=f"D{index}{code}", name=f"测试部门{index}")
            for index, code in enumerate(world.departments)
        ]
    )
    users = User.objects.bulk_create(
        [User(username=f"u{index}", password=make_password(None)) for index in range(len(world.users))]
    )
    for user, plan in zip(users, world.users, strict=True):
        for assignment in plan.assignments:
            role_assign(
                actor=None,
                user=user,
                role=assignment.role,
                area=areas[assignment.area],
                department=departments[assignment.department] if assignment.role == Role.DEPARTMENT_HANDLER else None,
            )
    category = Category.objects.get(code="0101")
    cases = Case.objects.bulk_create(
        [
            Case(
                number=f"P{index:06d}",
                kind=CaseKind.COMPLAINT,
                source=CaseSource.RESIDENT if plan.reporter is not None else CaseSource.HOTLINE,
                category=category,
                title=f"性质测试事项{index}",
                description="范围性质测试。",
                grid=areas[plan.grid],
                handling_area=areas[plan.grid],
                reporter=users[plan.reporter] if plan.reporter is not None else None,
                department=departments[plan.department] if plan.department is not None else None,
                status=CaseStatus.SUBMITTED if plan.department is None else CaseStatus.DISPATCHED,
                tier=Tier.GRID if plan.department is None else Tier.DEPARTMENT,
                sla_unit=TimeUnit.WORKING_HOUR,
                step_started_at=MOMENT,
                submitted_at=MOMENT,
                due_at=MOMENT,
                close_due_at=MOMENT,
            )
            for index, plan in enumerate(world.cases)
        ]
    )
    clients, tokens = [], []
    for user in users:
        client = Client()
        client.force_login(user)
        clients.append(client)
        _token, raw = api_token_issue(actor=None, user=user)
        tokens.append({"HTTP_AUTHORIZATION": f"Bearer {raw}"})
    # Deactivated after signing in and getting a token: both must stop working.
    leavers = [user.pk for user, plan in zip(users, world.users, strict=True) if not plan.active]
    User.objects.filter(pk__in=leavers).update(is_active=False)
    return users, clients, tokens, cases


def check_user(
    tally: Tally, world: World, index: int, user: User, client: Client, token: dict[str, str], cases: list[Case]
) -> None:
    """Compare every surface with the oracle for one user and every case."""
    plan = world.users[index]
    # A fresh copy: no duties or scope cached from before the assignments or the deactivation.
    fresh = User.objects.get(pk=user.pk)
    expected = {case.pk for case, case_plan in zip(cases, world.cases, strict=True) if may_see(world, index, case_plan)}
    context: dict[str, Any] = {"user": index, "plan": plan}

    listed = set(cases_visible_to(fresh).values_list("pk", flat=True))
    assert listed == expected, {**context, "leaked": listed - expected, "hidden": expected - listed}
    tally.checks += 1

    response = client.get("/api/v1/cases", **token)
    if plan.active:
        listed = {item["id"] for item in response.json()["items"]}
        assert listed == expected, {**context, "api_leaked": listed - expected, "api_hidden": expected - listed}
    else:
        assert response.status_code == 401, context
    tally.checks += 1

    for case, case_plan in zip(cases, world.cases, strict=True):
        visible = case.pk in expected
        context = {"user": index, "plan": plan, "case": case_plan, "expected_visible": visible}
        tally.pairs += 1
        tally.visible_pairs += visible

        try:
            found: Case | None = case_get_for_user(fresh, case.pk)
        except Http404:
            found = None
        assert (found is not None and found.pk == case.pk) == visible, context
        tally.checks += 1

        url = f"/cases/{case.pk}/"
        response = client.get(url)
        if not plan.active:
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), context
        else:
            assert response.status_code == (200 if visible else 404), {**context, "status": response.status_code}
            if visible:
                assert case.number in response.content.decode(), context
        tally.checks += 1

        url = f"/api/v1/cases/{case.pk}"
        response = client.get(url, **token)
        if not plan.active:
            assert response.status_code == 401, context
        elif visible:
            assert response.status_code == 200 and response.json()["number"] == case.number, context
        else:
            assert (response.status_code, response.json()) == (404, NOT_FOUND), context
        tally.checks += 1

    unknown = max(case.pk for case in cases) + 1000
    with pytest.raises(Http404):
        case_get_for_user(fresh, unknown)
    assert client.get(f"/cases/{unknown}/").status_code == (404 if plan.active else 302)
    assert client.get(f"/api/v1/cases/{unknown}", **token).status_code == (404 if plan.active else 401)
    tally.checks += 3


def test_no_case_leaks_through_selectors_or_pages(quiet_request_log: None) -> None:
    tally = Tally()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        # Shrinking would replay whole examples (a second or more each) for minutes;
        # the assertion messages name the user's assignments and the case, and the
        # printed blob replays the example with @reproduce_failure.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(world=worlds())
    def scoped_everywhere(world: World) -> None:
        started = time.perf_counter()
        # given a random tree, departments, users with assignments, and cases (rolled back after the example)
        with transaction.atomic():
            users, clients, tokens, cases = build(world)
            # when each user lists, fetches and opens every case, on pages and through the API
            # then each answer matches the oracle
            for index, (user, client, token) in enumerate(zip(users, clients, tokens, strict=True)):
                check_user(tally, world, index, user, client, token, cases)
            transaction.set_rollback(True)
        tally.examples += 1
        tally.seconds += time.perf_counter() - started

    scoped_everywhere()
    print(f"\ncase scope property: {tally}")
    assert tally.checks >= MIN_CHECKS, tally
    # Both answers occur often enough for the comparison to mean something.
    assert 0 < tally.visible_pairs < tally.pairs, tally
