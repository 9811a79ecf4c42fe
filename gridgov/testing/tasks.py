"""Test helpers for tasks: households across the test tree, a checklist, a task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from gridgov.areas.models import Area
from gridgov.registry.identifiers import id_check_character
from gridgov.registry.models import Household, Tag
from gridgov.registry.services import HouseholdSpec, ResidentSpec, households_bulk_create, residents_bulk_register
from gridgov.tasks.choices import FieldKind, TargetLevel
from gridgov.tasks.models import ChecklistVersion, Task
from gridgov.tasks.services import TaskInput, checklist_create, task_create
from gridgov.testing.factories import AreaTree

GAS_FIELDS: list[dict[str, Any]] = [
    {"key": "uses_lpg", "label": "是否使用瓶装液化气", "kind": FieldKind.YES_NO, "required": True},
    {"key": "hose", "label": "软管状况", "kind": FieldKind.CHOICE, "required": False, "options": ["完好", "老化"]},
    {"key": "bottles", "label": "气瓶数量", "kind": FieldKind.NUMBER, "required": False},
    {"key": "remark", "label": "情况说明", "kind": FieldKind.TEXT, "required": False},
    {"key": "photo", "label": "现场照片", "kind": FieldKind.PHOTO, "required": False},
]


@dataclass
class Households:
    """Per grid index, its current households in creation order. In every grid the LAST household
    is tagged 独居老人 (via a member) and the second-to-last 低保户, so a vulnerability
    ordering has to move them to the front."""

    by_grid: dict[int, list[Household]]
    moved_out: Household


def _id_number(sequence: int) -> str:
    first17 = f"37028119500101{sequence % 1000:03d}"
    return first17 + id_check_character(first17)


def populate_households(tree: AreaTree, *, per_grid: int = 3) -> Households:
    dibao = Tag.objects.get(code="dibao")
    living_alone = Tag.objects.get(code="living_alone")
    specs = []
    for grid in tree.grids:
        for h in range(per_grid):
            tags = [dibao] if h == per_grid - 2 else []
            specs.append(HouseholdSpec(grid=grid, address=f"{grid.name}{h + 1}号", room=f"{h + 1:03d}", tags=tags))
    specs.append(HouseholdSpec(grid=tree.grids[0], address="已迁出的户", room="999"))
    created = households_bulk_create(actor=None, specs=specs)
    moved_out = created[-1]
    Household.objects.filter(pk=moved_out.pk).update(moved_out_on=timezone.localdate())
    by_grid: dict[int, list[Household]] = {}
    for index, household in enumerate(created[:-1]):
        by_grid.setdefault(index // per_grid, []).append(household)
    residents_bulk_register(
        actor=None,
        specs=[
            ResidentSpec(household=homes[-1], name="独居老人", id_number=_id_number(g + 1), tags=[living_alone])
            for g, homes in by_grid.items()
        ],
    )
    return Households(by_grid=by_grid, moved_out=moved_out)


def gas_checklist(actor: Any, area: Area) -> ChecklistVersion:
    return checklist_create(actor=actor, name="燃气安全检查表", owner_area=area, fields=GAS_FIELDS)


def issue_task(
    actor: Any,
    area: Area,
    *,
    targets: list[Area] | None = None,
    level: str = TargetLevel.HOUSEHOLD,
    checklist: ChecklistVersion | None = None,
    now: datetime | None = None,
    due_in: timedelta = timedelta(days=7),
    key: str = "",
) -> Task:
    now = now or timezone.now()
    task, _created = task_create(
        actor=actor,
        data=TaskInput(
            title="燃气安全排查",
            issuing_area=area,
            target_areas=targets or [area],
            target_level=level,
            due_at=now + due_in,
            instructions="逐户检查燃气使用情况。",
            checklist=checklist,
        ),
        client_key=key,
        now=now,
    )
    return task
