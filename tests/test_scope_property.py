"""Property test of area scope over HTTP: no page or API answer shows an area
outside the caller's role assignments, and none hides one inside them.

Hypothesis draws a random area tree (city → district → town → community →
grid → micro-grid, at least 50 grids), random users with 0–3 random role
assignments on random nodes (some users deactivated), and a set of probe
codes per user: the nodes around each assignment (itself, parent, sibling,
children, a descendant), random nodes of every level, and codes that do not
exist. Every probe is requested on every area page and API operation.

The expected answer is computed here, independently of `gridgov.accounts.scope`:
a node is visible when walking its parent links (kept in Python while the
tree is generated) reaches a node the user holds a role on. Visible → 200 with
exactly the expected content; invisible or missing → 404 (inactive users: the
login redirect or 401). List answers and page bodies must not mention any code
outside the visible set.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gridgov.accounts.choices import ROLE_CAPABILITIES, Capability, Role
from gridgov.accounts.models import Department, User
from gridgov.accounts.services import api_token_issue, department_create, role_assign
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.areas.services import AreaSpec, areas_bulk_create
from gridgov.testing.factories import square

pytestmark = pytest.mark.django_db

MIN_GRIDS = 50
MIN_CHECKS = 10_000
EXAMPLES = 7
USERS = (8, 10)  # per example
PROBES_PER_USER = 36  # each requested on all 5 endpoints
LEVELS = [AreaLevel.CITY, AreaLevel.DISTRICT, AreaLevel.TOWN, AreaLevel.COMMUNITY, AreaLevel.GRID, AreaLevel.MICROGRID]
ROLES = list(Role)
AREA_ROLES = frozenset(
    role for role, capabilities in ROLE_CAPABILITIES.items() if Capability.VIEW_AREAS in capabilities
)
DIGITS = re.compile(r"\d+")


# --------------------------------------------------------------------- world


@dataclass
class Tree:
    """The generated tree, kept in Python: the oracle never reads it back from the database."""

    specs: list[AreaSpec] = field(default_factory=list)
    parent: dict[str, str | None] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    by_level: dict[str, list[str]] = field(default_factory=dict)

    def add(self, level: str, code: str, parent: str | None, geometry: dict[str, Any] | None = None) -> None:
        self.specs.append(AreaSpec(level=level, code=code, name=f"区域{code}", parent_code=parent, geometry=geometry))
        self.parent[code] = parent
        self.children[code] = []
        if parent is not None:
            self.children[parent].append(code)
        self.by_level.setdefault(level, []).append(code)

    def ancestors_or_self(self, code: str) -> Iterator[str]:
        node: str | None = code
        while node is not None:
            yield node
            node = self.parent[node]

    def subtree(self, code: str) -> set[str]:
        found, stack = set(), [code]
        while stack:
            node = stack.pop()
            found.add(node)
            stack.extend(self.children[node])
        return found


@dataclass
class UserPlan:
    active: bool
    assignments: list[tuple[str, str]]  # (role, area code)


@dataclass
class World:
    tree: Tree
    users: list[UserPlan]
    rng: random.Random


@st.composite
def area_trees(draw: st.DrawFn) -> Tree:
    tree = Tree()
    communities: list[str] = []
    grid_counts: list[int] = []
    for c in range(draw(st.integers(1, 2))):
        city = f"37{c + 2:02d}00"
        tree.add(AreaLevel.CITY, city, None)
        for d in range(draw(st.integers(1, 2))):
            district = f"{city[:4]}{81 + d:02d}"
            tree.add(AreaLevel.DISTRICT, district, city)
            for t in range(draw(st.integers(1, 3))):
                town = f"{district}{t + 1:03d}"
                tree.add(AreaLevel.TOWN, town, district)
                for m in range(draw(st.integers(1, 3))):
                    community = f"{town}{m + 1:03d}"
                    tree.add(AreaLevel.COMMUNITY, community, town)
                    communities.append(community)
                    grid_counts.append(draw(st.integers(1, 6)))
    # Top up small trees round-robin so that every tree has enough grids.
    i = 0
    while sum(grid_counts) < MIN_GRIDS:
        grid_counts[i % len(grid_counts)] += 1
        i += 1
    mapped = draw(st.sets(st.sampled_from(communities), max_size=3))
    for index, (community, count) in enumerate(zip(communities, grid_counts, strict=True)):
        for g in range(count):
            grid = f"{community}{g + 1:03d}"
            geometry = square(119.0 + g * 0.01, 36.0 + index * 0.01, 0.01) if community in mapped else None
            tree.add(AreaLevel.GRID, grid, community, geometry)
            for x in range(draw(st.integers(0, 2))):
                tree.add(AreaLevel.MICROGRID, f"{grid}{x + 1:03d}", grid)
    return tree


@st.composite
def worlds(draw: st.DrawFn) -> World:
    tree = draw(area_trees())
    levels = [level for level in LEVELS if tree.by_level.get(level)]
    node = st.sampled_from(levels).flatmap(lambda level: st.sampled_from(tree.by_level[level]))
    users = draw(
        st.lists(
            st.builds(
                UserPlan,
                active=st.sampled_from([True, True, True, True, True, False]),
                assignments=st.lists(st.tuples(st.sampled_from(ROLES), node), max_size=3),
            ),
            min_size=USERS[0],
            max_size=USERS[1],
        )
    )
    return World(tree=tree, users=users, rng=draw(st.randoms(use_true_random=False)))


# -------------------------------------------------------------------- oracle


def visible_set(tree: Tree, plan: UserPlan) -> set[str]:
    """Codes the user may see, by walking parent links up from every node."""
    if not plan.active:
        return set()
    roots = {code for role, code in plan.assignments if role in AREA_ROLES}
    return {code for code in tree.parent if any(node in roots for node in tree.ancestors_or_self(code))}


def missing_codes(tree: Tree, visible: set[str], rng: random.Random) -> list[str]:
    """Well-formed codes that are not in the tree: a 999th child of a visible node
    (missing inside the scope) and of any node, and an unknown district."""
    inside = sorted(code for code in visible if tree.parent[code] is not None)
    anywhere = [code for level in LEVELS[1:5] for code in tree.by_level.get(level, [])]
    parents = [rng.choice(inside or anywhere), rng.choice(anywhere)]
    return [f"{code}999" for code in parents] + ["370299"]


def probes_for(tree: Tree, plan: UserPlan, visible: set[str], rng: random.Random) -> list[str]:
    """PROBES_PER_USER codes: the nodes around each assignment (itself, its parent,
    a sibling, children, a descendant), then random nodes of random levels, then
    codes that do not exist."""
    wanted = PROBES_PER_USER - 3
    codes: set[str] = set()
    for _role, code in plan.assignments:
        around = [code, *tree.children[code][:2], rng.choice(sorted(tree.subtree(code)))]
        parent = tree.parent[code]
        if parent is not None:
            around += [parent, rng.choice(tree.children[parent])]
        codes.update(around)
    codes = set(sorted(codes)[:wanted])
    levels = [level for level in LEVELS if tree.by_level.get(level)]
    while len(codes) < wanted:
        codes.add(rng.choice(tree.by_level[rng.choice(levels)]))
    return sorted(codes) + missing_codes(tree, visible, rng)


# ------------------------------------------------------------------ the test

ENDPOINTS = 5
# Each example has at least USERS[0] users with PROBES_PER_USER probes each, so
# the total below is guaranteed, not just likely.
assert EXAMPLES * USERS[0] * PROBES_PER_USER * ENDPOINTS >= MIN_CHECKS
NOT_FOUND = {"detail": "对象不存在或无权查看。"}


@dataclass
class Tally:
    checks: int = 0  # (user, code, endpoint) requests whose status matched the oracle
    listed: int = 0  # codes returned in list answers, each checked against the visible set
    pairs: int = 0  # (user, code) pairs probed
    visible_pairs: int = 0
    examples: int = 0
    seconds: float = 0.0


def build(world: World) -> list[tuple[UserPlan, Client, dict[str, str]]]:
    """Write the tree, users, assignments and tokens; return a signed-in client and token headers per user."""
    areas_bulk_create(actor=None, specs=world.tree.specs)
    areas = {area.code: area for area in Area.objects.all()}
    # No password is needed: pages use force_login, the API a bearer token.
    users = User.objects.bulk_create(
        [User(username=f"u{index}", password=make_password(None)) for index in range(len(world.users))]
    )
    departments: dict[str, Department] = {}
    actors = []
    for user, plan in zip(users, world.users, strict=True):
        for role, code in plan.assignments:
            department = None
            if role == Role.DEPARTMENT_HANDLER:
                if code not in departments:
                    departments[code] = department_create(actor=None, area=areas[code], code=f"D{code}", name="城管局")
                department = departments[code]
            role_assign(actor=None, user=user, role=role, area=areas[code], department=department)
        _token, raw = api_token_issue(actor=None, user=user)
        client = Client()
        client.force_login(user)
        actors.append((plan, client, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}))
    # Deactivated after signing in and getting a token: both must stop working.
    leavers = [user.pk for user, plan in zip(users, world.users, strict=True) if not plan.active]
    User.objects.filter(pk__in=leavers).update(is_active=False)
    return actors


def check_user(
    tally: Tally, tree: Tree, plan: UserPlan, client: Client, token: dict[str, str], rng: random.Random
) -> None:
    """Request every probe of one user on the three area pages and the two API operations."""
    visible = visible_set(tree, plan)
    invisible = set(tree.parent) - visible

    def answered(response: Any, code: str, url: str) -> bool:
        """Assert the status the oracle expects; True when the answer is 200."""
        api = url.startswith("/api/")
        if code in visible:
            expected = 200
        elif not plan.active:
            expected = 401 if api else 302
        else:
            expected = 404
        assert response.status_code == expected, (url, plan, response.status_code)
        if expected == 404 and api:
            assert response.json() == NOT_FOUND, url
        if expected == 302:
            assert response["Location"].startswith("/accounts/login/"), url
        tally.checks += 1
        return expected == 200

    def no_leak(returned: list[str], url: str) -> None:
        leaked = set(returned) - visible
        assert not leaked, (url, plan, sorted(leaked))
        tally.listed += len(returned)

    for code in probes_for(tree, plan, visible, rng):
        tally.pairs += 1
        tally.visible_pairs += code in visible
        children = sorted(tree.children.get(code, []))

        url = f"/areas/{code}/"
        response = client.get(url)
        if answered(response, code, url):
            # Breadcrumbs, children, names: no digit run of the page may be an invisible code.
            body = response.content.decode()
            mentioned = set(DIGITS.findall(body)) & invisible
            assert not mentioned, (url, plan, sorted(mentioned))
            assert all(f'data-code="{child}"' in body for child in children), url

        url = f"/areas/{code}/children.geojson"
        response = client.get(url)
        if answered(response, code, url):
            returned = [feature["properties"]["code"] for feature in response.json()["features"]]
            no_leak(returned, url)
            assert sorted(returned) == children, url

        url = f"/areas/{code}/export.geojson"
        response = client.get(url)
        if answered(response, code, url):
            returned = [feature["properties"]["code"] for feature in response.json()["features"]]
            no_leak(returned, url)
            assert sorted(returned) == sorted(tree.subtree(code)), url

        url = f"/api/v1/areas/{code}"
        response = client.get(url, **token)
        if answered(response, code, url):
            assert response.json()["code"] == code, url

        url = f"/api/v1/areas/{code}/children"
        page_size = rng.choice([None, 1, 2, 100])
        response = client.get(url, {"page_size": page_size} if page_size else {}, **token)
        if answered(response, code, url):
            page = response.json()
            returned = [item["code"] for item in page["items"]]
            no_leak(returned, url)
            assert page["count"] == len(children), url
            assert returned == children[: page_size or 100], url


def _roomy_frame_caller() -> Callable[..., Any]:
    """A function `call(fn, *args)` whose own frame is about 136 KiB.

    CPython 3.11 keeps frames in 16 KiB chunks and unmaps a chunk as soon as the
    stack shrinks below its start. Thousands of requests made at the depth that
    pytest and Hypothesis leave us keep crossing such a boundary, costing an
    mmap/munmap pair each time (about a third of this test's runtime). Entering
    one huge frame makes CPython allocate a 256 KiB chunk whose free tail holds
    the whole request stack. Harmless on other versions.
    """
    names = "=".join(f"_{index}" for index in range(17_000))
    namespace: dict[str, Any] = {}
    exec(f"def call(fn, *args):\n    {names} = None\n    return fn(*args)\n", namespace)  # noqa: S102
    return namespace["call"]


call_with_roomy_stack = _roomy_frame_caller()


def test_no_area_leaks_across_pages_and_api(quiet_request_log: None) -> None:
    tally = Tally()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        # Shrinking would replay whole examples (seconds each) for minutes; the
        # assertion messages name the URL, the user's assignments and the leaked
        # codes, and the printed blob replays the example with @reproduce_failure.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(world=worlds())
    def scoped_everywhere(world: World) -> None:
        started = time.perf_counter()
        # given a random tree, users, assignments and tokens (rolled back after the example)
        with transaction.atomic():
            actors = build(world)
            # when each user requests their probes on every page and API operation
            # then each answer matches the oracle and no answer names an invisible area
            for plan, client, token in actors:
                call_with_roomy_stack(check_user, tally, world.tree, plan, client, token, world.rng)
            transaction.set_rollback(True)
        tally.examples += 1
        tally.seconds += time.perf_counter() - started

    scoped_everywhere()
    print(f"\nscope property: {tally}")
    assert tally.checks >= MIN_CHECKS, tally
