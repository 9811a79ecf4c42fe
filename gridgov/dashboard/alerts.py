"""Early warning (预警): spikes, repeated complaints from one place, cases about to breach.

Three detectors, run by the worker after each rollup refresh (at most every
`SCAN_EVERY`), each alert stored once (unique `key`) and sent once to the
inboxes of the people responsible, with the reason in words:

* **Spike (诉求激增)** — per grid × category, today's intake `k` against the
  grid's own baseline: the mean daily intake λ of the previous `BASELINE_DAYS`
  days, smoothed by half a case (λ = (n + 0.5) / days, so a quiet grid still
  has a baseline). It fires when the Poisson tail P(X ≥ k | λ) is below
  `SPIKE_P` (0.001: about one false alarm per thousand grid-category-days) and
  `k ≥ SPIKE_MIN` (3), so one or two cases never count as a spike. Read from the
  grid-level rollups: O(grids × categories × days).
* **Repeated (同一地点重复诉求)** — `REPEAT_MIN` (3) or more cases at the same
  address of the same grid submitted within `REPEAT_DAYS` (7) days.
* **Due soon (即将超时)** — an open, running case whose step limit falls within
  the next hour and which has not yet turned red.

Recipients: for a spike or a repeat, the grid workers of the grid and the
community staff above it; for a due-soon case, its owner, or everyone who may
take it at its current tier.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from scipy.stats import poisson

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.cases.choices import TIMED_STATUSES, SlaLight, Tier
from gridgov.cases.models import Case, Category
from gridgov.dashboard.models import Alert, Rollup, RollupState
from gridgov.notices.choices import NoticeKind
from gridgov.notices.services import notices_queue

BASELINE_DAYS = 28
SPIKE_P = 0.001
SPIKE_MIN = 3
REPEAT_DAYS = 7
REPEAT_MIN = 3
DUE_SOON = timedelta(hours=1)
SCAN_EVERY = timedelta(minutes=5)

_TIER_ROLE: dict[str, str] = {
    Tier.GRID: Role.GRID_WORKER,
    Tier.COMMUNITY: Role.COMMUNITY_STAFF,
    Tier.TOWN: Role.TOWN_STAFF,
    Tier.DEPARTMENT: Role.DEPARTMENT_HANDLER,
}


def _grid_people(grid: Area) -> list[int]:
    assignments = RoleAssignment.objects.filter(user__is_active=True, role=Role.GRID_WORKER, area=grid)
    if grid.parent is not None:
        assignments |= RoleAssignment.objects.filter(user__is_active=True, role=Role.COMMUNITY_STAFF, area=grid.parent)
    return sorted(set(assignments.values_list("user_id", flat=True)))


def _case_people(case: Case) -> list[int]:
    if case.owner_id:
        return [case.owner_id]
    holders = RoleAssignment.objects.filter(user__is_active=True, role=_TIER_ROLE[case.tier])
    if case.tier == Tier.DEPARTMENT:
        holders = holders.filter(department=case.department)
    else:
        holders = holders.filter(area_id=case.handling_area_id)
    return sorted(set(holders.values_list("user_id", flat=True)))


def _fire(kind: str, key: str, *, area: Area, reason: str, now: datetime, recipients: list[int], **extra: Any) -> bool:
    alert, created = Alert.objects.get_or_create(
        key=key, defaults={"kind": kind, "area": area, "reason": reason, "fired_at": now, **extra}
    )
    if created and recipients:
        link = (
            reverse("cases:detail", args=[alert.case_id])
            if alert.case_id
            else reverse("dashboard:home") + f"?area={area.code}"
        )
        notices_queue(
            recipient_ids=recipients,
            kind=NoticeKind.SLA_WARNING,
            title=_("预警：%(kind)s") % {"kind": Alert.Kind(kind).label},
            body=reason,
            link=link,
        )
    return created


def detect_spikes(now: datetime) -> int:
    today = timezone.localdate(now)
    start = today - timedelta(days=BASELINE_DAYS)
    grid_rows = Rollup.objects.filter(area__level=AreaLevel.GRID).order_by()
    todays = {
        (row["area_id"], row["category_id"]): row["n"]
        for row in grid_rows.filter(day=today).values("area_id", "category_id").annotate(n=Sum("intake"))
        if row["n"] >= SPIKE_MIN
    }
    if not todays:
        return 0
    baseline = {
        (row["area_id"], row["category_id"]): row["n"]
        for row in grid_rows.filter(day__gte=start, day__lt=today, area_id__in={key[0] for key in todays})
        .values("area_id", "category_id")
        .annotate(n=Sum("intake"))
    }
    areas = Area.objects.in_bulk({key[0] for key in todays})
    categories = Category.objects.in_bulk({key[1] for key in todays})
    fired = 0
    for (area_id, category_id), count in sorted(todays.items()):
        rate = (baseline.get((area_id, category_id), 0) + 0.5) / BASELINE_DAYS
        tail = float(poisson.sf(count - 1, rate))
        if tail >= SPIKE_P:
            continue
        grid, category = areas[area_id], categories[category_id]
        reason = _(
            "%(grid)s今日“%(category)s”类诉求%(count)d件，近%(days)d天日均%(rate).2f件；"
            "按泊松分布出现这么多的概率为%(tail).1e，低于阈值%(threshold)g。"
        ) % {
            "grid": grid.name,
            "category": category.name,
            "count": count,
            "days": BASELINE_DAYS,
            "rate": rate,
            "tail": tail,
            "threshold": SPIKE_P,
        }
        key = f"spike:{area_id}:{category_id}:{today.isoformat()}"
        detail = {"count": count, "baseline_per_day": round(rate, 3), "p": tail}
        fired += _fire(
            Alert.Kind.SPIKE,
            key,
            area=grid,
            category=category,
            reason=reason,
            now=now,
            recipients=_grid_people(grid),
            detail=detail,
        )
    return fired


def detect_repeats(now: datetime) -> int:
    since = now - timedelta(days=REPEAT_DAYS)
    groups = (
        Case.objects.filter(submitted_at__gte=since, submitted_at__lte=now)
        .exclude(address="")
        .order_by()
        .values("grid_id", "address")
        .annotate(n=Count("id"))
        .filter(n__gte=REPEAT_MIN)
    )
    fired = 0
    for group in groups:
        grid = Area.objects.get(pk=group["grid_id"])
        latest = (
            Case.objects.filter(grid_id=group["grid_id"], address=group["address"], submitted_at__gte=since)
            .order_by("-submitted_at", "-id")
            .first()
        )
        reason = _("%(grid)s“%(address)s”近%(days)d天内有%(count)d件诉求，请关注是否为同一问题反复发生。") % {
            "grid": grid.name,
            "address": group["address"],
            "days": REPEAT_DAYS,
            "count": group["n"],
        }
        key = f"repeat:{group['grid_id']}:{group['address'][:60]}:{timezone.localdate(now).isoformat()}"
        fired += _fire(
            Alert.Kind.REPEATED,
            key,
            area=grid,
            case=latest,
            reason=reason,
            now=now,
            recipients=_grid_people(grid),
            detail={"count": group["n"], "address": group["address"]},
        )
    return fired


def detect_due_soon(now: datetime) -> int:
    cases = (
        Case.objects.filter(status__in=TIMED_STATUSES, due_at__gte=now, due_at__lt=now + DUE_SOON)
        .exclude(sla_light=SlaLight.RED)
        .select_related("grid")
        .order_by("due_at")
    )
    fired = 0
    for case in cases:
        if case.due_at is None:  # not possible for a running case (constraint), but keep mypy and readers sure
            continue
        minutes = max(1, int((case.due_at - now).total_seconds() // 60))
        reason = _("事项%(number)s当前环节将在%(minutes)d分钟后（%(due)s）超时，请尽快办理。") % {
            "number": case.number,
            "minutes": minutes,
            "due": timezone.localtime(case.due_at).strftime("%H:%M"),
        }
        key = f"due:{case.pk}:{int(case.due_at.timestamp())}"
        fired += _fire(
            Alert.Kind.DUE_SOON,
            key,
            area=case.grid,
            case=case,
            category_id=case.category_id,
            reason=reason,
            now=now,
            recipients=_case_people(case),
            detail={"due_at": case.due_at.isoformat()},
        )
    return fired


def alerts_scan(now: datetime | None = None, *, force: bool = False) -> int:
    """Run the three detectors (at most every `SCAN_EVERY` unless forced). Returns the alerts fired."""
    now = now or timezone.now()
    with transaction.atomic():
        RollupState.objects.get_or_create(key="main")
        state = RollupState.objects.select_for_update().get(key="main")
        if not force and state.alerts_scanned_at is not None and state.alerts_scanned_at > now - SCAN_EVERY:
            return 0
        fired = detect_spikes(now) + detect_repeats(now) + detect_due_soon(now)
        state.alerts_scanned_at = now
        state.save(update_fields=["alerts_scanned_at"])
    return fired


def alerts_for_area(area: Area) -> QuerySet[Alert]:
    """Alerts inside `area`'s subtree, newest first (the caller has checked the area is in scope)."""
    return Alert.objects.filter(area__path__startswith=area.path).select_related("area", "category", "case")
