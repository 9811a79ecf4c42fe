"""Rollups: maintained incrementally from the case timeline, they equal a rebuild from raw."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgov.cases import services
from gridgov.cases.choices import CaseSource, CloseReason, Rating
from gridgov.cases.errors import CaseConflict, CaseForbidden
from gridgov.cases.models import Case, CaseStep, Category
from gridgov.cases.selectors import case_actions_for
from gridgov.core.jobs import PERIODIC_JOBS
from gridgov.dashboard import rollups
from gridgov.dashboard.models import Rollup, RollupState
from gridgov.dashboard.rollups import SETTLE_LAG, rollups_rebuild, rollups_refresh
from gridgov.testing.cases import submit_case
from gridgov.testing.dashboard import contribution_snapshot, rollup_snapshot

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 9, 2, 9, 0, tzinfo=TZ)  # a Monday
LATER = START + timedelta(days=60)

ACTOR_ORDER = ("grid_worker", "community_staff", "town_staff", "department_handler", "county_command", "resident")


def _act(action: str, actor: Any, case: Case, now: datetime, personas: dict[str, Any], rng: int) -> None:
    kw: dict[str, Any] = {"actor": actor, "case": case, "now": now}
    if action == "accept":
        services.case_accept(**kw)
    elif action == "escalate":
        services.case_escalate(reason="需要上级协调。", **kw)
    elif action == "dispatch":
        department = personas["department_handler"].role_assignments.get().department
        services.case_dispatch(department=department, **kw)
    elif action == "sign_for":
        services.case_sign_for(**kw)
    elif action == "send_back":
        services.case_send_back(reason="不属于本部门职责。", **kw)
    elif action == "report_back":
        services.case_report_back(result="已处理。", **kw)
    elif action == "verify":
        services.case_verify(passed=rng % 3 != 0, note="现场核查。", **kw)
    elif action == "close":
        services.case_close(reason=CloseReason.NOT_RESPONSIBLE, note="非本辖区。", **kw)
    elif action == "rate":
        services.case_rate(rating=list(Rating)[rng % 3], **kw)
    elif action == "reopen":
        services.case_reopen(reason="问题又出现了。", **kw)
    elif action == "suspend":
        services.case_suspend(reason="等待判决。", **kw)
    elif action == "resume":
        services.case_resume(**kw)
    elif action == "request_extension":
        services.case_request_extension(amount=Decimal(2), reason="等待检测。", **kw)
    elif action == "decide_extension":
        services.case_decide_extension(approve=rng % 2 == 0, **kw)
    elif action == "void":
        services.case_void(reason="重复登记。", **kw)


FORWARD = frozenset({"accept", "sign_for", "report_back", "verify", "rate", "reopen", "resume", "decide_extension"})


def _one_allowed_step(case: Case, now: datetime, personas: dict[str, Any], choice: int) -> str | None:
    """Perform the `choice`-th of the actions some persona may take on the case now (as the pages offer them)."""
    case.refresh_from_db()
    offered = [(name, action) for name in ACTOR_ORDER for action in case_actions_for(personas[name], case)]
    if choice % 10 in range(1, 7):  # mostly move the case towards closing and rating
        offered = [pair for pair in offered if pair[1] in FORWARD] or offered
    elif choice % 10:  # sometimes any other move; now and then (choice % 10 == 0) void, close or suspend it
        offered = [pair for pair in offered if pair[1] not in ("void", "close", "suspend")] or offered
    if not offered:
        return None
    name, action = offered[choice % len(offered)]
    try:
        with transaction.atomic():
            _act(action, personas[name], case, now, personas, choice)
    except (CaseConflict, CaseForbidden, ValidationError):
        return None
    return action


case_spec = st.tuples(st.integers(0, 7), st.integers(0, 3), st.integers(0, 2))  # the resident reports unless 0
operation = st.one_of(
    st.tuples(st.just("act"), st.integers(0, 1000), st.integers(0, 1000)),
    st.tuples(st.just("act"), st.integers(0, 1000), st.integers(0, 1000)),
    st.tuples(st.just("refresh"), st.integers(0, 0), st.integers(0, 1)),
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(case_spec, min_size=1, max_size=5),
    ops=st.lists(st.tuples(operation, st.integers(1, 30 * 60)), min_size=20, max_size=50),
)
def test_incremental_rollups_equal_a_rebuild_after_a_random_history(tree, personas, specs, ops):
    categories = list(Category.objects.filter(code__in=["0101", "0602", "0605", "0201"]).order_by("code"))
    with transaction.atomic():
        # Given random cases and a random history of allowed actions through the real services,
        # with worker runs at random moments (some before the settle lag has passed)
        now = START
        cases: list[Case] = []
        for grid, category, by_resident in specs:
            now += timedelta(minutes=7)
            if by_resident:
                actor, grid, source = personas["resident"], 0, CaseSource.RESIDENT
            else:
                actor, source = personas["county_command"], CaseSource.HOTLINE
            cases.append(submit_case(actor, tree.grids[grid], now=now, category=categories[category], source=source))
        for (kind, which, choice), minutes in ops:
            now += timedelta(minutes=minutes)
            if kind == "act":
                _one_allowed_step(cases[which % len(cases)], now, personas, choice)
            else:
                rollups_refresh(now=now if choice else now + SETTLE_LAG * 2)
        # When the worker has caught up (twice: the second run only settles the watermark)
        rollups_refresh(now=LATER)
        rollups_refresh(now=LATER + SETTLE_LAG * 2)
        incremental, ledger = rollup_snapshot(), contribution_snapshot()
        # Then a rebuild from raw finds exactly the same counters
        rollups_rebuild(now=LATER + SETTLE_LAG * 4)
        assert rollup_snapshot() == incremental
        assert contribution_snapshot() == ledger
        last_step = CaseStep.objects.order_by("-id").values_list("id", flat=True).first()
        assert RollupState.objects.get().watermark == last_step
        transaction.set_rollback(True)


def test_a_step_that_commits_after_a_larger_id_is_still_counted(tree, personas):
    worker = personas["grid_worker"]
    # Given two cases, and the worker has settled everything so far
    first = submit_case(worker, tree.grids[0], now=START)
    second = submit_case(worker, tree.grids[0], now=START)
    rollups_refresh(now=START)
    rollups_refresh(now=START + SETTLE_LAG)
    # When the first case is accepted in a transaction whose step id is smaller than that of a change
    # to the second case, but which commits only after the worker has read past it
    services.case_accept(actor=worker, case=first, now=START + timedelta(minutes=5))
    late = CaseStep.objects.filter(case=first).latest("id")
    services.case_accept(actor=worker, case=second, now=START + timedelta(minutes=6))
    late_values = {f.attname: getattr(late, f.attname) for f in CaseStep._meta.concrete_fields}
    late.delete()  # not yet visible to the worker
    rollups_refresh(now=START + timedelta(minutes=10))
    CaseStep.objects.create(**late_values)  # now it commits, with its original (smaller) id
    # Then later runs still read it: the watermark had not passed it
    rollups_refresh(now=START + timedelta(minutes=10) + SETTLE_LAG)
    rollups_refresh(now=START + timedelta(minutes=20))
    incremental = rollup_snapshot()
    rollups_rebuild(now=LATER)
    assert incremental == rollup_snapshot()
    assert incremental[(tree.grids[0].pk, START.date(), first.category_id, 0)]["fr_count"] == 2


def test_the_watermark_waits_for_the_settle_lag(tree, personas):
    submit_case(personas["grid_worker"], tree.grids[0], now=START)
    newest = CaseStep.objects.latest("id").pk
    rollups_refresh(now=START)
    state = RollupState.objects.get()
    assert (state.watermark, state.horizon_id) == (0, newest)
    rollups_refresh(now=START + SETTLE_LAG - timedelta(seconds=1))
    assert RollupState.objects.get().watermark == 0
    rollups_refresh(now=START + SETTLE_LAG)
    assert RollupState.objects.get().watermark == newest


def test_a_run_that_fails_changes_nothing_and_the_next_run_catches_up(tree, personas, monkeypatch):
    case = submit_case(personas["grid_worker"], tree.grids[0], now=START)
    rollups_refresh(now=START)
    before, state_before = rollup_snapshot(), RollupState.objects.values().get()
    services.case_accept(actor=personas["grid_worker"], case=case, now=START + timedelta(minutes=3))

    def crash(deltas: Any) -> None:
        Rollup.objects.all().delete()
        raise RuntimeError("worker killed")

    monkeypatch.setattr(rollups, "_apply", crash)
    with pytest.raises(RuntimeError):
        rollups_refresh(now=START + timedelta(minutes=5))
    assert rollup_snapshot() == before and RollupState.objects.values().get() == state_before
    monkeypatch.undo()
    # Running again, and again, gives the rebuilt figures
    rollups_refresh(now=START + timedelta(minutes=5))
    rollups_refresh(now=START + timedelta(minutes=5))
    incremental = rollup_snapshot()
    rollups_rebuild(now=LATER)
    assert incremental == rollup_snapshot()


def test_counts_go_up_the_tree_and_rebuild_rollups_command_recomputes(tree, personas):
    # Given a case in a grid of the second community, closed in the grid
    grid = tree.grids[2]
    case = submit_case(personas["county_command"], grid, now=START)
    services.case_close(
        actor=personas["town_staff"], case=case, reason=CloseReason.NOT_RESPONSIBLE, note="x", now=START
    )
    # When the rollups are rebuilt by the management command
    call_command("rebuild_rollups", verbosity=0)
    # Then the grid, its community, town, district and city each count it once
    for area in (grid, tree.communities[1], tree.towns[0], tree.district, tree.city):
        row = Rollup.objects.get(area=area, day=START.date())
        assert (row.intake, row.closed, row.closed_grid, row.closes) == (1, 1, 1, 1)
    assert not Rollup.objects.filter(area=tree.towns[1]).exists()


def test_the_worker_runs_the_refresh_as_a_periodic_job(tree, personas):
    submit_case(personas["grid_worker"], tree.grids[0], now=START)
    job = next(job for job in PERIODIC_JOBS if job.name == "dashboard_rollups")
    job.run()
    assert Rollup.objects.filter(area=tree.district, intake=1).exists()
