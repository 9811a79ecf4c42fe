from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESIDENT = "resident", _("居民")
    GRID_WORKER = "grid_worker", _("网格员")
    COMMUNITY_STAFF = "community_staff", _("社区工作人员")
    TOWN_STAFF = "town_staff", _("镇街工作人员")
    DEPARTMENT_HANDLER = "department_handler", _("职能部门办理人")
    COUNTY_COMMAND = "county_command", _("县级指挥中心")
    LEADER = "leader", _("领导")
    ADMIN = "admin", _("系统管理员")


class Capability(models.TextChoices):
    """What a role assignment lets its holder do inside the assigned subtree.

    Scope selectors ask for a capability, never for a role, so that adding a
    role means adding one row to `ROLE_CAPABILITIES` and nothing else.
    """

    VIEW_AREAS = "view_areas", _("查看区域与网格")
    MANAGE_AREAS = "manage_areas", _("维护区域与网格")
    VIEW_PEOPLE = "view_people", _("查看实有人口")
    REVEAL_PERSONAL = "reveal_personal", _("查看身份证号、手机号明文（需说明事由）")
    VIEW_DISPATCHED = "view_dispatched", _("查看派遣给本部门的事项")
    VIEW_CASES = "view_cases", _("查看辖区内的诉求事项")
    SUPERVISE_CASES = "supervise_cases", _("督办、挂起、作废辖区内的事项")
    MANAGE_CASE_RULES = "manage_case_rules", _("维护事项类别、时限规则与部门职责")
    MANAGE_USERS = "manage_users", _("管理用户与授权")


ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.RESIDENT: frozenset({Capability.VIEW_AREAS}),
    Role.GRID_WORKER: frozenset(
        {Capability.VIEW_AREAS, Capability.VIEW_PEOPLE, Capability.REVEAL_PERSONAL, Capability.VIEW_CASES}
    ),
    Role.COMMUNITY_STAFF: frozenset(
        {
            Capability.VIEW_AREAS,
            Capability.VIEW_PEOPLE,
            Capability.REVEAL_PERSONAL,
            Capability.VIEW_CASES,
            Capability.SUPERVISE_CASES,
        }
    ),
    Role.TOWN_STAFF: frozenset(
        {Capability.VIEW_AREAS, Capability.VIEW_PEOPLE, Capability.VIEW_CASES, Capability.SUPERVISE_CASES}
    ),
    # Departments see what is dispatched to them, within their area, and
    # nobody's register entry beyond that.
    Role.DEPARTMENT_HANDLER: frozenset({Capability.VIEW_AREAS, Capability.VIEW_DISPATCHED}),
    Role.COUNTY_COMMAND: frozenset(
        {
            Capability.VIEW_AREAS,
            Capability.VIEW_PEOPLE,
            Capability.REVEAL_PERSONAL,
            Capability.VIEW_CASES,
            Capability.SUPERVISE_CASES,
        }
    ),
    Role.LEADER: frozenset({Capability.VIEW_AREAS, Capability.VIEW_CASES}),
    # The administrator keeps the tree and the accounts, but sees no resident's
    # personal data by default (PIPL: minimum necessary).
    Role.ADMIN: frozenset(
        {Capability.VIEW_AREAS, Capability.MANAGE_AREAS, Capability.MANAGE_USERS, Capability.MANAGE_CASE_RULES}
    ),
}

STAFF_ROLES: frozenset[str] = frozenset(role.value for role in Role if role != Role.RESIDENT)
