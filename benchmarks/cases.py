"""Case benchmark: submits per second through the service and through HTTP against raw
single-row INSERTs, and one SLA sweep over 1,000,000 open cases.

Run from the project root:

    .venv/bin/python benchmarks/cases.py [--preset jiaozhou] [--submits 2000] [--rounds 5]
        [--cases 1000000] [--seed 1] [--no-http] [--profile] [--quick]
        [--output benchmarks/results/cases.json]

`--quick` is a smoke run (small county, 200 submits each way, 50,000 cases; about a
minute); explicit options win over it. `--profile` runs the sweep's first pass under
cProfile and adds the hot spots to the report (its seconds then include the profiler).

In one run, on a throw-away SQLite database in a temporary directory (WAL,
synchronous=FULL: the production settings), migrated (seeded categories and SLA
policies), filled with the demo county's areas (no residents), a grid worker on every
grid, staff on every community and town, one handler per department, and the
departments' categories (01/02 城管, 03 住建, 04 市场监管, 05 应急, 06 民政; 99 none):

1. Sweep: `--cases` open cases and one timeline row each are bulk-inserted (executemany
   in batches of 20,000, transactions of 200,000 rows, secondary indexes dropped for
   the load and rebuilt from their own SQL) with the clock shares in `SHARES`; then a
   *separate process* (the worker's situation: its own peak RSS) runs
   `sla_sweep(now=SWEEP_NOW)` twice. The second pass must change nothing.
2. Submits: `--submits` cases each way, in `--rounds` interleaved blocks (service,
   raw, HTTP, service, raw, HTTP …) so that a busy spell on a shared machine hits all
   three alike; 20 untimed warm-up submits each way first:
   - service: `case_submit` by the sample grid worker at a point inside their grid
     (grid_at runs), with an idempotency key, one transaction per case as in production;
   - raw: one `INSERT INTO cases_case` per case of the same rows the service wrote
     (fresh number and key), through the same Django connection in autocommit: one
     commit per row, the same durability;
   - raw transaction: per case, one transaction of exactly the rows the service wrote (the
     case, its timeline row, its notices in one multi-row INSERT) — what the writes alone
     cost, without the service's reads and Python;
   - HTTP: `POST /api/v1/cases` with a bearer token and an Idempotency-Key against
     gunicorn (1 worker, 1 thread, gthread for keep-alive) on the same database file,
     over one keep-alive `http.client` connection.

Reading the report (`submits`, `sweep`):

- `submits.service_to_raw`: service submits/s over raw INSERTs/s, the goal is ≥ 0.5;
  `http_to_raw`, `http_to_service` likewise; `service_to_raw_by_round` shows how much
  the ratio moved between the interleaved rounds. `service_to_raw_transaction` compares the
  service with the raw writes of the same rows in one transaction, and
  `raw_transaction_to_raw` shows what the extra rows cost by themselves. Both sides pay one fsync per commit
  (synchronous=FULL), so the ratio moves with the disk's fsync latency: compare ratios
  from one run, not rates across runs. `sql_statements_per_submit` counts what the
  service sends (COMMIT is not counted).
- `sweep.first_pass.seconds`: one pass over every open case (goal < 60 s for
  1,000,000 on 2 cores); `warned`/`breached`/`escalated` must equal `sweep.expected`
  (computed while generating the rows); `seconds_executing_sql` is the time inside the
  cursor's execute (not fetching rows, not COMMIT), the rest is Python and the ORM.
  `second_pass` at the same `now` must be all zeros: its seconds are the cost of the
  two candidate queries. `setup_*` is the bulk load, not part of any measurement.
- `sweep.peak_rss_mb`: the sweep process's high-water mark (VmHWM on Linux).

Exit status 1 when the sweep's counts differ from the expected ones, the second pass
changes anything, or an HTTP submit answers anything but 201.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import http.client
import json
import os
import pstats
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchlib import ROOT, Server, configure_django, machine_info

TZ = ZoneInfo("Asia/Shanghai")
# A Wednesday in office hours, in a year the built-in holiday calendar knows.
SWEEP_NOW = dt.datetime(2025, 11, 19, 10, 0, tzinfo=TZ)
SERVICE_GOAL = 0.5  # service submits/s ≥ 50 % of raw INSERTs/s
SWEEP_GOAL_SECONDS = 60.0  # first pass over 1,000,000 open cases on 2 cores

# Shares of all open cases by where their current step's clock stands at SWEEP_NOW.
SHARES: dict[str, float] = {
    "breached": 0.01,  # due_at passed, light green or yellow: the sweep breaches (and escalates) them
    "warning": 0.02,  # warn_at ≤ now < due_at, light green: the sweep warns them
    "already_yellow": 0.01,  # in the warning window, warned by an earlier pass
    "already_red": 0.005,  # breached earlier with no tier above: red, left alone
    "suspended": 0.05,  # clock stopped (half of them with due_at in the past), left alone
    # the rest: green, warn_at still ahead
}
# Timed cases by status, and tiers by status.
STATUS_WEIGHTS = {"submitted": 0.12, "handling": 0.60, "dispatched": 0.10, "reported": 0.18}
TIER_WEIGHTS = {
    "submitted": {"grid": 0.70, "community": 0.18, "town": 0.12},
    "handling": {"grid": 0.60, "community": 0.15, "town": 0.10, "department": 0.15},
    "dispatched": {"department": 1.0},
    "reported": {"grid": 0.60, "community": 0.15, "town": 0.10, "department": 0.15},
}
URGENCY_WEIGHTS = {"normal": 0.85, "urgent": 0.12, "critical": 0.03}
SOURCE_KINDS = (  # (source, kind, weight)
    ("grid_worker", "patrol_finding", 0.50),
    ("resident", "complaint", 0.15),
    ("resident", "help", 0.10),
    ("hotline", "complaint", 0.20),
    ("walk_in", "consultation", 0.05),
)
# Top-level category → owning department (suffix of the demo's department codes); 99 has none.
DEPARTMENT_OF_CATEGORY = {"01": "CGJ", "02": "CGJ", "03": "ZJJ", "04": "SCJGJ", "05": "YJGLJ", "06": "MZJ"}
TITLES = (
    ("小区东门垃圾堆放", "东门外绿化带旁有生活垃圾堆放，已有异味，请尽快清运。"),
    ("楼道堆放杂物", "三单元楼道堆放纸箱和旧家具，堵塞消防通道。"),
    ("夜间施工噪音", "工地晚上十点后仍在施工，噪音很大，影响休息。"),
    ("路灯不亮", "小区南侧道路两盏路灯已坏一周，夜间出行不便。"),
    ("占道经营", "早市摊贩占用人行道经营，行人只能走机动车道。"),
    ("邻里漏水纠纷", "楼上卫生间漏水至楼下，双方协商未果，请社区协调。"),
    ("犬只未拴绳", "小区内多次有大型犬未拴绳，居民担心安全。"),
    ("非法小广告", "单元门和电线杆上张贴大量小广告。"),
)
# The columns `_case_rows` fills, in the order it gives their values (the others keep their defaults).
CASE_COLUMNS = (
    "id",
    "number",
    "kind",
    "source",
    "category_id",
    "urgency",
    "title",
    "description",
    "grid_id",
    "longitude",
    "latitude",
    "address",
    "reporter_name",
    "submitted_by_id",
    "status",
    "tier",
    "handling_area_id",
    "department_id",
    "owner_id",
    "sla_unit",
    "step_started_at",
    "warn_at",
    "due_at",
    "sla_light",
    "close_due_at",
    "breach_count",
    "submitted_at",
    "first_response_at",
    "version",
    "updated_at",
    "suspended_status",
    "suspended_at",
    "reported_at",
)
STEP_COLUMNS = ("case_id", "seq", "action", "at", "to_status", "to_tier")
CHUNK = 20_000  # rows per executemany
ROWS_PER_TRANSACTION = 200_000


def _proc_status_mb(name: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    """Peak resident set of this process (VmHWM on Linux, reset by exec; getrusage elsewhere)."""
    hwm = _proc_status_mb("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def _progress(message: str) -> None:
    """A line on stderr as each part finishes: a long run's log keeps what it measured."""
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


