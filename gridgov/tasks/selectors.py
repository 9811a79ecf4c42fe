"""Reads of tasks and emergencies. Every read starts from the user's scope
(`gridgov.accounts.scope.scope_for`); single objects are 404 out of scope and when unknown."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability, Role
from gridgov.accounts.models import RoleAssignment
from gridgov.accounts.scope import AreaScope, scope_for
from gridgov.areas.models import Area
from gridgov.areas.selectors import area_path_prefixes
from gridgov.cases.choices import TimeUnit
from gridgov.cases.models import SlaPolicy
from gridgov.tasks.choices import VULNERABILITY_TAGS, TaskStatus, Vulnerability
from gridgov.tasks.models import Assignment, DutyShift, EmergencyEvent, EmergencyResource, Target, Task

# Staff who may issue tasks and declare emergencies inside the area of their assignment.
ISSUER_ROLES: frozenset[str] = frozenset({Role.COUNTY_COMMAND, Role.TOWN_STAFF, Role.COMMUNITY_STAFF})
DECLARER_ROLES: frozenset[str] = frozenset({Role.COUNTY_COMMAND, Role.TOWN_STAFF})
# Who may record a grid's targets besides the assignment's own workers.
RECORDER_ROLES: frozenset[str] = frozenset({Role.GRID_WORKER, Role.COMMUNITY_STAFF})


def _role_scope(user: Any, roles: frozenset[str]) -> AreaScope:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return AreaScope(())
    paths = RoleAssignment.objects.filter(user=user, role__in=roles).values_list("area__path", flat=True)
    return AreaScope.from_paths(list(paths))


def issuer_scope(user: Any) -> AreaScope:
    """Where `user` may issue tasks."""
    return _role_scope(user, ISSUER_ROLES)


def declarer_scope(user: Any) -> AreaScope:
    """Where `user` may declare and end emergencies, keep the duty roster and the resources."""
    return _role_scope(user, DECLARER_ROLES)


def recorder_scope(user: Any) -> AreaScope:
    return _role_scope(user, RECORDER_ROLES)


def issuing_areas_for(user: Any) -> QuerySet[Area]:
    """The areas (county … community, no grids) a user may choose as issuer or target."""
    scope = issuer_scope(user)
    return scope.filter(Area.objects.exclude(level__in=["grid", "microgrid"])).order_by("path")


# --- Tasks ----------------------------------------------------------------------


def task_scope(user: Any) -> AreaScope:
    """Tasks are read with the case-viewing scope: staff of the subtree, never residents or admins."""
    return scope_for(user, Capability.VIEW_CASES)


def tasks_visible_to(user: Any) -> QuerySet[Task]:
    """Tasks issued inside the user's scope, or with an assignment to a grid in it."""
    scope = task_scope(user)
    if scope.is_empty:
        return Task.objects.none()
    in_scope = Assignment.objects.filter(task=OuterRef("pk")).filter(scope.q("grid_path"))
    return Task.objects.filter(scope.q("issuing_area__path") | Q(Exists(in_scope))).select_related(
        "issuing_area", "issuer", "checklist__form"
    )


def task_get_for_user(user: Any, task_id: int) -> Task:
    task = tasks_visible_to(user).filter(pk=task_id).first()
    if task is None:
        raise Http404(_("任务不存在或无权查看。"))
    return task


def assignments_for_worker(user: Any) -> QuerySet[Assignment]:
    """The user's own grid assignments of issued tasks, latest first."""
    if not getattr(user, "is_authenticated", False):
        return Assignment.objects.none()
    return (
        Assignment.objects.filter(workers=user, task__status=TaskStatus.ISSUED)
        .select_related("task", "grid")
        .order_by("task__due_at", "id")
    )


