"""A year of cases for the demo county, and the people who handle them.

Two steps of the generator use this module:

1. `case_staff_create`: the categories each county department owns
   (`DepartmentCategory`, through `department_categories_set`), one or two
   handlers per department, and a staff account on every community and town
   that has none yet, so that every tier a case can climb has someone to act.
2. `cases_populate`: a year of cases ending at `now`. Each case's history is
   *simulated* by `_Story`, which applies exactly the changes of the lifecycle
   services and of the SLA sweep (same columns, clocks from the working
   calendar and the SLA policies) to a plain record. The histories are written
   in bulk (`executemany` INSERTs of Case and CaseStep rows; no notices for
   history). The most recent open cases are instead replayed through the services
   (`case_submit`, `case_accept` … with `now=`), so they carry notices, and a
   final `sla_sweep(now=now)` is the worker's first pass over the new county.

Case ids are pre-allocated (the generator owns the database and runs in one
transaction), so a history knows its number (`YYYYMMDD` + 8-digit id, as
`case_submit` makes it) and a duplicate knows the number it is merged into
before anything is written; afterwards the id sequence is moved past them.
`case_history_replay` is public so tests can check a simulated history against
the services.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import shapely
from django.conf import settings
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import DateTimeField, DecimalField, JSONField, Max, Model
from django.utils.translation import gettext as _

from gridding.geo import geometry_from_geojson
from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department, RoleAssignment, User
from gridgov.accounts.services import UserSpec, users_bulk_create
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Building
from gridgov.areas.selectors import grid_index_invalidate
from gridgov.cases.calendar import WorkingCalendar
from gridgov.cases.choices import (
    TIER_ORDER,
    TIMED_STATUSES,
    CaseKind,
    CaseSource,
    CaseStatus,
    CloseReason,
    Rating,
    SlaLight,
    StepAction,
    Tier,
    TimeUnit,
    Urgency,
)
from gridgov.cases.models import Case, CaseStep, Category, DepartmentCategory, SlaPolicy
from gridgov.cases.selectors import sla_policy_for, working_calendar
from gridgov.cases.services import (
    REPORTER_PHONE_FIELD,
    CaseInput,
    case_accept,
    case_close,
    case_decide_extension,
    case_dispatch,
    case_escalate,
    case_rate,
    case_reopen,
    case_report_back,
    case_request_extension,
    case_sign_for,
    case_submit,
    case_verify,
    case_void,
    department_categories_set,
    sla_sweep,
)
from gridgov.cases.services.lifecycle import TIER_LIMIT_FIELD, WARN_SHARE
from gridgov.demo import names
from gridgov.demo.people import MOBILE_PREFIXES
from gridgov.registry.crypto import field_encrypt
from gridgov.registry.identifiers import phone_mask

# ------------------------------------------------------------------ departments and staff

# Seeded categories each county department owns, by department code suffix (see
# `generator.DEPARTMENTS`). The most specific owned category decides, as in the
# sweep: 0301 施工扰民 goes to 生态环境 although 03 施工管理 belongs to 住建.
# 0601 邻里纠纷 and 99 其他 belong to no department: communities and towns settle them.
DEPARTMENT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "CGJ": ("01", "02", "0304", "04"),  # 城市管理局: 市容环境, 宣传广告, 违规建设, 街面秩序
    "ZJJ": ("03", "0302", "0303", "0501", "0604", "0608"),  # 住建: 工地, 燃气, 物业
    "SCJGJ": ("0404",),  # 市场监管: 无照经营
    "GAJ": ("0403", "0602", "0603", "0605", "0606"),  # 公安 (交警): 停车, 噪音, 养犬, 群租房
    "STHJJ": ("0301",),  # 生态环境: 施工噪声
    "YJGLJ": ("05", "0502", "0607"),  # 应急管理: 突发事件, 火灾隐患, 消防通道
    "JTYSJ": ("0405", "0503"),  # 交通运输: 共享单车, 道路塌陷
    "SWJ": ("0504",),  # 水务: 汛期积水、内涝
    "WJJ": ("0505",),  # 卫生健康: 公共卫生事件
}
# Handlers per department; the others get one. The sample `handler` login is one of 城管's.
HANDLERS_PER_DEPARTMENT: dict[str, int] = {"CGJ": 2, "ZJJ": 2, "GAJ": 2, "SCJGJ": 2}
DEPARTMENT_HANDLER_PREFIX = "dh"  # + lower-case department suffix + number: dhcgj1
COMMUNITY_STAFF_PREFIX = "cs"  # + 12-digit community code
TOWN_STAFF_PREFIX = "ts"  # + 9-digit town code


@dataclass(frozen=True)
class HandlerLogin:
    username: str
    department_code: str
    department_name: str


def case_staff_create(
    *,
    actor: Any,
    departments: dict[str, Department],
    areas: dict[str, Area],
    password: str,
    rng: random.Random,
) -> list[HandlerLogin]:
    """Departments' categories, department handlers, and staff on every community and town without any.

    `departments` and `areas` are by code. Returns the new department handlers' logins.
    """
    categories = {category.code: category for category in Category.objects.all()}
    by_suffix = {code.rsplit("-", 1)[-1]: department for code, department in departments.items()}
    for suffix, codes in DEPARTMENT_CATEGORIES.items():
        department = by_suffix.get(suffix)
        if department is not None:
            department_categories_set(
                actor=actor, department=department, categories=[categories[c] for c in codes if c in categories]
            )
    book = names.NameBook(rng)
    specs: list[UserSpec] = []
    logins: list[HandlerLogin] = []
    for code, department in sorted(departments.items()):
        suffix = code.rsplit("-", 1)[-1]
        existing = RoleAssignment.objects.filter(role=Role.DEPARTMENT_HANDLER, department=department).count()
        for number in range(1, max(HANDLERS_PER_DEPARTMENT.get(suffix, 1) - existing, 0) + 1):
            username = f"{DEPARTMENT_HANDLER_PREFIX}{suffix.lower()}{number}"
            specs.append(UserSpec(username, book.person(), Role.DEPARTMENT_HANDLER, department.area, department))
            logins.append(HandlerLogin(username, department.code, department.name))
    staffed = set(
        RoleAssignment.objects.filter(role__in=[Role.COMMUNITY_STAFF, Role.TOWN_STAFF]).values_list(
            "area__code", flat=True
        )
    )
    for code, area in sorted(areas.items()):
        if code in staffed:
            continue
        if area.level == AreaLevel.COMMUNITY:
            specs.append(UserSpec(f"{COMMUNITY_STAFF_PREFIX}{code}", book.person(), Role.COMMUNITY_STAFF, area))
        elif area.level == AreaLevel.TOWN:
            specs.append(UserSpec(f"{TOWN_STAFF_PREFIX}{code}", book.person(), Role.TOWN_STAFF, area))
    users_bulk_create(actor=actor, specs=specs, password=password)
    return logins


# ------------------------------------------------------------------ a faster working calendar


class WorkingClock:
    """`WorkingCalendar.add` over a fixed range of days, by binary search instead of a day-by-day walk.

    A year of cases needs about a million deadlines; the calendar walks the
    days of each one (≈ 0.3 ms for 5 working days). Same results: limits of
    zero and moments outside the precomputed range go to the calendar itself.
    """

    def __init__(self, calendar: WorkingCalendar, first: date, last: date) -> None:
        self.calendar = calendar
        self.timezone = calendar.timezone
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        self.before: list[timedelta] = []  # working time in the range before each interval
        self.through: list[timedelta] = []  # … up to the end of each interval
        self.working_days: list[date] = []
        total = timedelta(0)
        day = first
        while day <= last:
            if calendar.is_working_day(day):
                self.working_days.append(day)
                for opens, closes in calendar.office_hours:
                    start = datetime.combine(day, opens, self.timezone)
                    end = datetime.combine(day, closes, self.timezone)
                    self.starts.append(start)
                    self.ends.append(end)
                    self.before.append(total)
                    total += end - start
                    self.through.append(total)
            day += timedelta(days=1)
        self.hours_per_day = sum(
            (datetime.combine(first, closes) - datetime.combine(first, opens)).total_seconds() / 3600
            for opens, closes in calendar.office_hours
        )

    def add(self, start: datetime, amount: float, unit: str) -> datetime:
        if unit == TimeUnit.NATURAL_HOUR:
            return start + timedelta(hours=amount)
        if amount > 0 and self.starts:
            local = start.astimezone(self.timezone)
            if unit == TimeUnit.WORKING_HOUR:
                found = self._add_working_time(local, timedelta(hours=amount))
            elif unit == TimeUnit.WORKING_DAY:
                found = self._add_working_days(local, int(amount))
            else:
                found = None
            if found is not None:
                return found
        return self.calendar.add(start, amount, unit)

    def _add_working_time(self, local: datetime, remaining: timedelta) -> datetime | None:
        if local < self.starts[0]:
            return None
        # The first interval that closes after `local` (one closing exactly then is used up).
        index = bisect.bisect_right(self.ends, local)
        if index >= len(self.starts):
            return None
        begin = max(self.starts[index], local)
        target = self.before[index] + (begin - self.starts[index]) + remaining
        # The first interval whose end is at or after the target (a limit ending at closing time is due then).
        found = bisect.bisect_left(self.through, target, lo=index)
        if found >= len(self.starts):
            return None
        return self.starts[found] + (target - self.before[found])

    def _add_working_days(self, local: datetime, days: int) -> datetime | None:
        if days <= 0 or local.date() < self.working_days[0]:
            return None
        index = bisect.bisect_right(self.working_days, local.date()) + days - 1
        if index >= len(self.working_days):
            return None
        return self.calendar.close_of_day(self.working_days[index])

    def span(self, start: datetime, hours: float, unit: str) -> datetime:
        """`hours` of the case's kind of time after `start` (working-day policies count office hours)."""
        if unit == TimeUnit.WORKING_DAY:
            return self.add(start, hours, TimeUnit.WORKING_HOUR)
        return self.add(start, hours, unit)

    def limit_hours(self, amount: Decimal, unit: str) -> float:
        """A limit in hours of its own kind (working days count their office hours)."""
        return float(amount) * (self.hours_per_day if unit == TimeUnit.WORKING_DAY else 1)


# ------------------------------------------------------------------ the county as the cases see it


