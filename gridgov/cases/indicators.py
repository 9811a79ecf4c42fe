"""Case indicators (考核指标) for any slice of the county and any period.

结案率 = closed / due to close; 按期结案率 = closed on time / due to close;
返工率 = reopened / closes; 满意率 = (满意 + 基本满意) / rated; 响应时长 and
办结时长 as median and 90th percentile; 超时未办 (open and overdue, now); and
the tier at which cases were closed (小事不出网格).

Every figure starts from `cases_visible_to(user)`, so a user's indicators never
count a case they could not open.

Cost: a fixed number of queries whatever the data — the user's duties and
scope (cached on the user object, at most two), the area (one, only with
`area_code`), one aggregate over cases (every count is a `Count(filter=…)`),
one aggregate over steps, and one `values_list` of the status and three
timestamps of the cases submitted or closed in the period, whose percentiles
are computed in Python. That last query transfers a row per such case (a
county's year is some tens of thousands of rows of four columns), and the
whole answer is O(n log n) in those rows for the sorting.

Percentiles use linear interpolation between closest ranks (the method of
PostgreSQL's `percentile_cont` and numpy's default): for sorted values
x[0..n-1] the p-th percentile is at position (n - 1)·p, interpolated between
its two neighbours. The median of 1, 2, 3, 4 is 2.5; the 90th percentile of
1 … 10 is 9.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.areas.models import Area
from gridgov.cases.choices import SATISFIED_RATINGS, TIER_ORDER, TIMED_STATUSES, CaseStatus, SlaLight, StepAction
from gridgov.cases.models import CaseStep
from gridgov.cases.selectors import case_staff_scope, cases_visible_to

MAX_PERIOD_DAYS = 366
CLOSING_ACTIONS: tuple[str, ...] = (StepAction.VERIFY_PASS, StepAction.CLOSE)
# Plain strings ("grid", "community", "town", "department"), lowest tier first.
TIERS: tuple[str, ...] = tuple(str(tier) for tier in TIER_ORDER)


@dataclass(frozen=True)
class Indicators:
    intake: int  # cases submitted in the period
    due_to_close: int  # 应结案: cases whose close_due_at falls in the period (voided excluded)
    closed: int  # 结案: of those, closed (status closed)
    closed_on_time: int  # 按期: of those, closed_at <= close_due_at
    close_rate: float | None  # 结案率 % = closed / due_to_close, 2 decimals (93.72), None when 0 due
    on_time_rate: float | None  # 按期结案率 % = closed_on_time / due_to_close
    reopened: int  # REOPEN steps in the period
    closes: int  # closing steps (verify_pass, close) in the period
    rework_rate: float | None  # 返工率 % = reopened / closes
    rated: int  # cases rated in the period (rated_at)
    satisfied: int  # of those, rating in SATISFIED_RATINGS (满意 + 基本满意)
    satisfaction_rate: float | None
    first_response_median_minutes: float | None  # over cases submitted in the period with a first response
    first_response_p90_minutes: float | None
    time_to_close_median_hours: float | None  # over cases closed in the period (closed_at - submitted_at)
    time_to_close_p90_hours: float | None
    overdue_open: int  # open (not closed/voided/suspended), red light or due_at < now — not period-bound
    tier_outcome: dict[str, int]  # cases closed in the period by closed_tier (grid/community/town/department)


def percent(part: int, whole: int) -> float | None:
    """`part / whole` in per cent, rounded half up to 2 decimals; None when `whole` is 0."""
    if whole == 0:
        return None
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return float(value)


def percentile(values: list[float], fraction: float) -> float | None:
    """The `fraction` quantile (0…1) of `values` by linear interpolation, rounded to 2 decimals; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    lower = math.floor(position)
    upper = math.ceil(position)
    value = ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)
    return round(value, 2)


