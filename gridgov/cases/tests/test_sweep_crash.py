"""The SLA sweep escalates every breach exactly once: when run twice, when killed
mid-run and run again, and when two sweeps run at the same time; and its clock
follows the working calendar across the 清明 holidays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models import Count, Q

from gridgov.accounts.choices import Role
from gridgov.areas.models import Area
from gridgov.cases.choices import CaseKind, CaseSource, CaseStatus, StepAction, Tier, TimeUnit, Urgency
from gridgov.cases.models import Case, CaseStep, Category
from gridgov.cases.services import CaseInput, case_submit, category_create, sla_policy_set, sla_sweep
from gridgov.cases.services import sweep as sweep_module
from gridgov.testing.factories import AreaTree, make_user_with_role

TZ = ZoneInfo("Asia/Shanghai")
WEDNESDAY_10 = datetime(2024, 9, 4, 10, 0, tzinfo=TZ)
# First response is due at 11:00; by noon every case below has breached.
NOON = WEDNESDAY_10 + timedelta(hours=2)
LIMITS = ("first_response", "grid_limit", "community_limit", "town_limit", "department_limit", "verification_limit")


def _category(segment: str, unit: str, *limits: int) -> Category:
    """A category of its own (transactional tests cannot rely on the seeded ones) with one policy."""
    category = category_create(actor=None, parent=None, segment=segment, name=f"巡检测试{segment}")
    sla_policy_set(
        actor=None,
        category=category,
        urgency=Urgency.NORMAL,
        unit=unit,
        limits={**dict(zip(LIMITS, map(Decimal, limits), strict=True)), "close_limit": Decimal(max(limits))},
    )
    return category


def _working_hours() -> Category:
    return _category("98", TimeUnit.WORKING_HOUR, 1, 7, 14, 21, 35, 7)


def _submit_many(tree: AreaTree, category: Category, count: int, now: datetime = WEDNESDAY_10) -> list[int]:
    """`count` grid workers' reports across the first four grids, all submitted at `now`."""
    workers = [make_user_with_role(Role.GRID_WORKER, grid) for grid in tree.grids[:4]]
    ids = []
    with transaction.atomic():
        for index in range(count):
            grid: Area = tree.grids[index % 4]
            case, _created = case_submit(
                actor=workers[index % 4],
                data=CaseInput(
                    kind=CaseKind.PATROL_FINDING,
                    category=category,
                    title=f"第{index}处垃圾堆放",
                    description="绿化带旁有生活垃圾堆放。",
                    source=CaseSource.GRID_WORKER,
                    grid=grid,
                ),
                now=now,
            )
            ids.append(case.pk)
    return ids


def _escalations(ids: list[int]) -> dict[int, int]:
    """Automatic escalation steps per case."""
    counted = Case.objects.filter(pk__in=ids).annotate(
        escalations=Count("steps", filter=Q(steps__action=StepAction.AUTO_ESCALATE))
    )
    return dict(counted.values_list("pk", "escalations"))


def _assert_each_escalated_exactly_once(ids: list[int]) -> None:
    assert set(_escalations(ids).values()) == {1}
    rows = Case.objects.filter(pk__in=ids).values_list("tier", "status", "breach_count", "version")
    assert set(rows) == {(Tier.COMMUNITY, CaseStatus.SUBMITTED, 1, 2)}


# --------------------------------------------------------------------------- in one process


@pytest.mark.django_db
def test_the_command_run_twice_at_the_same_now_escalates_once(tree: AreaTree) -> None:
    # Given three reports whose first response was due at 11:00
    ids = _submit_many(tree, _working_hours(), 3)
    # When the sweep command replays noon twice
    outputs = []
    for _ in range(2):
        out = StringIO()
        call_command("sla_sweep", "--once", "--now", NOON.isoformat(), stdout=out)
        outputs.append(out.getvalue())
    # Then the first run escalated all three, the second nothing
    assert "超时 3 件，其中自动上报 3 件" in outputs[0]
    assert "超时 0 件，其中自动上报 0 件" in outputs[1]
    _assert_each_escalated_exactly_once(ids)


class Killed(BaseException):
    """The process dying: not an Exception, so no `except Exception` in the sweep can swallow it."""


