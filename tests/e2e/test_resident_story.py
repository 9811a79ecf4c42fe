"""THE story of issue #5, in a real browser at a phone's viewport (390×844):

the grid worker prints the compound's poster → a resident opens its QR link, signs in by SMS code and reports a blocked
corridor → the grid worker accepts it, cannot solve it and escalates with a reason →
the community cannot either and hands it up → the town/street dispatches it to a
department (only towns and the county command centre may dispatch: see
`gridgov.cases.rules.DISPATCHER_ROLES`) → the department handler signs for it and
reports back → the grid worker verifies on site and closes it → the resident rates it
不满意 and says 没有解决 → the case reopens.

Staff use the ordinary case pages; every control is found by its visible Chinese
text or label, never by CSS class. A screenshot of each step goes to
tests/e2e/artifacts/resident_story/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import OperationalError

from gridgov.accounts.models import Department
from gridgov.cases.choices import CaseSource, CaseStatus, Rating, StepAction, Tier
from gridgov.cases.models import Case, Category
from gridgov.cases.services import department_categories_set
from gridgov.portal.models import CompoundQr
from gridgov.testing.factories import TEST_PASSWORD, AreaTree
from gridgov.testing.images import jpeg_bytes
from gridgov.testing.portal import last_sms_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).parent / "artifacts" / "resident_story"
PHONE_VIEWPORT = {"width": 390, "height": 844}
PHONE = "13912345678"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Poll the database until the live server has committed the expected change."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OperationalError:  # SQLite's shared test database, briefly locked by the server's write
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {what}")


class Story:
    def __init__(self, browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.step = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def phone(self):
        context = self.browser.new_context(locale="zh-CN", viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
        return context.new_page()

    def shot(self, page, name: str) -> None:
        self.step += 1
        page.screenshot(path=str(ARTIFACTS / f"{self.step:02d}-{name}.png"), full_page=True)

    def staff_sign_in(self, username: str):
        page = self.phone()
        page.goto(f"{self.base_url}/accounts/login/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(TEST_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    def act(self, page, action: str, *, fill: dict[str, str] | None = None, check: str | None = None, select=None):
        """Open the action named `action` on a staff case page, fill its form by labels, submit it."""
        button = page.get_by_role("button", name=action, exact=True)
        if not button.is_visible():
            # the action's disclosure (the same words also appear in the timeline)
            page.locator("summary").filter(has_text=re.compile(rf"^\s*{re.escape(action)}\s*$")).click()
        form = page.locator("form", has=button)
        for label, value in (fill or {}).items():
            form.get_by_label(label).fill(value)
        if check:
            form.get_by_label(check, exact=True).check()
        if select:
            label, option = select
            form.get_by_label(label).select_option(label=option)
        button.click()
        # Read the database only once the server has answered (SQLite shares one test database).
        page.wait_for_load_state("networkidle")


def test_resident_report_climbs_to_a_department_comes_back_and_reopens(
    live_server, browser, case_rules, personas, tree: AreaTree, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    department = Department.objects.get(code=f"D{tree.district.code}")
    department_categories_set(actor=None, department=department, categories=[Category.objects.get(code="06")])
    compound = tree.compounds[0]
    story = Story(browser, live_server.url)

    # --- the grid worker prints the compound's poster ---------------------------------
    worker = story.staff_sign_in("grid_worker")
    poster = worker.context.new_page()
    poster.goto(f"{live_server.url}/r/posters/")
    poster.get_by_role("link", name=compound.name).click()
    poster.wait_for_url(re.compile(r"/r/posters/\d+/$"))
    poster.wait_for_load_state()
    poster_text = poster.inner_text("body")
    assert "扫码反映问题" in poster_text and compound.name in poster_text
    assert poster.locator("svg").count() == 1
    story.shot(poster, "poster")
    poster.close()
    qr_url = re.search(r"https?://\S+/r/c/[\w-]+/", poster_text)
    assert qr_url is not None
    qr = CompoundQr.objects.get(compound=compound)

    # --- the resident scans the compound's QR code -----------------------------------
    resident = story.phone()
    resident.goto(qr_url.group())
    resident.wait_for_url(re.compile(r"/r/login/"))
    assert compound.name in resident.inner_text("body")
    story.shot(resident, "resident-phone-login")
    resident.get_by_label("手机号").fill(PHONE)
    resident.get_by_role("button", name="获取验证码").click()
    resident.wait_for_url(re.compile(r"/r/login/code/"))
    assert "139****5678" in resident.inner_text("body")
    story.shot(resident, "resident-code-sent")
    # the code comes from the SMS outbox (the log backend prints the same text in development)
    resident.get_by_label("验证码").fill(last_sms_code(PHONE))
    resident.get_by_role("button", name="登录").click()
    resident.wait_for_url(re.compile(rf"/r/c/{qr.token}/$"))

    # --- and reports a blocked corridor with a photo, at "my compound" -------------
    assert "楼道堆物/消防通道被堵" in resident.inner_text("body")
    story.shot(resident, "resident-report-form")
    resident.get_by_label("楼道堆物/消防通道被堵").check()
    resident.get_by_label("说说具体情况").fill("2号楼1单元楼道堆满纸箱和旧家具，消防通道过不去")
    resident.get_by_label("拍照（可选）").set_input_files(
        files=[{"name": "楼道.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
    )
    assert resident.get_by_label("在我的小区").is_checked()
    resident.get_by_role("button", name="提交").click()
    resident.wait_for_url(re.compile(r"/r/my/\d+/$"))
    assert "已收到您反映的问题" in resident.inner_text("body")
    case = Case.objects.get()
    assert case.source == CaseSource.RESIDENT and case.grid == tree.grids[0] and case.category.code == "0607"
    assert case.reporter.resident_phone.phone_masked == "139****5678"
    story.shot(resident, "resident-report-submitted")
    case_url = f"{live_server.url}/cases/{case.pk}/"

    # --- the grid worker accepts, cannot solve it, escalates with a reason -----------
    worker.goto(case_url)
    assert "2号楼1单元楼道堆满纸箱" in worker.inner_text("body")
    story.act(worker, "受理")
    wait_until(lambda: Case.objects.get().status == CaseStatus.HANDLING, "the grid worker accepted")
    worker.goto(case_url)
    story.act(worker, "上报上一级", fill={"上报理由": "堆物涉及多户，物业拒不清理，需要执法"})
    wait_until(lambda: Case.objects.get().tier == Tier.COMMUNITY, "escalated to the community")
    worker.goto(case_url)
    story.shot(worker, "grid-worker-escalated")

    # --- the community hands it up to the town/street --------------------------------
    community = story.staff_sign_in("community_staff")
    community.goto(case_url)
    story.act(community, "上报上一级", fill={"上报理由": "社区协调无果，请街道派城管执法"})
    wait_until(lambda: Case.objects.get().tier == Tier.TOWN, "escalated to the town")
    community.goto(case_url)
    story.shot(community, "community-escalated")

    # --- the town/street dispatches it to the department -----------------------------
    town = story.staff_sign_in("town_staff")
    town.goto(case_url)
    story.act(town, "派遣到职能部门", select=("承办部门", "城市管理局（对口部门）"))
    wait_until(lambda: Case.objects.get().status == CaseStatus.DISPATCHED, "dispatched")
    assert Case.objects.get().department == department
    town.goto(case_url)
    story.shot(town, "town-dispatched")

    # --- the department handler signs for it and reports back ------------------------
    handler = story.staff_sign_in("handler")
    handler.goto(case_url)
    story.act(handler, "签收")
    wait_until(lambda: Case.objects.get().status == CaseStatus.HANDLING, "signed for")
    handler.goto(case_url)
    story.act(handler, "反馈办理结果", fill={"办理结果": "已责令物业清理，现场杂物已清运"})
    wait_until(lambda: Case.objects.get().status == CaseStatus.REPORTED, "reported back")
    handler.goto(case_url)
    story.shot(handler, "department-reported-back")

    # --- the grid worker verifies on site and closes it ------------------------------
    worker.goto(case_url)
    story.act(worker, "现场核查", check="通过")
    wait_until(lambda: Case.objects.get().status == CaseStatus.CLOSED, "verified and closed")
    worker.goto(case_url)
    story.shot(worker, "grid-worker-closed")

    # --- the resident follows it, rates 不满意 and says 没有解决 ------------------------
    resident.goto(f"{live_server.url}/r/my/")
    resident.get_by_text(case.title).click()
    resident.wait_for_url(re.compile(rf"/r/my/{case.pk}/$"))
    timeline = resident.inner_text("body")
    for line in ("您反映了这个问题", "已转交上一级协调处理", "已派往职能部门办理", "已处理，处理情况如下",
                 "已责令物业清理", "现场核查通过，问题已解决"):  # fmt: skip
        assert line in timeline
    # no staff reasons or names on the resident's page
    assert "物业拒不清理" not in timeline and "社区协调无果" not in timeline
    assert personas["grid_worker"].full_name not in timeline
    story.shot(resident, "resident-sees-closed")
    resident.get_by_label("不满意").check()
    resident.get_by_label("还想说的话（可选）").fill("纸箱第二天又堆回来了")
    resident.get_by_role("button", name="提交评价").click()
    resident.wait_for_load_state("networkidle")
    wait_until(lambda: Case.objects.get().rating == Rating.DISSATISFIED, "rated 不满意")
    resident.wait_for_load_state()
    story.shot(resident, "resident-rated-dissatisfied")
    resident.get_by_label("哪里没有解决？").fill("纸箱又堆回来了，消防通道还是堵着")
    resident.get_by_role("button", name="没有解决，请重新处理").click()
    resident.wait_for_load_state("networkidle")

    # --- then the case reopens with the last handler ----------------------------------
    wait_until(lambda: Case.objects.get().status != CaseStatus.CLOSED, "reopened")
    reopened = Case.objects.get()
    assert reopened.reopen_count == 1
    assert reopened.status in (CaseStatus.HANDLING, CaseStatus.SUBMITTED, CaseStatus.DISPATCHED)
    assert reopened.steps.filter(action=StepAction.REOPEN).exists()
    resident.wait_for_url(re.compile(rf"/r/my/{case.pk}/$"))
    assert "您反馈没有解决，已重新办理" in resident.inner_text("body")
    story.shot(resident, "resident-reopened")
    for page in (resident, worker, community, town, handler):
        page.context.close()
