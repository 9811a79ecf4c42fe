"""Keeping the catalogue: rules of a county or town (own rules, overrides, deactivation; a used
rule keeps its points) and redemption items, through services and pages, in scope only."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from gridgov.credits.errors import CreditForbidden
from gridgov.credits.models import CreditEntry, CreditRule, RedemptionItem
from gridgov.credits.selectors import balance_of, redemption_items_for, rule_effective_at
from gridgov.credits.services import (
    credit_approve,
    credit_record,
    redemption_item_create,
    redemption_item_update,
    rule_override,
)
from gridgov.testing.credits import make_household

pytestmark = pytest.mark.django_db


def _rule(**overrides):
    values = {
        "code": "VOL-09",
        "name": "社区微心愿认领",
        "category": "volunteer",
        "points_min": 1,
        "points_max": 3,
        "evidence_required": False,
        "yearly_cap": None,
        "active": True,
    }
    values.update(overrides)
    return values


def test_town_rule_overrides_the_default_and_bad_input_is_refused_in_chinese(tree, personas):
    town_staff = personas["town_staff"]
    # When the town sets its own version of VOL-01 and a new rule of its own
    rule_override(actor=town_staff, area=tree.towns[0], **_rule(code="VOL-01", name="志愿服务（本镇）"))
    rule_override(actor=town_staff, area=tree.towns[0], **_rule())
    # Then grids of the town book by them, grids of the other town do not
    assert rule_effective_at(tree.grids[0], "VOL-01").name == "志愿服务（本镇）"
    assert rule_effective_at(tree.grids[0], "VOL-09") is not None
    assert rule_effective_at(tree.grids[4], "VOL-01").area is None
    assert rule_effective_at(tree.grids[4], "VOL-09") is None
    # And bad input is refused with Chinese messages, writing nothing
    cases = [
        (tree.communities[0], _rule(code="VOL-10"), "区县或镇街"),
        (tree.towns[0], _rule(code="vol 10!"), "编码"),
        (tree.towns[0], _rule(code="VOL-10", name="  "), "名称"),
        (tree.towns[0], _rule(code="VOL-10", points_min=-1, points_max=2), "同为正数或同为负数"),
        (tree.towns[0], _rule(code="VOL-10", yearly_cap=0), "年度上限"),
        (tree.towns[0], _rule(code="VOL-10", category="other"), "类别"),
    ]
    for area, values, message in cases:
        with pytest.raises(ValidationError, match=message):
            rule_override(actor=town_staff, area=area, **values)
    assert not CreditRule.objects.filter(code="VOL-10").exists()
    # And staff of another town cannot touch this one
    with pytest.raises(CreditForbidden):
        rule_override(actor=personas["outsider"], area=tree.towns[0], **_rule(code="VOL-10"))


def test_a_used_rule_keeps_its_points_and_is_deactivated_not_deleted(tree, personas):
    # Given the town's own rule and an approved entry booked under it
    town_staff, worker = personas["town_staff"], personas["grid_worker"]
    rule = rule_override(actor=town_staff, area=tree.towns[0], **_rule())
    household = make_household(tree.grids[0], compound=tree.compounds[0])
    entry = credit_record(
        actor=worker, household=household, rule_code="VOL-09", points=3, occurred_on=timezone.localdate()
    )
    credit_approve(actor=worker, entry=entry)
    # When its points range is changed, it is refused: the rule is in use
    with pytest.raises(ValidationError, match="已有积分记录"):
        rule_override(actor=town_staff, area=tree.towns[0], **_rule(points_min=1, points_max=1))
    rule.refresh_from_db()
    assert (rule.points_min, rule.points_max) == (1, 3)
    # When its name and cap change and it is deactivated, that is accepted
    rule_override(actor=town_staff, area=tree.towns[0], **_rule(name="微心愿认领", yearly_cap=6, active=False))
    rule.refresh_from_db()
    assert (rule.name, rule.yearly_cap, rule.active) == ("微心愿认领", 6, False)
    # Then the code is no longer bookable, and the entry and the balance keep their points
    assert rule_effective_at(tree.grids[0], "VOL-09") is None
    with pytest.raises(ValidationError, match="VOL-09"):
        credit_record(actor=worker, household=household, rule_code="VOL-09", points=2, occurred_on=timezone.localdate())
    assert CreditEntry.objects.get(pk=entry.pk).points == 3 and balance_of(household) == 3


def _post(**overrides):
    """The rule form as a browser posts it: no cap is an empty field, an unticked box is absent."""
    values = {key: value for key, value in _rule(**overrides).items() if value is not False}
    values["yearly_cap"] = values["yearly_cap"] or ""
    if values.pop("active", False):
        values["active"] = "on"
    return values


def test_rule_pages_list_create_override_and_answer_403_or_404_out_of_scope(client: Client, tree, personas):
    town = tree.towns[0]
    # Staff without supervision (grid worker) and residents are refused; another town's staff get 404
    for user in (personas["grid_worker"], personas["resident"], personas["community_staff"]):
        client.force_login(user)
        assert client.get("/credits/rules/").status_code == 403
    client.force_login(personas["outsider"])
    assert client.get(f"/credits/rules/{town.pk}/").status_code == 404
    assert client.post(f"/credits/rules/{town.pk}/", _post()).status_code == 404
    assert client.get(f"/credits/rules/{town.pk}/VOL-01/").status_code == 404
    assert not CreditRule.objects.filter(area=town).exists()
    # The town's staff land on their town's catalogue, with the default rules listed
    client.force_login(personas["town_staff"])
    landing = client.get("/credits/rules/")
    assert landing.status_code == 302 and landing["Location"] == f"/credits/rules/{town.pk}/"
    page = client.get(f"/credits/rules/{town.pk}/").content.decode()
    assert 'id="rule-VOL-01"' in page and "默认规则" in page
    # When they create a rule, it is the town's own
    client.post(f"/credits/rules/{town.pk}/", _post())
    assert CreditRule.objects.get(area=town, code="VOL-09").active
    # A second rule with the same code is refused with a message, not overwritten
    again = client.post(f"/credits/rules/{town.pk}/", _post(name="重复"), follow=True)
    assert "本级已有编码" in again.content.decode()
    assert CreditRule.objects.get(area=town, code="VOL-09").name == "社区微心愿认领"
    # When they edit the default VOL-01, the town gets its own version and the default stays
    edit = client.get(f"/credits/rules/{town.pk}/VOL-01/")
    assert edit.status_code == 200 and "保存后" in edit.content.decode()
    client.post(
        f"/credits/rules/{town.pk}/VOL-01/",
        _post(code="IGNORED", name="志愿服务（本镇）", points_min=2, points_max=4),
    )
    own = CreditRule.objects.get(area=town, code="VOL-01")
    assert (own.name, own.points_min, own.points_max) == ("志愿服务（本镇）", 2, 4)
    assert CreditRule.objects.get(area=None, code="VOL-01").name != own.name
    # When the rule is deactivated on its page (the checkbox left empty), it shows as stopped
    client.post(f"/credits/rules/{town.pk}/VOL-09/", _post(active=False))
    assert not CreditRule.objects.get(area=town, code="VOL-09").active
    assert "已停用" in client.get(f"/credits/rules/{town.pk}/").content.decode()
    # An invalid range is refused with the service's Chinese message
    refused = client.post(f"/credits/rules/{town.pk}/", _post(code="NEI-09", points_min=3, points_max=1), follow=True)
    assert "下限不大于上限" in refused.content.decode()
    assert not CreditRule.objects.filter(code="NEI-09").exists()


def test_item_pages_create_and_edit_in_scope_only(client: Client, tree, personas):
    community = tree.communities[0]
    # Staff without supervision are refused
    client.force_login(personas["grid_worker"])
    assert client.get("/credits/items/").status_code == 403
    # When community staff add an item for their community, residents there can redeem it
    client.force_login(personas["community_staff"])
    assert client.get("/credits/").content.decode().count('href="/credits/items/"') == 1
    client.post(
        "/credits/items/", {"area": community.pk, "name": "环保购物袋", "points_cost": 5, "stock": 50, "active": "on"}
    )
    item = RedemptionItem.objects.get(name="环保购物袋")
    assert item.area == community and list(redemption_items_for(tree.grids[0])) == [item]
    # Another community cannot be chosen (the choice is not offered)
    client.post("/credits/items/", {"area": tree.communities[2].pk, "name": "雨伞", "points_cost": 5, "stock": 5})
    assert not RedemptionItem.objects.filter(name="雨伞").exists()
    # When the item is edited — stock, cost, off the shelf — the change shows and it can no longer be redeemed
    client.post(f"/credits/items/{item.pk}/", {"name": "环保购物袋（大）", "points_cost": 6, "stock": 10})
    item.refresh_from_db()
    assert (item.name, item.points_cost, item.stock, item.active, item.area) == (
        "环保购物袋（大）",
        6,
        10,
        False,
        community,
    )
    assert not redemption_items_for(tree.grids[0]).exists()
    assert "已下架" in client.get("/credits/items/").content.decode()
    # Staff of another town get 404 for it, on the page and in the service
    client.force_login(personas["outsider"])
    assert client.get(f"/credits/items/{item.pk}/").status_code == 404
    assert "环保购物袋" not in client.get("/credits/items/").content.decode()
    with pytest.raises(CreditForbidden):
        redemption_item_update(actor=personas["outsider"], item=item, name="x", points_cost=1, stock=1, active=True)


def test_item_service_refuses_bad_values_in_chinese(tree, personas):
    staff = personas["community_staff"]
    for values, message in (
        ({"name": " ", "points_cost": 5, "stock": 1}, "名称"),
        ({"name": "雨伞", "points_cost": 0, "stock": 1}, "所需积分"),
        ({"name": "雨伞", "points_cost": 5, "stock": -1}, "库存"),
    ):
        with pytest.raises(ValidationError, match=message):
            redemption_item_create(actor=staff, area=tree.communities[0], **values)
    with pytest.raises(ValidationError, match="区县、镇街或社区"):
        redemption_item_create(actor=staff, area=tree.grids[0], name="雨伞", points_cost=5, stock=1)
    with pytest.raises(CreditForbidden):
        redemption_item_create(actor=staff, area=tree.communities[1], name="雨伞", points_cost=5, stock=1)
    assert not RedemptionItem.objects.exists()
