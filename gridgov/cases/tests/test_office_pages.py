"""The office pages: the queue with filters and bulk actions, the department view, the case page."""

from __future__ import annotations

import re
from copy import copy
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department
from gridgov.accounts.services import department_create
from gridgov.areas.selectors import grid_index_invalidate
from gridgov.cases.choices import CaseSource, CaseStatus, SlaLight, Tier, Urgency
from gridgov.cases.models import Case, CaseAttachment, CaseStep, Category
from gridgov.cases.services import (
    case_accept,
    case_dispatch,
    case_escalate,
    case_report_back,
    case_request_extension,
    case_sign_for,
)
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import AreaTree, make_user_with_role
from gridgov.testing.images import jpeg_upload

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
# Wednesday 4 September 2024, 10:00: every limit of a case submitted then has long passed.
LONG_AGO = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    grid_index_invalidate()


def signed_in(client: Client, user) -> Client:
    client.force_login(user)
    return client


def body(response) -> str:
    return response.content.decode()


def without_csrf(page: str) -> str:
    return re.sub(r'("X-CSRFToken": |name="csrfmiddlewaretoken" value=)"[^"]*"', "", page)


def department_of(personas) -> Department:
    return personas["department_handler"].role_assignments.get().department


def at_town(tree: AreaTree, personas, *, now: datetime | None = None, **overrides) -> Case:
    case = submit_case(personas["grid_worker"], tree.grids[0], now=now, **overrides)
    case_escalate(actor=personas["grid_worker"], case=case, reason="网格无法处理", now=now)
    case_escalate(actor=personas["community_staff"], case=case, reason="需要镇街协调", now=now)
    return case


def dispatched(tree: AreaTree, personas, *, now: datetime | None = None, **overrides) -> Case:
    case = at_town(tree, personas, now=now, **overrides)
    case_dispatch(actor=personas["town_staff"], case=case, department=department_of(personas), now=now)
    return case


def foreign_case(tree: AreaTree, **overrides) -> Case:
    """A case in a grid of the second town, which the first town's staff must never see."""
    worker = make_user_with_role(Role.GRID_WORKER, tree.grids[4])
    return submit_case(worker, tree.grids[4], **overrides)


def jpeg(name: str = "现场.jpg") -> SimpleUploadedFile:
    return jpeg_upload(name, width=16, height=12)


def titles_in(page: str, *titles: str) -> set[str]:
    return {title for title in titles if title in page}


def clone(template: Case, count: int, *, prefix: str = "C", **changes) -> None:
    """`count` copies of a case, written at once (for pages with many rows)."""
    rows = []
    for index in range(count):
        row = copy(template)
        row.pk = None
        row.number = f"{prefix}{template.pk}-{index:05d}"
        row.idempotency_key = ""
        row.title = f"批量事项{index:04d}"
        for name, value in changes.items():
            setattr(row, name, value)
        rows.append(row)
    Case.objects.bulk_create(rows, batch_size=500)


# --- Queue filters ---------------------------------------------------------------------


def test_the_area_queue_combines_source_light_date_and_category_filters(client, tree, personas):
    # given cases from two sources, one long overdue, one warned, of two categories
    worker, community = personas["grid_worker"], personas["community_staff"]
    submit_case(worker, tree.grids[0], title="新发现垃圾")
    warned = submit_case(worker, tree.grids[0], title="快到期的垃圾")
    Case.objects.filter(pk=warned.pk).update(sla_light=SlaLight.YELLOW)  # as the sweep leaves it
    submit_case(
        worker, tree.grids[1], title="热线噪音", source=CaseSource.PATROL, category=Category.objects.get(code="0602")
    )
    submit_case(worker, tree.grids[1], title="去年的噪音", category=Category.objects.get(code="0602"), now=LONG_AGO)
    signed_in(client, community)

    def titles(query: str) -> set[str]:
        page = body(client.get(f"/cases/?tab=area&{query}"))
        return titles_in(page, "新发现垃圾", "快到期的垃圾", "热线噪音", "去年的噪音")

    # when they filter, then each filter narrows and they combine
    assert titles("source=patrol") == {"热线噪音"}
    assert titles("light=red") == {"去年的噪音"}
    assert titles("light=green") == {"新发现垃圾", "热线噪音"}
    assert titles("light=yellow") == {"快到期的垃圾"}
    assert titles("category=06") == {"热线噪音", "去年的噪音"}
    assert titles("category=06&light=green") == {"热线噪音"}
    assert titles("from=2024-09-01&to=2024-09-04") == {"去年的噪音"}
    assert titles("to=2024-09-03") == set()
    assert titles("category=06&source=grid_worker&from=2024-09-04") == {"去年的噪音"}
    # an unreadable value is ignored, not an error
    assert titles("light=purple&from=yesterday&sort=random") == {"新发现垃圾", "快到期的垃圾", "热线噪音", "去年的噪音"}


