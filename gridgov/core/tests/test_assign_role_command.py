from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from gridgov.accounts.models import RoleAssignment
from gridgov.accounts.scope import scope_for
from gridgov.testing.factories import AreaTree, UserFactory

pytestmark = pytest.mark.django_db


def test_assign_role_binds_the_user_to_the_area(tree: AreaTree) -> None:
    user = UserFactory(username="new_worker")
    out = StringIO()
    call_command("assign_role", "new_worker", "grid_worker", tree.grids[0].code, stdout=out)
    assert RoleAssignment.objects.filter(user=user, role="grid_worker", area=tree.grids[0]).exists()
    assert scope_for(user).paths == (tree.grids[0].path,)
    assert "网格员" in out.getvalue()


def test_assign_role_explains_unknown_area_and_missing_department(tree: AreaTree) -> None:
    UserFactory(username="someone")
    with pytest.raises(CommandError, match="区域编码“999”不存在"):
        call_command("assign_role", "someone", "grid_worker", "999")
    with pytest.raises(CommandError, match="必须指定所属部门"):
        call_command("assign_role", "someone", "department_handler", tree.district.code)
    assert not RoleAssignment.objects.filter(user__username="someone").exists()
