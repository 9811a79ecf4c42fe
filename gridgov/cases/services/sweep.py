"""The SLA sweep: warnings at 80 %, 督办 and automatic escalation on breach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
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
    """
    now = _now(now)
    result = SweepResult()
    warn_ids = list(
        Case.objects.filter(
            status__in=TIMED_STATUSES, sla_light=SlaLight.GREEN, warn_at__lte=now, due_at__gt=now
        ).values_list("pk", flat=True)
    )
    for start in range(0, len(warn_ids), chunk):
        with transaction.atomic():
            result.warned += _warn_cases(warn_ids[start : start + chunk], now)
    # A step never breaches at the instant it starts (a zero limit would otherwise
    # escalate again on a rerun at the same `now`).
    breach_ids = list(
        Case.objects.filter(status__in=TIMED_STATUSES, due_at__lte=now, step_started_at__lt=now)
        .exclude(sla_light=SlaLight.RED)
        .order_by("due_at")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(breach_ids), chunk):
        with transaction.atomic():
            for case in Case.objects.filter(pk__in=breach_ids[start : start + chunk]).select_related(
                "grid", "handling_area", "category", "department__area"
            ):
                escalated = _breach_case(case, now)
                if escalated is None:
                    continue
                result.breached += 1
                result.escalated += int(escalated)
    return result


def _warn_cases(case_ids: list[int], now: datetime) -> int:
    warned = 0
    for case in Case.objects.filter(pk__in=case_ids).select_related("grid", "handling_area"):
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


def _owning_department(case: Case) -> Department | None:
    """The department that owns the case's category (or its nearest ancestor) for the case's place."""
    codes = [case.category.code[:length] for length in range(2, len(case.category.code) + 1, 2)]
    candidates = [
        (len(link.category.code), len(link.department.area.path), -link.department.pk, link.department)
        for link in DepartmentCategory.objects.filter(category__code__in=codes).select_related(
            "category", "department__area"
        )
        if _department_covers(link.department, case.grid.path)
    ]
    if not candidates:
        return None
    # The most specific category wins, then the most local department.
    return max(candidates, key=lambda item: item[:3])[3]


def _breach_case(case: Case, now: datetime) -> bool | None:
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
                department = _owning_department(case)
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
        return None
    return escalated
