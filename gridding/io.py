"""Reading and checking the GeoJSON files of the `python -m gridding` commands.

Every problem raises `InputError(kind, params)`; `gridding.messages` turns it
into a Chinese sentence for the command line. Feature positions in `params`
(`index`) are 0-based; messages show them 1-based.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import LineString, MultiLineString, Polygon, shape
from shapely.geometry.base import BaseGeometry

from gridding.validate import candidate_from_geojson


class InputError(ValueError):
    """A file the commands cannot use; `kind` + `params` (see `gridding.messages`)."""

    def __init__(self, kind: str, params: Mapping[str, Any] | None = None) -> None:
        self.kind = kind
        self.params = dict(params or {})
        super().__init__(f"{kind}: {self.params}")


@dataclass(frozen=True)
class Unit:
    """A part of a building (单元/楼层) that may join a different micro-grid than the rest."""

    id: str
    households: int


@dataclass(frozen=True)
class BuildingInput:
    id: str
    lon: float
    lat: float
    households: int
    population: int | None = None
    units: tuple[Unit, ...] = ()
    old_grid: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PolygonFeature:
    """An area of a layer or of the boundaries file."""

    index: int
    id: str
    name: str | None
    geometry: BaseGeometry
    staff: tuple[str, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------- files


def load_feature_collection(path: str | Path) -> tuple[list[Mapping[str, Any]], Mapping[str, Any]]:
    """The features and the top-level object of a GeoJSON FeatureCollection file."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise InputError("file_missing", {"path": name}) from error
    except (OSError, UnicodeDecodeError) as error:
        raise InputError("file_unreadable", {"path": name, "error": str(error)}) from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError("not_json", {"path": name, "line": error.lineno, "column": error.colno}) from error
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise InputError("not_feature_collection", {"path": name})
    features = data["features"]
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise InputError("not_feature", {"path": name, "index": index})
    return features, data


def write_json(path: str | Path, data: Any) -> None:
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _properties(feature: Mapping[str, Any]) -> dict[str, Any]:
    properties = feature.get("properties")
    return dict(properties) if isinstance(properties, dict) else {}


def _identifier(feature: Mapping[str, Any], properties: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = properties.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    value = feature.get("id")
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def _count(value: Any, *, kind_prefix: str, params: dict[str, Any]) -> int:
    """A non-negative whole number (1.0 is accepted as 1), or an InputError."""
    if value is None:
        raise InputError(f"missing_{kind_prefix}", params)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"bad_{kind_prefix}", {**params, "value": repr(value)})
    if value < 0:
        raise InputError(f"negative_{kind_prefix}", {**params, "value": value})
    if value != int(value):
        raise InputError(f"bad_{kind_prefix}", {**params, "value": repr(value)})
    return int(value)


# --------------------------------------------------------------- buildings


def read_buildings(path: str | Path) -> list[BuildingInput]:
    """Building points: `id`, `households` ≥ 0, optional `population`, `units`, `grid` (old grid)."""
    features, _ = load_feature_collection(path)
    name = str(path)
    if not features:
        raise InputError("empty", {"path": name})
    buildings: list[BuildingInput] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(features):
        properties = _properties(feature)
        identifier = _identifier(feature, properties, ("id",))
        params: dict[str, Any] = {"path": name, "index": index, "id": identifier}
        if identifier is None:
            raise InputError("missing_id", params)
        if identifier in seen:
            raise InputError("duplicate_id", {**params, "other_index": seen[identifier]})
        seen[identifier] = index
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            raise InputError("not_point", params)
        coordinates = geometry.get("coordinates")
        if (
            not isinstance(coordinates, list)
            or len(coordinates) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in coordinates[:2])
            or not all(math.isfinite(v) for v in coordinates[:2])
        ):
            raise InputError("bad_coordinates", params)
        lon, lat = float(coordinates[0]), float(coordinates[1])
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise InputError("not_lonlat", {**params, "x": lon, "y": lat})
        households = _count(properties.get("households"), kind_prefix="households", params=params)
        population = properties.get("population")
        if population is not None:
            population = _count(population, kind_prefix="population", params=params)
        units = _units(properties.get("units"), households=households, params=params)
        old_grid = properties.get("grid")
        buildings.append(
            BuildingInput(
                id=identifier,
                lon=lon,
                lat=lat,
                households=households,
                population=population,
                units=units,
                old_grid=str(old_grid) if old_grid not in (None, "") else None,
                properties=properties,
            )
        )
    return buildings


