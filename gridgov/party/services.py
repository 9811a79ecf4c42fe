"""Writes of the party app: each one transaction with its audit row.

`actor=None` is the system (demo generator, imports); a person must hold
VIEW_PEOPLE over the organisation's area (the staff who keep the ledgers).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.accounts.services import audit_record
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building, Compound
from gridgov.party.choices import (
    ALLOWED_PARENTS,
    BRANCH_KINDS,
    LEAD_HOUSEHOLD_MAX_COVER,
    LEAD_HOUSEHOLD_MIN_COVER,
    Employer,
    MemberSource,
    OrgKind,
    PlaqueStatus,
    Post,
)
from gridgov.party.models import GridResponsibility, LeadHouseholdCover, PartyMember, PartyOrg
from gridgov.registry.models import Household, Resident


def _require_manage(actor: Any, area: Area) -> None:
    if actor is None:
        return
    if not scope_for(actor, Capability.VIEW_PEOPLE).covers(area.path):
        raise PermissionDenied(_("您无权维护该区域的党组织。"))


def _branch_of(org: PartyOrg | None) -> PartyOrg | None:
    """The compound branch / joint branch at or above `org`."""
    while org is not None and org.kind not in BRANCH_KINDS:
        org = org.parent
    return org


def _smallest_area(grids: list[Area]) -> Area:
    """The one grid when all are the same, else their community."""
    distinct = {grid.pk: grid for grid in grids}
    if len(distinct) == 1:
        return grids[0]
    parents = {grid.parent_id for grid in grids}
    if len(parents) != 1:
        raise ValidationError(_("所选小区或楼栋不在同一个社区内。"))
    return grids[0].parent  # type: ignore[return-value]


def _check_compounds(kind: str, parent: PartyOrg, compounds: Sequence[Compound], exclude: PartyOrg | None) -> Area:
    if not compounds:
        raise ValidationError(_("小区党组织至少要对应一个小区。"))
    if kind == OrgKind.COMPOUND_BRANCH and len(compounds) != 1:
        raise ValidationError(_("小区党支部只对应一个小区；跨小区请建联合党支部。"))
    for compound in compounds:
        if not compound.grid.path.startswith(parent.area.path):
            raise ValidationError(
                _("小区“%(compound)s”不在%(org)s所在的社区内。") % {"compound": compound.name, "org": parent.name}
            )
    taken = PartyOrg.objects.filter(kind__in=BRANCH_KINDS, dissolved_on__isnull=True, compounds__in=list(compounds))
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    clash = taken.values_list("name", flat=True).first()
    if clash:
        raise ValidationError(_("所选小区已由“%(org)s”覆盖，一个小区只能有一个小区党组织。") % {"org": clash})
    return _smallest_area([compound.grid for compound in compounds])


def _check_buildings(parent: PartyOrg, buildings: Sequence[Building], exclude: PartyOrg | None) -> Area:
    if not buildings:
        raise ValidationError(_("楼栋党小组至少要对应一栋楼。"))
    compound_ids = set(parent.compounds.values_list("pk", flat=True))
    for building in buildings:
        if building.compound_id not in compound_ids:
            raise ValidationError(
                _("楼栋“%(building)s”不在%(org)s的小区内。") % {"building": building.name, "org": parent.name}
            )
    groups = PartyOrg.objects.filter(
        kind=OrgKind.BUILDING_GROUP, dissolved_on__isnull=True, buildings__in=list(buildings)
    )
    if exclude is not None:
        groups = groups.exclude(pk=exclude.pk)
    clash = groups.values_list("name", flat=True).first()
    if clash:
        raise ValidationError(_("所选楼栋已由“%(org)s”覆盖。") % {"org": clash})
    return _smallest_area([building.grid for building in buildings])


def _check_lead_household(parent: PartyOrg, household: Household | None) -> None:
    if household is None:
        raise ValidationError(_("党员中心户必须对应一户。"))
    if household.moved_out_on is not None:
        raise ValidationError(_("该户已迁出，不能设为党员中心户。"))
    branch = _branch_of(parent)
    compound_id, building_id = household.compound_id, household.building_id
    if branch is None or compound_id is None or not branch.compounds.filter(pk=compound_id).exists():
        raise ValidationError(_("中心户“%(address)s”不在所属党支部的小区内。") % {"address": household.address})
    if parent.kind == OrgKind.BUILDING_GROUP and (
        building_id is None or not parent.buildings.filter(pk=building_id).exists()
    ):
        raise ValidationError(_("中心户“%(address)s”不在该楼栋党小组的楼栋内。") % {"address": household.address})
    if PartyOrg.objects.filter(household=household).exists():
        raise ValidationError(_("该户已是党员中心户。"))


def _check_covered(org_household: Household, covered: Sequence[Household], org: PartyOrg | None) -> list[Household]:
    unique = list({household.pk: household for household in covered}.values())
    if not LEAD_HOUSEHOLD_MIN_COVER <= len(unique) <= LEAD_HOUSEHOLD_MAX_COVER:
        raise ValidationError(
            _("党员中心户联系 %(min)s–%(max)s 户，现为 %(n)s 户。")
            % {"min": LEAD_HOUSEHOLD_MIN_COVER, "max": LEAD_HOUSEHOLD_MAX_COVER, "n": len(unique)}
        )
    for household in unique:
        if household.pk == org_household.pk:
            raise ValidationError(_("中心户不能联系自己。"))
        if household.moved_out_on is not None:
            raise ValidationError(_("“%(address)s”已迁出。") % {"address": household.address})
        same_place = (
            household.compound_id == org_household.compound_id
            if org_household.compound_id
            else household.grid_id == org_household.grid_id
        )
        if not same_place:
            raise ValidationError(
                _("联系户“%(address)s”与中心户不在同一小区（网格）。") % {"address": household.address}
            )
    taken = LeadHouseholdCover.objects.filter(household__in=unique).exclude(org=org) if org else None
    if taken is None:
        taken = LeadHouseholdCover.objects.filter(household__in=unique)
    clash = taken.select_related("household").first()
    if clash is not None:
        raise ValidationError(_("“%(address)s”已由其他中心户联系。") % {"address": clash.household.address})
    return unique


@transaction.atomic
def org_create(
    *,
    actor: Any,
    kind: str,
    name: str,
    parent: PartyOrg | None = None,
    community: Area | None = None,
    compounds: Sequence[Compound] = (),
    buildings: Sequence[Building] = (),
    household: Household | None = None,
    covered: Sequence[Household] = (),
    founded_on: date | None = None,
) -> PartyOrg:
    """Create one organisation of the tree, checking it sits inside its parent."""
    if kind not in OrgKind.values:
        raise ValidationError(_("组织类型无效。"))
    name = name.strip()
    if not name:
        raise ValidationError(_("组织名称不能为空。"))
    allowed = ALLOWED_PARENTS[kind]
    if allowed:
        if parent is None or parent.kind not in allowed or not parent.is_active:
            raise ValidationError(_("%(kind)s的上级组织类型不对。") % {"kind": OrgKind(kind).label})
    elif parent is not None:
        raise ValidationError(_("社区党委没有上级组织。"))
    if kind == OrgKind.COMMUNITY_COMMITTEE:
        if community is None or community.level != AreaLevel.COMMUNITY:
            raise ValidationError(_("社区党委必须对应一个村/社区。"))
        area = community
    elif kind in BRANCH_KINDS:
        area = _check_compounds(kind, parent, compounds, None)  # type: ignore[arg-type]
    elif kind == OrgKind.BUILDING_GROUP:
        area = _check_buildings(parent, buildings, None)  # type: ignore[arg-type]
    else:
        _check_lead_household(parent, household)  # type: ignore[arg-type]
        area = household.grid  # type: ignore[union-attr]
    _require_manage(actor, area)
    unique_covered = _check_covered(household, covered, None) if kind == OrgKind.LEAD_HOUSEHOLD else []  # type: ignore[arg-type]
    org = PartyOrg.objects.create(
        kind=kind,
        name=name,
        parent=parent,
        area=area,
        household=household if kind == OrgKind.LEAD_HOUSEHOLD else None,
        plaque_status=PlaqueStatus.PENDING if kind == OrgKind.LEAD_HOUSEHOLD else PlaqueStatus.NONE,
        founded_on=founded_on,
    )
    if kind in BRANCH_KINDS:
        org.compounds.set(compounds)
    if kind == OrgKind.BUILDING_GROUP:
        org.buildings.set(buildings)
    LeadHouseholdCover.objects.bulk_create([LeadHouseholdCover(org=org, household=h) for h in unique_covered])
    audit_record(
        actor=actor,
        action="party_org_create",
        object_type="party_org",
        object_id=str(org.pk),
        detail={
            "kind": kind,
            "parent": getattr(parent, "pk", None),
            "area": area.code,
            "compounds": [c.pk for c in compounds],
            "buildings": [b.pk for b in buildings],
            "covered": len(unique_covered),
        },
    )
    return org


@transaction.atomic
def org_update(
    *,
    actor: Any,
    org: PartyOrg,
    name: str | None = None,
    compounds: Sequence[Compound] | None = None,
    buildings: Sequence[Building] | None = None,
    covered: Sequence[Household] | None = None,
) -> PartyOrg:
    """Rename an organisation or change what it covers, with the checks of creation."""
    org = PartyOrg.objects.select_for_update(of=("self",)).select_related("area", "parent__area").get(pk=org.pk)
    _require_manage(actor, org.area)
    detail: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise ValidationError(_("组织名称不能为空。"))
        org.name = name.strip()
        detail["name"] = org.name
    if compounds is not None and org.kind in BRANCH_KINDS:
        org.area = _check_compounds(org.kind, org.parent, compounds, org)  # type: ignore[arg-type]
        org.compounds.set(compounds)
        detail["compounds"] = [c.pk for c in compounds]
    if buildings is not None and org.kind == OrgKind.BUILDING_GROUP:
        org.area = _check_buildings(org.parent, buildings, org)  # type: ignore[arg-type]
        org.buildings.set(buildings)
        detail["buildings"] = [b.pk for b in buildings]
    if covered is not None and org.kind == OrgKind.LEAD_HOUSEHOLD:
        unique = _check_covered(org.household, covered, org)  # type: ignore[arg-type]
        org.covers.all().delete()
        LeadHouseholdCover.objects.bulk_create([LeadHouseholdCover(org=org, household=h) for h in unique])
        detail["covered"] = len(unique)
    _require_manage(actor, org.area)
    org.save()
    audit_record(actor=actor, action="party_org_update", object_type="party_org", object_id=str(org.pk), detail=detail)
    return org


@transaction.atomic
def plaque_set(*, actor: Any, org: PartyOrg, status: str, on: date | None = None) -> PartyOrg:
    """Record the plaque of a lead household (挂牌亮户)."""
    if org.kind != OrgKind.LEAD_HOUSEHOLD:
        raise ValidationError(_("只有党员中心户挂牌。"))
    if status not in PlaqueStatus.values:
        raise ValidationError(_("挂牌状态无效。"))
    _require_manage(actor, org.area)
    org.plaque_status = status
    if status == PlaqueStatus.HUNG:
        org.plaque_hung_on = on or timezone.localdate()
    org.save(update_fields=["plaque_status", "plaque_hung_on", "updated_at"])
    audit_record(
        actor=actor,
        action="party_plaque_set",
        object_type="party_org",
        object_id=str(org.pk),
        detail={"status": status, "on": org.plaque_hung_on.isoformat() if org.plaque_hung_on else None},
    )
    return org


def _check_member_fields(post: str, employer: str, source: str, term_start: date, term_end: date | None) -> None:
    if post not in Post.values:
        raise ValidationError(_("职务无效。"))
    if employer not in Employer.values:
        raise ValidationError(_("兼职单位无效。"))
    if source not in MemberSource.values:
        raise ValidationError(_("来源无效。"))
    if post == Post.PART_TIME_MEMBER and not employer:
        raise ValidationError(_("兼职委员须注明来自物业公司还是业委会。"))
    if post != Post.PART_TIME_MEMBER and employer:
        raise ValidationError(_("只有兼职委员填写兼职单位。"))
    if term_end is not None and term_end < term_start:
        raise ValidationError(_("任期届满日期不能早于任期开始日期。"))


@transaction.atomic
def member_appoint(
    *,
    actor: Any,
    org: PartyOrg,
    post: str,
    term_start: date,
    resident: Resident | None = None,
    name: str = "",
    employer: str = "",
    source: str = MemberSource.OTHER,
    term_end: date | None = None,
) -> PartyMember:
    """Put a member into a post of `org`; a resident holds a seat in one compound branch at a time."""
    _require_manage(actor, org.area)
    if not org.is_active:
        raise ValidationError(_("该组织已撤销。"))
    _check_member_fields(post, employer, source, term_start, term_end)
    if resident is not None:
        if resident.moved_out_on is not None or resident.died_on is not None:
            raise ValidationError(_("该居民已迁出或去世。"))
        name = resident.name
        if org.kind in BRANCH_KINDS:
            other = (
                PartyMember.objects.filter(
                    resident=resident, ended_on__isnull=True, org__kind__in=BRANCH_KINDS, org__dissolved_on__isnull=True
                )
                .exclude(org=org)
                .select_related("org")
                .first()
            )
            if other is not None:
                raise ValidationError(
                    _("%(name)s已在“%(org)s”任职，不能同时在两个小区党组织任职；请先结束原任期。")
                    % {"name": name, "org": other.org.name}
                )
    name = name.strip()
    if not name:
        raise ValidationError(_("成员姓名不能为空。"))
    member = PartyMember.objects.create(
        org=org,
        resident=resident,
        name=name,
        post=post,
        employer=employer,
        source=source,
        term_start=term_start,
        term_end=term_end,
    )
    audit_record(
        actor=actor,
        action="party_member_appoint",
        object_type="party_member",
        object_id=str(member.pk),
        detail={"org": org.pk, "post": post, "source": source, "resident": getattr(resident, "pk", None)},
    )
    return member


@transaction.atomic
def member_update(
    *,
    actor: Any,
    member: PartyMember,
    post: str | None = None,
    employer: str | None = None,
    source: str | None = None,
    term_end: date | None = None,
) -> PartyMember:
    member = PartyMember.objects.select_for_update().select_related("org__area").get(pk=member.pk)
    _require_manage(actor, member.org.area)
    if member.ended_on is not None:
        raise ValidationError(_("该成员任期已结束。"))
    member.post = post if post is not None else member.post
    member.employer = employer if employer is not None else member.employer
    member.source = source if source is not None else member.source
    member.term_end = term_end if term_end is not None else member.term_end
    _check_member_fields(member.post, member.employer, member.source, member.term_start, member.term_end)
    member.save()
    audit_record(
        actor=actor,
        action="party_member_update",
        object_type="party_member",
        object_id=str(member.pk),
        detail={"post": member.post, "employer": member.employer, "source": member.source},
    )
    return member


@transaction.atomic
def member_end_term(*, actor: Any, member: PartyMember, ended_on: date | None = None, reason: str = "") -> PartyMember:
    member = PartyMember.objects.select_for_update().select_related("org__area").get(pk=member.pk)
    _require_manage(actor, member.org.area)
    if member.ended_on is not None:
        raise ValidationError(_("该成员任期已结束。"))
    ended_on = ended_on or timezone.localdate()
    if ended_on < member.term_start:
        raise ValidationError(_("离任日期不能早于任期开始日期。"))
    member.ended_on = ended_on
    member.save(update_fields=["ended_on", "updated_at"])
    GridResponsibility.objects.filter(member=member).update(member=None)
    audit_record(
        actor=actor,
        action="party_member_end_term",
        object_type="party_member",
        object_id=str(member.pk),
        detail={"ended_on": ended_on.isoformat(), "reason": reason[:200]},
    )
    return member


@transaction.atomic
def grid_responsibility_assign(
    *, actor: Any, grid: Area, org: PartyOrg, member: PartyMember | None = None, replace: bool = False
) -> GridResponsibility:
    """Make `org` (and `member`) answer for `grid`; a grid has one responsible organisation."""
    if grid.level != AreaLevel.GRID:
        raise ValidationError(_("责任区必须是网格。"))
    _require_manage(actor, grid)
    if not org.is_active:
        raise ValidationError(_("该组织已撤销。"))
    if not (grid.path.startswith(org.area.path) or org.area.path.startswith(grid.path)):
        raise ValidationError(_("%(org)s不在该网格所在的社区内。") % {"org": org.name})
    if member is not None and (member.org_id != org.pk or member.ended_on is not None):
        raise ValidationError(_("责任人必须是该组织的现任成员。"))
    existing = GridResponsibility.objects.select_for_update().filter(grid=grid).select_related("org").first()
    if existing is not None and existing.org_id != org.pk and not replace:
        raise ValidationError(
            _("网格“%(grid)s”已由“%(org)s”负责，每个网格只有一个责任组织。")
            % {"grid": grid.name, "org": existing.org.name}
        )
    responsibility, _created = GridResponsibility.objects.update_or_create(
        grid=grid, defaults={"org": org, "member": member, "assigned_by": actor}
    )
    audit_record(
        actor=actor,
        action="party_grid_responsibility_assign",
        object_type="area",
        object_id=grid.code,
        detail={"org": org.pk, "member": getattr(member, "pk", None), "replaced": getattr(existing, "org_id", None)},
    )
    return responsibility
