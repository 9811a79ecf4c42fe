"""factory-boy factories and a small geometric area tree for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import factory
from django.contrib.auth.hashers import MD5PasswordHasher
from shapely.geometry import box, mapping

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department, User
from gridgov.accounts.services import department_create, role_assign
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building, Compound
from gridgov.areas.services import area_create

TEST_PASSWORD = "correct-horse-battery-staple"  # noqa: S105 (test-only credential)
# Tests switch PASSWORD_HASHERS to MD5 (conftest.py), so one cheap hash serves every user.
_TEST_PASSWORD_HASH = MD5PasswordHasher().encode(TEST_PASSWORD, "gridgovtest")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    # Hashed once at import time: hashing per user would dominate test time.
    password = factory.LazyFunction(lambda: _TEST_PASSWORD_HASH)


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    """A GeoJSON square with its south-west corner at (lon, lat)."""
    return dict(mapping(box(lon, lat, lon + size, lat + size)))


@dataclass
class AreaTree:
    """A tiny county: city → district → 2 towns → 2 communities each → 2 grids each.

    Grids are 0.01° squares laid out side by side, communities and towns
    are the unions, so containment and adjacency hold like in real data.
    """

    city: Area
    district: Area
    towns: list[Area] = field(default_factory=list)
    communities: list[Area] = field(default_factory=list)
    grids: list[Area] = field(default_factory=list)
    microgrids: list[Area] = field(default_factory=list)
    compounds: list[Compound] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)


def build_area_tree(*, towns: int = 2, communities_per_town: int = 2, grids_per_community: int = 2) -> AreaTree:
    size = 0.01
    base_lon, base_lat = 119.90, 36.20
    width = communities_per_town * grids_per_community
    city = area_create(actor=None, level=AreaLevel.CITY, code="370200", name="青岛市", parent=None)
    district = area_create(
        actor=None,
        level=AreaLevel.DISTRICT,
        code="370281",
        name="胶州市",
        parent=city,
        geometry=dict(mapping(box(base_lon, base_lat - towns * size, base_lon + width * size, base_lat))),
    )
    tree = AreaTree(city=city, district=district)
    for t in range(towns):
        row_lat = base_lat - (t + 1) * size
        town = area_create(
            actor=None,
            level=AreaLevel.TOWN,
            code=f"{district.code}{t + 1:03d}",
            name=f"测试{t + 1}街道",
            parent=district,
            geometry=dict(mapping(box(base_lon, row_lat, base_lon + width * size, row_lat + size))),
        )
        tree.towns.append(town)
        for c in range(communities_per_town):
            c_lon = base_lon + c * grids_per_community * size
            community = area_create(
                actor=None,
                level=AreaLevel.COMMUNITY,
                code=f"{town.code}{c + 1:03d}",
                name=f"{town.name}第{c + 1}社区",
                parent=town,
                geometry=dict(mapping(box(c_lon, row_lat, c_lon + grids_per_community * size, row_lat + size))),
            )
            tree.communities.append(community)
            for g in range(grids_per_community):
                g_lon = c_lon + g * size
                grid = area_create(
                    actor=None,
                    level=AreaLevel.GRID,
                    code=f"{community.code}{g + 1:03d}",
                    name=f"{community.name}{g + 1}号网格",
                    parent=community,
                    geometry=square(g_lon, row_lat, size),
                )
                tree.grids.append(grid)
                compound = Compound.objects.create(
                    grid=grid, name=f"{grid.name}小区", lon=g_lon + size / 2, lat=row_lat + size / 2
                )
                tree.compounds.append(compound)
                for b in range(2):
                    tree.buildings.append(
                        Building.objects.create(
                            compound=compound, grid=grid, name=f"{b + 1}号楼", unit_count=2, household_count=40
                        )
                    )
    return tree


def make_user_with_role(role: str, area: Area, *, department: Department | None = None, **kwargs: Any) -> User:
    user = cast(User, UserFactory(**kwargs))
    if role == Role.DEPARTMENT_HANDLER and department is None:
        department = Department.objects.filter(area=area).first() or department_create(
            actor=None, area=area, code=f"D{area.code}", name="城市管理局"
        )
    role_assign(actor=None, user=user, role=role, area=area, department=department)
    return user
