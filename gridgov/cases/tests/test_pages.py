"""The case pages: the queue per persona, one case with its actions, attachments, new cases."""

from __future__ import annotations

import io
import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department
from gridgov.accounts.services import department_create
from gridgov.areas.selectors import grid_index_invalidate
from gridgov.cases.choices import CaseSource, CaseStatus, CloseReason, Rating, StepAction, Tier
from gridgov.cases.models import Case, CaseAttachment, CaseStep, Category
from gridgov.cases.services import (
    case_accept,
    case_close,
    case_dispatch,
    case_escalate,
    case_report_back,
    case_request_extension,
    case_sign_for,
    case_verify,
)
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import AreaTree, make_user_with_role
from gridgov.testing.images import jpeg_bytes

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
# Wednesday 4 September 2024, 10:00: every limit of a case submitted then has long passed.
LONG_AGO = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)

# A real (tiny) photo: uploads are opened with Pillow and re-encoded without metadata.
JPEG = jpeg_bytes(16, 16)
PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    # The per-process grid index may still hold an earlier test's (rolled back) grids.
    grid_index_invalidate()


def signed_in(client: Client, user) -> Client:
    client.force_login(user)
    return client


def body(response) -> str:
    return response.content.decode()


def without_csrf(page: str) -> str:
    return re.sub(r'("X-CSRFToken": |name="csrfmiddlewaretoken" value=)"[^"]*"', "", page)


def snapshot(case: Case) -> tuple[str, str, int, int]:
    fresh = Case.objects.get(pk=case.pk)
    return fresh.status, fresh.tier, fresh.version, CaseStep.objects.filter(case=case).count()