def test_most_urgent_cases_come_first_and_other_sorts_are_kept_in_the_url(client, tree, personas):
    worker = personas["grid_worker"]
    submit_case(worker, tree.grids[0], title="普通垃圾")
    submit_case(worker, tree.grids[0], title="特急燃气泄漏", urgency=Urgency.CRITICAL)
    submit_case(worker, tree.grids[0], title="早已超时的事项", now=LONG_AGO)
    signed_in(client, personas["community_staff"])
    page = body(client.get("/cases/?tab=area"))
    # overdue first, then the critical one (shorter limit), then the normal one
    assert page.index("早已超时的事项") < page.index("特急燃气泄漏") < page.index("普通垃圾")
    newest_first = body(client.get("/cases/?tab=area&sort=new"))
    assert newest_first.index("特急燃气泄漏") < newest_first.index("早已超时的事项")
    assert '<option value="new" selected>' in newest_first


def test_filters_survive_paging_and_htmx_gets_only_the_results(client, tree, personas):
    template = submit_case(personas["grid_worker"], tree.grids[0], source=CaseSource.PATROL)
    clone(template, 40)
    signed_in(client, personas["community_staff"])
    response = client.get(
        "/cases/?tab=area&source=patrol&sort=due", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="case-results"
    )
    fragment = body(response)
    assert "<html" not in fragment and "共 41 件" in fragment
    next_link = re.search(r'href="\?([^"]+page=2)"', fragment)
    assert next_link is not None
    assert "source=patrol" in next_link.group(1) and "sort=due" in next_link.group(1)
    second = body(client.get("/cases/?" + next_link.group(1).replace("&amp;", "&")))
    assert "第 2 / 2 页" in second and second.count('<tr class="row-') == 11


def test_an_empty_filter_result_offers_to_clear_the_filters(client, tree, personas):
    submit_case(personas["grid_worker"], tree.grids[0])
    page = body(signed_in(client, personas["community_staff"]).get("/cases/?tab=area&source=hotline"))
    assert "没有符合条件的事项" in page and "清除条件" in page


# --- Bulk actions ----------------------------------------------------------------------


def bulk(client: Client, cases, action: str, **fields):
    data = {"action": action, "case": [case.pk for case in cases], "next": "tab=area&status=submitted", **fields}
    return client.post("/cases/bulk/", data)


def test_town_staff_bulk_dispatches_and_each_refusal_is_listed_with_its_reason(client, tree, personas):
    # given two cases at the town, one already dispatched, and a case of another town
    department = department_of(personas)
    first, second = at_town(tree, personas, title="占道经营甲"), at_town(tree, personas, title="占道经营乙")
    already = dispatched(tree, personas, title="已派遣的事项")
    foreign = foreign_case(tree, title="二街道的事项")
    signed_in(client, personas["town_staff"])
    queue = body(client.get("/cases/?tab=area"))
    assert f'name="case" value="{first.pk}"' in queue and "全选本页" in queue and department.name in queue
    assert f'name="case" value="{already.pk}"' not in queue  # not dispatchable: no checkbox
    # when they dispatch all four at once
    response = bulk(client, [first, second, already, foreign], "dispatch", department=department.pk, note="请处理")
    page = body(response)
    # then the two are dispatched, the third is refused with the service's reason, the foreign one is not named
    assert response.status_code == 200
    for case in (first, second):
        fresh = Case.objects.get(pk=case.pk)
        assert (fresh.status, fresh.department) == (CaseStatus.DISPATCHED, department)
        assert case.number in page
    assert already.number in page and "事项当前为“待签收”，不能派遣" in page
    assert "成功 2 件，未办理 1 件" in page
    assert foreign.number not in page and "二街道的事项" not in page and "另有 1 件" in page
    assert Case.objects.get(pk=foreign.pk).status == CaseStatus.SUBMITTED
    assert 'href="/cases/?tab=area&amp;status=submitted"' in page