# ------------------------------------------------------------------ the county


@dataclass
class GridInfo:
    id: int
    path: str
    community_id: int
    town_id: int
    lon: float
    lat: float


@dataclass
class County:
    grids: list[GridInfo]
    grid_worker: dict[int, int]  # grid id → user id
    community_staff: dict[int, int]  # community id → user id
    town_staff: dict[int, int]  # town id → user id
    department_handler: dict[int, int]  # department id → user id
    departments: dict[str, int]  # code suffix → department id
    counts: dict[str, Any] = field(default_factory=dict)


def _setup_county(*, preset: str, seed: int) -> tuple[County, float]:
    """The demo county's areas and users, staff on every community and town, departments' categories."""
    from django.core.management import call_command

    from gridgov.accounts.choices import Role
    from gridgov.accounts.models import Department, RoleAssignment
    from gridgov.accounts.services import UserSpec, users_bulk_create
    from gridgov.areas.choices import AreaLevel
    from gridgov.areas.models import Area
    from gridgov.cases.models import Category
    from gridgov.cases.services.config import department_categories_set
    from gridgov.demo.generator import STEPS_WITHOUT_RESIDENTS, demo_counts, generate_county

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    generate_county(preset=preset, seed=seed, steps=STEPS_WITHOUT_RESIDENTS)
    password = "bench-" + os.urandom(12).hex()
    communities = list(Area.objects.filter(level=AreaLevel.COMMUNITY).order_by("code"))
    towns = list(Area.objects.filter(level=AreaLevel.TOWN).order_by("code"))
    departments = list(Department.objects.order_by("code"))
    users_bulk_create(
        actor=None,
        password=password,
        specs=[
            *(UserSpec(f"bench-c{area.code}", "社区工作人员", Role.COMMUNITY_STAFF, area) for area in communities),
            *(UserSpec(f"bench-t{area.code}", "镇街工作人员", Role.TOWN_STAFF, area) for area in towns),
            *(
                UserSpec(
                    f"bench-d{department.code}", "部门办理人", Role.DEPARTMENT_HANDLER, department.area, department
                )
                for department in departments
            ),
        ],
    )
    by_suffix = {department.code.rsplit("-", 1)[-1]: department for department in departments}
    for suffix in sorted(set(DEPARTMENT_OF_CATEGORY.values())):
        codes = [code for code, owner in DEPARTMENT_OF_CATEGORY.items() if owner == suffix]
        department_categories_set(
            actor=None, department=by_suffix[suffix], categories=Category.objects.filter(code__in=codes)
        )

    first_holder: dict[tuple[str, int], int] = {}
    for role, area_id, department_id, user_id in RoleAssignment.objects.order_by("pk").values_list(
        "role", "area_id", "department_id", "user_id"
    ):
        first_holder.setdefault((role, department_id if role == Role.DEPARTMENT_HANDLER else area_id), user_id)
    parent_of = dict(Area.objects.values_list("pk", "parent_id"))
    grids = []
    for grid in Area.objects.filter(level=AreaLevel.GRID).order_by("code"):
        community_id = parent_of[grid.pk]
        assert community_id is not None and grid.min_lon is not None and grid.max_lon is not None  # noqa: S101
        assert grid.min_lat is not None and grid.max_lat is not None  # noqa: S101
        grids.append(
            GridInfo(
                id=grid.pk,
                path=grid.path,
                community_id=community_id,
                town_id=parent_of[community_id],
                lon=(grid.min_lon + grid.max_lon) / 2,
                lat=(grid.min_lat + grid.max_lat) / 2,
            )
        )
    county = County(
        grids=grids,
        grid_worker={grid.id: first_holder[(Role.GRID_WORKER, grid.id)] for grid in grids},
        community_staff={area.pk: first_holder[(Role.COMMUNITY_STAFF, area.pk)] for area in communities},
        town_staff={area.pk: first_holder[(Role.TOWN_STAFF, area.pk)] for area in towns},
        department_handler={d.pk: first_holder[(Role.DEPARTMENT_HANDLER, d.pk)] for d in departments},
        departments={suffix: department.pk for suffix, department in by_suffix.items()},
        counts=demo_counts(),
    )
    return county, time.perf_counter() - started


# ------------------------------------------------------------ raw row writing