def photo(name: str = "现场.jpg", content: bytes = JPEG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def department_of(personas) -> Department:
    return personas["department_handler"].role_assignments.get().department


def at_town(tree: AreaTree, personas, **overrides) -> Case:
    """A case escalated from the grid through the community to the first town."""
    case = submit_case(personas["grid_worker"], tree.grids[0], **overrides)
    case_escalate(actor=personas["grid_worker"], case=case, reason="网格无法处理")
    case_escalate(actor=personas["community_staff"], case=case, reason="需要镇街协调")
    return case


def dispatched(tree: AreaTree, personas, **overrides) -> Case:
    case = at_town(tree, personas, **overrides)
    case_dispatch(actor=personas["town_staff"], case=case, department=department_of(personas))
    return case


def handling(tree: AreaTree, personas, *, actor=None, **overrides) -> Case:
    case = submit_case(actor or personas["grid_worker"], tree.grids[0], **overrides)
    case_accept(actor=personas["grid_worker"], case=case)
    return case


def reported(tree: AreaTree, personas, *, actor=None, **overrides) -> Case:
    case = handling(tree, personas, actor=actor, **overrides)
    case_report_back(actor=personas["grid_worker"], case=case, result="已清理")
    return case


def closed_for_resident(tree: AreaTree, personas) -> Case:
    case = reported(tree, personas, actor=personas["resident"], source=CaseSource.RESIDENT)
    case_verify(actor=personas["grid_worker"], case=case, passed=True, note="现场已清理")
    return case


# --- Queue ------------------------------------------------------------------------------


def test_grid_worker_finds_a_new_case_of_their_grid_in_their_todo(client, tree, personas):
    # given a case reported in grid 0
    case = submit_case(personas["grid_worker"], tree.grids[0], title="东门垃圾堆放")
    # when the grid worker opens the queue
    response = signed_in(client, personas["grid_worker"]).get("/cases/")
    # then it is in their todo, with its number, light and grid
    page = body(response)
    assert response.status_code == 200
    assert "东门垃圾堆放" in page and case.number in page
    assert "light-green" in page and tree.grids[0].name in page


def test_a_case_escalated_away_leaves_the_todo_but_stays_in_the_area_tab(client, tree, personas):
    worker = personas["grid_worker"]
    case = submit_case(worker, tree.grids[0], title="违建需社区协调")
    case_escalate(actor=worker, case=case, reason="需要社区协调")
    signed_in(client, worker)
    assert "违建需社区协调" not in body(client.get("/cases/"))
    assert "违建需社区协调" in body(client.get("/cases/?tab=area"))
    assert "违建需社区协调" in body(signed_in(client, personas["community_staff"]).get("/cases/"))


def test_outsider_sees_no_case_of_another_town_in_any_tab(client, tree, personas):
    submit_case(personas["grid_worker"], tree.grids[0], title="东门垃圾堆放")
    signed_in(client, personas["outsider"])
    for url in ("/cases/", "/cases/?tab=area"):
        page = body(client.get(url))
        assert "东门垃圾堆放" not in page
    assert "辖区内暂无事项" in body(client.get("/cases/?tab=area"))
    assert "暂无待办事项" in body(client.get("/cases/"))


def test_department_handler_sees_what_was_dispatched_to_them(client, tree, personas):
    # given one case dispatched to the department and one still in the grid
    case = dispatched(tree, personas, title="占道经营")
    submit_case(personas["grid_worker"], tree.grids[0], title="楼道杂物")
    # when the handler opens their todo
    page = body(signed_in(client, personas["department_handler"]).get("/cases/"))
    # then only the dispatched one is there, waiting for sign-for
    assert "占道经营" in page and case.number in page and "待签收" in page
    assert "楼道杂物" not in page


def test_a_resident_sees_only_the_cases_they_reported(client, tree, personas):
    resident = personas["resident"]
    submit_case(resident, tree.grids[0], source=CaseSource.RESIDENT, title="路灯不亮")
    submit_case(personas["grid_worker"], tree.grids[0], title="网格员发现的垃圾")
    response = signed_in(client, resident).get("/cases/?tab=area")
    page = body(response)
    assert "我反映的事项" in page and "路灯不亮" in page
    assert "网格员发现的垃圾" not in page and "辖区事项" not in page


def test_a_resident_without_reports_gets_an_empty_state(client, tree, personas):
    page = body(signed_in(client, personas["resident"]).get("/cases/"))
    assert "您还没有反映过事项" in page


def test_area_tab_filters_by_status_category_area_overdue_and_text(client, tree, personas):
    worker, community = personas["grid_worker"], personas["community_staff"]
    garbage = submit_case(worker, tree.grids[0], title="垃圾满溢")
    noise = submit_case(
        worker, tree.grids[1], title="夜间噪音", category=Category.objects.get(code="0602"), now=LONG_AGO
    )
    case_accept(actor=worker, case=garbage)
    signed_in(client, community)

    def titles(query: str) -> set[str]:
        page = body(client.get(f"/cases/?tab=area&{query}"))
        return {title for title in ("垃圾满溢", "夜间噪音") if title in page}

    assert titles("") == {"垃圾满溢", "夜间噪音"}
    assert titles("status=handling") == {"垃圾满溢"}
    assert titles("category=06") == {"夜间噪音"}
    assert titles("category=0101") == {"垃圾满溢"}
    assert titles(f"area={tree.grids[1].code}") == {"夜间噪音"}
    assert titles("overdue=1") == {"夜间噪音"}
    assert titles("q=噪音") == {"夜间噪音"}
    assert titles(f"q={garbage.number}") == {"垃圾满溢"}
    assert "没有符合条件的事项" in body(client.get("/cases/?tab=area&q=不存在的标题"))
    # an overdue case shows a red light and how long it is overdue
    page = body(client.get("/cases/?tab=area&overdue=1"))
    assert "light-red" in page and "已超时" in page
    assert noise.number in page


def test_area_filter_outside_the_scope_is_404(client, tree, personas):
    signed_in(client, personas["community_staff"])
    assert client.get(f"/cases/?tab=area&area={tree.grids[2].code}").status_code == 404
    assert client.get("/cases/?tab=area&area=999999").status_code == 404


def test_area_tab_paginates_with_htmx_and_without_n_plus_one(client, tree, personas, django_assert_max_num_queries):
    worker = personas["grid_worker"]
    for index in range(31):
        submit_case(worker, tree.grids[0], title=f"第{index:02d}号事项")
    signed_in(client, worker)
    first = body(client.get("/cases/?tab=area"))
    assert "共 31 件" in first and "第 1 / 2 页" in first
    # the next page comes as the results fragment only; most urgent first, so the case with
    # the latest limit is the one left for page 2
    second = client.get("/cases/?tab=area&page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="case-results")
    fragment = body(second)
    assert "<html" not in fragment and "第30号事项" in fragment and fragment.count('<tr class="row-') == 1
    # a page of 30 rows costs a fixed, small number of queries
    with django_assert_max_num_queries(12):
        client.get("/cases/?tab=area")


# --- Detail -------------------------------------------------------------------------------


def test_out_of_scope_and_unknown_cases_are_the_same_404(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0])
    signed_in(client, personas["outsider"])
    out_of_scope = client.get(f"/cases/{case.pk}/")
    unknown = client.get("/cases/999999/")
    assert out_of_scope.status_code == unknown.status_code == 404
    assert without_csrf(body(out_of_scope)) == without_csrf(body(unknown))


def test_detail_shows_deadlines_location_and_masked_reporter(client, tree, personas):
    case = submit_case(
        personas["grid_worker"],
        tree.grids[0],
        reporter_name="王大妈",
        reporter_phone=PHONE,
        longitude=119.905,
        latitude=36.195,
        address="幸福小区东门",
    )
    page = body(signed_in(client, personas["grid_worker"]).get(f"/cases/{case.pk}/"))
    assert "本环节时限" in page and "办结时限" in page and "剩余" in page
    assert "幸福小区东门" in page and tree.grids[0].name in page and 'id="case-map"' in page
    assert "王大妈" in page and "139****5678" in page and PHONE not in page
    assert "受理" in page  # the grid worker's first action


def test_anonymous_reporter_is_hidden_from_handlers_but_not_from_themselves(client, tree, personas):
    resident = personas["resident"]
    case = submit_case(resident, tree.grids[0], source=CaseSource.RESIDENT, reporter_name="李秘密", is_anonymous=True)
    handler_page = body(signed_in(client, personas["grid_worker"]).get(f"/cases/{case.pk}/"))
    assert "李秘密" not in handler_page and "匿名" in handler_page
    reporter_page = body(signed_in(client, resident).get(f"/cases/{case.pk}/"))
    assert "李秘密" in reporter_page


def test_the_reporter_does_not_see_internal_notes(client, tree, personas):
    case = submit_case(personas["resident"], tree.grids[0], source=CaseSource.RESIDENT)
    CaseStep.objects.create(
        case=case,
        seq=99,
        action=StepAction.WARN,
        at=timezone.now(),
        to_status=case.status,
        to_tier=case.tier,
        note="内部备注：需核实反映人身份",
        internal=True,
    )
    assert "内部备注" in body(signed_in(client, personas["grid_worker"]).get(f"/cases/{case.pk}/"))
    assert "内部备注" not in body(signed_in(client, personas["resident"]).get(f"/cases/{case.pk}/"))


# --- Actions ---------------------------------------------------------------------------------


def post_action(client: Client, case: Case, action: str, data: dict | None = None, **extra):
    fields = {f"{action}-{name}": value for name, value in (data or {}).items()}
    return client.post(f"/cases/{case.pk}/{action}/", fields, **extra)


def test_accept_through_the_page_and_a_second_accept_is_refused(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0])
    signed_in(client, personas["grid_worker"])
    response = post_action(client, case, "accept", {"note": "马上到现场"}, follow=True)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.HANDLING
    assert "已受理" in body(response)
    # when they accept again, the page explains and nothing changes
    before = snapshot(case)
    refused = post_action(client, case, "accept")
    assert refused.status_code == 409 and "不能受理" in body(refused)
    assert snapshot(case) == before


