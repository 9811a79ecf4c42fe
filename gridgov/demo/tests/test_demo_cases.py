"""The demo county's departments and its year of cases (small preset, no residents).

The county is generated once for the module (and rolled back after it); each
test runs in a savepoint inside that transaction.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import shapely
from django.db import transaction
from django.db.models import Count, F, Max, Min, Q
from django.test import override_settings
from django.utils import timezone

from gridding.geo import geometry_from_geojson
from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department, RoleAssignment, User
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.areas.selectors import grid_index_invalidate
from gridgov.cases.choices import (
    OPEN_STATUSES,
    SATISFIED_RATINGS,
    TIMED_STATUSES,
    CaseSource,
    CaseStatus,
    CloseReason,
    SlaLight,
    StepAction,
    Tier,
    TimeUnit,
    Urgency,
)
from gridgov.cases.models import Case, CaseStep, Category, DepartmentCategory
from gridgov.cases.selectors import case_queue_for_user, sla_policy_for, working_calendar
from gridgov.cases.services import REPORTER_PHONE_FIELD, case_link
from gridgov.cases.services.lifecycle import TIER_LIMIT_FIELD, WARN_SHARE
from gridgov.demo import cases, generator
from gridgov.demo.reset import demo_reset
from gridgov.notices.models import InboxMessage, Notice
from gridgov.registry.crypto import field_decrypt
from gridgov.registry.identifiers import phone_mask

pytestmark = pytest.mark.django_db

SEED = 7
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=SHANGHAI)  # a Friday afternoon
STEPS = (*generator.STEPS_WITHOUT_RESIDENTS, generator.step_cases)
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def generate() -> generator.DemoSummary:
    with override_settings(PASSWORD_HASHERS=FAST_HASHER):
        return generator.generate_county(preset="small", seed=SEED, steps=STEPS, now=NOW)


@pytest.fixture(scope="module")
def county(django_db_setup: None, django_db_blocker: Any) -> Iterator[generator.DemoSummary]:
    """The small preset with its cases, generated once; rolled back after the module."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield generate()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def local(moment: datetime) -> datetime:
    return timezone.localtime(moment, SHANGHAI)


def cases_digest() -> str:
    """What the cases say, independent of primary keys and of the random nonces of the ciphertexts."""
    rows = list(
        Case.objects.order_by("submitted_at", "title", "grid__code").values_list(
            "submitted_at", "grid__code", "category__code", "source", "kind", "urgency", "title", "reporter_name",
            "reporter_phone_masked", "status", "tier", "closed_at", "close_reason", "rating", "due_at", "sla_light",
        )
    )  # fmt: skip
    rows += list(
        CaseStep.objects.order_by("case__submitted_at", "case__title", "case__grid__code", "seq").values_list(
            "seq", "action", "actor__username", "at", "to_status", "to_tier", "note"
        )
    )
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, default=str).encode()).hexdigest()


# ---------------------------------------------------------------- departments and staff


def test_departments_own_the_seeded_categories_and_have_handlers(county: generator.DemoSummary) -> None:
    owners = {
        code: department
        for code, department in DepartmentCategory.objects.values_list("category__code", "department__code")
    }

    assert owners["01"] == owners["04"] == "370281-CGJ"
    assert owners["0302"] == owners["0303"] == owners["0608"] == "370281-ZJJ"
    assert owners["05"] == "370281-YJGLJ" and owners["0603"] == "370281-GAJ" and owners["0404"] == "370281-SCJGJ"
    for department in Department.objects.filter(owned_categories__isnull=False).distinct():
        handlers = RoleAssignment.objects.filter(role=Role.DEPARTMENT_HANDLER, department=department)
        assert 1 <= handlers.count() <= 3, department.name
    assert {h.username for h in county.department_handlers} >= {"dhcgj1", "dhzjj1", "dhzjj2", "dhgaj1"}
    summary = county.as_json()
    assert summary["department_handlers"][0]["password"] == summary["users"][0]["password"]