class RowWriter:
    """Rows of one model as parameter lists in its concrete-field order, for executemany.

    Every column starts from the field's default as the database backend stores it; the
    caller overwrites the columns it varies (values already in the database's form).
    """

    def __init__(self, model: Any, *, with_pk: bool) -> None:
        from django.db import connection

        fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
        self.index = {f.attname: position for position, f in enumerate(fields)}
        self.template: list[Any] = [
            f.get_db_prep_save(f.get_default(), connection) if f.has_default() or not f.null else None for f in fields
        ]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        table = connection.ops.quote_name(model._meta.db_table)
        self.sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 — names from the model

    def positions(self, names: tuple[str, ...]) -> list[int]:
        return [self.index[name] for name in names]

    def row(self, values: dict[str, Any]) -> list[Any]:
        row = self.template.copy()
        for name, value in values.items():
            row[self.index[name]] = value
        return row


# ------------------------------------------------------------- 1M open cases


@dataclass
class Population:
    cases: int = 0
    buckets: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    expected_escalations: int = 0
    setup_seconds: float = 0.0
    insert_seconds: float = 0.0
    index_seconds: float = 0.0
    steps: int = 0


def _cumulative(weights: dict[str, float]) -> tuple[list[str], list[float]]:
    names, total, cumulative = list(weights), 0.0, []
    for weight in weights.values():
        total += weight
        cumulative.append(total)
    return names, [value / total for value in cumulative]


def _case_rows(
    *, county: County, count: int, first_id: int, seed: int, population: Population
) -> Iterator[tuple[list[Any], list[Any]]]:
    """(case row, step row) pairs of `count` open cases with ids from `first_id`.

    Clock times are whole minutes around SWEEP_NOW (so their text is cached); every
    bucket's inequalities hold exactly on those minutes. Kept lean: a million rows.
    """
    from gridgov.cases.models import Case, CaseStep, Category
    from gridgov.cases.selectors import sla_policy_for

    rng = random.Random(f"cases:{seed}")
    random_ = rng.random
    randint = rng.randint
    cases = RowWriter(Case, with_pk=True)
    steps = RowWriter(CaseStep, with_pk=False)
    leaves = list(Category.objects.exclude(parent=None).order_by("code"))
    owning = {code: county.departments[suffix] for code, suffix in DEPARTMENT_OF_CATEGORY.items()}
    fallback_department = county.departments["CGJ"]
    limit_field = {
        ("submitted", "grid"): "first_response",
        ("submitted", "community"): "community_limit",
        ("submitted", "town"): "town_limit",
        ("handling", "grid"): "grid_limit",
        ("handling", "community"): "community_limit",
        ("handling", "town"): "town_limit",
        ("handling", "department"): "department_limit",
        ("dispatched", "department"): "department_limit",
    }
    minutes_per_unit = {"natural_hour": 60.0, "working_hour": 60.0 * 24 / 7, "working_day": 1440.0 * 7 / 5}
    # (leaf index, urgency, status, tier) → (unit, span of the step in minutes)
    spans: dict[tuple[int, str, str, str], tuple[str, int]] = {}
    for position, leaf in enumerate(leaves):
        for urgency in URGENCY_WEIGHTS:
            policy = sla_policy_for(leaf, urgency)
            for status, tiers in TIER_WEIGHTS.items():
                for tier in tiers:
                    amount = max(float(getattr(policy, limit_field.get((status, tier), "verification_limit"))), 0.5)
                    spans[(position, urgency, status, tier)] = (
                        policy.unit,
                        max(round(amount * minutes_per_unit[policy.unit]), 30),
                    )
    leaf_rows = [
        (leaf.pk, owning.get(leaf.code[:2]), leaf.code[:2] in owning) for leaf in leaves
    ]  # (id, owning department, a town breach is dispatched)
    grid_rows = [
        (
            grid.id,
            grid.community_id,
            grid.town_id,
            grid.lon,
            grid.lat,
            county.grid_worker[grid.id],
            county.community_staff[grid.community_id],
            county.town_staff[grid.town_id],
        )
        for grid in county.grids
    ]
    action_of = {
        "submitted": "escalate",
        "handling": "accept",
        "dispatched": "dispatch",
        "reported": "report_back",
        "suspended": "suspend",
    }
    bucket_names, bucket_cumulative = list(SHARES), []
    total = 0.0
    for share in SHARES.values():
        total += share
        bucket_cumulative.append(total)
    statuses, status_cumulative = _cumulative(STATUS_WEIGHTS)
    tier_cumulative = {status: _cumulative(weights) for status, weights in TIER_WEIGHTS.items()}
    urgencies, urgency_cumulative = _cumulative(URGENCY_WEIGHTS)
    sources, source_cumulative = _cumulative({f"{s}:{k}": w for s, k, w in SOURCE_KINDS})
    source_kind = [name.split(":") for name in sources]

    base = SWEEP_NOW.astimezone(dt.UTC).replace(tzinfo=None)
    texts: dict[int, tuple[str, str]] = {}
    now_text = str(base)

    def when(minute: int) -> tuple[str, str]:
        """(stored text, local day) of SWEEP_NOW + `minute` minutes."""
        found = texts.get(minute)
        if found is None:
            moment = base + dt.timedelta(minutes=minute)
            found = texts[minute] = (str(moment), f"{moment + dt.timedelta(hours=8):%Y%m%d}")
        return found

    case_positions = cases.positions(CASE_COLUMNS)
    step_positions = steps.positions(STEP_COLUMNS)
    case_template, step_template = cases.template, steps.template
    buckets, stored_statuses = population.buckets, population.statuses
    for case_id in range(first_id, first_id + count):
        draw = random_()
        bucket = "green"
        for position, limit in enumerate(bucket_cumulative):
            if draw < limit:
                bucket = bucket_names[position]
                break
        status = statuses[bisect_right(status_cumulative, random_())]
        tier_names, tier_limits = tier_cumulative[status]
        tier = tier_names[bisect_right(tier_limits, random_())] if len(tier_names) > 1 else tier_names[0]
        grid_id, community_id, town_id, lon, lat, worker, community_staff, town_staff = grid_rows[
            int(random_() * len(grid_rows))
        ]
        leaf_index = int(random_() * len(leaf_rows))
        leaf_id, owner_department, dispatched_at_town = leaf_rows[leaf_index]
        urgency = urgencies[bisect_right(urgency_cumulative, random_())]
        source, kind = source_kind[bisect_right(source_cumulative, random_())]
        unit, span = spans[(leaf_index, urgency, status, tier)]
        warn_after = round(0.8 * span)
        # Minutes from SWEEP_NOW: step start, 80 % warning, due time.
        if bucket == "breached" or bucket == "already_red" or (bucket == "suspended" and random_() < 0.5):
            due = -randint(1, 3 * 1440)
            start = due - span
        elif bucket == "warning" or bucket == "already_yellow":
            start = -randint(warn_after, span - 1)
            due = start + span
        else:
            start = -randint(0, warn_after - 1)
            due = start + span
        first_step = status == "submitted" and tier == "grid"
        submitted = start if first_step else start - randint(10, 5 * 1440)
        light = "green"
        if bucket == "already_yellow" or (bucket == "breached" and random_() < 0.5):
            light = "yellow"
        elif bucket == "already_red":
            light = "red"
        stored_status = "suspended" if bucket == "suspended" else status
        department_id = None
        if tier == "department":
            department_id = owner_department or fallback_department
            handling_area = town_id
        else:
            handling_area = grid_id if tier == "grid" else community_id if tier == "community" else town_id
        owner_id = None
        if status == "handling":
            if tier == "grid":
                owner_id = worker
            elif tier == "community":
                owner_id = community_staff
            elif tier == "town":
                owner_id = town_staff
            else:
                owner_id = county.department_handler[department_id or 0]
        version = 1 if first_step else randint(2, 6)
        submitted_text, submitted_day = when(submitted)
        start_text = when(start)[0]
        title, description = TITLES[case_id % len(TITLES)]
        row = case_template.copy()
        for position, value in zip(
            case_positions,
            (
                case_id,
                f"{submitted_day}{case_id:08d}",
                kind,
                source,
                leaf_id,
                urgency,
                title,
                description,
                grid_id,
                lon,
                lat,
                "网格内",
                "" if source == "grid_worker" else "王女士",
                worker,
                stored_status,
                tier,
                handling_area,
                department_id,
                owner_id,
                unit,
                start_text,
                when(start + warn_after)[0],
                when(due)[0],
                light,
                when(submitted + 7 * 1440)[0],
                1 if bucket == "already_red" else 0,
                submitted_text,
                None if first_step else when(submitted + randint(5, 60))[0],
                version,
                now_text,
                status if bucket == "suspended" else "",
                when(-randint(60, 10 * 1440))[0] if bucket == "suspended" else None,
                start_text if status == "reported" else None,
            ),
            strict=True,
        ):
            row[position] = value
        step = step_template.copy()
        for position, step_value in zip(
            step_positions,
            (case_id, version, "submit" if first_step else action_of[stored_status], start_text, stored_status, tier),
            strict=True,
        ):
            step[position] = step_value

        buckets[bucket] += 1
        stored_statuses[stored_status] += 1
        if (
            bucket == "breached"
            and status in ("submitted", "handling")
            and (tier in ("grid", "community") or (tier == "town" and dispatched_at_town))
        ):
            population.expected_escalations += 1  # (the generator is not run past its last row)
        yield row, step