def test_an_outsider_cannot_act_on_a_case_they_cannot_see(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0])
    before = snapshot(case)
    response = post_action(signed_in(client, personas["outsider"]), case, "void", {"reason": "恶意举报"})
    assert response.status_code == 404 and snapshot(case) == before


def test_escalate_needs_a_reason_and_a_handler(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0])
    before = snapshot(case)
    # without a reason: the form says so
    refused = post_action(signed_in(client, personas["grid_worker"]), case, "escalate", {"reason": " "})
    assert refused.status_code == 422 and "请填写上报理由" in body(refused)
    assert snapshot(case) == before
    # by someone who only reports: refused by the service
    resident_case = submit_case(personas["resident"], tree.grids[0], source=CaseSource.RESIDENT)
    forbidden = post_action(signed_in(client, personas["resident"]), resident_case, "escalate", {"reason": "急"})
    assert forbidden.status_code == 403 and "只有网格的办理人员或其上级可以上报此事项" in body(forbidden)
    # by the grid worker with a reason: up to the community
    post_action(signed_in(client, personas["grid_worker"]), case, "escalate", {"reason": "需要社区协调"})
    assert Case.objects.get(pk=case.pk).tier == Tier.COMMUNITY


def test_dispatch_offers_the_departments_of_the_place_and_refuses_the_grid(client, tree, personas):
    case = at_town(tree, personas)
    department = department_of(personas)
    elsewhere = department_create(actor=None, area=tree.towns[1], code="T2", name="二街道城管中队")
    signed_in(client, personas["town_staff"])
    page = body(client.get(f"/cases/{case.pk}/"))
    assert department.name in page and elsewhere.name not in page
    # a department that does not cover the case's place is not a valid choice
    refused = post_action(client, case, "dispatch", {"department": elsewhere.pk})
    assert refused.status_code == 422 and "请从列表中选择承办部门" in body(refused)
    post_action(client, case, "dispatch", {"department": department.pk, "note": "请尽快处理"})
    assert Case.objects.get(pk=case.pk).status == CaseStatus.DISPATCHED
    # the grid worker may not dispatch
    other = submit_case(personas["grid_worker"], tree.grids[0])
    before = snapshot(other)
    forbidden = post_action(
        signed_in(client, personas["grid_worker"]), other, "dispatch", {"department": department.pk}
    )
    assert forbidden.status_code == 403 and snapshot(other) == before


