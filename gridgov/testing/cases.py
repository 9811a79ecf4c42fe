"""Test helpers for cases: a valid submission and a case at a chosen stage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gridgov.areas.models import Area
from gridgov.cases.choices import CaseKind, CaseSource, Urgency
from gridgov.cases.models import Case, Category
from gridgov.cases.services import CaseInput, case_submit


def case_input(grid: Area, **overrides: Any) -> CaseInput:
    """A grid worker's report of exposed garbage in `grid` (the 市容环境 › 暴露垃圾 category)."""
    values: dict[str, Any] = {
        "kind": CaseKind.PATROL_FINDING,
        "category": Category.objects.get(code="0101"),
        "title": "小区东门垃圾堆放",
        "description": "东门外绿化带旁有生活垃圾堆放，已有异味。",
        "source": CaseSource.GRID_WORKER,
        "urgency": Urgency.NORMAL,
        "grid": grid,
        "address": "东门外",
    }
    values.update(overrides)
    return CaseInput(**values)


def submit_case(actor: Any, grid: Area, *, now: datetime | None = None, key: str = "", **overrides: Any) -> Case:
    case, _created = case_submit(actor=actor, data=case_input(grid, **overrides), idempotency_key=key, now=now)
    return case
