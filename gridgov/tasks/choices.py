"""Enumerations of tasks (一网通管) and emergencies (平急转换)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TargetLevel(models.TextChoices):
    """What one row of a worker's list is."""

    GRID = "grid", _("网格")
    BUILDING = "building", _("楼栋")
    HOUSEHOLD = "household", _("住户")
    # No separate register of shops and places exists yet: a place is a compound (小区/场所).
    PLACE = "place", _("场所/小区")


class TaskKind(models.TextChoices):
    NORMAL = "normal", _("常规任务")
    EMERGENCY = "emergency", _("应急排查")


class TaskStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    ISSUED = "issued", _("已下发")
    CLOSED = "closed", _("已结束")


class TargetStatus(models.TextChoices):
    PENDING = "pending", _("待办")
    DONE = "done", _("已完成")
    NOT_HOME = "not_home", _("不在家")
    REFUSED = "refused", _("拒绝")


RECORDED_STATUSES: tuple[str, ...] = (TargetStatus.DONE, TargetStatus.NOT_HOME, TargetStatus.REFUSED)


class FieldKind(models.TextChoices):
    YES_NO = "yes_no", _("是/否")
    CHOICE = "choice", _("单选")
    NUMBER = "number", _("数字")
    TEXT = "text", _("文本")
    PHOTO = "photo", _("照片")


class EmergencyKind(models.TextChoices):
    TYPHOON = "typhoon", _("台风")
    FLOOD = "flood", _("洪涝")
    FIRE = "fire", _("火灾")
    GAS_LEAK = "gas_leak", _("燃气泄漏")
    EPIDEMIC = "epidemic", _("疫情")
    OTHER = "other", _("其他")


class ResourceKind(models.TextChoices):
    SHELTER = "shelter", _("避难场所")
    SUPPLIES = "supplies", _("物资储备")
    EQUIPMENT = "equipment", _("装备器材")
    TEAM = "team", _("救援队伍")


class Vulnerability(models.IntegerChoices):
    """Order of the door-to-door list: lower comes first."""

    ALONE_ELDERLY = 0, _("独居老人")
    DISABLED = 1, _("残疾人")
    HARDSHIP = 2, _("困难人员")
    KEY_GROUP = 3, _("重点人群")
    OTHER = 9, _("一般住户")


# Tag codes (registry migration 0002_tag_catalogue) behind each rank; a household takes the
# lowest rank of its own tags and its current members' tags.
VULNERABILITY_TAGS: dict[int, tuple[str, ...]] = {
    Vulnerability.ALONE_ELDERLY: ("elderly_alone", "living_alone", "empty_nest"),
    Vulnerability.DISABLED: ("disability_physical", "disability_visual", "disability_intellectual"),
    Vulnerability.HARDSHIP: ("dibao", "tekun", "low_income", "unemployed", "serious_illness"),
    Vulnerability.KEY_GROUP: (
        "elderly_80",
        "severe_mental",
        "community_correction",
        "released_prisoner",
        "drug_user",
        "left_behind_child",
        "dropout",
    ),
}