@pytest.mark.django_db
def test_a_sweep_killed_mid_chunk_and_rerun_escalates_every_breach_exactly_once(
    tree: AreaTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 500 breached reports: three chunks of the sweep (200, 200, 100)
    ids = _submit_many(tree, _working_hours(), 500)
    assert sweep_module.SWEEP_CHUNK == 200
    # And a sweep that dies in the middle of its second chunk, right after escalating the
    # 257th case (each escalation notifies twice: the new tier, then 督办)
    calls = {"notify": 0}
    notify = sweep_module._notify

    def dying_notify(*args: Any, **kwargs: Any) -> None:
        calls["notify"] += 1
        if calls["notify"] == 2 * 256 + 1:
            raise Killed
        notify(*args, **kwargs)

    monkeypatch.setattr(sweep_module, "_notify", dying_notify)
    with pytest.raises(Killed):
        sla_sweep(now=NOON)
    # Then the first chunk stayed done and nothing of the second is left half-done
    done = _escalations(ids)
    assert sorted(done.values()) == [0] * 300 + [1] * 200
    assert Case.objects.filter(pk__in=ids, breach_count=0, tier=Tier.GRID, version=1).count() == 300

    # When the sweep runs again at the same moment
    monkeypatch.setattr(sweep_module, "_notify", notify)
    result = sla_sweep(now=NOON)
    # Then it does the 300 left, and every case is escalated exactly once
    assert (result.breached, result.escalated) == (300, 300)
    _assert_each_escalated_exactly_once(ids)
    assert sla_sweep(now=NOON).breached == 0


# --------------------------------------------------------------------------- the working calendar


@pytest.mark.django_db
def test_a_deadline_across_the_qingming_holidays_is_breached_only_after_it(tree: AreaTree) -> None:
    # Given a category whose first response is due within 2 working days
    category = _category("97", TimeUnit.WORKING_DAY, 2, 3, 4, 5, 6, 2)
    # When a report comes in on Wednesday 3 April 2024 — without the holidays it would be
    # due on Friday the 5th, but 4–6 April are 清明 holidays and Sunday the 7th is a make-up
    # working day, so the second working day after receipt is Monday the 8th
    (case_id,) = _submit_many(tree, category, 1, now=datetime(2024, 4, 3, 10, 0, tzinfo=TZ))
    case = Case.objects.get(pk=case_id)
    # Then the first response is due at the close of office on Monday 8 April
    assert case.due_at == datetime(2024, 4, 8, 17, 30, tzinfo=TZ)
    # And a sweep on the holiday Friday, after office hours, does not breach it
    friday = sla_sweep(now=datetime(2024, 4, 5, 17, 31, tzinfo=TZ))
    assert (friday.breached, friday.escalated) == (0, 0)
    # Nor one on Monday afternoon before the close of office (it only warns)
    monday = sla_sweep(now=datetime(2024, 4, 8, 17, 0, tzinfo=TZ))
    assert (monday.warned, monday.breached) == (1, 0)
    assert Case.objects.get(pk=case_id).tier == Tier.GRID
    # While one on Monday after 17:30 breaches it and escalates it to the community
    late = sla_sweep(now=datetime(2024, 4, 8, 17, 31, tzinfo=TZ))
    assert (late.breached, late.escalated) == (1, 1)
    assert Case.objects.get(pk=case_id).tier == Tier.COMMUNITY


# --------------------------------------------------------------------------- real processes and threads

needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's test database is in-memory: another process cannot open it, and other threads "
    "only through shared-cache table locks that fail at once instead of waiting",
)


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_sweep_process_killed_with_sigkill_and_rerun_escalates_every_breach_exactly_once(tree: AreaTree) -> None:
    # Given 600 breached reports, committed (three chunks of the sweep)
    ids = _submit_many(tree, _working_hours(), 600)
    # When `manage.py sla_sweep --once --now` runs against this database and is killed
    # with SIGKILL as soon as its first chunk is committed
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "sla_sweep", "--once", "--now", NOON.isoformat()]
    env = {**os.environ, "DATABASE_URL": _database_url()}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # noqa: S603
    escalated = 0
    deadline = time.monotonic() + 120
    while escalated == 0 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
        escalated = CaseStep.objects.filter(case_id__in=ids, action=StepAction.AUTO_ESCALATE).count()
    still_running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    _stdout, stderr = process.communicate(timeout=60)
    assert still_running, f"the sweep ended before it could be killed: {stderr.decode()[-2000:]}"
    assert process.returncode == -signal.SIGKILL
    # Then only whole chunks were committed: some cases are escalated, the others untouched
    done = _escalations(ids)
    escalated = sum(done.values())
    assert set(done.values()) <= {0, 1}
    assert 0 < escalated < len(ids) and escalated % sweep_module.SWEEP_CHUNK == 0, escalated
    assert Case.objects.filter(pk__in=ids, breach_count=0, version=1).count() == len(ids) - escalated

    # When the sweep is run again at the same moment
    rerun = subprocess.run(command, env=env, capture_output=True, timeout=300, check=True)  # noqa: S603
    # Then it does the rest, and every case is escalated exactly once
    assert f"其中自动上报 {len(ids) - escalated} 件" in rerun.stdout.decode()
    _assert_each_escalated_exactly_once(ids)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_the_same_moment_in_two_threads_escalate_each_breach_once(tree: AreaTree) -> None:
    # Given 400 breached reports, committed (two chunks of the sweep)
    ids = _submit_many(tree, _working_hours(), 400)
    start = threading.Barrier(2)
    results: list[Any] = [None, None]

    def sweep(index: int) -> None:
        try:
            start.wait(timeout=60)
            results[index] = sla_sweep(now=NOON)
        except BaseException as error:  # noqa: BLE001 — reported to the main thread
            results[index] = error
        finally:
            connections.close_all()

    # When two workers sweep at the same moment, each on its own connection
    threads = [threading.Thread(target=sweep, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    # Then neither failed, together they escalated each case once, and each case has one escalation
    assert not any(thread.is_alive() for thread in threads)
    assert not [result for result in results if isinstance(result, BaseException)], results
    assert sum(result.escalated for result in results) == len(ids) == sum(result.breached for result in results)
    _assert_each_escalated_exactly_once(ids)
