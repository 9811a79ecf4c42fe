"""The demo county on paper: area tree, polygons, codes, names and housing.

Nothing here touches the database, so the plan can be checked (and cached)
on its own; `generator.py` writes it through the services. The steps:

1. draw: tessellate the county outline into towns, each town into
   villages/communities, each of those into grids (in local metres);
2. load: give every grid a household count, split some grids into
   micro-grids of 30–100 households;
3. snap: move all polygons onto the 1e-7° storage grid so that siblings at
   every level share exactly the same edges, and parents are the exact
   union of their children;
4. number: codes west→east, north→south inside each parent (CJ/T 213);
5. name and house: names, compounds and buildings with points inside their
   grid or micro-grid.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from gridding.geo import LocalMetricProjection
from gridding.tessellate import (
    JIAOZHOU_CENTRE,
    county_outline_metres,
    exact_coverage,
    order_west_east_north_south,
    partition,
)
from gridgov.areas.choices import AreaLevel
from gridgov.demo import names
from gridgov.demo.presets import Preset, TownKind, TownPreset

CITY_CODE = "370200"
COUNTY_CODE = "370281"
# Storage precision of coordinates (geometry_to_geojson keeps 7 decimals ≈ 1 cm).
GRID_SIZE_DEGREES = 1e-7
COORDINATE_DECIMALS = 7
# Statistical division codes (GB/T 10114 style): 社区居委会 001–199, 村委会 200–399.
FIRST_COMMUNITY_NUMBER = {TownKind.STREET: 1, TownKind.TOWN: 201}
LAST_COMMUNITY_NUMBER = {TownKind.STREET: 199, TownKind.TOWN: 399}
# Domain guide: micro-grids hold 30–100 households.
MICROGRID_HOUSEHOLDS = (30, 100)


@dataclass
class PlannedBuilding:
    name: str
    unit_count: int
    household_count: int
    lon: float
    lat: float


@dataclass
class PlannedCompound:
    name: str
    address: str
    lon: float
    lat: float
    buildings: list[PlannedBuilding] = field(default_factory=list)


@dataclass
class PlannedArea:
    """One node of the planned tree. `metric` is the drawing in local metres,
    `geometry` the final WGS84 polygon that gets stored."""

    level: str
    kind: TownKind
    metric: Polygon | None = None
    geometry: Polygon | None = None
    code: str = ""
    name: str = ""
    town: TownPreset | None = None
    households: int = 0  # grids and micro-grids: households to house there
    children: list[PlannedArea] = field(default_factory=list)
    compounds: list[PlannedCompound] = field(default_factory=list)  # leaves only

    def walk(self) -> Iterator[PlannedArea]:
        """This node and its descendants, depth first, each parent before its children."""
        yield self
        for child in self.children:
            yield from child.walk()

    def leaves(self) -> list[PlannedArea]:
        """Where housing goes: micro-grids, and grids that have none."""
        return [
            node for node in self.walk() if not node.children and node.level in (AreaLevel.GRID, AreaLevel.MICROGRID)
        ]


@dataclass
class CountyPlan:
    preset: Preset
    seed: int
    city: PlannedArea
    district: PlannedArea
    projection: LocalMetricProjection

    def by_level(self, level: str) -> list[PlannedArea]:
        return [node for node in self.city.walk() if node.level == level]

    def find(self, *, level: str, name: str) -> PlannedArea:
        return next(node for node in self.city.walk() if node.level == level and node.name == name)


def _rng(seed: int, stage: str) -> random.Random:
    # One stream per stage: a change to how compounds are drawn does not move
    # the town borders drawn from the same seed.
    return random.Random(f"gridgov-demo:{seed}:{stage}")


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder; ties by position)."""
    if not weights:
        return []
    scale = total / sum(weights)
    quotas = [weight * scale for weight in weights]
    shares = [math.floor(quota) for quota in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


# ------------------------------------------------------------------ 1. draw


def _assign_towns(preset: Preset, cells: list[Polygon]) -> list[tuple[TownPreset, Polygon]]:
    """Central streets get the cells nearest the county centre, towns (镇) the outermost ones."""
    centre = shapely.union_all(cells).centroid
    by_distance = sorted(range(len(cells)), key=lambda i: (cells[i].centroid.distance(centre), i))
    central = [town for town in preset.towns if town.central]
    rural = [town for town in preset.towns if town.kind == TownKind.TOWN and not town.central]
    other = [town for town in preset.towns if town not in central and town not in rural]
    groups = [
        (central, by_distance[: len(central)]),
        (other, by_distance[len(central) : len(central) + len(other)]),
        (rural, by_distance[len(central) + len(other) :]),
    ]
    assigned: list[tuple[TownPreset, Polygon]] = []

    def angle(i: int) -> float:
        return math.atan2(cells[i].centroid.y - centre.y, cells[i].centroid.x - centre.x)

    for towns, indices in groups:
        # Inside a ring, go round by angle so neighbours in the list are neighbours on the map.
        around = sorted(indices, key=angle)
        assigned.extend(zip(towns, (cells[i] for i in around), strict=True))
    return assigned


def _draw(preset: Preset, seed: int) -> tuple[PlannedArea, PlannedArea]:
    rng = _rng(seed, "geometry")
    outline = county_outline_metres(rng)
    city = PlannedArea(level=AreaLevel.CITY, kind=TownKind.STREET, code=CITY_CODE, name=names.CITY_NAME)
    district = PlannedArea(
        level=AreaLevel.DISTRICT, kind=TownKind.STREET, metric=outline, code=COUNTY_CODE, name=names.COUNTY_NAME
    )
    city.children.append(district)

    town_cells = partition(outline, len(preset.towns), rng=rng, relax_steps=4, jagged=20)
    towns = sorted(_assign_towns(preset, town_cells), key=lambda pair: pair[0].code)
    community_weights = [
        preset.central_community_weight
        if town.central
        else preset.street_community_weight
        if town.kind == TownKind.STREET
        else preset.town_community_weight
        for town, _ in towns
    ]
    community_counts = apportion(preset.communities, community_weights)
    if min(community_counts) < 1:
        raise ValueError("every town needs at least one village or community")
    if preset.grids < preset.communities:
        raise ValueError("every village or community needs at least one grid")

    communities: list[PlannedArea] = []
    for (town_preset, cell), count in zip(towns, community_counts, strict=True):
        town = PlannedArea(
            level=AreaLevel.TOWN,
            kind=town_preset.kind,
            metric=cell,
            code=COUNTY_CODE + town_preset.code,
            name=town_preset.name,
            town=town_preset,
        )
        district.children.append(town)
        for community_cell in partition(cell, count, rng=rng, relax_steps=2, jagged=5 if count > 1 else 0):
            community = PlannedArea(level=AreaLevel.COMMUNITY, kind=town.kind, metric=community_cell)
            town.children.append(community)
            communities.append(community)

    # Every community gets one grid; the rest go mostly to the dense urban ones.
    extra_weights = [
        (preset.street_extra_grid_weight if c.kind == TownKind.STREET else preset.town_extra_grid_weight)
        * rng.uniform(0.5, 1.5)
        for c in communities
    ]
    extra = apportion(preset.grids - preset.communities, extra_weights)
    for community, more in zip(communities, extra, strict=True):
        assert community.metric is not None  # noqa: S101 (set just above)
        for grid_cell in partition(community.metric, 1 + more, rng=rng, relax_steps=2):
            community.children.append(PlannedArea(level=AreaLevel.GRID, kind=community.kind, metric=grid_cell))
    return city, district


# ------------------------------------------------------------------ 2. load


def _load(preset: Preset, seed: int, district: PlannedArea) -> None:
    """Households per grid, then micro-grids for a sample of grids that can hold them."""
    rng = _rng(seed, "households")
    grids = [node for node in district.walk() if node.level == AreaLevel.GRID]
    weights = [
        (preset.urban_grid_households if grid.kind == TownKind.STREET else preset.rural_grid_households)
        * rng.uniform(0.75, 1.25)
        for grid in grids
    ]
    for grid, households in zip(grids, apportion(preset.households, weights), strict=True):
        grid.households = households

    low, high = MICROGRID_HOUSEHOLDS
    lowest_split, highest_split = preset.microgrids_per_grid
    eligible = [g for g in grids if lowest_split * low <= g.households <= highest_split * high]
    chosen = rng.sample(eligible, min(preset.microgrid_grids, len(eligible)))
    for grid in sorted(chosen, key=grids.index):
        count = min(max(math.ceil(grid.households / high), lowest_split), highest_split)
        assert grid.metric is not None  # noqa: S101 (drawn in step 1)
        # Equal shares: with count = ⌈households / 100⌉ and 60–400 households, each stays within 30–100.
        shares = apportion(grid.households, [1.0] * count)
        for cell, households in zip(partition(grid.metric, count, rng=rng, relax_steps=2), shares, strict=True):
            grid.children.append(
                PlannedArea(level=AreaLevel.MICROGRID, kind=grid.kind, metric=cell, households=households)
            )


# ------------------------------------------------------------------ 3. snap


def _to_degrees(projection: LocalMetricProjection, geometry: BaseGeometry) -> BaseGeometry:
    # Vectorised version of LocalMetricProjection.to_degrees: the same formula,
    # without a Python call per vertex (tens of thousands of them here).
    scale = np.array([projection.metres_per_lon, projection.metres_per_lat])
    offset = np.array([projection.ref_lon, projection.ref_lat])
    return shapely.transform(geometry, lambda xy: xy / scale + offset)


def _single_polygon(geometry: BaseGeometry, what: str) -> Polygon:
    if not isinstance(geometry, Polygon) or not geometry.is_valid or geometry.interiors:
        raise ValueError(f"the {what} polygon came out as {geometry.geom_type}, not one simple polygon")
    return geometry


def _snap(district: PlannedArea, projection: LocalMetricProjection) -> None:
    """Final WGS84 polygons: leaves snapped together, every parent the exact union of its children."""
    leaves = district.leaves()
    degrees = [_to_degrees(projection, leaf.metric) for leaf in leaves if leaf.metric is not None]
    for leaf, polygon in zip(leaves, exact_coverage(degrees, grid_size=GRID_SIZE_DEGREES), strict=True):
        leaf.geometry = polygon

    def build(node: PlannedArea) -> Polygon:
        if node.children:
            parts = [build(child) for child in node.children]
            union = shapely.coverage_union_all(parts) if len(parts) > 1 else parts[0]
            node.geometry = _single_polygon(shapely.orient_polygons(union), node.level)
        assert node.geometry is not None  # noqa: S101 (leaves were set above)
        return node.geometry

    build(district)


# ---------------------------------------------------------------- 4. number


def _number(district: PlannedArea) -> None:
    """Codes of communities, grids and micro-grids, west→east, north→south inside each parent."""
    for town in district.children:
        first, last = FIRST_COMMUNITY_NUMBER[town.kind], LAST_COMMUNITY_NUMBER[town.kind]
        if len(town.children) > last - first + 1:
            raise ValueError(f"{town.name} has more villages/communities than its code range allows")
        _number_children(town, first)
        for community in town.children:
            _number_children(community, 1)
            for grid in community.children:
                _number_children(grid, 1)


def _number_children(parent: PlannedArea, first: int) -> None:
    if not parent.children:
        return
    geometries = [child.geometry for child in parent.children if child.geometry is not None]
    order = order_west_east_north_south(geometries)
    parent.children = [parent.children[i] for i in order]
    for number, child in enumerate(parent.children, start=first):
        if number > 999:
            raise ValueError(f"{parent.name or parent.code} has more than 999 children")
        child.code = f"{parent.code}{number:03d}"


# ---------------------------------------------------------- 5. name and house


class _PointSampler:
    """Random points inside one leaf polygon, stored at 7 decimals and still inside."""

    def __init__(self, polygon: Polygon, projection: LocalMetricProjection, rng: random.Random) -> None:
        self.polygon = polygon
        shapely.prepare(polygon)
        self.rng = rng
        self.bounds = polygon.bounds
        self.lon_per_metre = 1 / projection.metres_per_lon
        self.lat_per_metre = 1 / projection.metres_per_lat

    def _inside(self, lon: float, lat: float) -> tuple[float, float] | None:
        lon, lat = round(lon, COORDINATE_DECIMALS), round(lat, COORDINATE_DECIMALS)
        return (lon, lat) if shapely.contains_xy(self.polygon, lon, lat) else None

    def anywhere(self) -> tuple[float, float]:
        min_x, min_y, max_x, max_y = self.bounds
        for _ in range(10_000):
            point = self._inside(self.rng.uniform(min_x, max_x), self.rng.uniform(min_y, max_y))
            if point is not None:
                return point
        # Practically unreachable for polygons of at least a few metres.
        point_on_surface = self.polygon.point_on_surface()
        return (round(point_on_surface.x, COORDINATE_DECIMALS), round(point_on_surface.y, COORDINATE_DECIMALS))

    def near(self, lon: float, lat: float, radius_m: float) -> tuple[float, float]:
        """A point within `radius_m` of (lon, lat) if the polygon allows, else anywhere inside."""
        for _ in range(30):
            angle = self.rng.uniform(0, 2 * math.pi)
            distance = radius_m * math.sqrt(self.rng.random())
            point = self._inside(
                lon + distance * math.cos(angle) * self.lon_per_metre,
                lat + distance * math.sin(angle) * self.lat_per_metre,
            )
            if point is not None:
                return point
        return self.anywhere()


def _apartment_buildings(
    households: int, sampler: _PointSampler, centre: tuple[float, float], rng: random.Random
) -> list[PlannedBuilding]:
    """Urban: apartment blocks of 2–6 units and 24–120 households (the last one may be a small annex)."""
    buildings: list[PlannedBuilding] = []
    remaining = households
    while remaining > 0:
        units = rng.randint(2, 6)
        floors = min(rng.randint(6, 11), 120 // (2 * units))
        size = min(max(units * floors * 2, 24), remaining)
        if size < 24:
            units = 1
        lon, lat = sampler.near(*centre, radius_m=150)
        buildings.append(PlannedBuilding(f"{len(buildings) + 1}号楼", units, size, lon, lat))
        remaining -= size
    return buildings


def _house_rows(
    households: int, sampler: _PointSampler, centre: tuple[float, float], rng: random.Random
) -> list[PlannedBuilding]:
    """Rural: a village cluster's houses, counted as rows (排) of 4–14 households each."""
    rows: list[PlannedBuilding] = []
    remaining = households
    while remaining > 0:
        size = min(rng.randint(4, 14), remaining)
        lon, lat = sampler.near(*centre, radius_m=250)
        rows.append(PlannedBuilding(f"第{names.chinese_numeral(len(rows) + 1)}排", 1, size, lon, lat))
        remaining -= size
    return rows


def _house(
    leaf: PlannedArea,
    *,
    community: PlannedArea,
    town: PlannedArea,
    book: names.NameBook,
    road_book: names.NameBook,
    cluster_counter: list[int],
    first_compound: str | None,
    projection: LocalMetricProjection,
    rng: random.Random,
) -> None:
    assert leaf.geometry is not None  # noqa: S101 (set in step 3)
    sampler = _PointSampler(leaf.geometry, projection, rng)
    remaining = leaf.households
    while remaining > 0:
        lon, lat = sampler.anywhere()
        if leaf.kind == TownKind.STREET:
            size = min(rng.randint(90, 600), remaining)
            if first_compound is not None and not leaf.compounds:
                name = book.reserve(first_compound)
            else:
                name = book.compound()
            address = f"{town.name}{community.name}{road_book.road()}{rng.randint(1, 399)}号"
            buildings = _apartment_buildings(size, sampler, (lon, lat), rng)
        else:
            size = min(rng.randint(40, 120), remaining)
            cluster_counter[0] += 1
            name = book.reserve(f"{community.name}第{names.chinese_numeral(cluster_counter[0])}村民小组")
            address = f"{town.name}{community.name}"
            buildings = _house_rows(size, sampler, (lon, lat), rng)
        leaf.compounds.append(PlannedCompound(name=name, address=address, lon=lon, lat=lat, buildings=buildings))
        remaining -= size


def _name_and_house(plan: CountyPlan) -> None:
    rng = _rng(plan.seed, "names")
    housing_rng = _rng(plan.seed, "housing")
    county_book = names.NameBook(rng)
    for town in plan.district.children:
        county_book.reserve(town.name)
    seed_community: PlannedArea | None = None
    for town in plan.district.children:
        if town.name == names.SEED_TOWN and town.children:
            # The seed article's community: the one nearest the centre of 中云街道.
            assert town.geometry is not None  # noqa: S101 (set in step 3)
            centre = town.geometry.centroid
            seed_community = min(town.children, key=lambda c: c.geometry.centroid.distance(centre) if c.geometry else 0)
        for community in town.children:
            if community is seed_community:
                community.name = county_book.reserve(names.SEED_COMMUNITY)
            elif community.kind == TownKind.STREET:
                community.name = county_book.community()
            else:
                community.name = county_book.village()

    for town in plan.district.children:
        for community in town.children:
            # Compound names are unique inside a community, so grid names made from them are too.
            book = names.NameBook(rng, used={names.SEED_COMPOUND} if community is not seed_community else None)
            cluster_counter = [0]
            for number, grid in enumerate(community.children, start=1):
                first_compound = names.SEED_COMPOUND if community is seed_community and number == 1 else None
                for leaf in grid.children or [grid]:
                    _house(
                        leaf,
                        community=community,
                        town=town,
                        book=book,
                        road_book=county_book,
                        cluster_counter=cluster_counter,
                        first_compound=first_compound,
                        projection=plan.projection,
                        rng=housing_rng,
                    )
                    first_compound = None
                grid.name = _grid_name(grid, community, number)
                for micro_number, micro in enumerate(grid.children, start=1):
                    micro.name = f"{grid.name}第{names.chinese_numeral(micro_number)}微网格"


def _grid_name(grid: PlannedArea, community: PlannedArea, number: int) -> str:
    if grid.kind == TownKind.STREET:
        first_leaf = grid.children[0] if grid.children else grid
        if first_leaf.compounds:
            # 文澜阁小区 → 文澜阁网格: urban grids are known by their main compound.
            return first_leaf.compounds[0].name.removesuffix("小区") + "网格"
    if len(community.children) == 1:
        return f"{community.name}网格"
    return f"{community.name}第{names.chinese_numeral(number)}网格"


# --------------------------------------------------------------------- plan


def plan_county(preset: Preset, seed: int) -> CountyPlan:
    """The whole county for `preset`, identical for identical (preset, seed)."""
    projection = LocalMetricProjection(*JIAOZHOU_CENTRE)
    city, district = _draw(preset, seed)
    _load(preset, seed, district)
    _snap(district, projection)
    _number(district)
    plan = CountyPlan(preset=preset, seed=seed, city=city, district=district, projection=projection)
    _name_and_house(plan)
    return plan