def test_sign_for_and_send_back_by_the_department(client, tree, personas):
    case = dispatched(tree, personas)
    signed_in(client, personas["department_handler"])
    post_action(client, case, "sign_for")
    assert Case.objects.get(pk=case.pk).owner == personas["department_handler"]
    refused = post_action(client, case, "sign_for")
    assert refused.status_code == 409 and "不能签收" in body(refused)
    post_action(client, case, "send_back", {"reason": "不属于本部门职责"})
    fresh = Case.objects.get(pk=case.pk)
    assert (fresh.tier, fresh.status) == (Tier.TOWN, CaseStatus.SUBMITTED)
    # a case in the grid cannot be sent back
    grid_case = submit_case(personas["grid_worker"], tree.grids[0])
    before = snapshot(grid_case)
    conflict = post_action(signed_in(client, personas["grid_worker"]), grid_case, "send_back", {"reason": "不归我管"})
    assert conflict.status_code == 409 and snapshot(grid_case) == before


def test_report_back_with_a_photo_and_a_fake_photo_is_refused(client, tree, personas):
    case = handling(tree, personas)
    signed_in(client, personas["grid_worker"])
    before = snapshot(case)
    fake = photo("现场.jpg", b"just some text, not a picture")
    refused = client.post(
        f"/cases/{case.pk}/report_back/", {"report_back-result": "已清理", "report_back-photos": fake}
    )
    assert refused.status_code == 422 and "不是照片" in body(refused)
    assert snapshot(case) == before and not CaseAttachment.objects.exists()
    client.post(
        f"/cases/{case.pk}/report_back/",
        {"report_back-result": "已联系物业清运", "report_back-photos": [photo(), photo("第二张.jpg")]},
    )
    assert Case.objects.get(pk=case.pk).status == CaseStatus.REPORTED
    assert CaseAttachment.objects.filter(case=case).count() == 2


