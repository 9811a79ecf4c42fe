"""Concurrency of the case services with real threads, each on its own database connection.

- 50 grid workers accept the same case at the same moment: exactly one wins, the
  other 49 get CaseConflict, and the timeline holds exactly one accept step.
- 1,000 logical submits, each sent once and retried 3 times with the same
  Idempotency-Key by a pool of 16 threads (some retries of a submit run at the
  same time as each other): exactly 1,000 cases, one per key.

These tests commit for real (`transaction=True`), so they build their own
category and time limits instead of relying on the seeded ones.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from gridgov.accounts.choices import Role
from gridgov.cases.choices import CaseKind, CaseSource, CaseStatus, StepAction, TimeUnit, Urgency
from gridgov.cases.errors import CaseConflict
from gridgov.cases.models import Case, CaseStep, Category
from gridgov.cases.services import CaseInput, case_accept, case_submit, category_create, sla_policy_set
from gridgov.testing.factories import AreaTree, make_user_with_role

pytestmark = pytest.mark.django_db(transaction=True)

TZ = ZoneInfo("Asia/Shanghai")
WEDNESDAY_10 = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)
ACCEPTORS = 50
LOGICAL_SUBMITS = 1_000
RETRIES = 3
POOL = 16


@pytest.fixture(autouse=True)
def _threads_need_a_shared_database(django_db_setup: None) -> None:
    # The test database for SQLite is in-memory with a shared cache. Other threads
    # do open it, but shared-cache locks are table locks that fail at once
    # ("database table is locked") instead of waiting on busy_timeout, so the
    # IMMEDIATE-mode queueing the production file database relies on cannot be
    # exercised here (with a file test database these tests pass). PostgreSQL runs them.
    if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        pytest.skip("SQLite test database is in-memory shared-cache: its table locks ignore busy_timeout")


def _category() -> Category:
    """A category of its own with working-hour limits (transactional tests cannot rely on seeded rows)."""
    category = category_create(actor=None, parent=None, segment="98", name="并发测试")
    sla_policy_set(
        actor=None,
        category=category,
        urgency=Urgency.NORMAL,
        unit=TimeUnit.WORKING_HOUR,
        limits={
            "first_response": Decimal(1),
            "grid_limit": Decimal(7),
            "community_limit": Decimal(14),
            "town_limit": Decimal(21),
            "department_limit": Decimal(35),
            "verification_limit": Decimal(7),
            "close_limit": Decimal(35),
        },
    )
    return category


def _input(grid: Any, category: Category, key: int = 0) -> CaseInput:
    return CaseInput(
        kind=CaseKind.PATROL_FINDING,
        category=category,
        title=f"第{key}号上报：小区东门垃圾堆放",
        description=f"东门外绿化带旁有生活垃圾堆放（{key}）。",
        source=CaseSource.GRID_WORKER,
        grid=grid,
    )


def _overlap(intervals: list[tuple[float, float]]) -> bool:
    ordered = sorted(intervals)
    return any(later[0] < earlier[1] for earlier, later in zip(ordered, ordered[1:], strict=False))


def _in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) in `count` threads; each closes its own connections when done."""
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 — reported to the main thread
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def test_fifty_workers_accepting_the_same_case_at_once_leave_one_winner(tree: AreaTree) -> None:
    # Given a case in grid 0 and 50 grid workers of that grid, each holding a fresh copy of it
    category = _category()
    workers = [make_user_with_role(Role.GRID_WORKER, tree.grids[0]) for _ in range(ACCEPTORS)]
    case, _created = case_submit(actor=workers[0], data=_input(tree.grids[0], category), now=WEDNESDAY_10)
    start = threading.Barrier(ACCEPTORS)

    def accept(index: int) -> str:
        mine = Case.objects.select_related("grid", "handling_area", "category").get(pk=case.pk)
        start.wait(timeout=60)
        try:
            case_accept(actor=workers[index], case=mine, now=WEDNESDAY_10)
        except CaseConflict:
            return "conflict"
        return "won"

    # When all 50 accept at the same moment
    outcomes = _in_threads(ACCEPTORS, accept)

    # Then exactly one wins and the 49 others are told someone else was first
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert not errors, errors[:3]
    assert Counter(outcomes) == {"won": 1, "conflict": ACCEPTORS - 1}
    winner = workers[outcomes.index("won")]
    case.refresh_from_db()
    assert (case.status, case.owner, case.version) == (CaseStatus.HANDLING, winner, 2)
    # And the timeline holds exactly one accept step, by the winner
    accepts = CaseStep.objects.filter(case=case, action=StepAction.ACCEPT)
    assert [step.actor for step in accepts] == [winner]
    assert list(CaseStep.objects.filter(case=case).values_list("seq", flat=True)) == [1, 2]


