"""Write a synthetic county into the database: `generate_county(preset, seed)`.

A run is a pipeline of steps over one `DemoBuild`; each step reads what the
earlier ones left there and adds its own part. Later features (residents,
cases, patrols …) append a step to `STEPS` and, if they own rows that point
at areas or users, a delete to `gridgov.demo.reset`.

Writes go through the app services (`areas_bulk_create`,
`compounds_bulk_create`, `user_create`, `users_bulk_create`, `role_assign`,
`households_bulk_create`, `residents_bulk_register`, `department_categories_set`,
`case_submit` …), except the year of historical cases, which `cases` simulates
with the services' rules and writes in bulk (see its docstring).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from gridding.geo import geometry_to_geojson
from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department, RoleAssignment, User
from gridgov.accounts.services import UserSpec, department_create, role_assign, user_create, users_bulk_create
from gridgov.areas.choices import AREA_LEVEL_ORDER, AreaLevel
from gridgov.areas.models import Area, Building, Compound
from gridgov.areas.services import (
    AreaSpec,
    BuildingSpec,
    CompoundSpec,
    areas_bulk_create,
    buildings_bulk_create,
    compounds_bulk_create,
)
from gridgov.cases.choices import OPEN_STATUSES
from gridgov.cases.models import Case, CaseStep, DepartmentCategory
from gridgov.demo import cases, names, party, patrols, people, tasks
from gridgov.demo import credits as credits_demo
from gridgov.demo import portal as portal_demo
from gridgov.demo.dashboard import step_dashboard
from gridgov.demo.layout import COUNTY_CODE, CountyPlan, plan_county
from gridgov.demo.presets import PRESETS, Preset, TownKind
from gridgov.patrols.models import Patrol
from gridgov.registry.choices import Residence
from gridgov.registry.models import Household, Resident
from gridgov.tasks.models import Task

# County departments (职能部门) that cases can be dispatched to.
DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("CGJ", "城市管理局"),
    ("SCJGJ", "市场监督管理局"),
    ("MZJ", "民政局"),
    ("GAJ", "公安局"),
    ("ZJJ", "住房和城乡建设局"),
    ("STHJJ", "生态环境分局"),
    ("SWJ", "水务局"),
    ("YJGLJ", "应急管理局"),
    ("WJJ", "卫生健康局"),
    ("JTYSJ", "交通运输局"),
)
HANDLER_DEPARTMENT = "CGJ"

# Words for the run's password: pinyin of local places, never a dictionary word alone.
PASSWORD_WORDS = (
    "shaohai", "yunxi", "sanlihe", "jiaolai", "fangjing", "wenlange", "zhongyun", "jiulong", "ligezhuang",
    "puji", "licha", "yanghe", "fuan", "jiaobei", "jiaoxi", "jiaodong",
)  # fmt: skip

# Username prefix of the grid worker created for every grid: gw + 15-digit grid code.
GRID_WORKER_USERNAME_PREFIX = "gw"


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    area_code: str


@dataclass(frozen=True)
class SampleUser:
    """One sign-in per role, bound where the seed article's people work."""

    username: str
    role: str
    level: str
    area_name: str | None = None  # None: the county itself


SAMPLE_USERS: tuple[SampleUser, ...] = (
    SampleUser("admin", Role.ADMIN, AreaLevel.DISTRICT),
    SampleUser("command", Role.COUNTY_COMMAND, AreaLevel.DISTRICT),
    SampleUser("leader", Role.LEADER, AreaLevel.DISTRICT),
    SampleUser("handler", Role.DEPARTMENT_HANDLER, AreaLevel.DISTRICT),
    SampleUser("town", Role.TOWN_STAFF, AreaLevel.TOWN, names.SEED_TOWN),
    SampleUser("community", Role.COMMUNITY_STAFF, AreaLevel.COMMUNITY, names.SEED_COMMUNITY),
    SampleUser("gridworker", Role.GRID_WORKER, AreaLevel.GRID, names.SEED_GRID),
    SampleUser("resident", Role.RESIDENT, AreaLevel.GRID, names.SEED_GRID),
)


