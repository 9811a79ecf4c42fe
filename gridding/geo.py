"""Conversions between GeoJSON dicts, shapely geometries and local metres."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

EARTH_METRES_PER_DEGREE_LAT = 110_574.0
EARTH_METRES_PER_DEGREE_LON_AT_EQUATOR = 111_320.0


def geometry_from_geojson(data: Mapping[str, Any]) -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry dict (raises ValueError/TypeError/KeyError on garbage)."""
    return shape(data)


def geometry_to_geojson(geometry: BaseGeometry, *, precision: int = 7) -> dict[str, Any]:
    """A GeoJSON geometry dict with coordinates rounded to `precision` decimals (7 ≈ 1 cm)."""

    def _round(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [_round(item) for item in value]
        if isinstance(value, float):
            return round(value, precision)
        return value

    raw = mapping(geometry)
    return {"type": raw["type"], "coordinates": _round(raw["coordinates"])}


def bounding_box(geometry: BaseGeometry) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat)."""
    min_x, min_y, max_x, max_y = geometry.bounds
    return float(min_x), float(min_y), float(max_x), float(max_y)


class LocalMetricProjection:
    """Equirectangular projection around a reference latitude.

    Good to well under 0.5 % across a county (~50 km), which is all that area
    and distance tolerances need; no PROJ/GDAL required.
    """

    def __init__(self, ref_lon: float, ref_lat: float) -> None:
        self.ref_lon = ref_lon
        self.ref_lat = ref_lat
        self.metres_per_lon = EARTH_METRES_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(ref_lat))
        self.metres_per_lat = EARTH_METRES_PER_DEGREE_LAT

    @classmethod
    def around(cls, geometry: BaseGeometry) -> LocalMetricProjection:
        centroid = geometry.centroid
        return cls(float(centroid.x), float(centroid.y))

    def to_metres(self, geometry: BaseGeometry) -> BaseGeometry:
        scale = np.array([self.metres_per_lon, self.metres_per_lat])
        origin = np.array([self.ref_lon, self.ref_lat])
        return shapely.transform(geometry, lambda coords: (coords - origin) * scale)

    def to_degrees(self, geometry: BaseGeometry) -> BaseGeometry:
        scale = np.array([self.metres_per_lon, self.metres_per_lat])
        origin = np.array([self.ref_lon, self.ref_lat])
        return shapely.transform(geometry, lambda coords: coords / scale + origin)