def test_extension_request_and_decision(client, tree, personas):
    case = handling(tree, personas)
    signed_in(client, personas["grid_worker"])
    before = snapshot(case)
    refused = post_action(client, case, "request_extension", {"amount": "0", "reason": "等待配件"})
    assert refused.status_code == 422 and "延期时长应大于0" in body(refused)
    # only the owner may ask for more time
    not_owner = post_action(
        signed_in(Client(), personas["community_staff"]), case, "request_extension", {"amount": "4", "reason": "x"}
    )
    assert not_owner.status_code == 403 and "只有当前办理人可以申请延期" in body(not_owner)
    assert snapshot(case) == before
    post_action(client, case, "request_extension", {"amount": "4", "reason": "等待配件"})
    assert Case.objects.get(pk=case.pk).extension_requested == Decimal(4)
    # the grid worker cannot decide on their own request
    before = snapshot(case)
    forbidden = post_action(client, case, "decide_extension", {"decision": "approve"})
    assert forbidden.status_code == 403 and snapshot(case) == before
    # the community refuses without a note: the service asks for one
    signed_in(client, personas["community_staff"])
    assert "审批延期" in body(client.get(f"/cases/{case.pk}/"))
    no_note = post_action(client, case, "decide_extension", {"decision": "refuse"})
    assert no_note.status_code == 422 and "请填写审批意见" in body(no_note)
    due_before = Case.objects.get(pk=case.pk).due_at
    post_action(client, case, "decide_extension", {"decision": "approve"})
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.extension_requested is None and fresh.due_at > due_before


def test_verify_passes_or_fails_only_when_reported(client, tree, personas):
    signed_in(client, personas["grid_worker"])
    open_case = handling(tree, personas)
    before = snapshot(open_case)
    conflict = post_action(client, open_case, "verify", {"outcome": "pass", "close_reason": "fixed"})
    assert conflict.status_code == 409 and "不能核查" in body(conflict)
    assert snapshot(open_case) == before
    failing = reported(tree, personas)
    post_action(client, failing, "verify", {"outcome": "fail", "close_reason": "fixed", "note": "仍有垃圾"})
    assert Case.objects.get(pk=failing.pk).status == CaseStatus.HANDLING
    passing = reported(tree, personas)
    response = post_action(
        client, passing, "verify", {"outcome": "pass", "close_reason": "fixed", "note": "已清理"}, follow=True
    )
    assert Case.objects.get(pk=passing.pk).status == CaseStatus.CLOSED
    assert "核查通过，事项已办结" in body(response)


def test_close_as_duplicate_resolves_the_number_in_scope(client, tree, personas):
    worker = personas["grid_worker"]
    first = submit_case(worker, tree.grids[0])
    second = submit_case(worker, tree.grids[0])
    foreign = submit_case(make_user_with_role(Role.GRID_WORKER, tree.grids[4]), tree.grids[4])
    signed_in(client, worker)
    before = snapshot(second)
    for number in ("2099", foreign.number):
        refused = post_action(client, second, "close", {"reason": "duplicate", "note": "同一处", "merged_into": number})
        assert refused.status_code == 422 and "找不到编号" in body(refused)
    assert snapshot(second) == before
    post_action(client, second, "close", {"reason": "duplicate", "note": "同一处", "merged_into": first.number})
    fresh = Case.objects.get(pk=second.pk)
    assert (fresh.status, fresh.close_reason, fresh.merged_into) == (CaseStatus.CLOSED, CloseReason.DUPLICATE, first)


