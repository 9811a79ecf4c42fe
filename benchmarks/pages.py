"""Page benchmark: the grid worker's queue and the office queue under 20 concurrent clients,
against the same server's health endpoint in the same run.

Run from the project root:

    .venv/bin/python benchmarks/pages.py [--open-cases 1000] [--other-cases 3000] [--clients 20]
        [--requests 30] [--rounds 3] [--seed 1] [--output benchmarks/results/pages.json]

`--quick` is a smoke run (200 open cases, 5 clients, 5 requests each, one round).

In one run, on a throw-away SQLite database in a temporary directory (WAL,
synchronous=FULL, as in production):

1. The small demo county (areas, housing, staff; no residents) is generated, then
   `--open-cases` cases are submitted through `case_submit` in the demo's sample grid
   (the grid worker `gridworker` and its community's staff see all of them), over the
   last ten days so that the SLA lights vary; a third are accepted, a tenth escalated to
   the community. `--other-cases` more go to other grids of other communities: out of
   scope for both users, so the scope filter has work to do.
2. gunicorn serves the project as `make demo` does (2 workers × 4 threads, gthread).
   Each user gets a real session (a signed-in cookie, as after the login page).
3. `--clients` threads, each with its own keep-alive connection, request one page
   `--requests` times each; the pages take turns in `--rounds` rounds (health, worker
   queue, worker today page, office queue, …) so that a busy spell on the shared machine
   hits them alike. Every answer must be 200 and the queue pages must contain case rows.

Reading the report: per page `p50_ms`, `p95_ms`, `max_ms`, `requests_per_second`
(over the phase's wall time), and `p50_over_health` / `p95_over_health`: how many times
the health endpoint's latency the page costs under the same load. The health endpoint
answers from the same server stack without touching the database, so the ratio is the
price of the page itself. Compare ratios, not milliseconds across runs.

Exit status 1 when any request fails or a queue page shows no cases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import ROOT, Server, configure_django, machine_info

SAMPLE_GRID_WORKER = "gridworker"


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    user: str | None  # username whose session cookie is sent; None = anonymous
    must_contain: bytes = b""


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def _setup(*, open_cases: int, other_cases: int, seed: int) -> dict[str, Any]:
    """The county, the cases, and the two users with their session cookies."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.utils import timezone

    from gridgov.accounts.choices import Role
    from gridgov.accounts.models import RoleAssignment
    from gridgov.areas.choices import AreaLevel
    from gridgov.areas.models import Area
    from gridgov.cases.models import Category
    from gridgov.cases.services import CaseInput, case_accept, case_escalate, case_submit
    from gridgov.demo.generator import STEPS_WITHOUT_RESIDENTS, generate_county

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    generate_county(preset="small", seed=seed, steps=STEPS_WITHOUT_RESIDENTS)
    worker_assignment = RoleAssignment.objects.select_related("user", "area__parent").get(
        user__username=SAMPLE_GRID_WORKER, role=Role.GRID_WORKER
    )
    worker, grid = worker_assignment.user, worker_assignment.area
    community = grid.parent
    office = (
        RoleAssignment.objects.select_related("user")
        .filter(role=Role.COMMUNITY_STAFF, area=community, user__is_active=True)
        .order_by("pk")
        .first()
    )
    if office is None:
        raise RuntimeError(f"no community staff on {community}")
    office_user = office.user
    other_grids = list(Area.objects.filter(level=AreaLevel.GRID).exclude(parent=community).order_by("code")[:40])
    other_workers = {
        assignment.area_id: assignment.user
        for assignment in RoleAssignment.objects.select_related("user").filter(
            role=Role.GRID_WORKER, area__in=other_grids
        )
    }
    categories = list(Category.objects.exclude(parent=None).exclude(code__startswith="05").order_by("code"))
    rng = random.Random(f"pages:{seed}")
    now = timezone.now()

    def submit(actor: Any, target: Area, index: int, prefix: str) -> Any:
        data = CaseInput(
            kind="patrol_finding",
            category=categories[index % len(categories)],
            title=f"楼道堆放杂物 {index}",
            description="楼道内堆放纸箱和旧家具，影响通行和消防安全。",
            source="grid_worker",
            urgency="urgent" if index % 10 == 0 else "normal",
            grid=target,
            address=f"{index % 30 + 1}号楼",
        )
        at = now - dt.timedelta(minutes=rng.randint(0, 10 * 24 * 60))
        case, _created = case_submit(actor=actor, data=data, idempotency_key=f"{prefix}-{index}", now=at)
        return case, at

    for index in range(open_cases):
        case, at = submit(worker, grid, index, "own")
        if index % 3 == 0:
            case_accept(actor=worker, case=case, now=at + dt.timedelta(minutes=30))
            if index % 10 == 0:
                case_escalate(actor=worker, case=case, reason="需要社区协调物业处理。", now=at + dt.timedelta(hours=1))
        if index and index % 250 == 0:
            _progress(f"{index:,} cases in scope submitted")
    for index in range(other_cases):
        target = other_grids[index % len(other_grids)]
        submit(other_workers[target.pk], target, index, "other")

    def cookie(user: Any) -> str:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"

    return {
        "seconds": round(time.perf_counter() - started, 1),
        "cookies": {SAMPLE_GRID_WORKER: cookie(worker), "office": cookie(office_user)},
        "grid": grid.code,
        "community": community.code,
        "office_user": office_user.username,
    }