def assignment_get_for_user(user: Any, assignment_id: int) -> Assignment:
    """An assignment of a grid in the user's people-viewing scope (target lists name households)."""
    scope = scope_for(user, Capability.VIEW_PEOPLE)
    assignment = (
        scope.filter(Assignment.objects.all(), "grid_path")
        .select_related("task", "grid", "task__checklist")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None:
        raise Http404(_("任务不存在或无权查看。"))
    return assignment


def assignment_worklist(assignment: Assignment) -> QuerySet[Target]:
    """The targets of a grid, most vulnerable first, then in address order."""
    return (
        Target.objects.filter(assignment=assignment)
        .select_related("household", "building", "compound", "case")
        .order_by("vulnerability", "household__building_id", "household__unit", "household__room", "id")
    )


def target_get_for_user(user: Any, target_id: int) -> Target:
    scope = scope_for(user, Capability.VIEW_PEOPLE)
    target = (
        scope.filter(Target.objects.all(), "assignment__grid_path")
        .select_related("assignment__task__checklist", "assignment__grid", "household")
        .filter(pk=target_id)
        .first()
    )
    if target is None:
        raise Http404(_("对象不存在或无权查看。"))
    return target


@dataclass(frozen=True)
class Progress:
    area: Area | None
    grids: int
    total: int
    recorded: int
    done: int
    overdue_grids: int

    @property
    def rate(self) -> float | None:
        """Recorded share in per cent, two decimals; None when nothing to do."""
        if not self.total:
            return None
        value = Decimal(self.recorded * 100) / Decimal(self.total)
        return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


_SUMS = {"total": Sum("total_targets"), "recorded": Sum("recorded_targets"), "done": Sum("done_targets")}


def _overdue_q(task: Task, now: datetime) -> Q:
    return Q(completed_at__isnull=True) if task.due_at < now else Q(pk__in=[])


def task_progress_total(user: Any, task: Task, *, now: datetime | None = None) -> Progress:
    """The task's progress over the part of it the user may see: one aggregate query."""
    from django.db.models import Count

    now = now or timezone.now()
    rows = task_scope(user).filter(Assignment.objects.filter(task=task), "grid_path")
    agg = rows.aggregate(grids=Count("id"), overdue=Count("id", filter=_overdue_q(task, now)), **_SUMS)
    return Progress(
        area=None,
        grids=agg["grids"] or 0,
        total=agg["total"] or 0,
        recorded=agg["recorded"] or 0,
        done=agg["done"] or 0,
        overdue_grids=agg["overdue"] or 0,
    )


def task_progress_by_child(user: Any, task: Task, parent: Area, *, now: datetime | None = None) -> list[Progress]:
    """Progress of each child area of `parent` (a grid's own row when `parent` is a community):
    one GROUP BY on the grid path prefix, whatever the size of the task. 404 outside the scope."""
    from django.db.models import Count

    scope = task_scope(user)
    if not scope.covers(parent.path) and not any(root.startswith(parent.path) for root in scope.paths):
        raise Http404(_("区域不存在或无权查看。"))
    now = now or timezone.now()
    children = list(scope.filter(Area.objects.filter(parent=parent).exclude(level="microgrid")))
    if not children:
        return []
    length = len(children[0].path)
    grouped = {
        row["prefix"]: row
        for row in scope.filter(Assignment.objects.filter(task=task, grid_path__startswith=parent.path), "grid_path")
        .annotate(prefix=Substr("grid_path", 1, length))
        .values("prefix")
        .annotate(grids=Count("id"), overdue=Count("id", filter=_overdue_q(task, now)), **_SUMS)
    }
    result = []
    for child in sorted(children, key=lambda area: area.path):
        row = grouped.get(child.path)
        if row is None:
            continue
        result.append(
            Progress(
                area=child,
                grids=row["grids"],
                total=row["total"] or 0,
                recorded=row["recorded"] or 0,
                done=row["done"] or 0,
                overdue_grids=row["overdue"],
            )
        )
    return result


def league_table(rows: list[Progress]) -> list[Progress]:
    """Best completion first; among equals fewer overdue grids, then by area code."""
    return sorted(rows, key=lambda row: (-(row.rate or 0.0), row.overdue_grids, row.area.path if row.area else ""))


def progress_root_for(user: Any, task: Task) -> Area:
    """Where the progress table starts for `user`: the task's issuing area when the user sees it
    all, otherwise the user's own top-most area."""
    scope = task_scope(user)
    if scope.covers(task.issuing_area.path):
        return task.issuing_area
    return Area.objects.filter(path__in=scope.paths).order_by("path").first() or task.issuing_area


# --- Emergencies ----------------------------------------------------------------


def _active_at(at: datetime) -> Q:
    return Q(started_at__lte=at) & (Q(ended_at__isnull=True) | Q(ended_at__gt=at))


def emergencies_visible_to(user: Any) -> QuerySet[EmergencyEvent]:
    """Events in the user's scope, or whose area contains a node of it."""
    scope = task_scope(user)
    if scope.is_empty:
        return EmergencyEvent.objects.none()
    above = {ancestor for root in scope.paths for ancestor in area_path_prefixes(root)}
    return EmergencyEvent.objects.filter(scope.q("area_path") | Q(area_path__in=above)).select_related("area")


def emergency_get_for_user(user: Any, event_id: int) -> EmergencyEvent:
    event = emergencies_visible_to(user).filter(pk=event_id).first()
    if event is None:
        raise Http404(_("事件不存在或无权查看。"))
    return event


def active_emergencies_for(user: Any, *, now: datetime | None = None) -> list[EmergencyEvent]:
    """Active events over (or inside) the user's area, newest first — pinned on the worker's page."""
    now = now or timezone.now()
    return list(emergencies_visible_to(user).filter(_active_at(now)).order_by("-started_at", "-id"))


@dataclass(frozen=True)
class EmergencySla:
    """The emergency clock of an active event: natural hours, each limit × `factor`
    (working days counted as 24 h), capped at `max_hours`."""

    event_id: int
    title: str
    factor: Decimal
    max_hours: Decimal

    LIMIT_FIELDS = (
        "first_response",
        "grid_limit",
        "community_limit",
        "town_limit",
        "department_limit",
        "verification_limit",
        "close_limit",
    )

    def hours(self, amount: Decimal, unit: str) -> Decimal:
        if amount <= 0:
            return Decimal(0)
        natural = amount * (24 if unit == TimeUnit.WORKING_DAY else 1)
        scaled = min(natural * self.factor, self.max_hours)
        return max(scaled, Decimal("0.25")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def apply(self, policy: SlaPolicy) -> SlaPolicy:
        """An unsaved copy of `policy` on the emergency clock (never written back)."""
        limits = {name: self.hours(Decimal(getattr(policy, name)), policy.unit) for name in self.LIMIT_FIELDS}
        return SlaPolicy(
            pk=policy.pk,
            category_id=policy.category_id,
            urgency=policy.urgency,
            unit=TimeUnit.NATURAL_HOUR,
            **limits,
        )


# Every submit (and every later clock of a case submitted during an event) asks for the
# emergency clock: keep the events per process for half a minute. Declaring or ending an
# event drops this process's copy at once; other processes follow within the half minute.
EMERGENCY_CACHE_SECONDS = 30


@dataclass(frozen=True)
class _EventWindow:
    event_id: int
    title: str
    area_path: str
    started_at: datetime
    ended_at: datetime | None
    factor: Decimal
    max_hours: Decimal

    def covers(self, prefixes: set[str], at: datetime) -> bool:
        return self.area_path in prefixes and self.started_at <= at and (self.ended_at is None or self.ended_at > at)


class _EmergencyCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loaded_at: float | None = None
        self.windows: list[_EventWindow] = []


_emergencies = _EmergencyCache()


def emergency_cache_clear() -> None:
    with _emergencies.lock:
        _emergencies.loaded_at = None


def _event_windows() -> list[_EventWindow]:
    now = time.monotonic()
    with _emergencies.lock:
        if _emergencies.loaded_at is None or now - _emergencies.loaded_at > EMERGENCY_CACHE_SECONDS:
            _emergencies.windows = [
                _EventWindow(pk, title, area_path, started_at, ended_at, Decimal(factor), Decimal(max_hours))
                for pk, title, area_path, started_at, ended_at, factor, max_hours in EmergencyEvent.objects.values_list(
                    "pk", "title", "area_path", "started_at", "ended_at", "sla_factor", "sla_max_hours"
                )
            ]
            _emergencies.loaded_at = now
        return _emergencies.windows


def emergencies_recorded() -> bool:
    """Whether any emergency was ever declared (cached): lets callers skip looking up a case's grid."""
    return bool(_event_windows())


def emergency_sla_override(grid_path: str, at: datetime) -> EmergencySla | None:
    """The emergency clock for a case in the grid at `path` submitted at instant `at`, or None when
    no event covering the grid was active then. With several, the strictest factor wins."""
    prefixes = set(area_path_prefixes(grid_path))
    active = [window for window in _event_windows() if window.covers(prefixes, at)]
    if not active:
        return None
    strictest = min(active, key=lambda window: (window.factor, window.max_hours, -window.started_at.timestamp()))
    return EmergencySla(
        event_id=strictest.event_id, title=strictest.title, factor=strictest.factor, max_hours=strictest.max_hours
    )


def duty_roster(user: Any, *, event: EmergencyEvent | None = None, at: datetime | None = None) -> QuerySet[DutyShift]:
    """Shifts in the user's scope (those of `event` when given; those on duty at `at` when given)."""
    shifts = task_scope(user).filter(DutyShift.objects.select_related("area", "user"), "area_path")
    if event is not None:
        shifts = shifts.filter(area_path__startswith=event.area_path)
    if at is not None:
        shifts = shifts.filter(starts_at__lte=at, ends_at__gt=at)
    return shifts.order_by("starts_at", "area_path")


def resources_visible_to(user: Any) -> QuerySet[EmergencyResource]:
    return task_scope(user).filter(EmergencyResource.objects.select_related("area"), "area_path")


def resources_geojson(user: Any) -> dict[str, Any]:
    """The user's emergency resources as a GeoJSON FeatureCollection for the map."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [resource.lon, resource.lat]},
            "properties": {
                "id": resource.pk,
                "kind": resource.kind,
                "kind_label": resource.get_kind_display(),
                "name": resource.name,
                "quantity": resource.quantity,
                "unit": resource.unit,
                "area": resource.area.name,
                "address": resource.address,
            },
        }
        for resource in resources_visible_to(user)
    ]
    return {"type": "FeatureCollection", "features": features}


def vulnerability_labels_for(user: Any, grid_path: str) -> dict[int, str]:
    """The label of each vulnerability rank as `user` may see it in a grid: a rank that can come
    from a sensitive tag group the user is not granted (e.g. 特殊人群 for town staff) reads as a
    neutral 优先走访, so the label never tells more than the register would."""
    from gridgov.registry.models import Tag
    from gridgov.registry.selectors import hidden_tag_ids_for

    hidden = hidden_tag_ids_for(user, grid_path)
    hidden_codes = set(Tag.objects.filter(pk__in=hidden).values_list("code", flat=True)) if hidden else set()
    labels: dict[int, str] = {}
    for rank in Vulnerability:
        codes = set(VULNERABILITY_TAGS.get(rank.value, ()))
        labels[rank.value] = _("优先走访") if codes & hidden_codes else str(rank.label)
    return labels


def worklist_for_user(user: Any, assignment: Assignment) -> list[Target]:
    """`assignment_worklist` with each target's `vulnerability_label` as the user may see it."""
    labels = vulnerability_labels_for(user, assignment.grid_path)
    targets = list(assignment_worklist(assignment))
    for target in targets:
        target.vulnerability_label = labels[target.vulnerability]  # type: ignore[attr-defined]
    return targets
