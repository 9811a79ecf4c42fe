"""The grid worker's phone home page at /today/: my cases by light, new reports, the patrol."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridgov.accounts.choices import Role
from gridgov.cases.services import case_accept, case_escalate
from gridgov.cases.views_today import TODAY_ROWS_MAX
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import UserFactory, make_user_with_role

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
# Wednesday 4 September 2024, 10:00: every limit of a case submitted then has long passed.
LONG_AGO = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)


def page_of(client, user) -> str:
    client.force_login(user)
    response = client.get("/today/")
    assert response.status_code == 200
    return response.content.decode()


def test_grid_worker_sees_new_reports_and_own_cases_red_first_and_nothing_from_other_grids(client, tree, personas):
    worker = personas["grid_worker"]
    # Given a new report in the worker's grid, a case they handle on time, one long overdue,
    submit_case(personas["resident"], tree.grids[0], title="楼道堆放杂物", source="resident")
    on_time = submit_case(worker, tree.grids[0], title="井盖缺失")
    case_accept(actor=worker, case=on_time)
    overdue = submit_case(worker, tree.grids[0], title="围挡螺丝松动", now=LONG_AGO)
    case_accept(actor=worker, case=overdue, now=LONG_AGO)
    # and cases of another grid (same community) and another town
    other_worker = make_user_with_role(Role.GRID_WORKER, tree.grids[1], username="other_worker")
    submit_case(other_worker, tree.grids[1], title="隔壁网格的事项")
    submit_case(make_user_with_role(Role.GRID_WORKER, tree.grids[7]), tree.grids[7], title="另一个镇的事项")
    # When the worker opens today's page
    page = page_of(client, worker)
    # Then the new report waits for acceptance, their cases come red first, with the patrol at hand
    assert page.index("新反映 · 待受理") < page.index("楼道堆放杂物") < page.index("我的事项")
    assert page.index("已超时") < page.index("围挡螺丝松动") < page.index("时限内") < page.index("井盖缺失")
    assert "受理</a>" in page and "办理</a>" in page and "开始巡查" in page and "我的住户" in page
    assert f'href="/cases/{overdue.pk}/#case-actions"' in page
    # And the counts at the top say one overdue, one new
    assert "<strong>1</strong>已超时" in page and "<strong>1</strong>待受理" in page
    # And nothing of another grid or town appears
    assert "隔壁网格的事项" not in page and "另一个镇的事项" not in page


def test_community_staff_get_their_queue_and_residents_go_to_their_portal(client, tree, personas):
    # Given a case the grid worker escalated to the community
    case = submit_case(personas["grid_worker"], tree.grids[0], title="邻里噪音纠纷")
    case_escalate(actor=personas["grid_worker"], case=case, reason="需要社区调解")
    # Then the community staff see it waiting for them, without the patrol button
    page = page_of(client, personas["community_staff"])
    assert "邻里噪音纠纷" in page and "开始巡查" not in page
    # And the grid worker no longer has it
    assert "邻里噪音纠纷" not in page_of(client, personas["grid_worker"])
    # A resident is sent to the residents' pages, an account without any role to the case list
    client.force_login(personas["resident"])
    assert client.get("/today/").url == "/r/"
    client.force_login(UserFactory())
    assert client.get("/today/").url == "/cases/"
    client.logout()
    assert client.get("/today/").url.startswith("/accounts/login/")


def test_the_refresh_button_gets_only_the_lists(client, tree, personas):
    submit_case(personas["grid_worker"], tree.grids[0], title="路灯不亮")
    client.force_login(personas["grid_worker"])
    response = client.get("/today/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="today-lists")
    fragment = response.content.decode()
    assert "<html" not in fragment and 'id="today-lists"' in fragment and "路灯不亮" in fragment


def test_the_page_costs_the_same_queries_for_3_or_60_cases(client, tree, personas, django_assert_max_num_queries):
    worker = personas["grid_worker"]
    client.force_login(worker)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/today/").status_code == 200
        return len(captured)

    for n in range(3):
        case_accept(actor=worker, case=submit_case(worker, tree.grids[0], title=f"事项{n}"))
    few = queries()
    for n in range(57):
        case = submit_case(worker, tree.grids[0], title=f"更多事项{n}", now=LONG_AGO if n % 3 == 0 else None)
        if n % 2:
            case_accept(actor=worker, case=case)
    many = queries()
    assert many == few
    with django_assert_max_num_queries(12):
        page = client.get("/today/").content.decode()
    # And the counts cover all 60 cases (29 new reports, 31 of the worker's own), each list showing
    # its first TODAY_ROWS_MAX rows with a link to the rest
    assert page.count('<li class="today-row') == 2 * TODAY_ROWS_MAX and "<strong>29</strong>待受理" in page
    assert "还有 9 件" in page and "还有 11 件" in page
