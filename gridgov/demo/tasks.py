"""Tasks and emergencies for the demo county (一网通管 / 平急转换).

`tasks_populate` adds, after the people and the case staff exist:

1. a county gas-safety check (燃气安全入户排查) of every household, issued by the county command
   through the services a week before `now`, with a checklist, and progress in about two
   thirds of the grids (written in bulk, then the counters recounted);
2. an ended typhoon over the seed town: declared and ended through the services three weeks
   before `now`, its door-to-door check mostly done, a duty roster, and its report;
3. the emergency resources register: a shelter and a supplies store per town, and equipment
   and a rescue team of the county, placed inside their areas.

`tasks_delete_all` removes all of it; `demo_reset` must call it before the cases go.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.core.db import delete_every_row
from gridgov.demo import names
from gridgov.tasks.choices import EmergencyKind, FieldKind, ResourceKind, TargetLevel, TargetStatus
from gridgov.tasks.models import (
    Assignment,
    ChecklistForm,
    ChecklistVersion,
    DutyShift,
    EmergencyEvent,
    EmergencyResource,
    Target,
    TargetPhoto,
    Task,
)
from gridgov.tasks.services import (
    EmergencyInput,
    TaskInput,
    assignment_counters_refresh,
    checklist_create,
    emergency_declare,
    emergency_end,
    task_create,
)

GAS_CHECKLIST: list[dict[str, Any]] = [
    {"key": "uses_lpg", "label": "是否使用瓶装液化气", "kind": FieldKind.YES_NO, "required": True},
    {
        "key": "hose",
        "label": "软管状况",
        "kind": FieldKind.CHOICE,
        "required": False,
        "options": ["完好", "老化", "无"],
    },
    {"key": "alarm", "label": "是否安装燃气报警器", "kind": FieldKind.YES_NO, "required": False},
    {"key": "bottles", "label": "气瓶数量", "kind": FieldKind.NUMBER, "required": False},
    {"key": "photo", "label": "现场照片", "kind": FieldKind.PHOTO, "required": False},
]
CHUNK = 5000


def _centre(area: Area) -> tuple[float, float]:
    if None in (area.min_lon, area.max_lon, area.min_lat, area.max_lat):
        return 120.03, 36.28  # 胶州 centre
    return ((area.min_lon or 0) + (area.max_lon or 0)) / 2, ((area.min_lat or 0) + (area.max_lat or 0)) / 2


def _simulate_progress(
    task: Task, *, rng: random.Random, share_of_grids: float, share_done: float, at: datetime
) -> None:
    """Record a share of the targets of a share of the grids, in bulk, as their workers."""
    assignments = list(Assignment.objects.filter(task=task).values_list("id", flat=True))
    chosen = set(rng.sample(assignments, round(len(assignments) * share_of_grids)))
    workers = dict(
        Assignment.workers.through.objects.filter(assignment_id__in=chosen).values_list("assignment_id", "user_id")
    )
    groups: dict[tuple[str, int | None, bool], list[int]] = {}
    rows = (
        Target.objects.filter(assignment_id__in=chosen)
        .order_by("assignment_id", "id")
        .values_list("id", "assignment_id")
    )
    for target_id, assignment_id in rows.iterator(chunk_size=CHUNK):
        draw = rng.random()
        if draw > share_done:
            continue
        status = (
            TargetStatus.DONE if draw < share_done * 0.9 else rng.choice([TargetStatus.NOT_HOME, TargetStatus.REFUSED])
        )
        lpg = rng.random() < 0.3
        groups.setdefault((status, workers.get(assignment_id), lpg), []).append(target_id)
    for (result, worker_id, lpg), ids in groups.items():
        answers = (
            {"uses_lpg": lpg, "hose": "老化" if lpg else "无", "alarm": not lpg} if result == TargetStatus.DONE else {}
        )
        for start in range(0, len(ids), CHUNK):
            Target.objects.filter(pk__in=ids[start : start + CHUNK]).update(
                status=result, answers=answers, recorded_by_id=worker_id, recorded_at=at
            )
    assignment_counters_refresh(task=task, now=at)


@transaction.atomic
def tasks_populate(*, now: datetime, rng: random.Random) -> dict[str, int]:
    """The demo's tasks, emergency and resources (see the module docstring). Needs the users of
    the generator's `step_users` (the county `command` and `town` accounts)."""
    command = User.objects.get(username="command")
    town_staff = User.objects.get(username="town")
    county = Area.objects.get(level=AreaLevel.DISTRICT)
    seed_town = (
        Area.objects.filter(level=AreaLevel.TOWN, name=names.SEED_TOWN).first()
        or town_staff.role_assignments.get().area
    )

    # 1. The county gas-safety check.
    issued_at = now - timedelta(days=7)
    checklist = checklist_create(actor=command, name="燃气安全入户检查表", owner_area=county, fields=GAS_CHECKLIST)
    gas, _created = task_create(
        actor=command,
        data=TaskInput(
            title="全县燃气安全入户排查",
            instructions="逐户检查瓶装液化气使用情况，发现软管老化、无报警器的当场告知，隐患上报事项。",
            issuing_area=county,
            target_areas=[county],
            target_level=TargetLevel.HOUSEHOLD,
            due_at=now + timedelta(days=7),
            checklist=checklist,
        ),
        client_key="demo-gas-safety",
        now=issued_at,
    )
    _simulate_progress(gas, rng=rng, share_of_grids=0.65, share_done=0.7, at=now - timedelta(days=1))

    # 2. An ended typhoon over the seed town.
    started = now - timedelta(days=21)
    typhoon, _created = emergency_declare(
        actor=town_staff,
        data=EmergencyInput(
            kind=EmergencyKind.TYPHOON,
            title="台风“梅花”防御",
            area=seed_town,
            started_at=started,
            description="台风登陆前转移危险区域群众，逐户排查独居老人等重点人群。",
        ),
        client_key="demo-typhoon",
        now=started,
    )
    if typhoon.check_task is not None:
        _simulate_progress(
            typhoon.check_task, rng=rng, share_of_grids=0.9, share_done=0.85, at=started + timedelta(hours=10)
        )
    staff = list(
        RoleAssignment.objects.filter(
            area__path__startswith=seed_town.path, role__in=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF]
        ).select_related("area", "user")[:40]
    )
    shifts = [
        DutyShift(
            area=assignment.area,
            area_path=assignment.area.path,
            user=assignment.user,
            starts_at=started + timedelta(hours=12 * (index % 4)),
            ends_at=started + timedelta(hours=12 * (index % 4 + 1)),
            is_lead=assignment.role == Role.TOWN_STAFF,
            event=typhoon,
        )
        for index, assignment in enumerate(staff)
    ]
    DutyShift.objects.bulk_create(shifts)
    emergency_end(actor=town_staff, event=typhoon, now=started + timedelta(hours=48))

    # 3. Resources.
    resources = []
    for town in Area.objects.filter(level=AreaLevel.TOWN).order_by("code"):
        lon, lat = _centre(town)
        resources.append(
            EmergencyResource(
                kind=ResourceKind.SHELTER,
                name=f"{town.name}应急避难场所",
                area=town,
                area_path=town.path,
                quantity=rng.randrange(200, 1500, 50),
                unit="人",
                contact_name="值班室",
                lon=lon,
                lat=lat,
            )
        )
        resources.append(
            EmergencyResource(
                kind=ResourceKind.SUPPLIES,
                name=f"{town.name}防汛物资仓库",
                area=town,
                area_path=town.path,
                quantity=rng.randrange(500, 3000, 100),
                unit="件",
                contact_name="值班室",
                lon=lon + 0.004,
                lat=lat - 0.003,
            )
        )
    lon, lat = _centre(county)
    resources.append(
        EmergencyResource(
            kind=ResourceKind.EQUIPMENT,
            name="县应急局排涝泵车",
            area=county,
            area_path=county.path,
            quantity=6,
            unit="台",
            lon=lon + 0.01,
            lat=lat,
        )
    )
    resources.append(
        EmergencyResource(
            kind=ResourceKind.TEAM,
            name="县综合应急救援大队",
            area=county,
            area_path=county.path,
            quantity=60,
            unit="人",
            lon=lon - 0.01,
            lat=lat + 0.005,
        )
    )
    EmergencyResource.objects.bulk_create(resources)
    return {
        "tasks": Task.objects.count(),
        "task_targets": Target.objects.count(),
        "emergencies": EmergencyEvent.objects.count(),
        "duty_shifts": DutyShift.objects.count(),
        "emergency_resources": EmergencyResource.objects.count(),
    }


def tasks_delete_all() -> dict[str, int]:
    """Delete every task, checklist, emergency, shift and resource (before cases, households, areas, users)."""
    deleted: dict[str, int] = {}
    models: list[type[Model]] = [
        TargetPhoto, DutyShift, EmergencyResource, EmergencyEvent, Target, Assignment.workers.through,
        Assignment, Task.target_areas.through, Task, ChecklistVersion, ChecklistForm,
    ]  # fmt: skip
    for model in models:
        deleted[model._meta.model_name or model.__name__] = delete_every_row(model)
    return deleted
