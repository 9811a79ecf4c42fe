"""THE scope selector: `AreaScope` and `scope_for`."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from gridgov.accounts.choices import ROLE_CAPABILITIES, Capability, Role
from gridgov.accounts.models import User
from gridgov.accounts.scope import EMPTY_SCOPE, AreaScope, scope_for, user_has_capability
from gridgov.accounts.services import role_assign, role_revoke
from gridgov.areas.models import Area
from gridgov.testing.factories import AreaTree, UserFactory, make_user_with_role

# ----------------------------------------------------------- AreaScope alone


def test_from_paths_keeps_only_the_topmost_of_nested_paths() -> None:
    scope = AreaScope.from_paths(["1/2/3/", "1/2/", "1/2/4/5/", "9/", "9/8/", "1/2/"])
    assert scope.paths == ("1/2/", "9/")


def test_from_paths_does_not_confuse_a_sibling_with_a_common_prefix() -> None:
    # "1/2/" and "1/23/" share the characters "1/2" but neither contains the other.
    scope = AreaScope.from_paths(["1/23/", "1/2/"])
    assert scope.paths == ("1/2/", "1/23/")
    assert scope.covers("1/23/4/")
    assert not AreaScope.from_paths(["1/2/"]).covers("1/23/")


def test_covers_the_root_and_everything_below_it_only() -> None:
    scope = AreaScope.from_paths(["370200/370281/001/"])
    assert scope.covers("370200/370281/001/")
    assert scope.covers("370200/370281/001/002/003/")
    assert not scope.covers("370200/370281/")
    assert not scope.covers("370200/370281/002/")
    assert not scope.covers("")
    assert not scope.covers(None)


def test_empty_scope_covers_nothing() -> None:
    assert EMPTY_SCOPE.is_empty
    assert AreaScope.from_paths([]).is_empty
    assert not EMPTY_SCOPE.covers("370200/")


def test_filter_returns_exactly_the_subtrees(tree: AreaTree) -> None:
    scope = AreaScope.from_paths([tree.towns[0].path, tree.grids[-1].path])
    codes = set(scope.filter(Area.objects.all()).values_list("code", flat=True))
    expected = {area.code for area in Area.objects.all() if area.path.startswith(tree.towns[0].path)}
    expected.add(tree.grids[-1].code)
    assert codes == expected


def test_empty_scope_filters_everything_out(tree: AreaTree) -> None:
    assert not EMPTY_SCOPE.filter(Area.objects.all()).exists()
    assert not Area.objects.filter(EMPTY_SCOPE.q()).exists()


# ------------------------------------------------------------------ scope_for
# (the `tree` fixture gives these tests the database)


def test_user_without_assignments_sees_nothing(tree: AreaTree) -> None:
    user = UserFactory()
    assert scope_for(user).is_empty
    assert not user_has_capability(user, Capability.VIEW_AREAS)


def test_anonymous_sees_nothing(tree: AreaTree) -> None:
    assert scope_for(AnonymousUser()).is_empty
    assert scope_for(None).is_empty


def test_inactive_user_sees_nothing(tree: AreaTree, personas: dict) -> None:
    # given the county command centre, deactivated
    user = User.objects.get(username="command")
    user.is_active = False
    # then its scope is empty whatever it holds
    for capability in Capability:
        assert scope_for(user, capability).is_empty


def test_town_staff_sees_their_town(tree: AreaTree, personas: dict) -> None:
    scope = scope_for(personas["town_staff"])
    assert scope.paths == (tree.towns[0].path,)
    assert scope.covers(tree.grids[0].path)
    assert not scope.covers(tree.grids[-1].path)
    assert not scope.covers(tree.district.path)


def test_user_with_two_assignments_sees_both_subtrees(tree: AreaTree) -> None:
    # given a grid worker of the first grid who is also community staff of the last community
    user = make_user_with_role(Role.GRID_WORKER, tree.grids[0])
    role_assign(actor=None, user=user, role=Role.COMMUNITY_STAFF, area=tree.communities[-1])
    # then both subtrees are in scope, and nothing between them
    scope = scope_for(user)
    assert scope.paths == (tree.grids[0].path, tree.communities[-1].path)
    visible = set(scope.filter(Area.objects.all()).values_list("code", flat=True))
    assert visible == {tree.grids[0].code, tree.communities[-1].code, *(grid.code for grid in tree.grids[-2:])}


def test_nested_assignments_collapse_to_the_outer_one(tree: AreaTree) -> None:
    user = make_user_with_role(Role.GRID_WORKER, tree.grids[0])
    role_assign(actor=None, user=user, role=Role.TOWN_STAFF, area=tree.towns[0])
    assert scope_for(user).paths == (tree.towns[0].path,)


def test_scope_follows_a_revoked_assignment(tree: AreaTree) -> None:
    # given a town staff member whose scope was already read in this request
    user = make_user_with_role(Role.TOWN_STAFF, tree.towns[0])
    assert not scope_for(user).is_empty
    # when the assignment is revoked
    role_revoke(actor=None, assignment=user.role_assignments.get())
    # then the cached scope is dropped
    assert scope_for(user).is_empty


# -------------------------------------------------------------- capabilities


def test_every_role_may_view_areas() -> None:
    assert all(Capability.VIEW_AREAS in capabilities for capabilities in ROLE_CAPABILITIES.values())
    assert set(ROLE_CAPABILITIES) == set(Role)


def test_admin_keeps_the_tree_but_sees_no_people(tree: AreaTree, personas: dict) -> None:
    admin = personas["admin"]
    assert scope_for(admin, Capability.VIEW_AREAS).paths == (tree.district.path,)
    assert scope_for(admin, Capability.MANAGE_AREAS).paths == (tree.district.path,)
    assert scope_for(admin, Capability.MANAGE_USERS).paths == (tree.district.path,)
    assert scope_for(admin, Capability.VIEW_PEOPLE).is_empty
    assert scope_for(admin, Capability.VIEW_DISPATCHED).is_empty


def test_department_handler_sees_dispatched_work_but_no_people(tree: AreaTree, personas: dict) -> None:
    handler = personas["department_handler"]
    assert scope_for(handler, Capability.VIEW_DISPATCHED).paths == (tree.district.path,)
    assert scope_for(handler, Capability.VIEW_AREAS).paths == (tree.district.path,)
    assert scope_for(handler, Capability.VIEW_PEOPLE).is_empty
    assert scope_for(handler, Capability.MANAGE_USERS).is_empty


def test_leader_and_resident_see_areas_but_no_people(tree: AreaTree, personas: dict) -> None:
    for name in ("leader", "resident"):
        assert not scope_for(personas[name], Capability.VIEW_AREAS).is_empty
        assert scope_for(personas[name], Capability.VIEW_PEOPLE).is_empty


def test_people_scope_comes_only_from_roles_that_grant_it(tree: AreaTree) -> None:
    # given the admin of the district who is also staff of the first community
    user = make_user_with_role(Role.ADMIN, tree.district)
    role_assign(actor=None, user=user, role=Role.COMMUNITY_STAFF, area=tree.communities[0])
    # then the areas scope is the district, but people only in that community
    assert scope_for(user, Capability.VIEW_AREAS).paths == (tree.district.path,)
    assert scope_for(user, Capability.VIEW_PEOPLE).paths == (tree.communities[0].path,)


@pytest.mark.parametrize(
    ("role", "people"),
    [
        (Role.GRID_WORKER, True),
        (Role.COMMUNITY_STAFF, True),
        (Role.TOWN_STAFF, True),
        (Role.COUNTY_COMMAND, True),
        (Role.DEPARTMENT_HANDLER, False),
        (Role.LEADER, False),
        (Role.ADMIN, False),
        (Role.RESIDENT, False),
    ],
)
def test_view_people_capability_per_role(tree: AreaTree, role: str, people: bool) -> None:
    user = make_user_with_role(role, tree.towns[0])
    assert user_has_capability(user, Capability.VIEW_PEOPLE) is people