def test_a_refused_case_does_not_undo_the_others(client, tree, personas):
    # given a town department that covers only the first community's grids
    community_department = department_create(actor=None, area=tree.communities[0], code="C1", name="一社区物业办")
    inside = at_town(tree, personas)
    outside = submit_case(make_user_with_role(Role.GRID_WORKER, tree.grids[2]), tree.grids[2])
    steps_before = CaseStep.objects.filter(case=outside).count()
    signed_in(client, personas["town_staff"])
    page = body(bulk(client, [inside, outside], "dispatch", department=community_department.pk))
    assert Case.objects.get(pk=inside.pk).status == CaseStatus.DISPATCHED
    assert Case.objects.get(pk=outside.pk).status == CaseStatus.SUBMITTED
    assert "不负责事项所在区域" in page and "成功 1 件，未办理 1 件" in page
    assert CaseStep.objects.filter(case=outside).count() == steps_before


def test_bulk_dispatch_needs_cases_and_a_department_of_the_place(client, tree, personas):
    case = at_town(tree, personas)
    elsewhere = department_create(actor=None, area=tree.towns[1], code="T2", name="二街道城管中队")
    signed_in(client, personas["town_staff"])
    no_department = bulk(client, [case], "dispatch")
    assert no_department.status_code == 422 and "请选择承办部门" in body(no_department)
    foreign_department = bulk(client, [case], "dispatch", department=elsewhere.pk)
    assert foreign_department.status_code == 422 and "请从列表中选择承办部门" in body(foreign_department)
    nothing = bulk(client, [], "dispatch", department=department_of(personas).pk)
    assert nothing.status_code == 422 and "请先勾选事项" in body(nothing)
    too_many = client.post("/cases/bulk/", {"action": "accept", "case": list(range(1, 102))})
    assert too_many.status_code == 422 and "一次最多处理100件事项" in body(too_many)
    garbled = client.post("/cases/bulk/", {"action": "accept", "case": [case.pk, "1; DROP"]})
    assert garbled.status_code == 422 and "所选事项无效" in body(garbled)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.SUBMITTED


def test_community_staff_may_bulk_accept_but_not_dispatch(client, tree, personas):
    worker, community = personas["grid_worker"], personas["community_staff"]
    cases = [submit_case(worker, tree.grids[0], title=f"社区事项{index}") for index in range(2)]
    for case in cases:
        case_escalate(actor=worker, case=case, reason="需要社区协调")
    signed_in(client, community)
    queue = body(client.get("/cases/"))
    assert 'value="accept"' in queue and 'value="dispatch"' not in queue
    refused = bulk(client, cases, "dispatch", department=department_of(personas).pk)
    assert refused.status_code == 422 and Case.objects.filter(status=CaseStatus.SUBMITTED).count() == 2
    page = body(bulk(client, cases, "accept"))
    assert "成功 2 件" in page
    assert set(Case.objects.values_list("status", "owner")) == {(CaseStatus.HANDLING, community.pk)}


def test_a_resident_has_no_bulk_actions(client, tree, personas):
    case = submit_case(personas["resident"], tree.grids[0], source=CaseSource.RESIDENT)
    assert bulk(signed_in(client, personas["resident"]), [case], "accept").status_code == 403
    assert Case.objects.get(pk=case.pk).status == CaseStatus.SUBMITTED


# --- Department view -------------------------------------------------------------------


