"""Party organisations bound to the area tree (社区党委 → 小区党组织 → 楼栋党小组 →
党员中心户), their members and posts, and each grid's responsible organisation
(党建引领责任区). Data and invariants only; writes in `services.py`, reads in
`selectors.py`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.areas.models import Area, Building, Compound
from gridgov.party.choices import Employer, MemberSource, OrgKind, PlaqueStatus, Post
from gridgov.registry.models import Household, Resident


class PartyOrg(models.Model):
    """One node of the organisation tree.

    `area` is the smallest area holding everything the organisation covers
    (the community of a committee, the grid of a single-grid branch, the
    community of a branch spanning grids, the grid of a lead household); it is
    what the scope selector filters on.
    """

    kind = models.CharField(_("类型"), max_length=32, choices=OrgKind.choices)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("上级组织")
    )
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="party_orgs", verbose_name=_("所在区域"))
    compounds = models.ManyToManyField(Compound, blank=True, related_name="party_orgs", verbose_name=_("小区"))
    buildings = models.ManyToManyField(Building, blank=True, related_name="party_orgs", verbose_name=_("楼栋"))
    household = models.OneToOneField(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lead_household_org",
        verbose_name=_("中心户"),
    )
    plaque_status = models.CharField(
        _("挂牌状态"), max_length=16, choices=PlaqueStatus.choices, default=PlaqueStatus.NONE
    )
    plaque_hung_on = models.DateField(_("挂牌日期"), null=True, blank=True)
    founded_on = models.DateField(_("成立日期"), null=True, blank=True)
    dissolved_on = models.DateField(_("撤销日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("党组织")
        verbose_name_plural = _("党组织")
        ordering = ["area__path", "kind", "name", "id"]
        indexes = [models.Index(fields=["kind", "area"], name="party_org_kind_area_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in OrgKind]), name="party_org_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind=OrgKind.LEAD_HOUSEHOLD, household__isnull=False)
                | (~Q(kind=OrgKind.LEAD_HOUSEHOLD) & Q(household__isnull=True)),
                name="party_org_household_iff_lead",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.dissolved_on is None


class LeadHouseholdCover(models.Model):
    """A household a lead household (党员中心户) looks after; each household has at most one."""

    org = models.ForeignKey(PartyOrg, on_delete=models.CASCADE, related_name="covers", verbose_name=_("中心户"))
    household = models.OneToOneField(
        Household, on_delete=models.CASCADE, related_name="lead_cover", verbose_name=_("联系户")
    )

    class Meta:
        verbose_name = _("中心户联系户")
        verbose_name_plural = _("中心户联系户")

    def __str__(self) -> str:
        return f"{self.org_id}→{self.household_id}"


class PartyMember(models.Model):
    """A member holding a post in one organisation for a term.

    Linked to a registry resident when known; otherwise the name only. No ID
    number or phone is kept here.
    """

    org = models.ForeignKey(PartyOrg, on_delete=models.PROTECT, related_name="members", verbose_name=_("组织"))
    resident = models.ForeignKey(
        Resident, on_delete=models.SET_NULL, null=True, blank=True, related_name="party_posts", verbose_name=_("居民")
    )
    name = models.CharField(_("姓名"), max_length=50)
    post = models.CharField(_("职务"), max_length=32, choices=Post.choices, default=Post.MEMBER)
    employer = models.CharField(_("兼职单位"), max_length=32, choices=Employer.choices, blank=True, default="")
    source = models.CharField(_("来源"), max_length=32, choices=MemberSource.choices, default=MemberSource.OTHER)
    term_start = models.DateField(_("任期开始"))
    term_end = models.DateField(_("任期届满"), null=True, blank=True)
    ended_on = models.DateField(_("离任日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("党组织成员")
        verbose_name_plural = _("党组织成员")
        ordering = ["org_id", "post", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(post=Post.PART_TIME_MEMBER) | ~Q(employer=""), name="party_part_time_has_employer"
            ),
            models.CheckConstraint(
                condition=Q(term_end__isnull=True) | Q(term_end__gte=models.F("term_start")),
                name="party_term_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_post_display()}）"

    @property
    def is_current(self) -> bool:
        return self.ended_on is None


class GridResponsibility(models.Model):
    """党建引领责任区: the one organisation (and optionally a member) answering for a grid."""

    grid = models.OneToOneField(
        Area, on_delete=models.PROTECT, related_name="party_responsibility", verbose_name=_("网格")
    )
    org = models.ForeignKey(
        PartyOrg, on_delete=models.PROTECT, related_name="responsible_for", verbose_name=_("责任组织")
    )
    member = models.ForeignKey(
        PartyMember,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responsible_for",
        verbose_name=_("责任人"),
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(_("指定时间"), auto_now=True)

    class Meta:
        verbose_name = _("党建责任区")
        verbose_name_plural = _("党建责任区")

    def __str__(self) -> str:
        return f"{self.grid_id}→{self.org_id}"
