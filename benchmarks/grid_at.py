"""Point-in-grid benchmark: `areas.selectors.grid_at` (STRtree) versus testing every grid polygon.

Run from the project root:

    .venv/bin/python benchmarks/grid_at.py [--preset jiaozhou] [--points 20000]
        [--naive-points 500] [--seed 1] [--repeat 3] [--output benchmarks/results/grid_at.json]

It builds a throw-away SQLite database in a temporary directory, migrates it,
generates the demo county, then measures both lookups in the same process
and writes a JSON report (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import ROOT, configure_django, machine_info


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run(*, preset: str, points: int, naive_points: int, seed: int, repeat: int) -> dict[str, Any]:
    from django.core.management import call_command

    from gridding.geo import geometry_from_geojson
    from gridding.index import naive_lookup
    from gridgov.areas import selectors
    from gridgov.areas.choices import AreaLevel
    from gridgov.areas.models import Area
    from gridgov.demo.generator import STEPS_WITHOUT_RESIDENTS, generate_county

    call_command("migrate", verbosity=0)

    started = time.perf_counter()
    # The lookup needs only the areas: residents would add minutes and need field keys.
    summary = generate_county(preset=preset, seed=seed, steps=STEPS_WITHOUT_RESIDENTS)
    generator_seconds = time.perf_counter() - started

    county = Area.objects.get(level=AreaLevel.DISTRICT)
    assert county.min_lon is not None and county.max_lon is not None  # noqa: S101
    assert county.min_lat is not None and county.max_lat is not None  # noqa: S101
    rng = random.Random(seed)
    sample = [
        (rng.uniform(county.min_lon, county.max_lon), rng.uniform(county.min_lat, county.max_lat))
        for _ in range(points)
    ]

    # Index build: the first call loads every grid and builds the STRtree.
    selectors.grid_index_invalidate()
    started = time.perf_counter()
    selectors.grid_at(*sample[0])
    index_build_seconds = time.perf_counter() - started

    # Best of `repeat` runs: other processes on a shared machine only ever slow a run down.
    indexed_seconds = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        indexed = [selectors.grid_at(lon, lat) for lon, lat in sample]
        indexed_seconds = min(indexed_seconds, time.perf_counter() - started)

    # The loop the index replaces, over the same polygons in code order.
    items = [
        (area.code, geometry_from_geojson(area.geometry or {}))
        for area in Area.objects.filter(level=AreaLevel.GRID, geometry__isnull=False).order_by("code")
    ]
    naive_sample = sample[:naive_points]
    naive_seconds = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        naive = [naive_lookup(items, lon, lat) for lon, lat in naive_sample]
        naive_seconds = min(naive_seconds, time.perf_counter() - started)

    agree = sum(
        1
        for hit, code in zip(indexed[: len(naive_sample)], naive, strict=True)
        if (hit.code if hit is not None else None) == code
    )
    inside = sum(1 for hit in indexed if hit is not None)
    indexed_rate = _rate(points, indexed_seconds)
    naive_rate = _rate(len(naive_sample), naive_seconds)
    return {
        "benchmark": "grid_at",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "preset": preset,
        "seed": seed,
        "grid_count": len(items),
        "points": points,
        "naive_points": len(naive_sample),
        "repeat": repeat,
        "points_inside_a_grid": inside,
        "generator_seconds": round(generator_seconds, 2),
        "index_build_seconds": round(index_build_seconds, 4),
        "indexed_seconds": round(indexed_seconds, 4),
        "indexed_lookups_per_second": round(indexed_rate, 1),
        "naive_seconds": round(naive_seconds, 4),
        "naive_lookups_per_second": round(naive_rate, 1),
        "speedup": round(indexed_rate / naive_rate, 1),
        "agreement_rate": round(agree / len(naive_sample), 6) if naive_sample else None,
        "counts": summary.counts,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="jiaozhou")
    parser.add_argument("--points", type=int, default=20_000, help="random points for grid_at")
    parser.add_argument("--naive-points", type=int, default=500, help="how many of them the naive loop checks")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each loop; the fastest counts")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "grid_at.json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="gridgov-bench-") as directory:
        configure_django(Path(directory))
        result = run(
            preset=args.preset, points=args.points, naive_points=args.naive_points, seed=args.seed, repeat=args.repeat
        )
        from django.db import connections

        connections.close_all()  # let the temporary directory go on every platform

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(
        f"{result['grid_count']} grids: grid_at {result['indexed_lookups_per_second']:,.0f}/s, "
        f"naive {result['naive_lookups_per_second']:,.0f}/s, speedup ×{result['speedup']}, "
        f"agreement {result['agreement_rate']:.2%}, generator {result['generator_seconds']} s "
        f"→ {args.output}"
    )
    return 0 if result["agreement_rate"] in (None, 1.0) else 1


if __name__ == "__main__":
    sys.exit(main())