def test_the_department_view_shows_waiting_handling_and_overdue_with_their_actions(client, tree, personas):
    handler = personas["department_handler"]
    waiting = dispatched(tree, personas, title="待签收的占道")
    handling = dispatched(tree, personas, title="办理中的占道")
    case_sign_for(actor=handler, case=handling)
    late = dispatched(tree, personas, title="超时的占道", now=LONG_AGO)
    submit_case(personas["grid_worker"], tree.grids[0], title="还在网格的事项")
    signed_in(client, handler)
    page = body(client.get("/cases/?tab=dept"))
    assert titles_in(page, "待签收的占道", "办理中的占道", "超时的占道", "还在网格的事项") == {
        "待签收的占道",
        "办理中的占道",
        "超时的占道",
    }
    # each row offers what the handler may do next
    assert f'formaction="/cases/{waiting.pk}/sign_for/"' in page
    assert f'href="/cases/{handling.pk}/#action-report_back"' in page
    assert f'href="/cases/{handling.pk}/#action-send_back"' in page
    waiting_only = body(client.get("/cases/?tab=dept&state=waiting"))
    assert titles_in(waiting_only, "待签收的占道", "办理中的占道", "超时的占道") == {"待签收的占道", "超时的占道"}
    handling_only = body(client.get("/cases/?tab=dept&state=handling"))
    assert titles_in(handling_only, "待签收的占道", "办理中的占道", "超时的占道") == {"办理中的占道"}
    overdue = body(client.get("/cases/?tab=dept&state=overdue"))
    assert titles_in(overdue, "待签收的占道", "办理中的占道", "超时的占道") == {"超时的占道"}
    assert late.number in overdue and "已超时" in overdue
    # the sign-for button of the row posts to the case's action
    response = client.post(f"/cases/{waiting.pk}/sign_for/", {"case": [waiting.pk]}, follow=True)
    assert Case.objects.get(pk=waiting.pk).owner == handler and "已签收" in body(response)


def test_a_handler_bulk_signs_for_and_then_reports_back_with_a_photo(client, tree, personas):
    handler = personas["department_handler"]
    first, second = dispatched(tree, personas), dispatched(tree, personas)
    signed_in(client, handler)
    page = body(bulk(client, [first, second], "sign_for"))
    assert "成功 2 件" in page
    assert set(Case.objects.values_list("status", "owner")) == {(CaseStatus.HANDLING, handler.pk)}
    detail = body(client.get(f"/cases/{first.pk}/"))
    assert 'id="action-report_back"' in detail and 'enctype="multipart/form-data"' in detail
    client.post(
        f"/cases/{first.pk}/report_back/", {"report_back-result": "已清理占道摊点", "report_back-photos": jpeg()}
    )
    assert Case.objects.get(pk=first.pk).status == CaseStatus.REPORTED
    assert CaseAttachment.objects.filter(case=first).count() == 1
    # a misrouted one goes back to the town with its reason
    client.post(f"/cases/{second.pk}/send_back/", {"send_back-reason": "不属于本部门职责"})
    fresh = Case.objects.get(pk=second.pk)
    assert (fresh.tier, fresh.status) == (Tier.TOWN, CaseStatus.SUBMITTED)


def test_the_department_tab_is_only_for_handlers_and_dispatchers(client, tree, personas):
    dispatched(tree, personas, title="派遣的事项")
    assert "部门办理" in body(signed_in(client, personas["town_staff"]).get("/cases/"))
    assert "派遣的事项" in body(client.get("/cases/?tab=dept"))
    community_page = body(signed_in(client, personas["community_staff"]).get("/cases/?tab=dept"))
    assert "?tab=dept" not in community_page and "我的待办" in community_page


# --- Out of scope ----------------------------------------------------------------------


def test_a_case_of_another_town_never_appears_in_any_queue_view(client, tree, personas):
    foreign = foreign_case(tree, title="二街道的垃圾")
    case_escalate(actor=make_user_with_role(Role.GRID_WORKER, tree.grids[4]), case=foreign, reason="需协调")
    for persona in ("town_staff", "community_staff", "department_handler", "county_command"):
        signed_in(client, personas[persona])
        for query in ("", "tab=area", "tab=dept", "tab=area&q=二街道", f"tab=area&q={foreign.number}"):
            page = body(client.get(f"/cases/?{query}"))
            shown = "二街道的垃圾" in page
            assert shown == (persona == "county_command" and "tab=area" in query), (persona, query)


def test_an_out_of_scope_case_is_the_same_404_as_a_missing_one_for_page_and_action(client, tree, personas):
    foreign = foreign_case(tree)
    signed_in(client, personas["town_staff"])
    pages = [client.get(f"/cases/{foreign.pk}/"), client.get("/cases/987654/")]
    posts = [
        client.post(f"/cases/{foreign.pk}/accept/", {"accept-note": "x"}),
        client.post("/cases/987654/accept/", {"accept-note": "x"}),
    ]
    for missing_pair in (pages, posts):
        out_of_scope, missing = missing_pair
        assert out_of_scope.status_code == missing.status_code == 404
        assert without_csrf(body(out_of_scope)) == without_csrf(body(missing))
    assert Case.objects.get(pk=foreign.pk).status == CaseStatus.SUBMITTED