@dataclass
class GridPlace:
    """A grid with the people who work its cases and the places where cases happen."""

    id: int
    code: str
    community_id: int
    town_id: int
    worker_id: int
    urban: bool
    households: int
    spots: list[tuple[float, float, str]]  # (lon, lat, address): the grid's buildings
    polygon: Any  # prepared shapely polygon, to keep jittered points inside


@dataclass
class CaseCounty:
    grids: list[GridPlace]
    community_staff: dict[int, int]  # community id → user id
    town_staff: dict[int, int]  # town id → user id
    handlers: dict[int, list[int]]  # department id → user ids
    department_names: dict[int, str]
    owner_of: dict[int, int]  # category id → id of the department owning it (most specific)
    leaves: list[Category]  # active categories without children: what cases are filed under
    command_id: int  # the county command centre: registers hotline cases, approves extensions
    residents: dict[int, list[tuple[int, str]]]  # grid id → resident accounts (user id, full name)


def _first_holders(role: str) -> dict[int, int]:
    holders: dict[int, int] = {}
    for area_id, user_id in (
        RoleAssignment.objects.filter(role=role, user__is_active=True).order_by("pk").values_list("area_id", "user_id")
    ):
        holders.setdefault(area_id, user_id)
    return holders


def case_county_load() -> CaseCounty:
    """Grids, staff, departments and categories as they are in the database now."""
    areas = {area.pk: area for area in Area.objects.filter(level__in=[AreaLevel.TOWN, AreaLevel.COMMUNITY])}
    workers = _first_holders(Role.GRID_WORKER)
    spots: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    households: dict[int, int] = defaultdict(int)
    for building in Building.objects.select_related("compound").order_by("pk"):
        households[building.grid_id] += building.household_count
        if building.lon is None or building.lat is None:
            continue
        compound = building.compound
        address = f"{compound.address}{compound.name}{building.name}" if compound else building.name
        spots[building.grid_id].append((building.lon, building.lat, address[:200]))
    grids: list[GridPlace] = []
    for grid in Area.objects.filter(level=AreaLevel.GRID).order_by("code"):
        community = areas.get(grid.parent_id or 0)
        if community is None or community.parent_id not in areas or grid.pk not in workers or not spots[grid.pk]:
            continue
        polygon = geometry_from_geojson(grid.geometry) if grid.geometry else None
        if polygon is not None:
            shapely.prepare(polygon)
        grids.append(
            GridPlace(
                id=grid.pk,
                code=grid.code,
                community_id=community.pk,
                town_id=community.parent_id,
                worker_id=workers[grid.pk],
                urban=int(grid.code[6:9]) < 100,  # GB/T 10114: 001–099 street offices, 1xx towns
                households=max(households[grid.pk], 1),
                spots=spots[grid.pk],
                polygon=polygon,
            )
        )
    handlers: dict[int, list[int]] = defaultdict(list)
    for department_id, user_id in (
        RoleAssignment.objects.filter(role=Role.DEPARTMENT_HANDLER, user__is_active=True, department__isnull=False)
        .order_by("pk")
        .values_list("department_id", "user_id")
    ):
        handlers[department_id].append(user_id)
    command = RoleAssignment.objects.filter(role=Role.COUNTY_COMMAND, user__is_active=True).order_by("pk").first()
    if command is None:
        raise RuntimeError("the demo county needs a county command centre account before its cases")
    residents: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for area_id, user_id, full_name in (
        RoleAssignment.objects.filter(role=Role.RESIDENT, user__is_active=True, area__level=AreaLevel.GRID)
        .order_by("pk")
        .values_list("area_id", "user_id", "user__full_name")
    ):
        residents[area_id].append((user_id, full_name))
    categories = list(Category.objects.order_by("code"))
    parents = {category.parent_id for category in categories}
    return CaseCounty(
        grids=grids,
        community_staff=_first_holders(Role.COMMUNITY_STAFF),
        town_staff=_first_holders(Role.TOWN_STAFF),
        handlers=dict(handlers),
        department_names=dict(Department.objects.values_list("pk", "name")),
        owner_of=_category_owners(categories),
        leaves=[c for c in categories if c.pk not in parents and c.is_active],
        command_id=command.user_id,
        residents=dict(residents),
    )


def _category_owners(categories: list[Category]) -> dict[int, int]:
    """Category id → the department the sweep dispatches it to: the most specific owned
    code wins, then the most local department (all the demo's are county departments)."""
    owners: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for code, department_id, path in DepartmentCategory.objects.values_list(
        "category__code", "department_id", "department__area__path"
    ):
        owners[code].append((len(path), -department_id, department_id))
    owner_of: dict[int, int] = {}
    for category in categories:
        for length in range(len(category.code), 0, -2):
            candidates = owners.get(category.code[:length])
            if candidates:
                owner_of[category.pk] = max(candidates)[2]
                break
    return owner_of


# ------------------------------------------------------------------ how a county's year of cases looks

# Sources: grid workers' patrols and door-to-door visits find most cases (≈ 60 %).
SOURCE_WEIGHTS: tuple[tuple[str, float], ...] = (
    (CaseSource.GRID_WORKER, 45),
    (CaseSource.PATROL, 15),
    (CaseSource.RESIDENT, 15),
    (CaseSource.HOTLINE, 15),
    (CaseSource.WALK_IN, 10),
)
KIND_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {
    CaseSource.GRID_WORKER: ((CaseKind.PATROL_FINDING, 70), (CaseKind.HELP, 20), (CaseKind.COMPLAINT, 10)),
    CaseSource.PATROL: ((CaseKind.PATROL_FINDING, 1),),
    CaseSource.RESIDENT: (
        (CaseKind.COMPLAINT, 45),
        (CaseKind.HELP, 30),
        (CaseKind.SUGGESTION, 12),
        (CaseKind.CONSULTATION, 13),
    ),
    CaseSource.HOTLINE: (
        (CaseKind.COMPLAINT, 55),
        (CaseKind.HELP, 25),
        (CaseKind.CONSULTATION, 12),
        (CaseKind.SUGGESTION, 8),
    ),
    CaseSource.WALK_IN: (
        (CaseKind.HELP, 40),
        (CaseKind.COMPLAINT, 35),
        (CaseKind.CONSULTATION, 15),
        (CaseKind.SUGGESTION, 10),
    ),
}
# Hour of day (0–23) of intake by source: staff by day, residents into the evening,
# walk-ins in office hours (the community office is closed on days off).
HOUR_WEIGHTS: dict[str, tuple[float, ...]] = {
    CaseSource.GRID_WORKER: (0, 0, 0, 0, 0, 0, .2, 1, 3, 5, 5, 4, 1.5, 2, 4, 4.5, 4, 2.5, 1, .4, .2, 0, 0, 0),
    CaseSource.PATROL: (0, 0, 0, 0, 0, 0, .2, 1, 3, 5, 5, 4, 1.5, 2, 4, 4.5, 4, 2.5, 1, .4, .2, 0, 0, 0),
    CaseSource.RESIDENT: (.3, .2, .1, .1, .1, .2, .6, 1.5, 3, 4, 4, 3.5, 2.5, 2.5, 3, 3, 3, 3, 3, 3.5, 3.5, 3, 2, 1),
    CaseSource.HOTLINE: (.3, .2, .2, .1, .1, .2, .5, 1.5, 4, 5, 5, 4, 2.5, 3, 4, 4, 4, 3, 2, 2, 1.5, 1, .6, .4),
    CaseSource.WALK_IN: (0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 2.5, 0, 0, 3, 3, 2.5, 1, 0, 0, 0, 0, 0, 0),
}  # fmt: skip
# Where cases end up: 小事不出网格、大事不出社区、难事不出镇街 (the rest goes to departments).
TIER_SHARES: tuple[tuple[str, float], ...] = (
    (Tier.GRID, 0.805),
    (Tier.COMMUNITY, 0.115),
    (Tier.TOWN, 0.05),
    (Tier.DEPARTMENT, 0.03),
)
# Relative frequency of each leaf category: 社区服务 and 市容环境 lead.
LEAF_WEIGHTS: dict[str, float] = {
    "0101": 9, "0102": 4, "0103": 5, "0104": 6, "0105": 2, "0106": 2,
    "0201": 4.5, "0202": 1.5, "0203": 1,
    "0301": 3, "0302": 2, "0303": 1.5, "0304": 1.5,
    "0401": 4, "0402": 3, "0403": 3.5, "0404": 1, "0405": 2.5,
    "0501": 0.3, "0502": 1, "0503": 0.4, "0504": 0.5, "0505": 0.3,
    "0601": 5, "0602": 5, "0603": 4, "0604": 6, "0605": 5, "0606": 1.5, "0607": 3, "0608": 2.5,
    "9901": 8,
}  # fmt: skip
# How hard a category is to settle (1 easy … 3 hard): hard ones climb the tiers more often.
DIFFICULTY: dict[str, int] = {
    "0102": 2, "0104": 2, "0202": 2, "0301": 2, "0302": 3, "0303": 2, "0304": 3, "0401": 2, "0404": 3,
    "0501": 3, "0502": 2, "0503": 3, "0504": 3, "0505": 3, "0601": 2, "0602": 2, "0604": 2, "0605": 2,
    "0606": 3, "0608": 3,
}  # fmt: skip
TIER_DIFFICULTY_FACTOR: dict[str, tuple[float, float, float]] = {
    Tier.GRID: (1.0, 0.7, 0.4),
    Tier.COMMUNITY: (0.5, 1.3, 1.5),
    Tier.TOWN: (0.3, 1.0, 2.0),
    Tier.DEPARTMENT: (0.6, 1.0, 2.0),
}
# Seasons: garbage, noise and building sites peak in summer (flooding in the rainy
# season), fire and gas hazards in the heating season. Amplitude of the peak.
SUMMER_PEAK: dict[str, float] = {
    "0101": 0.5, "0102": 0.3, "0106": 0.4, "0301": 0.6, "0302": 0.6, "0401": 0.4, "0602": 0.7, "0603": 0.3,
    "0504": 2.0,
}  # fmt: skip
WINTER_PEAK: dict[str, float] = {"0501": 0.8, "0502": 0.6, "0608": 0.8}
# Villages have no property companies or shared bikes, but more heaps, disputes and floods.
RURAL_FACTOR: dict[str, float] = {
    "0201": 0.6, "0202": 0.3, "0401": 0.5, "0402": 0.4, "0403": 0.6, "0405": 0.1, "0604": 0.2, "0605": 0.4,
    "0606": 0.2, "0104": 1.6, "0304": 1.5, "0504": 2.0, "0601": 1.4, "0603": 1.3,
}  # fmt: skip
# Volume by month (January … December), on top of the categories' own seasons.
MONTH_FACTOR = (0.82, 0.80, 0.95, 1.0, 1.05, 1.15, 1.25, 1.22, 1.08, 0.98, 0.92, 0.85)
DAY_OFF_FACTOR = 0.55  # weekends and public holidays
# 春节 (first day of the lunar year): offices close and people go home.
SPRING_FESTIVALS: tuple[date, ...] = (
    date(2020, 1, 25), date(2021, 2, 12), date(2022, 2, 1), date(2023, 1, 22), date(2024, 2, 10),
    date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6), date(2028, 1, 26), date(2029, 2, 13),
    date(2030, 2, 3), date(2031, 1, 23), date(2032, 2, 11), date(2033, 1, 31), date(2034, 2, 19),
    date(2035, 2, 8),
)  # fmt: skip
URGENCY_WEIGHTS: dict[str, tuple[float, float, float]] = {  # normal, urgent, critical
    "": (0.95, 0.045, 0.005),
    "05": (0.5, 0.35, 0.15),
    "0501": (0.4, 0.4, 0.2),
    "0502": (0.8, 0.17, 0.03),
    "0607": (0.7, 0.25, 0.05),
    "0608": (0.6, 0.3, 0.1),
}
URGENCIES = (Urgency.NORMAL, Urgency.URGENT, Urgency.CRITICAL)
# Odds of the less common turns a case takes.
DUPLICATE_ODDS: dict[str, float] = {CaseSource.RESIDENT: 0.04, CaseSource.HOTLINE: 0.05, CaseSource.WALK_IN: 0.02}
NOT_RESPONSIBLE_ODDS: dict[str, float] = {CaseSource.HOTLINE: 0.03, CaseSource.RESIDENT: 0.01, CaseSource.WALK_IN: 0.01}
VOID_ODDS = 0.004
LATE_ODDS = (("response", 0.01), ("handling", 0.012), ("verify", 0.05))
STUCK_ODDS = 0.25  # of department cases: weeks overdue
EXTENSION_ODDS = 0.2  # of department cases
DIRECT_DISPATCH_ODDS = 0.5  # of hotline cases for a department: the command centre dispatches at once
VERIFY_FAIL_ODDS = 0.015
NOT_FIXED_ODDS = 0.012
RATED_ODDS = 0.85  # of cases with someone to rate them
REOPEN_ODDS = 0.03  # of rated cases
RATING_WEIGHTS = {
    CloseReason.FIXED: ((Rating.SATISFIED, 80), (Rating.BASICALLY_SATISFIED, 16), (Rating.DISSATISFIED, 4)),
    CloseReason.NOT_FIXED: ((Rating.SATISFIED, 20), (Rating.BASICALLY_SATISFIED, 45), (Rating.DISSATISFIED, 35)),
}
ANONYMOUS_ODDS: dict[str, float] = {CaseSource.RESIDENT: 0.1, CaseSource.HOTLINE: 0.05}
PHONE_ODDS: dict[str, float] = {CaseSource.HOTLINE: 1.0, CaseSource.WALK_IN: 0.6, CaseSource.RESIDENT: 0.5}
RESIDENT_ACCOUNT_ODDS = 0.35  # a resident report in a grid where demo residents have accounts comes from one
EXTENSION_HOURS = Decimal("14.00")  # two working days (natural hours for urgent policies)
JITTER_DEGREES = 0.00015  # ≈ 15 m around a building


