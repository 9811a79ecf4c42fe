"""Sizes of the demo county: `small` for tests, `jiaozhou` at the real scale (domain guide §6)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TownKind(StrEnum):
    # 街道 are urban: their children are 社区 (communities) of apartment
    # compounds. 镇 are rural: their children are 村 (villages) of houses.
    STREET = "street"
    TOWN = "town"


@dataclass(frozen=True)
class TownPreset:
    code: str  # GB/T 10114 three digits: 001–099 street offices, 100–199 towns
    name: str
    kind: TownKind
    central: bool = False  # drawn near the county seat


# Jiaozhou's 8 streets and 4 towns, codes in GB/T 10114 style. The seat is in 三里河街道.
JIAOZHOU_TOWNS: tuple[TownPreset, ...] = (
    TownPreset("001", "阜安街道", TownKind.STREET, central=True),
    TownPreset("002", "中云街道", TownKind.STREET, central=True),
    TownPreset("003", "三里河街道", TownKind.STREET, central=True),
    TownPreset("004", "胶东街道", TownKind.STREET),
    TownPreset("005", "胶北街道", TownKind.STREET),
    TownPreset("006", "九龙街道", TownKind.STREET),
    TownPreset("007", "胶西街道", TownKind.STREET),
    TownPreset("008", "胶莱街道", TownKind.STREET),
    TownPreset("101", "李哥庄镇", TownKind.TOWN),
    TownPreset("102", "铺集镇", TownKind.TOWN),
    TownPreset("103", "里岔镇", TownKind.TOWN),
    TownPreset("104", "洋河镇", TownKind.TOWN),
)


@dataclass(frozen=True)
class Preset:
    """Every size the generator uses; a new preset is one more instance."""

    name: str
    towns: tuple[TownPreset, ...]
    communities: int  # villages and communities in the whole county
    grids: int  # general grids in the whole county
    households: int  # households in the whole county (sum over buildings)
    microgrid_grids: int  # general grids that are split into micro-grids
    microgrids_per_grid: tuple[int, int] = (2, 4)
    # Relative weights: a town's share of communities, and a community's
    # share of the grids beyond its first one.
    central_community_weight: float = 2.5  # the seat is denser: smaller communities and grids
    street_community_weight: float = 1.0
    town_community_weight: float = 1.2
    street_extra_grid_weight: float = 1.2
    town_extra_grid_weight: float = 0.5
    # Relative household load of an urban and a rural grid.
    urban_grid_households: float = 1.2
    rural_grid_households: float = 0.9
    grid_worker_for_every_grid: bool = True
    # Cases in the year before generation (a grid worker's county sees ≈ 100–150 per grid and year).
    cases_per_year: int = 0


PRESETS: dict[str, Preset] = {
    "small": Preset(
        name="small",
        towns=(JIAOZHOU_TOWNS[1], JIAOZHOU_TOWNS[8]),  # 中云街道 (with 方井社区) and 李哥庄镇
        communities=6,
        grids=30,
        households=4_500,
        microgrid_grids=3,
        cases_per_year=3_000,
    ),
    "jiaozhou": Preset(
        name="jiaozhou",
        towns=JIAOZHOU_TOWNS,
        communities=800,
        grids=1_400,
        households=300_000,
        microgrid_grids=70,  # 5 % of the grids
        cases_per_year=180_000,
    ),
}
