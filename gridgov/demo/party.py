"""Party organisations and residents' council meetings for the demo county.

`party_populate(now=, rng=)` runs after the residents, the portal residents
and (for agenda items from cases) the cases:

1. a 社区党委 per community, a 小区党支部 for about nine in ten compounds, a
   楼栋党小组 for about three in four of those compounds' buildings, and
   党员中心户 in those buildings, each looking after 10–30 households of its
   compound — written in bulk (the county has thousands of them), with the
   rules of the services kept by construction;
2. members: residents marked `is_party_member` on the committees and branches
   (书记, 副书记, 委员, 书记助理, 网格长), a part-time member from the property
   company or owners' committee by name only, the lead household's party member;
3. each grid's responsible organisation (its first compound's branch, else the
   community committee);
4. a few meetings per compound for the first compounds with a branch, through
   the council services: attendees, agenda items (from open cases of the grid
   when there are some), decisions with votes and follow-up actions, some done,
   some overdue;
5. a resident's proposal in each compound with portal residents, supported by
   their neighbours (past the threshold it lands on the next meeting).

`party_delete_all()` removes all of it; `demo_reset` must call it before the
registry, cases and the area tree go.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building, Compound
from gridgov.cases.choices import OPEN_STATUSES
from gridgov.cases.models import Case
from gridgov.council.choices import AgendaSource, AttendeeCategory, MeetingKind
from gridgov.council.models import (
    AgendaItem,
    Attendee,
    Decision,
    FollowUpAction,
    Meeting,
    Proposal,
    ProposalSupport,
)
from gridgov.council.services import (
    action_add,
    action_complete,
    agenda_item_add,
    attendance_record,
    attendee_add,
    decision_record,
    meeting_create,
    minutes_record,
    proposal_create,
    proposal_support,
)
from gridgov.party.choices import (
    LEAD_HOUSEHOLD_MAX_COVER,
    LEAD_HOUSEHOLD_MIN_COVER,
    Employer,
    MemberSource,
    OrgKind,
    PlaqueStatus,
    Post,
)
from gridgov.party.models import GridResponsibility, LeadHouseholdCover, PartyMember, PartyOrg
from gridgov.portal.models import ResidentPhone
from gridgov.registry.models import Household, Resident

BRANCH_SHARE = 0.9
GROUP_SHARE = 0.75
MEETING_COMPOUNDS = 6
MEETINGS_PER_COMPOUND = 3

TOPICS = (
    ("电动车集中停放充电", "在小区东侧建设集中充电棚，禁止楼道充电"),
    ("楼道堆物清理", "每月第一个周六组织党员志愿者清理楼道"),
    ("文明养犬公约", "制定文明养犬公约，张贴于各单元门口"),
    ("群租房整治", "联合物业、派出所排查群租房并限期整改"),
    ("消防通道畅通", "施划消防通道标线，违停车辆劝离"),
    ("绿化补种", "由业委会牵头补种2号楼前绿地"),
    ("物业服务质量", "物业公司每季度向议事会报告服务情况"),
    ("停车位分配", "地面车位按登记顺序轮换使用"),
)


@transaction.atomic
def party_populate(*, now: datetime, rng: random.Random) -> dict[str, int]:
    today = now.date()
    term_start = date(today.year - 1, 1, 1)
    term_end = date(today.year + 4, 12, 31)
    communities = list(Area.objects.filter(level=AreaLevel.COMMUNITY).order_by("path"))
    compounds_by_community: dict[int, list[Compound]] = defaultdict(list)
    for compound in Compound.objects.select_related("grid").order_by("grid__path", "name"):
        compounds_by_community[compound.grid.parent_id].append(compound)  # type: ignore[index]
    buildings_by_compound: dict[int, list[Building]] = defaultdict(list)
    for building in Building.objects.filter(compound__isnull=False).order_by("compound_id", "name"):
        buildings_by_compound[building.compound_id].append(building)  # type: ignore[index]
    households_by_building: dict[int, list[Household]] = defaultdict(list)
    households_by_compound: dict[int, list[Household]] = defaultdict(list)
    for household in Household.objects.filter(moved_out_on__isnull=True, compound__isnull=False).order_by(
        "compound_id", "building_id", "unit", "room", "id"
    ):
        households_by_compound[household.compound_id].append(household)  # type: ignore[index]
        if household.building_id:
            households_by_building[household.building_id].append(household)
    party_by_household: dict[int, list[Resident]] = defaultdict(list)
    party_by_community: dict[int, list[Resident]] = defaultdict(list)
    for resident in Resident.objects.filter(
        is_party_member=True, moved_out_on__isnull=True, died_on__isnull=True
    ).select_related("household__grid"):
        party_by_household[resident.household_id].append(resident)
        party_by_community[resident.household.grid.parent_id].append(resident)  # type: ignore[index]
    party_by_compound: dict[int, list[Resident]] = defaultdict(list)
    for compound_id, homes in households_by_compound.items():
        for home in homes:
            party_by_compound[compound_id].extend(party_by_household.get(home.pk, []))

    # 1. Committees.
    committees = PartyOrg.objects.bulk_create(
        [
            PartyOrg(kind=OrgKind.COMMUNITY_COMMITTEE, name=f"{c.name}党委", area=c, founded_on=date(2018, 7, 1))
            for c in communities
        ]
    )
    committee_of = {c.area_id: c for c in committees}

    # 2. Branches: one per compound, for about nine in ten compounds.
    branch_specs: list[tuple[PartyOrg, Compound]] = []
    for community in communities:
        for compound in compounds_by_community.get(community.pk, []):
            if rng.random() < BRANCH_SHARE:
                branch_specs.append(
                    (
                        PartyOrg(
                            kind=OrgKind.COMPOUND_BRANCH,
                            name=f"{compound.name}党支部",
                            parent=committee_of[community.pk],
                            area=compound.grid,
                            founded_on=date(2021, 7, 1),
                        ),
                        compound,
                    )
                )
    branches = PartyOrg.objects.bulk_create([org for org, _compound in branch_specs])
    PartyOrg.compounds.through.objects.bulk_create(
        [
            PartyOrg.compounds.through(partyorg_id=org.pk, compound_id=c.pk)
            for org, (_o, c) in zip(branches, branch_specs, strict=True)
        ]
    )
    branch_of_compound = {c.pk: org for org, (_o, c) in zip(branches, branch_specs, strict=True)}

    # 3. Building groups.
    group_specs: list[tuple[PartyOrg, Building]] = []
    for compound_id, branch in branch_of_compound.items():
        for building in buildings_by_compound.get(compound_id, []):
            if rng.random() < GROUP_SHARE:
                group_specs.append(
                    (
                        PartyOrg(
                            kind=OrgKind.BUILDING_GROUP,
                            name=f"{branch.name.removesuffix('党支部')}{building.name}党小组",
                            parent=branch,
                            area=building.grid,
                        ),
                        building,
                    )
                )
    groups = PartyOrg.objects.bulk_create([org for org, _b in group_specs])
    PartyOrg.buildings.through.objects.bulk_create(
        [
            PartyOrg.buildings.through(partyorg_id=org.pk, building_id=b.pk)
            for org, (_o, b) in zip(groups, group_specs, strict=True)
        ]
    )

    # 4. Lead households: in each group's building, a party member's home (else the first home),
    # looking after the next 10–30 uncovered households of the same compound.
    taken: set[int] = set()
    lead_specs: list[tuple[PartyOrg, list[Household], Resident | None]] = []
    for group, (_o, building) in zip(groups, group_specs, strict=True):
        homes = [h for h in households_by_building.get(building.pk, []) if h.pk not in taken]
        if len(homes) < LEAD_HOUSEHOLD_MIN_COVER + 1:
            continue
        with_member = [h for h in homes if party_by_household.get(h.pk)]
        lead_home = with_member[0] if with_member else homes[0]
        size = rng.randint(LEAD_HOUSEHOLD_MIN_COVER, min(LEAD_HOUSEHOLD_MAX_COVER, len(homes) - 1))
        covered = [h for h in homes if h.pk != lead_home.pk][:size]
        taken.update(h.pk for h in covered)
        taken.add(lead_home.pk)
        hung = rng.random() < 0.8
        lead_specs.append(
            (
                PartyOrg(
                    kind=OrgKind.LEAD_HOUSEHOLD,
                    name=f"{building.name}{lead_home.unit}{lead_home.room}党员中心户",
                    parent=group,
                    area=building.grid,
                    household=lead_home,
                    plaque_status=PlaqueStatus.HUNG if hung else PlaqueStatus.PENDING,
                    plaque_hung_on=today - timedelta(days=rng.randint(30, 400)) if hung else None,
                ),
                covered,
                next(iter(party_by_household.get(lead_home.pk, [])), None),
            )
        )
    leads = PartyOrg.objects.bulk_create([org for org, _c, _r in lead_specs])
    LeadHouseholdCover.objects.bulk_create(
        [
            LeadHouseholdCover(org_id=org.pk, household_id=h.pk)
            for org, (_o, covered, _r) in zip(leads, lead_specs, strict=True)
            for h in covered
        ],
        batch_size=2000,
    )

    # 5. Members.
    members: list[PartyMember] = []
    seated: set[int] = set()

    def seat(
        org: PartyOrg, resident: Resident | None, post: str, source: str, name: str = "", employer: str = ""
    ) -> None:
        if resident is not None:
            seated.add(resident.pk)
        members.append(
            PartyMember(
                org=org,
                resident=resident,
                name=resident.name if resident else name,
                post=post,
                employer=employer,
                source=source,
                term_start=term_start,
                term_end=term_end,
            )
        )

    sources = [MemberSource.FIVE_ELDERS, MemberSource.REPORTED_IN_SERVICE, MemberSource.TWO_COMMITTEES]
    for committee in committees:
        pool = party_by_community.get(committee.area_id, [])
        for post, resident in zip(
            (Post.SECRETARY, Post.DEPUTY_SECRETARY, Post.COMMITTEE_MEMBER), pool[:3], strict=False
        ):
            seat(committee, resident, post, MemberSource.TWO_COMMITTEES)
    for compound_id, branch in branch_of_compound.items():
        pool = [r for r in party_by_compound.get(compound_id, []) if r.pk not in seated]
        posts = (
            Post.SECRETARY,
            Post.COMMITTEE_MEMBER,
            Post.COMMITTEE_MEMBER,
            Post.SECRETARY_ASSISTANT,
            Post.GRID_LEADER,
        )
        for post, resident in zip(posts, pool, strict=False):
            seat(branch, resident, post, rng.choice(sources))
        employer = rng.choice([Employer.PROPERTY_COMPANY, Employer.OWNERS_COMMITTEE])
        label = "物业" if employer == Employer.PROPERTY_COMPANY else "业委会"
        seat(
            branch,
            None,
            Post.PART_TIME_MEMBER,
            MemberSource.OTHER,
            name=f"{label}{rng.choice('王李张刘陈杨赵黄周吴')}委员",
            employer=employer,
        )
    for lead, (_o, _c, lead_resident) in zip(leads, lead_specs, strict=True):
        if lead_resident is not None:
            seat(lead, lead_resident, Post.MEMBER, MemberSource.REPORTED_IN_SERVICE)
    PartyMember.objects.bulk_create(members, batch_size=2000)

    # 6. Responsibility per grid.
    responsibilities = []
    first_branch_of_grid: dict[int, PartyOrg] = {}
    for branch in branch_of_compound.values():
        first_branch_of_grid.setdefault(branch.area_id, branch)
    for grid in Area.objects.filter(level=AreaLevel.GRID).only("pk", "parent_id"):
        org = first_branch_of_grid.get(grid.pk) or committee_of.get(grid.parent_id)  # type: ignore[arg-type]
        if org is not None:
            responsibilities.append(GridResponsibility(grid=grid, org=org))
    GridResponsibility.objects.bulk_create(responsibilities, batch_size=2000)

    meetings = _meetings(now=now, rng=rng, branch_of_compound=branch_of_compound, party_by_compound=party_by_compound)
    proposals = _proposals(rng=rng)
    return {
        "party_committees": len(committees),
        "party_branches": len(branches),
        "party_groups": len(groups),
        "party_lead_households": len(leads),
        "party_members": len(members),
        "council_meetings": meetings,
        "council_proposals": proposals,
    }


def _meetings(
    *,
    now: datetime,
    rng: random.Random,
    branch_of_compound: dict[int, PartyOrg],
    party_by_compound: dict[int, list[Resident]],
) -> int:
    compounds = list(Compound.objects.filter(pk__in=list(branch_of_compound)).select_related("grid").order_by("pk"))
    compounds = compounds[:MEETING_COMPOUNDS]
    count = 0
    for compound in compounds:
        open_cases = list(
            Case.objects.filter(grid=compound.grid, status__in=OPEN_STATUSES).order_by("-submitted_at")[:2]
        )
        for n in range(MEETINGS_PER_COMPOUND):
            held = n < MEETINGS_PER_COMPOUND - 1
            starts_at = (
                now - timedelta(days=7 * (MEETINGS_PER_COMPOUND - 1 - n) + 3) if held else now + timedelta(days=4)
            )
            kind = rng.choice([MeetingKind.SUNSHINE, MeetingKind.MAZHA, MeetingKind.DISCUSSION_DAY])
            topics = rng.sample(TOPICS, 2)
            meeting = meeting_create(
                actor=None,
                kind=kind,
                compound=compound,
                title="、".join(t for t, _d in topics),
                starts_at=starts_at,
                place=rng.choice(["小区议事亭", "党群服务站", "3号楼下（马扎会）", "物业服务中心"]),
                convener_name=f"{compound.name}党支部",
            )
            count += 1
            people = [
                attendee_add(actor=None, meeting=meeting, category=AttendeeCategory.PARTY_MEMBER, resident=r)
                for r in party_by_compound.get(compound.pk, [])[:3]
            ]
            people += [
                attendee_add(
                    actor=None, meeting=meeting, category=AttendeeCategory.RESIDENT_REP, name=f"居民代表{i + 1}"
                )
                for i in range(rng.randint(4, 7))
            ]
            people.append(
                attendee_add(actor=None, meeting=meeting, category=AttendeeCategory.PROPERTY_STAFF, name="物业项目经理")
            )
            people.append(
                attendee_add(actor=None, meeting=meeting, category=AttendeeCategory.OWNERS_COMMITTEE, name="业委会主任")
            )
            items = []
            if n == 0 and open_cases:
                items.append(
                    agenda_item_add(actor=None, meeting=meeting, source=AgendaSource.CASE, case_id=open_cases[0].pk)
                )
            for title, text in topics:
                items.append(
                    agenda_item_add(
                        actor=None,
                        meeting=meeting,
                        source=AgendaSource.PROPOSAL if rng.random() < 0.5 else AgendaSource.STAFF,
                        title=title,
                        description=text,
                        proposer_name="居民代表1",
                    )
                )
            if not held:
                continue
            present = [p for p in people if rng.random() < 0.85] or people[:1]
            attendance_record(actor=None, meeting=meeting, present_ids={p.pk for p in present})
            minutes_record(actor=None, meeting=meeting, text="会议由党支部书记主持，逐项讨论议题并表决。", now=now)
            for item in items:
                spend = Decimal(rng.choice([300, 800, 1500])) if rng.random() < 0.3 else None
                against = rng.randint(0, 1)
                abstain = rng.randint(0, 1)
                decision = decision_record(
                    actor=None,
                    agenda_item=item,
                    text=item.description or f"议定：{item.title}，由党支部牵头落实",
                    votes_for=max(len(present) - against - abstain, 0),
                    votes_against=against if len(present) > 2 else 0,
                    votes_abstain=abstain if len(present) > 2 else 0,
                    fund_spent=spend,
                    fund_note="为民服务经费：材料与施工" if spend else "",
                    now=starts_at + timedelta(hours=1),
                )
                for k, owner in enumerate(("物业项目经理", "网格员", "楼栋党小组长")[: rng.randint(1, 3)]):
                    action = action_add(
                        actor=None,
                        decision=decision,
                        title=f"{item.title}：第{k + 1}项措施",
                        owner_name=owner,
                        due_on=starts_at.date() + timedelta(days=rng.randint(3, 21)),
                    )
                    if action.due_on <= now.date() and rng.random() < 0.7:
                        action_complete(actor=None, action=action, on=action.due_on, note="已完成")
    return count


PROPOSAL_TOPICS = ("增设电动车充电桩", "楼道声控灯维修", "小区健身器材更新", "垃圾分类亭移位")


def _proposals(*, rng: random.Random) -> int:
    """A proposal in each compound that has portal residents, supported by their neighbours."""
    by_compound: dict[int, list[Any]] = defaultdict(list)
    for identity in ResidentPhone.objects.filter(compound__isnull=False).select_related("user").order_by("pk"):
        by_compound[identity.compound_id].append(identity.user)  # type: ignore[index]
    count = 0
    for users in by_compound.values():
        proposal = proposal_create(
            actor=users[0], title=rng.choice(PROPOSAL_TOPICS), text="邻居们都很关心，希望议事会讨论。"
        )
        for user in users[1:]:
            proposal_support(actor=user, proposal=proposal)
        count += 1
    return count


def party_delete_all() -> dict[str, Any]:
    """Delete every council meeting and party organisation (before the registry, cases and areas go)."""
    deleted: dict[str, Any] = {
        "council_proposal_supports": ProposalSupport.objects.all().delete()[0],
        "council_proposals": Proposal.objects.all().delete()[0],
        "council_actions": FollowUpAction.objects.all().delete()[0],
        "council_decisions": Decision.objects.all().delete()[0],
        "council_agenda_items": AgendaItem.objects.all().delete()[0],
        "council_attendees": Attendee.objects.all().delete()[0],
        "council_meetings": Meeting.objects.all().delete()[0],
        "party_grid_responsibilities": GridResponsibility.objects.all().delete()[0],
        "party_members": PartyMember.objects.all().delete()[0],
        "party_lead_covers": LeadHouseholdCover.objects.all().delete()[0],
    }
    # Children before parents (PROTECT on parent): leaves first.
    for kind in (
        OrgKind.LEAD_HOUSEHOLD,
        OrgKind.BUILDING_GROUP,
        OrgKind.JOINT_BRANCH,
        OrgKind.COMPOUND_BRANCH,
        OrgKind.COMMUNITY_COMMITTEE,
    ):
        deleted[f"party_orgs_{kind}"] = PartyOrg.objects.filter(kind=kind).delete()[0]
    return deleted