def test_a_thousand_submits_retried_three_times_make_a_thousand_cases(tree: AreaTree) -> None:
    # Given 1,000 logical submits by 4 grid workers, each to be sent once and retried 3 times
    # with the same Idempotency-Key. Half are queued back to back, so 16 threads send
    # their attempts at the same time; the other half's attempts are spread over the run.
    category = _category()
    submitters = [make_user_with_role(Role.GRID_WORKER, grid) for grid in tree.grids[:4]]
    attempts = 1 + RETRIES
    shuffled = random.Random(4).sample(range(LOGICAL_SUBMITS), LOGICAL_SUBMITS)  # noqa: S311
    together = [key for key in shuffled[: LOGICAL_SUBMITS // 2] for _ in range(attempts)]
    apart = [key for key in shuffled[LOGICAL_SUBMITS // 2 :] for _ in range(attempts)]
    random.Random(5).shuffle(apart)  # noqa: S311
    plan: queue.Queue[int] = queue.Queue()
    for position in range(max(len(together), len(apart))):
        for lane in (together, apart):
            if position < len(lane):
                plan.put(lane[position])
    answers: dict[int, list[tuple[int, bool, float, float]]] = defaultdict(list)
    answers_lock = threading.Lock()

    def send(_thread: int) -> int:
        sent = 0
        while True:
            try:
                key = plan.get_nowait()
            except queue.Empty:
                return sent
            submitter = submitters[key % len(submitters)]
            data = _input(tree.grids[key % len(submitters)], category, key)
            began = time.perf_counter()
            case, created = case_submit(actor=submitter, data=data, idempotency_key=f"submit-{key}", now=WEDNESDAY_10)
            with answers_lock:
                answers[key].append((case.pk, created, began, time.perf_counter()))
            sent += 1

    # When 16 threads send all 4,000 requests
    started = time.perf_counter()
    outcomes = _in_threads(POOL, send)
    elapsed = time.perf_counter() - started

    # Then every request was answered, and each key made exactly one case, returned to every attempt
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert not errors, errors[:3]
    assert sum(outcomes) == LOGICAL_SUBMITS * attempts
    # (and some retries of the same submit really were in flight at the same time)
    overlapping = sum(1 for replies in answers.values() if _overlap([(began, ended) for *_, began, ended in replies]))
    print(f"\n{LOGICAL_SUBMITS * attempts} submits by {POOL} threads in {elapsed:.1f} s; {overlapping} keys overlapped")
    assert overlapping > 0
    assert Case.objects.count() == LOGICAL_SUBMITS
    assert CaseStep.objects.filter(action=StepAction.SUBMIT).count() == LOGICAL_SUBMITS
    assert len(answers) == LOGICAL_SUBMITS
    for key, replies in answers.items():
        assert len(replies) == attempts
        assert len({reply[0] for reply in replies}) == 1, (key, replies)
        assert sum(reply[1] for reply in replies) == 1, (key, replies)
    keys = set(Case.objects.values_list("idempotency_key", flat=True))
    assert keys == {f"submit-{key}" for key in range(LOGICAL_SUBMITS)}