def test_the_reporter_rates_once_and_may_reopen(client, tree, personas):
    case = closed_for_resident(tree, personas)
    # staff may not rate a case that has a reporter account
    forbidden = post_action(signed_in(client, personas["grid_worker"]), case, "rate", {"rating": "satisfied"})
    assert forbidden.status_code == 403
    signed_in(client, personas["resident"])
    page = body(client.get(f"/cases/{case.pk}/"))
    assert "已办结" in page and "满意" in page
    response = post_action(client, case, "rate", {"rating": Rating.SATISFIED, "note": "很快"}, follow=True)
    assert Case.objects.get(pk=case.pk).rating == Rating.SATISFIED and "感谢您的评价" in body(response)
    before = snapshot(case)
    again = post_action(client, case, "rate", {"rating": Rating.DISSATISFIED})
    assert again.status_code == 409 and "已经评价过了" in body(again)
    assert snapshot(case) == before
    post_action(client, case, "reopen", {"reason": "又堆上了"})
    assert Case.objects.get(pk=case.pk).status == CaseStatus.HANDLING


def test_a_duplicate_cannot_be_reopened(client, tree, personas):
    worker = personas["grid_worker"]
    first, second = submit_case(worker, tree.grids[0]), submit_case(worker, tree.grids[0])
    case_close(actor=worker, case=second, reason=CloseReason.DUPLICATE, note="同一处", merged_into=first)
    before = snapshot(second)
    refused = post_action(signed_in(client, personas["community_staff"]), second, "reopen", {"reason": "没解决"})
    assert refused.status_code == 409 and "不能重新办理" in body(refused)
    assert snapshot(second) == before


def test_suspend_resume_and_void_by_the_level_above(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0])
    # the grid worker is not above the grid
    before = snapshot(case)
    forbidden = post_action(signed_in(client, personas["grid_worker"]), case, "suspend", {"reason": "等待判决"})
    assert forbidden.status_code == 403 and snapshot(case) == before
    signed_in(client, personas["community_staff"])
    not_suspended = post_action(client, case, "resume")
    assert not_suspended.status_code == 409 and snapshot(case) == before
    post_action(client, case, "suspend", {"reason": "等待法院判决"})
    assert Case.objects.get(pk=case.pk).status == CaseStatus.SUSPENDED
    assert "light-grey" in body(client.get(f"/cases/{case.pk}/"))
    post_action(client, case, "resume", {"note": "判决已出"})
    assert Case.objects.get(pk=case.pk).status == CaseStatus.SUBMITTED
    post_action(client, case, "void", {"reason": "重复登记"})
    assert Case.objects.get(pk=case.pk).status == CaseStatus.VOIDED
    voided = snapshot(case)
    again = post_action(client, case, "void", {"reason": "重复登记"})
    assert again.status_code == 409 and "不能作废" in body(again) and snapshot(case) == voided


def test_htmx_gets_the_action_panel_on_refusal_and_a_redirect_on_success(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0])
    signed_in(client, personas["grid_worker"])
    htmx = {"HTTP_HX_REQUEST": "true"}
    refused = post_action(client, case, "report_back", {"result": "已清理"}, **htmx)
    fragment = body(refused)
    assert refused.status_code == 409 and "<html" not in fragment and 'id="case-actions"' in fragment
    assert "不能反馈办理结果" in fragment
    accepted = post_action(client, case, "accept", **htmx)
    assert accepted.status_code == 200 and accepted["HX-Redirect"] == f"/cases/{case.pk}/"


def test_unknown_action_is_404(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0])
    assert post_action(signed_in(client, personas["grid_worker"]), case, "approve_all").status_code == 404


# --- Attachments -------------------------------------------------------------------------