def test_every_community_and_town_has_staff_to_take_escalated_cases(county: generator.DemoSummary) -> None:
    for level, role in ((AreaLevel.COMMUNITY, Role.COMMUNITY_STAFF), (AreaLevel.TOWN, Role.TOWN_STAFF)):
        for area in Area.objects.filter(level=level):
            assert RoleAssignment.objects.filter(role=role, area=area).exists(), area.name
    assert RoleAssignment.objects.get(user__username="community").area.name == "方井社区"


# ---------------------------------------------------------------- invariants


def test_every_case_keeps_the_invariants_of_the_services(county: generator.DemoSummary) -> None:
    all_cases = Case.objects.all()
    with_steps = all_cases.annotate(steps_count=Count("steps"), first=Min("steps__seq"), last=Max("steps__seq"))

    assert 2_500 <= all_cases.count() <= 3_500
    assert not with_steps.exclude(version=F("steps_count")).exists()
    assert not with_steps.exclude(version=F("last")).exists()
    assert not with_steps.exclude(first=1).exists()
    closed = all_cases.filter(status=CaseStatus.CLOSED)
    assert not closed.filter(
        Q(close_reason="") | Q(closed_at=None) | Q(closed_tier="") | Q(due_at__isnull=False) | Q(warn_at__isnull=False)
    ).exists()
    voided = all_cases.filter(status=CaseStatus.VOIDED)
    assert not voided.filter(Q(due_at__isnull=False) | Q(closed_at__isnull=False)).exists()
    assert (
        not all_cases.filter(status__in=OPEN_STATUSES)
        .filter(Q(due_at=None) | Q(warn_at=None) | Q(warn_at__gt=F("due_at")) | Q(closed_at__isnull=False))
        .exists()
    )
    assert not all_cases.filter(status=CaseStatus.HANDLING, owner=None).exists()
    assert not all_cases.exclude(status=CaseStatus.HANDLING).filter(owner__isnull=False).exists()
    assert not all_cases.filter(tier=Tier.DEPARTMENT, department=None).exists()
    assert not all_cases.exclude(tier=Tier.DEPARTMENT).filter(department__isnull=False).exists()
    assert not all_cases.filter(merged_into__isnull=False).exclude(close_reason=CloseReason.DUPLICATE).exists()
    assert not all_cases.filter(close_reason=CloseReason.DUPLICATE, merged_into=None).exists()
    assert not all_cases.filter(
        Q(merged_into__status=CaseStatus.VOIDED) | Q(merged_into__close_reason=CloseReason.DUPLICATE)
    ).exists()
    assert not all_cases.filter(submitted_at__gt=NOW).exists()
    assert not CaseStep.objects.filter(at__gt=NOW).exists()


def test_numbers_are_the_day_of_intake_and_the_id(county: generator.DemoSummary) -> None:
    for case_id, number, submitted_at in Case.objects.values_list("id", "number", "submitted_at"):
        assert number == f"{local(submitted_at):%Y%m%d}{case_id:08d}"


def test_each_timeline_tells_one_story(county: generator.DemoSummary) -> None:
    cases_by_id = {case.pk: case for case in Case.objects.all()}
    steps: dict[int, list[CaseStep]] = defaultdict(list)
    for step in CaseStep.objects.order_by("case_id", "seq"):
        steps[step.case_id].append(step)

    for case_id, case in cases_by_id.items():
        timeline = steps[case_id]
        first = timeline[0]
        assert (first.action, first.from_status, first.to_status, first.to_tier) == (
            StepAction.SUBMIT,
            "",
            CaseStatus.SUBMITTED,
            Tier.GRID,
        )
        assert first.at == case.submitted_at and first.actor_id == case.submitted_by_id
        for before, after in zip(timeline, timeline[1:], strict=False):
            assert (after.from_status, after.from_tier) == (before.to_status, before.to_tier), case.number
            assert after.at > before.at, case.number
        assert (timeline[-1].to_status, timeline[-1].to_tier) == (case.status, case.tier), case.number
        if case.status == CaseStatus.CLOSED:
            closing = [
                step for step in timeline if step.to_status == CaseStatus.CLOSED and step.from_status != step.to_status
            ]
            assert closing[-1].action in (StepAction.VERIFY_PASS, StepAction.CLOSE)
            assert closing[-1].at == case.closed_at
        rates = [step for step in timeline if step.action == StepAction.RATE]
        assert bool(case.rating) == (bool(rates) and timeline[-1].action == StepAction.RATE), case.number
        assert case.reopen_count == sum(1 for step in timeline if step.action == StepAction.REOPEN)
        if case.first_response_at is not None:
            assert any(
                step.at == case.first_response_at and step.action in (StepAction.ACCEPT, StepAction.SIGN_FOR)
                for step in timeline
            )


