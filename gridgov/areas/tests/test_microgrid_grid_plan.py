"""General-grid proposals (划分网格方案) for a village/community: shown beside its current grids, then applied."""

from __future__ import annotations

import pytest
from django.test import Client

from gridgov.accounts.models import AuditEvent, User
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building
from gridgov.areas.services import BuildingSpec, area_create, buildings_bulk_create
from gridgov.registry.models import Household
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db


def fill_grid(tree: AreaTree, index: int, extra: int, households: int = 40) -> None:
    """Give grid `index`'s buildings coordinates and add `extra` buildings, on a lattice inside its square."""
    grid = tree.grids[index]
    west, north = 119.90 + 0.01 * index, 36.20
    positions = [(west + 0.001 + 0.002 * (n % 5), north - 0.001 - 0.002 * (n // 5)) for n in range(extra + 2)]
    for building, (lon, lat) in zip(Building.objects.filter(grid=grid).order_by("pk"), positions, strict=False):
        building.lon, building.lat = lon, lat
        building.save(update_fields=["lon", "lat"])
    buildings_bulk_create(
        actor=None,
        specs=[
            BuildingSpec(grid=grid, name=f"新{n}号楼", household_count=households, lon=lon, lat=lat)
            for n, (lon, lat) in enumerate(positions[2:])
        ],
    )


def login(client: Client, username: str) -> Client:
    client.force_login(User.objects.get(username=username))
    return client


def plan_url(area: Area, query: str = "") -> str:
    return f"/areas/{area.code}/grids/plan/{query}"


def test_community_page_offers_the_proposal_only_to_area_managers(
    client: Client, tree: AreaTree, personas: dict
) -> None:
    community = tree.communities[0]
    assert "划分网格（方案）" in login(client, "admin").get(f"/areas/{community.code}/").content.decode()
    assert (
        "划分网格（方案）" not in login(Client(), "community_staff").get(f"/areas/{community.code}/").content.decode()
    )


def test_grids_already_in_band_are_kept(client: Client, tree: AreaTree, personas: dict) -> None:
    # given community 0 whose two grids each hold 12 buildings of 40 households (480, inside 300–500)
    fill_grid(tree, 0, extra=10)
    fill_grid(tree, 1, extra=10)
    # when the administrator asks for a general-grid proposal with the default band
    response = login(client, "admin").get(plan_url(tree.communities[0]))
    # then both grids are kept whole: full stability, no building moves
    plan = response.context["plan"]
    assert (plan.band.low, plan.band.high) == (300, 500)
    assert sorted(row.kept_from for row in plan.proposed) == [tree.grids[0].code, tree.grids[1].code]
    assert plan.stability_share == 1.0 and plan.moved == 0
    assert "100%" in response.content.decode()


def test_an_oversized_grid_is_split_within_the_band(client: Client, tree: AreaTree, personas: dict) -> None:
    # given grid 0 with 22 buildings (880 households) and grid 1 with 12 (480)
    fill_grid(tree, 0, extra=20)
    fill_grid(tree, 1, extra=10)
    # when the administrator asks for a proposal
    plan = login(client, "admin").get(plan_url(tree.communities[0])).context["plan"]
    # then every proposed grid is within 300–500 with a 15-digit code under the community, and nothing is written
    assert all(300 <= row.households <= 500 for row in plan.proposed)
    assert sum(row.households for row in plan.proposed) == 880 + 480
    assert all(len(row.code) == 15 and row.code.startswith(tree.communities[0].code) for row in plan.proposed)
    assert len(plan.proposed) == 3
    assert tree.grids[1].code in {row.kept_from for row in plan.proposed}
    assert Area.objects.filter(parent=tree.communities[0]).count() == 2


def test_buildings_without_coordinates_are_reported(client: Client, tree: AreaTree, personas: dict) -> None:
    body = login(client, "admin").get(plan_url(tree.communities[0])).content.decode()
    assert "无法生成方案" in body and "没有坐标" in body


@pytest.mark.parametrize(("username", "status"), [("outsider", 404), ("community_staff", 403)])
def test_proposal_answers_404_out_of_scope_and_403_without_the_capability(
    client: Client, tree: AreaTree, personas: dict, username: str, status: int
) -> None:
    assert login(client, username).get(plan_url(tree.communities[0])).status_code == status


def test_only_communities_get_a_general_grid_proposal(client: Client, tree: AreaTree, personas: dict) -> None:
    login(client, "admin")
    assert client.get(plan_url(tree.grids[0])).status_code == 404
    assert client.get(plan_url(tree.towns[0])).status_code == 404


def apply(client: Client, community: Area, *, fingerprint: str, low: int = 300, high: int = 500):  # type: ignore[no-untyped-def]
    return client.post(
        f"/areas/{community.code}/grids/apply/", {"low": low, "high": high, "fingerprint": fingerprint}, follow=True
    )


def test_applying_splits_the_oversized_grid_and_moves_buildings_with_their_households(
    client: Client, tree: AreaTree, personas: dict
) -> None:
    # given grid 0 with 880 households (split into two micro-grids) and grid 1 with 480, one household per building
    fill_grid(tree, 0, extra=20)
    fill_grid(tree, 1, extra=10)
    community, grid0, grid1 = tree.communities[0], tree.grids[0], tree.grids[1]
    halves = [
        area_create(actor=None, level=AreaLevel.MICROGRID, code=f"{grid0.code}00{n}", name=f"微{n}", parent=grid0)
        for n in (1, 2)
    ]
    for index, building in enumerate(Building.objects.filter(grid=grid0).order_by("pk")):
        building.microgrid = halves[index % 2]
        building.save(update_fields=["microgrid"])
    for building in Building.objects.filter(grid__parent=community):
        Household.objects.create(
            grid=building.grid, microgrid=building.microgrid, building=building, address=f"{building.name}-101"
        )
    login(client, "admin")
    plan = client.get(plan_url(community)).context["plan"]
    # when the administrator applies the proposal
    response = apply(client, community, fingerprint=plan.fingerprint)
    # then the community has its two grids (same codes and names) and a third one numbered after them
    assert response.redirect_chain[-1][0] == f"/areas/{community.code}/"
    assert "已应用网格方案" in response.content.decode()
    grids = list(Area.objects.filter(parent=community, level=AreaLevel.GRID).order_by("code"))
    assert [area.code for area in grids] == [grid0.code, grid1.code, f"{community.code}003"]
    assert grids[1].name == grid1.name and grids[1].pk == grid1.pk
    # and every building sits in one of them, each holding 300–500 households
    buildings = list(Building.objects.filter(grid__parent=community).select_related("microgrid"))
    assert len(buildings) == 34
    for area in grids:
        assert 300 <= sum(b.household_count for b in buildings if b.grid_id == area.pk) <= 500
    # and a building stays in a micro-grid only if it belongs to its (new) grid; households follow their building
    assert all(b.microgrid is None or b.microgrid.parent_id == b.grid_id for b in buildings)
    assert any(b.microgrid is None for b in buildings)
    for household in Household.objects.filter(building__in=buildings).select_related("building"):
        assert (household.grid_id, household.microgrid_id) == (
            household.building.grid_id,
            household.building.microgrid_id,
        )
    # and the audit trail has the application
    event = AuditEvent.objects.get(action="grid_plan_apply", object_id=community.code)
    assert event.actor == personas["admin"] and event.detail["created"] == [f"{community.code}003"]


def test_applying_a_merge_deletes_the_grid_nothing_points_at(client: Client, tree: AreaTree, personas: dict) -> None:
    # given grid 0 (240 households, its worker assigned there)
    # and grid 1 (160 households, no staff, an empty micro-grid)
    fill_grid(tree, 0, extra=4)
    fill_grid(tree, 1, extra=2)
    community, grid0, grid1 = tree.communities[0], tree.grids[0], tree.grids[1]
    area_create(actor=None, level=AreaLevel.MICROGRID, code=f"{grid1.code}001", name="空微网格", parent=grid1)
    login(client, "admin")
    plan = client.get(plan_url(community)).context["plan"]
    assert len(plan.proposed) == 1
    # when the single proposed grid is applied
    apply(client, community, fingerprint=plan.fingerprint)
    # then grid 0 holds all 400 households, and grid 1 is gone with its micro-grid, its compound moved to grid 0
    assert list(Area.objects.filter(parent=community)) == [grid0]
    assert not Area.objects.filter(code__startswith=grid1.code).exists()
    assert set(Building.objects.filter(grid__parent=community).values_list("grid_id", flat=True)) == {grid0.pk}
    tree.compounds[1].refresh_from_db()
    assert tree.compounds[1].grid_id == grid0.pk


def test_stale_general_grid_proposal_is_refused(client: Client, tree: AreaTree, personas: dict) -> None:
    fill_grid(tree, 0, extra=20)
    fill_grid(tree, 1, extra=10)
    community = tree.communities[0]
    login(client, "admin")
    plan = client.get(plan_url(community)).context["plan"]
    # when a building is moved on the map before the proposal is applied
    Building.objects.filter(grid=tree.grids[1], name="新0号楼").update(lon=119.915, lat=36.195)
    response = apply(client, community, fingerprint=plan.fingerprint)
    # then nothing changes and the administrator is told to recompute
    assert "已有变化" in response.content.decode()
    assert Area.objects.filter(parent=community).count() == 2
    assert Building.objects.filter(grid=tree.grids[0]).count() == 22


@pytest.mark.parametrize(("username", "status"), [("outsider", 404), ("community_staff", 403)])
def test_applying_answers_404_out_of_scope_and_403_without_the_capability(
    client: Client, tree: AreaTree, personas: dict, username: str, status: int
) -> None:
    fill_grid(tree, 0, extra=20)
    fill_grid(tree, 1, extra=10)
    login(client, username)
    response = client.post(
        f"/areas/{tree.communities[0].code}/grids/apply/", {"low": 300, "high": 500, "fingerprint": "x" * 32}
    )
    assert response.status_code == status
    assert Area.objects.filter(parent=tree.communities[0]).count() == 2


def test_a_failing_general_grid_application_leaves_nothing(
    client: Client, tree: AreaTree, personas: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a valid proposal, and an audit trail that fails at the end of the application
    fill_grid(tree, 0, extra=20)
    fill_grid(tree, 1, extra=10)
    community = tree.communities[0]
    login(client, "admin")
    plan = client.get(plan_url(community)).context["plan"]

    def broken(**kwargs: object) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr("gridgov.accounts.services.audit_record", broken)
    # when the application runs
    with pytest.raises(RuntimeError):
        client.post(f"/areas/{community.code}/grids/apply/", {"low": 300, "high": 500, "fingerprint": plan.fingerprint})
    # then no grid was created and no building moved
    assert Area.objects.filter(parent=community).count() == 2
    assert Building.objects.filter(grid=tree.grids[0]).count() == 22
