"""Audit of specialised grid layers (党建、综治、民政、城管、市场监管 …) before fusing them.

Given N layers (FeatureCollections of grid polygons with an `id` and an
optional `staff` list) and the village/community boundaries, report:

- overlaps between grids of the same layer (area above a tolerance);
- gaps: parts of the boundaries' union that no grid of the layer covers;
- grids that cross a village/community boundary: a grid with pieces in two
  or more communities each larger than the tolerance (a share of the grid's
  area, and at least `cross_tolerance_m2`), since digitised lines never
  match to the centimetre;
- near-coincident pairs across layers (IoU ≥ threshold): candidates to merge;
- people who staff grids in more than one layer.

All areas are m² in a local equirectangular projection (`LocalMetricProjection`);
locations are WGS84 points inside the reported piece, to find it on a map.
The report is a JSON-ready dict; `audit_summary` words it in Chinese.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridding.geo import LocalMetricProjection
from gridding.io import PolygonFeature, load_feature_collection, read_polygons

POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class AuditSettings:
    iou_threshold: float = 0.8
    overlap_tolerance_m2: float = 1.0
    gap_tolerance_m2: float = 100.0
    cross_tolerance_share: float = 0.01
    cross_tolerance_m2: float = 10.0


@dataclass(frozen=True)
class Layer:
    name: str
    grids: Sequence[PolygonFeature]


def repair_polygonal(geometry: BaseGeometry) -> tuple[BaseGeometry, bool]:
    """The geometry, repaired when invalid (areal parts of make_valid); and whether it was repaired."""
    if geometry.is_valid:
        return geometry, False
    parts = [part for part in shapely.get_parts(shapely.make_valid(geometry)) if part.geom_type in POLYGONAL]
    return (shapely.union_all(parts) if parts else shapely.Polygon()), True


class _Metric:
    def __init__(self, projection: LocalMetricProjection) -> None:
        self.projection = projection

    def where(self, geometry_m: BaseGeometry) -> dict[str, float]:
        point = self.projection.to_degrees(shapely.point_on_surface(geometry_m))
        return {"lon": round(float(point.x), 6), "lat": round(float(point.y), 6)}


def audit_layers(
    layers: Sequence[Layer], boundaries: Sequence[PolygonFeature], *, settings: AuditSettings | None = None
) -> dict[str, Any]:
    """The audit report (see the module docstring) as a JSON-ready dict."""
    settings = settings or AuditSettings()
    every = [feature.geometry for feature in boundaries] + [g.geometry for layer in layers for g in layer.grids]
    projection = LocalMetricProjection.around(shapely.envelope(shapely.union_all([shapely.envelope(g) for g in every])))
    metric = _Metric(projection)

    boundary_m = [repair_polygonal(projection.to_metres(feature.geometry))[0] for feature in boundaries]
    boundary_tree = shapely.STRtree(boundary_m)
    territory = shapely.union_all(boundary_m)

    layer_geometries: list[list[BaseGeometry]] = []
    layer_reports: list[dict[str, Any]] = []
    for layer in layers:
        geometries: list[BaseGeometry] = []
        repaired: list[str] = []
        for grid in layer.grids:
            geometry, was_repaired = repair_polygonal(projection.to_metres(grid.geometry))
            geometries.append(geometry)
            if was_repaired:
                repaired.append(grid.id)
        layer_geometries.append(geometries)
        layer_reports.append(
            _layer_report(
                layer, geometries, repaired, boundaries, boundary_m, boundary_tree, territory, settings, metric
            )
        )

    near: list[dict[str, Any]] = []
    for (i, layer_a), (j, layer_b) in itertools.combinations(enumerate(layers), 2):
        a_geoms, b_geoms = layer_geometries[i], layer_geometries[j]
        if not a_geoms or not b_geoms:
            continue
        tree = shapely.STRtree(b_geoms)
        left, right = tree.query(a_geoms, predicate="intersects")
        if not len(left):
            continue
        a_arr, b_arr = np.array(a_geoms, dtype=object)[left], np.array(b_geoms, dtype=object)[right]
        inter = shapely.area(shapely.intersection(a_arr, b_arr))
        union = shapely.area(a_arr) + shapely.area(b_arr) - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        for a, b, value in zip(left, right, iou, strict=True):
            if value >= settings.iou_threshold:
                near.append(
                    {
                        "layer_a": layer_a.name,
                        "grid_a": layer_a.grids[int(a)].id,
                        "layer_b": layer_b.name,
                        "grid_b": layer_b.grids[int(b)].id,
                        "iou": round(float(value), 4),
                    }
                )
    near.sort(key=lambda pair: (-pair["iou"], pair["layer_a"], pair["grid_a"], pair["layer_b"], pair["grid_b"]))

    staffing: dict[str, set[tuple[str, str]]] = {}
    for layer in layers:
        for grid in layer.grids:
            for person in grid.staff:
                staffing.setdefault(person, set()).add((layer.name, grid.id))
    shared = [
        {
            "person": person,
            "layers": sorted({name for name, _ in posts}),
            "grids": [{"layer": name, "grid": grid} for name, grid in sorted(posts)],
        }
        for person, posts in sorted(staffing.items())
        if len({name for name, _ in posts}) > 1
    ]

    return {
        "settings": asdict(settings),
        "boundaries": len(boundaries),
        "territory_area_m2": round(float(territory.area), 1),
        "layers": layer_reports,
        "near_coincident": near,
        "shared_staff": shared,
        "totals": {
            "grids": sum(len(layer.grids) for layer in layers),
            "overlaps": sum(len(report["overlaps"]) for report in layer_reports),
            "gaps": sum(len(report["gaps"]) for report in layer_reports),
            "crossing": sum(len(report["crossing"]) for report in layer_reports),
            "near_coincident": len(near),
            "shared_staff": len(shared),
        },
    }


def _layer_report(
    layer: Layer,
    geometries: list[BaseGeometry],
    repaired: list[str],
    boundaries: Sequence[PolygonFeature],
    boundary_m: list[BaseGeometry],
    boundary_tree: shapely.STRtree,
    territory: BaseGeometry,
    settings: AuditSettings,
    metric: _Metric,
) -> dict[str, Any]:
    grids = layer.grids
    overlaps: list[dict[str, Any]] = []
    if len(geometries) > 1:
        tree = shapely.STRtree(geometries)
        left, right = tree.query(geometries, predicate="intersects")
        keep = left < right
        for i, j in zip(left[keep], right[keep], strict=True):
            piece = geometries[int(i)].intersection(geometries[int(j)])
            if piece.area > settings.overlap_tolerance_m2:
                overlaps.append(
                    {
                        "grid_a": grids[int(i)].id,
                        "grid_b": grids[int(j)].id,
                        "area_m2": round(float(piece.area), 1),
                        **metric.where(piece),
                    }
                )

    covered = shapely.union_all(geometries) if geometries else shapely.Polygon()
    uncovered = territory.difference(covered)
    gaps = [
        {"area_m2": round(float(piece.area), 1), **metric.where(piece)}
        for piece in sorted(shapely.get_parts(uncovered), key=lambda p: p.area, reverse=True)
        if piece.area > settings.gap_tolerance_m2
    ]
    outside = covered.difference(territory)

    crossing: list[dict[str, Any]] = []
    for grid, geometry in zip(grids, geometries, strict=True):
        area = float(geometry.area)
        if area <= 0:
            continue
        threshold = max(settings.cross_tolerance_m2, settings.cross_tolerance_share * area)
        pieces: list[dict[str, Any]] = []
        for index in boundary_tree.query(geometry, predicate="intersects"):
            share = geometry.intersection(boundary_m[int(index)]).area
            if share > threshold:
                feature = boundaries[int(index)]
                pieces.append(
                    {
                        "id": feature.id,
                        "name": feature.name,
                        "area_m2": round(float(share), 1),
                        "share": round(float(share) / area, 4),
                    }
                )
        if len(pieces) > 1:
            pieces.sort(key=lambda piece: -float(piece["area_m2"]))
            crossing.append({"grid": grid.id, "boundaries": pieces})

    territory_area = float(territory.area)
    return {
        "name": layer.name,
        "grid_count": len(grids),
        "area_m2": round(float(covered.area), 1),
        "coverage_share": round(float(territory.area - uncovered.area) / territory_area, 4) if territory_area else 0.0,
        "gap_area_m2": round(float(sum(gap["area_m2"] for gap in gaps)), 1),
        "outside_area_m2": round(float(outside.area), 1),
        "repaired": repaired,
        "overlaps": overlaps,
        "gaps": gaps,
        "crossing": crossing,
    }


def audit_files(
    layer_paths: Sequence[str | Path], boundaries_path: str | Path, *, settings: AuditSettings | None = None
) -> dict[str, Any]:
    """`audit_layers` on files; a layer is named by its FeatureCollection `name` member or file name."""
    layers: list[Layer] = []
    used: set[str] = set()
    for path in layer_paths:
        _, collection = load_feature_collection(path)
        raw_name = collection.get("name")
        name = str(raw_name) if isinstance(raw_name, str) and raw_name.strip() else Path(path).stem
        base, number = name, 2
        while name in used:
            name, number = f"{base}#{number}", number + 1
        used.add(name)
        layers.append(Layer(name=name, grids=read_polygons(path, allow_empty=True)))
    boundaries = read_polygons(boundaries_path, id_keys=("code", "id"))
    return audit_layers(layers, boundaries, settings=settings)


def _hectares(area_m2: float) -> str:
    return f"{area_m2 / 10_000:.2f} 公顷"


def audit_summary(report: dict[str, Any], *, limit: int = 10) -> str:
    """A few Chinese paragraphs a community secretary can read."""
    totals = report["totals"]
    settings = report["settings"]
    lines = [
        f"网格图层核查：{len(report['layers'])} 个图层，共 {totals['grids']} 个网格，"
        f"{report['boundaries']} 个村/社区（总面积 {_hectares(report['territory_area_m2'])}）。",
        f"发现：同图层重叠 {totals['overlaps']} 处，缝隙 {totals['gaps']} 处，跨村/社区界网格 {totals['crossing']} 个，"
        f"跨图层近似重合（交并比 ≥ {settings['iou_threshold']:.2f}）{totals['near_coincident']} 对，"
        f"在多个图层任职的人员 {totals['shared_staff']} 人。",
    ]
    for layer in report["layers"]:
        lines.append("")
        lines.append(
            f"【{layer['name']}】{layer['grid_count']} 个网格，覆盖村/社区范围的 {layer['coverage_share'] * 100:.1f}%"
            + (f"，范围外 {_hectares(layer['outside_area_m2'])}" if layer["outside_area_m2"] > 0 else "")
            + "。"
        )
        if layer["repaired"]:
            lines.append(f"  无效面（已自动修复后核查）：{'、'.join(layer['repaired'][:limit])}")
        for overlap in layer["overlaps"][:limit]:
            lines.append(
                f"  重叠：{overlap['grid_a']} 与 {overlap['grid_b']} 重叠 {overlap['area_m2']} 平方米"
                f"（约在 {overlap['lon']}, {overlap['lat']}）"
            )
        if layer["gaps"]:
            biggest = layer["gaps"][0]
            lines.append(
                f"  缝隙：{len(layer['gaps'])} 处未被任何网格覆盖，合计 {_hectares(layer['gap_area_m2'])}；"
                f"最大一处 {biggest['area_m2']} 平方米（约在 {biggest['lon']}, {biggest['lat']}）"
            )
        for crossing in layer["crossing"][:limit]:
            parts = "、".join(
                f"{piece['name'] or piece['id']} {piece['share'] * 100:.1f}%" for piece in crossing["boundaries"]
            )
            lines.append(f"  跨界：{crossing['grid']} 跨越多个村/社区（{parts}）")
        hidden = max(0, len(layer["overlaps"]) - limit) + max(0, len(layer["crossing"]) - limit)
        if hidden:
            lines.append(f"  ……另有 {hidden} 条，见 JSON 报告。")
        if not (layer["overlaps"] or layer["gaps"] or layer["crossing"]):
            lines.append("  未发现重叠、缝隙或跨界。")
    if report["near_coincident"]:
        lines.append("")
        lines.append("可合并的近似重合网格：")
        for pair in report["near_coincident"][:limit]:
            lines.append(
                f"  {pair['layer_a']} {pair['grid_a']} ≈ {pair['layer_b']} {pair['grid_b']}（交并比 {pair['iou']:.2f}）"
            )
    if report["shared_staff"]:
        lines.append("")
        lines.append("在多个图层任职的人员：")
        for person in report["shared_staff"][:limit]:
            posts = "、".join(f"{post['layer']} {post['grid']}" for post in person["grids"])
            lines.append(f"  {person['person']}：{posts}")
    return "\n".join(lines)