def test_open_cases_run_on_the_clock_of_their_policy(county: generator.DemoSummary) -> None:
    calendar = working_calendar()
    open_cases = list(Case.objects.filter(status__in=TIMED_STATUSES).select_related("category"))
    approved = set(
        CaseStep.objects.filter(action=StepAction.APPROVE_EXTENSION, case__in=open_cases).values_list("case_id", "at")
    )

    assert len(open_cases) >= 5
    for case in open_cases:
        policy = sla_policy_for(case.category, case.urgency)
        if case.status == CaseStatus.REPORTED:
            limit_field = "verification_limit"
        elif case.status == CaseStatus.SUBMITTED and case.tier == Tier.GRID:
            limit_field = "first_response"
        else:
            limit_field = TIER_LIMIT_FIELD[case.tier]
        limit = Decimal(getattr(policy, limit_field))
        due_at = calendar.add(case.step_started_at, float(limit), policy.unit)
        extended = any(case_id == case.pk and at >= case.step_started_at for case_id, at in approved)
        assert case.sla_unit == policy.unit
        if extended:
            assert case.due_at is not None and case.due_at > due_at
        else:
            assert case.due_at == due_at, case.number
            if policy.unit != TimeUnit.WORKING_DAY:
                assert case.warn_at == calendar.add(case.step_started_at, float(limit * WARN_SHARE), policy.unit)
        assert case.step_started_at <= NOW
        assert case.due_at is not None and case.warn_at is not None
        # The sweep has run at `now`: no open step is overdue without a red light.
        if case.sla_light == SlaLight.GREEN:
            assert case.warn_at > NOW, case.number
        elif case.sla_light == SlaLight.YELLOW:
            assert case.warn_at <= NOW, case.number
        else:
            assert case.breach_count > 0
        if case.sla_light != SlaLight.RED:
            assert case.due_at > NOW, case.number


def test_closing_deadlines_follow_the_policy(county: generator.DemoSummary) -> None:
    calendar = working_calendar()
    plain = Case.objects.filter(reopen_count=0).exclude(steps__action=StepAction.APPROVE_EXTENSION)
    for case in plain.select_related("category").order_by("?")[:400]:
        policy = sla_policy_for(case.category, case.urgency)

        assert case.close_due_at == calendar.add(case.submitted_at, float(policy.close_limit), policy.unit)


# ---------------------------------------------------------------- what the year looks like