# ------------------------------------------------------------------ what people write
#
# Synthetic data like the names in `names`, not interface text: stored in the
# cases as if people had typed it, so not translated.

REPORTS: dict[str, tuple[tuple[str, str], ...]] = {
    "0101": (
        ("路边生活垃圾无人清运", "小区东门外绿化带旁堆放生活垃圾，已有异味，请尽快清运。"),
        ("垃圾桶满溢", "垃圾桶已经满溢，周边散落垃圾，招引蚊蝇。"),
        ("沟渠内倾倒垃圾", "路边排水沟内有人倾倒生活垃圾，影响排水。"),
    ),
    "0102": (
        ("空地积存建筑垃圾", "闲置空地上积存大量建筑垃圾和渣土，长期无人清理。"),
        ("装修垃圾随意堆放", "楼下堆放装修垃圾多日，占用公共空间。"),
    ),
    "0103": (
        ("路面油污严重", "路面有大片油污，行人容易滑倒。"),
        ("道路积尘未清扫", "道路两侧积尘较多，车辆经过时扬尘严重。"),
    ),
    "0104": (
        ("楼道堆放杂物", "单元楼道内堆放纸箱和旧家具，影响通行。"),
        ("路边乱堆柴草杂物", "路边堆放柴草和杂物，存在火灾隐患。"),
    ),
    "0105": (("墙面乱涂乱画", "小区围墙上有人喷涂广告和涂鸦，影响美观。"),),
    "0106": (
        ("绿化带内杂物多", "绿化带内有塑料袋、饮料瓶等杂物，长期无人打理。"),
        ("公共绿地被毁种菜", "有人在公共绿地开荒种菜，破坏绿化。"),
    ),
    "0201": (
        ("单元门张贴小广告", "单元门和电线杆上张贴大量开锁、办证小广告。"),
        ("地面喷涂小广告", "人行道地面被喷涂电话号码广告。"),
    ),
    "0202": (("商铺违规设置落地广告牌", "商铺在人行道上摆放落地广告牌，影响通行。"),),
    "0203": (("门头牌匾破损", "临街商铺门头牌匾破损松动，大风天气有坠落风险。"),),
    "0301": (
        ("夜间施工噪音扰民", "附近工地晚上十点后仍在施工，噪音很大，影响休息。"),
        ("装修噪音扰民", "楼上住户中午和周末装修，噪音影响休息。"),
    ),
    "0302": (("工地扬尘严重", "工地土方未覆盖，刮风时扬尘严重。"),),
    "0303": (("渣土车沿路遗撒", "渣土车运输途中沿路遗撒泥土，路面脏乱。"),),
    "0304": (
        ("楼顶私搭乱建", "有住户在楼顶私自搭建彩钢板房。"),
        ("未经审批占地建房", "路边空地上有人未经审批建房。"),
    ),
    "0401": (
        ("早市摊贩占道经营", "早市摊贩占用人行道经营，行人只能走机动车道。"),
        ("夜市占道烧烤", "夜间路边烧烤摊占道经营，油烟扰民。"),
    ),
    "0402": (("商户店外经营", "临街商户在门前摆放商品和桌椅，占用人行道。"),),
    "0403": (
        ("车辆占用盲道停放", "多辆机动车长期占用人行道和盲道停放。"),
        ("废旧车辆长期占道", "一辆废旧车辆长期停放在路边，无人挪走。"),
    ),
    "0404": (("流动摊点无照经营", "小区门口有人无照摆摊售卖熟食。"),),
    "0405": (("共享单车乱停放", "路口共享单车大量堆积，堵塞人行通道。"),),
    "0501": (("疑似燃气泄漏", "楼道内有明显燃气味道，请尽快处理。"),),
    "0502": (
        ("电动车楼道充电", "有住户把电动车推进楼道飞线充电，存在火灾隐患。"),
        ("私拉乱接电线", "沿街商铺私拉乱接电线，存在安全隐患。"),
    ),
    "0503": (("路面塌陷", "路面出现塌陷坑，车辆通行有危险。"),),
    "0504": (
        ("暴雨后路口积水", "暴雨后路口积水较深，车辆和行人无法通行。"),
        ("大风刮倒树木", "大风把路边树木刮倒，压在人行道上。"),
    ),
    "0505": (("多人就餐后身体不适", "附近多人就餐后出现呕吐腹泻症状。"),),
    "0601": (
        ("楼上漏水引发纠纷", "楼上卫生间漏水到楼下，双方协商未果，请帮助协调。"),
        ("宅基地边界纠纷", "两户因宅基地边界发生争执，多次协商未果。"),
    ),
    "0602": (
        ("广场舞音响声音过大", "晚上广场舞音响声音过大，影响周边居民休息。"),
        ("商铺外放音乐扰民", "临街商铺用高音喇叭招揽顾客，噪音很大。"),
    ),
    "0603": (
        ("犬只未拴绳", "小区内有大型犬未拴绳，居民担心安全。"),
        ("流浪狗聚集", "小区周边有多只流浪狗聚集，有伤人风险。"),
    ),
    "0604": (
        ("电梯故障频繁", "小区电梯经常停运，物业维修不及时。"),
        ("楼道灯坏了没人修", "楼道灯坏了多日，物业一直没有维修。"),
    ),
    "0605": (
        ("小区停车难", "小区车位不足，车辆乱停堵塞通道。"),
        ("私装地锁占用车位", "有人在公共区域私装地锁占用车位。"),
    ),
    "0606": (("疑似群租房", "楼内一户住了十几个人，进出人员复杂。"),),
    "0607": (("消防通道被占用", "小区消防通道被车辆和杂物占用。"),),
    "0608": (
        ("燃气管道老化锈蚀", "老旧小区燃气管道锈蚀老化，存在安全隐患。"),
        ("餐馆违规使用液化气罐", "沿街餐馆违规使用液化气罐。"),
    ),
    "9901": (
        ("路灯不亮", "道路路灯已坏一周，夜间出行不便。"),
        ("井盖缺失", "人行道上井盖缺失，存在安全隐患。"),
        ("咨询老年人补贴", "咨询高龄老人补贴的申领办法。"),
    ),
}

