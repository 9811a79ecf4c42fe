"""THE area-scope selector: the one place that decides what a user may see.

A user sees an object when the object's area path lies under the path of one
of their role assignments whose role grants the capability asked for. Every
query that returns people's data filters through `AreaScope.filter`; every
single-object read goes through `AreaScope.covers` and answers 404 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet

from gridgov.accounts.choices import ROLE_CAPABILITIES, Capability

ModelT = TypeVar("ModelT", bound=Model)

_CACHE_ATTRIBUTE = "_gridgov_scope_cache"
_ASSIGNMENTS_ATTRIBUTE = "_gridgov_role_assignments"


def role_assignments_of(user: Any) -> tuple[tuple[str, str, int | None], ...]:
    """The user's role assignments as (role, area path, department id), from one query cached on
    the user object (which lives for one request); empty for anonymous and inactive users."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ()
    cached: tuple[tuple[str, str, int | None], ...] | None = getattr(user, _ASSIGNMENTS_ATTRIBUTE, None)
    if cached is None:
        from gridgov.accounts.models import RoleAssignment

        cached = tuple(RoleAssignment.objects.filter(user=user).values_list("role", "area__path", "department_id"))
        setattr(user, _ASSIGNMENTS_ATTRIBUTE, cached)
    return cached


@dataclass(frozen=True)
class AreaScope:
    """A set of subtree roots, given as materialised paths.

    No path in `paths` lies under another, so `paths` is also the list of the
    top-most nodes the user can see.
    """

    paths: tuple[str, ...]

    @classmethod
    def from_paths(cls, paths: list[str] | tuple[str, ...]) -> AreaScope:
        minimal: list[str] = []
        for path in sorted(set(paths)):
            if not any(path.startswith(kept) for kept in minimal):
                minimal.append(path)
        return cls(tuple(minimal))

    @property
    def is_empty(self) -> bool:
        return not self.paths

    def covers(self, path: str | None) -> bool:
        """True when the node with this path lies inside the scope."""
        if not path:
            return False
        return any(path.startswith(root) for root in self.paths)

    def q(self, path_field: str = "path") -> Q:
        """A filter matching rows whose `path_field` lies in the scope (nothing when empty)."""
        if self.is_empty:
            return Q(pk__in=[])
        condition = Q()
        for root in self.paths:
            condition |= Q(**{f"{path_field}__startswith": root})
        return condition

    def filter(self, queryset: QuerySet[ModelT], path_field: str = "path") -> QuerySet[ModelT]:
        if self.is_empty:
            return queryset.none()
        return queryset.filter(self.q(path_field))


EMPTY_SCOPE = AreaScope(())


def scope_for(user: Any, capability: str = Capability.VIEW_AREAS) -> AreaScope:
    """The scope of `user` for `capability`; empty for anonymous and inactive users.

    The scopes of every capability come from one query and are cached on the user
    object, which lives for one request.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return EMPTY_SCOPE
    cache: dict[str, AreaScope] | None = getattr(user, _CACHE_ATTRIBUTE, None)
    if cache is None:
        cache = _compute_scopes(user)
        setattr(user, _CACHE_ATTRIBUTE, cache)
    return cache.get(capability, EMPTY_SCOPE)


def scope_forget(user: Any) -> None:
    """Drop the cached scopes (and everything else derived from the assignments) after the user's
    role assignments changed."""
    for attribute in (_CACHE_ATTRIBUTE, _ASSIGNMENTS_ATTRIBUTE):
        if hasattr(user, attribute):
            delattr(user, attribute)


def _compute_scopes(user: Any) -> dict[str, AreaScope]:
    paths: dict[str, list[str]] = {}
    for role, path, _department_id in role_assignments_of(user):
        for capability in ROLE_CAPABILITIES.get(role, frozenset()):
            paths.setdefault(capability, []).append(path)
    return {capability: AreaScope.from_paths(roots) for capability, roots in paths.items()}


def user_has_capability(user: Any, capability: str) -> bool:
    return not scope_for(user, capability).is_empty
