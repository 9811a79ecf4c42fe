"""A grid worker registers a case and settles it in the grid; a resident rates the case they reported."""

from __future__ import annotations

import pytest

from gridgov.accounts.choices import Role
from gridgov.cases.choices import CaseSource, CaseStatus, Rating
from gridgov.cases.models import Case, CaseAttachment
from gridgov.cases.services import case_accept, case_report_back, case_verify
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import TEST_PASSWORD, AreaTree, make_user_with_role
from gridgov.testing.images import jpeg_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

JPEG = jpeg_bytes(16, 16)


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/areas/**")


def test_a_case_from_registration_to_rating(
    live_server, browser, page, case_rules, tree: AreaTree, settings, tmp_path
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path
    worker = make_user_with_role(Role.GRID_WORKER, tree.grids[0], username="worker")
    resident = make_user_with_role(Role.RESIDENT, tree.grids[0], username="resident")
    # given a resident's earlier report, already settled by the grid
    earlier = submit_case(resident, tree.grids[0], source=CaseSource.RESIDENT, title="楼道灯坏了")
    case_accept(actor=worker, case=earlier)
    case_report_back(actor=worker, case=earlier, result="已更换灯泡")
    case_verify(actor=worker, case=earlier, passed=True, note="灯已亮")

    # when the grid worker signs in and registers a new case
    sign_in(page, live_server.url, "worker")
    page.click("nav.topnav >> text=事项")
    page.click("text=登记事项")
    page.select_option("select[name=kind]", "patrol_finding")
    page.select_option("select[name=category]", label="暴露垃圾")
    page.fill("input[name=title]", "东门绿化带垃圾")
    page.fill("textarea[name=description]", "绿化带内有建筑垃圾堆放")
    page.select_option("select[name=grid]", str(tree.grids[0].pk))
    page.click("form.case-form button[type=submit]")
    # then its page opens with the message, waiting for acceptance
    page.wait_for_selector(".messages .success")
    assert "已登记事项" in page.inner_text(".messages")
    assert "待受理" in page.inner_text(".case-tags")

    # when they accept it, report back with a photo, and verify on site
    page.click(".action-accept button[type=submit]")
    page.wait_for_selector(".action-report_back")
    page.fill("textarea[name=report_back-result]", "已联系物业清运")
    page.set_input_files(
        "input[name=report_back-photos]", files=[{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": JPEG}]
    )
    page.click(".action-report_back button[type=submit]")
    page.wait_for_selector(".action-verify")
    page.check("input[name=verify-outcome][value=pass]")
    page.click(".action-verify button[type=submit]")
    # then the case is closed in the grid, with the photo on its page
    page.wait_for_selector(".status-closed")
    assert "核查通过，事项已办结" in page.inner_text(".messages")
    new_case = Case.objects.get(title="东门绿化带垃圾")
    assert new_case.status == CaseStatus.CLOSED
    assert CaseAttachment.objects.filter(case=new_case).count() == 1
    assert page.locator(".attachments img").count() == 1

    # when the resident signs in, they find their earlier report closed and rate it
    resident_page = browser.new_context(locale="zh-CN").new_page()
    sign_in(resident_page, live_server.url, "resident")
    resident_page.goto(f"{live_server.url}/cases/")
    assert "楼道灯坏了" in resident_page.inner_text("#case-results")
    assert "已办结" in resident_page.inner_text("#case-results")
    assert "东门绿化带垃圾" not in resident_page.inner_text("#case-results")
    resident_page.click("text=楼道灯坏了")
    resident_page.check("input[name=rate-rating][value=satisfied]")
    resident_page.click(".action-rate button[type=submit]")
    resident_page.wait_for_selector(".messages .success")
    assert "感谢您的评价" in resident_page.inner_text(".messages")
    earlier.refresh_from_db()
    assert earlier.rating == Rating.SATISFIED
    resident_page.context.close()