def _insert_cases(*, county: County, count: int, seed: int, analyze: bool) -> Population:
    """Bulk-insert `count` open cases and the latest timeline step of each.

    The tables' secondary indexes are dropped for the load and rebuilt from their own
    SQL afterwards (sorting once is several times faster than a million random index
    inserts); the schema the sweep sees is the migrated one.
    """
    from django.db import connection, transaction

    from gridgov.cases.models import Case, CaseStep

    population = Population(cases=count)
    case_sql = RowWriter(Case, with_pk=True).sql
    step_sql = RowWriter(CaseStep, with_pk=False).sql
    first_id = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    tables = (Case._meta.db_table, CaseStep._meta.db_table)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Set-up only: a 1 GB page cache for the load (the sweep's process has the production 64 MB).
        cursor.execute("PRAGMA cache_size=-1000000")
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (%s, %s)",
            tables,
        )
        indexes = cursor.fetchall()
    rows = _case_rows(county=county, count=count, first_id=first_id, seed=seed, population=population)
    done = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for name, _sql in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    while done < count:
        with transaction.atomic(), connection.cursor() as cursor:
            in_transaction = 0
            while in_transaction < ROWS_PER_TRANSACTION and done < count:
                batch = [next(rows) for _ in range(min(CHUNK, count - done))]
                cursor.executemany(case_sql, [case for case, _ in batch])
                cursor.executemany(step_sql, [step for _, step in batch])
                done += len(batch)
                in_transaction += len(batch)
    population.insert_seconds = time.perf_counter() - started
    with transaction.atomic(), connection.cursor() as cursor:
        for _name, sql in indexes:
            cursor.execute(sql)
    population.index_seconds = time.perf_counter() - started - population.insert_seconds
    with connection.cursor() as cursor:
        if analyze:
            cursor.execute("ANALYZE")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("PRAGMA cache_size=-64000")
    population.steps = count
    population.setup_seconds = time.perf_counter() - started
    return population


# ------------------------------------------------------------------ the sweep


def child_sweep(*, now: dt.datetime, profile: bool) -> dict[str, Any]:
    """Two passes of `sla_sweep` at the same `now`; runs in its own process."""
    from django.db import connection
    from django.urls import reverse

    from gridgov.cases.selectors import working_calendar
    from gridgov.cases.services import sla_sweep

    # A worker process has imported the URL configuration (notice links) and loaded
    # the SLA rules long before a sweep: do that here, untimed.
    reverse("cases:detail", args=[1])
    working_calendar()
    rss_ready = _peak_rss_mb()
    statements: Counter[str] = Counter()
    sql_seconds = [0.0]

    def count_statements(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        statements[sql.lstrip().split(None, 1)[0].upper()] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_seconds[0] += time.perf_counter() - started

    profiler = cProfile.Profile() if profile else None
    with connection.execute_wrapper(count_statements):
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        first = sla_sweep(now=now)
        if profiler is not None:
            profiler.disable()
        first_seconds = time.perf_counter() - started
        first_statements, first_sql_seconds = dict(statements), sql_seconds[0]
        statements.clear()
        sql_seconds[0] = 0.0
        started = time.perf_counter()
        second = sla_sweep(now=now)
        second_seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "first_pass": {
            "warned": first.warned,
            "breached": first.breached,
            "escalated": first.escalated,
            "seconds": round(first_seconds, 2),
            "sql_statements": first_statements,
            "seconds_executing_sql": round(first_sql_seconds, 2),
        },
        "second_pass": {
            "warned": second.warned,
            "breached": second.breached,
            "escalated": second.escalated,
            "seconds": round(second_seconds, 2),
            "sql_statements": dict(statements),
            "seconds_executing_sql": round(sql_seconds[0], 2),
        },
        "rss_after_setup_mb": rss_ready,
        "peak_rss_mb": _peak_rss_mb(),
    }
    if profiler is not None:
        result["profile"] = _profile_summary(profiler, SWEEP_HOTSPOTS)
    return result