def _units(raw: Any, *, households: int, params: dict[str, Any]) -> tuple[Unit, ...]:
    if raw is None or raw == []:
        return ()
    if not isinstance(raw, list):
        raise InputError("bad_units", params)
    units: list[Unit] = []
    seen: set[str] = set()
    for position, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InputError("bad_units", params)
        identifier = _identifier({}, item, ("id",)) or f"{position + 1}"
        if identifier in seen:
            raise InputError("bad_units", params)
        seen.add(identifier)
        count = _count(item.get("households"), kind_prefix="households", params={**params, "unit": identifier})
        units.append(Unit(id=identifier, households=count))
    total = sum(unit.households for unit in units)
    if total != households:
        raise InputError("units_mismatch", {**params, "units_total": total, "households": households})
    return tuple(units)


# ---------------------------------------------------------------- polygons


def read_polygons(
    path: str | Path, *, id_keys: Sequence[str] = ("id", "code"), allow_empty: bool = False
) -> list[PolygonFeature]:
    """Polygon/MultiPolygon features with an identifier and an optional `staff` list."""
    features, _ = load_feature_collection(path)
    name = str(path)
    if not features and not allow_empty:
        raise InputError("empty", {"path": name})
    result: list[PolygonFeature] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(features):
        properties = _properties(feature)
        identifier = _identifier(feature, properties, id_keys)
        params: dict[str, Any] = {"path": name, "index": index, "id": identifier}
        if identifier is None:
            raise InputError("missing_id", params)
        if identifier in seen:
            raise InputError("duplicate_id", {**params, "other_index": seen[identifier]})
        seen[identifier] = index
        candidate = candidate_from_geojson(index=index, code=identifier, name=None, geometry=feature.get("geometry"))
        if candidate.geometry is None:
            kind = candidate.error.kind.value if candidate.error is not None else "invalid_geojson"
            raise InputError("bad_polygon", {**params, "problem": kind})
        staff_raw = properties.get("staff") or ()
        if not isinstance(staff_raw, list | tuple):
            raise InputError("bad_staff", params)
        staff = tuple(
            str(_identifier({}, person, ("id", "name")) if isinstance(person, dict) else person).strip()
            for person in staff_raw
            if person not in (None, "")
        )
        raw_name = properties.get("name")
        result.append(
            PolygonFeature(
                index=index,
                id=identifier,
                name=str(raw_name) if raw_name not in (None, "") else None,
                geometry=candidate.geometry,
                staff=tuple(person for person in staff if person and person != "None"),
                properties=properties,
            )
        )
    return result


def read_lines(path: str | Path) -> list[BaseGeometry]:
    """Road or boundary lines (LineString/MultiLineString; polygon outlines are used as lines)."""
    features, _ = load_feature_collection(path)
    lines: list[BaseGeometry] = []
    for index, feature in enumerate(features):
        geometry = feature.get("geometry")
        params = {"path": str(path), "index": index}
        try:
            parsed = shape(geometry) if isinstance(geometry, dict) else None
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
            raise InputError("bad_line", params) from error
        if isinstance(parsed, LineString | MultiLineString):
            lines.append(parsed)
        elif parsed is not None and parsed.geom_type in ("Polygon", "MultiPolygon"):
            lines.append(parsed.boundary)
        else:
            raise InputError("bad_line", params)
    return lines


def read_single_polygon(path: str | Path) -> BaseGeometry:
    """The union of the polygons of a file (e.g. the outline of one general grid)."""
    polygons = read_polygons(path, id_keys=("id", "code", "name"))
    geometry = polygons[0].geometry
    for other in polygons[1:]:
        geometry = geometry.union(other.geometry)
    if not isinstance(geometry, Polygon) and geometry.geom_type != "MultiPolygon":
        raise InputError("bad_polygon", {"path": str(path), "index": 0, "id": polygons[0].id})
    return geometry
