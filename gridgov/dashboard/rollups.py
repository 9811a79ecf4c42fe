"""Maintaining the rollups: incrementally by the worker, or rebuilt from raw.

How the worker follows the case timeline
----------------------------------------
Every change of a case writes a `CaseStep`. The worker reads the steps with
id above a stored watermark, takes the set of cases they belong to, and for
each such case recomputes its contribution from the *current* case row and its
steps (`case_contribution`), then applies new − old to the rollup rows of the
grid and all its ancestors. The contributions, the counters and the progress
are written in one transaction, under a row lock on `RollupState`.

Because a case's contribution is recomputed from raw rather than derived from
the step, processing a step (or a case) twice is harmless: the second time the
difference is zero. That makes the out-of-order commit problem easy: on
PostgreSQL, step ids come from a sequence, and a transaction that took id 100
may commit after one that took id 101. So the worker does not move the
watermark to the largest id it has seen. It records that id as the *horizon*
with the time it saw it, keeps re-reading everything above the watermark, and
only once `SETTLE_LAG` has passed since it saw the horizon moves the
watermark up to it. Every id at or below the horizon was handed out before the
horizon was seen, so (provided no case transaction stays open longer than
`SETTLE_LAG`; they last milliseconds) all of them have committed by then and
have been read by that run. The price: the steps of the last minute or so are
read again on every run, a few hundred rows.

What is not a rollup: 超时未办 (open and overdue *now*) depends on the clock,
not on a step, so the dashboard counts it live from the open cases (indexed on
status and due_at); and percentiles cannot be summed, so the dashboard shows
mean response and closing times (sum of seconds / count).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from gridgov.areas.models import Area
from gridgov.cases.choices import SATISFIED_RATINGS, CaseStatus, StepAction
from gridgov.cases.models import Case, CaseStep
from gridgov.dashboard.models import METRICS, CaseContribution, Rollup, RollupState, RollupTotal

SETTLE_LAG = timedelta(seconds=60)
CLOSING_ACTIONS: frozenset[str] = frozenset({StepAction.VERIFY_PASS, StepAction.CLOSE})
COUNTED_STEP_ACTIONS: frozenset[str] = CLOSING_ACTIONS | {StepAction.REOPEN}
# Steps read per query while refreshing; a run may read several batches.
BATCH = 2000
_CASE_FIELDS = (
    "id",
    "grid_id",
    "category_id",
    "department_id",
    "status",
    "submitted_at",
    "first_response_at",
    "close_due_at",
    "closed_at",
    "closed_tier",
    "rated_at",
    "rating",
)

Entries = dict[str, dict[str, int]]
RowKey = tuple[int, date, int, int]  # area, day, category, department
TotalKey = tuple[int, date]


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _day(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).date().isoformat()


def case_contribution(row: dict[str, Any], step_moments: Iterable[tuple[str, datetime]]) -> Entries:
    """The counters one case adds at its grid, by local day, with the same definitions as `case_indicators`."""
    zone = _zone()
    entries: Entries = defaultdict(lambda: defaultdict(int))

    def add(moment: datetime, metric: str, value: int = 1) -> None:
        entries[_day(moment, zone)][metric] += value

    submitted_at = row["submitted_at"]
    add(submitted_at, "intake")
    if row["first_response_at"] is not None:
        add(submitted_at, "fr_count")
        add(submitted_at, "fr_seconds", round((row["first_response_at"] - submitted_at).total_seconds()))
    status = row["status"]
    closed_at = row["closed_at"]
    if status != CaseStatus.VOIDED:
        due = row["close_due_at"]
        add(due, "due")
        if status == CaseStatus.CLOSED:
            add(due, "due_closed")
            if closed_at is not None and closed_at <= due:
                add(due, "due_on_time")
    if status == CaseStatus.CLOSED and closed_at is not None:
        add(closed_at, "closed")
        add(closed_at, "close_seconds", round((closed_at - submitted_at).total_seconds()))
        if row["closed_tier"]:
            add(closed_at, f"closed_{row['closed_tier']}")
    if row["rated_at"] is not None:
        add(row["rated_at"], "rated")
        if row["rating"] in SATISFIED_RATINGS:
            add(row["rated_at"], "satisfied")
    for action, at in step_moments:
        add(at, "reopened" if action == StepAction.REOPEN else "closes")
    return {day: {metric: value for metric, value in counts.items() if value} for day, counts in entries.items()}


class _AreaChains:
    """Each grid's chain of areas, itself first, then its ancestors (read once per run)."""

    def __init__(self) -> None:
        self.parents = dict(Area.objects.values_list("id", "parent_id"))

    def chain(self, area_id: int) -> list[int]:
        chain: list[int] = []
        current: int | None = area_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.parents.get(current)
        return chain


