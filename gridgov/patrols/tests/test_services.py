"""Patrol services: start and finish, checks, visits, findings settled or turned into cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from gridgov.cases.choices import CaseKind, CaseSource, CaseStatus
from gridgov.cases.models import Case, CaseAttachment, Category
from gridgov.patrols.choices import CheckResult, FindingStatus, PatrolStatus
from gridgov.patrols.errors import PatrolConflict, PatrolForbidden
from gridgov.patrols.models import CheckItem, Patrol, PatrolCheck, PatrolVisit
from gridgov.patrols.services import (
    ROUTE_POINTS_MAX,
    patrol_check_record,
    patrol_finding_add,
    patrol_finding_settle,
    patrol_finding_to_case,
    patrol_finish,
    patrol_start,
    patrol_visit_add,
)
from gridgov.testing.patrols import grid_centre, jpeg

pytestmark = pytest.mark.django_db


def fire_corridor() -> CheckItem:
    return CheckItem.objects.get(code="fire_corridor")


def category(code: str = "0607") -> Category:
    return Category.objects.get(code=code)


def test_the_migration_seeds_the_checklist():
    # given the migrated database
    names = list(CheckItem.objects.values_list("name", flat=True))
    # then the checklist holds the items a grid worker checks every day
    for name in (
        "消防通道",
        "燃气使用",
        "电动车室内充电/飞线充电",
        "工地围挡",
        "群租房",
        "井盖/设施",
        "环境卫生",
        "高空坠物隐患",
    ):
        assert name in names
    # and every default category exists
    codes = set(CheckItem.objects.values_list("category_code", flat=True))
    assert set(Category.objects.filter(code__in=codes).values_list("code", flat=True)) == codes


def test_a_worker_starts_and_finishes_a_patrol_of_their_grid(tree, personas):
    worker = personas["grid_worker"]
    start = timezone.now() - timedelta(hours=2)
    # when the grid worker starts a patrol of their grid
    patrol = patrol_start(actor=worker, grid=tree.grids[0], now=start)
    # then it is open
    assert patrol.status == PatrolStatus.OPEN and patrol.ended_at is None
    # when they finish it with notes and the phone's route
    patrol_finish(actor=worker, patrol=patrol, notes="检查了1号楼消防通道", route=[[119.905, 36.195, 1764400000]])
    patrol.refresh_from_db()
    # then it is finished with its notes and route
    assert patrol.status == PatrolStatus.FINISHED
    assert patrol.ended_at is not None and patrol.ended_at >= start
    assert patrol.notes == "检查了1号楼消防通道"
    assert patrol.route == [[119.905, 36.195, 1764400000]]


def test_a_worker_has_at_most_one_open_patrol(tree, personas):
    worker = personas["grid_worker"]
    # given an open patrol
    patrol_start(actor=worker, grid=tree.grids[0])
    # when the worker taps "start" again
    with pytest.raises(PatrolConflict, match="还有一次巡查没有结束"):
        patrol_start(actor=worker, grid=tree.grids[0])
    # then there is still one patrol
    assert Patrol.objects.filter(worker=worker).count() == 1


def test_a_worker_cannot_patrol_a_grid_they_are_not_assigned_to(tree, personas):
    # when the grid worker of grid 0 starts a patrol of grid 1, or staff start one
    with pytest.raises(PatrolForbidden, match="只能在您负责的网格内"):
        patrol_start(actor=personas["grid_worker"], grid=tree.grids[1])
    with pytest.raises(PatrolForbidden):
        patrol_start(actor=personas["community_staff"], grid=tree.grids[0])
    # or of a community instead of a grid
    with pytest.raises(ValidationError, match="不是网格"):
        patrol_start(actor=personas["grid_worker"], grid=tree.communities[0])
    # then nothing was written
    assert not Patrol.objects.exists()


def test_checks_are_recorded_once_per_item_and_only_by_the_patrols_worker(tree, personas):
    worker = personas["grid_worker"]
    patrol = patrol_start(actor=worker, grid=tree.grids[0])
    # when the worker marks the fire corridor as a problem, then changes it to fine
    patrol_check_record(actor=worker, patrol=patrol, item=fire_corridor(), result=CheckResult.PROBLEM)
    patrol_check_record(actor=worker, patrol=patrol, item=fire_corridor(), result=CheckResult.OK)
    # then the last answer counts
    assert list(PatrolCheck.objects.values_list("result", flat=True)) == [CheckResult.OK]
    # and community staff, who may read the patrol, may not write it
    with pytest.raises(PatrolForbidden):
        patrol_check_record(
            actor=personas["community_staff"], patrol=patrol, item=fire_corridor(), result=CheckResult.OK
        )
    # and an unknown result is refused in Chinese
    with pytest.raises(ValidationError, match="未知的检查结果"):
        patrol_check_record(actor=worker, patrol=patrol, item=fire_corridor(), result="maybe")


def test_visited_households_must_be_in_the_patrols_grid(tree, personas, homes):
    worker = personas["grid_worker"]
    patrol = patrol_start(actor=worker, grid=tree.grids[0])
    # when the worker records a household of their grid twice and a shop
    patrol_visit_add(actor=worker, patrol=patrol, household=homes["grid0"][0])
    patrol_visit_add(actor=worker, patrol=patrol, household=homes["grid0"][0])
    patrol_visit_add(actor=worker, patrol=patrol, place="东门早餐店", note="瓶装液化气已撤")
    # then the household counts once
    assert PatrolVisit.objects.filter(patrol=patrol).count() == 2
    # when they record a household of the neighbouring grid
    with pytest.raises(ValidationError, match="不在本次巡查的网格内"):
        patrol_visit_add(actor=worker, patrol=patrol, household=homes["grid1"][0])
    # or a visit with neither household nor place
    with pytest.raises(ValidationError, match="请填写地点"):
        patrol_visit_add(actor=worker, patrol=patrol)
    assert PatrolVisit.objects.filter(patrol=patrol).count() == 2


def test_a_finding_becomes_exactly_one_case_with_source_patrol(tree, personas):
    worker = personas["grid_worker"]
    patrol = patrol_start(actor=worker, grid=tree.grids[0])
    lon, lat = grid_centre(tree.grids[0])
    # given a finding with its place, category and a photo
    finding = patrol_finding_add(
        actor=worker,
        patrol=patrol,
        category=category("0607"),
        description="2号楼楼道堆放杂物，堵塞消防通道",
        longitude=lon,
        latitude=lat,
        address="2号楼1单元",
        check_item=fire_corridor(),
        photos=[jpeg()],
    )
    # when the worker turns it into a case, and taps again
    case, created = patrol_finding_to_case(actor=worker, finding=finding)
    again, created_again = patrol_finding_to_case(actor=worker, finding=finding)
    # then one case exists, from the patrol, prefilled from the finding, with the photo
    assert created and not created_again and again.pk == case.pk
    assert Case.objects.count() == 1
    assert case.source == CaseSource.PATROL and case.kind == CaseKind.PATROL_FINDING
    assert case.status == CaseStatus.SUBMITTED and case.grid_id == tree.grids[0].pk
    assert case.category.code == "0607" and case.description == "2号楼楼道堆放杂物，堵塞消防通道"
    assert (case.longitude, case.latitude, case.address) == (pytest.approx(lon), pytest.approx(lat), "2号楼1单元")
    assert case.idempotency_key == f"patrol-finding-{finding.pk}"
    assert CaseAttachment.objects.filter(case=case).count() == 1
    # and the finding links the case
    finding.refresh_from_db()
    assert finding.status == FindingStatus.CASE and finding.case_id == case.pk


def test_a_second_tap_from_a_stale_page_files_no_second_case(tree, personas):
    worker = personas["grid_worker"]
    patrol = patrol_start(actor=worker, grid=tree.grids[0])
    finding = patrol_finding_add(actor=worker, patrol=patrol, category=category(), description="消防通道堵塞")
    # given two copies of the finding read before either tap (two requests of a double tap)
    first_copy = type(finding).objects.select_related("patrol__grid", "category").get(pk=finding.pk)
    second_copy = type(finding).objects.select_related("patrol__grid", "category").get(pk=finding.pk)
    # when both are turned into a case
    case, _ = patrol_finding_to_case(actor=worker, finding=first_copy)
    again, created = patrol_finding_to_case(actor=worker, finding=second_copy)
    # then the second answers the first case
    assert not created and again.pk == case.pk and Case.objects.count() == 1


def test_a_settled_finding_is_not_turned_into_a_case(tree, personas):
    worker = personas["grid_worker"]
    patrol = patrol_start(actor=worker, grid=tree.grids[0])
    finding = patrol_finding_add(
        actor=worker, patrol=patrol, category=category("0608"), description="早餐店使用瓶装液化气"
    )
    # when it is settled on the spot
    patrol_finding_settle(actor=worker, finding=finding, result="已督促商户撤除气瓶")
    # then it cannot also become a case, nor be settled twice
    with pytest.raises(PatrolConflict, match="已经现场处置"):
        patrol_finding_to_case(actor=worker, finding=finding)
    with pytest.raises(PatrolConflict, match="已经处置过"):
        patrol_finding_settle(actor=worker, finding=finding, result="再次")
    assert not Case.objects.exists()
    finding.refresh_from_db()
    assert finding.status == FindingStatus.SETTLED and finding.result == "已督促商户撤除气瓶"


def test_a_finding_outside_the_patrols_grid_or_with_a_bad_photo_is_refused(tree, personas):
    worker = personas["grid_worker"]
    patrol = patrol_start(actor=worker, grid=tree.grids[0])
    lon, lat = grid_centre(tree.grids[1])
    # when the position lies in the neighbouring grid
    with pytest.raises(ValidationError, match="不在本次巡查的网格内"):
        patrol_finding_add(
            actor=worker, patrol=patrol, category=category(), description="x", longitude=lon, latitude=lat
        )
    # when only one coordinate is given
    with pytest.raises(ValidationError, match="经度和纬度需同时填写"):
        patrol_finding_add(actor=worker, patrol=patrol, category=category(), description="x", longitude=lon)
    # when the "photo" is an executable
    from django.core.files.uploadedfile import SimpleUploadedFile

    exe = SimpleUploadedFile("photo.jpg", b"MZ\x90\x00" + b"\x00" * 60, content_type="image/jpeg")
    with pytest.raises(ValidationError, match="不是照片"):
        patrol_finding_add(actor=worker, patrol=patrol, category=category(), description="x", photos=[exe])
    # then no finding was recorded
    assert not patrol.findings.exists()


def test_a_patrol_ends_only_when_every_finding_is_settled_or_a_case(tree, personas):
    worker = personas["grid_worker"]
    patrol = patrol_start(actor=worker, grid=tree.grids[0])
    finding = patrol_finding_add(actor=worker, patrol=patrol, category=category(), description="楼道堆物")
    # when the worker finishes with the finding still open
    with pytest.raises(PatrolConflict, match="还有1条发现没有处置"):
        patrol_finish(actor=worker, patrol=patrol)
    # then, once it is settled, the patrol ends, and nothing more can be recorded on it
    patrol_finding_settle(actor=worker, finding=finding, result="已清理")
    patrol_finish(actor=worker, patrol=patrol)
    with pytest.raises(PatrolConflict, match="已经结束"):
        patrol_check_record(actor=worker, patrol=patrol, item=fire_corridor(), result=CheckResult.OK)
    with pytest.raises(PatrolConflict, match="已经结束"):
        patrol_finish(actor=worker, patrol=patrol)
    # and a new patrol can start
    assert patrol_start(actor=worker, grid=tree.grids[0]).pk != patrol.pk


def test_the_route_is_validated_and_capped(tree, personas):
    worker = personas["grid_worker"]
    patrol = patrol_start(actor=worker, grid=tree.grids[0])
    # when the phone sends a point off the globe
    with pytest.raises(ValidationError, match="超出范围"):
        patrol_finish(actor=worker, patrol=patrol, route=[[200.0, 36.0, 1]])
    # when it sends far more points than kept
    long_walk = [[119.9 + i * 1e-6, 36.19, 1764400000 + i] for i in range(ROUTE_POINTS_MAX * 3 + 7)]
    patrol_finish(actor=worker, patrol=patrol, route=long_walk)
    patrol.refresh_from_db()
    # then the whole walk is kept at a coarser step
    assert len(patrol.route) <= ROUTE_POINTS_MAX
    assert patrol.route[0] == [119.9, 36.19, 1764400000]