@dataclass
class DemoSummary:
    preset: str
    seed: int
    password: str
    users: list[DemoUser]
    counts: dict[str, int]
    example_grid_worker: str | None = None  # one of the per-grid workers, if any
    department_handlers: list[cases.HandlerLogin] = field(default_factory=list)  # besides the sample `handler`
    # (phone, compound): synthetic numbers residents sign in with (the code is in the worker's log).
    resident_phones: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "seed": self.seed,
            "users": [
                {"username": u.username, "password": u.password, "role": u.role, "area_code": u.area_code}
                for u in self.users
            ],
            "department_handlers": [
                {"username": h.username, "password": self.password, "department": h.department_name}
                for h in self.department_handlers
            ],
            "resident_phones": [{"phone": phone, "compound": compound} for phone, compound in self.resident_phones],
            "grid_worker_username_pattern": GRID_WORKER_USERNAME_PREFIX + "<grid_code>",
            "community_staff_username_pattern": cases.COMMUNITY_STAFF_PREFIX + "<community_code>",
            "town_staff_username_pattern": cases.TOWN_STAFF_PREFIX + "<town_code>",
            "counts": self.counts,
        }


@dataclass
class DemoBuild:
    """State shared by the steps of one run."""

    preset: Preset
    seed: int
    actor: Any = None
    now: datetime = field(default_factory=timezone.now)  # the year of cases ends here
    plan: CountyPlan | None = None
    areas: dict[str, Area] = field(default_factory=dict)  # by code
    buildings: list[Building] = field(default_factory=list)  # in creation order, i.e. grouped by grid
    departments: dict[str, Department] = field(default_factory=dict)  # by code
    password: str = ""
    users: list[DemoUser] = field(default_factory=list)
    example_grid_worker: str | None = None
    department_handlers: list[cases.HandlerLogin] = field(default_factory=list)
    resident_phones: list[tuple[str, str]] = field(default_factory=list)
    # Called with (households, residents) registered so far, after each chunk of the residents step.
    progress: Callable[[int, int], None] | None = None

    def rng(self, stage: str) -> random.Random:
        return random.Random(f"gridgov-demo:{self.seed}:{stage}")

    def require_plan(self) -> CountyPlan:
        if self.plan is None:
            raise RuntimeError("the plan step must run first")
        return self.plan


def demo_password(seed: int) -> str:
    """The password of every demo account of one run, e.g. `shaohai-fangjing-4821` (passes the validators)."""
    rng = random.Random(f"gridgov-demo:{seed}:password")
    first, second = rng.sample(PASSWORD_WORDS, 2)
    return f"{first}-{second}-{rng.randint(1000, 9999)}"


# ------------------------------------------------------------------ steps


def step_plan(build: DemoBuild) -> None:
    build.plan = plan_county(build.preset, build.seed)


def step_areas(build: DemoBuild) -> None:
    plan = build.require_plan()
    nodes = list(plan.city.walk())
    parent_of = {child.code: node.code for node in nodes for child in node.children}
    specs = [
        AreaSpec(
            level=node.level,
            code=node.code,
            name=node.name,
            parent_code=parent_of.get(node.code),
            geometry=geometry_to_geojson(node.geometry) if node.geometry is not None else None,
        )
        # Level by level, so that areas_bulk_create inserts each level in one batch.
        for level in AREA_LEVEL_ORDER
        for node in nodes
        if node.level == level
    ]
    build.areas = {area.code: area for area in areas_bulk_create(actor=build.actor, specs=specs)}


def step_departments(build: DemoBuild) -> None:
    county = build.areas[COUNTY_CODE]
    for suffix, name in DEPARTMENTS:
        code = f"{COUNTY_CODE}-{suffix}"
        build.departments[code] = department_create(
            actor=build.actor, area=county, code=code, name=f"{county.name}{name}"
        )


def step_housing(build: DemoBuild) -> None:
    plan = build.require_plan()
    compound_specs: list[CompoundSpec] = []
    building_rows: list[tuple[int, Any]] = []  # (index of the compound spec, planned building)
    for leaf in plan.district.leaves():
        area = build.areas[leaf.code]
        grid = area if leaf.level == AreaLevel.GRID else build.areas[leaf.code[:15]]
        microgrid = area if leaf.level == AreaLevel.MICROGRID else None
        for compound in leaf.compounds:
            compound_specs.append(
                CompoundSpec(
                    grid=grid,
                    microgrid=microgrid,
                    name=compound.name,
                    address=compound.address,
                    lon=compound.lon,
                    lat=compound.lat,
                )
            )
            building_rows.extend((len(compound_specs) - 1, planned) for planned in compound.buildings)
    compounds = compounds_bulk_create(actor=build.actor, specs=compound_specs)
    build.buildings = buildings_bulk_create(
        actor=build.actor,
        specs=(
            BuildingSpec(
                grid=compounds[index].grid,
                compound=compounds[index],
                microgrid=compounds[index].microgrid,
                name=planned.name,
                unit_count=planned.unit_count,
                household_count=planned.household_count,
                lon=planned.lon,
                lat=planned.lat,
            )
            for index, planned in building_rows
        ),
    )


