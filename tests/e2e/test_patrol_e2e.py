"""A grid worker's patrol on a phone: start, check items, one finding turned into a case, finish.

Screenshots of each step go to tests/e2e/artifacts/ (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gridgov.accounts.choices import Role
from gridgov.cases.choices import CaseSource, CaseStatus
from gridgov.cases.models import Case, CaseAttachment
from gridgov.patrols.choices import FindingStatus, PatrolStatus
from gridgov.patrols.models import Patrol, PatrolCheck, PatrolFinding
from gridgov.testing.factories import TEST_PASSWORD, AreaTree, make_user_with_role
from gridgov.testing.images import jpeg_bytes
from gridgov.testing.patrols import check_items_seed, grid_centre, households_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = {"width": 390, "height": 844}


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"patrol-{name}.png"), full_page=True)


def test_a_patrol_with_a_finding_turned_into_a_case_on_a_phone(
    live_server, browser, case_rules, tree: AreaTree, settings, tmp_path
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path
    check_items_seed()
    households_in(tree.grids[0], 3)
    make_user_with_role(Role.GRID_WORKER, tree.grids[0], username="worker", full_name="刘网格")
    lon, lat = grid_centre(tree.grids[0])
    context = browser.new_context(
        locale="zh-CN",
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 12},
        permissions=["geolocation"],
    )
    page = context.new_page()
    try:
        # given the grid worker signed in on their phone
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", "worker")
        page.fill("input[name=password]", TEST_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/areas/**")

        # when they open the patrol home and start a patrol of their grid
        page.goto(f"{live_server.url}/patrols/")
        shot(page, "1-home")
        start = page.locator("form.start-form button")
        box = start.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 300  # a thumb-sized button
        start.click()
        page.wait_for_selector(".messages .success")
        assert "巡查已开始" in page.inner_text(".messages")
        shot(page, "2-started")
        patrol = Patrol.objects.get()
        # the page fits the phone's width
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        # when they check three items (HTMX swaps each row in place)
        for code, result in (("fire_corridor", "problem"), ("gas", "ok"), ("hoarding", "na")):
            row = page.locator(f"#check-{_item_id(code)}")
            row.locator(f"button[value={result}]").click()
            page.wait_for_selector(f"#check-{_item_id(code)} button[value={result}][aria-pressed=true]")
        shot(page, "3-checked")
        assert PatrolCheck.objects.filter(patrol=patrol).count() == 3

        # and record a visit found by searching their grid's households
        page.fill("#household-search", "01室")
        page.wait_for_selector("#household-results button")
        page.click("#household-results button")
        page.wait_for_selector("#visits li")

        # and follow "记录问题" from the fire corridor row: the form opens with the category chosen
        page.click(f"#check-{_item_id('fire_corridor')} .record-problem")
        page.wait_for_selector("#finding-form[open]")
        assert page.input_value("select[name=category]") == str(_category_id("0607"))
        page.fill("textarea[name=description]", "2号楼1单元楼道电动车堵塞消防通道")
        page.set_input_files(
            "input[name=photos]", files=[{"name": "楼道.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
        )
        # the phone's position is filled in from geolocation
        page.wait_for_function("document.querySelector('[data-geo-lon]').value !== ''")
        page.wait_for_selector(".photo-preview img")
        shot(page, "4-finding")
        # and one tap turns it into a case
        page.click(".finding-buttons button[value=case]")
        page.wait_for_selector(".messages .success")
        assert "已转为事项" in page.inner_text(".messages")
        shot(page, "5-case")

        # then one case from the patrol exists, with the photo and the position
        case = Case.objects.get()
        assert case.source == CaseSource.PATROL and case.status == CaseStatus.SUBMITTED
        assert case.longitude == pytest.approx(lon) and case.latitude == pytest.approx(lat)
        assert CaseAttachment.objects.filter(case=case).count() == 1
        finding = PatrolFinding.objects.get()
        assert finding.status == FindingStatus.CASE and finding.case_id == case.pk
        assert case.number in page.inner_text("#findings")

        # when they write the day's notes and finish
        page.fill("textarea[name=notes]", "检查消防通道、燃气、工地围挡，走访1户，发现1处问题已转为事项。")
        page.click(".finish-form button[type=submit]")
        page.wait_for_selector("[data-patrol-status]:has-text('已结束')")
        shot(page, "6-finished")
        patrol.refresh_from_db()
        assert patrol.status == PatrolStatus.FINISHED and "走访1户" in patrol.notes

        # and the case opens from the patrol page
        page.click("#findings a.case-link")
        page.wait_for_url(f"{live_server.url}/cases/{case.pk}/")
        assert "2号楼1单元楼道电动车堵塞消防通道" in page.inner_text("main")
        shot(page, "7-case-page")

        # and today's log lists what was inspected, found and done
        page.goto(f"{live_server.url}/patrols/log/")
        log = page.inner_text("main")
        assert "消防通道：有问题" in log and case.number in log
        shot(page, "8-log")
    finally:
        context.close()


def _item_id(code: str) -> int:
    from gridgov.patrols.models import CheckItem

    return CheckItem.objects.get(code=code).pk


def _category_id(code: str) -> int:
    from gridgov.cases.models import Category

    return Category.objects.get(code=code).pk
