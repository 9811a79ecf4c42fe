"""Residents (实有人口) for the demo county: families, ID numbers, phones and tags.

Every building gets `household_count` households, each a family of a
plausible shape: young singles and couples, parents with children, three
generations under one roof, empty-nest couples, old people living alone, and
tenants from elsewhere (流动人口) in rented flats. Ages follow the shape
(spouses within five years, children 20–40 years younger than their parents),
ID numbers are valid GB 11643 numbers (370281 胶州市 for locals, other real
area codes for people from elsewhere, the sequence digit's parity matching
the sex) and unique across the county.

Everything is drawn from one `random.Random` in a fixed order, so a seed
always gives the same people. Ages are counted at `REFERENCE_DATE`, not at
today, for the same reason. Rows are written through the registry services
(`households_bulk_create`, `residents_bulk_register`, which encrypt ID numbers
and phones) a few thousand households at a time: the county's 900,000
residents never sit in memory together.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate, groupby
from typing import Any

from gridgov.areas.models import Area, Building
from gridgov.demo import names
from gridgov.registry.choices import Relation, Residence
from gridgov.registry.identifiers import id_check_character
from gridgov.registry.models import Tag
from gridgov.registry.services import HouseholdSpec, ResidentSpec, households_bulk_create, residents_bulk_register

# The demo's "today" for ages: fixed, so that a seed gives the same people on any day.
REFERENCE_DATE = date(2026, 1, 1)
DAYS_PER_YEAR = 365.2425
LATEST_MOVE_IN = REFERENCE_DATE - timedelta(days=30)
HOME_AREA_CODE = "370281"  # 胶州市
# Households written per round trip to the services, and residents per registry call.
HOUSEHOLD_CHUNK = 4_000
RESIDENT_BATCH = 10_000
# One lead party-member household (党员中心户) per this many households of a grid, at least one.
HOUSEHOLDS_PER_PARTY_LEAD = 70

# Real GB/T 2260 codes. Nearby counties first: people marry in from there.
NEARBY_AREA_CODES = (
    "370211", "370214", "370215", "370283", "370285", "370782", "370785", "370786", "371122",
)  # fmt: skip
SHANDONG_AREA_CODES = NEARBY_AREA_CODES + (
    "370102", "370112", "370202", "370203", "370212", "370213", "370303", "370305", "370481", "370502", "370602",
    "370687", "370702", "370781", "370826", "370883", "370902", "371002", "371102", "371302", "371321", "371324",
    "371327", "371402", "371502", "371602", "371702", "371721", "371726",
)  # fmt: skip
OTHER_PROVINCE_AREA_CODES = (
    "410105", "410522", "411526", "411625", "411722", "341221", "341222", "341321", "340121", "320321", "320382",
    "321323", "130104", "130682", "230102", "230602", "220102", "210102", "510104", "511321", "520102", "620102",
    "140105", "150102", "420106", "430102", "360102", "530102", "500101", "610113",
)  # fmt: skip
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156",
    "157", "158", "159", "166", "173", "175", "176", "177", "178", "180", "181", "182", "183", "184", "185", "186",
    "187", "188", "189", "191", "195", "198", "199",
)  # fmt: skip

# Family shapes and their weights in urban (街道) and rural (镇) grids. With
# these weights a household holds about 3 people on average (domain guide §6).
SINGLE = "single"  # a young adult living alone
YOUNG_COUPLE = "young_couple"  # no children yet
NUCLEAR = "nuclear"  # a couple and 1–3 children (who may be adults themselves)
SINGLE_PARENT = "single_parent"
WITH_PARENTS = "with_parents"  # a couple, their children and the head's parent(s)
THREE_GENERATIONS = "three_generations"  # an older couple, an adult child, the child's spouse, grandchildren
EMPTY_NEST = "empty_nest"  # an elderly couple on their own (空巢)
ELDERLY_ALONE = "elderly_alone"  # one old person (独居老人)
TENANTS = "tenants"  # people from elsewhere renting a flat (流动人口)
SHAPES = (
    SINGLE, YOUNG_COUPLE, NUCLEAR, SINGLE_PARENT, WITH_PARENTS, THREE_GENERATIONS, EMPTY_NEST, ELDERLY_ALONE, TENANTS,
)  # fmt: skip
URBAN_SHAPE_WEIGHTS = (6, 6, 40, 3, 9, 5, 11, 5, 12)
RURAL_SHAPE_WEIGHTS = (3, 4, 30, 2, 9, 12, 17, 9, 3)
# Age range of the head of each shape, in years (NUCLEAR: 25–67, most often about 46).
HEAD_AGES = {
    SINGLE: (22, 45),
    YOUNG_COUPLE: (23, 38),
    SINGLE_PARENT: (26, 55),
    WITH_PARENTS: (26, 56),
    THREE_GENERATIONS: (50, 78),
    EMPTY_NEST: (60, 85),
    ELDERLY_ALONE: (65, 92),
    TENANTS: (20, 50),
}

# Other rates, each per person or household as named.
LOCAL_RENTERS = {True: 0.06, False: 0.01}  # local singles, couples and families renting (urban, rural)
MARRIED_IN_FROM_ELSEWHERE = 0.12  # spouses whose ID was issued in another county
AWAY_FROM_HOME = {True: 0.04, False: 0.10}  # adults 18–45 registered here but living elsewhere (人户分离)
LEFT_BEHIND = 0.12  # rural three-generation homes whose middle generation works elsewhere
FLOATING_FROM_SHANDONG = 0.55
UNEMPLOYED = {True: 0.025, False: 0.008}
VETERAN = 0.02  # of men 30–70
SERIOUS_ILLNESS = (0.001, 0.005)  # under 40, 40 and older
DISABILITY = ((18, 0.004), (60, 0.012), (200, 0.03))  # (below this age, rate)
DISABILITY_KINDS = ("disability_physical", "disability_physical", "disability_physical", "disability_visual",
                    "disability_intellectual")  # fmt: skip
SPECIAL_GROUPS = (  # of adults 18–65
    ("community_correction", 0.0003),
    ("released_prisoner", 0.0006),
    ("severe_mental", 0.0012),
    ("drug_user", 0.0002),
)
DROPOUT = 0.002  # of 12–17 year olds
LOW_INCOME_OTHER_HEADS = 0.01  # low-income heads beyond those of 低保/特困 households
# 低保 and 特困 by family shape (locals only: both need a local hukou).
DIBAO = {ELDERLY_ALONE: 0.05, SINGLE_PARENT: 0.08, EMPTY_NEST: 0.025, SINGLE: 0.02}
DIBAO_OTHER = 0.014
TEKUN = {ELDERLY_ALONE: 0.03, SINGLE: 0.01}
TEKUN_OTHER = 0.0008

URBAN_WORK = (
    ("企业职工", 40), ("个体经营", 12), ("机关事业单位", 8), ("灵活就业", 15), ("自由职业", 5), ("服务业从业人员", 12),
    ("无固定职业", 8),
)  # fmt: skip
RURAL_WORK = (
    ("务农", 45), ("企业职工", 20), ("个体经营", 8), ("灵活就业", 12), ("建筑业务工", 10), ("无固定职业", 5),
)  # fmt: skip
TENANT_WORK = (("企业职工", 45), ("个体经营", 18), ("建筑业务工", 12), ("服务业从业人员", 15), ("灵活就业", 10))


def _cumulative(pairs: Sequence[tuple[str, int]]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """(values, cumulative weights) for `random.choices`."""
    return tuple(value for value, _ in pairs), tuple(accumulate(weight for _, weight in pairs))


WORK = {"urban": _cumulative(URBAN_WORK), "rural": _cumulative(RURAL_WORK), "tenant": _cumulative(TENANT_WORK)}


def years(count: float) -> int:
    """A number of years in days."""
    return round(count * DAYS_PER_YEAR)


def age_on(birth: date, day: date = REFERENCE_DATE) -> int:
    """Completed years of age on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(slots=True)
