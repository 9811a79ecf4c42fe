"""The SLA sweep: warnings at 80 %, 督办 and automatic escalation on breach."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import Department
from gridgov.cases.choices import (
    TIMED_STATUSES,
    CaseStatus,
    SlaLight,
    StepAction,
    Tier,
)
from gridgov.cases.errors import CaseConflict
from gridgov.cases.models import (
    Case,
    DepartmentCategory,
)
from gridgov.cases.rules import (
    TIER_ROLE,
)
from gridgov.cases.services.lifecycle import (
    _NEXT_TIER,
    _department_covers,
    _dispatch,
    _escalation_changes,
    _holders,
    _notify,
    _now,
    _superior_holders,
    _tier_holders,
    _transition,
    batched_effects,
    current_batched_effects,
)
from gridgov.notices.choices import NoticeKind

# --- SLA sweep ------------------------------------------------------------------

SWEEP_CHUNK = 200


@dataclass
class SweepResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0

    def __str__(self) -> str:
        return f"warned={self.warned} breached={self.breached} escalated={self.escalated}"


def sla_sweep(*, now: datetime | None = None, chunk: int = SWEEP_CHUNK) -> SweepResult:
    """One pass of the SLA clock: yellow at 80 %, red on breach plus 督办, and one tier up.

    Each case is changed by a conditional UPDATE (on `sla_light` for warnings,
    on `version` for breaches), in transactions of `chunk` cases: a second
    sweep, a second worker or a rerun after a crash finds nothing left to do
    for the cases already handled, so every breach escalates exactly once.
    Recipients are looked up once per sweep and each chunk's notices are
    written with one INSERT, in the chunk's transaction.
    """
    now = _now(now)
    result = SweepResult()
    # `.order_by()` drops the model's ordering: with table statistics SQLite would
    # otherwise walk the whole table in submission order.
    warn_ids = list(
        Case.objects.filter(status__in=TIMED_STATUSES, sla_light=SlaLight.GREEN, warn_at__lte=now, due_at__gt=now)
        .order_by()
        .values_list("pk", flat=True)
    )
    # A step never breaches at the instant it starts (a zero limit would otherwise
    # escalate again on a rerun at the same `now`).
    breach_ids = list(
        Case.objects.filter(status__in=TIMED_STATUSES, due_at__lte=now, step_started_at__lt=now)
        .exclude(sla_light=SlaLight.RED)
        .order_by("due_at")
        .values_list("pk", flat=True)
    )
    departments = _DepartmentOwners()
    with batched_effects() as effects:
        for start in range(0, len(warn_ids), chunk):
            with transaction.atomic():
                result.warned += _warn_cases(_sweep_cases(warn_ids[start : start + chunk]), now)
                effects.flush()
        for start in range(0, len(breach_ids), chunk):
            with transaction.atomic():
                for case in _sweep_cases(breach_ids[start : start + chunk]):
                    escalated = _breach_case(case, now, departments)
                    if escalated is None:
                        continue
                    result.breached += 1
                    result.escalated += int(escalated)
                effects.flush()
    return result


def _sweep_cases(case_ids: list[int]) -> QuerySet[Case]:
    """The cases with the areas a breach walks up through, without their (unused) outlines."""
    return (
        Case.objects.filter(pk__in=case_ids)
        .order_by()
        .select_related("grid__parent__parent", "handling_area__parent", "category", "department__area")
        .defer(
            "grid__geometry",
            "grid__parent__geometry",
            "grid__parent__parent__geometry",
            "handling_area__geometry",
            "handling_area__parent__geometry",
            "department__area__geometry",
        )
    )


def _warn_cases(cases: Iterable[Case], now: datetime) -> int:
    warned = 0
    for case in cases:
        claimed = Case.objects.filter(
            pk=case.pk, version=case.version, sla_light=SlaLight.GREEN, warn_at__lte=now, due_at__gt=now
        ).update(sla_light=SlaLight.YELLOW)
        if not claimed:
            continue
        warned += 1
        _notify(
            _tier_holders(case),
            case,
            kind=NoticeKind.SLA_WARNING,
            title=_("即将超时：%(title)s") % {"title": case.title},
            body=_("本环节时限为%(due)s。") % {"due": timezone.localtime(case.due_at).strftime("%Y-%m-%d %H:%M")},
        )
    return warned


class _DepartmentOwners:
    """Which department owns which category, read once per sweep when the first town breach needs it."""

    def __init__(self) -> None:
        self._links: list[tuple[str, Department]] | None = None

    def owner_of(self, case: Case) -> Department | None:
        """The department that owns the case's category (or its nearest ancestor) for the case's place."""
        if self._links is None:
            self._links = [
                (link.category.code, link.department)
                for link in DepartmentCategory.objects.select_related("category", "department__area").defer(
                    "department__area__geometry"
                )
            ]
        code = case.category.code
        candidates = [
            (len(category_code), len(department.area.path), -department.pk, department)
            for category_code, department in self._links
            if code.startswith(category_code) and _department_covers(department, case.grid.path)
        ]
        if not candidates:
            return None
        # The most specific category wins, then the most local department.
        return max(candidates, key=lambda item: item[:3])[3]


def _breach_case(case: Case, now: datetime, departments: _DepartmentOwners) -> bool | None:
    """Mark one breach and escalate one tier when there is one. None when someone else got there first."""
    breached = (
        case.status in TIMED_STATUSES
        and case.due_at is not None
        and case.due_at <= now
        and case.step_started_at < now
        and case.sla_light != SlaLight.RED
    )
    if not breached:
        return None
    responsible = _tier_holders(case)
    superiors = _superior_holders(case)
    effects = current_batched_effects()
    notices_before = len(effects.notices) if effects is not None else 0
    breach_detail = {"due_at": case.due_at.isoformat() if case.due_at else None}
    escalated = False
    try:
        with transaction.atomic():
            if case.status in (CaseStatus.SUBMITTED, CaseStatus.HANDLING) and case.tier in _NEXT_TIER:
                changes = _escalation_changes(case, now)
                _transition(
                    case,
                    actor=None,
                    action=StepAction.AUTO_ESCALATE,
                    now=now,
                    note=_("本环节超时未办结，系统自动上报上一级。"),
                    detail=breach_detail,
                    breach_count=case.breach_count + 1,
                    **changes,
                )
                _notify(
                    _holders(TIER_ROLE[case.tier], case.handling_area.path),
                    case,
                    kind=NoticeKind.ASSIGNED,
                    title=_("超时上报事项：%(title)s") % {"title": case.title},
                )
                escalated = True
            elif case.status in (CaseStatus.SUBMITTED, CaseStatus.HANDLING) and case.tier == Tier.TOWN:
                department = departments.owner_of(case)
                if department is not None:
                    _dispatch(
                        case,
                        actor=None,
                        department=department,
                        now=now,
                        note=_("镇街环节超时，系统按类别职责自动派遣。"),
                        automatic=True,
                        breach_count=case.breach_count + 1,
                    )
                    escalated = True
            if not escalated:
                # No tier above (or no department owns the category): stay, turn red, supervise.
                _transition(
                    case,
                    actor=None,
                    action=StepAction.BREACH,
                    now=now,
                    note=_("本环节已超时，已督办。"),
                    detail=breach_detail,
                    sla_light=SlaLight.RED,
                    breach_count=case.breach_count + 1,
                )
            _notify(
                responsible + superiors,
                case,
                kind=NoticeKind.SUPERVISION,
                title=_("督办：%(title)s 已超时") % {"title": case.title},
                body=_("事项编号%(number)s，请尽快办理。") % {"number": case.number},
            )
    except CaseConflict:
        if effects is not None:
            # The savepoint rolled back this case's changes; drop its collected notices too.
            del effects.notices[notices_before:]
        return None
    return escalated
