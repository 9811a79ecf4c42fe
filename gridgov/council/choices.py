from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MeetingKind(models.TextChoices):
    SUNSHINE = "sunshine", _("阳光议事会")
    MAZHA = "mazha", _("马扎议事会")
    DISCUSSION_DAY = "discussion_day", _("议事日")
    OWNERS_PREPARATORY = "owners_preparatory", _("业主大会预备会")


class AttendeeCategory(models.TextChoices):
    PARTY_MEMBER = "party_member", _("党员")
    RESIDENT_REP = "resident_rep", _("居民代表")
    PROPERTY_STAFF = "property_staff", _("物业人员")
    OWNERS_COMMITTEE = "owners_committee", _("业委会")
    VOLUNTEER = "volunteer", _("志愿者")
    STAFF = "staff", _("社区工作人员")


class AgendaSource(models.TextChoices):
    CASE = "case", _("诉求事项")
    PATROL = "patrol", _("巡查发现")
    PROPOSAL = "proposal", _("居民提议")
    STAFF = "staff", _("工作人员提出")


class ProposalStatus(models.TextChoices):
    OPEN = "open", _("征集支持中")
    WAITING = "waiting", _("已达人数，待排入议程")
    ON_AGENDA = "on_agenda", _("已列入议程")