# Leaf category code → what the handler reports back.
RESULTS: dict[str, tuple[str, ...]] = {
    "0101": ("已联系环卫公司清运，现场已清理干净。", "已增加垃圾清运频次，并对周边进行清扫消杀。"),
    "0102": ("已联系责任单位清运渣土，并设置围挡。", "已督促业主将装修垃圾清运到指定地点。"),
    "0103": ("已安排环卫人员冲洗路面。", "已协调保洁单位清扫，并加大保洁频次。"),
    "0104": ("已督促清理堆放物，通道已恢复畅通。", "已组织志愿者协助清理，并开展宣传。"),
    "0105": ("已对墙面涂鸦进行清除粉刷。",),
    "0106": ("已安排绿化养护人员清理。", "已劝导停止毁绿种菜，并恢复绿化。"),
    "0201": ("已清除小广告，并加强巡查。", "已清理喷涂广告，对涉及号码进行登记。"),
    "0202": ("已督促商户撤除违规广告牌。",),
    "0203": ("已督促商户加固修复牌匾，隐患已消除。",),
    "0301": ("已约谈施工单位，夜间停止施工。", "已告知装修住户遵守装修时间规定。"),
    "0302": ("已督促工地落实覆盖、洒水等降尘措施。",),
    "0303": ("已联系运输单位清扫路面，并要求车辆密闭运输。",),
    "0304": ("已下达整改通知，违建已拆除。", "已责令停工，并依法处理。"),
    "0401": ("已劝离占道摊贩，引导进入便民市场经营。", "已规范夜市经营时间和区域。"),
    "0402": ("已督促商户退店经营。",),
    "0403": ("已联系车主挪车，现场恢复通行。", "已张贴告知书，废旧车辆已拖移。"),
    "0404": ("已劝离无照经营人员，并宣传办照流程。",),
    "0405": ("已联系运营企业清运调度车辆。",),
    "0501": ("已联系燃气公司抢修，泄漏点已处置。",),
    "0502": ("已劝导住户停止楼道充电，引导到集中充电点。", "已督促整改私拉电线。"),
    "0503": ("已设置警示围挡，并完成修复。",),
    "0504": ("已组织排水抢险，积水已排除。", "已清理倒伏树木，恢复通行。"),
    "0505": ("已协调卫生健康部门现场处置。",),
    "0601": ("已上门调解，双方达成一致。", "已组织双方协商，签订调解协议。"),
    "0602": ("已与广场舞队伍协商，降低音量并调整时间。", "已督促商户停止外放喇叭。"),
    "0603": ("已联系犬主，告知文明养犬规定。", "已联系相关单位收容流浪犬。"),
    "0604": ("已约谈物业公司，问题已整改。", "已督促物业完成维修。"),
    "0605": ("已协调物业规划临时停车位。", "已拆除私装地锁。"),
    "0606": ("已会同相关部门上门核查，督促房东整改。",),
    "0607": ("已清理消防通道堆放物品，施划禁停标线。",),
    "0608": ("已联系燃气公司上门检修，隐患已消除。", "已督促商户停止违规使用液化气。"),
    "9901": ("已协调相关单位处理。", "已答复反映人。"),
}
RESULT_FALLBACK = ("已处理完毕。",)

ESCALATE_TO_COMMUNITY = (
    "涉及多户居民，需社区统一协调。",
    "网格内协调未果，请社区协调相关单位。",
    "当事人不配合，需社区出面调解。",
    "涉及物业公司，需社区协调处理。",
)
ESCALATE_TO_TOWN = (
    "需镇街协调执法力量处理。",
    "涉及多个单位，需镇街统筹。",
    "社区多次协调未果，请镇街处理。",
)
DISPATCH_NOTES = ("属部门职责范围，请依职责处理。", "请尽快安排人员现场处置。", "")
EXTENSION_REASONS = ("需协调多个单位联合处置，申请延期。", "需等待检测结果，申请延期。", "需要施工维修，工期较长。")
EXTENSION_APPROVALS = ("同意延期。", "同意，请抓紧办理。")
VERIFY_FAIL_NOTES = ("现场核查仍未清理干净。", "问题仍然存在，请继续处理。")
NOT_FIXED_NOTES = ("涉及历史遗留问题，暂时无法解决，已向反映人解释说明。", "需列入改造计划，已向反映人说明。")
DISSATISFIED_NOTES = ("处理不及时。", "问题没有彻底解决。", "")
REOPEN_REASONS = ("问题仍未解决。", "处理后又出现同样的问题。")
VOID_REASONS = ("重复登记，予以作废。", "经核实为误报。", "登记信息有误，已重新登记。")
NOT_RESPONSIBLE_NOTES = (
    "经核实不属于本辖区，已告知反映人向所属辖区反映。",
    "属于司法诉讼事项，已引导当事人通过法律途径解决。",
)
DUPLICATE_NOTE = "与事项{number}反映同一问题，已合并办理。"


# ------------------------------------------------------------------ simulated histories


@dataclass
class StepRow:
    """One `CaseStep` as the services would write it, plus what a replay passes to the service."""

    seq: int
    action: str
    actor_id: int | None
    at: datetime
    from_status: str
    to_status: str
    from_tier: str
    to_tier: str
    note: str
    detail: dict[str, Any]
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseHistory:
    """A case as it stands at `now`: its columns (by attribute name) and the steps that led there."""

    id: int
    number: str
    row: dict[str, Any]
    steps: list[StepRow]
    warnings: list[datetime]  # sweep passes that turned the light yellow (no step)
    phone: str  # the caller's number in plain text, for the replay ("" if none)
    is_merge_target: bool = False

    @property
    def is_open(self) -> bool:
        return self.row["status"] not in (CaseStatus.CLOSED, CaseStatus.VOIDED)

    @property
    def swept(self) -> bool:
        """True when the SLA sweep escalated or supervised it (a step without an actor after intake)."""
        return any(step.actor_id is None for step in self.steps[1:])


@dataclass
class _Profile:
    """How one case will go, drawn when it is submitted."""

    target: str = Tier.GRID
    special: str = ""  # "duplicate", "void" or "not_responsible"
    merged_into: CaseHistory | None = None
    direct_dispatch: bool = False
    late: str = ""  # "response", "handling" or "verify": once, past the limit
    stuck: bool = False
    extension: bool = False
    verify_fail: bool = False
    not_fixed: bool = False
    reopen: bool = False
    rates_before_reopen: bool = False
    rating: str = ""
    rater_id: int | None = None
    verifier_id: int = 0
    department_id: int | None = None
    handler_id: int | None = None


# The columns whose change ends a plan (a red light from the sweep does not).
_PLAN_KEY = ("status", "tier", "step_started_at", "due_at", "owner_id", "extension_requested")


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([value for value, _weight in weighted], weights=[weight for _value, weight in weighted])[0]


def _share(rng: random.Random, median: float, sigma: float, low: float, high: float) -> float:
    return min(high, max(low, rng.lognormvariate(math.log(median), sigma)))