def step_residents(build: DemoBuild) -> None:
    """Every building's households and the people living in them (see `people`)."""
    plan = build.require_plan()
    people.residents_populate(
        actor=build.actor,
        buildings=build.buildings,
        areas=build.areas,
        urban_town_codes={town.code for town in plan.district.children if town.kind == TownKind.STREET},
        rng=build.rng("residents"),
        progress=build.progress,
    )


def step_users(build: DemoBuild) -> None:
    plan = build.require_plan()
    build.password = demo_password(build.seed)
    handler_department = build.departments[f"{COUNTY_CODE}-{HANDLER_DEPARTMENT}"]
    rng = build.rng("people")
    book = names.NameBook(rng)
    sample_grid_codes: set[str] = set()
    for sample in SAMPLE_USERS:
        if sample.area_name is None:
            area = build.areas[COUNTY_CODE]
        else:
            area = build.areas[plan.find(level=sample.level, name=sample.area_name).code]
        if sample.role == Role.GRID_WORKER:
            sample_grid_codes.add(area.code)
        user = user_create(
            actor=build.actor, username=sample.username, password=build.password, full_name=book.person()
        )
        role_assign(
            actor=build.actor,
            user=user,
            role=sample.role,
            area=area,
            department=handler_department if sample.role == Role.DEPARTMENT_HANDLER else None,
        )
        build.users.append(DemoUser(sample.username, build.password, sample.role, area.code))

    if build.preset.grid_worker_for_every_grid:
        grids = [build.areas[node.code] for node in plan.by_level(AreaLevel.GRID) if node.code not in sample_grid_codes]
        _grid_workers_bulk_create(build, grids, [book.person() for _ in grids])


def _grid_workers_bulk_create(build: DemoBuild, grids: list[Area], full_names: list[str]) -> None:
    """One grid worker per grid, all sharing the run's password (hashed once by the service)."""
    if not grids:
        return
    users = users_bulk_create(
        actor=build.actor,
        specs=[
            UserSpec(
                username=f"{GRID_WORKER_USERNAME_PREFIX}{grid.code}",
                full_name=full_name,
                role=Role.GRID_WORKER,
                area=grid,
            )
            for grid, full_name in zip(grids, full_names, strict=True)
        ],
        password=build.password,
    )
    build.example_grid_worker = users[0].username


def step_case_staff(build: DemoBuild) -> None:
    """Departments' categories, their handlers, and staff on every community and town (see `cases`)."""
    build.department_handlers = cases.case_staff_create(
        actor=build.actor,
        departments=build.departments,
        areas=build.areas,
        password=build.password,
        rng=build.rng("case-staff"),
    )


def step_portal(build: DemoBuild) -> None:
    """QR tokens for every compound; residents who sign in by phone (see `portal`)."""
    build.resident_phones = portal_demo.portal_demo_create(rng=build.rng("portal")).residents


def step_cases(build: DemoBuild) -> None:
    """A year of cases up to `build.now` (see `cases`)."""
    if build.preset.cases_per_year:
        cases.cases_populate(now=build.now, total=build.preset.cases_per_year, rng=build.rng("cases"))
        sample = {user.username: user for user in User.objects.filter(username__in=["gridworker", "resident"])}
        if len(sample) == 2:
            cases.sample_grid_work_create(now=build.now, grid_worker=sample["gridworker"], resident=sample["resident"])


def step_patrols(build: DemoBuild) -> None:
    """Three weeks of patrols of every grid worker (see `patrols`)."""
    patrols.patrols_populate(now=build.now, rng=build.rng("patrols"), weeks=3)