def _signed(
    into: dict[RowKey, dict[str, int]],
    chains: _AreaChains,
    grid_id: int,
    category_id: int,
    department_id: int,
    entries: Entries,
    sign: int,
) -> None:
    for area_id in chains.chain(grid_id):
        for day, counts in entries.items():
            key = (area_id, date.fromisoformat(day), category_id, department_id)
            target = into.setdefault(key, {})
            for metric, value in counts.items():
                target[metric] = target.get(metric, 0) + sign * value


def _totals(deltas: dict[RowKey, dict[str, int]]) -> dict[TotalKey, dict[str, int]]:
    totals: dict[TotalKey, dict[str, int]] = {}
    for (area_id, day, _category, _department), change in deltas.items():
        target = totals.setdefault((area_id, day), {})
        for metric, value in change.items():
            target[metric] = target.get(metric, 0) + value
    return totals


def _apply_rows(model: Any, key_fields: tuple[str, ...], deltas: dict[Any, dict[str, int]]) -> None:
    """Add `deltas` to the rows of `model` keyed by `key_fields` (creating missing rows, deleting rows that
    fall to zero)."""
    deltas = {key: change for key, change in deltas.items() if any(change.values())}
    if not deltas:
        return
    existing: dict[Any, Any] = {}
    keys = list(deltas)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        lookups = {f"{name}__in": {key[i] for key in chunk} for i, name in enumerate(key_fields)}
        for row in model.objects.filter(**lookups):
            existing[tuple(getattr(row, name) for name in key_fields)] = row
    to_create: list[Any] = []
    to_update: list[Any] = []
    to_delete: list[int] = []
    for key, change in deltas.items():
        row = existing.get(key)
        if row is None:
            row = model(**dict(zip(key_fields, key, strict=True)), **change)
            to_create.append(row)
            continue
        for metric, value in change.items():
            setattr(row, metric, getattr(row, metric) + value)
        if any(getattr(row, metric) for metric in METRICS):
            to_update.append(row)
        else:
            to_delete.append(row.pk)
    model.objects.bulk_create(to_create, batch_size=1000)
    model.objects.bulk_update(to_update, list(METRICS), batch_size=500)
    if to_delete:
        model.objects.filter(pk__in=to_delete).delete()


def _apply(deltas: dict[RowKey, dict[str, int]]) -> None:
    """Add `deltas` to the rollup rows and to the per-(area, day) totals."""
    _apply_rows(Rollup, ("area_id", "day", "category_id", "department_id"), deltas)
    _apply_rows(RollupTotal, ("area_id", "day"), _totals(deltas))


def _step_moments(case_ids: Iterable[int]) -> dict[int, list[tuple[str, datetime]]]:
    moments: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    rows = CaseStep.objects.filter(case_id__in=list(case_ids), action__in=COUNTED_STEP_ACTIONS).values_list(
        "case_id", "action", "at"
    )
    for case_id, action, at in rows:
        moments[case_id].append((action, at))
    return moments


def rollups_apply_cases(case_ids: Iterable[int], chains: _AreaChains | None = None) -> int:
    """Bring the contributions of these cases up to date (call inside the state lock). Returns cases changed."""
    ids = list(set(case_ids))
    if not ids:
        return 0
    chains = chains or _AreaChains()
    rows = {row["id"]: row for row in Case.objects.filter(pk__in=ids).values(*_CASE_FIELDS)}
    moments = _step_moments(rows)
    old = {c.case_id: c for c in CaseContribution.objects.filter(case_id__in=ids)}
    deltas: dict[RowKey, dict[str, int]] = {}
    to_save: list[CaseContribution] = []
    gone: list[int] = []
    changed = 0
    for case_id in ids:
        before = old.get(case_id)
        row = rows.get(case_id)
        if row is None:  # the case was deleted: take its contribution away
            if before is not None:
                _signed(deltas, chains, before.grid_id, before.category_id, before.department_id, before.entries, -1)
                gone.append(case_id)
                changed += 1
            continue
        after = CaseContribution(
            case_id=case_id,
            grid_id=row["grid_id"],
            category_id=row["category_id"],
            department_id=row["department_id"] or 0,
            entries=case_contribution(row, moments.get(case_id, [])),
        )
        same = before is not None and (
            (before.grid_id, before.category_id, before.department_id, before.entries)
            == (after.grid_id, after.category_id, after.department_id, after.entries)
        )
        if same:
            continue
        changed += 1
        if before is not None:
            _signed(deltas, chains, before.grid_id, before.category_id, before.department_id, before.entries, -1)
        _signed(deltas, chains, after.grid_id, after.category_id, after.department_id, after.entries, +1)
        to_save.append(after)
    _apply(deltas)
    if gone:
        CaseContribution.objects.filter(case_id__in=gone).delete()
    if to_save:
        CaseContribution.objects.bulk_create(
            to_save,
            update_conflicts=True,
            unique_fields=["case_id"],
            update_fields=["grid_id", "category_id", "department_id", "entries"],
            batch_size=1000,
        )
    return changed