def test_outcomes_look_like_a_county_year(county: generator.DemoSummary) -> None:
    all_cases = Case.objects.all()
    total = all_cases.count()
    closed = all_cases.filter(status=CaseStatus.CLOSED)
    tiers = Counter(closed.values_list("closed_tier", flat=True))
    sources = Counter(all_cases.values_list("source", flat=True))
    rated = Counter(all_cases.exclude(rating="").values_list("rating", flat=True))

    assert 0.74 <= tiers[Tier.GRID] / closed.count() <= 0.86
    assert 0.08 <= tiers[Tier.COMMUNITY] / closed.count() <= 0.17
    assert 0.025 <= tiers[Tier.TOWN] / closed.count() <= 0.08
    assert 0.01 <= tiers[Tier.DEPARTMENT] / closed.count() <= 0.06
    on_time = closed.filter(closed_at__lte=F("close_due_at")).count() / closed.count()
    assert 0.93 <= on_time <= 0.99
    assert 0.55 <= (sources[CaseSource.GRID_WORKER] + sources[CaseSource.PATROL]) / total <= 0.66
    assert {CaseSource.RESIDENT, CaseSource.HOTLINE, CaseSource.WALK_IN} <= set(sources)
    assert all_cases.filter(urgency=Urgency.NORMAL).count() / total > 0.85
    assert sum(rated[rating] for rating in SATISFIED_RATINGS) / sum(rated.values()) >= 0.9
    assert all_cases.filter(reopen_count__gt=0).exists()
    assert closed.filter(close_reason=CloseReason.DUPLICATE).exists()
    assert all_cases.filter(status=CaseStatus.VOIDED).exists()
    responses = [
        (first - submitted).total_seconds() / 60
        for first, submitted in all_cases.filter(first_response_at__isnull=False).values_list(
            "first_response_at", "submitted_at"
        )
    ]
    assert statistics.median(responses) < 30
    top = Counter(all_cases.values_list("category__parent__code", flat=True)).most_common(2)
    assert {code for code, _count in top} == {"01", "06"}  # 市容环境 and 社区服务


def test_summer_is_busier_than_the_spring_festival_and_weekdays_than_weekends(county: generator.DemoSummary) -> None:
    intakes = [local(moment) for moment in Case.objects.values_list("submitted_at", flat=True)]
    months = Counter(moment.month for moment in intakes)
    weekdays = Counter(moment.weekday() < 5 for moment in intakes)

    assert months[7] > 1.4 * months[2]
    assert weekdays[True] / 5 > 1.3 * weekdays[False] / 2
    assert sum(1 for moment in intakes if 8 <= moment.hour < 18) > 0.75 * len(intakes)
    garbage = Counter(
        local(m).month for m in Case.objects.filter(category__code="0101").values_list("submitted_at", flat=True)
    )
    assert garbage[7] + garbage[8] > 1.5 * (garbage[1] + garbage[2])


def test_every_case_lies_in_a_grid_of_the_demo_tree(county: generator.DemoSummary) -> None:
    district = Area.objects.get(code="370281")
    grids = {
        area.pk: geometry_from_geojson(area.geometry)
        for area in Area.objects.filter(level=AreaLevel.GRID, path__startswith=district.path)
    }
    for grid_id, lon, lat in Case.objects.values_list("grid_id", "longitude", "latitude"):
        assert grid_id in grids
        assert lon is not None and lat is not None and shapely.contains_xy(grids[grid_id], lon, lat)


def test_hotline_callers_phones_are_encrypted_and_masked(county: generator.DemoSummary) -> None:
    hotline = Case.objects.filter(source=CaseSource.HOTLINE)

    assert hotline.count() > 100
    assert not hotline.filter(Q(reporter_phone_ciphertext="") | Q(external_ref="")).exists()
    for ciphertext, masked in hotline.values_list("reporter_phone_ciphertext", "reporter_phone_masked"):
        phone = field_decrypt(ciphertext, field=REPORTER_PHONE_FIELD)
        assert masked == phone_mask(phone) and "****" in masked
        assert phone not in ciphertext


def test_resident_reports_come_from_the_demo_resident_or_carry_a_name(county: generator.DemoSummary) -> None:
    resident = User.objects.get(username="resident")
    reports = Case.objects.filter(source=CaseSource.RESIDENT)

    assert reports.filter(reporter=resident, submitted_by=resident).exists()
    assert not reports.filter(reporter=None, reporter_name="").exists()
    assert not Case.objects.exclude(source=CaseSource.RESIDENT).filter(reporter__isnull=False).exists()


