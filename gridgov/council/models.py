"""Residents' council meetings (阳光议事会 …): attendees, agenda, minutes,
decisions with votes, and the follow-up actions that make a decision 落实."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.areas.models import Area, Compound
from gridgov.cases.models import Case
from gridgov.council.choices import AgendaSource, AttendeeCategory, MeetingKind, ProposalStatus
from gridgov.patrols.models import PatrolFinding
from gridgov.registry.models import Resident


class Meeting(models.Model):
    kind = models.CharField(_("会议类型"), max_length=32, choices=MeetingKind.choices)
    title = models.CharField(_("议题概要"), max_length=200)
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="meetings", verbose_name=_("小区"))
    # The compound's grid, denormalised for the scope filter.
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="council_meetings", verbose_name=_("网格"))
    starts_at = models.DateTimeField(_("时间"))
    place = models.CharField(_("地点"), max_length=200)
    convener = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="convened_meetings",
        verbose_name=_("召集人账号"),
    )
    convener_name = models.CharField(_("召集人"), max_length=50)
    minutes = models.TextField(_("会议记录"), blank=True)
    minutes_recorded_at = models.DateTimeField(_("记录时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("议事会议")
        verbose_name_plural = _("议事会议")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["area", "starts_at"], name="council_meeting_area_time_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in MeetingKind]), name="council_kind_valid")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.title}"


class Attendee(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees", verbose_name=_("会议"))
    category = models.CharField(_("类别"), max_length=32, choices=AttendeeCategory.choices)
    name = models.CharField(_("姓名"), max_length=50)
    resident = models.ForeignKey(
        Resident, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("居民")
    )
    present = models.BooleanField(_("出席"), null=True, blank=True)

    class Meta:
        verbose_name = _("参会人员")
        verbose_name_plural = _("参会人员")
        ordering = ["meeting_id", "category", "id"]

    def __str__(self) -> str:
        return self.name


class AgendaItem(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda", verbose_name=_("会议"))
    seq = models.PositiveSmallIntegerField(_("序号"))
    source = models.CharField(_("来源"), max_length=16, choices=AgendaSource.choices)
    title = models.CharField(_("议题"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="agenda_items", verbose_name=_("事项")
    )
    patrol_finding = models.ForeignKey(
        PatrolFinding,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agenda_items",
        verbose_name=_("巡查发现"),
    )
    proposer_name = models.CharField(_("提议人"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("议题")
        verbose_name_plural = _("议题")
        ordering = ["meeting_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "seq"], name="council_agenda_unique_seq"),
            models.CheckConstraint(
                condition=~Q(source=AgendaSource.CASE) | Q(case__isnull=False), name="council_agenda_case_has_case"
            ),
            models.CheckConstraint(
                condition=~Q(source=AgendaSource.PATROL) | Q(patrol_finding__isnull=False),
                name="council_agenda_patrol_has_finding",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Decision(models.Model):
    agenda_item = models.ForeignKey(
        AgendaItem, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("议题")
    )
    text = models.TextField(_("决议内容"))
    votes_for = models.PositiveIntegerField(_("赞成"), default=0)
    votes_against = models.PositiveIntegerField(_("反对"), default=0)
    votes_abstain = models.PositiveIntegerField(_("弃权"), default=0)
    decided_at = models.DateTimeField(_("决议时间"))
    fund_spent = models.DecimalField(
        _("为民服务经费支出（元）"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    fund_note = models.CharField(_("经费用途"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("决议")
        verbose_name_plural = _("决议")
        ordering = ["agenda_item_id", "id"]

    def __str__(self) -> str:
        return self.text[:30]

    @property
    def passed(self) -> bool:
        return self.votes_for > self.votes_against


class FollowUpAction(models.Model):
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="actions", verbose_name=_("决议"))
    title = models.CharField(_("落实事项"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="council_actions",
        verbose_name=_("责任人账号"),
    )
    owner_name = models.CharField(_("责任人"), max_length=50)
    due_on = models.DateField(_("完成期限"))
    done_on = models.DateField(_("完成日期"), null=True, blank=True)
    done_note = models.CharField(_("完成情况"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("落实事项")
        verbose_name_plural = _("落实事项")
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["done_on", "due_on"], name="council_action_open_due_idx")]

    def __str__(self) -> str:
        return self.title


class Proposal(models.Model):
    """A resident's topic for their compound (居民提议); past the support threshold it goes
    onto the compound's next meeting, once."""

    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="proposals", verbose_name=_("小区"))
    proposer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="council_proposals", verbose_name=_("提议人")
    )
    title = models.CharField(_("议题"), max_length=100)
    text = models.TextField(_("说明"), blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.OPEN)
    agenda_item = models.OneToOneField(
        AgendaItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="proposal", verbose_name=_("议题")
    )
    created_at = models.DateTimeField(_("提出时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("居民提议")
        verbose_name_plural = _("居民提议")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ProposalSupport(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("提议支持")
        verbose_name_plural = _("提议支持")
        constraints = [models.UniqueConstraint(fields=["proposal", "user"], name="council_support_once")]

    def __str__(self) -> str:
        return f"{self.proposal_id}←{self.user_id}"