def _locked_state() -> RollupState:
    RollupState.objects.get_or_create(key="main")
    return RollupState.objects.select_for_update().get(key="main")


def rollups_refresh(now: datetime | None = None) -> int:
    """One worker run: fold the cases touched by steps above the watermark into the rollups.

    Returns the number of cases whose contribution changed. Idempotent; safe to run again after a crash
    (nothing is committed unless all of it is).
    """
    now = now or timezone.now()
    with transaction.atomic():
        state = _locked_state()
        newest = CaseStep.objects.aggregate(newest=Max("id"))["newest"] or 0
        chains = _AreaChains()
        changed = 0
        after = state.watermark
        while True:
            batch = list(
                CaseStep.objects.filter(id__gt=after, id__lte=newest)
                .order_by("id")
                .values_list("id", "case_id")[:BATCH]
            )
            if not batch:
                break
            changed += rollups_apply_cases({case_id for _, case_id in batch}, chains)
            after = batch[-1][0]
        if state.horizon_seen_at is not None and state.horizon_seen_at <= now - SETTLE_LAG:
            state.watermark = max(state.watermark, state.horizon_id)
            state.horizon_seen_at = None
        if state.horizon_seen_at is None and newest > state.watermark:
            state.horizon_id = newest
            state.horizon_seen_at = now
        state.refreshed_at = now
        state.save()
    return changed


def _insert_many(model: Any, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> None:
    """Plain `executemany` INSERTs (the rebuild writes hundreds of thousands of rows; `bulk_create`'s
    per-field preparation would cost more than the database)."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608 — names from the model
    batch: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(row)
            if len(batch) >= 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def rollups_rebuild(now: datetime | None = None, chunk: int = 5000) -> int:
    """Recompute every contribution and rollup from the raw cases and steps. Returns the number of cases.

    The watermark becomes the last step that was at least twice the settle lag old when the rebuild
    started, so that any step committing during the rebuild is read again by the next refresh.
    """
    now = now or timezone.now()
    with transaction.atomic():
        state = _locked_state()
        chains = _AreaChains()
        settled = CaseStep.objects.filter(at__lt=now - 2 * SETTLE_LAG).aggregate(last=Max("id"))["last"] or 0
        Rollup.objects.all().delete()
        RollupTotal.objects.all().delete()
        CaseContribution.objects.all().delete()
        totals: dict[RowKey, dict[str, int]] = {}
        count = 0
        last_id = 0
        while True:
            rows = list(Case.objects.filter(id__gt=last_id).order_by("id").values(*_CASE_FIELDS)[:chunk])
            if not rows:
                break
            last_id = rows[-1]["id"]
            moments = _step_moments(row["id"] for row in rows)
            contributions: list[tuple[Any, ...]] = []
            for row in rows:
                entries = case_contribution(row, moments.get(row["id"], []))
                department_id = row["department_id"] or 0
                contributions.append(
                    (row["id"], row["grid_id"], row["category_id"], department_id, json.dumps(entries))
                )
                _signed(totals, chains, row["grid_id"], row["category_id"], department_id, entries, +1)
            _insert_many(
                CaseContribution, ("case_id", "grid_id", "category_id", "department_id", "entries"), contributions
            )
            count += len(rows)
        adapt = connection.ops.adapt_datefield_value
        _insert_many(
            Rollup,
            ("area_id", "day", "category_id", "department_id", *METRICS),
            (
                (key[0], adapt(key[1]), key[2], key[3], *(change.get(metric, 0) for metric in METRICS))
                for key, change in totals.items()
                if any(change.values())
            ),
        )
        _insert_many(
            RollupTotal,
            ("area_id", "day", *METRICS),
            (
                (key[0], adapt(key[1]), *(change.get(metric, 0) for metric in METRICS))
                for key, change in _totals(totals).items()
            ),
        )
        state.watermark = settled
        state.horizon_id = 0
        state.horizon_seen_at = None
        state.rebuilt_at = now
        state.refreshed_at = now
        state.save()
    return count
