"""GCJ-02 ↔ WGS84 for coordinates that come from Chinese consumer maps.

GCJ-02 (国测局坐标, used by AMap/Gaode, Tencent and WeChat locations) is WGS84
plus a deliberately obfuscated offset of a few hundred metres. We store WGS84 /
CGCS2000 only, so such inputs are converted on the way in.

The forward offset is the widely published formula; there is no closed-form
inverse, so `gcj02_to_wgs84` iterates the forward formula (a fixed-point
search that converges to millimetres in a handful of steps). Outside China's
bounding box GCJ-02 is defined as identity, and so are both conversions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 formula.
_SEMI_MAJOR_AXIS = 6378245.0
_ECCENTRICITY_SQUARED = 0.00669342162296594323

# The coarse "inside China" box of the public implementations: the offset is
# applied inside it and nowhere else, so the inverse must use the same box.
CHINA_MIN_LON, CHINA_MAX_LON = 72.004, 137.8347
CHINA_MIN_LAT, CHINA_MAX_LAT = 0.8293, 55.8271

# 1e-9° is about 0.1 mm: far below any survey error, reached in ~5 iterations.
_INVERSE_THRESHOLD_DEGREES = 1e-9
_INVERSE_MAX_ITERATIONS = 30

FloatArray = npt.NDArray[np.float64]


def _inside_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    return (lon >= CHINA_MIN_LON) & (lon <= CHINA_MAX_LON) & (lat >= CHINA_MIN_LAT) & (lat <= CHINA_MAX_LAT)


def _offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The GCJ-02 offset (degrees) to add to WGS84 coordinates, vectorised."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    shared = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    d_lat += shared
    d_lat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    d_lon += shared
    d_lon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0

    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _ECCENTRICITY_SQUARED * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_SEMI_MAJOR_AXIS * (1.0 - _ECCENTRICITY_SQUARED)) / (magic * sqrt_magic) * pi)
    d_lon = (d_lon * 180.0) / (_SEMI_MAJOR_AXIS / sqrt_magic * np.cos(rad_lat) * pi)
    inside = _inside_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def wgs84_to_gcj02_coords(coords: FloatArray) -> FloatArray:
    """An (n, 2) array of WGS84 lon/lat converted to GCJ-02."""
    coords = np.asarray(coords, dtype=np.float64)
    d_lon, d_lat = _offset(coords[:, 0], coords[:, 1])
    return np.column_stack((coords[:, 0] + d_lon, coords[:, 1] + d_lat))


def gcj02_to_wgs84_coords(coords: FloatArray) -> FloatArray:
    """An (n, 2) array of GCJ-02 lon/lat converted back to WGS84.

    Fixed-point iteration: guess WGS84, shift the guess by how far its
    GCJ-02 image misses the target. The offset varies slowly, so each step
    gains about two orders of magnitude.
    """
    target = np.asarray(coords, dtype=np.float64)
    guess = target.copy()
    for _ in range(_INVERSE_MAX_ITERATIONS):
        miss = wgs84_to_gcj02_coords(guess) - target
        guess -= miss
        if np.all(np.abs(miss) < _INVERSE_THRESHOLD_DEGREES):
            break
    # Points outside the box have no offset; keep them bit-for-bit.
    outside = ~_inside_china(target[:, 0], target[:, 1])
    guess[outside] = target[outside]
    return guess


def wgs84_to_gcj02(geometry: BaseGeometry) -> BaseGeometry:
    """A shapely geometry shifted from WGS84 to GCJ-02 (tests and map overlays)."""
    return shapely.transform(geometry, wgs84_to_gcj02_coords)


def gcj02_to_wgs84(geometry: BaseGeometry) -> BaseGeometry:
    """A shapely geometry shifted from GCJ-02 back to WGS84 (for `--crs gcj02` imports)."""
    return shapely.transform(geometry, gcj02_to_wgs84_coords)