def test_attachments_are_served_only_inside_the_scope(client, tree, personas):
    case = handling(tree, personas)
    case_report_back(actor=personas["grid_worker"], case=case, result="已清理", attachments=[photo()])
    attachment = CaseAttachment.objects.get(case=case)
    other_case = submit_case(personas["grid_worker"], tree.grids[0])
    url = f"/cases/{case.pk}/attachments/{attachment.pk}/"
    # the grid worker gets the photo inline with its type
    signed_in(client, personas["grid_worker"])
    assert url in body(client.get(f"/cases/{case.pk}/"))
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline")
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (16, 16)
    # not through another case's address, and not for an outsider
    assert client.get(f"/cases/{other_case.pk}/attachments/{attachment.pk}/").status_code == 404
    assert signed_in(client, personas["outsider"]).get(url).status_code == 404
    assert "/media/" not in body(signed_in(client, personas["grid_worker"]).get(f"/cases/{case.pk}/"))


# --- New case ----------------------------------------------------------------------------


def new_case_form(grid, **overrides) -> dict:
    values = {
        "source": CaseSource.GRID_WORKER,
        "kind": "patrol_finding",
        "category": Category.objects.get(code="0101").pk,
        "urgency": "normal",
        "title": "绿化带垃圾",
        "description": "绿化带内有建筑垃圾",
        "grid": grid.pk if grid is not None else "",
        "address": "幸福路12号",
        "idempotency_key": "form-key-1",
    }
    values.update(overrides)
    return values


def test_grid_worker_registers_a_case_and_a_resubmit_returns_it(client, tree, personas):
    signed_in(client, personas["grid_worker"])
    page = body(client.get("/cases/new/"))
    assert "网格员上报" in page and "巡查发现" in page and "来访登记" not in page
    assert tree.grids[0].name in page and tree.grids[1].name not in page
    assert 'name="idempotency_key"' in page and 'capture="environment"' in page
    response = client.post("/cases/new/", {**new_case_form(tree.grids[0]), "photos": [photo()]}, follow=True)
    case = Case.objects.get()
    assert (case.grid, case.source, case.submitted_by) == (tree.grids[0], "grid_worker", personas["grid_worker"])
    assert CaseAttachment.objects.filter(case=case).count() == 1
    assert f"已登记事项 {case.number}" in body(response)
    # a double submit with the same key returns the same case
    again = client.post("/cases/new/", new_case_form(tree.grids[0]), follow=True)
    assert Case.objects.count() == 1 and "未重复登记" in body(again)


def test_each_render_of_the_form_has_its_own_key(client, tree, personas):
    signed_in(client, personas["grid_worker"])
    keys = {body(client.get("/cases/new/")).split('name="idempotency_key" value="')[1][:32] for _ in range(2)}
    assert len(keys) == 2


def test_a_map_pin_locates_the_grid_and_a_pin_outside_the_scope_is_refused(client, tree, personas):
    signed_in(client, personas["community_staff"])
    # grid 1 (community 0) spans lon 119.91–119.92, lat 36.19–36.20
    client.post("/cases/new/", new_case_form(None, source="walk_in", longitude="119.915", latitude="36.195"))
    assert Case.objects.get().grid == tree.grids[1]
    # grid 2 belongs to another community
    refused = client.post(
        "/cases/new/",
        new_case_form(None, source="walk_in", longitude="119.925", latitude="36.195", idempotency_key="k2"),
    )
    assert refused.status_code == 422 and "不在您负责的区域内" in body(refused)
    assert Case.objects.count() == 1


def test_a_grid_outside_the_scope_and_a_staff_source_not_theirs_are_refused(client, tree, personas):
    signed_in(client, personas["grid_worker"])
    outside = client.post("/cases/new/", new_case_form(tree.grids[1]))
    assert outside.status_code == 422 and "您负责区域内的网格" in body(outside)
    hotline = client.post("/cases/new/", new_case_form(tree.grids[0], source="hotline"))
    assert hotline.status_code == 422 and "请选择来源" in body(hotline)
    assert not Case.objects.exists()


