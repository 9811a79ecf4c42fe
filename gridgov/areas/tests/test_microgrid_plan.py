"""Micro-grid proposals for a general grid: shown beside the current state, applied in one transaction."""

from __future__ import annotations

import pytest
from django.test import Client

from gridgov.accounts.models import AuditEvent, User
from gridgov.areas.choices import AreaLevel
from gridgov.areas.gridding_selectors import microgrid_plan
from gridgov.areas.models import Area, Building
from gridgov.areas.services import BuildingSpec, area_create, buildings_bulk_create
from gridgov.registry.models import Household
from gridgov.testing.factories import AreaTree, square

pytestmark = pytest.mark.django_db

# Households of the buildings added to grid 0 (beside its two 40-household buildings).
EXTRA_HOUSEHOLDS = [25, 30, 35, 20, 45, 30, 25, 20]


def place_buildings(tree: AreaTree) -> Area:
    """Grid 0 with 10 buildings (310 households) spread over its 0.01° square; returns the grid."""
    grid = tree.grids[0]
    west, north = 119.90, 36.20
    for index, building in enumerate(Building.objects.filter(grid=grid).order_by("pk")):
        building.lon, building.lat = west + 0.001, north - 0.001 - 0.002 * index
        building.save(update_fields=["lon", "lat"])
    buildings_bulk_create(
        actor=None,
        specs=[
            BuildingSpec(
                grid=grid,
                compound=tree.compounds[0],
                name=f"{index + 3}号楼",
                household_count=households,
                lon=west + 0.003 + 0.002 * (index % 4),
                lat=north - 0.001 - 0.003 * (index // 4),
            )
            for index, households in enumerate(EXTRA_HOUSEHOLDS)
        ],
    )
    return grid


def login(client: Client, username: str) -> Client:
    client.force_login(User.objects.get(username=username))
    return client


def plan_url(grid: Area, **query: int) -> str:
    suffix = "&".join(f"{key}={value}" for key, value in query.items())
    return f"/areas/{grid.code}/microgrids/plan/" + (f"?{suffix}" if suffix else "")


def apply(client: Client, grid: Area, *, fingerprint: str, low: int = 30, high: int = 100):  # type: ignore[no-untyped-def]
    return client.post(
        f"/areas/{grid.code}/microgrids/apply/", {"low": low, "high": high, "fingerprint": fingerprint}, follow=True
    )


def microgrids_of(grid: Area) -> list[Area]:
    return list(Area.objects.filter(parent=grid, level=AreaLevel.MICROGRID).order_by("code"))


def test_grid_page_offers_the_proposal_only_to_area_managers(client: Client, tree: AreaTree, personas: dict) -> None:
    # given a grid seen by the county administrator (manages areas) and by community staff (does not)
    grid = tree.grids[0]
    # when each opens the grid page
    admin_page = login(client, "admin").get(f"/areas/{grid.code}/").content.decode()
    staff_page = login(Client(), "community_staff").get(f"/areas/{grid.code}/").content.decode()
    # then only the administrator gets the button
    assert "划分微网格（方案）" in admin_page
    assert "划分微网格（方案）" not in staff_page


def test_proposal_shows_band_figures_beside_the_current_state(client: Client, tree: AreaTree, personas: dict) -> None:
    # given grid 0 with 310 households in 10 buildings and no micro-grid yet
    grid = place_buildings(tree)
    # when the administrator asks for a proposal with the default band
    response = login(client, "admin").get(plan_url(grid))
    # then the page lists micro-grids of 30–100 households with 18-digit codes under the grid, all in band
    assert response.status_code == 200
    body = response.content.decode()
    plan = response.context["plan"]
    assert plan.band.low == 30 and plan.band.high == 100
    assert all(30 <= row.households <= 100 for row in plan.proposed)
    assert sum(row.households for row in plan.proposed) == 310
    assert all(len(row.code) == 18 and row.code.startswith(grid.code) for row in plan.proposed)
    assert plan.proposed[0].code in body
    assert "100%" in body  # share in band
    assert "尚未划分微网格" in body
    # and every building would move (none has a micro-grid today), nothing was written
    assert plan.moved == 10
    assert microgrids_of(grid) == []


def test_infeasible_band_is_explained_with_the_library_reason(client: Client, tree: AreaTree, personas: dict) -> None:
    # given 310 households, which no number of 200–250-household micro-grids adds up to
    grid = place_buildings(tree)
    # when the administrator asks for that band
    body = login(client, "admin").get(plan_url(grid, low=200, high=250)).content.decode()
    # then the page says why, and offers nothing to apply
    assert "无法生成方案" in body
    assert "310 户" in body and "200–250" in body
    assert 'id="apply-form"' not in body


def test_buildings_without_coordinates_are_named(client: Client, tree: AreaTree, personas: dict) -> None:
    # given grid 1, whose buildings have no coordinates
    body = login(client, "admin").get(plan_url(tree.grids[1])).content.decode()
    # then the proposal is refused, naming them
    assert "没有坐标" in body and "1号楼" in body


def test_inverted_band_is_a_form_error(client: Client, tree: AreaTree, personas: dict) -> None:
    grid = place_buildings(tree)
    body = login(client, "admin").get(plan_url(grid, low=100, high=30)).content.decode()
    assert "最少户数不能大于最多户数" in body
    assert 'id="apply-form"' not in body


def test_apply_creates_microgrids_in_band_covering_every_building_once(
    client: Client, tree: AreaTree, personas: dict
) -> None:
    # given the proposal the administrator was shown
    grid = place_buildings(tree)
    login(client, "admin")
    plan = client.get(plan_url(grid)).context["plan"]
    # when they apply it
    response = apply(client, grid, fingerprint=plan.fingerprint)
    # then they are back on the grid page with a confirmation
    assert response.redirect_chain[-1][0] == f"/areas/{grid.code}/"
    assert "已应用微网格方案" in response.content.decode()
    # and the grid has exactly the proposed micro-grids, with outlines
    created = microgrids_of(grid)
    assert [area.code for area in created] == [row.code for row in plan.proposed]
    assert all(area.geometry is not None and area.path.startswith(grid.path) for area in created)
    # and every building sits in exactly one of them, each within 30–100 households
    buildings = list(Building.objects.filter(grid=grid))
    assert all(building.microgrid_id in {area.pk for area in created} for building in buildings)
    for area in created:
        households = sum(b.household_count for b in buildings if b.microgrid_id == area.pk)
        assert 30 <= households <= 100
    # and the compound, now spread over several micro-grids, belongs to none of them
    tree.compounds[0].refresh_from_db()
    assert tree.compounds[0].microgrid_id is None
    # and the audit trail records the application
    event = AuditEvent.objects.get(action="microgrid_plan_apply", object_id=grid.code)
    assert event.actor == personas["admin"]
    assert event.detail["created"] == [area.code for area in created]
    assert event.detail["moved_buildings"] == 10


def test_apply_reuses_matching_codes_and_keeps_referenced_old_microgrids(
    client: Client, tree: AreaTree, personas: dict
) -> None:
    # given grid 0 already split by hand: 001 (reusable), 008 (a household registered there), 009 (empty)
    grid = place_buildings(tree)
    old = {
        suffix: area_create(
            actor=None,
            level=AreaLevel.MICROGRID,
            code=f"{grid.code}{suffix}",
            name=f"旧{suffix}",
            parent=grid,
            geometry=square(119.90, 36.19, 0.005),
        )
        for suffix in ("001", "008", "009")
    }
    Building.objects.filter(grid=grid).update(microgrid=old["001"])
    first_building = Building.objects.filter(grid=grid).order_by("pk").first()
    moving_household = Household.objects.create(
        grid=grid, microgrid=old["001"], building=first_building, address="1-101"
    )
    Household.objects.create(grid=grid, microgrid=old["008"], address="无楼栋的户")
    login(client, "admin")
    plan = client.get(plan_url(grid)).context["plan"]
    assert len(plan.proposed) < 8
    # when the proposal is applied
    response = apply(client, grid, fingerprint=plan.fingerprint)
    body = response.content.decode()
    # then 001 is the same area with its name kept and a new outline
    reused = Area.objects.get(code=f"{grid.code}001")
    assert reused.pk == old["001"].pk and reused.name == "旧001"
    assert reused.geometry != square(119.90, 36.19, 0.005)
    # and the empty 009 is gone, the referenced 008 is kept and the page says why
    assert not Area.objects.filter(code=f"{grid.code}009").exists()
    assert Area.objects.filter(code=f"{grid.code}008").exists()
    assert f"{grid.code}008" in body and "已保留" in body
    # and the household registered in a building followed it
    moving_household.refresh_from_db()
    first_building.refresh_from_db()
    assert moving_household.microgrid_id == first_building.microgrid_id


def test_stale_proposal_is_refused(client: Client, tree: AreaTree, personas: dict) -> None:
    # given a proposal shown to the administrator
    grid = place_buildings(tree)
    login(client, "admin")
    plan = client.get(plan_url(grid)).context["plan"]
    # when a building's household count changes before they apply it
    Building.objects.filter(grid=grid, name="3号楼").update(household_count=26)
    response = apply(client, grid, fingerprint=plan.fingerprint)
    # then nothing is applied and they are told to recompute
    assert "已有变化" in response.content.decode()
    assert response.redirect_chain[-1][0].startswith(f"/areas/{grid.code}/microgrids/plan/")
    assert microgrids_of(grid) == []
    assert not Building.objects.filter(grid=grid, microgrid__isnull=False).exists()


def test_failure_midway_leaves_nothing(
    client: Client, tree: AreaTree, personas: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a valid proposal, and an audit trail that fails at the very end of the application
    grid = place_buildings(tree)
    login(client, "admin")
    plan = microgrid_plan(grid, low=30, high=100)

    def broken(**kwargs: object) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr("gridgov.accounts.services.audit_record", broken)
    # when the application runs
    with pytest.raises(RuntimeError):
        client.post(f"/areas/{grid.code}/microgrids/apply/", {"low": 30, "high": 100, "fingerprint": plan.fingerprint})
    # then no micro-grid was created and no building moved
    assert microgrids_of(grid) == []
    assert not Building.objects.filter(grid=grid, microgrid__isnull=False).exists()


@pytest.mark.parametrize(("username", "status"), [("outsider", 404), ("community_staff", 403), ("grid_worker", 403)])
def test_planning_urls_answer_404_out_of_scope_and_403_without_the_capability(
    client: Client, tree: AreaTree, personas: dict, username: str, status: int
) -> None:
    # given grid 0 with a proposal the administrator could apply
    grid = place_buildings(tree)
    fingerprint = microgrid_plan(grid, low=30, high=100).fingerprint
    # when someone else opens the proposal or posts the application
    login(client, username)
    shown = client.get(plan_url(grid))
    posted = client.post(f"/areas/{grid.code}/microgrids/apply/", {"low": 30, "high": 100, "fingerprint": fingerprint})
    # then both are refused and nothing changed
    assert shown.status_code == posted.status_code == status
    assert microgrids_of(grid) == []


def test_only_general_grids_can_be_planned(client: Client, tree: AreaTree, personas: dict) -> None:
    login(client, "admin")
    assert client.get(plan_url(tree.communities[0])).status_code == 404
    assert client.get("/areas/370281999999999/microgrids/plan/").status_code == 404
