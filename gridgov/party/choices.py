from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgKind(models.TextChoices):
    COMMUNITY_COMMITTEE = "community_committee", _("社区党委")
    COMPOUND_BRANCH = "compound_branch", _("小区党支部")
    JOINT_BRANCH = "joint_branch", _("联合党支部")
    BUILDING_GROUP = "building_group", _("楼栋党小组")
    LEAD_HOUSEHOLD = "lead_household", _("党员中心户")


BRANCH_KINDS = (OrgKind.COMPOUND_BRANCH, OrgKind.JOINT_BRANCH)

# Which kind may hang under which: the four-level tree 社区党委 → 小区党组织 → 楼栋党小组 → 党员中心户.
ALLOWED_PARENTS: dict[str, tuple[str, ...]] = {
    OrgKind.COMMUNITY_COMMITTEE: (),
    OrgKind.COMPOUND_BRANCH: (OrgKind.COMMUNITY_COMMITTEE,),
    OrgKind.JOINT_BRANCH: (OrgKind.COMMUNITY_COMMITTEE,),
    OrgKind.BUILDING_GROUP: BRANCH_KINDS,
    OrgKind.LEAD_HOUSEHOLD: (*BRANCH_KINDS, OrgKind.BUILDING_GROUP),
}


class Post(models.TextChoices):
    SECRETARY = "secretary", _("书记")
    DEPUTY_SECRETARY = "deputy_secretary", _("副书记")
    COMMITTEE_MEMBER = "committee_member", _("委员")
    PART_TIME_MEMBER = "part_time_member", _("兼职委员")
    SECRETARY_ASSISTANT = "secretary_assistant", _("书记助理")
    GRID_LEADER = "grid_leader", _("网格长")
    MEMBER = "member", _("党员")


class Employer(models.TextChoices):
    NONE = "", _("—")
    PROPERTY_COMPANY = "property_company", _("物业公司")
    OWNERS_COMMITTEE = "owners_committee", _("业委会")


class MemberSource(models.TextChoices):
    FIVE_ELDERS = "five_elders", _("五老")
    TWO_COMMITTEES = "two_committees", _("两委")
    COMMUNITY_WORKER = "community_worker", _("社区工作者")
    GRID_WORKER = "grid_worker", _("网格员")
    REPORTED_IN_SERVICE = "reported_in_service", _("在职党员报到")
    OTHER = "other", _("其他")


class PlaqueStatus(models.TextChoices):
    NONE = "none", _("未挂牌")
    PENDING = "pending", _("待挂牌")
    HUNG = "hung", _("已挂牌亮户")
    REMOVED = "removed", _("已摘牌")


LEAD_HOUSEHOLD_MIN_COVER = 10
LEAD_HOUSEHOLD_MAX_COVER = 30