def test_a_fake_photo_is_refused_and_the_phone_is_not_echoed(client, tree, personas):
    signed_in(client, personas["grid_worker"])
    refused = client.post(
        "/cases/new/",
        {**new_case_form(tree.grids[0]), "reporter_phone": PHONE, "photos": [photo("a.jpg", b"plain text")]},
    )
    assert refused.status_code == 422 and "不是照片" in body(refused)
    assert PHONE not in body(refused) and not Case.objects.exists()


def test_a_resident_reports_with_the_source_forced_and_sees_it_as_theirs(client, tree, personas):
    resident = personas["resident"]
    signed_in(client, resident)
    page = body(client.get("/cases/new/"))
    assert "我要反映" in page and 'name="reporter_name"' not in page and "巡查发现" not in page
    client.post("/cases/new/", new_case_form(tree.grids[0], source="grid_worker", kind="complaint"))
    assert not Case.objects.exists()  # a staff source is not among the resident's choices
    client.post("/cases/new/", new_case_form(tree.grids[0], source="resident", kind="complaint"))
    case = Case.objects.get()
    assert (case.source, case.reporter) == (CaseSource.RESIDENT, resident)
    assert case.title in body(client.get("/cases/"))


def test_a_department_handler_cannot_register_cases(client, tree, personas):
    assert signed_in(client, personas["department_handler"]).get("/cases/new/").status_code == 403


def test_an_anonymous_walk_in_hides_the_reporter_from_the_grid(client, tree, personas):
    signed_in(client, personas["community_staff"])
    client.post(
        "/cases/new/",
        new_case_form(tree.grids[0], source="walk_in", kind="complaint", reporter_name="匿名张", is_anonymous="on"),
    )
    case = Case.objects.get()
    assert case.is_anonymous and case.reporter_name == "匿名张"
    assert "匿名张" not in body(signed_in(client, personas["grid_worker"]).get(f"/cases/{case.pk}/"))


def test_pages_need_a_signed_in_user(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0])
    for url in ("/cases/", "/cases/new/", f"/cases/{case.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_void_and_suspend_are_offered_only_to_the_level_above(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0])
    worker_page = body(signed_in(client, personas["grid_worker"]).get(f"/cases/{case.pk}/"))
    community_page = body(signed_in(client, personas["community_staff"]).get(f"/cases/{case.pk}/"))
    assert "/void/" not in worker_page and "/void/" in community_page
    assert "/suspend/" not in worker_page and "/suspend/" in community_page


def test_the_detail_shows_a_pending_extension_to_the_level_above(client, tree, personas):
    case = handling(tree, personas)
    case_request_extension(actor=personas["grid_worker"], case=case, amount=Decimal(2), reason="等待配件到货")
    page = body(signed_in(client, personas["community_staff"]).get(f"/cases/{case.pk}/"))
    assert "等待配件到货" in page and "延期申请" in page and f"/cases/{case.pk}/decide_extension/" in page


def test_department_sign_for_is_offered_on_the_page(client, tree, personas):
    case = dispatched(tree, personas)
    page = body(signed_in(client, personas["department_handler"]).get(f"/cases/{case.pk}/"))
    assert f"/cases/{case.pk}/sign_for/" in page and f"/cases/{case.pk}/send_back/" in page
    case_sign_for(actor=personas["department_handler"], case=case)
    page = body(client.get(f"/cases/{case.pk}/"))
    assert f"/cases/{case.pk}/report_back/" in page


def test_a_reused_key_with_other_content_is_refused_and_a_fresh_key_is_given(client, tree, personas):
    signed_in(client, personas["grid_worker"])
    client.post("/cases/new/", new_case_form(tree.grids[0]))
    # when the back button brings the filled form back and something else is registered with it
    refused = client.post("/cases/new/", new_case_form(tree.grids[0], title="另一件事"))
    page = body(refused)
    # then nothing is registered, the reason is shown, and the next submit carries a new key
    assert refused.status_code == 422 and "内容不同的另一次提交" in page
    assert 'name="idempotency_key" value="form-key-1"' not in page
    assert Case.objects.count() == 1