def period_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The half-open instant range [start, end) of the local dates `date_from` … `date_to` (both inclusive)."""
    if date_to < date_from:
        raise ValidationError(_("结束日期不能早于开始日期。"))
    if (date_to - date_from).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationError(_("统计时段最长为%(days)d天，请缩短时段。") % {"days": MAX_PERIOD_DAYS})
    if date_to >= date.max:
        raise ValidationError(_("截止日期超出范围。"))
    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(date_from, time.min, tzinfo=zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def _in_period(field: str, start: datetime, end: datetime) -> Q:
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def case_indicators(
    user: Any,
    *,
    area_code: str | None = None,
    department_id: int | None = None,
    worker_id: int | None = None,
    date_from: date,
    date_to: date,
    now: datetime | None = None,
) -> Indicators:
    """The indicators of the cases `user` may see, narrowed to an area, a department or a worker.

    `area_code` must name an area where the user sees cases as staff — their `view_cases`
    scope, or the area of a department assignment (`case_staff_scope`, as the case pages'
    area filter) — and is 404 otherwise and for unknown codes; `department_id` keeps cases
    currently at that department; `worker_id` keeps cases whose current owner or last
    handler is that user. Whatever the filters, only cases in `cases_visible_to(user)` count.
    """
    start, end = period_bounds(date_from, date_to)
    now = now or timezone.now()
    cases = cases_visible_to(user)
    if area_code is not None:
        path = Area.objects.filter(code=area_code.strip()).values_list("path", flat=True).first()
        if path is None or not case_staff_scope(user).covers(path):
            raise Http404(_("区域不存在或无权查看。"))
        cases = cases.filter(grid__path__startswith=path)
    if department_id is not None:
        cases = cases.filter(department_id=department_id)
    if worker_id is not None:
        cases = cases.filter(Q(owner_id=worker_id) | Q(last_handler_id=worker_id))

    submitted = _in_period("submitted_at", start, end)
    due = _in_period("close_due_at", start, end) & ~Q(status=CaseStatus.VOIDED)
    is_closed = Q(status=CaseStatus.CLOSED)
    closed_in_period = is_closed & _in_period("closed_at", start, end)
    rated = _in_period("rated_at", start, end)
    overdue = Q(status__in=TIMED_STATUSES) & (Q(sla_light=SlaLight.RED) | Q(due_at__lt=now))
    counts = cases.order_by().aggregate(
        intake=Count("pk", filter=submitted),
        due_to_close=Count("pk", filter=due),
        closed=Count("pk", filter=due & is_closed),
        closed_on_time=Count("pk", filter=due & is_closed & Q(closed_at__lte=F("close_due_at"))),
        rated=Count("pk", filter=rated),
        satisfied=Count("pk", filter=rated & Q(rating__in=SATISFIED_RATINGS)),
        overdue_open=Count("pk", filter=overdue),
        **{f"tier_{tier}": Count("pk", filter=closed_in_period & Q(closed_tier=tier)) for tier in TIERS},
    )

    steps = CaseStep.objects.filter(_in_period("at", start, end), case__in=cases.order_by().values("pk")).aggregate(
        reopened=Count("pk", filter=Q(action=StepAction.REOPEN)),
        closes=Count("pk", filter=Q(action__in=CLOSING_ACTIONS)),
    )

    response_minutes: list[float] = []
    close_hours: list[float] = []
    timestamps = (
        cases.order_by()
        .filter((submitted & Q(first_response_at__isnull=False)) | closed_in_period)
        .values_list("status", "submitted_at", "first_response_at", "closed_at")
    )
    for status, submitted_at, first_response_at, closed_at in timestamps:
        if first_response_at is not None and start <= submitted_at < end:
            response_minutes.append((first_response_at - submitted_at).total_seconds() / 60)
        if status == CaseStatus.CLOSED and closed_at is not None and start <= closed_at < end:
            close_hours.append((closed_at - submitted_at).total_seconds() / 3600)

    return Indicators(
        intake=counts["intake"],
        due_to_close=counts["due_to_close"],
        closed=counts["closed"],
        closed_on_time=counts["closed_on_time"],
        close_rate=percent(counts["closed"], counts["due_to_close"]),
        on_time_rate=percent(counts["closed_on_time"], counts["due_to_close"]),
        reopened=steps["reopened"],
        closes=steps["closes"],
        rework_rate=percent(steps["reopened"], steps["closes"]),
        rated=counts["rated"],
        satisfied=counts["satisfied"],
        satisfaction_rate=percent(counts["satisfied"], counts["rated"]),
        first_response_median_minutes=percentile(response_minutes, 0.5),
        first_response_p90_minutes=percentile(response_minutes, 0.9),
        time_to_close_median_hours=percentile(close_hours, 0.5),
        time_to_close_p90_hours=percentile(close_hours, 0.9),
        overdue_open=counts["overdue_open"],
        tier_outcome={tier: counts[f"tier_{tier}"] for tier in TIERS},
    )