class _Story:
    """One case, step by step: the services' changes, the sweep's, and the people's decisions."""

    def __init__(self, year: CaseYear, history: CaseHistory, profile: _Profile, grid: GridPlace) -> None:
        self.year = year
        self.clock = year.clock
        self.rng = year.rng
        self.history = history
        self.row = history.row
        self.profile = profile
        self.grid = grid
        category = history.row["category"]
        self.policy = year.policy(category, history.row["urgency"])
        self.unit = self.policy.unit
        self.plans: dict[tuple[Any, ...], tuple[datetime, Callable[[datetime], None]]] = {}
        self.late_used = False
        self.failed_once = False
        self.reopened = False
        self.extended = False

    # --- the services' changes (see gridgov.cases.services.lifecycle and .sweep) -----------------

    def _clock(self, start: datetime, limit_field: str) -> dict[str, Any]:
        amount = Decimal(getattr(self.policy, limit_field))
        due_at = self.clock.add(start, float(amount), self.unit)
        if self.unit == TimeUnit.WORKING_DAY:
            warn_at = start + (due_at - start) * float(WARN_SHARE)
        else:
            warn_at = self.clock.add(start, float(amount * WARN_SHARE), self.unit)
        return {
            "sla_unit": self.unit,
            "step_started_at": start,
            "warn_at": warn_at,
            "due_at": due_at,
            "sla_light": SlaLight.GREEN,
        }

    def _transition(
        self,
        action: str,
        actor: int | None,
        at: datetime,
        *,
        note: str = "",
        detail: dict[str, Any] | None = None,
        args: dict[str, Any] | None = None,
        **changes: Any,
    ) -> None:
        row = self.row
        from_status, from_tier = row["status"], row["tier"]
        changes.setdefault("status", row["status"])
        row.update(changes)
        row["version"] += 1
        self.history.steps.append(
            StepRow(
                seq=row["version"],
                action=action,
                actor_id=actor,
                at=at,
                from_status=from_status,
                to_status=row["status"],
                from_tier=from_tier,
                to_tier=row["tier"],
                note=note,
                detail=detail or {},
                args=args or {},
            )
        )

    def submit(self, at: datetime) -> None:
        row = self.row
        row.update(
            status=CaseStatus.SUBMITTED,
            tier=Tier.GRID,
            handling_area_id=self.grid.id,
            submitted_at=at,
            close_due_at=self.clock.add(at, float(self.policy.close_limit), self.unit),
            version=1,
            **self._clock(at, "first_response"),
        )
        self.history.steps.append(
            StepRow(
                seq=1,
                action=StepAction.SUBMIT,
                actor_id=row["submitted_by_id"],
                at=at,
                from_status="",
                to_status=CaseStatus.SUBMITTED,
                from_tier="",
                to_tier=Tier.GRID,
                note="",
                detail={"source": row["source"]},
            )
        )

    def accept(self, actor: int, at: datetime) -> None:
        changes: dict[str, Any] = {"status": CaseStatus.HANDLING, "owner_id": actor}
        if self.row["first_response_at"] is None:
            changes["first_response_at"] = at
        if self.row["tier"] == Tier.GRID:
            changes.update(self._clock(at, "grid_limit"))
        self._transition(StepAction.ACCEPT, actor, at, **changes)

    def _escalation_changes(self, at: datetime) -> dict[str, Any]:
        next_tier = Tier.COMMUNITY if self.row["tier"] == Tier.GRID else Tier.TOWN
        return {
            "status": CaseStatus.SUBMITTED,
            "tier": next_tier,
            "handling_area_id": self.grid.community_id if next_tier == Tier.COMMUNITY else self.grid.town_id,
            "owner_id": None,
            "extension_requested": None,
            "extension_reason": "",
            **self._clock(at, TIER_LIMIT_FIELD[next_tier]),
        }

    def escalate(self, actor: int, at: datetime, reason: str) -> None:
        self._transition(StepAction.ESCALATE, actor, at, note=reason, **self._escalation_changes(at))

    def dispatch(
        self, actor: int | None, at: datetime, department_id: int, note: str, *, automatic: bool = False
    ) -> None:
        extra = {"breach_count": self.row["breach_count"] + 1} if automatic else {}
        self._transition(
            StepAction.AUTO_ESCALATE if automatic else StepAction.DISPATCH,
            actor,
            at,
            note=note,
            detail={"department": self.year.county.department_names[department_id]},
            args={"department_id": department_id},
            status=CaseStatus.DISPATCHED,
            tier=Tier.DEPARTMENT,
            department_id=department_id,
            handling_area_id=self.grid.town_id,
            owner_id=None,
            extension_requested=None,
            extension_reason="",
            **self._clock(at, "department_limit"),
            **extra,
        )

    def sign_for(self, actor: int, at: datetime) -> None:
        changes: dict[str, Any] = {"status": CaseStatus.HANDLING, "owner_id": actor}
        if self.row["first_response_at"] is None:
            changes["first_response_at"] = at
        self._transition(StepAction.SIGN_FOR, actor, at, **changes)

    def request_extension(self, actor: int, at: datetime, amount: Decimal, reason: str) -> None:
        self._transition(
            StepAction.REQUEST_EXTENSION,
            actor,
            at,
            note=reason,
            detail={"amount": str(amount), "unit": self.row["sla_unit"]},
            args={"amount": amount},
            extension_requested=amount,
            extension_reason=reason,
        )

    def approve_extension(self, actor: int, at: datetime, note: str) -> None:
        row = self.row
        amount = Decimal(row["extension_requested"])
        due_at = self.clock.add(row["due_at"] or at, float(amount), row["sla_unit"])
        warn_at = row["step_started_at"] + (due_at - row["step_started_at"]) * float(WARN_SHARE)
        self._transition(
            StepAction.APPROVE_EXTENSION,
            actor,
            at,
            note=note,
            detail={"amount": str(amount), "unit": row["sla_unit"]},
            extension_requested=None,
            extension_reason="",
            due_at=due_at,
            warn_at=warn_at,
            sla_light=SlaLight.GREEN if at < warn_at else SlaLight.YELLOW,
            close_due_at=max(self.clock.add(row["close_due_at"], float(amount), row["sla_unit"]), due_at),
        )

    def report_back(self, actor: int, at: datetime, result: str) -> None:
        self._transition(
            StepAction.REPORT_BACK,
            actor,
            at,
            note=result,
            status=CaseStatus.REPORTED,
            reported_at=at,
            owner_id=None,
            last_handler_id=actor,
            last_handler_tier=self.row["tier"],
            extension_requested=None,
            extension_reason="",
            **self._clock(at, "verification_limit"),
        )

    def _back_to_last_handler(self, at: datetime) -> dict[str, Any]:
        # As `case_reopen` and a failed verification do: the case stays at its tier, and since every
        # demo account stays active and keeps its role, the last handler gets it back.
        tier = self.row["tier"]
        return {
            "status": CaseStatus.HANDLING,
            "tier": tier,
            "owner_id": self.row["last_handler_id"],
            **self._clock(at, TIER_LIMIT_FIELD[tier]),
        }

    def verify(self, actor: int, at: datetime, *, passed: bool, note: str, close_reason: str) -> None:
        if not passed:
            self._transition(
                StepAction.VERIFY_FAIL, actor, at, note=note, args={"passed": False}, **self._back_to_last_handler(at)
            )
            return
        self._close(StepAction.VERIFY_PASS, actor, at, reason=close_reason, note=note)

    def _close(
        self, action: str, actor: int, at: datetime, *, reason: str, note: str, merged_into: CaseHistory | None = None
    ) -> None:
        detail: dict[str, Any] = {"close_reason": reason}
        if merged_into is not None:
            detail["merged_into"] = merged_into.number
        self._transition(
            action,
            actor,
            at,
            note=note,
            detail=detail,
            args={"passed": True, "close_reason": reason, "merged_into_id": merged_into.id if merged_into else None},
            status=CaseStatus.CLOSED,
            closed_at=at,
            close_reason=reason,
            closed_tier=self.row["tier"],
            merged_into_id=merged_into.id if merged_into else None,
            owner_id=None,
            extension_requested=None,
            extension_reason="",
            warn_at=None,
            due_at=None,
            sla_light=SlaLight.GREEN,
        )

    def rate(self, actor: int, at: datetime, rating: str, note: str) -> None:
        self._transition(StepAction.RATE, actor, at, note=note, detail={"rating": rating}, rating=rating, rated_at=at)

    def reopen(self, actor: int, at: datetime, reason: str) -> None:
        row = self.row
        changes = self._back_to_last_handler(at)
        self._transition(
            StepAction.REOPEN,
            actor,
            at,
            note=reason,
            closed_at=None,
            close_reason="",
            closed_tier="",
            rating="",
            rated_at=None,
            reopen_count=row["reopen_count"] + 1,
            close_due_at=self.clock.add(at, float(self.policy.close_limit), self.unit),
            **changes,
        )

    def void(self, actor: int, at: datetime, reason: str) -> None:
        self._transition(
            StepAction.VOID,
            actor,
            at,
            note=reason,
            status=CaseStatus.VOIDED,
            owner_id=None,
            suspended_status="",
            suspended_at=None,
            extension_requested=None,
            extension_reason="",
            warn_at=None,
            due_at=None,
            sla_light=SlaLight.GREEN,
        )

    def _breach(self, at: datetime) -> None:
        """What `sla_sweep` does to a case whose step is overdue."""
        row = self.row
        detail = {"due_at": row["due_at"].astimezone(UTC).isoformat()}
        breaches = row["breach_count"] + 1
        if row["status"] in (CaseStatus.SUBMITTED, CaseStatus.HANDLING) and row["tier"] in (Tier.GRID, Tier.COMMUNITY):
            self._transition(
                StepAction.AUTO_ESCALATE,
                None,
                at,
                note=_("本环节超时未办结，系统自动上报上一级。"),
                detail=detail,
                breach_count=breaches,
                **self._escalation_changes(at),
            )
            return
        department_id = self.year.county.owner_of.get(row["category"].pk)
        if row["status"] in (CaseStatus.SUBMITTED, CaseStatus.HANDLING) and row["tier"] == Tier.TOWN and department_id:
            self.dispatch(None, at, department_id, _("镇街环节超时，系统按类别职责自动派遣。"), automatic=True)
            return
        self._transition(
            StepAction.BREACH,
            None,
            at,
            note=_("本环节已超时，已督办。"),
            detail=detail,
            sla_light=SlaLight.RED,
            breach_count=breaches,
        )

    def _sweep_until(self, moment: datetime) -> None:
        """Apply the worker's sweep passes that ran before `moment` (one every poll interval)."""
        row = self.row
        while row["status"] in TIMED_STATUSES and row["due_at"] is not None:
            if row["sla_light"] == SlaLight.GREEN and row["warn_at"] is not None:
                tick = self.year.tick(row["warn_at"])
                if tick < moment and tick < row["due_at"]:
                    row["sla_light"] = SlaLight.YELLOW
                    self.history.warnings.append(tick)
            if row["sla_light"] == SlaLight.RED:
                return
            tick = self.year.tick(row["due_at"])
            if not (tick < moment and row["step_started_at"] < tick):
                return
            self._breach(tick)

    # --- the people's decisions ---------------------------------------------------------------

    def run(self, submitted_at: datetime) -> None:
        now = self.year.now
        self.submit(submitted_at)
        moment = submitted_at
        while True:
            decision = self._decide(moment)
            if decision is None:
                break
            at, act = decision
            version = self.row["version"]
            self._sweep_until(min(at, now))
            if self.row["version"] != version:  # the sweep moved the case: think again from there
                moment = self.history.steps[-1].at
                continue
            if at > now:
                break
            act(at)
            moment = at
        self._sweep_until(now)

    def _staff(self, tier: str) -> int | None:
        county = self.year.county
        if tier == Tier.GRID:
            return self.grid.worker_id
        if tier == Tier.COMMUNITY:
            return county.community_staff.get(self.grid.community_id)
        if tier == Tier.TOWN:
            return county.town_staff.get(self.grid.town_id)
        return self._handler()

    def _handler(self) -> int | None:
        department_id = self.row["department_id"]
        if self.profile.handler_id is None or self.profile.department_id != department_id:
            handlers = self.year.county.handlers.get(department_id, [])
            self.profile.department_id = department_id
            self.profile.handler_id = self.rng.choice(handlers) if handlers else None
        return self.profile.handler_id

    def _after(self, start: datetime, limit_field: str, share: float) -> datetime:
        hours = self.clock.limit_hours(Decimal(getattr(self.policy, limit_field)), self.unit) * share
        return self.clock.span(start, hours, self.unit)

    def _late(self, kind: str) -> bool:
        if self.profile.late == kind and not self.late_used:
            self.late_used = True
            return True
        return False

    def _decide(self, moment: datetime) -> tuple[datetime, Callable[[datetime], None]] | None:
        row = self.row
        if row["status"] == CaseStatus.VOIDED:
            return None
        if row["status"] == CaseStatus.CLOSED:
            return self._after_close()
        key = tuple(row[name] for name in _PLAN_KEY)
        if key not in self.plans:
            planned = self._plan(moment)
            if planned is None:
                return None
            at, act = planned
            self.plans[key] = (max(at, moment + timedelta(minutes=1)), act)
        return self.plans[key]

    def _plan(self, moment: datetime) -> tuple[datetime, Callable[[datetime], None]] | None:
        row, profile, rng = self.row, self.profile, self.rng
        status, tier = row["status"], row["tier"]
        minutes = lambda low, high: moment + timedelta(minutes=rng.uniform(low, high))  # noqa: E731
        if status == CaseStatus.SUBMITTED:
            return self._plan_intake(moment, minutes)
        if status == CaseStatus.DISPATCHED:
            handler = self._handler()
            if handler is None:
                return None
            at = self._after(moment, "department_limit", rng.uniform(0.01, 0.08))
            return at, lambda at: self.sign_for(handler, at)
        if status == CaseStatus.REPORTED:
            return self._plan_verify()
        # Handling.
        owner = row["owner_id"]
        if tier == Tier.GRID and profile.special == "not_responsible":
            note = rng.choice(NOT_RESPONSIBLE_NOTES)
            return minutes(10, 180), lambda at: self._close(
                StepAction.CLOSE, owner, at, reason=CloseReason.NOT_RESPONSIBLE, note=note
            )
        if TIER_ORDER.index(tier) < TIER_ORDER.index(profile.target):
            limit_field = TIER_LIMIT_FIELD[tier]
            if tier == Tier.TOWN:
                department_id = self.year.county.owner_of[row["category"].pk]
                note = rng.choice(DISPATCH_NOTES)
                at = self._after(moment, limit_field, rng.uniform(0.05, 0.3))
                return at, lambda at: self.dispatch(owner, at, department_id, note)
            reason = rng.choice(ESCALATE_TO_COMMUNITY if tier == Tier.GRID else ESCALATE_TO_TOWN)
            at = self._after(moment, limit_field, rng.uniform(0.05, 0.35))
            return at, lambda at: self.escalate(owner, at, reason)
        if row["extension_requested"] is not None:
            command = self.year.county.command_id
            note = rng.choice(EXTENSION_APPROVALS)
            return minutes(30, 360), lambda at: self.approve_extension(command, at, note)
        if tier == Tier.DEPARTMENT and profile.extension and not self.extended:
            self.extended = True
            reason = rng.choice(EXTENSION_REASONS)
            at = self._after(row["step_started_at"], "department_limit", rng.uniform(0.55, 0.75))
            return at, lambda at: self.request_extension(owner, at, EXTENSION_HOURS, reason)
        return self._plan_report(moment, owner)

    def _plan_intake(
        self, moment: datetime, minutes: Callable[[float, float], datetime]
    ) -> tuple[datetime, Callable[[datetime], None]] | None:
        row, profile, rng = self.row, self.profile, self.rng
        tier = row["tier"]
        if tier == Tier.GRID and row["version"] == 1:
            if profile.special == "duplicate" and profile.merged_into is not None:
                target = profile.merged_into
                worker = self.grid.worker_id
                note = DUPLICATE_NOTE.format(number=target.number)
                return minutes(5, 90), lambda at: self._close(
                    StepAction.CLOSE, worker, at, reason=CloseReason.DUPLICATE, note=note, merged_into=target
                )
            if profile.special == "void":
                supervisor = self.year.county.community_staff[self.grid.community_id]
                reason = rng.choice(VOID_REASONS)
                return minutes(20, 300), lambda at: self.void(supervisor, at, reason)
            if profile.direct_dispatch:
                command = self.year.county.command_id
                department_id = self.year.county.owner_of[row["category"].pk]
                note = rng.choice(DISPATCH_NOTES)
                return minutes(5, 40), lambda at: self.dispatch(command, at, department_id, note)
        staff = self._staff(tier)
        if staff is None:
            return None
        if tier != Tier.GRID:
            at = self._after(moment, TIER_LIMIT_FIELD[tier], rng.uniform(0.02, 0.12))
        elif self._late("response"):
            at = row["due_at"] + timedelta(minutes=rng.uniform(5, 180))
        elif row["source"] in (CaseSource.GRID_WORKER, CaseSource.PATROL):
            at = minutes(1, 8)  # the worker registered it on the spot
        elif row["urgency"] != Urgency.NORMAL:
            at = minutes(3, 20)
        else:
            local = moment.astimezone(self.clock.timezone)
            if 7 <= local.hour < 20:
                at = moment + timedelta(minutes=_share(rng, 15, 0.7, 2, 50))
            else:  # reported at night: the grid worker picks it up in the morning
                morning = local.date() + timedelta(days=1 if local.hour >= 20 else 0)
                at = datetime.combine(morning, time(8), self.clock.timezone) + timedelta(minutes=rng.uniform(0, 45))
        return at, lambda at: self.accept(staff, at)

    def _plan_report(self, moment: datetime, owner: int) -> tuple[datetime, Callable[[datetime], None]]:
        row, rng = self.row, self.rng
        tier = row["tier"]
        if self._late("handling"):
            share = rng.uniform(1.05, 1.8)
        elif tier == Tier.DEPARTMENT and self.profile.stuck:
            share = rng.uniform(2, 8)
        elif tier == Tier.GRID:
            share = _share(rng, 0.4, 0.6, 0.05, 0.95)
        else:
            share = rng.uniform(0.3, 0.92)
        if row["extension_requested"] is None and self.extended and tier == Tier.DEPARTMENT:
            # After an approved extension: within the extra time.
            at = self.clock.span(moment, float(EXTENSION_HOURS) * rng.uniform(0.2, 0.8), self.unit)
        else:
            at = self._after(row["step_started_at"], TIER_LIMIT_FIELD[tier], share)
        code = row["category"].code
        result = rng.choice(RESULTS.get(code, RESULT_FALLBACK))
        return max(at, moment + timedelta(minutes=5)), lambda at: self.report_back(owner, at, result)

    def _plan_verify(self) -> tuple[datetime, Callable[[datetime], None]]:
        row, profile, rng = self.row, self.profile, self.rng
        share = rng.uniform(1.5, 7) if self._late("verify") else _share(rng, 0.3, 0.7, 0.03, 0.95)
        at = self._after(row["step_started_at"], "verification_limit", share)
        verifier = profile.verifier_id
        if profile.verify_fail and not self.failed_once:
            self.failed_once = True
            note = rng.choice(VERIFY_FAIL_NOTES)
            return at, lambda at: self.verify(verifier, at, passed=False, note=note, close_reason="")
        reason = CloseReason.NOT_FIXED if profile.not_fixed else CloseReason.FIXED
        note = rng.choice(NOT_FIXED_NOTES) if profile.not_fixed else ""
        return at, lambda at: self.verify(verifier, at, passed=True, note=note, close_reason=reason)

    def _after_close(self) -> tuple[datetime, Callable[[datetime], None]] | None:
        row, profile, rng = self.row, self.profile, self.rng
        rater = profile.rater_id
        if rater is None or row["close_reason"] not in (CloseReason.FIXED, CloseReason.NOT_FIXED):
            return None
        closed_at = row["closed_at"]
        window_end = closed_at + self.year.reopen_window - timedelta(hours=1)
        if profile.reopen and not self.reopened:
            if profile.rates_before_reopen and not row["rating"]:
                note = rng.choice(DISSATISFIED_NOTES)
                at = closed_at + timedelta(hours=rng.uniform(1, 24))
                return at, lambda at: self.rate(rater, at, Rating.DISSATISFIED, note)
            self.reopened = True
            reason = rng.choice(REOPEN_REASONS)
            at = min(max(row["rated_at"] or closed_at, closed_at) + timedelta(days=rng.uniform(0.3, 5)), window_end)
            return at, lambda at: self.reopen(rater, at, reason)
        if profile.rating and not row["rating"]:
            rating = profile.rating
            note = rng.choice(DISSATISFIED_NOTES) if rating == Rating.DISSATISFIED else ""
            at = min(closed_at + timedelta(hours=_share(rng, 5, 1.2, 0.2, 240)), window_end)
            return at, lambda at: self.rate(rater, at, rating, note)
        return None


