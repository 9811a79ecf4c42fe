"""Every write to the area tree. Each function is one transaction and leaves
an audit row; geometry changes bump the revision that invalidates the
per-process spatial index (see `selectors.grid_at`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from gridding.geo import bounding_box, geometry_from_geojson
from gridgov.areas.choices import AREA_LEVEL_ORDER, CODE_LENGTH, AreaLevel
from gridgov.areas.models import Area, Building, Compound, GeometryRevision

GEOMETRY_REVISION_KEY = "areas"


def area_path_segment(*, level: str, code: str) -> str:
    """The part of the materialised path that a node adds below its parent."""
    if level in (AreaLevel.CITY, AreaLevel.DISTRICT):
        return code
    return code[-3:]


def area_validate_code(*, level: str, code: str, parent: Area | None) -> None:
    """Raise ValidationError (in Chinese) unless `code` fits `level` under `parent`."""
    if level not in AREA_LEVEL_ORDER:
        raise ValidationError(_("未知的区域层级：%(level)s") % {"level": level})
    expected = CODE_LENGTH[level]
    if not code.isdigit() or len(code) != expected:
        raise ValidationError(
            _("%(level)s编码应为%(digits)d位数字，收到“%(code)s”。")
            % {"level": AreaLevel(level).label, "digits": expected, "code": code}
        )
    if parent is None:
        return
    if AREA_LEVEL_ORDER.index(level) <= AREA_LEVEL_ORDER.index(parent.level):
        raise ValidationError(
            _("%(child)s不能位于%(parent)s之下。")
            % {"child": AreaLevel(level).label, "parent": AreaLevel(parent.level).label}
        )
    if level == AreaLevel.DISTRICT:
        # GB/T 2260: a county shares the first four digits with its city.
        if code[:4] != parent.code[:4]:
            raise ValidationError(
                _("区(市)编码“%(code)s”与上级市编码“%(parent)s”的前四位不一致。")
                % {"code": code, "parent": parent.code}
            )
    elif not code.startswith(parent.code) or len(code) - len(parent.code) != 3:
        raise ValidationError(
            _("编码“%(code)s”应以上级编码“%(parent)s”开头并增加3位。") % {"code": code, "parent": parent.code}
        )
    if code[-3:] == "000":
        raise ValidationError(_("编码“%(code)s”的末三位不能为000。") % {"code": code})


@dataclass(frozen=True)
class AreaSpec:
    """What is needed to create one area; `parent_code` refers to an existing or earlier spec."""

    level: str
    code: str
    name: str
    parent_code: str | None
    geometry: Mapping[str, Any] | None = None


def _apply_geometry(area: Area, geometry: Mapping[str, Any] | None) -> None:
    if geometry is None:
        area.geometry = None
        area.min_lon = area.min_lat = area.max_lon = area.max_lat = None
        return
    shaped = geometry_from_geojson(geometry)
    area.geometry = dict(geometry)
    area.min_lon, area.min_lat, area.max_lon, area.max_lat = bounding_box(shaped)


def _bump_geometry_revision() -> None:
    updated = GeometryRevision.objects.filter(key=GEOMETRY_REVISION_KEY).update(revision=F("revision") + 1)
    if not updated:
        GeometryRevision.objects.create(key=GEOMETRY_REVISION_KEY, revision=1)
    # Drop this process's index as soon as the change is committed; other
    # processes notice the new revision on their next check.
    from gridgov.areas.selectors import grid_index_invalidate

    transaction.on_commit(grid_index_invalidate)


def _audit(*, actor: Any, action: str, object_id: str, detail: dict[str, Any]) -> None:
    from gridgov.accounts.services import audit_record

    audit_record(actor=actor, action=action, object_type="area", object_id=object_id, detail=detail)


@transaction.atomic
def area_create(
    *,
    actor: Any,
    level: str,
    code: str,
    name: str,
    parent: Area | None,
    geometry: Mapping[str, Any] | None = None,
) -> Area:
    """Create one area below `parent` (None for a root)."""
    area_validate_code(level=level, code=code, parent=parent)
    if not name.strip():
        raise ValidationError(_("区域名称不能为空。"))
    if Area.objects.filter(code=code).exists():
        raise ValidationError(_("编码“%(code)s”已被使用。") % {"code": code})
    segment = area_path_segment(level=level, code=code)
    area = Area(
        parent=parent,
        level=level,
        code=code,
        name=name.strip(),
        path=f"{parent.path if parent else ''}{segment}/",
    )
    _apply_geometry(area, geometry)
    area.save()
    if geometry is not None:
        _bump_geometry_revision()
    _audit(actor=actor, action="area_create", object_id=code, detail={"level": level, "name": area.name})
    return area


@transaction.atomic
def areas_bulk_create(*, actor: Any, specs: Iterable[AreaSpec], batch_size: int = 500) -> list[Area]:
    """Create many areas at once, parents before children (imports and the demo generator).

    Codes are validated like `area_create`; one audit row records the batch.
    """
    created: list[Area] = []
    by_code: dict[str, Area] = {}
    pending: list[Area] = []

    def flush() -> None:
        Area.objects.bulk_create(pending, batch_size=batch_size)
        # bulk_create sets primary keys on SQLite ≥ 3.35 and PostgreSQL.
        pending.clear()

    for spec in specs:
        parent: Area | None = None
        if spec.parent_code is not None:
            parent = by_code.get(spec.parent_code)
            if parent is None:
                parent = Area.objects.get(code=spec.parent_code)
                by_code[parent.code] = parent
            elif parent.pk is None:
                flush()
        area_validate_code(level=spec.level, code=spec.code, parent=parent)
        area = Area(
            parent=parent,
            level=spec.level,
            code=spec.code,
            name=spec.name,
            path=f"{parent.path if parent else ''}{area_path_segment(level=spec.level, code=spec.code)}/",
        )
        _apply_geometry(area, spec.geometry)
        pending.append(area)
        by_code[area.code] = area
        created.append(area)
    flush()
    if any(area.geometry is not None for area in created):
        _bump_geometry_revision()
    _audit(
        actor=actor,
        action="areas_bulk_create",
        object_id=created[0].code if created else "",
        detail={"count": len(created)},
    )
    return created


@transaction.atomic
def area_set_geometry(*, actor: Any, area: Area, geometry: Mapping[str, Any] | None) -> Area:
    """Replace the boundary of one area."""
    _apply_geometry(area, geometry)
    area.save(update_fields=["geometry", "min_lon", "min_lat", "max_lon", "max_lat", "updated_at"])
    _bump_geometry_revision()
    _audit(actor=actor, action="area_set_geometry", object_id=area.code, detail={})
    return area


# --------------------------------------------------------- compounds, buildings


def _housing_place_validate(*, grid: Area, microgrid: Area | None) -> None:
    """A compound or building hangs on a general grid, and optionally on one of that grid's micro-grids."""
    if grid.pk is None or grid.level != AreaLevel.GRID:
        raise ValidationError(_("小区和楼栋必须属于一个已保存的一般网格。"))
    if microgrid is not None and (microgrid.level != AreaLevel.MICROGRID or microgrid.parent_id != grid.pk):
        raise ValidationError(
            _("微网格“%(microgrid)s”不属于网格“%(grid)s”。") % {"microgrid": microgrid.code, "grid": grid.code}
        )