# --- Case page -------------------------------------------------------------------------


def test_the_case_page_shows_photos_as_thumbnails_linking_the_full_image(client, tree, personas):
    case = submit_case(personas["grid_worker"], tree.grids[0], longitude=119.905, latitude=36.195)
    case_accept(actor=personas["grid_worker"], case=case)
    case_report_back(actor=personas["grid_worker"], case=case, result="已清理", attachments=[jpeg()])
    attachment = CaseAttachment.objects.get(case=case)
    page = body(signed_in(client, personas["community_staff"]).get(f"/cases/{case.pk}/"))
    full = f"/cases/{case.pk}/attachments/{attachment.pk}/"
    assert f'href="{full}"' in page and f'src="{full}?size=thumb"' in page and f'data-full="{full}"' in page
    assert "办理记录（3）" in page and "已清理" in page and 'id="case-map"' in page
    # the place from town down to the grid, and the panels the community may use
    assert tree.towns[0].name in page and tree.communities[0].name in page
    assert 'id="action-verify"' in page and 'id="action-void"' in page
    assert client.get(f"{full}?size=thumb").status_code == 200


def test_the_timeline_shows_tier_moves_and_who_acted(client, tree, personas):
    case = dispatched(tree, personas)
    page = body(signed_in(client, personas["county_command"]).get(f"/cases/{case.pk}/"))
    assert "网格 → 社区" in page and "社区 → 镇街" in page and "镇街 → 职能部门" in page
    assert "→ " + department_of(personas).name in page and str(personas["town_staff"]) in page


# --- Query counts ----------------------------------------------------------------------


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_office_queue_costs_the_same_queries_with_1000_cases(client, tree, personas, django_assert_max_num_queries):
    # given a few cases, then 1,000 in the town's scope (some dispatched, some overdue)
    template = at_town(tree, personas)
    department = department_of(personas)
    clone(template, 3)
    clone(template, 2, prefix="F", status=CaseStatus.DISPATCHED, tier=Tier.DEPARTMENT, department=department)
    clone(template, 1, prefix="G", due_at=template.due_at - timedelta(days=400))
    signed_in(client, personas["town_staff"])
    urls = [
        "/cases/",
        "/cases/?tab=area",
        f"/cases/?tab=area&area={tree.communities[0].code}&category=01&light=green&source=grid_worker&sort=new",
        "/cases/?tab=area&overdue=1",
        "/cases/?tab=dept",
    ]
    few = {url: queries(client, url) for url in urls}
    clone(template, 600, prefix="A")
    clone(template, 200, prefix="D", status=CaseStatus.DISPATCHED, tier=Tier.DEPARTMENT, department=department)
    clone(template, 200, prefix="L", due_at=template.due_at - timedelta(days=400))
    assert Case.objects.count() >= 1000
    # when the town opens each view, then the number of queries does not grow with the rows
    for url in urls:
        with django_assert_max_num_queries(12):
            client.get(url)
        assert queries(client, url) == few[url], url
    page = body(client.get("/cases/?tab=area"))
    assert page.count('<tr class="row-') == 30 and "light-red" in page


def test_the_department_view_and_case_page_do_not_grow_with_rows(client, tree, personas, django_assert_max_num_queries):
    handler = personas["department_handler"]
    small = dispatched(tree, personas)
    signed_in(client, handler)
    few_dept = queries(client, "/cases/?tab=dept")
    few_detail = queries(client, f"/cases/{small.pk}/")
    # given many dispatched cases and a case with a long timeline and several photos
    clone(Case.objects.get(pk=small.pk), 120, prefix="D")
    big = dispatched(tree, personas)
    case_sign_for(actor=handler, case=big)
    case_request_extension(actor=handler, case=big, amount=2, reason="等待配件")
    case_report_back(actor=handler, case=big, result="已处理", attachments=[jpeg(), jpeg("二.jpg"), jpeg("三.jpg")])
    assert CaseStep.objects.filter(case=big).count() == CaseStep.objects.filter(case=small).count() + 3
    with django_assert_max_num_queries(14):
        client.get("/cases/?tab=dept")
    assert queries(client, "/cases/?tab=dept") == few_dept
    with django_assert_max_num_queries(14):
        client.get(f"/cases/{big.pk}/")
    assert queries(client, f"/cases/{big.pk}/") <= few_detail