def test_the_latest_open_cases_went_through_the_services_and_fill_the_queues(county: generator.DemoSummary) -> None:
    open_cases = list(Case.objects.filter(status__in=OPEN_STATUSES))
    with_notices = [case for case in open_cases if Notice.objects.filter(link=case_link(case.pk)).exists()]
    old_closed = Case.objects.filter(status=CaseStatus.CLOSED, closed_at__lt=NOW - timedelta(days=30))

    assert with_notices
    assert not Notice.objects.filter(link__in=[case_link(pk) for pk in old_closed.values_list("pk", flat=True)[:500]])
    workers = User.objects.filter(role_assignments__role=Role.GRID_WORKER)
    assert any(case_queue_for_user(worker).exists() for worker in workers)


# ---------------------------------------------------------------- simulation against the services


def test_simulated_histories_are_what_the_services_write(county: generator.DemoSummary) -> None:
    # Given histories simulated for the county, from early in the year (no open case of the
    # generated county is due then, so the sweep replays touch only the replayed case)
    grid_index_invalidate()
    year = cases.CaseYear(
        cases.case_county_load(), now=NOW, total=1_500, rng=random.Random("replay"), first_id=10_000_000
    )
    early = [
        history
        for history in year.histories()
        if history.row["submitted_at"] < NOW - timedelta(days=60)
        and history.row["submitted_by_id"] is not None
        and history.row["merged_into_id"] is None
    ]
    by_actions: dict[frozenset[str], list[cases.CaseHistory]] = defaultdict(list)
    for history in early:
        by_actions[frozenset(step.action for step in history.steps)].append(history)
    sample = [histories[0] for histories in by_actions.values()][:40]
    assert {StepAction.AUTO_ESCALATE, StepAction.DISPATCH, StepAction.REOPEN} <= {
        step.action for history in sample for step in history.steps
    }
    lookup = cases.ReplayLookup()
    fields = [name for name in sample[0].row if name != "category"]

    for history in sample:
        # When the services replay it, step by step at its times
        case = cases.case_history_replay(history, lookup=lookup)

        # Then they write the same case and the same timeline
        case.refresh_from_db()
        assert {name: getattr(case, name) for name in fields} == {name: history.row[name] for name in fields}
        assert list(
            case.steps.order_by("seq").values_list(
                "seq", "action", "actor_id", "at", "from_status", "to_status", "from_tier", "to_tier", "note", "detail"
            )
        ) == [
            (s.seq, s.action, s.actor_id, s.at, s.from_status, s.to_status, s.from_tier, s.to_tier, s.note, s.detail)
            for s in history.steps
        ]


def test_the_working_clock_agrees_with_the_calendar(county: generator.DemoSummary) -> None:
    calendar = working_calendar()
    clock = cases.WorkingClock(calendar, (NOW - timedelta(days=400)).date(), (NOW + timedelta(days=60)).date())
    rng = random.Random(3)
    starts = [NOW - timedelta(minutes=rng.randrange(0, 380 * 24 * 60)) for _ in range(300)]
    starts += [datetime(2026, 9, 30, hour, minute, tzinfo=SHANGHAI) for hour, minute in ((9, 0), (12, 0), (17, 30))]
    for start in starts:
        for unit in (TimeUnit.WORKING_HOUR, TimeUnit.WORKING_DAY, TimeUnit.NATURAL_HOUR):
            amount = rng.choice([0, 0.5, 1, 3, 4, 7, 14, 21, 35, rng.uniform(0, 60)])
            assert clock.add(start, amount, unit) == calendar.add(start, amount, unit), (start, amount, unit)


# ---------------------------------------------------------------- reset


def test_reset_removes_cases_notices_and_departments_and_the_same_seed_regenerates_them(
    county: generator.DemoSummary,
) -> None:
    digest = cases_digest()
    assert Notice.objects.exists()

    demo_reset()

    for model in (Case, CaseStep, Notice, InboxMessage, DepartmentCategory, Department, User, Area):
        assert not model.objects.exists(), model.__name__
    assert Category.objects.exists()  # the category tree is configuration, not demo data

    generate()

    assert cases_digest() == digest