@dataclass(frozen=True)
class CompoundSpec:
    """What is needed to create one compound (小区) in `grid` (and `microgrid`, when set)."""

    grid: Area
    name: str
    microgrid: Area | None = None
    address: str = ""
    lon: float | None = None
    lat: float | None = None


@transaction.atomic
def compounds_bulk_create(*, actor: Any, specs: Iterable[CompoundSpec], batch_size: int = 1000) -> list[Compound]:
    """Create many compounds at once (imports and the demo generator); one audit row records the batch."""
    compounds: list[Compound] = []
    seen: set[tuple[int, str]] = set()
    for spec in specs:
        _housing_place_validate(grid=spec.grid, microgrid=spec.microgrid)
        name = spec.name.strip()
        if not name:
            raise ValidationError(_("小区名称不能为空。"))
        key = (spec.grid.pk, name)
        if key in seen:
            raise ValidationError(
                _("网格“%(grid)s”中已有名为“%(name)s”的小区。") % {"grid": spec.grid.code, "name": name}
            )
        seen.add(key)
        compounds.append(
            Compound(
                grid=spec.grid,
                microgrid=spec.microgrid,
                name=name,
                address=spec.address,
                lon=spec.lon,
                lat=spec.lat,
            )
        )
    Compound.objects.bulk_create(compounds, batch_size=batch_size)
    _audit(
        actor=actor,
        action="compounds_bulk_create",
        object_id=compounds[0].grid.code if compounds else "",
        detail={"count": len(compounds)},
    )
    return compounds


