"""Reads of the residents' portal. A resident's cases come only through
`cases_visible_to` / `case_get_for_user`, narrowed to the cases they reported."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import scope_for
from gridgov.areas.models import Compound
from gridgov.cases.choices import CaseStatus, StepAction
from gridgov.cases.models import Case
from gridgov.cases.selectors import case_get_for_user, case_timeline, cases_visible_to
from gridgov.portal.models import CompoundQr, ResidentPhone


def identity_for_user(user: Any) -> ResidentPhone | None:
    """The phone identity of a signed-in resident; None for staff and anonymous visitors."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return ResidentPhone.objects.select_related("compound__grid").filter(user=user).first()


def compound_by_token(token: str) -> Compound:
    """The compound of a poster's QR code; 404 for unknown tokens."""
    qr = CompoundQr.objects.select_related("compound__grid__parent").filter(token=(token or "")[:32]).first()
    if qr is None:
        raise Http404
    return qr.compound


# --- The resident's own cases -----------------------------------------------------


def my_reports(user: Any) -> QuerySet[Case]:
    """The cases the user reported, newest first (inside `cases_visible_to`)."""
    return (
        cases_visible_to(user)
        .filter(reporter=user)
        .select_related("category")
        .only("id", "number", "title", "status", "category__name", "submitted_at", "closed_at", "rating")
        .order_by("-submitted_at", "-id")
    )


def my_report_get(user: Any, case_id: int) -> Case:
    """One case the user reported; 404 for anyone else's case, exactly like an unknown id."""
    case = case_get_for_user(user, case_id)
    if case.reporter_id is None or case.reporter_id != user.pk:
        raise Http404
    return case


_PLAIN_STATUS: dict[str, Promise] = {
    CaseStatus.SUBMITTED: _("已提交，等待受理"),
    CaseStatus.HANDLING: _("正在办理"),
    CaseStatus.DISPATCHED: _("正在办理"),
    CaseStatus.REPORTED: _("已处理，等待现场核查"),
    CaseStatus.SUSPENDED: _("暂缓办理"),
    CaseStatus.CLOSED: _("已办结"),
    CaseStatus.VOIDED: _("已撤销"),
}


def plain_status(status: str) -> str:
    return str(_PLAIN_STATUS.get(status, CaseStatus(status).label))


# What each step means to the person who reported the problem. Steps not listed
# (SLA warnings, extension paperwork) are not shown to residents.
_PLAIN_STEPS: dict[str, Promise] = {
    StepAction.SUBMIT: _("您反映了这个问题"),
    StepAction.ACCEPT: _("工作人员已受理，正在处理"),
    StepAction.ESCALATE: _("已转交上一级协调处理"),
    StepAction.AUTO_ESCALATE: _("已转交上一级协调处理"),
    StepAction.DISPATCH: _("已派往职能部门办理"),
    StepAction.SIGN_FOR: _("职能部门已接手办理"),
    StepAction.SEND_BACK: _("重新安排办理单位"),
    StepAction.APPROVE_EXTENSION: _("办理时间已延长"),
    StepAction.REPORT_BACK: _("已处理，处理情况如下"),
    StepAction.VERIFY_PASS: _("现场核查通过，问题已解决"),
    StepAction.VERIFY_FAIL: _("现场核查未通过，继续办理"),
    StepAction.CLOSE: _("已办结"),
    StepAction.RATE: _("您做了评价"),
    StepAction.REOPEN: _("您反馈没有解决，已重新办理"),
    StepAction.SUSPEND: _("暂缓办理"),
    StepAction.RESUME: _("恢复办理"),
    StepAction.VOID: _("已撤销"),
    StepAction.NOTE: _("办理情况说明"),
}
# Only these steps carry words meant for the reporter (the result, the verification, their own words).
_STEPS_WITH_NOTE = frozenset(
    {
        StepAction.REPORT_BACK,
        StepAction.VERIFY_PASS,
        StepAction.CLOSE,
        StepAction.RATE,
        StepAction.REOPEN,
        StepAction.NOTE,  # only notes that are not internal reach the reporter's timeline
    }
)


@dataclass(frozen=True)
class PlainStep:
    at: Any
    text: str
    note: str
    by_me: bool
    department: str


def resident_timeline(case: Case) -> list[PlainStep]:
    """The reporter's timeline (no internal steps) in plain words; staff stay unnamed."""
    steps: list[PlainStep] = []
    for step in case_timeline(case, for_reporter=True):
        text = _PLAIN_STEPS.get(step.action)
        if text is None:
            continue
        note = step.note if step.action in _STEPS_WITH_NOTE else ""
        if step.action == StepAction.RATE:
            rating = (step.detail or {}).get("rating", "")
            note = "：".join(part for part in (_rating_label(rating), note) if part)
        department = str((step.detail or {}).get("department", "")) if step.action == StepAction.DISPATCH else ""
        steps.append(
            PlainStep(
                at=step.at,
                text=str(text),
                note=note,
                by_me=step.actor_id is not None and step.actor_id == case.reporter_id,
                department=department,
            )
        )
    return steps


def _rating_label(value: str) -> str:
    from gridgov.cases.choices import Rating

    return str(Rating(value).label) if value in Rating.values else ""


# --- Posters (staff) -----------------------------------------------------------------


def poster_compounds_for_user(user: Any) -> QuerySet[Compound]:
    """Compounds whose posters the user may print: those in their case scope."""
    return (
        scope_for(user, Capability.VIEW_CASES)
        .filter(Compound.objects.all(), "grid__path")
        .select_related("grid__parent")
        .order_by("grid__path", "name")
    )


def poster_compound_get_for_user(user: Any, compound_id: int) -> Compound:
    """One compound for its poster; 404 outside the user's scope, like an unknown id."""
    try:
        return poster_compounds_for_user(user).get(pk=compound_id)
    except (Compound.DoesNotExist, ValueError, TypeError) as error:
        raise Http404 from error