class Client(threading.Thread):
    """One keep-alive connection asking for one page `count` times."""

    def __init__(self, port: int, page: Page, cookie: str, count: int, barrier: threading.Barrier) -> None:
        super().__init__(daemon=True)
        self.port, self.page, self.cookie, self.count, self.barrier = port, page, cookie, count, barrier
        self.latencies: list[float] = []
        self.failures: list[str] = []

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Host": "localhost"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        self.barrier.wait()
        try:
            for _ in range(self.count):
                started = time.perf_counter()
                try:
                    connection.request("GET", self.page.path, headers=headers)
                    response = connection.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException) as error:
                    self.failures.append(f"{type(error).__name__}: {error}")
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                    continue
                self.latencies.append(time.perf_counter() - started)
                if response.status != 200:
                    self.failures.append(f"HTTP {response.status}")
                elif self.page.must_contain and self.page.must_contain not in body:
                    self.failures.append("page without case rows")
        finally:
            connection.close()


def _phase(port: int, page: Page, cookie: str, *, clients: int, requests: int) -> tuple[list[float], list[str], float]:
    barrier = threading.Barrier(clients + 1)
    threads = [Client(port, page, cookie, requests, barrier) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies = [value for thread in threads for value in thread.latencies]
    failures = [value for thread in threads for value in thread.failures]
    return latencies, failures, wall


def run(
    *, open_cases: int, other_cases: int, clients: int, requests: int, rounds: int, seed: int, directory: Path
) -> dict[str, Any]:
    setup = _setup(open_cases=open_cases, other_cases=other_cases, seed=seed)
    _progress(f"county and {open_cases + other_cases:,} cases ready in {setup['seconds']} s")
    from django.db import connections

    connections.close_all()
    cookies = setup["cookies"]
    # Case numbers start with the submit day; every queue row links to /cases/<id>/.
    row_marker = b'href="/cases/'
    pages = [
        Page("health", "/healthz", None),
        Page("worker_queue", "/cases/", SAMPLE_GRID_WORKER, row_marker),
        Page("worker_today", "/today/", SAMPLE_GRID_WORKER, row_marker),
        Page("office_queue", "/cases/", "office", row_marker),
    ]
    server = Server(directory, workers=2, threads=4)
    try:
        server.wait_ready()
        # Is the worker's phone page there? (It is built with the phone pages.)
        probe = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        probe.request("GET", "/today/", headers={"Host": "localhost", "Cookie": cookies[SAMPLE_GRID_WORKER]})
        today_status = probe.getresponse().status
        probe.close()
        if today_status != 200:
            pages = [page for page in pages if page.name != "worker_today"]
        # Warm-up, untimed: both workers' first requests (imports, caches, the grid index).
        for page in pages:
            _phase(server.port, page, cookies.get(page.user or "", ""), clients=4, requests=2)
        samples: dict[str, list[float]] = {page.name: [] for page in pages}
        walls: dict[str, float] = {page.name: 0.0 for page in pages}
        failures: dict[str, list[str]] = {page.name: [] for page in pages}
        for round_number in range(rounds):
            for page in pages:
                latencies, failed, wall = _phase(
                    server.port, page, cookies.get(page.user or "", ""), clients=clients, requests=requests
                )
                samples[page.name] += latencies
                walls[page.name] += wall
                failures[page.name] += failed
            _progress(f"round {round_number + 1}/{rounds} done")
    finally:
        server.stop()

    health = samples["health"]
    health_p50, health_p95 = _percentile(health, 0.5), _percentile(health, 0.95)
    report: dict[str, Any] = {}
    for page in pages:
        values = samples[page.name]
        p50, p95 = _percentile(values, 0.5), _percentile(values, 0.95)
        entry: dict[str, Any] = {
            "path": page.path,
            "as": {None: "anonymous", SAMPLE_GRID_WORKER: "grid worker (sample grid)", "office": "community staff"}[
                page.user
            ],
            "requests": len(values),
            "failures": len(failures[page.name]),
            "failure_examples": sorted(set(failures[page.name]))[:5],
            "p50_ms": round(p50 * 1000, 1),
            "p95_ms": round(p95 * 1000, 1),
            "max_ms": round(max(values, default=0.0) * 1000, 1),
            "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else None,
            "requests_per_second": round(len(values) / walls[page.name], 1) if walls[page.name] else None,
        }
        if page.name != "health" and health_p50 and health_p95:
            entry["p50_over_health"] = round(p50 / health_p50, 1)
            entry["p95_over_health"] = round(p95 / health_p95, 1)
        report[page.name] = entry
    if "worker_today" not in report:
        report["worker_today"] = {"path": "/today/", "skipped": f"answered {today_status} for the grid worker"}
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
    return {
        "benchmark": "pages",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {**machine_info(), "journal_mode": journal_mode},
        "server": "gunicorn 2 workers × 4 threads (gthread), as make demo",
        "load": {"clients": clients, "requests_per_client_per_round": requests, "rounds": rounds},
        "data": {
            "preset": "small",
            "open_cases_in_scope": open_cases,
            "cases_out_of_scope": other_cases,
            "grid": setup["grid"],
            "community": setup["community"],
            "setup_seconds": setup["seconds"],
        },
        "pages": report,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open-cases", type=int, default=None, help="open cases in both users' scope (default 1,000)")
    parser.add_argument("--other-cases", type=int, default=None, help="cases out of their scope (default 3,000)")
    parser.add_argument("--clients", type=int, default=None, help="concurrent clients (default 20)")
    parser.add_argument("--requests", type=int, default=None, help="requests per client per round (default 30)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds over the pages (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 cases, 5 clients × 5 requests, 1 round")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "pages.json")
    args = parser.parse_args(argv)
    quick = args.quick
    with tempfile.TemporaryDirectory(prefix="gridgov-bench-") as name:
        directory = Path(name)
        configure_django(directory)
        result = run(
            open_cases=args.open_cases or (200 if quick else 1_000),
            other_cases=args.other_cases if args.other_cases is not None else (200 if quick else 3_000),
            clients=args.clients or (5 if quick else 20),
            requests=args.requests or (5 if quick else 30),
            rounds=args.rounds or (1 if quick else 3),
            seed=args.seed,
            directory=directory,
        )
        result["quick"] = quick
        from django.db import connections

        connections.close_all()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    pages = result["pages"]
    print(
        "; ".join(
            f"{name} p50 {entry['p50_ms']} ms p95 {entry['p95_ms']} ms"
            + (f" (×{entry['p95_over_health']} health at p95)" if "p95_over_health" in entry else "")
            for name, entry in pages.items()
            if "p50_ms" in entry
        )
        + f" → {args.output}"
    )
    failed = any(entry.get("failures") for entry in pages.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