class Person:
    relation: str
    male: bool
    birth: date
    surname: str
    name: str = ""
    id_number: str = ""
    area_code: str = HOME_AREA_CODE
    residence: str = Residence.REGISTERED_LIVING
    employment: str = ""
    phone: str = ""
    party: bool = False
    tags: list[str] = field(default_factory=list)
    moved_in_on: date | None = None

    @property
    def age(self) -> int:
        return age_on(self.birth)


@dataclass(slots=True)
class Family:
    shape: str
    urban: bool
    members: list[Person]
    tenants: bool = False  # lives in a rented home
    floating: bool = False  # from elsewhere (人在户不在)
    tags: list[str] = field(default_factory=list)

    @property
    def head(self) -> Person:
        return self.members[0]


class IdNumbers:
    """Unique, valid ID numbers: a counter per (area code, birth date, sex) picks the sequence digits.

    The n-th person of a key gets index 1 + (37·n + offset) mod 499 and the
    sequence digits 2·index (+1 for men), so they look scattered yet never
    repeat. A key holds 499 people; a 500th is born a day later.
    """

    def __init__(self) -> None:
        self.issued: dict[int, int] = {}

    def issue(self, area_code: str, birth: date, *, male: bool) -> tuple[str, date]:
        while True:
            key = (int(area_code) * 1_000_000 + birth.toordinal()) * 2 + male
            count = self.issued.get(key, 0)
            if count < 499:
                break
            birth += timedelta(days=1)
        self.issued[key] = count + 1
        index = 1 + (37 * count + birth.toordinal() * 7 + int(area_code)) % 499
        first17 = f"{area_code}{birth:%Y%m%d}{2 * index + male:03d}"
        return first17 + id_check_character(first17), birth


