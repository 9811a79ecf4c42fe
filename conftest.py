"""Fixtures shared by the whole suite: a small county and one persona per role."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

from gridgov.accounts.choices import Role
from gridgov.testing.factories import AreaTree, build_area_tree, make_user_with_role

# `make test` (scripts/test.sh) sets HYPOTHESIS_PROFILE=ci: the same examples on every run, so a red
# CI means a change broke something, not that a new random draw found an old bug. A plain `pytest`
# explores new examples each time; a failure it finds is replayed from .hypothesis/ until fixed.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def tree(db: None) -> AreaTree:
    return build_area_tree()


@pytest.fixture
def personas(tree: AreaTree) -> dict[str, object]:
    """A user per role, each bound to the first node of its natural level.

    `outsider` is town staff of the *second* town: everything under the first
    town is out of their scope.
    """
    first_town = tree.towns[0]
    return {
        "resident": make_user_with_role(Role.RESIDENT, tree.grids[0], username="resident"),
        "grid_worker": make_user_with_role(Role.GRID_WORKER, tree.grids[0], username="grid_worker"),
        "community_staff": make_user_with_role(Role.COMMUNITY_STAFF, tree.communities[0], username="community_staff"),
        "town_staff": make_user_with_role(Role.TOWN_STAFF, first_town, username="town_staff"),
        "department_handler": make_user_with_role(Role.DEPARTMENT_HANDLER, tree.district, username="handler"),
        "county_command": make_user_with_role(Role.COUNTY_COMMAND, tree.district, username="command"),
        "leader": make_user_with_role(Role.LEADER, tree.district, username="leader"),
        "admin": make_user_with_role(Role.ADMIN, tree.district, username="admin"),
        "outsider": make_user_with_role(Role.TOWN_STAFF, tree.towns[1], username="outsider"),
    }


@pytest.fixture
def case_rules(transactional_db: None) -> None:
    """The categories and time limits migrations seed, for transactional tests: a transactional
    test's flush at its end deletes them for the transactional tests that come after it."""
    import importlib

    from django.apps import apps as django_apps

    from gridgov.cases.models import Category

    if Category.objects.exists():
        return
    seed = importlib.import_module("gridgov.cases.migrations.0003_seed_categories")
    lifecycle = importlib.import_module("gridgov.cases.migrations.0004_cases_lifecycle")
    seed.load(django_apps, None)
    lifecycle.close_limit_from_department_limit(django_apps, None)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: pytest.FixtureRequest) -> None:
    # PBKDF2's deliberate slowness protects real passwords, not test ones.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Tests roll back their transactions, so on-commit cache clearing never runs: start each test clean."""
    from gridgov.areas.selectors import grid_index_invalidate
    from gridgov.cases.selectors import rules_cache_clear
    from gridgov.tasks.selectors import emergency_cache_clear

    rules_cache_clear()
    emergency_cache_clear()
    # The per-process point-in-grid index would keep an earlier test's grids
    # (ids are not reused after a rollback on PostgreSQL).
    grid_index_invalidate()


@pytest.fixture(autouse=True)
def _no_plaintext_personal_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test whose pages or API answers show a plaintext ID number or phone."""
    from django.test import Client

    from gridgov.testing.plaintext_guard import assert_no_plaintext

    original = Client.request

    def guarded(self: Client, **request: object) -> object:
        response = original(self, **request)
        assert_no_plaintext(str(request.get("PATH_INFO", "")), response)
        return response

    monkeypatch.setattr(Client, "request", guarded)