# Where the time goes (cumulative seconds under cProfile; entries overlap).
SWEEP_HOTSPOTS: dict[str, tuple[str, str]] = {
    "warnings (_warn_cases)": ("sweep.py", "_warn_cases"),
    "breaches (_breach_case)": ("sweep.py", "_breach_case"),
    "recipients (_holders: one query per call)": ("lifecycle.py", "_holders"),
    "notices (notices_queue: one bulk_create per case)": ("notices/services.py", "notices_queue"),
    "notice links (case_link → reverse)": ("lifecycle.py", "case_link"),
    "case UPDATE + step INSERT (_transition)": ("lifecycle.py", "_transition"),
    "new clock (_clock → working calendar)": ("lifecycle.py", "_clock"),
    "owning department (_owning_department)": ("sweep.py", "_owning_department"),
    "JSON decoding (area geometry loaded by select_related)": ("json/decoder.py", "raw_decode"),
    "model instances (Model.__init__)": ("django/db/models/base.py", "__init__"),
    "SQL execute (sqlite3)": ("~", "<function SQLiteCursorWrapper.execute"),
    "row fetching (sqlite3 fetchmany)": ("~", "<method 'fetchmany' of 'sqlite3.Cursor'"),
    "COMMIT (sqlite3, fsync)": ("~", "<method 'commit' of 'sqlite3.Connection'"),
}


SUBMIT_HOTSPOTS: dict[str, tuple[str, str]] = {
    "idempotency lookup (_existing_submission)": ("lifecycle.py", "_existing_submission"),
    "grid from the point (_resolve_grid: grid_at + Area get)": ("lifecycle.py", "_resolve_grid"),
    "grid_at (STRtree)": ("areas/selectors.py", "grid_at"),
    "content fingerprint (CaseInput.fingerprint)": ("lifecycle.py", "fingerprint"),
    "clock (_clock → working calendar)": ("lifecycle.py", "_clock"),
    "Case INSERT (Model.save)": ("django/db/models/base.py", "save"),
    "recipients (_holders)": ("lifecycle.py", "_holders"),
    "notices (notices_queue)": ("notices/services.py", "notices_queue"),
    "JSON decoding (area geometry)": ("json/decoder.py", "raw_decode"),
    "SQL execute (sqlite3)": ("~", "<function SQLiteCursorWrapper.execute"),
    "COMMIT (sqlite3, fsync)": ("~", "<method 'commit' of 'sqlite3.Connection'"),
}


def _profile_summary(
    profiler: cProfile.Profile, hotspot_names: dict[str, tuple[str, str]], top: int = 25
) -> dict[str, Any]:
    stats = pstats.Stats(profiler)
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]  # (not in typeshed)
    rows = []
    for (filename, line, function), (_calls, ncalls, tottime, cumtime, _callers) in entries.items():
        where = filename
        for marker in (str(ROOT) + os.sep, "site-packages" + os.sep):
            if marker in where:
                where = where.split(marker, 1)[1]
        rows.append(
            {
                "function": f"{where}:{line}({function})",
                "calls": ncalls,
                "tottime": round(tottime, 3),
                "cumtime": round(cumtime, 3),
            }
        )
    total = max((row["cumtime"] for row in rows), default=0.0)
    hotspots = {}
    for label, (suffix, function) in hotspot_names.items():
        seconds = sum(
            cumtime
            for (filename, _line, name), (_c, _n, _t, cumtime, _callers) in entries.items()
            if filename.endswith(suffix) and (name == function or name.startswith(function))
        )
        hotspots[label] = {"seconds": round(seconds, 2), "share": round(seconds / total, 3) if total else None}
    return {
        "total_seconds": round(total, 2),
        "hotspots": hotspots,
        "by_cumulative": sorted(rows, key=lambda row: -row["cumtime"])[:top],
        "by_own_time": sorted(rows, key=lambda row: -row["tottime"])[:top],
    }


def _run_child(database_dir: Path, *, profile: bool) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-sweep",
        SWEEP_NOW.isoformat(),
        "--child-database-dir",
        str(database_dir),
    ]
    if profile:
        command.append("--profile")
    completed = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), check=False)  # noqa: S603
    if completed.returncode != 0:
        raise RuntimeError(f"sweep child failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _bench_sweep(
    *, county: County, cases: int, seed: int, database_dir: Path, profile: bool, analyze: bool
) -> dict[str, Any]:
    from gridgov.cases.models import Case, CaseStep
    from gridgov.notices.models import Notice

    population = _insert_cases(county=county, count=cases, seed=seed, analyze=analyze)
    _progress(f"{cases:,} open cases loaded in {population.setup_seconds:.1f} s; sweeping")
    database_mb = sum(path.stat().st_size for path in database_dir.glob("bench.sqlite3*")) / 2**20
    notices_before = Notice.objects.count()
    sweep = _run_child(database_dir, profile=profile)
    first, second = sweep["first_pass"], sweep["second_pass"]
    expected = {
        "warned": population.buckets["warning"],
        "breached": population.buckets["breached"],
        "escalated": population.expected_escalations,
    }
    auto_steps = CaseStep.objects.filter(action__in=["auto_escalate", "breach"], at=SWEEP_NOW).count()
    return {
        "now": SWEEP_NOW.isoformat(),
        "open_cases": Case.objects.exclude(status__in=["closed", "voided"]).count(),
        "shares": {**SHARES, "green": round(1 - sum(SHARES.values()), 4)},
        "buckets": dict(sorted(population.buckets.items())),
        "statuses": dict(sorted(population.statuses.items())),
        "setup_seconds": round(population.setup_seconds, 1),
        "setup_insert_seconds": round(population.insert_seconds, 1),
        "setup_index_seconds": round(population.index_seconds, 1),
        "timeline_rows_inserted": population.steps,
        "database_mb": round(database_mb, 1),
        "expected": expected,
        "first_pass": {
            **first,
            "cases_per_second": _rate(cases, first["seconds"]),
            "changed_per_second": _rate(first["warned"] + first["breached"], first["seconds"]),
        },
        "second_pass": second,
        "timeline_rows_written": auto_steps,
        "notices_written": Notice.objects.count() - notices_before,
        "rss_after_setup_mb": sweep["rss_after_setup_mb"],
        "peak_rss_mb": sweep["peak_rss_mb"],
        **({"profile": sweep["profile"]} if "profile" in sweep else {}),
        "as_expected": {name: first[name] == value for name, value in expected.items()},
        "goal_seconds": SWEEP_GOAL_SECONDS,
        "goal_met": first["seconds"] < SWEEP_GOAL_SECONDS,
        "goal_scaled_to_1m_met": first["seconds"] * 1_000_000 / cases < SWEEP_GOAL_SECONDS,
    }


