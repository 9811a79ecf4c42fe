"""Issue #8's browser story: community staff put two open cases on a 阳光议事会's agenda, record
the meeting as held with a decision and a follow-up action, and a resident of the compound
reads the decision on the compound's public notice (/council/r/).

The two open cases and the compound's QR token are the "given" (services); everything else
goes through the pages, every control found by its visible Chinese text or label.
A screenshot of each step goes to tests/e2e/artifacts/council/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError
from django.utils import timezone

from gridgov.cases.choices import CaseSource
from gridgov.council.models import Decision, FollowUpAction, Meeting
from gridgov.portal.services import compound_qr_ensure
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import TEST_PASSWORD, AreaTree
from gridgov.testing.portal import last_sms_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).parent / "artifacts" / "council"
PHONE = "13912345670"
DECISION = "小区东侧空地划线设电动车停车棚，消防通道设禁停标识，由物业每日巡查。"
ACTION = "东侧空地施划电动车停车位"
ATTENDEES = (("党员", "王建国"), ("居民代表", "李秀英"), ("物业人员", "赵磊"))


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


class Shots:
    def __init__(self) -> None:
        self.step = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, name: str) -> None:
        self.step += 1
        page.screenshot(path=str(ARTIFACTS / f"{self.step:02d}-{name}.png"), full_page=True)


def field(text: str) -> re.Pattern[str]:
    """A Django form label: the words, then the label suffix ("小区:")."""
    return re.compile(rf"^{re.escape(text)}[:：]?$")


def submit_form(page, summary: str, button: str, *, fill=None, select=None, within=None) -> None:
    """Open the disclosure `summary` (in `within`, else the page), fill its form by labels, press `button`."""
    scope = within if within is not None else page
    disclosure = scope.locator("details").filter(has=page.locator("summary", has_text=summary)).first
    if disclosure.get_attribute("open") is None:
        disclosure.locator("summary").click()
    form = disclosure.locator("form")
    for label, option in (select or {}).items():
        form.get_by_label(field(label)).select_option(label=option)
    for label, value in (fill or {}).items():
        form.get_by_label(field(label)).fill(value)
    form.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state("networkidle")


def expect_message(page, text: str) -> None:
    body = page.inner_text("body")
    assert text in body, body[:2000]


def test_staff_put_two_cases_on_a_meeting_and_residents_see_the_decision(
    live_server, browser, case_rules, personas, tree: AreaTree
) -> None:
    # --- given two open cases in the compound's grid, and the compound's QR token -------
    compound = tree.compounds[0]
    grid = compound.grid
    parking = submit_case(personas["grid_worker"], grid, source=CaseSource.GRID_WORKER, title="3号楼前电动车乱停乱放")
    corridor = submit_case(personas["grid_worker"], grid, source=CaseSource.GRID_WORKER, title="消防通道被私家车占用")
    qr = compound_qr_ensure(compound=compound)
    shot = Shots()
    local_now = timezone.localtime()
    held_at = local_now - timedelta(hours=2)
    due_on = (local_now + timedelta(days=14)).date()

    # --- community staff sign in through the login page --------------------------------
    staff = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
    staff.set_default_timeout(10_000)
    staff.goto(f"{live_server.url}/accounts/login/")
    staff.get_by_label("用户名").fill("community_staff")
    staff.get_by_label("密码").fill(TEST_PASSWORD)
    staff.get_by_role("button", name="登录").click()
    staff.wait_for_url(lambda url: "/accounts/login/" not in url)

    # --- and create a 阳光议事会 for the compound, held two hours ago ------------------
    staff.goto(f"{live_server.url}/council/")
    staff.get_by_role("link", name="新建会议").click()
    staff.wait_for_url(re.compile(r"/council/new/$"))
    staff.get_by_label("会议类型").select_option(label="阳光议事会")
    staff.get_by_label(field("小区")).select_option(label=f"{compound.name}（{grid.name}）")
    staff.get_by_label("议题概要").fill("电动车停放与消防通道")
    staff.get_by_label(field("时间")).fill(held_at.strftime("%Y-%m-%dT%H:%M"))
    staff.get_by_label("地点").fill("小区党群服务站")
    shot(staff, "meeting-new")
    staff.get_by_role("button", name="保存").click()
    staff.wait_for_url(re.compile(r"/council/\d+/$"))
    meeting = Meeting.objects.get()
    assert meeting.compound == compound and meeting.kind == "sunshine"
    assert "会议已召开，尚无会议记录，请补记。" in staff.inner_text("body")
    shot(staff, "meeting-created")

    # --- attendees, all present ---------------------------------------------------------
    for category, name in ATTENDEES:
        submit_form(staff, "登记参会人员", "添加", select={"类别": category}, fill={"姓名": name})
        expect_message(staff, "已添加参会人员。")
    for _category, name in ATTENDEES:
        staff.get_by_label(name).check()
    staff.get_by_role("button", name="保存出席情况").click()
    staff.wait_for_load_state("networkidle")
    expect_message(staff, "参会人员（3 人，出席 3 人）")
    shot(staff, "attendance")

    # --- the two cases go onto the agenda by their numbers ------------------------------
    for case in (parking, corridor):
        submit_form(
            staff,
            "加入议题",
            "加入议程",
            select={"来源": "诉求事项"},
            fill={"事项编号（来源为诉求事项时）": case.number},
        )
        expect_message(staff, "已加入议程。")
    agenda = staff.inner_text("body")
    assert f"1. {parking.title}" in agenda and f"2. {corridor.title}" in agenda
    assert parking.number in agenda and corridor.number in agenda
    assert list(meeting.agenda.order_by("seq").values_list("case_id", flat=True)) == [parking.pk, corridor.pk]
    shot(staff, "agenda")

    # --- a decision on the first item, with votes ------------------------------------------
    first_item = staff.locator("section").filter(has=staff.get_by_role("heading", name=f"1. {parking.title}"))
    submit_form(
        staff,
        "记录决议",
        "记录",
        within=first_item,
        fill={"决议内容": DECISION, "赞成": "2", "反对": "0", "弃权": "1"},
    )
    expect_message(staff, "决议已记录。")
    wait_until(lambda: Decision.objects.filter(agenda_item__case=parking).exists(), "decision recorded")
    decision = Decision.objects.get()
    assert (decision.text, decision.votes_for, decision.votes_against, decision.votes_abstain) == (DECISION, 2, 0, 1)

    # --- and a follow-up action for it -------------------------------------------------------
    submit_form(
        staff,
        "添加落实事项",
        "添加",
        within=first_item,
        fill={"落实事项": ACTION, "责任人": "赵磊", "完成期限": due_on.isoformat()},
    )
    expect_message(staff, "已添加落实事项。")
    wait_until(lambda: FollowUpAction.objects.filter(decision=decision).exists(), "action added")
    assert FollowUpAction.objects.get().due_on == due_on
    detail = staff.inner_text("body")
    assert "赞成 2 · 反对 0 · 弃权 1" in detail and ACTION in detail and "落实中" in detail
    shot(staff, "decision-and-action")

    # --- the minutes, written last: every form on the page has its own field ids, so the
    # "会议记录" label still finds the minutes with the agenda items and their forms on the page ---
    submit_form(staff, "填写会议记录", "保存", fill={"会议记录": "到会3人，讨论电动车停放和消防通道占用问题。"})
    expect_message(staff, "会议记录已保存。")
    wait_until(lambda: Meeting.objects.get().minutes.startswith("到会3人"), "minutes saved")
    assert "会议已召开，尚无会议记录" not in staff.inner_text("body")

    # --- a resident of the compound scans its QR code and signs in by SMS code -------------
    resident = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    resident.set_default_timeout(10_000)
    resident.goto(f"{live_server.url}/r/c/{qr.token}/")
    resident.wait_for_url(re.compile(r"/r/login/"))
    resident.get_by_label("手机号").fill(PHONE)
    resident.get_by_role("button", name="获取验证码").click()
    resident.wait_for_url(re.compile(r"/r/login/code/"))
    resident.get_by_label("验证码").fill(last_sms_code(PHONE))
    resident.get_by_role("button", name="登录").click()
    resident.wait_for_url(re.compile(rf"/r/c/{qr.token}/$"))

    # --- and reads the decision on the compound's public notice ----------------------------
    resident.goto(f"{live_server.url}/council/r/")
    notice = resident.inner_text("body")
    assert "小区议事公示" in notice and compound.name in notice
    assert parking.title in notice and DECISION in notice
    assert "阳光议事会" in notice and "赞成 2 · 反对 0 · 弃权 1" in notice and "落实中（0/1）" in notice
    # no attendee or owner names on the public notice
    for _category, name in ATTENDEES:
        assert name not in notice
    shot(resident, "resident-notice")
    staff.context.close()
    resident.context.close()