def step_tasks(build: DemoBuild) -> None:
    """A county gas-safety task with some progress, an ended emergency, resources (see `tasks`)."""
    tasks.tasks_populate(now=build.now, rng=build.rng("tasks"))


def step_party(build: DemoBuild) -> None:
    """Party organisations, lead households, council meetings and proposals (see `party`)."""
    party.party_populate(now=build.now, rng=build.rng("party"))


def step_credits(build: DemoBuild) -> None:
    """A year of virtue credits; public assets with contracts and ledgers for a share of compounds."""
    credits_demo.credits_populate(now=build.now, rng=build.rng("credits"))
    credits_demo.assets_populate(now=build.now, rng=build.rng("assets"))


Step = Callable[[DemoBuild], None]
STEPS: tuple[Step, ...] = (
    step_plan,
    step_areas,
    step_departments,
    step_housing,
    step_residents,
    step_users,
    step_case_staff,
    step_portal,
    step_cases,
    step_dashboard,
    step_patrols,
    step_tasks,
    step_party,
    step_credits,
)
# Everything but the people and their cases: a county in seconds rather than
# minutes (tests and benchmarks of the area tree, accounts and case rules).
_PEOPLE_AND_THEIR_WORK: tuple[Step, ...] = (
    step_residents,
    step_cases,
    step_dashboard,
    step_patrols,
    step_tasks,
    step_party,
    step_credits,
)
STEPS_WITHOUT_RESIDENTS: tuple[Step, ...] = tuple(step for step in STEPS if step not in _PEOPLE_AND_THEIR_WORK)


# ---------------------------------------------------------------- summary


def demo_counts() -> dict[str, int]:
    """What is in the database now (the whole database, which the generator owns)."""
    counts: dict[str, int] = {level: 0 for level in AREA_LEVEL_ORDER}
    for row in Area.objects.values("level").annotate(n=Count("id")).order_by():
        counts[row["level"]] = row["n"]
    counts["villages"] = Area.objects.filter(level=AreaLevel.COMMUNITY, name__endswith="村").count()
    counts["compounds"] = Compound.objects.count()
    counts["buildings"] = Building.objects.count()
    counts["households"] = int(Building.objects.aggregate(total=Sum("household_count"))["total"] or 0)
    counts["registered_households"] = Household.objects.count()
    counts["residents"] = Resident.objects.count()
    counts["floating_residents"] = Resident.objects.filter(residence=Residence.NOT_REGISTERED_LIVING).count()
    counts["party_members"] = Resident.objects.filter(is_party_member=True).count()
    counts["departments"] = Department.objects.count()
    counts["users"] = User.objects.count()
    counts["role_assignments"] = RoleAssignment.objects.count()
    counts["grid_workers"] = RoleAssignment.objects.filter(role=Role.GRID_WORKER).count()
    counts["department_handlers"] = RoleAssignment.objects.filter(role=Role.DEPARTMENT_HANDLER).count()
    counts["department_categories"] = DepartmentCategory.objects.count()
    counts["cases"] = Case.objects.count()
    counts["open_cases"] = Case.objects.filter(status__in=OPEN_STATUSES).count()
    counts["case_steps"] = CaseStep.objects.count()
    counts["patrols"] = Patrol.objects.count()
    counts["tasks"] = Task.objects.count()
    return counts


@transaction.atomic
def generate_county(
    *,
    preset: Preset | str,
    seed: int,
    actor: Any = None,
    steps: tuple[Step, ...] | None = None,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> DemoSummary:
    """Create the demo county in one transaction: all of it, or nothing.

    The database must hold no areas or users yet (see `reset.demo_reset`).
    The result is identical for identical (preset, seed, now); the cases
    cover the year up to `now` (default: the current time). `steps` defaults
    to `STEPS`, looked up at call time; `progress` gets (households,
    residents) registered so far while the residents step runs.
    """
    resolved = PRESETS[preset] if isinstance(preset, str) else preset
    build = DemoBuild(preset=resolved, seed=seed, actor=actor, now=now or timezone.now(), progress=progress)
    if steps is None:
        steps = STEPS
    for step in steps:
        step(build)
    return DemoSummary(
        preset=resolved.name,
        seed=seed,
        password=build.password,
        users=build.users,
        counts=demo_counts(),
        example_grid_worker=build.example_grid_worker,
        department_handlers=build.department_handlers,
        resident_phones=build.resident_phones,
    )