# ---------------------------------------------------------------- submits


@dataclass
class Submitter:
    username: str
    user_id: int
    grid_id: int
    points: list[tuple[float, float]]
    categories: list[str]


def _submitter(*, seed: int, points: int) -> Submitter:
    """The demo's sample grid worker, and points inside their grid (grid_at agrees)."""
    from gridgov.accounts.choices import Role
    from gridgov.accounts.models import RoleAssignment
    from gridgov.areas.models import Area
    from gridgov.areas.selectors import grid_at
    from gridgov.cases.models import Category

    assignment = RoleAssignment.objects.select_related("user", "area").get(
        user__username="gridworker", role=Role.GRID_WORKER
    )
    grid: Area = assignment.area
    assert grid.min_lon is not None and grid.max_lon is not None  # noqa: S101
    assert grid.min_lat is not None and grid.max_lat is not None  # noqa: S101
    rng = random.Random(f"points:{seed}")
    found: list[tuple[float, float]] = []
    for _ in range(points * 100):
        lon, lat = rng.uniform(grid.min_lon, grid.max_lon), rng.uniform(grid.min_lat, grid.max_lat)
        hit = grid_at(lon, lat)
        if hit is not None and hit.id == grid.pk:
            found.append((round(lon, 6), round(lat, 6)))
            if len(found) == points:
                break
    assert found  # noqa: S101
    codes = list(Category.objects.exclude(parent=None).exclude(code__startswith="05").values_list("code", flat=True))
    return Submitter(
        username=assignment.user.username, user_id=assignment.user.pk, grid_id=grid.pk, points=found, categories=codes
    )


def _payload(submitter: Submitter, index: int) -> dict[str, Any]:
    title, description = TITLES[index % len(TITLES)]
    lon, lat = submitter.points[index % len(submitter.points)]
    return {
        "kind": "patrol_finding",
        "category": submitter.categories[index % len(submitter.categories)],
        "title": title,
        "description": description,
        "source": "grid_worker",
        "urgency": "urgent" if index % 10 == 0 else "normal",
        "longitude": lon,
        "latitude": lat,
        "address": f"{index % 30 + 1}号楼附近",
    }


def _api_has_case_submit(server: Server) -> bool:
    status, body = server.get("/api/v1/openapi.json")
    if status != 200:
        return False
    paths = json.loads(body).get("paths", {})
    return any("post" in operations and path.rstrip("/") == "/api/v1/cases" for path, operations in paths.items())