class CaseYear:
    """The cases of the year up to `now`, drawn from one seeded `random.Random`, in order of intake."""

    def __init__(self, county: CaseCounty, *, now: datetime, total: int, rng: random.Random, first_id: int) -> None:
        if not county.grids:
            raise RuntimeError("the demo county has no grid with a grid worker and buildings")
        self.county = county
        self.now = now
        self.total = total
        self.rng = rng
        self.next_id = first_id
        calendar = working_calendar()
        self.calendar = calendar
        self.clock = WorkingClock(calendar, (now - timedelta(days=400)).date(), (now + timedelta(days=200)).date())
        self.reopen_window = timedelta(days=settings.CASE_REOPEN_DAYS)
        self.poll_seconds = max(int(settings.WORKER_POLL_SECONDS), 1)
        self.book = names.NameBook(rng)
        self.grid_weights = list(_cumulative(grid.households for grid in county.grids))
        self.recent: dict[int, deque[CaseHistory]] = defaultdict(lambda: deque(maxlen=8))
        self._policies: dict[tuple[int, str], SlaPolicy] = {}
        self._tables: dict[tuple[int, bool, str], tuple[list[Category], list[float]]] = {}
        self._hours = {source: list(_cumulative(weights)) for source, weights in HOUR_WEIGHTS.items()}
        self._department_leaves = {
            leaf.pk for leaf in county.leaves if county.handlers.get(county.owner_of.get(leaf.pk, 0))
        }

    # --- helpers used by the stories

    def policy(self, category: Category, urgency: str) -> SlaPolicy:
        key = (category.pk, urgency)
        if key not in self._policies:
            self._policies[key] = sla_policy_for(category, urgency)
        return self._policies[key]

    def tick(self, moment: datetime) -> datetime:
        """The first pass of the worker's sweep at or after `moment` (passes on the poll interval)."""
        poll = self.poll_seconds
        return datetime.fromtimestamp(math.ceil(moment.timestamp() / poll) * poll, self.clock.timezone)

    # --- the year

    def histories(self) -> Iterator[CaseHistory]:
        for submitted_at, source in self._intakes():
            yield self._history(submitted_at, source)

    def _day_weight(self, day: date) -> float:
        weight = MONTH_FACTOR[day.month - 1]
        if not self.calendar.is_working_day(day):
            weight *= DAY_OFF_FACTOR
        for festival in SPRING_FESTIVALS:
            offset = (day - festival).days
            if 0 <= offset <= 6:
                weight *= 0.35
            elif -7 <= offset < 0 or 7 <= offset <= 14:
                weight *= 0.75
        return weight

    def _intakes(self) -> Iterator[tuple[datetime, str]]:
        rng, tz = self.rng, self.clock.timezone
        start = self.now - timedelta(days=365)
        first, last = start.astimezone(tz).date(), self.now.astimezone(tz).date()
        days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
        weights = [self._day_weight(day) for day in days]
        scale = self.total / sum(weights)
        sources = [source for source, _weight in SOURCE_WEIGHTS]
        source_weights = list(_cumulative(weight for _source, weight in SOURCE_WEIGHTS))
        for day, weight in zip(days, weights, strict=True):
            expected = weight * scale
            count = max(0, round(rng.gauss(expected, math.sqrt(expected))))
            working = self.calendar.is_working_day(day)
            intakes: list[tuple[datetime, str]] = []
            for _index in range(count):
                source = rng.choices(sources, cum_weights=source_weights)[0]
                while source == CaseSource.WALK_IN and not working:
                    source = rng.choices(sources, cum_weights=source_weights)[0]
                hour = rng.choices(range(24), cum_weights=self._hours[source])[0]
                moment = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tz)
                if start < moment <= self.now:
                    intakes.append((moment, source))
            intakes.sort()
            yield from intakes

    def _leaf_table(self, month: int, urban: bool, target: str) -> tuple[list[Category], list[float]]:
        key = (month, urban, target)
        if key not in self._tables:
            leaves: list[Category] = []
            weights: list[float] = []
            for leaf in self.county.leaves:
                if target == Tier.DEPARTMENT and leaf.pk not in self._department_leaves:
                    continue
                code = leaf.code
                weight = LEAF_WEIGHTS.get(code, 1.0)
                weight *= TIER_DIFFICULTY_FACTOR[target][DIFFICULTY.get(code, 1) - 1]
                weight *= 1 + SUMMER_PEAK.get(code, 0) * max(0.0, math.cos(2 * math.pi * (month - 7) / 12))
                weight *= 1 + WINTER_PEAK.get(code, 0) * max(0.0, math.cos(2 * math.pi * (month - 1) / 12))
                if not urban:
                    weight *= RURAL_FACTOR.get(code, 1.0)
                leaves.append(leaf)
                weights.append(weight)
            self._tables[key] = (leaves, list(_cumulative(weights)))
        return self._tables[key]

    def _history(self, submitted_at: datetime, source: str) -> CaseHistory:
        rng, county = self.rng, self.county
        grid = rng.choices(county.grids, cum_weights=self.grid_weights)[0]
        case_id = self.next_id
        self.next_id += 1
        local = submitted_at.astimezone(self.clock.timezone)
        profile = _Profile(verifier_id=grid.worker_id)
        # Where it ends up, and what it is about.
        profile.target = _pick(rng, TIER_SHARES)
        if profile.target == Tier.DEPARTMENT and not self._department_leaves:
            profile.target = Tier.TOWN
        merged_into = self._duplicate_of(grid, submitted_at, source)
        if merged_into is not None:
            profile.special, profile.target, profile.merged_into = "duplicate", Tier.GRID, merged_into
            merged_into.is_merge_target = True
            category = merged_into.row["category"]
            title, description = merged_into.row["title"], merged_into.row["description"]
        else:
            leaves, weights = self._leaf_table(local.month, grid.urban, profile.target)
            category = rng.choices(leaves, cum_weights=weights)[0]
            title, description = rng.choice(REPORTS.get(category.code, ((category.name, category.name),)))
            if rng.random() < VOID_ODDS:
                profile.special, profile.target = "void", Tier.GRID
            elif rng.random() < NOT_RESPONSIBLE_ODDS.get(source, 0):
                profile.special, profile.target = "not_responsible", Tier.GRID
        urgency_weights = URGENCY_WEIGHTS.get(
            category.code, URGENCY_WEIGHTS.get(category.code[:2], URGENCY_WEIGHTS[""])
        )
        urgency = rng.choices(URGENCIES, weights=urgency_weights)[0]
        kind = _pick(rng, KIND_WEIGHTS[source])
        # Who reports it, and who speaks for them afterwards (rating, reopening).
        submitted_by: int | None = grid.worker_id
        reporter_id: int | None = None
        reporter_name = ""
        if source == CaseSource.RESIDENT:
            accounts = county.residents.get(grid.id, [])
            if accounts and rng.random() < RESIDENT_ACCOUNT_ODDS:
                reporter_id, reporter_name = rng.choice(accounts)
                submitted_by = reporter_id
                profile.rater_id = reporter_id
                if rng.random() < 0.4:
                    profile.verifier_id = reporter_id
            else:
                submitted_by = None  # the phone page's anonymous report: a name, no account
                reporter_name = self.book.person()
                profile.rater_id = grid.worker_id  # 回访 by the grid worker
        elif source == CaseSource.HOTLINE:
            submitted_by = county.command_id
            reporter_name = self.book.person()
            profile.rater_id = county.command_id  # the 12345 call-back
        elif source == CaseSource.WALK_IN:
            submitted_by = county.community_staff[grid.community_id]
            reporter_name = self.book.person()
            profile.rater_id = submitted_by
        elif kind != CaseKind.PATROL_FINDING:
            reporter_name = self.book.person()  # a resident the grid worker visited
            profile.rater_id = grid.worker_id
        phone = ""
        if reporter_id is None and rng.random() < PHONE_ODDS.get(source, 0):
            phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"
        # The less common turns.
        if profile.special == "":
            profile.late = next((late for late, odds in LATE_ODDS if rng.random() < odds), "")
            profile.verify_fail = rng.random() < VERIFY_FAIL_ODDS
            profile.not_fixed = rng.random() < NOT_FIXED_ODDS
            if profile.target == Tier.DEPARTMENT:
                profile.stuck = rng.random() < STUCK_ODDS
                profile.extension = not profile.stuck and rng.random() < EXTENSION_ODDS
                profile.direct_dispatch = source == CaseSource.HOTLINE and rng.random() < DIRECT_DISPATCH_ODDS
            if profile.rater_id is not None and rng.random() < RATED_ODDS:
                reason = CloseReason.NOT_FIXED if profile.not_fixed else CloseReason.FIXED
                profile.rating = _pick(rng, RATING_WEIGHTS[reason])
                profile.reopen = rng.random() < REOPEN_ODDS
                profile.rates_before_reopen = profile.reopen and rng.random() < 0.5
        lon, lat, address = self._place(grid)
        row: dict[str, Any] = {
            "kind": kind,
            "source": source,
            "category": category,
            "urgency": urgency,
            "title": title,
            "description": description,
            "grid_id": grid.id,
            "longitude": lon,
            "latitude": lat,
            "address": address,
            "reporter_id": reporter_id,
            "reporter_name": reporter_name,
            "reporter_phone_masked": phone_mask(phone) if phone else "",
            "is_anonymous": reporter_id is None and rng.random() < ANONYMOUS_ODDS.get(source, 0),
            "submitted_by_id": submitted_by,
            "external_ref": f"12345-{local:%Y%m%d}-{case_id:06d}" if source == CaseSource.HOTLINE else "",
            "department_id": None,
            "owner_id": None,
            "last_handler_id": None,
            "last_handler_tier": "",
            "breach_count": 0,
            "extension_requested": None,
            "extension_reason": "",
            "suspended_status": "",
            "suspended_at": None,
            "first_response_at": None,
            "reported_at": None,
            "closed_at": None,
            "close_reason": "",
            "closed_tier": "",
            "merged_into_id": None,
            "rating": "",
            "rated_at": None,
            "reopen_count": 0,
            "version": 0,
        }
        history = CaseHistory(
            id=case_id, number=f"{local:%Y%m%d}{case_id:08d}", row=row, steps=[], warnings=[], phone=phone
        )
        _Story(self, history, profile, grid).run(submitted_at)
        if profile.special not in ("duplicate", "void"):
            self.recent[grid.id].append(history)
        return history

    def _duplicate_of(self, grid: GridPlace, submitted_at: datetime, source: str) -> CaseHistory | None:
        """An earlier case of the last three days in the grid that this report repeats, if it is one."""
        if self.rng.random() >= DUPLICATE_ODDS.get(source, 0):
            return None
        since = submitted_at - timedelta(days=3)
        candidates = [
            history
            for history in self.recent[grid.id]
            if history.row["submitted_at"] >= since and history.row["status"] != CaseStatus.VOIDED
        ]
        return candidates[-1] if candidates else None

    def _place(self, grid: GridPlace) -> tuple[float, float, str]:
        rng = self.rng
        lon, lat, address = rng.choice(grid.spots)
        for _attempt in range(3):
            x = round(lon + rng.uniform(-JITTER_DEGREES, JITTER_DEGREES), 6)
            y = round(lat + rng.uniform(-JITTER_DEGREES, JITTER_DEGREES), 6)
            if grid.polygon is not None and shapely.contains_xy(grid.polygon, x, y):
                return x, y, address
        return lon, lat, address


