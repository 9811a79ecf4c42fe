"""Who may do what to a case: the duties (role × area × department) of a user,
matched against the case's tier and place.

Reading a case needs its grid in the user's `view_cases` scope, the case
dispatched to the user's department inside their area, or the user being the
reporter. Acting on it needs a duty at the case's current tier (the grid's
worker, the community's staff …) or above it (supervision). These rules are
used by the services (which enforce them) and by pages and the API (which only
show the actions a user may take).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gridgov.accounts.choices import Role
from gridgov.accounts.scope import role_assignments_of
from gridgov.cases.choices import CaseSource, Tier

if TYPE_CHECKING:
    from gridgov.cases.models import Case

TIER_ROLE: dict[str, str] = {
    Tier.GRID: Role.GRID_WORKER,
    Tier.COMMUNITY: Role.COMMUNITY_STAFF,
    Tier.TOWN: Role.TOWN_STAFF,
    Tier.DEPARTMENT: Role.DEPARTMENT_HANDLER,
}

# The level above a tier: approves its extensions, may suspend, void or re-route its cases.
SUPERVISOR_ROLES: dict[str, frozenset[str]] = {
    Tier.GRID: frozenset({Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.COUNTY_COMMAND}),
    Tier.COMMUNITY: frozenset({Role.TOWN_STAFF, Role.COUNTY_COMMAND}),
    Tier.TOWN: frozenset({Role.COUNTY_COMMAND}),
    Tier.DEPARTMENT: frozenset({Role.COUNTY_COMMAND}),
}

# Who may dispatch a case to a department: the town/street, or the county command centre directly.
DISPATCHER_ROLES: frozenset[str] = frozenset({Role.TOWN_STAFF, Role.COUNTY_COMMAND})


@dataclass(frozen=True)
class Duty:
    role: str
    path: str
    department_id: int | None

    def covers(self, path: str) -> bool:
        return path.startswith(self.path)


def duties_of(user: Any) -> tuple[Duty, ...]:
    """The user's role assignments as (role, area path, department), from the per-request cache of
    `role_assignments_of`."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    return tuple(Duty(role, path, department_id) for role, path, department_id in role_assignments_of(user))


def handles_tier(user: Any, *, tier: str, handling_path: str, grid_path: str, department_id: int | None) -> bool:
    """True when the user works at `tier` for the place: the grid's worker, the community's staff,
    the town's staff, or a handler of the department the case is dispatched to."""
    role = TIER_ROLE[tier]
    for duty in duties_of(user):
        if duty.role != role:
            continue
        if tier == Tier.DEPARTMENT:
            if duty.department_id == department_id and duty.covers(grid_path):
                return True
        elif duty.covers(handling_path):
            return True
    return False


def supervises(user: Any, *, tier: str, grid_path: str) -> bool:
    """True when the user holds a role above `tier` whose area contains the case's grid."""
    roles = SUPERVISOR_ROLES[tier]
    return any(duty.role in roles and duty.covers(grid_path) for duty in duties_of(user))


def dispatches(user: Any, *, grid_path: str) -> bool:
    return any(duty.role in DISPATCHER_ROLES and duty.covers(grid_path) for duty in duties_of(user))


def is_grid_worker_of(user: Any, *, grid_path: str) -> bool:
    return any(duty.role == Role.GRID_WORKER and duty.covers(grid_path) for duty in duties_of(user))


def is_staff_over(user: Any, *, grid_path: str) -> bool:
    """True when the user has any handling or supervising role over the grid (not leaders, not departments)."""
    roles = {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.TOWN_STAFF, Role.COUNTY_COMMAND}
    return any(duty.role in roles and duty.covers(grid_path) for duty in duties_of(user))


def can_handle(user: Any, case: Case) -> bool:
    """The user works the case's current tier for its place."""
    return handles_tier(
        user,
        tier=case.tier,
        handling_path=case.handling_area.path,
        grid_path=case.grid.path,
        department_id=case.department_id,
    )


def can_supervise(user: Any, case: Case) -> bool:
    return supervises(user, tier=case.tier, grid_path=case.grid.path)


def is_reporter(user: Any, case: Case) -> bool:
    return case.reporter_id is not None and case.reporter_id == getattr(user, "pk", None)


def can_verify(user: Any, case: Case) -> bool:
    """The grid's worker, the reporter, the handling tier or its superiors may verify on site."""
    return (
        is_grid_worker_of(user, grid_path=case.grid.path)
        or is_reporter(user, case)
        or can_handle(user, case)
        or can_supervise(user, case)
    )


def speaks_for_reporter(user: Any, case: Case) -> bool:
    """The reporter, or — for cases without a reporter account (hotline, walk-in) — staff over the grid (回访)."""
    if case.reporter_id is not None:
        return is_reporter(user, case)
    return is_staff_over(user, grid_path=case.grid.path)


def intake_sources(user: Any) -> list[str]:
    """The intake channels the user may register: what they would actually meet in their work."""
    roles = {duty.role for duty in duties_of(user)}
    sources: list[str] = []
    if Role.GRID_WORKER in roles:
        sources += [CaseSource.GRID_WORKER, CaseSource.PATROL]
    if roles & {Role.COMMUNITY_STAFF, Role.TOWN_STAFF}:
        sources.append(CaseSource.WALK_IN)
    if Role.COUNTY_COMMAND in roles:
        sources.append(CaseSource.HOTLINE)
    if not sources and not roles - {Role.RESIDENT}:
        sources.append(CaseSource.RESIDENT)
    return sources