class HttpClient:
    """One keep-alive connection posting cases as the submitter."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        # ALLOWED_HOSTS of the benchmark settings: localhost (the socket is 127.0.0.1 all the same).
        self.headers = {"Host": "localhost", "Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.reconnects = 0

    def submit(self, payload: dict[str, Any], key: str) -> int:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.connection.request("POST", "/api/v1/cases", body=body, headers={**self.headers, "Idempotency-Key": key})
        response = self.connection.getresponse()
        response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.reconnects += 1
        return response.status

    def close(self) -> None:
        self.connection.close()


def _raw_rows(case_ids: list[int], prefix: str) -> list[list[Any]]:
    """The rows the service wrote for `case_ids`, as single-row INSERT parameters with fresh keys."""
    from django.db import connection

    from gridgov.cases.models import Case

    writer = RowWriter(Case, with_pk=False)
    fields = [f for f in Case._meta.concrete_fields if not f.primary_key]
    rows = []
    for number, case in enumerate(Case.objects.filter(pk__in=case_ids).order_by("pk")):
        values = {f.attname: f.get_db_prep_save(getattr(case, f.attname), connection) for f in fields}
        values["number"] = f"{prefix}{number:08d}"
        values["idempotency_key"] = f"{prefix}-{number}"
        rows.append(writer.row(values))
    return rows


@dataclass
class RawSubmit:
    """Everything one service submit wrote, as raw statements: the case, its timeline row and its
    notices (one multi-row INSERT, as `bulk_create` sends it)."""

    case_row: list[Any]
    step_row: list[Any]
    notice_sql: str
    notice_params: list[Any]


def _raw_submits(case_ids: list[int], prefix: str) -> list[RawSubmit]:
    """The rows the service wrote for `case_ids` (case, step, notices), with fresh keys."""
    from django.db import connection

    from gridgov.cases.models import CaseStep
    from gridgov.notices.models import Notice

    case_rows = _raw_rows(case_ids, prefix)
    step_writer = RowWriter(CaseStep, with_pk=False)
    notice_writer = RowWriter(Notice, with_pk=False)
    step_fields = [f for f in CaseStep._meta.concrete_fields if not f.primary_key]
    notice_fields = [f for f in Notice._meta.concrete_fields if not f.primary_key]
    steps = {step.case_id: step for step in CaseStep.objects.filter(case_id__in=case_ids, seq=1)}
    notices: dict[int, list[Notice]] = {case_id: [] for case_id in case_ids}
    for notice in Notice.objects.filter(link__in=[f"/cases/{case_id}/" for case_id in case_ids]).order_by("pk"):
        notices[int(notice.link.strip("/").rsplit("/", 1)[-1])].append(notice)
    submits = []
    for case_id, case_row in zip(sorted(case_ids), case_rows, strict=True):
        step = steps[case_id]
        step_row = step_writer.row(
            {f.attname: f.get_db_prep_save(getattr(step, f.attname), connection) for f in step_fields}
        )
        rows = [
            notice_writer.row({f.attname: f.get_db_prep_save(getattr(n, f.attname), connection) for f in notice_fields})
            for n in notices[case_id]
        ]
        values = ", ".join(["(" + ", ".join(["%s"] * len(notice_fields)) + ")"] * len(rows))
        notice_sql = notice_writer.sql.split(" VALUES ")[0] + " VALUES " + values
        submits.append(RawSubmit(case_row, step_row, notice_sql, [value for row in rows for value in row]))
    return submits


def _bench_submits(
    *, submits: int, rounds: int, seed: int, http: bool, directory: Path, profile: bool, warmup: int = 20
) -> dict[str, Any]:
    from django.db import connection, connections, transaction

    from gridgov.accounts.models import User
    from gridgov.accounts.services import api_token_issue
    from gridgov.cases.models import Case, CaseStep, Category
    from gridgov.cases.services import CaseInput, case_submit
    from gridgov.notices.models import Notice

    rounds = max(1, min(rounds, submits))
    submitter = _submitter(seed=seed, points=200)
    actor = User.objects.get(pk=submitter.user_id)
    categories = {category.code: category for category in Category.objects.all()}
    writer = RowWriter(Case, with_pk=False)
    run_tag = f"{int(time.time())}"

    def service_submit(index: int, key: str) -> int:
        payload = _payload(submitter, index)
        data = CaseInput(**{**payload, "category": categories[payload["category"]]})
        case, created = case_submit(actor=actor, data=data, idempotency_key=key)
        assert created  # noqa: S101
        return case.pk

    server = client = None
    http_note = "not run (--no-http)"
    if http:
        _token, raw_token = api_token_issue(actor=None, user=actor, name="benchmark")
        connections.close_all()
        server = Server(directory)
        server.wait_ready()
        if _api_has_case_submit(server):
            client = HttpClient(server.port, raw_token)
            http_note = "gunicorn 1 worker × 1 thread (gthread), one keep-alive http.client connection"
        else:
            http_note = "skipped: the running API has no POST /api/v1/cases (gridgov/cases/api.py missing)"
            server.stop()
            server = None

    try:
        # Warm-up, untimed: the grid index, the rules cache, the server's first requests.
        warm_ids = [service_submit(index, f"warm-{run_tag}-{index}") for index in range(warmup)]
        with connection.cursor() as cursor:
            for row in _raw_rows(warm_ids, f"W{run_tag[-6:]}"):
                cursor.execute(writer.sql, row)
        if client is not None:
            for index in range(warmup):
                status = client.submit(_payload(submitter, index), f"warm-http-{run_tag}-{index}")
                assert status == 201, status  # noqa: S101

        timings: dict[str, list[float]] = {"service": [], "raw": [], "raw_transaction": [], "http": []}
        step_case_position = RowWriter(CaseStep, with_pk=False).index["case_id"]
        statuses: Counter[int] = Counter()
        per_round = max(submits // rounds, 1)
        notices_before = Notice.objects.count()
        queries_per_submit = None
        done = 0
        for round_number in range(rounds):
            count = per_round if round_number < rounds - 1 else submits - done
            indexes = range(done, done + count)
            ids = []
            for index in indexes:
                key = f"svc-{run_tag}-{index}"
                started = time.perf_counter()
                ids.append(service_submit(index, key))
                timings["service"].append(time.perf_counter() - started)
            if queries_per_submit is None:
                queries_per_submit = _count_queries(lambda: service_submit(0, f"count-{run_tag}"))
            rows = _raw_rows(ids, f"R{round_number}{run_tag[-6:]}")
            with connection.cursor() as cursor:
                for row in rows:
                    started = time.perf_counter()
                    cursor.execute(writer.sql, row)
                    timings["raw"].append(time.perf_counter() - started)
            step_sql = RowWriter(CaseStep, with_pk=False).sql
            for raw_submit in _raw_submits(ids, f"T{round_number}{run_tag[-6:]}"):
                started = time.perf_counter()
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(writer.sql, raw_submit.case_row)
                    raw_submit.step_row[step_case_position] = cursor.lastrowid
                    cursor.execute(step_sql, raw_submit.step_row)
                    if raw_submit.notice_params:
                        cursor.execute(raw_submit.notice_sql, raw_submit.notice_params)
                timings["raw_transaction"].append(time.perf_counter() - started)
            if client is not None:
                for index in indexes:
                    started = time.perf_counter()
                    status = client.submit(_payload(submitter, index), f"http-{run_tag}-{index}")
                    timings["http"].append(time.perf_counter() - started)
                    statuses[status] += 1
            done += count
    finally:
        if client is not None:
            client.close()
        if server is not None:
            server.stop()
    submit_profile = None
    if profile:
        # Untimed: 200 more service submits under cProfile, after the measured ones.
        profiler = cProfile.Profile()
        profiler.enable()
        for index in range(200):
            service_submit(index, f"profile-{run_tag}-{index}")
        profiler.disable()
        submit_profile = _profile_summary(profiler, SUBMIT_HOTSPOTS)

    def summary(values: list[float]) -> dict[str, Any]:
        if not values:
            return {"count": 0}
        total = sum(values)
        return {
            "count": len(values),
            "seconds": round(total, 3),
            "per_second": _rate(len(values), total),
            "median_ms": round(statistics.median(values) * 1000, 3),
            "p90_ms": round(_percentile(values, 0.9) * 1000, 3),
            "max_ms": round(max(values) * 1000, 3),
        }

    service, raw, raw_transaction, over_http = (
        summary(timings[name]) for name in ("service", "raw", "raw_transaction", "http")
    )
    ratio_service = round(service["per_second"] / raw["per_second"], 3)
    result: dict[str, Any] = {
        "submits_each": submits,
        "rounds": rounds,
        "warmup_each": warmup,
        "actor": f"{submitter.username} (grid worker), points inside their own grid",
        "existing_cases": Case.objects.count(),
        "service": {**service, "sql_statements_per_submit": queries_per_submit},
        "raw_insert": raw,
        "raw_transaction_same_rows": {
            **raw_transaction,
            "what": "per case, one transaction of the rows the service wrote: the case, its timeline row, its notices",
        },
        "http": {**over_http, "how": http_note, "status_codes": {str(k): v for k, v in sorted(statuses.items())}},
        "notices_written": Notice.objects.count() - notices_before,
        "service_to_raw": ratio_service,
        "service_to_raw_by_round": [
            round(sum(raw_part) / sum(service_part), 3)
            for service_part, raw_part in zip(
                _blocks(timings["service"], per_round, rounds), _blocks(timings["raw"], per_round, rounds), strict=True
            )
        ],
        "service_to_raw_transaction": round(service["per_second"] / raw_transaction["per_second"], 3),
        "raw_transaction_to_raw": round(raw_transaction["per_second"] / raw["per_second"], 3),
        "goal_service_to_raw": SERVICE_GOAL,
        "goal_met": ratio_service >= SERVICE_GOAL,
    }
    if submit_profile is not None:
        result["service_profile_200_submits"] = submit_profile
    if over_http["count"]:
        result["http_to_raw"] = round(over_http["per_second"] / raw["per_second"], 3)
        result["http_to_service"] = round(over_http["per_second"] / service["per_second"], 3)
        result["http"]["reconnects"] = client.reconnects if client is not None else 0
    return result


def _blocks(values: list[float], size: int, count: int) -> list[list[float]]:
    """`values` cut into the `count` rounds they were measured in (the last round takes the rest)."""
    return [values[index * size : (index + 1) * size if index < count - 1 else None] for index in range(count)]


def _count_queries(action: Callable[[], Any]) -> dict[str, int]:
    from django.db import connection

    statements: Counter[str] = Counter()

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        statements[sql.lstrip().split(None, 1)[0].upper()] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        action()
    return dict(statements)


# ------------------------------------------------------------------ the run


def run(
    *,
    preset: str,
    submits: int,
    rounds: int,
    cases: int,
    seed: int,
    http: bool,
    profile: bool,
    analyze: bool,
    directory: Path,
) -> dict[str, Any]:
    county, county_seconds = _setup_county(preset=preset, seed=seed)
    _progress(f"county ready in {county_seconds:.1f} s ({len(county.grids)} grids)")
    sweep = _bench_sweep(
        county=county, cases=cases, seed=seed, database_dir=directory, profile=profile, analyze=analyze
    )
    _progress(f"sweep: {json.dumps({k: sweep[k] for k in ('setup_seconds', 'first_pass', 'second_pass')})}")
    submit = _bench_submits(submits=submits, rounds=rounds, seed=seed, http=http, directory=directory, profile=profile)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[cursor.fetchone()[0]]
    return {
        "benchmark": "cases",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {**machine_info(), "journal_mode": journal_mode, "synchronous": synchronous},
        "preset": preset,
        "seed": seed,
        "county_setup_seconds": round(county_seconds, 1),
        "submits": submit,
        "sweep": sweep,
        "counts": county.counts,
        "benchmark_process_peak_rss_mb": _peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default=None, help="demo county preset (default jiaozhou; small with --quick)")
    parser.add_argument("--submits", type=int, default=None, help="cases submitted each way (default 2,000)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved blocks of submits (default 5)")
    parser.add_argument("--cases", type=int, default=None, help="open cases for the sweep (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP submits (no gunicorn)")
    parser.add_argument(
        "--profile", action="store_true", help="run the sweep's first pass and 200 extra submits under cProfile"
    )
    parser.add_argument(
        "--analyze", action="store_true", help="run ANALYZE after the load (Django never does; production has no stats)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: small county, 200 submits, 50,000 cases")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "cases.json")
    parser.add_argument("--child-sweep", help=argparse.SUPPRESS)
    parser.add_argument("--child-database-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child_sweep:
        configure_django(args.child_database_dir)
        result = child_sweep(now=dt.datetime.fromisoformat(args.child_sweep), profile=args.profile)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    preset = args.preset or ("small" if args.quick else "jiaozhou")
    submits = args.submits or (200 if args.quick else 2_000)
    rounds = args.rounds or (2 if args.quick else 5)
    cases = args.cases or (50_000 if args.quick else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="gridgov-bench-") as name:
        directory = Path(name)
        configure_django(directory)
        result = run(
            preset=preset,
            submits=submits,
            rounds=rounds,
            cases=cases,
            seed=args.seed,
            http=not args.no_http,
            profile=args.profile,
            analyze=args.analyze,
            directory=directory,
        )
        result["quick"] = args.quick
        from django.db import connections

        connections.close_all()  # let the temporary directory go on every platform

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    submit, sweep = result["submits"], result["sweep"]
    http_part = (
        f"HTTP {submit['http']['per_second']:,.0f}/s (×{submit['http_to_raw']} of raw)"
        if "http_to_raw" in submit
        else f"HTTP {submit['http']['how']}"
    )
    first = sweep["first_pass"]
    print(
        f"submits: service {submit['service']['per_second']:,.0f}/s, "
        f"raw INSERT {submit['raw_insert']['per_second']:,.0f}/s "
        f"(service ×{submit['service_to_raw']} of raw, goal ≥ {SERVICE_GOAL}), {http_part}; "
        f"sweep of {sweep['open_cases']:,} open cases: {first['seconds']} s "
        f"(warned {first['warned']:,}, breached {first['breached']:,}, escalated {first['escalated']:,}), "
        f"second pass {sweep['second_pass']['seconds']} s, peak RSS {sweep['peak_rss_mb']} MB, "
        f"setup {sweep['setup_seconds']} s → {args.output}"
    )
    ok = (
        all(sweep["as_expected"].values())
        and sweep["second_pass"]["escalated"] == 0
        and sweep["second_pass"]["breached"] == 0
        and (not submit["http"]["count"] or submit["http"]["status_codes"] == {"201": submit["http"]["count"]})
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