def _cumulative(weights: Iterator[float] | Sequence[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


# ------------------------------------------------------------------ writing and replaying

# The most recent open cases go through the services (with their notices) instead of bulk rows.
RECENT_SERVICE_CASES = 50
# Cases of the last days are held back until the ones to replay are chosen.
HOLD_BACK = timedelta(days=14)
WRITE_CHUNK = 2_000


@dataclass
class CasesResult:
    cases: int = 0
    replayed: int = 0
    steps: int = 0


def cases_populate(*, now: datetime, total: int, rng: random.Random) -> CasesResult:
    """Write a year of cases up to `now` (about `total` of them) for the county in the database."""
    county = case_county_load()
    first_id = (Case.objects.aggregate(last=Max("id"))["last"] or 0) + 1
    year = CaseYear(county, now=now, total=total, rng=rng, first_id=first_id)
    result = CasesResult()
    held: list[CaseHistory] = []
    batch: list[CaseHistory] = []
    for history in year.histories():
        if history.row["submitted_at"] > now - HOLD_BACK:
            held.append(history)
            continue
        batch.append(history)
        if len(batch) >= WRITE_CHUNK:
            result.steps += _write(batch)
            batch = []
    replay = _replayable(held)
    chosen = {history.id for history in replay}
    result.steps += _write(batch + [history for history in held if history.id not in chosen])
    result.cases = year.next_id - first_id
    # The explicit ids were never drawn from the id sequence (PostgreSQL): move it past them.
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Case]):
            cursor.execute(statement)
    # The grids were created in this transaction: let case_submit's grid_at see them.
    grid_index_invalidate()
    lookup = ReplayLookup()
    for history in replay:
        case_history_replay(history, lookup=lookup, sweeps=False)
        result.steps += len(history.steps)
    result.replayed = len(replay)
    grid_index_invalidate()
    # The worker's first pass: warnings and breaches due by now.
    sla_sweep(now=now)
    if connection.vendor == "postgresql":
        # Freshly bulk-loaded tables have no statistics until autovacuum comes by; without
        # them the planner picks nested loops over the whole year (minutes instead of ms).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE cases_case, cases_casestep, notices_notice")
    return result


