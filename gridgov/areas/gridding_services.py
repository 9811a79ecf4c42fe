"""Applying a grid proposal (应用方案): micro-grids of a general grid, or general grids of a
village/community. Each application is one transaction with one audit row.

The proposal is recomputed here from the same band (it is deterministic) and
applied only when the data still match the fingerprint the user saw. For
micro-grids, areas whose code the proposal uses are reused (new outline), the
others are created; buildings, their households (registry) and compounds
follow; old micro-grids the proposal no longer uses are deleted when nothing
points at them any more, and kept (and reported) otherwise. General grids:
see `grid_plan_apply`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from gridgov.areas.choices import AreaLevel
from gridgov.areas.gridding_selectors import PlanInfeasible, microgrid_plan
from gridgov.areas.models import Area, Building, Compound
from gridgov.areas.services import area_create, area_set_geometry


@dataclass
class MicroApplyResult:
    created: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # Old micro-grids kept because something still points at them: code → what, e.g. {"…001": ["户 3"]}.
    kept: dict[str, list[str]] = field(default_factory=dict)
    moved: int = 0


def _references(area: Area) -> list[str]:
    """What still points at `area` (every relation to Area, whatever the app), as “名称 数量”."""
    found: list[str] = []
    for relation in Area._meta.related_objects:
        model = relation.related_model
        if not isinstance(model, type):
            continue
        field_name = relation.field.name
        count = model._default_manager.filter(**{field_name: area}).count()
        if count:
            found.append(f"{model._meta.verbose_name} {count}")
    return found


@transaction.atomic
def microgrid_plan_apply(*, actor: Any, grid: Area, low: int, high: int, fingerprint: str) -> MicroApplyResult:
    """Apply the micro-grid proposal for `grid` that was shown with `fingerprint`.

    Raises ValidationError (Chinese) when the buildings changed since (stale
    proposal) or the band cannot be met. Everything happens in one
    transaction: a failure anywhere leaves the grid as it was.
    """
    from gridgov.accounts.services import audit_record
    from gridgov.registry.services import households_follow_buildings

    # Serialise concurrent applies to one grid (a no-op on SQLite, which locks the database).
    Area.objects.select_for_update().filter(pk=grid.pk).first()
    try:
        plan = microgrid_plan(grid, low=low, high=high)
    except PlanInfeasible as error:
        raise ValidationError(error.message) from error
    if plan.fingerprint != fingerprint:
        raise ValidationError(_("方案生成后该网格的楼栋或微网格已有变化，请重新生成方案后再应用。"))

    result = MicroApplyResult(moved=plan.moved)
    existing = {area.code: area for area in Area.objects.filter(parent=grid, level=AreaLevel.MICROGRID)}
    by_code: dict[str, Area] = {}
    for row in plan.proposed:
        area = existing.get(row.code)
        if area is None:
            area = area_create(
                actor=actor,
                level=AreaLevel.MICROGRID,
                code=row.code,
                name=row.name,
                parent=grid,
                geometry=row.geometry,
            )
            result.created.append(row.code)
        else:
            area_set_geometry(actor=actor, area=area, geometry=row.geometry)
            result.reused.append(row.code)
        by_code[row.code] = area

    changed: list[Building] = []
    for building in plan.buildings:
        target = by_code[plan.assignment[building.pk]]
        if building.microgrid_id != target.pk:
            building.microgrid = target
            changed.append(building)
    Building.objects.bulk_update(changed, ["microgrid"])
    # Every building of the plan, not only the moved ones: a household registered out of step with
    # its building is put right too.
    households_follow_buildings(building_ids=[building.pk for building in plan.buildings])

    # A compound takes the micro-grid of its buildings when they all share one.
    compound_targets: dict[int, set[int]] = {}
    for building in plan.buildings:
        if building.compound_id is not None:
            compound_targets.setdefault(building.compound_id, set()).add(by_code[plan.assignment[building.pk]].pk)
    for compound in Compound.objects.filter(grid=grid):
        targets = compound_targets.get(compound.pk, set())
        microgrid_id = next(iter(targets)) if len(targets) == 1 else None
        if compound.microgrid_id != microgrid_id:
            compound.microgrid_id = microgrid_id
            compound.save(update_fields=["microgrid"])

    for code, area in sorted(existing.items()):
        if code in by_code:
            continue
        references = _references(area)
        if references:
            result.kept[code] = references
        else:
            area.delete()
            result.removed.append(code)

    audit_record(
        actor=actor,
        action="microgrid_plan_apply",
        object_type="area",
        object_id=grid.code,
        detail={
            "band": [low, high],
            "fingerprint": fingerprint,
            "microgrids": {row.code: row.households for row in plan.proposed},
            "created": result.created,
            "reused": result.reused,
            "removed": result.removed,
            "kept": result.kept,
            "moved_buildings": result.moved,
        },
    )
    return result


# ------------------------------------------------- general grids of a community


@dataclass
class GridApplyResult:
    created: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: dict[str, list[str]] = field(default_factory=dict)
    moved: int = 0
    microgrids_detached: int = 0  # buildings taken out of a micro-grid of their former grid


def _next_grid_numbers(community: Area, count: int) -> list[str]:
    """`count` unused 15-digit grid codes under `community`, after the highest one in use."""
    used = {
        code[-3:]
        for code in Area.objects.filter(code__startswith=community.code, level=AreaLevel.GRID).values_list(
            "code", flat=True
        )
    }
    highest = max((int(suffix) for suffix in used), default=0)
    if highest + count > 999:
        raise ValidationError(_("该村/社区的网格编码已用尽，无法新建网格。"))
    return [f"{community.code}{highest + offset:03d}" for offset in range(1, count + 1)]


@transaction.atomic
def grid_plan_apply(*, actor: Any, community: Area, low: int, high: int, fingerprint: str) -> GridApplyResult:
    """Apply the general-grid proposal for `community` that was shown with `fingerprint`.

    Each proposed grid matched to a current grid (`kept_from`) keeps that
    grid's area — code, name, staff, history — with the new outline; the
    others get new codes after the highest one in use (the library's
    west→east numbering would rename grids people already know). Compounds,
    buildings and their registered households move with their grid; a
    building that leaves its grid leaves that grid's micro-grid too. Current
    grids no longer used are deleted (with their empty micro-grids) only when
    nothing points at them. One transaction; ValidationError (Chinese) when
    stale, infeasible, or when two compounds of one name would share a grid.
    """
    from gridgov.accounts.services import audit_record
    from gridgov.areas.gridding_selectors import GridPlan, grid_plan
    from gridgov.registry.services import households_follow_buildings

    Area.objects.select_for_update().filter(pk=community.pk).first()
    try:
        plan: GridPlan = grid_plan(community, low=low, high=high)
    except PlanInfeasible as error:
        raise ValidationError(error.message) from error
    if plan.fingerprint != fingerprint:
        raise ValidationError(_("方案生成后该村/社区的楼栋、小区或网格已有变化，请重新生成方案后再应用。"))

    existing = {area.code: area for area in Area.objects.filter(parent=community, level=AreaLevel.GRID)}
    unmatched = {row.code for row in plan.proposed if row.kept_from is None or row.kept_from not in existing}
    new_codes = iter(_next_grid_numbers(community, len(unmatched)))
    target_code: dict[str, str] = {}  # proposed code → the code the grid will have
    for row in plan.proposed:
        target_code[row.code] = next(new_codes) if row.code in unmatched else str(row.kept_from)

    # Compounds move whole; refuse before writing anything when two of one name would meet.
    building_target = {pk: target_code[code] for pk, code in plan.assignment.items()}
    compound_target: dict[int, str] = {}
    for building in plan.buildings:
        if building.compound_id is not None:
            compound_target[building.compound_id] = building_target[building.pk]
    names_in: dict[tuple[str, str], int] = {}
    for compound in plan.compounds:
        code = compound_target.get(compound.pk) or next(
            (c for c, area in existing.items() if area.pk == compound.grid_id), ""
        )
        names_in[(code, compound.name)] = names_in.get((code, compound.name), 0) + 1
    clashes = sorted(name for (_code, name), count in names_in.items() if count > 1)
    if clashes:
        raise ValidationError(
            _("方案会让同名小区落入同一网格：%(names)s。请先为小区改名后再应用。") % {"names": "、".join(clashes)}
        )

    result = GridApplyResult(moved=plan.moved)
    areas: dict[str, Area] = {}
    for row in plan.proposed:
        code = target_code[row.code]
        area = existing.get(code)
        if area is None:
            number = int(code[-3:])
            area = area_create(
                actor=actor,
                level=AreaLevel.GRID,
                code=code,
                name=_("%(community)s第%(number)d网格") % {"community": community.name, "number": number},
                parent=community,
                geometry=row.geometry,
            )
            result.created.append(code)
        else:
            area_set_geometry(actor=actor, area=area, geometry=row.geometry)
            result.reused.append(code)
        areas[code] = area

    microgrid_parent = dict(Area.objects.filter(parent__in=existing.values()).values_list("pk", "parent_id"))
    for compound in plan.compounds:
        destination = compound_target.get(compound.pk)
        if destination is None or areas[destination].pk == compound.grid_id:
            continue
        compound.grid = areas[destination]
        if compound.microgrid_id is not None and microgrid_parent.get(compound.microgrid_id) != compound.grid_id:
            compound.microgrid = None
        compound.save(update_fields=["grid", "microgrid"])
    changed: list[Building] = []
    for building in plan.buildings:
        target = areas[building_target[building.pk]]
        if building.grid_id == target.pk:
            continue
        building.grid = target
        if building.microgrid_id is not None and microgrid_parent.get(building.microgrid_id) != target.pk:
            building.microgrid = None
            result.microgrids_detached += 1
        changed.append(building)
    Building.objects.bulk_update(changed, ["grid", "microgrid"])
    households_follow_buildings(building_ids=[building.pk for building in changed])

    for code, area in sorted(existing.items()):
        if code in areas:
            continue
        for microgrid in Area.objects.filter(parent=area, level=AreaLevel.MICROGRID):
            if not _references(microgrid):
                microgrid.delete()
        references = _references(area)
        if references:
            result.kept[code] = references
        else:
            area.delete()
            result.removed.append(code)

    audit_record(
        actor=actor,
        action="grid_plan_apply",
        object_type="area",
        object_id=community.code,
        detail={
            "band": [low, high],
            "fingerprint": fingerprint,
            "grids": {target_code[row.code]: row.households for row in plan.proposed},
            "created": result.created,
            "reused": result.reused,
            "removed": result.removed,
            "kept": result.kept,
            "moved_buildings": result.moved,
            "microgrids_detached": result.microgrids_detached,
        },
    )
    return result
