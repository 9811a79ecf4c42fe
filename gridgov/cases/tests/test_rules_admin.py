"""The county admin's case-rules pages: categories, SLA policies, departments' categories, calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from gridgov.accounts.models import AuditEvent, Department, User
from gridgov.accounts.services import department_create
from gridgov.cases.choices import CaseStatus, TimeUnit, Urgency
from gridgov.cases.models import CalendarOverride, Category, DepartmentCategory, SlaPolicy
from gridgov.cases.selectors import sla_policy_for, working_calendar
from gridgov.cases.services import case_accept, case_escalate, sla_sweep
from gridgov.testing.cases import submit_case
from gridgov.testing.factories import AreaTree

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
WEDNESDAY_10 = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)
RULES = "/cases/rules/"


def as_admin(client: Client, personas: dict[str, Any]) -> Client:
    client.force_login(personas["admin"])
    return client


def policy_post(urgency: str = Urgency.NORMAL, **overrides: str) -> dict[str, str]:
    values = {
        "unit": TimeUnit.WORKING_HOUR,
        "first_response": "1",
        "grid_limit": "4",
        "community_limit": "8",
        "town_limit": "16",
        "department_limit": "24",
        "verification_limit": "4",
        "close_limit": "40",
    }
    values.update(overrides)
    return {f"{urgency}-{name}": value for name, value in values.items()}


def audits(action: str, actor: User) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, actor=actor).order_by("id"))


# ------------------------------------------------------------------ permission


def _every_page_and_post(department: Department) -> tuple[list[str], list[tuple[str, dict[str, Any]]]]:
    pages = [
        RULES,
        f"{RULES}categories/01/",
        f"{RULES}departments/",
        f"{RULES}departments/{department.pk}/",
        f"{RULES}calendar/",
    ]
    posts = [
        (f"{RULES}categories/new/", {"segment": "77", "name": "新大类"}),
        (f"{RULES}categories/01/children/new/", {"segment": "77", "name": "新小类"}),
        (f"{RULES}categories/01/rename/", {"name": "改名"}),
        (f"{RULES}categories/01/active/", {"is_active": "0"}),
        (f"{RULES}categories/0101/policies/normal/", policy_post()),
        (f"{RULES}categories/0101/policies/normal/clear/", {}),
        (f"{RULES}departments/new/", {"area": "1", "code": "DX", "name": "新部门"}),
        (f"{RULES}departments/{department.pk}/", {"categories": ["1"]}),
        (f"{RULES}calendar/set/", {"day": "2027-02-06", "kind": "holiday", "note": "春节"}),
        (f"{RULES}calendar/2027-02-06/clear/", {}),
    ]
    return pages, posts


@pytest.mark.parametrize(
    "persona", ["resident", "grid_worker", "community_staff", "town_staff", "department_handler", "county_command",
                "leader", "outsider"],
)  # fmt: skip
def test_everyone_but_the_admin_gets_403_on_every_page_and_post(
    client: Client, personas: dict[str, Any], persona: str
) -> None:
    # given a non-admin user and the rules as seeded
    department = personas["department_handler"].role_assignments.get().department
    client.force_login(personas[persona])
    CalendarOverride.objects.create(day=date(2027, 2, 6), is_working_day=False)
    before = (
        list(Category.objects.values_list("code", "name", "is_active")),
        list(SlaPolicy.objects.values_list("pk", "grid_limit")),
        Department.objects.count(),
        DepartmentCategory.objects.count(),
        CalendarOverride.objects.count(),
        AuditEvent.objects.count(),
    )
    pages, posts = _every_page_and_post(department)
    # when they open every page and send every form, then each answer is the Chinese 403 page
    for url in pages:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "无权访问" in response.content.decode()
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    # and nothing changed
    after = (
        list(Category.objects.values_list("code", "name", "is_active")),
        list(SlaPolicy.objects.values_list("pk", "grid_limit")),
        Department.objects.count(),
        DepartmentCategory.objects.count(),
        CalendarOverride.objects.count(),
        AuditEvent.objects.count(),
    )
    assert after == before


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, personas: dict[str, Any]) -> None:
    response = client.get(RULES)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(f"{RULES}categories/01/rename/", {"name": "改名"}).status_code == 302
    assert Category.objects.get(code="01").name == "市容环境"


def test_departments_outside_the_admins_area_are_404(client: Client, tree: AreaTree, personas: dict[str, Any]) -> None:
    # given a city-level department, above the admin's district
    city_department = department_create(actor=None, area=tree.city, code="C01", name="市级部门")
    as_admin(client, personas)
    # then it is neither listed nor reachable, like one that does not exist
    assert "市级部门" not in client.get(f"{RULES}departments/").content.decode()
    assert client.get(f"{RULES}departments/{city_department.pk}/").status_code == 404
    assert client.get(f"{RULES}departments/999999/").status_code == 404
    assert client.post(f"{RULES}departments/{city_department.pk}/", {"categories": []}).status_code == 404


# ------------------------------------------------------------------ the category tree


def test_the_tree_shows_codes_effective_policies_and_owners(client: Client, personas: dict[str, Any]) -> None:
    # given 暴露垃圾 with its own urgent policy and a department owning 市容环境
    department = personas["department_handler"].role_assignments.get().department
    DepartmentCategory.objects.create(department=department, category=Category.objects.get(code="01"))
    as_admin(client, personas)
    client.post(f"{RULES}categories/0101/policies/urgent/", policy_post(Urgency.URGENT, unit=TimeUnit.NATURAL_HOUR))
    # when the admin opens the tree
    body = client.get(RULES).content.decode()
    # then each node shows its code, name, where its limits come from, and its owners
    assert 'id="category-0101"' in body and "暴露垃圾" in body
    row = body[body.index('id="category-0101"') : body.index('id="category-0102"')]
    assert row.count("继承自 01 市容环境") == 2  # normal and critical
    assert row.count("本级") == 1  # urgent
    assert "自然小时 1 / 4 / 8 / 16 / 24 / 4 / 40" in row
    top = body[body.index('id="category-01"') : body.index('id="category-0101"')]
    assert "城市管理局" in top and top.count("本级") == 3


def test_the_tree_page_costs_the_same_queries_however_many_categories(
    client: Client, personas: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    as_admin(client, personas)
    client.get(RULES)  # session and user loaded once
    with django_assert_max_num_queries(10) as small:
        client.get(RULES)
    parent = Category.objects.get(code="06")
    for index in range(20, 40):
        Category.objects.create(parent=parent, code=f"06{index}", name=f"新类别{index}")
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(RULES)


def test_admin_adds_a_child_category_that_can_be_used_at_once(
    client: Client, tree: AreaTree, personas: dict[str, Any]
) -> None:
    garbage = Category.objects.get(code="0101")
    sla_policy_for(garbage, Urgency.NORMAL)  # this process has the rules cached
    as_admin(client, personas)
    # when the admin adds 垃圾桶满溢 below 暴露垃圾
    response = client.post(f"{RULES}categories/0101/children/new/", {"segment": "01", "name": "垃圾桶满溢"})
    # then it exists with the extended code, and its page is shown
    assert response.status_code == 302 and response["Location"] == f"{RULES}categories/010101/"
    bins = Category.objects.get(code="010101")
    assert (bins.parent, bins.name, bins.is_active) == (garbage, "垃圾桶满溢", True)
    # and a case can be filed under it straight away, timed by the inherited policy
    case = submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10, category=bins)
    assert case.category == bins and sla_policy_for(bins, Urgency.NORMAL).category.code == "01"
    assert "继承自 01 市容环境" in client.get(response["Location"]).content.decode()
    assert [event.object_id for event in audits("category_create", personas["admin"])] == ["010101"]


def test_a_bad_child_category_is_refused_in_chinese(client: Client, personas: dict[str, Any]) -> None:
    as_admin(client, personas)
    count = Category.objects.count()
    duplicate = client.post(f"{RULES}categories/01/children/new/", {"segment": "01", "name": "另一个"})
    bad_segment = client.post(f"{RULES}categories/01/children/new/", {"segment": "1x", "name": "另一个"})
    assert duplicate.status_code == bad_segment.status_code == 400
    assert "类别编码“0101”已被使用。" in duplicate.content.decode()
    assert "两位数字" in bad_segment.content.decode()
    assert Category.objects.count() == count and not AuditEvent.objects.filter(action="category_create").exists()


def test_admin_adds_a_top_level_class_which_needs_its_own_policies(
    client: Client, tree: AreaTree, personas: dict[str, Any]
) -> None:
    as_admin(client, personas)
    response = client.post(f"{RULES}categories/new/", {"segment": "07", "name": "生态环境"})
    assert response["Location"] == f"{RULES}categories/07/"
    # then its page says it has no limits yet, and cases cannot be filed under it
    assert "未配置" in client.get(response["Location"]).content.decode()
    ecology = Category.objects.get(code="07")
    with pytest.raises(ValidationError, match="没有配置"):
        submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10, category=ecology)
    # until the admin sets one
    client.post(f"{RULES}categories/07/policies/normal/", policy_post())
    assert submit_case(personas["grid_worker"], tree.grids[0], now=WEDNESDAY_10, category=ecology).pk


def test_admin_renames_a_category_and_sibling_names_stay_unique(client: Client, personas: dict[str, Any]) -> None:
    as_admin(client, personas)
    response = client.post(f"{RULES}categories/0101/rename/", {"name": "  垃圾暴露  "})
    assert response.status_code == 302
    assert Category.objects.get(code="0101").name == "垃圾暴露"
    [event] = audits("category_rename", personas["admin"])
    assert (event.object_id, event.detail) == ("0101", {"old_name": "暴露垃圾", "name": "垃圾暴露"})
    # when a second rename takes a sibling's name, it is refused and nothing changes
    refused = client.post(f"{RULES}categories/0101/rename/", {"name": "道路不洁"})
    assert refused.status_code == 400 and "同一上级下已有名为“道路不洁”的类别。" in refused.content.decode()
    assert Category.objects.get(code="0101").name == "垃圾暴露"
    assert len(audits("category_rename", personas["admin"])) == 1


def test_deactivating_stops_new_cases_in_the_subtree_but_open_cases_keep_their_category(
    client: Client, tree: AreaTree, personas: dict[str, Any]
) -> None:
    worker = personas["grid_worker"]
    # given an open case of 暴露垃圾
    open_case = submit_case(worker, tree.grids[0], now=WEDNESDAY_10)
    as_admin(client, personas)
    # when the admin stops 市容环境
    response = client.post(f"{RULES}categories/01/active/", {"is_active": "0"})
    assert response.status_code == 302
    # then the whole subtree is stopped, the open case is untouched, and new submissions are refused
    assert not Category.objects.filter(code__startswith="01", is_active=True).exists()
    assert Category.objects.get(code="02").is_active
    open_case.refresh_from_db()
    assert (open_case.category.code, open_case.status) == ("0101", CaseStatus.SUBMITTED)
    with pytest.raises(ValidationError, match="已停用"):
        submit_case(worker, tree.grids[0], now=WEDNESDAY_10)
    [event] = audits("category_deactivate", personas["admin"])
    assert event.object_id == "01" and event.detail["codes"][:2] == ["01", "0101"]
    # and a child cannot be resumed while its class is stopped
    client.post(f"{RULES}categories/0101/active/", {"is_active": "1"})
    page = client.get(f"{RULES}categories/0101/").content.decode()
    assert "上级类别“市容环境”已停用，请先启用上级类别。" in page
    assert not Category.objects.get(code="0101").is_active
    # when the class is resumed, its subtree is back and cases can be filed again
    client.post(f"{RULES}categories/01/active/", {"is_active": "1"})
    assert not Category.objects.filter(code__startswith="01", is_active=False).exists()
    assert submit_case(worker, tree.grids[0], now=WEDNESDAY_10, key="again").pk != open_case.pk


# ------------------------------------------------------------------ SLA policies


def test_admin_sets_and_clears_a_policy_and_the_subtree_inherits_again(
    client: Client, personas: dict[str, Any]
) -> None:
    garbage = Category.objects.get(code="0101")
    assert sla_policy_for(garbage, Urgency.NORMAL).category.code == "01"
    as_admin(client, personas)
    # when the admin gives 暴露垃圾 its own normal policy
    response = client.post(f"{RULES}categories/0101/policies/normal/", policy_post())
    assert response.status_code == 302
    # then it is used for 暴露垃圾 (and only for normal urgency)
    own = sla_policy_for(garbage, Urgency.NORMAL)
    assert (own.category, own.unit, own.grid_limit, own.close_limit) == (
        garbage, TimeUnit.WORKING_HOUR, Decimal("4"), Decimal("40"),
    )  # fmt: skip
    assert sla_policy_for(garbage, Urgency.URGENT).category.code == "01"
    [event] = audits("sla_policy_set", personas["admin"])
    assert (event.object_id, event.detail["urgency"], event.detail["grid_limit"]) == ("0101", "normal", "4")
    # when the admin removes it again, the class's policy applies once more
    response = client.post(f"{RULES}categories/0101/policies/normal/clear/")
    assert response.status_code == 302
    assert sla_policy_for(garbage, Urgency.NORMAL).category.code == "01"
    assert not SlaPolicy.objects.filter(category=garbage).exists()
    assert [event.detail for event in audits("sla_policy_clear", personas["admin"])] == [{"urgency": "normal"}]


def test_a_top_level_policy_cannot_be_removed(client: Client, personas: dict[str, Any]) -> None:
    as_admin(client, personas)
    response = client.post(f"{RULES}categories/01/policies/normal/clear/", HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "“市容环境”是一级类别，必须保留自己的时限规则" in response.content.decode()
    assert SlaPolicy.objects.filter(category__code="01", urgency=Urgency.NORMAL).exists()
    assert not AuditEvent.objects.filter(action="sla_policy_clear").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"first_response": "5"}, "首次响应时限不能长于网格办理时限。"),
        ({"close_limit": "2"}, "办结时限不能短于网格办理时限。"),
        ({"town_limit": "-1"}, "时限不能为负数。"),
        ({"town_limit": "八"}, "时限应为数字。"),
        ({"town_limit": "12345"}, "时限不能超过9999.99。"),
        ({"unit": "fortnight"}, "未知的计时方式。"),
    ],
)
def test_invalid_limits_show_the_chinese_error_and_change_nothing(
    client: Client, personas: dict[str, Any], overrides: dict[str, str], message: str
) -> None:
    as_admin(client, personas)
    before = list(SlaPolicy.objects.order_by("pk").values())
    # when the admin saves bad limits, from the plain form or through htmx
    plain = client.post(f"{RULES}categories/0101/policies/normal/", policy_post(**overrides))
    htmx = client.post(f"{RULES}categories/0101/policies/normal/", policy_post(**overrides), HTTP_HX_REQUEST="true")
    # then both show the message in the form, the htmx one as the policy section alone
    assert plain.status_code == htmx.status_code == 400
    assert message in plain.content.decode() and message in htmx.content.decode()
    assert htmx.content.decode().lstrip().startswith('<section id="policy-normal"')
    # and nothing changed, nothing was audited
    assert list(SlaPolicy.objects.order_by("pk").values()) == before
    assert not AuditEvent.objects.filter(action="sla_policy_set").exists()


def test_saving_through_htmx_returns_the_updated_section(client: Client, personas: dict[str, Any]) -> None:
    as_admin(client, personas)
    response = client.post(
        f"{RULES}categories/0101/policies/critical/",
        policy_post(Urgency.CRITICAL, unit=TimeUnit.NATURAL_HOUR, first_response="0.5"),
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200 and "已保存。" in body and "本级规则" in body
    assert "自然小时 0.50 / 4 / 8 / 16 / 24 / 4 / 40" in body
    assert sla_policy_for(Category.objects.get(code="0101"), Urgency.CRITICAL).first_response == Decimal("0.5")


def test_an_unknown_urgency_or_category_is_404(client: Client, personas: dict[str, Any]) -> None:
    as_admin(client, personas)
    assert client.post(f"{RULES}categories/0101/policies/someday/", policy_post("someday")).status_code == 404
    assert client.post(f"{RULES}categories/7777/policies/normal/", policy_post()).status_code == 404
    assert client.get(f"{RULES}categories/7777/").status_code == 404


# ------------------------------------------------------------------ departments


def test_a_new_department_owning_a_category_receives_the_towns_overdue_cases(
    client: Client, tree: AreaTree, personas: dict[str, Any]
) -> None:
    as_admin(client, personas)
    # given a department the admin creates from the page, owning 市容环境
    response = client.post(
        f"{RULES}departments/new/", {"area": str(tree.district.pk), "code": "D-HW", "name": "环卫中心"}
    )
    sanitation = Department.objects.get(code="D-HW")
    assert response["Location"] == f"{RULES}departments/{sanitation.pk}/"
    city_look = Category.objects.get(code="01")
    response = client.post(f"{RULES}departments/{sanitation.pk}/", {"categories": [str(city_look.pk)]})
    assert response.status_code == 302
    assert list(DepartmentCategory.objects.filter(department=sanitation).values_list("category__code", flat=True)) == [
        "01"
    ]
    assert "环卫中心" in client.get(RULES).content.decode()
    # when a 暴露垃圾 case breaches at the town/street tier
    worker = personas["grid_worker"]
    case = submit_case(worker, tree.grids[0], now=WEDNESDAY_10)
    case_accept(actor=worker, case=case, now=WEDNESDAY_10)
    case_escalate(actor=worker, case=case, reason="需社区", now=WEDNESDAY_10)
    case_escalate(actor=personas["community_staff"], case=case, reason="需镇街", now=WEDNESDAY_10)
    sla_sweep(now=WEDNESDAY_10 + timedelta(days=14))
    # then the sweep dispatches it to the department
    case.refresh_from_db()
    assert (case.status, case.department) == (CaseStatus.DISPATCHED, sanitation)
    # and both writes were audited
    assert [event.object_id for event in audits("department_create", personas["admin"])] == ["D-HW"]
    [event] = audits("department_categories_set", personas["admin"])
    assert event.detail == {"added": ["01"], "removed": []}


def test_replacing_a_departments_categories_records_what_changed(client: Client, personas: dict[str, Any]) -> None:
    department = personas["department_handler"].role_assignments.get().department
    codes = ["01", "0402", "06"]
    DepartmentCategory.objects.bulk_create(
        DepartmentCategory(department=department, category=category)
        for category in Category.objects.filter(code__in=codes[:2])
    )
    as_admin(client, personas)
    page = client.get(f"{RULES}departments/{department.pk}/").content.decode()
    assert page.count(" checked>") == 2
    keep_and_add = [str(pk) for pk in Category.objects.filter(code__in=["01", "06"]).values_list("pk", flat=True)]
    client.post(f"{RULES}departments/{department.pk}/", {"categories": keep_and_add})
    owned = DepartmentCategory.objects.filter(department=department).order_by("category__code")
    assert [link.category.code for link in owned] == ["01", "06"]
    [event] = audits("department_categories_set", personas["admin"])
    assert event.detail == {"added": ["06"], "removed": ["0402"]}
    # saving the same set again writes nothing
    client.post(f"{RULES}departments/{department.pk}/", {"categories": keep_and_add})
    assert len(audits("department_categories_set", personas["admin"])) == 1


def test_a_duplicate_department_code_is_refused_in_chinese(client: Client, personas: dict[str, Any]) -> None:
    department = personas["department_handler"].role_assignments.get().department
    as_admin(client, personas)
    response = client.post(
        f"{RULES}departments/new/", {"area": str(department.area_id), "code": department.code, "name": "重名部门"}
    )
    assert response.status_code == 400
    assert f"部门编码“{department.code}”已存在。" in response.content.decode()
    assert not Department.objects.filter(name="重名部门").exists()


# ------------------------------------------------------------------ calendar


def test_admin_adds_and_clears_a_calendar_override(client: Client, personas: dict[str, Any]) -> None:
    as_admin(client, personas)
    holiday = date(2027, 2, 8)  # a Monday the built-in calendar does not know yet
    assert working_calendar().is_working_day(holiday)
    # when the admin declares it a holiday
    response = client.post(f"{RULES}calendar/set/", {"day": "2027-02-08", "kind": "holiday", "note": "春节"})
    assert response.status_code == 302
    # then the calendar counts it as a day off, and the page lists it
    assert not working_calendar().is_working_day(holiday)
    body = client.get(f"{RULES}calendar/").content.decode()
    assert "2027-02-08" in body and "春节" in body
    # when the admin clears it, it is a working day again
    client.post(f"{RULES}calendar/2027-02-08/clear/")
    assert working_calendar().is_working_day(holiday)
    assert not CalendarOverride.objects.exists()
    actions = [event.action for event in AuditEvent.objects.filter(actor=personas["admin"]).order_by("id")]
    assert actions == ["calendar_override_set", "calendar_override_clear"]


def test_a_bad_calendar_date_is_refused_in_chinese(client: Client, personas: dict[str, Any]) -> None:
    as_admin(client, personas)
    response = client.post(f"{RULES}calendar/set/", {"day": "2027-13-40", "kind": "holiday"})
    assert response.status_code == 400 and "日期格式不正确" in response.content.decode()
    assert not CalendarOverride.objects.exists()
    assert client.post(f"{RULES}calendar/someday/clear/").status_code == 404


def test_the_calendar_page_warns_when_next_year_is_not_covered(client: Client, personas: dict[str, Any]) -> None:
    as_admin(client, personas)
    warning = "内置日历尚未收录 2027 年的节假日与调休安排"
    # given it is 2026, and the built-in calendar knows 2026 but not 2027
    with time_machine.travel(datetime(2026, 10, 1, 9, 0, tzinfo=TZ)):
        assert warning in client.get(f"{RULES}calendar/").content.decode()
        # when the admin enters next year's first holiday, the warning goes
        client.post(f"{RULES}calendar/set/", {"day": "2027-01-01", "kind": "holiday", "note": "元旦"})
        assert warning not in client.get(f"{RULES}calendar/").content.decode()
    # and in 2025 (next year known) there is nothing to warn about
    with time_machine.travel(datetime(2025, 3, 1, 9, 0, tzinfo=TZ)):
        assert "内置日历尚未收录" not in client.get(f"{RULES}calendar/").content.decode()


def test_the_command_sets_and_lists_a_departments_categories(personas: dict[str, Any]) -> None:
    department = personas["department_handler"].role_assignments.get().department
    out = StringIO()
    call_command("department_categories", department.code, "--set", "0402", "01", stdout=out)
    assert f"{department.code}  城市管理局  01 0402" in out.getvalue()
    assert AuditEvent.objects.get(action="department_categories_set").detail == {"added": ["01", "0402"], "removed": []}
    with pytest.raises(CommandError, match="类别编码不存在：7777"):
        call_command("department_categories", department.code, "--set", "7777")
    call_command("department_categories", department.code, "--set", stdout=StringIO())
    assert not DepartmentCategory.objects.exists()


def test_only_the_admin_sees_the_rules_link_in_the_top_bar(client, personas):
    client.force_login(personas["admin"])
    assert "事项规则" in client.get("/cases/").content.decode()
    client.force_login(personas["town_staff"])
    assert "事项规则" not in client.get("/cases/").content.decode()
