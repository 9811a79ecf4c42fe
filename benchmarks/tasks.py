"""Tasks benchmark: fan-out of a household-level task to ≈ 300,000 households and the county
progress query, each against its floor measured in the same run.

Run from the project root:

    .venv/bin/python benchmarks/tasks.py [--preset jiaozhou] [--repeat 20] [--seed 1]
        [--output benchmarks/results/tasks.json]

In one run, on a throw-away SQLite database in a temporary directory (migrated, deleted at
the end):

1. Set-up (not timed as a result): the preset's area tree, buildings and users
   (`STEPS_WITHOUT_RESIDENTS`), then one household per planned flat of every building
   (≈ the preset's household count; the residents themselves are not needed by a task),
   3 % tagged 低保户 and 2 % 独居老人户 so that the vulnerability ranking has work to do.
2. Fan-out: `task_create(..., issue=True)` as the county command — the service the pages and
   the API call: one assignment per grid, workers, one target per current household (one
   INSERT … SELECT), the vulnerability ranks, the counters, the notices, the audit rows, all
   in one transaction. Floor: a plain `executemany` INSERT of the same number of
   target rows (precomputed in memory, untimed) into the same table, in one transaction.
3. Progress: 40 % of the targets are recorded in bulk and the counters recounted; then the
   county's progress by town (`task_progress_by_child`, a GROUP BY over assignments on the
   grid-path prefix) and its total (`task_progress_total`) are timed `--repeat` times, against
   a hand-written COUNT … GROUP BY over the target rows themselves.

See benchmarks/README.md for how to read the report.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchlib import ROOT, configure_django, machine_info


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _p90_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1000, 2)


def _setup(*, preset: str, seed: int) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import transaction

    from gridgov.areas.models import Building
    from gridgov.demo.generator import STEPS_WITHOUT_RESIDENTS, generate_county
    from gridgov.registry.models import Household, Tag

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    generate_county(preset=preset, seed=seed, steps=STEPS_WITHOUT_RESIDENTS)
    rng = random.Random(seed)
    dibao = Tag.objects.get(code="dibao").pk
    alone = Tag.objects.get(code="elderly_alone").pk
    through = Household.tags.through
    batch: list[Household] = []
    tags: list[int | None] = []

    def flush() -> None:
        created = Household.objects.bulk_create(batch)
        through.objects.bulk_create(
            [through(household_id=h.pk, tag_id=tag) for h, tag in zip(created, tags, strict=True) if tag]
        )
        batch.clear()
        tags.clear()

    with transaction.atomic():
        for building in Building.objects.order_by("id").values("id", "grid_id", "compound_id", "household_count"):
            for flat in range(building["household_count"]):
                batch.append(
                    Household(
                        grid_id=building["grid_id"],
                        compound_id=building["compound_id"],
                        building_id=building["id"],
                        unit=f"{flat % 4 + 1}单元",
                        room=f"{flat // 4 + 101}",
                        address=f"楼栋{building['id']}-{flat + 1}",
                    )
                )
                draw = rng.random()
                tags.append(dibao if draw < 0.03 else (alone if draw < 0.05 else None))
                if len(batch) >= 5000:
                    flush()
        flush()
    return {"seconds": round(time.perf_counter() - started, 1), "households": Household.objects.count()}


def _fan_out() -> dict[str, Any]:
    from django.db import connection, transaction
    from django.utils import timezone

    from gridgov.accounts.models import User
    from gridgov.areas.models import Area
    from gridgov.registry.models import Household
    from gridgov.tasks.choices import TargetLevel
    from gridgov.tasks.models import Assignment, Target, Task
    from gridgov.tasks.services import TaskInput, task_create

    command = User.objects.get(username="command")
    county = Area.objects.get(level="district")
    data = TaskInput(
        title="燃气安全入户排查",
        issuing_area=county,
        target_areas=[county],
        target_level=TargetLevel.HOUSEHOLD,
        due_at=timezone.now() + timedelta(days=7),
    )
    started = time.perf_counter()
    task, _created = task_create(actor=command, data=data, client_key="bench-fan-out")
    service_seconds = time.perf_counter() - started
    targets = Target.objects.filter(assignment__task=task).count()
    grids = Assignment.objects.filter(task=task).count()

    # Double click: the same key again.
    started = time.perf_counter()
    again, created_again = task_create(actor=command, data=data, client_key="bench-fan-out")
    repeat_seconds = time.perf_counter() - started
    if again.pk != task.pk or created_again or Target.objects.filter(assignment__task=task).count() != targets:
        raise RuntimeError("a repeated create duplicated the task")

    # Floor: the same number of rows, precomputed, in one plain executemany INSERT into the same
    # table (under a second task's assignments, so the unique constraints hold).
    floor_task = Task.objects.create(
        title="floor", issuer=command, issuing_area=county, target_level=TargetLevel.HOUSEHOLD, due_at=task.due_at
    )
    floor_assignments = Assignment.objects.bulk_create(
        [Assignment(task=floor_task, grid_id=grid_id, grid_path=path) for grid_id, path in
         Area.objects.filter(level="grid").values_list("id", "path")]
    )  # fmt: skip
    by_grid = {a.grid_id: a.pk for a in floor_assignments}
    rows = [
        (by_grid[grid_id], household_id, 9, "pending", "{}", "")
        for household_id, grid_id in Household.objects.filter(moved_out_on__isnull=True).values_list("id", "grid_id")
    ]
    table = Target._meta.db_table
    sql = (
        f"INSERT INTO {table} (assignment_id, household_id, vulnerability, status, answers, note) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s)"
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    floor_seconds = time.perf_counter() - started
    if Target.objects.filter(assignment__task=floor_task).count() != targets:
        raise RuntimeError("the plain INSERT wrote a different number of rows")
    Target.objects.filter(assignment__task=floor_task).delete()
    Assignment.objects.filter(task=floor_task).delete()
    floor_task.delete()
    return {
        "task_id": task.pk,
        "grids": grids,
        "targets": targets,
        "service_seconds": round(service_seconds, 2),
        "service_targets_per_second": round(targets / service_seconds),
        "plain_insert_seconds": round(floor_seconds, 2),
        "plain_insert_rows_per_second": round(targets / floor_seconds),
        "overhead_factor": round(service_seconds / floor_seconds, 2),
        "repeat_create_ms": round(repeat_seconds * 1000, 2),
    }


def _progress(task_id: int, *, repeat: int, seed: int) -> dict[str, Any]:
    from django.db import connection

    from gridgov.accounts.models import User
    from gridgov.areas.models import Area
    from gridgov.tasks.choices import TargetStatus
    from gridgov.tasks.models import Assignment, Target, Task
    from gridgov.tasks.selectors import task_progress_by_child, task_progress_total
    from gridgov.tasks.services import assignment_counters_refresh

    task = Task.objects.get(pk=task_id)
    command = User.objects.get(username="command")
    county = Area.objects.get(level="district")
    rng = random.Random(seed)
    ids = list(Target.objects.filter(assignment__task=task).values_list("id", flat=True))
    chosen = sorted(rng.sample(ids, int(len(ids) * 0.4)))
    for start in range(0, len(chosen), 5000):
        Target.objects.filter(pk__in=chosen[start : start + 5000]).update(status=TargetStatus.DONE)
    assignment_counters_refresh(task=task)

    length = len(Area.objects.filter(parent=county).values_list("path", flat=True).first() or "")
    sql = (
        f"SELECT substr(a.grid_path, 1, %s) AS prefix, COUNT(*), "  # noqa: S608
        f"SUM(CASE WHEN t.status <> 'pending' THEN 1 ELSE 0 END) "
        f"FROM {Target._meta.db_table} t JOIN {Assignment._meta.db_table} a ON a.id = t.assignment_id "
        f"WHERE a.task_id = %s GROUP BY 1 ORDER BY 1"
    )

    def hand_count() -> dict[str, tuple[int, int]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, [length, task.pk])
            return {prefix: (int(total), int(recorded)) for prefix, total, recorded in cursor.fetchall()}

    service_samples, total_samples, hand_samples = [], [], []
    rows: list[Any] = []
    counted: dict[str, tuple[int, int]] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        rows = task_progress_by_child(command, task, county)
        service_samples.append(time.perf_counter() - started)
        started = time.perf_counter()
        task_progress_total(command, task)
        total_samples.append(time.perf_counter() - started)
        started = time.perf_counter()
        counted = hand_count()
        hand_samples.append(time.perf_counter() - started)
    agree = all(counted.get(row.area.path) == (row.total, row.recorded) for row in rows) and len(rows) == len(counted)
    return {
        "towns": len(rows),
        "recorded_share": 0.4,
        "by_town_median_ms": _median_ms(service_samples),
        "by_town_p90_ms": _p90_ms(service_samples),
        "total_median_ms": _median_ms(total_samples),
        "hand_written_count_median_ms": _median_ms(hand_samples),
        "hand_written_count_p90_ms": _p90_ms(hand_samples),
        "speedup_vs_hand_count": round(statistics.median(hand_samples) / statistics.median(service_samples), 1),
        "agrees_with_hand_count": agree,
    }


def run(*, preset: str, repeat: int, seed: int) -> dict[str, Any]:
    setup = _setup(preset=preset, seed=seed)
    fan_out = _fan_out()
    progress = _progress(fan_out["task_id"], repeat=repeat, seed=seed)
    return {
        "benchmark": "tasks",
        "preset": preset,
        "seed": seed,
        "machine": machine_info(),
        "setup": setup,
        "fan_out": fan_out,
        "progress": progress,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="jiaozhou")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "tasks.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gridgov-bench-") as name:
        configure_django(Path(name))
        result = run(preset=args.preset, repeat=args.repeat, seed=args.seed)
        from django.db import connections

        connections.close_all()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    fan_out, progress = result["fan_out"], result["progress"]
    print(
        f"fan-out {fan_out['targets']:,} targets to {fan_out['grids']:,} grids: {fan_out['service_seconds']} s "
        f"(plain INSERT {fan_out['plain_insert_seconds']} s, ×{fan_out['overhead_factor']}); county progress by town "
        f"{progress['by_town_median_ms']} ms vs hand COUNT {progress['hand_written_count_median_ms']} ms "
        f"(agree: {progress['agrees_with_hand_count']}) → {args.output}"
    )
    return 0 if progress["agrees_with_hand_count"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
