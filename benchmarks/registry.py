"""Registry benchmark: Excel import of 100,000 rows, the household list page, blind-index lookup.

Run from the project root:

    .venv/bin/python benchmarks/registry.py [--preset small] [--rows 100000] [--limit-rows 200000]
        [--list-households 400] [--requests 50] [--lookups 200] [--seed 1]
        [--output benchmarks/results/registry.json]

In one run, on a throw-away SQLite database in a temporary directory (migrated, filled
with the demo county, deleted at the end):

1. Excel import: a `--rows` file of valid synthetic people is written with openpyxl
   (write-only), then uploaded, validated and committed all-or-nothing by the same service
   functions the worker runs, in a *separate process* so that its peak RSS
   (`resource.getrusage`) is the import's own. Validation and commit are timed apart.
2. The row limit: a `--limit-rows` file (default 200,000, above the 100,000 limit) is
   refused by the validation, and nothing is written (0 skips this part).
3. Household list: a grid topped up to `--list-households` households; its grid worker
   requests /registry/ `--requests` times through django.test.Client (median, p90).
4. Blind index: `Resident.objects.filter(id_index=blind_index(...))` against a full scan
   that decrypts every `id_ciphertext` to find the same person.

See benchmarks/README.md for how to read the report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchlib import ROOT, configure_django, machine_info

# Synthetic people use an area code and birth years the demo generator never issues,
# so their ID numbers cannot collide with the demo county's residents.
IMPORT_AREA_CODE = "650102"
LIST_AREA_CODE = "650103"
FIRST_BIRTH = dt.date(1901, 1, 1)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华文华玉兰志强海燕国庆春梅红"
RELATIONS = ["户主", "配偶", "子女", "子女", "父母"]


def _proc_status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    """Peak resident set size of this process.

    `resource.getrusage(RUSAGE_SELF).ru_maxrss` is the portable answer, but Linux keeps it
    across fork+exec, so a child started by a big parent would report the parent's peak;
    there the kernel's per-process high-water mark (VmHWM, reset by exec) is used instead.
    """
    hwm = _proc_status_mb("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else float("inf")


def synthetic_id(index: int, area_code: str) -> str:
    """A valid GB 11643 number, unique per index (1,000 per birth day)."""
    from gridgov.registry.identifiers import id_check_character

    birth = FIRST_BIRTH + dt.timedelta(days=index // 1000)
    first17 = f"{area_code}{birth:%Y%m%d}{index % 1000:03d}"
    return first17 + id_check_character(first17)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def people_rows(*, rows: int, buildings: list[tuple[str, str]], seed: int, area_code: str) -> Iterator[list[Any]]:
    """Template rows: households of 1–5 people spread over `buildings` ((compound, building) names)."""
    rng = random.Random(seed)
    index = household = 0
    while index < rows:
        compound, building = buildings[household % len(buildings)]
        per_building = household // len(buildings)
        unit, room = f"{per_building % 6 + 1}单元", f"{per_building // 6 + 101}"
        address = f"{compound}{building}{unit}{room}室"
        tags = "党员中心户" if household % 70 == 0 else ("低保户" if household % 37 == 0 else "")
        for member in range(min(rng.randint(1, 5), rows - index)):
            yield [
                compound,
                building,
                unit,
                room,
                address,
                tags if member == 0 else "",
                _name(rng),
                synthetic_id(index, area_code),
                RELATIONS[member],
                f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}" if rng.random() < 0.8 else "",
                "户在人在" if rng.random() < 0.9 else "人在户不在",
                "是" if rng.random() < 0.08 else "否",
                "",
                "退役军人" if rng.random() < 0.02 else "",
            ]
            index += 1
        household += 1


def write_workbook(path: Path, rows: Iterator[list[Any]]) -> int:
    from openpyxl import Workbook

    from gridgov.registry.excel import DATA_SHEET, HEADERS

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(DATA_SHEET)
    sheet.append(list(HEADERS))
    count = 0
    for row in rows:
        sheet.append(row)
        count += 1
    workbook.save(path)
    return count


# ------------------------------------------------------------- child process


def child_import(*, file: Path, area_code: str, username: str, expect_refusal: bool) -> dict[str, Any]:
    """Upload, validate and (unless refused) commit all-or-nothing; runs in its own process."""
    from gridgov.accounts.models import User
    from gridgov.areas.models import Area
    from gridgov.registry import importing
    from gridgov.registry.choices import ImportMode, ImportStatus
    from gridgov.registry.models import RegistryImport

    rss_ready = _peak_rss_mb()
    actor = User.objects.get(username=username)
    area = Area.objects.get(code=area_code)
    content = file.read_bytes()
    started = time.perf_counter()
    registry_import = importing.registry_import_upload(
        actor=actor, area=area, filename=file.name, content=content, mode=ImportMode.ALL_OR_NOTHING
    )
    upload_seconds = time.perf_counter() - started
    del content
    started = time.perf_counter()
    importing.registry_import_validate(registry_import.pk)
    validate_seconds = time.perf_counter() - started
    registry_import = RegistryImport.objects.defer("content").get(pk=registry_import.pk)
    result: dict[str, Any] = {
        "rss_after_setup_mb": rss_ready,
        "upload_seconds": round(upload_seconds, 2),
        "validate_seconds": round(validate_seconds, 2),
        "status_after_validate": registry_import.status,
        "error_rows": registry_import.error_rows,
        "message": registry_import.message,
    }
    if expect_refusal or registry_import.status != ImportStatus.VALIDATED:
        result["peak_rss_mb"] = _peak_rss_mb()
        return result
    importing.registry_import_commit_request(
        actor=actor, registry_import=registry_import, mode=ImportMode.ALL_OR_NOTHING
    )
    started = time.perf_counter()
    importing.registry_import_commit(registry_import.pk)
    result["commit_seconds"] = round(time.perf_counter() - started, 2)
    registry_import = RegistryImport.objects.defer("content").get(pk=registry_import.pk)
    result |= {
        "status": registry_import.status,
        "created": registry_import.created_count,
        "updated": registry_import.updated_count,
        "final_message": registry_import.message,
        "peak_rss_mb": _peak_rss_mb(),
    }
    return result


def _run_child(
    file: Path, area_code: str, username: str, *, expect_refusal: bool, database_dir: Path
) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-import",
        str(file),
        "--child-area",
        area_code,
        "--child-user",
        username,
        "--child-database-dir",
        str(database_dir),
    ]
    if expect_refusal:
        command.append("--child-expect-refusal")
    completed = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), check=False)  # noqa: S603
    if completed.returncode != 0:
        raise RuntimeError(f"import child failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------ the run


def _staff_for(area: Any, role: str, username: str) -> Any:
    from gridgov.accounts.services import role_assign, user_create

    user = user_create(actor=None, username=username, password=None, full_name="基准测试")
    role_assign(actor=None, user=user, role=role, area=area)
    return user


def _bench_import(*, rows: int, limit_rows: int, seed: int, directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    from django.db.models import Count

    from gridgov.accounts.choices import Role
    from gridgov.areas.choices import AreaLevel
    from gridgov.areas.models import Area, Building
    from gridgov.registry.models import Household, Resident

    # The community with the most buildings takes the import.
    community = (
        Area.objects.filter(level=AreaLevel.COMMUNITY)
        .annotate(n=Count("children__buildings"))
        .order_by("-n", "code")
        .first()
    )
    assert community is not None  # noqa: S101
    buildings = [
        (building.compound.name if building.compound else "", building.name)
        for building in Building.objects.filter(grid__path__startswith=community.path)
        .select_related("compound")
        .order_by("pk")
    ]
    staff = _staff_for(community, Role.COMMUNITY_STAFF, "bench_importer")
    file = directory / "import.xlsx"
    started = time.perf_counter()
    written = write_workbook(file, people_rows(rows=rows, buildings=buildings, seed=seed, area_code=IMPORT_AREA_CODE))
    generate_seconds = time.perf_counter() - started
    residents_before, households_before = Resident.objects.count(), Household.objects.count()
    child = _run_child(file, community.code, staff.username, expect_refusal=False, database_dir=directory)
    imported = Resident.objects.count() - residents_before
    validate_seconds, commit_seconds = child["validate_seconds"], child.get("commit_seconds", 0.0)
    result: dict[str, Any] = {
        "rows": written,
        "community": community.code,
        "community_path": community.path,
        "buildings": len(buildings),
        "file_megabytes": round(file.stat().st_size / 1024 / 1024, 2),
        "generate_seconds": round(generate_seconds, 2),
        "mode": "all_or_nothing",
        **{key: child[key] for key in ("upload_seconds", "validate_seconds", "status_after_validate", "error_rows")},
        "validate_rows_per_second": _rate(written, validate_seconds),
        "commit_seconds": commit_seconds,
        "commit_rows_per_second": _rate(written, commit_seconds),
        "rows_per_second": _rate(written, child["upload_seconds"] + validate_seconds + commit_seconds),
        "status": child.get("status"),
        "residents_written": imported,
        "households_written": Household.objects.count() - households_before,
        "message": child.get("final_message", child["message"]),
        "rss_after_setup_mb": child["rss_after_setup_mb"],
        "peak_rss_mb": child["peak_rss_mb"],
    }
    file.unlink()
    limit: dict[str, Any] = {}
    if limit_rows:
        big = directory / "too_many.xlsx"
        started = time.perf_counter()
        written_big = write_workbook(
            big, people_rows(rows=limit_rows, buildings=buildings, seed=seed + 1, area_code=LIST_AREA_CODE)
        )
        generate_big = time.perf_counter() - started
        before = Resident.objects.count(), Household.objects.count()
        refused = _run_child(big, community.code, staff.username, expect_refusal=True, database_dir=directory)
        after = Resident.objects.count(), Household.objects.count()
        limit = {
            "rows": written_big,
            "file_megabytes": round(big.stat().st_size / 1024 / 1024, 2),
            "generate_seconds": round(generate_big, 2),
            "status": refused["status_after_validate"],
            "refused_after_seconds": round(refused["upload_seconds"] + refused["validate_seconds"], 2),
            "message": refused["message"],
            "residents_written": after[0] - before[0],
            "households_written": after[1] - before[1],
            "peak_rss_mb": refused["peak_rss_mb"],
        }
        big.unlink()
    return result, limit


def _bench_list(*, households: int, requests: int, seed: int, exclude_path: str) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Count, Q
    from django.test import Client

    from gridgov.accounts.choices import Role
    from gridgov.areas.choices import AreaLevel
    from gridgov.areas.models import Area, Building
    from gridgov.registry.models import Household, Resident
    from gridgov.registry.services import HouseholdSpec, ResidentSpec, households_bulk_create, residents_bulk_register

    # The grid whose household count is nearest the target, outside the imported community.
    grids = (
        Area.objects.filter(level=AreaLevel.GRID)
        .exclude(path__startswith=exclude_path)
        .annotate(n=Count("households", filter=Q(households__moved_out_on__isnull=True)))
        .order_by("code")
    )
    grid = min(grids, key=lambda area: (abs(area.n - households), area.code))
    existing = Household.objects.filter(grid=grid, moved_out_on__isnull=True).count()
    building = Building.objects.filter(grid=grid).select_related("compound").first()
    rng = random.Random(seed)
    missing = max(households - existing, 0)
    specs = [
        HouseholdSpec(
            grid=grid,
            building=building,
            compound=building.compound if building else None,
            unit=f"{i % 4 + 1}单元",
            room=f"{i // 4 + 101}",
            address=f"{grid.name}基准{i // 4 + 101}室{i % 4 + 1}单元",
        )
        for i in range(missing)
    ]
    created = households_bulk_create(actor=None, specs=specs) if specs else []
    people = [
        ResidentSpec(
            household=household,
            name=_name(rng),
            id_number=synthetic_id(900_000 + index * 5 + member, LIST_AREA_CODE),
            relation=["head", "spouse", "child"][member],
            phone=f"139{rng.randrange(10**8):08d}",
        )
        for index, household in enumerate(created)
        for member in range(rng.randint(1, 3))
    ]
    if people:
        residents_bulk_register(actor=None, specs=people)
    worker = _staff_for(grid, Role.GRID_WORKER, "bench_grid_worker")
    client = Client()
    client.force_login(worker)
    for _ in range(3):  # warm-up: templates, scope caches, SQLite page cache
        assert client.get("/registry/").status_code == 200  # noqa: S101
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        client.get("/registry/")
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/registry/")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200  # noqa: S101
    timings.sort()
    return {
        "grid": grid.code,
        "households": Household.objects.filter(grid=grid, moved_out_on__isnull=True).count(),
        "residents": Resident.objects.filter(household__grid=grid, moved_out_on__isnull=True).count(),
        "page_size": 50,
        "requests": requests,
        "queries_per_request": len(queries),
        "median_ms": round(statistics.median(timings), 2),
        "p90_ms": round(timings[max(int(len(timings) * 0.9) - 1, 0)], 2),
        "min_ms": round(timings[0], 2),
        "max_ms": round(timings[-1], 2),
    }


def _bench_lookup(*, lookups: int, target: str) -> dict[str, Any]:
    from gridgov.registry.crypto import blind_index, field_decrypt
    from gridgov.registry.models import Resident
    from gridgov.registry.services import ID_INDEX_KIND

    timings = []
    found_pk = None
    for _ in range(lookups):
        started = time.perf_counter()
        found_pk = (
            Resident.objects.filter(id_index=blind_index(target, kind=ID_INDEX_KIND))
            .values_list("pk", flat=True)
            .first()
        )
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    scanned = 0
    scan_pk = None
    for pk, ciphertext in Resident.objects.values_list("pk", "id_ciphertext").iterator(chunk_size=5000):
        scanned += 1
        if field_decrypt(ciphertext, field="id") == target:
            scan_pk = pk  # keep going: the scan decrypts every row, as a search without the index must
    scan_seconds = time.perf_counter() - started
    lookup_median = statistics.median(timings)
    return {
        "residents": scanned,
        "lookups": lookups,
        "lookup_median_ms": round(lookup_median * 1000, 3),
        "lookups_per_second": _rate(lookups, sum(timings)),
        "scan_seconds": round(scan_seconds, 2),
        "scan_rows_per_second": _rate(scanned, scan_seconds),
        "speedup": round(scan_seconds / lookup_median, 1),
        "same_person": found_pk is not None and found_pk == scan_pk,
    }


def run(
    *,
    preset: str,
    rows: int,
    limit_rows: int,
    list_households: int,
    requests: int,
    lookups: int,
    seed: int,
    directory: Path,
) -> dict[str, Any]:
    from django.core.management import call_command

    from gridgov.demo.generator import generate_county
    from gridgov.registry.importing import max_rows

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    summary = generate_county(preset=preset, seed=seed)
    generator_seconds = time.perf_counter() - started
    excel_import, limit = _bench_import(rows=rows, limit_rows=limit_rows, seed=seed, directory=directory)
    household_list = _bench_list(
        households=list_households, requests=requests, seed=seed, exclude_path=excel_import["community_path"]
    )
    del excel_import["community_path"]
    lookup = _bench_lookup(lookups=lookups, target=synthetic_id(rows - 1, IMPORT_AREA_CODE))
    return {
        "benchmark": "registry",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "preset": preset,
        "seed": seed,
        "generator_seconds": round(generator_seconds, 2),
        "import_row_limit": max_rows(),
        "excel_import": excel_import,
        "row_limit_check": limit,
        "household_list": household_list,
        "blind_index": lookup,
        "counts": summary.counts,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--rows", type=int, default=100_000, help="people in the import file")
    parser.add_argument("--limit-rows", type=int, default=200_000, help="rows of the over-the-limit file (0: skip)")
    parser.add_argument("--list-households", type=int, default=400)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "registry.json")
    parser.add_argument("--child-import", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-area", help=argparse.SUPPRESS)
    parser.add_argument("--child-user", help=argparse.SUPPRESS)
    parser.add_argument("--child-database-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-expect-refusal", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child_import:
        configure_django(args.child_database_dir)
        result = child_import(
            file=args.child_import,
            area_code=args.child_area,
            username=args.child_user,
            expect_refusal=args.child_expect_refusal,
        )
        print(json.dumps(result, ensure_ascii=False))
        return 0

    with tempfile.TemporaryDirectory(prefix="gridgov-bench-") as name:
        directory = Path(name)
        configure_django(directory)
        result = run(
            preset=args.preset,
            rows=args.rows,
            limit_rows=args.limit_rows,
            list_households=args.list_households,
            requests=args.requests,
            lookups=args.lookups,
            seed=args.seed,
            directory=directory,
        )
        from django.db import connections

        connections.close_all()  # let the temporary directory go on every platform

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    excel, listing, lookup = result["excel_import"], result["household_list"], result["blind_index"]
    print(
        f"import {excel['rows']:,} rows: validate {excel['validate_rows_per_second']:,.0f}/s, "
        f"commit {excel['commit_rows_per_second']:,.0f}/s, overall {excel['rows_per_second']:,.0f}/s, "
        f"peak RSS {excel['peak_rss_mb']} MB; list page median {listing['median_ms']} ms "
        f"(p90 {listing['p90_ms']} ms, {listing['households']} households); "
        f"blind index {lookup['lookup_median_ms']} ms vs scan {lookup['scan_seconds']} s (×{lookup['speedup']:,.0f}) "
        f"→ {args.output}"
    )
    ok = (
        excel["status"] == "done"
        and excel["residents_written"] == excel["rows"]
        and lookup["same_person"]
        and (not result["row_limit_check"] or result["row_limit_check"]["residents_written"] == 0)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