def _replayable(held: list[CaseHistory]) -> list[CaseHistory]:
    """The latest open cases that the services can replay: a signed-in submitter, no sweep
    action in their past, nobody merged into them. In order of intake."""
    candidates = [
        history
        for history in held
        if history.is_open
        and history.row["submitted_by_id"] is not None
        and not history.swept
        and not history.is_merge_target
    ]
    return candidates[-RECENT_SERVICE_CASES:]


def _write(histories: list[CaseHistory]) -> int:
    """Insert the histories' Case and CaseStep rows; returns the number of steps."""
    case_rows: list[dict[str, Any]] = []
    step_rows: list[dict[str, Any]] = []
    for history in histories:
        row = dict(history.row)
        row["category_id"] = row.pop("category").pk
        row.update(
            id=history.id,
            number=history.number,
            reporter_phone_ciphertext=(
                field_encrypt(history.phone, field=REPORTER_PHONE_FIELD) if history.phone else ""
            ),
            updated_at=history.steps[-1].at,
        )
        case_rows.append(row)
        step_rows.extend(
            {
                "case_id": history.id,
                "seq": step.seq,
                "action": step.action,
                "actor_id": step.actor_id,
                "at": step.at,
                "from_status": step.from_status,
                "to_status": step.to_status,
                "from_tier": step.from_tier,
                "to_tier": step.to_tier,
                "note": step.note,
                "detail": step.detail,
            }
            for step in history.steps
        )
    _insert(Case, case_rows)
    _insert(CaseStep, step_rows)
    return len(step_rows)


INSERT_CHUNK = 1_000


def _insert(model: type[Model], rows: list[dict[str, Any]]) -> None:
    """`executemany` INSERTs of `rows` (by attribute name; missing fields get their defaults).

    `bulk_create` spends most of its time preparing each value through the
    field machinery; here each column gets one adapter for all rows.
    """
    if not rows:
        return
    fields = [
        model_field
        for model_field in model._meta.concrete_fields
        if not (model_field.primary_key and model_field.attname not in rows[0])
    ]
    database = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    adapters: list[Callable[[Any], Any]] = []
    for model_field in fields:
        if isinstance(model_field, DateTimeField):
            adapters.append(database.ops.adapt_datetimefield_value)
        elif isinstance(model_field, (DecimalField, JSONField)):
            adapters.append(partial(model_field.get_db_prep_save, connection=database))
        else:
            adapters.append(_same)
    quote = database.ops.quote_name
    # Only identifiers from the model's metadata go into the statement; values are parameters.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(model._meta.db_table),
        ", ".join(quote(model_field.column) for model_field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    defaults = [model_field.get_default() for model_field in fields]
    columns = list(zip([model_field.attname for model_field in fields], adapters, defaults, strict=True))
    with database.cursor() as cursor:
        for start in range(0, len(rows), INSERT_CHUNK):
            cursor.executemany(
                sql,
                [
                    tuple(
                        None if (value := row.get(name, default)) is None else adapt(value)
                        for name, adapt, default in columns
                    )
                    for row in rows[start : start + INSERT_CHUNK]
                ],
            )


def _same(value: Any) -> Any:
    return value


class ReplayLookup:
    """Users, departments and cases by id, loaded once, for replays."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}
        self.departments: dict[int, Department] = {}

    def user(self, user_id: int) -> User:
        if user_id not in self.users:
            self.users[user_id] = User.objects.get(pk=user_id)
        return self.users[user_id]

    def department(self, department_id: int) -> Department:
        if department_id not in self.departments:
            self.departments[department_id] = Department.objects.select_related("area").get(pk=department_id)
        return self.departments[department_id]


def case_history_replay(history: CaseHistory, *, lookup: ReplayLookup | None = None, sweeps: bool = True) -> Case:
    """Make the history happen through the services, each step at its own time (`now=`).

    With `sweeps` the SLA sweep runs at the moments the simulation says it acted
    (it then acts on every case that is due, so only do this where no other
    case is); without, steps the sweep took cannot be replayed.
    """
    lookup = lookup or ReplayLookup()
    row = history.row
    if row["submitted_by_id"] is None:
        raise ValueError("a case without a signed-in submitter cannot go through case_submit")
    events: list[tuple[datetime, StepRow | None]] = [(step.at, step) for step in history.steps]
    if sweeps:
        events += [(moment, None) for moment in history.warnings]
        events.sort(key=lambda event: event[0])
    case: Case | None = None
    for moment, step in events:
        if step is None or step.actor_id is None:
            if not sweeps:
                raise ValueError("the history has steps of the SLA sweep")
            sla_sweep(now=moment)
            if case is not None:
                case.refresh_from_db()
            continue
        actor = lookup.user(step.actor_id)
        if step.action == StepAction.SUBMIT:
            case, _created = case_submit(actor=actor, data=_case_input(history, lookup), now=moment)
            continue
        if case is None:
            raise ValueError("a history starts with its intake")
        _replay_step(case, step, actor, lookup)
    if case is None:
        raise ValueError("an empty history")
    return case


def _case_input(history: CaseHistory, lookup: ReplayLookup) -> CaseInput:
    row = history.row
    return CaseInput(
        kind=row["kind"],
        category=row["category"],
        title=row["title"],
        description=row["description"],
        source=row["source"],
        urgency=row["urgency"],
        longitude=row["longitude"],
        latitude=row["latitude"],
        grid=Area.objects.get(pk=row["grid_id"]),
        address=row["address"],
        reporter_name=row["reporter_name"],
        reporter_phone=history.phone,
        is_anonymous=row["is_anonymous"],
        external_ref=row["external_ref"],
    )


def _replay_step(case: Case, step: StepRow, actor: User, lookup: ReplayLookup) -> None:
    action, at, note, args = step.action, step.at, step.note, step.args
    if action == StepAction.ACCEPT:
        case_accept(actor=actor, case=case, note=note, now=at)
    elif action == StepAction.ESCALATE:
        case_escalate(actor=actor, case=case, reason=note, now=at)
    elif action == StepAction.DISPATCH:
        case_dispatch(actor=actor, case=case, department=lookup.department(args["department_id"]), note=note, now=at)
    elif action == StepAction.SIGN_FOR:
        case_sign_for(actor=actor, case=case, note=note, now=at)
    elif action == StepAction.REQUEST_EXTENSION:
        case_request_extension(actor=actor, case=case, amount=args["amount"], reason=note, now=at)
    elif action == StepAction.APPROVE_EXTENSION:
        case_decide_extension(actor=actor, case=case, approve=True, note=note, now=at)
    elif action == StepAction.REPORT_BACK:
        case_report_back(actor=actor, case=case, result=note, now=at)
    elif action in (StepAction.VERIFY_PASS, StepAction.VERIFY_FAIL):
        case_verify(
            actor=actor,
            case=case,
            passed=action == StepAction.VERIFY_PASS,
            note=note,
            close_reason=args.get("close_reason") or CloseReason.FIXED,
            now=at,
        )
    elif action == StepAction.CLOSE:
        merged_into_id = args.get("merged_into_id")
        merged_into = Case.objects.get(pk=merged_into_id) if merged_into_id else None
        case_close(actor=actor, case=case, reason=args["close_reason"], note=note, merged_into=merged_into, now=at)
    elif action == StepAction.RATE:
        case_rate(actor=actor, case=case, rating=step.detail["rating"], note=note, now=at)
    elif action == StepAction.REOPEN:
        case_reopen(actor=actor, case=case, reason=note, now=at)
    elif action == StepAction.VOID:
        case_void(actor=actor, case=case, reason=note, now=at)
    else:
        raise ValueError(f"no service replays {action!r}")


# ------------------------------------------------------------------ the sample grid's live work

SAMPLE_GRID_WORK = (
    # (minutes before now, submitter, category code, kind, title, description, stage)
    (
        25,
        "resident",
        "0602",
        CaseKind.COMPLAINT,
        "楼上夜间装修噪音",
        "3号楼楼上住户连续几晚装修到十一点以后，影响休息。",
        "new",
    ),
    (
        70,
        "gridworker",
        "0607",
        CaseKind.PATROL_FINDING,
        "消防通道堆放杂物",
        "2号楼东侧消防通道堆放纸箱和旧家具。",
        "new",
    ),
    (
        180,
        "gridworker",
        "0101",
        CaseKind.PATROL_FINDING,
        "垃圾桶满溢",
        "小区北门垃圾桶满溢，周边有散落垃圾。",
        "accepted",
    ),
    (300, "resident", "0603", CaseKind.COMPLAINT, "小区内遛狗不牵绳", "傍晚有居民在儿童游乐区遛狗不牵绳。", "reported"),
)


def sample_grid_work_create(*, now: datetime, grid_worker: User, resident: User) -> int:
    """A few fresh cases in the sample grid, through the services, so that the sample grid
    worker's queue and inbox have live work when the demo starts: new reports to accept, one
    being handled, one waiting for on-site verification."""
    grid = RoleAssignment.objects.get(user=grid_worker, role=Role.GRID_WORKER).area
    grid_index_invalidate()
    codes = {work[2] for work in SAMPLE_GRID_WORK}
    categories = {category.code: category for category in Category.objects.filter(code__in=codes)}
    point = geometry_from_geojson(grid.geometry or {}).representative_point()
    users = {"resident": resident, "gridworker": grid_worker}
    for minutes, submitter, code, kind, title, description, stage in SAMPLE_GRID_WORK:
        moment = now - timedelta(minutes=minutes)
        source = CaseSource.RESIDENT if submitter == "resident" else CaseSource.PATROL
        case, _created = case_submit(
            actor=users[submitter],
            data=CaseInput(
                kind=kind,
                category=categories[code],
                title=title,
                description=description,
                source=source,
                longitude=point.x,
                latitude=point.y,
                address=_("小区内"),
            ),
            now=moment,
        )
        if stage in ("accepted", "reported"):
            case_accept(actor=grid_worker, case=case, now=moment + timedelta(minutes=12))
        if stage == "reported":
            case_report_back(
                actor=grid_worker,
                case=case,
                result="已上门劝导，养犬人承诺遛狗牵绳。",
                now=moment + timedelta(minutes=90),
            )
    grid_index_invalidate()
    sla_sweep(now=now)
    return len(SAMPLE_GRID_WORK)