@dataclass(frozen=True)
class BuildingSpec:
    """What is needed to create one building (楼栋) in `grid`, optionally in a compound and a micro-grid."""

    grid: Area
    name: str
    compound: Compound | None = None
    microgrid: Area | None = None
    unit_count: int = 1
    household_count: int = 0
    lon: float | None = None
    lat: float | None = None


@transaction.atomic
def buildings_bulk_create(*, actor: Any, specs: Iterable[BuildingSpec], batch_size: int = 1000) -> list[Building]:
    """Create many buildings at once (imports and the demo generator); one audit row records the batch."""
    buildings: list[Building] = []
    households = 0
    for spec in specs:
        _housing_place_validate(grid=spec.grid, microgrid=spec.microgrid)
        if spec.compound is not None and (spec.compound.pk is None or spec.compound.grid_id != spec.grid.pk):
            raise ValidationError(
                _("小区“%(compound)s”不属于网格“%(grid)s”。") % {"compound": spec.compound.name, "grid": spec.grid.code}
            )
        name = spec.name.strip()
        if not name:
            raise ValidationError(_("楼栋名称不能为空。"))
        if spec.unit_count < 1 or spec.household_count < 0:
            raise ValidationError(_("楼栋“%(name)s”的单元数至少为1，户数不能为负。") % {"name": name})
        households += spec.household_count
        buildings.append(
            Building(
                grid=spec.grid,
                compound=spec.compound,
                microgrid=spec.microgrid,
                name=name,
                unit_count=spec.unit_count,
                household_count=spec.household_count,
                lon=spec.lon,
                lat=spec.lat,
            )
        )
    Building.objects.bulk_create(buildings, batch_size=batch_size)
    _audit(
        actor=actor,
        action="buildings_bulk_create",
        object_id=buildings[0].grid.code if buildings else "",
        detail={"count": len(buildings), "households": households},
    )
    return buildings


@transaction.atomic
def area_tree_delete_all(*, actor: Any) -> dict[str, int]:
    """Delete every building, compound and area (the demo generator's --reset).

    Areas go bottom-up because `Area.parent` is PROTECT. Anything else that
    still points at an area (role assignments, departments, cases …) must be
    deleted by its own app first; otherwise Django raises ProtectedError and
    the transaction rolls back.
    """
    deleted = {
        "buildings": Building.objects.all().delete()[0],
        "compounds": Compound.objects.all().delete()[0],
    }
    areas = 0
    for level in reversed(AREA_LEVEL_ORDER):
        areas += Area.objects.filter(level=level).delete()[0]
    deleted["areas"] = areas
    if areas:
        _bump_geometry_revision()
    _audit(actor=actor, action="area_tree_delete_all", object_id="", detail=deleted)
    return deleted