class FamilyMaker:
    """Draws whole families; every random choice comes from `rng`, in call order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ids = IdNumbers()
        self.shape_weights = {True: list(accumulate(URBAN_SHAPE_WEIGHTS)), False: list(accumulate(RURAL_SHAPE_WEIGHTS))}

    # ------------------------------------------------------------ people

    def _born(self, low_years: float, high_years: float) -> int:
        """An age in days, in [low_years, high_years + 1) years."""
        return self.rng.randint(years(low_years), years(high_years + 1) - 1)

    def _person(self, relation: str, *, male: bool, age_days: int, surname: str) -> Person:
        birth = REFERENCE_DATE - timedelta(days=age_days)
        return Person(relation=relation, male=male, birth=birth, surname=surname)

    @staticmethod
    def _age_days(person: Person) -> int:
        return (REFERENCE_DATE - person.birth).days

    def _spouse(self, partner: Person, *, relation: str = Relation.SPOUSE, minimum_days: int = 0) -> Person:
        """The other half of a couple: the husband 2 years younger to 5 years older than the wife.

        Never younger than the legal age of marriage (22 for men, 20 for women) or `minimum_days`.
        """
        rng = self.rng
        husband_older = rng.randint(years(-2), years(5))
        age_days = self._age_days(partner) + (-husband_older if partner.male else husband_older)
        floor = max(years(20 if partner.male else 22), minimum_days)
        if age_days < floor:
            # Drawn above the floor, not clamped to it: a clamp would give thousands the same birthday.
            age_days = floor + rng.randint(0, years(3))
        return self._person(relation, male=not partner.male, age_days=age_days, surname=names.surname(rng))

    def _child(
        self, parents: Sequence[Person], *, relation: str, surname: str, oldest: float = 40, youngest: float = 0
    ) -> Person | None:
        """A child 20–40 years younger than the younger parent, aged youngest–oldest years, or None if none fits."""
        rng = self.rng
        parent_days = min(self._age_days(parent) for parent in parents)
        low = max(years(20), parent_days - years(oldest + 1) + 1)
        high = min(years(40), parent_days - max(years(youngest), 30))
        if low > high:
            return None
        male = rng.random() < 0.515
        return self._person(relation, male=male, age_days=parent_days - rng.randint(low, high), surname=surname)

    def _parent_of(self, person: Person, *, male: bool, surname: str) -> Person | None:
        """A parent 20–40 years older than `person`, at most 96."""
        rng = self.rng
        own = self._age_days(person)
        low, high = own + years(20), min(own + years(40), years(96))
        if low > high:
            return None
        return self._person(Relation.PARENT, male=male, age_days=rng.randint(low, high), surname=surname)

    # ----------------------------------------------------------- families

    def family(self, *, urban: bool) -> Family:
        rng = self.rng
        shape = SHAPES[self._pick(self.shape_weights[urban])]
        members = self._members(shape)
        family = Family(shape=shape, urban=urban, members=members)
        if shape == TENANTS:
            family.tenants = family.floating = True
        elif shape in (SINGLE, YOUNG_COUPLE, NUCLEAR) and rng.random() < LOCAL_RENTERS[urban]:
            family.tenants = True
        self._finish(family)
        return family

    def _pick(self, cumulative: list[int]) -> int:
        ticket = self.rng.random() * cumulative[-1]
        for index, total in enumerate(cumulative):
            if ticket < total:
                return index
        return len(cumulative) - 1

    def _members(self, shape: str) -> list[Person]:
        rng = self.rng
        head_male = rng.random() < (0.55 if shape == SINGLE else 0.35 if shape == ELDERLY_ALONE else 0.78)
        if shape == SINGLE_PARENT:
            head_male = rng.random() < 0.3
        if shape == NUCLEAR:
            head_days = round(rng.triangular(years(25), years(68) - 1, years(46)))
        else:
            head_days = self._born(*HEAD_AGES[shape])
        head = self._person(Relation.HEAD, male=head_male, age_days=head_days, surname=names.surname(rng))
        members = [head]
        if shape in (SINGLE, ELDERLY_ALONE):
            return members
        if shape == SINGLE_PARENT:
            for _ in range(1 if rng.random() < 0.7 else 2):
                child = self._child([head], relation=Relation.CHILD, surname=head.surname, oldest=30)
                if child is not None:
                    members.append(child)
            return members
        tenant_kind = rng.random() if shape == TENANTS else 0.0  # alone < 0.4 ≤ couple < 0.65 ≤ with children
        if shape == TENANTS and tenant_kind < 0.4:
            return members
        spouse = self._spouse(head, minimum_days=years(60) if shape == EMPTY_NEST else 0)
        members.append(spouse)
        husband = head if head.male else spouse
        # Children mostly take the father's surname.
        family_surname = husband.surname if rng.random() < 0.95 else (spouse if head.male else head).surname
        couple = [head, spouse]
        if shape in (YOUNG_COUPLE, EMPTY_NEST):
            return members
        if shape == TENANTS:
            if tenant_kind >= 0.65:
                for _ in range(1 if rng.random() < 0.6 else 2):
                    child = self._child(couple, relation=Relation.CHILD, surname=family_surname, oldest=15)
                    if child is not None:
                        members.append(child)
            return members
        if shape == NUCLEAR:
            count = self._pick([45, 88, 100])  # 1, 2 or 3 children
            for _ in range(count + 1):
                child = self._child(couple, relation=Relation.CHILD, surname=family_surname)
                if child is not None:
                    members.append(child)
            return members
        if shape == WITH_PARENTS:
            for _ in range(self._pick([20, 70, 100])):  # 0, 1 or 2 children
                child = self._child(couple, relation=Relation.CHILD, surname=family_surname)
                if child is not None:
                    members.append(child)
            first_male = rng.random() < 0.4
            first = self._parent_of(head, male=first_male, surname=head.surname if first_male else names.surname(rng))
            if first is not None:
                members.append(first)
                if rng.random() < 0.5:
                    # Both parents at least 20 years older than the head, at most 100.
                    second = self._spouse(
                        first, relation=Relation.PARENT, minimum_days=self._age_days(head) + years(20)
                    )
                    if self._age_days(second) <= years(100):
                        second.surname = names.surname(rng) if first_male else head.surname
                        members.append(second)
            return members
        # THREE_GENERATIONS: an adult child (mostly a son), the child's spouse, grandchildren.
        child = self._child(couple, relation=Relation.CHILD, surname=family_surname, youngest=22)
        if child is None:
            return members
        child.male = rng.random() < 0.7
        members.append(child)
        parents = [child]
        if rng.random() < 0.85:
            in_law = self._spouse(child, relation=Relation.OTHER)
            members.append(in_law)
            parents.append(in_law)
        grandchild_surname = child.surname if child.male or len(parents) == 1 else parents[1].surname
        for _ in range(1 if rng.random() < 0.6 else 2):
            grandchild = self._child(parents, relation=Relation.GRANDCHILD, surname=grandchild_surname, oldest=20)
            if grandchild is not None:
                members.append(grandchild)
        return members

    # ---------------------------------------------------------- details

    def _finish(self, family: Family) -> None:
        """Names, ID numbers, residence, work, phones, party membership and tags."""
        rng = self.rng
        urban = family.urban
        home = HOME_AREA_CODE
        if family.floating:
            from_shandong = rng.random() < FLOATING_FROM_SHANDONG
            home = rng.choice(SHANDONG_AREA_CODES if from_shandong else OTHER_PROVINCE_AREA_CODES)
        left_behind = (
            family.shape == THREE_GENERATIONS
            and not urban
            and sum(1 for m in family.members if m.relation in (Relation.CHILD, Relation.OTHER)) == 2
            and any(m.relation == Relation.GRANDCHILD and m.age < 16 for m in family.members)
            and rng.random() < LEFT_BEHIND
        )
        moved_in = self._household_moved_in(family)
        used_names: set[str] = set()
        for person in family.members:
            for _ in range(5):
                person.name = person.surname + names.given_name(rng, male=person.male, birth_year=person.birth.year)
                if person.name not in used_names:
                    break
            used_names.add(person.name)
            person.area_code = home
            if family.floating:
                person.residence = Residence.NOT_REGISTERED_LIVING
                if person.relation == Relation.SPOUSE and rng.random() < 0.3:
                    person.area_code = rng.choice(SHANDONG_AREA_CODES + OTHER_PROVINCE_AREA_CODES)
            elif person.relation in (Relation.SPOUSE, Relation.OTHER) and rng.random() < MARRIED_IN_FROM_ELSEWHERE:
                person.area_code = rng.choice(
                    NEARBY_AREA_CODES if rng.random() < 0.7 else SHANDONG_AREA_CODES + OTHER_PROVINCE_AREA_CODES
                )
            person.id_number, person.birth = self.ids.issue(person.area_code, person.birth, male=person.male)
            person.moved_in_on = max(person.birth, moved_in)
            if person.relation == Relation.OTHER:  # the child's spouse, who married into the family
                married = person.birth + timedelta(days=rng.randint(years(20), years(28)))
                person.moved_in_on = max(moved_in, min(married, LATEST_MOVE_IN))
            age = person.age
            if self._lives_away(person, family, age, left_behind=left_behind):
                person.residence = Residence.REGISTERED_AWAY
            self._work(person, family, age)
            self._phone_and_party(person, family, age)
            self._person_tags(person, family, age, left_behind=left_behind)
        self._household_tags(family)

    def _lives_away(self, person: Person, family: Family, age: int, *, left_behind: bool) -> bool:
        """Registered here, living elsewhere (人户分离): the parents of left-behind children, some young adults."""
        if family.floating or person.relation == Relation.HEAD:
            return False
        if left_behind and person.relation in (Relation.CHILD, Relation.OTHER):
            return True
        return 18 <= age <= 45 and self.rng.random() < AWAY_FROM_HOME[family.urban]

    def _household_moved_in(self, family: Family) -> date:
        rng = self.rng
        head = family.head
        latest = LATEST_MOVE_IN
        if family.tenants:
            return latest - timedelta(days=rng.randint(0, years(6)))
        if not family.urban:
            # Villagers set up their household when they marry, and stay.
            return min(head.birth + timedelta(days=rng.randint(years(20), years(28))), latest)
        # Flats: bought or moved into at some point since the compounds went up.
        earliest = max(date(1995, 1, 1), head.birth + timedelta(days=years(22)))
        if earliest >= latest:
            return latest
        return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))

    def _work(self, person: Person, family: Family, age: int) -> None:
        rng = self.rng
        if person.residence == Residence.REGISTERED_AWAY:
            person.employment = "外出求学" if age <= 22 and rng.random() < 0.5 else "外出务工"
        elif age < 6:
            person.employment = "学龄前儿童"
        elif age < 18:
            if age >= 12 and rng.random() < DROPOUT:
                # Left blank: the tag is sensitive (重点青少年), the employment field is not.
                person.tags.append("dropout")
            else:
                person.employment = "在校学生"
        elif age <= 22 and rng.random() < 0.6:
            person.employment = "在校学生"
        elif family.urban and not family.floating and age >= (60 if person.male else 55):
            person.employment = "退休"
        elif age >= 70 or (age >= 60 and family.floating):
            person.employment = "无固定职业"
        elif age < 60 and rng.random() < UNEMPLOYED[family.urban]:
            person.employment = "失业"
            person.tags.append("unemployed")
        else:
            values, totals = WORK["tenant" if family.floating else "urban" if family.urban else "rural"]
            person.employment = rng.choices(values, cum_weights=totals)[0]

    def _phone_and_party(self, person: Person, family: Family, age: int) -> None:
        rng = self.rng
        if age < 18:
            return
        if rng.random() < (0.96 if age < 70 else 0.7 if age < 80 else 0.35):
            person.phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"
        if age < 30:
            chance = 0.04
        elif person.male:
            chance = 0.10 if age < 60 else 0.13
        else:
            chance = 0.05
        if family.floating:
            chance /= 2
        person.party = rng.random() < chance

    def _person_tags(self, person: Person, family: Family, age: int, *, left_behind: bool) -> None:
        rng = self.rng
        tags = person.tags
        if age >= 80:
            tags.append("elderly_80")
        if family.shape == ELDERLY_ALONE:
            tags.append("living_alone")
        if person.male and 30 <= age <= 70 and rng.random() < VETERAN:
            tags.append("veteran")
        disability = next(rate for below, rate in DISABILITY if age < below)
        if rng.random() < disability:
            tags.append(rng.choice(DISABILITY_KINDS))
        if rng.random() < SERIOUS_ILLNESS[age >= 40]:
            tags.append("serious_illness")
        if 18 <= age <= 65:
            for code, rate in SPECIAL_GROUPS:
                if rng.random() < rate:
                    tags.append(code)
        if left_behind and person.relation == Relation.GRANDCHILD and age < 16:
            tags.append("left_behind_child")

    def _household_tags(self, family: Family) -> None:
        rng = self.rng
        tags = family.tags
        if family.shape == ELDERLY_ALONE:
            tags.append("elderly_alone")
        elif family.shape == EMPTY_NEST:
            tags.append("empty_nest")
        if family.tenants:
            tags += ["rental", "tenant"]
        if family.floating:
            tags.append("floating")
            return
        roll = rng.random()
        tekun = TEKUN.get(family.shape, TEKUN_OTHER)
        dibao = DIBAO.get(family.shape, DIBAO_OTHER)
        if roll < tekun:
            tags.append("tekun")
        elif roll < tekun + dibao:
            tags.append("dibao")
        if "tekun" in tags or "dibao" in tags or rng.random() < LOW_INCOME_OTHER_HEADS:
            family.head.tags.append("low_income")


# ------------------------------------------------------------- addresses


@dataclass(frozen=True)
class Address:
    unit: str
    room: str
    text: str


def apartment_addresses(building: Building, prefix: str) -> Iterator[Address]:
    """`1单元301`: households spread evenly over the units, two flats a floor."""
    units = building.unit_count
    base, extra = divmod(building.household_count, units)
    for unit in range(1, units + 1):
        for number in range(base + (1 if unit <= extra else 0)):
            floor, door = divmod(number, 2)
            room = f"{floor + 1}{door + 1:02d}"
            yield Address(f"{unit}单元", room, f"{prefix}{building.name}{unit}单元{room}")


def house_addresses(building: Building, prefix: str) -> Iterator[Address]:
    """A village row (第三排) of houses numbered 1号, 2号 …"""
    for number in range(1, building.household_count + 1):
        yield Address("", f"{number}号", f"{prefix}{building.name}{number}号")


# ---------------------------------------------------------------- writing


@dataclass
class _Planned:
    building: Building
    address: Address
    family: Family


def residents_populate(
    *,
    actor: Any,
    buildings: Iterable[Building],
    areas: dict[str, Area],
    urban_town_codes: set[str],
    rng: random.Random,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Fill every building with `household_count` households and their members; (households, residents).

    `buildings` come grouped by grid (as `step_housing` creates them), each
    with its grid, micro-grid and compound attached; `areas` maps codes to
    areas for the town and community names of rural addresses.
    """
    tags = {tag.code: tag for tag in Tag.objects.all()}
    maker = FamilyMaker(rng)
    pending: list[_Planned] = []
    totals = [0, 0]

    def flush() -> None:
        if not pending:
            return
        households = households_bulk_create(
            actor=actor,
            specs=[
                HouseholdSpec(
                    grid=item.building.grid,
                    microgrid=item.building.microgrid,
                    compound=item.building.compound,
                    building=item.building,
                    unit=item.address.unit,
                    room=item.address.room,
                    address=item.address.text,
                    tags=[tags[code] for code in item.family.tags if code in tags],
                )
                for item in pending
            ],
        )
        specs = [
            ResidentSpec(
                household=household,
                name=person.name,
                id_number=person.id_number,
                relation=person.relation,
                phone=person.phone,
                residence=person.residence,
                is_party_member=person.party,
                employment=person.employment,
                tags=[tags[code] for code in person.tags if code in tags],
                moved_in_on=person.moved_in_on,
            )
            for household, item in zip(households, pending, strict=True)
            for person in item.family.members
        ]
        for start in range(0, len(specs), RESIDENT_BATCH):
            residents_bulk_register(actor=actor, specs=specs[start : start + RESIDENT_BATCH])
        totals[0] += len(households)
        totals[1] += len(specs)
        pending.clear()
        if progress is not None:
            progress(totals[0], totals[1])

    for _grid_id, grid_buildings in groupby(buildings, key=lambda building: building.grid_id):
        planned: list[_Planned] = []
        for building in grid_buildings:
            grid = building.grid
            urban = grid.code[:9] in urban_town_codes
            if urban:
                compound = building.compound
                prefix = f"{compound.address}{compound.name}" if compound is not None else ""
                addresses = apartment_addresses(building, prefix)
            else:
                town = areas[grid.code[:9]].name
                prefix = f"{town}{building.compound.name}" if building.compound is not None else town
                addresses = house_addresses(building, prefix)
            planned.extend(_Planned(building, address, maker.family(urban=urban)) for address in addresses)
        _choose_party_leads(planned, rng)
        pending.extend(planned)
        if len(pending) >= HOUSEHOLD_CHUNK:
            flush()
    flush()
    return totals[0], totals[1]


def _choose_party_leads(planned: list[_Planned], rng: random.Random) -> None:
    """A few lead party-member households (党员中心户) per grid, among the local homes of party members."""
    candidates = [
        item for item in planned if not item.family.floating and any(member.party for member in item.family.members)
    ]
    wanted = max(1, round(len(planned) / HOUSEHOLDS_PER_PARTY_LEAD))
    for item in rng.sample(candidates, min(wanted, len(candidates))):
        item.family.tags.append("party_lead")
