from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from gridgov.cases.choices import TimeUnit, Urgency
from gridgov.cases.models import Category, SlaPolicy
from gridgov.cases.selectors import category_tree, sla_policy_for
from gridgov.cases.services import category_create, sla_policy_set

pytestmark = pytest.mark.django_db

LIMITS = {
    "first_response": Decimal("1"),
    "grid_limit": Decimal("2"),
    "community_limit": Decimal("4"),
    "town_limit": Decimal("8"),
    "department_limit": Decimal("16"),
    "verification_limit": Decimal("2"),
    "close_limit": Decimal("16"),
}


def test_the_seeded_tree_has_the_standard_classes_and_the_service_lines() -> None:
    names = {category.code: category.name for category in category_tree()}
    assert {names[code] for code in ("01", "02", "03", "04", "05", "99")} == {
        "市容环境", "宣传广告", "施工管理", "街面秩序", "突发事件", "其他",
    }  # fmt: skip
    assert names["0101"] == "暴露垃圾"
    assert {"噪音扰民", "养犬管理", "群租房", "消防通道堵塞"} <= {
        c.name for c in Category.objects.filter(parent__code="06")
    }


def test_subcategories_inherit_the_limits_of_their_class() -> None:
    garbage = Category.objects.get(code="0101")
    normal = sla_policy_for(garbage, Urgency.NORMAL)
    assert normal.category.code == "01"
    assert (normal.unit, normal.first_response, normal.department_limit) == (TimeUnit.WORKING_HOUR, 1, 35)
    # emergencies count natural hours even when "normal"
    assert sla_policy_for(Category.objects.get(code="0501"), Urgency.NORMAL).unit == TimeUnit.NATURAL_HOUR


def test_a_policy_on_a_deeper_node_wins_over_its_ancestors() -> None:
    # given a third-level category under 暴露垃圾 with its own, shorter limits
    garbage = Category.objects.get(code="0101")
    bins = category_create(actor=None, parent=garbage, segment="01", name="垃圾桶满溢")
    assert bins.code == "010101"
    sla_policy_set(actor=None, category=garbage, urgency=Urgency.NORMAL, unit=TimeUnit.WORKING_HOUR, limits=LIMITS)
    # then the grandchild takes its parent's policy, not the class's
    assert sla_policy_for(bins, Urgency.NORMAL).category == garbage
    assert sla_policy_for(bins, Urgency.URGENT).category.code == "01"


@pytest.mark.parametrize(
    ("segment", "name", "message"),
    [("1", "新类别", "两位数字"), ("00", "新类别", "两位数字"), ("0a", "新类别", "两位数字"), ("07", " ", "不能为空")],
)
def test_bad_categories_are_refused_in_chinese(segment: str, name: str, message: str) -> None:
    count = Category.objects.count()
    with pytest.raises(ValidationError, match=message):
        category_create(actor=None, parent=None, segment=segment, name=name)
    assert Category.objects.count() == count


def test_duplicate_codes_and_sibling_names_are_refused() -> None:
    with pytest.raises(ValidationError, match="已被使用"):
        category_create(actor=None, parent=None, segment="01", name="另一个")
    city = Category.objects.get(code="01")
    with pytest.raises(ValidationError, match="同一上级下已有"):
        category_create(actor=None, parent=city, segment="77", name="暴露垃圾")


def test_invalid_policies_are_refused_and_nothing_changes() -> None:
    city = Category.objects.get(code="01")
    before = list(SlaPolicy.objects.values_list("pk", "grid_limit"))
    with pytest.raises(ValidationError, match="不能为负数"):
        sla_policy_set(
            actor=None, category=city, urgency=Urgency.NORMAL, unit=TimeUnit.WORKING_HOUR,
            limits={**LIMITS, "town_limit": Decimal("-1")},
        )  # fmt: skip
    with pytest.raises(ValidationError, match="首次响应时限不能长于"):
        sla_policy_set(
            actor=None, category=city, urgency=Urgency.NORMAL, unit=TimeUnit.WORKING_HOUR,
            limits={**LIMITS, "first_response": Decimal("5")},
        )  # fmt: skip
    with pytest.raises(ValidationError, match="未知的计时方式"):
        sla_policy_set(actor=None, category=city, urgency=Urgency.NORMAL, unit="fortnight", limits=LIMITS)
    assert list(SlaPolicy.objects.values_list("pk", "grid_limit")) == before


def test_a_category_without_any_policy_is_explained() -> None:
    orphan = category_create(actor=None, parent=None, segment="88", name="试点类别")
    with pytest.raises(ValidationError, match="没有配置"):
        sla_policy_for(orphan, Urgency.NORMAL)
