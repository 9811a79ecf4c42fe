"""Stateful property test of the case lifecycle and the SLA sweep.

Hypothesis drives one case at a time through random sequences of every
lifecycle service (submit, accept, escalate, dispatch, sign for, send back,
request/decide an extension, report back, verify, close, rate, reopen,
suspend, resume, void) and the SLA sweep, called by actors drawn from every
persona, on a synthetic clock that only moves forward by random minutes,
hours or days.

The machine keeps its own model of the case (status, tier, department,
owner, last handler, pending extension, close reason, rating …) and its own
table of who may do what, written here from docs/domain.md §4 and the
services' docstrings, not read from `gridgov.cases.rules`. For every call it
predicts "done, with this new state" or "refused with this error"; refused
calls must leave the case row, its timeline and the outbox untouched. After
every step the database must satisfy the case invariants (see
`LifecycleMachine.invariants_hold`) and agree with the model.

The area tree and the personas are created once per test; each example runs
inside a savepoint that is rolled back afterwards, on a fresh case.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department, User
from gridgov.accounts.services import department_create
from gridgov.areas.models import Area
from gridgov.cases.choices import (
    OPEN_STATUSES,
    TIMED_STATUSES,
    CaseSource,
    CaseStatus,
    CloseReason,
    Rating,
    SlaLight,
    StepAction,
    Tier,
    TimeUnit,
    Urgency,
)
from gridgov.cases.errors import CaseConflict, CaseForbidden
from gridgov.cases.models import Case, Category, DepartmentCategory
from gridgov.cases.services import (
    SweepResult,
    case_accept,
    case_close,
    case_decide_extension,
    case_dispatch,
    case_escalate,
    case_rate,
    case_reopen,
    case_report_back,
    case_request_extension,
    case_resume,
    case_send_back,
    case_sign_for,
    case_submit,
    case_suspend,
    case_verify,
    case_void,
    sla_policy_set,
    sla_sweep,
)
from gridgov.testing.cases import case_input, submit_case
from gridgov.testing.factories import AreaTree, make_user_with_role

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
# Monday 2 September 2024, 08:00: examples start within the next two weeks, which
# hold the 中秋 holidays (16–17 September) and the make-up working Saturday (14th).
EPOCH = datetime(2024, 9, 2, 8, 0, tzinfo=TZ)
MAX_EXAMPLES = 200
STEPS = 30
REFUSALS = (CaseConflict, CaseForbidden, ValidationError)

# ------------------------------------------------------------------ who may do what
#
# Personas (the case lies in grid 0 of community 0 of town 0):
PERSONAS = (
    "gw",  # grid worker of the case's grid
    "gw_other",  # grid worker of the neighbouring grid (same community)
    "community",  # community staff of the case's community
    "town",  # town staff of the case's town
    "handler",  # department handler of department D (district-wide)
    "command",  # county command centre
    "leader",  # county leader (reads, never acts)
    "outsider",  # town staff of the other town
    "reporter",  # resident of the grid (the reporter when the case is a resident's report)
    "resident_other",  # another resident of the grid
)
TIER_AFTER: dict[str, str] = {Tier.GRID: Tier.COMMUNITY, Tier.COMMUNITY: Tier.TOWN}
SUPERVISORS: dict[str, frozenset[str]] = {
    Tier.GRID: frozenset({"community", "town", "command"}),
    Tier.COMMUNITY: frozenset({"town", "command"}),
    Tier.TOWN: frozenset({"command"}),
    Tier.DEPARTMENT: frozenset({"command"}),
}
TIER_HANDLER: dict[str, str] = {Tier.GRID: "gw", Tier.COMMUNITY: "community", Tier.TOWN: "town"}
DISPATCHERS = frozenset({"town", "command"})
STAFF_OVER_GRID = frozenset({"gw", "community", "town", "command"})
# Departments: D (district, owns category 01, has the handler), D2 (district, no
# handler), FAR (the other town's: does not cover the case's grid).
DEPARTMENTS = ("D", "D2", "FAR")
OWNING_DEPARTMENT = {"0101": "D", "0602": None, "0501": None}
SUBMITTERS = {"resident": "reporter", "grid_worker": "gw", "hotline": "command"}
SOURCES = {"resident": CaseSource.RESIDENT, "grid_worker": CaseSource.GRID_WORKER, "hotline": CaseSource.HOTLINE}
STEP_OF = {
    "accept": StepAction.ACCEPT,
    "escalate": StepAction.ESCALATE,
    "dispatch": StepAction.DISPATCH,
    "sign_for": StepAction.SIGN_FOR,
    "send_back": StepAction.SEND_BACK,
    "request_extension": StepAction.REQUEST_EXTENSION,
    "report_back": StepAction.REPORT_BACK,
    "verify_pass": StepAction.VERIFY_PASS,
    "verify_fail": StepAction.VERIFY_FAIL,
    "close": StepAction.CLOSE,
    "rate": StepAction.RATE,
    "reopen": StepAction.REOPEN,
    "suspend": StepAction.SUSPEND,
    "resume": StepAction.RESUME,
    "void": StepAction.VOID,
}
LEGAL_TIERS = {
    CaseStatus.SUBMITTED: frozenset({Tier.GRID, Tier.COMMUNITY, Tier.TOWN}),
    CaseStatus.DISPATCHED: frozenset({Tier.DEPARTMENT}),
    CaseStatus.HANDLING: frozenset(Tier.values),
    CaseStatus.REPORTED: frozenset(Tier.values),
    CaseStatus.CLOSED: frozenset(Tier.values),
    CaseStatus.VOIDED: frozenset(Tier.values),
}


@dataclass(frozen=True)
class Model:
    """What the case should look like, kept by the machine independently of the database."""

    status: str
    tier: str
    category: str
    reporter: str | None
    department: str | None = None
    owner: str | None = None
    last_handler: str | None = None
    last_handler_tier: str = ""
    extension: bool = False
    suspended_status: str = ""
    close_reason: str = ""
    closed_at: datetime | None = None
    rating: str = ""
    merged: bool = False
    reopen_count: int = 0
    breach_count: int = 0

    @property
    def handlers(self) -> frozenset[str]:
        if self.tier == Tier.DEPARTMENT:
            return frozenset({"handler"}) if self.department == "D" else frozenset()
        return frozenset({TIER_HANDLER[self.tier]})

    @property
    def supervisors(self) -> frozenset[str]:
        return SUPERVISORS[self.tier]

    @property
    def speaks_for_reporter(self) -> frozenset[str]:
        return frozenset({self.reporter}) if self.reporter else STAFF_OVER_GRID

    @property
    def verifiers(self) -> frozenset[str]:
        """The grid's worker, the reporter, the handling tier and its supervisors."""
        reporter = frozenset({self.reporter}) if self.reporter else frozenset()
        return frozenset({"gw"}) | reporter | self.handlers | self.supervisors

    def back_to_handling(self) -> Model:
        """Verification failed or the case was reopened: it goes back to the tier it is at,
        owned again by its last handler when that person works this tier, else to the tier's queue."""
        if self.last_handler is not None and self.last_handler in self.handlers:
            return replace(self, status=CaseStatus.HANDLING, owner=self.last_handler)
        queue = CaseStatus.DISPATCHED if self.tier == Tier.DEPARTMENT else CaseStatus.SUBMITTED
        return replace(self, status=queue, owner=None)

    def in_reopen_window(self, now: datetime) -> bool:
        return self.closed_at is not None and now - self.closed_at <= timedelta(days=django_settings.CASE_REOPEN_DAYS)


def may(action: str, m: Model) -> frozenset[str]:
    """Who may take `action` on the case (its state aside)."""
    owner = frozenset({m.owner}) if m.owner else frozenset()
    return {
        "accept": m.handlers,
        "sign_for": m.handlers,
        "send_back": m.handlers,
        "escalate": m.handlers | m.supervisors,
        "close": m.handlers | m.supervisors,
        "dispatch": DISPATCHERS if m.tier == Tier.TOWN else DISPATCHERS & m.supervisors,
        "request_extension": owner,
        "report_back": owner,
        "decide_extension": m.supervisors,
        "suspend": m.supervisors,
        "resume": m.supervisors,
        "void": m.supervisors,
        "verify": m.verifiers,
        "rate": m.speaks_for_reporter,
        "reopen": m.speaks_for_reporter | m.supervisors,
    }[action]


class Refused(Exception):
    """The model's prediction that a call is refused with `error`."""

    def __init__(self, error: type[Exception]) -> None:
        super().__init__(error.__name__)
        self.error = error


def check(condition: bool, error: type[Exception]) -> None:
    if not condition:
        raise Refused(error)


# ------------------------------------------------------------------ strategies

# Minutes the clock moves before a step: mostly minutes and hours, sometimes days,
# rarely past the 15-day rating/reopen window.
ADVANCE = st.sampled_from([0, 0, 1, 5, 20, 45, 60, 90, 150, 240, 420, 600, 960, 1440, 2880, 4320, 10080, 23040])
# (prefer an actor who may act?, index into PERSONAS). Actions that move the case on
# get an allowed actor most of the time; actions that end or divert the loop (close,
# void, suspend, escalate, dispatch, send back) seldom, so examples get deep into it.
ACTOR = st.tuples(st.sampled_from([True, True, True, True, False]), st.integers(0, len(PERSONAS) - 1))
SELDOM = st.tuples(st.sampled_from([True, False, False, False]), st.integers(0, len(PERSONAS) - 1))
TEXT_OK = st.sampled_from([True, True, True, False])
AMOUNT = st.sampled_from([Decimal("2"), Decimal("0.5"), Decimal("8"), Decimal("0"), Decimal("1000")])
CLOSE_REASON = st.sampled_from([*CloseReason.values, "bogus"])
MERGE_INTO = st.sampled_from(["closed", "voided", "self", None])
RATING = st.sampled_from([*Rating.values, "bogus"])


@dataclass
class World:
    users: dict[str, User]
    departments: dict[str, Department]
    areas: dict[str, Area]
    categories: dict[str, Category]
    merge_targets: dict[str, Case]
    names_by_user_id: dict[int, str] = field(default_factory=dict)
    areas_by_id: dict[int, Area] = field(default_factory=dict)
    categories_by_id: dict[int, Category] = field(default_factory=dict)
    departments_by_id: dict[int, Department] = field(default_factory=dict)
    names_by_department_id: dict[int, str] = field(default_factory=dict)


@dataclass
class Tally:
    examples: int = 0
    steps: int = 0
    done: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    sweep: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    lengths: Counter[int] = field(default_factory=Counter)

    def __str__(self) -> str:
        return (
            f"{self.examples} examples, {self.steps} steps in {self.seconds:.1f} s ({self.cpu_seconds:.1f} s CPU); "
            f"done {dict(sorted(self.done.items()))}; refused {dict(sorted(self.refused.items()))}; "
            f"sweep {dict(sorted(self.sweep.items()))}"
        )


# Raw SQL for the per-step snapshot: the ORM's query compilation would cost more than the queries.
SNAPSHOT_SQL = (
    "SELECT c.*,"
    " (SELECT COUNT(*) FROM cases_casestep s WHERE s.case_id = c.id) AS step_total,"
    " (SELECT MAX(s.seq) FROM cases_casestep s WHERE s.case_id = c.id) AS step_max,"
    " (SELECT COUNT(*) FROM notices_notice) AS notice_total"
    " FROM cases_case c WHERE c.id = %s"
)
NEW_STEPS_SQL = (
    "SELECT seq, action, actor_id, at, from_status, to_status, from_tier, to_tier"
    " FROM cases_casestep WHERE case_id = %s AND seq > %s ORDER BY seq"
)
DATETIME_COLUMNS = frozenset(
    field.column for field in Case._meta.concrete_fields if isinstance(field, models.DateTimeField)
)


def _dt(value: Any) -> datetime | None:
    """A timestamp as the raw cursor gives it (SQLite: UTC text; PostgreSQL: aware) → aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _text(ok: bool, value: str) -> str:
    return value if ok else "   "


def _status_in(*statuses: str, when: Any = lambda model: True) -> Any:
    return precondition(lambda machine: machine.model.status in statuses and when(machine.model))


class LifecycleMachine(RuleBasedStateMachine):
    world: ClassVar[World]
    tally: ClassVar[Tally]

    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self._started = time.perf_counter()
        self._started_cpu = time.process_time()
        self.now = EPOCH
        self.steps_taken = 0
        self.cases_submitted = 0
        self.case_id = 0
        self.model: Model
        # The last snapshot: raw column values (compared as they are) and typed values.
        self.raw: tuple[Any, ...] = ()
        self.row: dict[str, Any] = {}
        # The timeline read so far, and the step the last call should have written.
        self.steps_seen = 0
        self.last_step: tuple[Any, ...] | None = None
        self.step_actions: Counter[str] = Counter()
        self.expect_step: tuple[str, str | None] | None = None
        self.expect_light: str | None = None

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)
        self.tally.examples += 1
        self.tally.lengths[self.steps_taken] += 1
        self.tally.seconds += time.perf_counter() - self._started
        self.tally.cpu_seconds += time.process_time() - self._started_cpu

    # ---------------------------------------------------------------- helpers

    def _case(self) -> Case:
        """A fresh copy of the case, as a page would load it; the areas, category and department
        (which never change here) come from the world, which keeps the per-step cost down."""
        case = Case.objects.get(pk=self.case_id)
        world = self.world
        case.grid = world.areas_by_id[case.grid_id]
        case.handling_area = world.areas_by_id[case.handling_area_id]
        case.category = world.categories_by_id[case.category_id]
        if case.department_id is not None:
            case.department = world.departments_by_id[case.department_id]
        return case

    def _snapshot(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Every column of the case, its step count and last seq, and the outbox size, in one raw query."""
        with connection.cursor() as cursor:
            cursor.execute(SNAPSHOT_SQL, [self.case_id])
            raw = tuple(cursor.fetchone())
            names = [column[0] for column in cursor.description]
        row = {name: _dt(value) if name in DATETIME_COLUMNS else value for name, value in zip(names, raw, strict=True)}
        return raw, row

    def _new_steps(self) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(NEW_STEPS_SQL, [self.case_id, self.steps_seen])
            return [(*step[:3], _dt(step[3]), *step[4:]) for step in cursor.fetchall()]

    def _tick(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        self.tally.steps += 1
        self.steps_taken += 1

    def _actor(self, action: str, pick: tuple[bool, int]) -> str:
        prefer_allowed, index = pick
        allowed = sorted(may(action, self.model))
        if prefer_allowed and allowed:
            return allowed[index % len(allowed)]
        return PERSONAS[index]

    def _name(self, user_id: int | None) -> str | None:
        return None if user_id is None else self.world.names_by_user_id[user_id]

    def _run(self, action: str, actor: str, predict: Any, call: Any, step: str | None = None) -> bool:
        """Call the service; compare the outcome with the model's prediction. True when it was done."""
        try:
            expected: Model | Refused = predict(self.model)
        except Refused as refusal:
            expected = refusal
        try:
            call(self._case(), self.world.users[actor])
        except REFUSALS as error:
            assert isinstance(expected, Refused), (
                f"{action} by {actor} was refused ({type(error).__name__}: {error}) but the model expected {expected}"
            )
            assert type(error) is expected.error, (
                f"{action} by {actor}: expected {expected.error.__name__}, got {type(error).__name__}: {error}"
            )
            # A refused call leaves every column, the timeline and the outbox exactly as they were.
            assert self._snapshot()[0] == self.raw, f"refused {action} by {actor} changed the case"
            self.tally.refused[f"{action}:{type(error).__name__}"] += 1
            return False
        assert not isinstance(expected, Refused), (
            f"{action} by {actor} succeeded but the model expected {expected.error.__name__}; model {self.model}"
        )
        self.model = expected
        self.expect_step = (step or STEP_OF[action], actor)
        self.tally.done[action] += 1
        return True

    def _submit(self, source: str, category: str, urgency: str) -> None:
        submitter = SUBMITTERS[source]
        case, created = case_submit(
            actor=self.world.users[submitter],
            data=case_input(
                self.world.areas["grid"],
                source=SOURCES[source],
                category=self.world.categories[category],
                urgency=urgency,
            ),
            idempotency_key=f"case-{self.cases_submitted}",
            now=self.now,
        )
        assert created
        self.cases_submitted += 1
        self.case_id = case.pk
        self.model = Model(
            status=CaseStatus.SUBMITTED,
            tier=Tier.GRID,
            category=category,
            reporter="reporter" if source == "resident" else None,
        )
        self.steps_seen, self.last_step, self.step_actions = 0, None, Counter()
        self.expect_step = (StepAction.SUBMIT, submitter)
        self.tally.done["submit"] += 1

    # ---------------------------------------------------------------- start

    @initialize(
        source=st.sampled_from(sorted(SUBMITTERS)),
        category=st.sampled_from(sorted(OWNING_DEPARTMENT)),
        urgency=st.sampled_from(Urgency.values),
        start=st.integers(0, 14 * 24 * 60),
    )
    def submit(self, source: str, category: str, urgency: str, start: int) -> None:
        self.now = EPOCH + timedelta(minutes=start)
        self.tally.steps += 1
        self.steps_taken += 1
        self._submit(source, category, urgency)

    @_status_in(CaseStatus.VOIDED, CaseStatus.CLOSED)
    @rule(
        source=st.sampled_from(sorted(SUBMITTERS)),
        category=st.sampled_from(sorted(OWNING_DEPARTMENT)),
        urgency=st.sampled_from(Urgency.values),
        advance=ADVANCE,
    )
    def next_case(self, source: str, category: str, urgency: str, advance: int) -> None:
        """Once the case is voided or closed, the example goes on with a new one."""
        self._tick(advance)
        self._submit(source, category, urgency)

    # ---------------------------------------------------------------- actions

    def do_accept(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self._tick(advance)
        actor = self._actor("accept", pick)

        def predict(m: Model) -> Model:
            check(m.status == CaseStatus.SUBMITTED, CaseConflict)
            check(actor in m.handlers, CaseForbidden)
            return replace(m, status=CaseStatus.HANDLING, owner=actor)

        self._run(
            "accept",
            actor,
            predict,
            lambda case, user: case_accept(actor=user, case=case, note=_text(text_ok, "已受理"), now=self.now),
        )

    def do_escalate(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self._tick(advance)
        actor = self._actor("escalate", pick)

        def predict(m: Model) -> Model:
            check(m.status in (CaseStatus.SUBMITTED, CaseStatus.HANDLING), CaseConflict)
            check(m.tier in TIER_AFTER, CaseConflict)
            check(actor in may("escalate", m), CaseForbidden)
            check(text_ok, ValidationError)
            return replace(m, status=CaseStatus.SUBMITTED, tier=TIER_AFTER[m.tier], owner=None, extension=False)

        self._run(
            "escalate",
            actor,
            predict,
            lambda case, user: case_escalate(actor=user, case=case, reason=_text(text_ok, "需上级协调"), now=self.now),
        )

    def do_dispatch(self, pick: tuple[bool, int], advance: int, department: str) -> None:
        self._tick(advance)
        actor = self._actor("dispatch", pick)

        def predict(m: Model) -> Model:
            check(m.status in (CaseStatus.SUBMITTED, CaseStatus.HANDLING), CaseConflict)
            check(actor in may("dispatch", m), CaseForbidden)
            check(department != "FAR", ValidationError)
            return replace(
                m,
                status=CaseStatus.DISPATCHED,
                tier=Tier.DEPARTMENT,
                department=department,
                owner=None,
                extension=False,
            )

        self._run(
            "dispatch",
            actor,
            predict,
            lambda case, user: case_dispatch(
                actor=user, case=case, department=self.world.departments[department], now=self.now
            ),
        )

    def do_sign_for(self, pick: tuple[bool, int], advance: int) -> None:
        self._tick(advance)
        actor = self._actor("sign_for", pick)

        def predict(m: Model) -> Model:
            check(m.status == CaseStatus.DISPATCHED, CaseConflict)
            check(actor in m.handlers, CaseForbidden)
            return replace(m, status=CaseStatus.HANDLING, owner=actor)

        self._run("sign_for", actor, predict, lambda case, user: case_sign_for(actor=user, case=case, now=self.now))

    def do_send_back(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self._tick(advance)
        actor = self._actor("send_back", pick)

        def predict(m: Model) -> Model:
            check(m.status in (CaseStatus.DISPATCHED, CaseStatus.HANDLING), CaseConflict)
            check(m.tier == Tier.DEPARTMENT, CaseConflict)
            check(actor in m.handlers, CaseForbidden)
            check(text_ok, ValidationError)
            return replace(m, status=CaseStatus.SUBMITTED, tier=Tier.TOWN, department=None, owner=None, extension=False)

        self._run(
            "send_back",
            actor,
            predict,
            lambda case, user: case_send_back(
                actor=user, case=case, reason=_text(text_ok, "非本部门职责"), now=self.now
            ),
        )

    def do_request_extension(self, pick: tuple[bool, int], advance: int, amount: Decimal, text_ok: bool) -> None:
        self._tick(advance)
        actor = self._actor("request_extension", pick)

        def predict(m: Model) -> Model:
            check(m.status == CaseStatus.HANDLING, CaseConflict)
            check(actor == m.owner, CaseForbidden)
            check(not m.extension, CaseConflict)
            check(0 < amount <= 999, ValidationError)
            check(text_ok, ValidationError)
            return replace(m, extension=True)

        self._run(
            "request_extension",
            actor,
            predict,
            lambda case, user: case_request_extension(
                actor=user, case=case, amount=amount, reason=_text(text_ok, "等待检测结果"), now=self.now
            ),
        )

    def do_decide_extension(self, pick: tuple[bool, int], advance: int, approve: bool, text_ok: bool) -> None:
        self._tick(advance)
        actor = self._actor("decide_extension", pick)

        def predict(m: Model) -> Model:
            check(m.extension, CaseConflict)
            check(m.status == CaseStatus.HANDLING, CaseConflict)
            check(actor in m.supervisors, CaseForbidden)
            check(approve or text_ok, ValidationError)
            return replace(m, extension=False)

        before = self.row

        def call(case: Case, user: User) -> None:
            case_decide_extension(actor=user, case=case, approve=approve, note=_text(text_ok, "同意"), now=self.now)

        decided = StepAction.APPROVE_EXTENSION if approve else StepAction.REJECT_EXTENSION
        if self._run("decide_extension", actor, predict, call, decided) and approve:
            # An approved extension moves the step's and the closing deadline, never earlier.
            after = self._snapshot()[1]
            assert after["due_at"] >= before["due_at"] and after["close_due_at"] >= before["close_due_at"]

    def do_report_back(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self._tick(advance)
        actor = self._actor("report_back", pick)

        def predict(m: Model) -> Model:
            check(m.status == CaseStatus.HANDLING, CaseConflict)
            check(actor == m.owner, CaseForbidden)
            check(text_ok, ValidationError)
            return replace(
                m,
                status=CaseStatus.REPORTED,
                owner=None,
                last_handler=actor,
                last_handler_tier=m.tier,
                extension=False,
            )

        self._run(
            "report_back",
            actor,
            predict,
            lambda case, user: case_report_back(actor=user, case=case, result=_text(text_ok, "已处理"), now=self.now),
        )

    def do_verify(self, pick: tuple[bool, int], advance: int, passed: bool, reason: str, text_ok: bool) -> None:
        self._tick(advance)
        actor = self._actor("verify", pick)
        now = self.now

        def predict(m: Model) -> Model:
            check(m.status == CaseStatus.REPORTED, CaseConflict)
            check(actor in m.verifiers, CaseForbidden)
            if not passed:
                check(text_ok, ValidationError)
                return m.back_to_handling()
            check(reason in (CloseReason.FIXED, CloseReason.NOT_FIXED), ValidationError)
            check(text_ok or reason == CloseReason.FIXED, ValidationError)
            return replace(m, status=CaseStatus.CLOSED, close_reason=reason, closed_at=now, owner=None)

        self._run(
            "verify_pass" if passed else "verify_fail",
            actor,
            predict,
            lambda case, user: case_verify(
                actor=user, case=case, passed=passed, note=_text(text_ok, "现场核查"), close_reason=reason, now=now
            ),
        )

    def do_close(
        self, pick: tuple[bool, int], advance: int, reason: str, merge_into: str | None, text_ok: bool
    ) -> None:
        self._tick(advance)
        actor = self._actor("close", pick)
        now = self.now

        def predict(m: Model) -> Model:
            check(
                m.status in (CaseStatus.SUBMITTED, CaseStatus.HANDLING, CaseStatus.DISPATCHED, CaseStatus.REPORTED),
                CaseConflict,
            )
            check(actor in may("close", m), CaseForbidden)
            check(
                reason in (CloseReason.DUPLICATE, CloseReason.NOT_RESPONSIBLE, CloseReason.NOT_FIXED), ValidationError
            )
            check(text_ok, ValidationError)
            if reason == CloseReason.DUPLICATE:
                check(merge_into == "closed", ValidationError)
            return replace(
                m,
                status=CaseStatus.CLOSED,
                close_reason=reason,
                closed_at=now,
                owner=None,
                extension=False,
                merged=reason == CloseReason.DUPLICATE,
            )

        def call(case: Case, user: User) -> None:
            target = None
            if merge_into == "self":
                target = case
            elif merge_into is not None:
                target = Case.objects.get(pk=self.world.merge_targets[merge_into].pk)
            case_close(
                actor=user, case=case, reason=reason, note=_text(text_ok, "重复反映"), merged_into=target, now=now
            )

        self._run("close", actor, predict, call)

    def do_rate(self, pick: tuple[bool, int], advance: int, rating: str) -> None:
        self._tick(advance)
        actor = self._actor("rate", pick)
        now = self.now

        def predict(m: Model) -> Model:
            check(m.status == CaseStatus.CLOSED, CaseConflict)
            check(actor in m.speaks_for_reporter, CaseForbidden)
            check(not m.rating, CaseConflict)
            check(rating in Rating.values, ValidationError)
            check(m.in_reopen_window(now), CaseConflict)
            return replace(m, rating=rating)

        self._run("rate", actor, predict, lambda case, user: case_rate(actor=user, case=case, rating=rating, now=now))

    def do_reopen(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self._tick(advance)
        actor = self._actor("reopen", pick)
        now = self.now

        def predict(m: Model) -> Model:
            check(m.status == CaseStatus.CLOSED, CaseConflict)
            check(actor in may("reopen", m), CaseForbidden)
            check(m.close_reason in (CloseReason.FIXED, CloseReason.NOT_FIXED), CaseConflict)
            check(m.in_reopen_window(now), CaseConflict)
            check(text_ok, ValidationError)
            reopened = replace(m, close_reason="", closed_at=None, rating="", reopen_count=m.reopen_count + 1)
            return reopened.back_to_handling()

        self._run(
            "reopen",
            actor,
            predict,
            lambda case, user: case_reopen(actor=user, case=case, reason=_text(text_ok, "又出现了"), now=now),
        )

    def do_suspend(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self._tick(advance)
        actor = self._actor("suspend", pick)

        def predict(m: Model) -> Model:
            check(m.status in TIMED_STATUSES, CaseConflict)
            check(actor in m.supervisors, CaseForbidden)
            check(text_ok, ValidationError)
            return replace(m, status=CaseStatus.SUSPENDED, suspended_status=m.status)

        self._run(
            "suspend",
            actor,
            predict,
            lambda case, user: case_suspend(actor=user, case=case, reason=_text(text_ok, "等待判决"), now=self.now),
        )

    def do_resume(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self._tick(advance)
        actor = self._actor("resume", pick)

        def predict(m: Model) -> Model:
            check(m.status == CaseStatus.SUSPENDED, CaseConflict)
            check(actor in m.supervisors, CaseForbidden)
            return replace(m, status=m.suspended_status, suspended_status="")

        self._run(
            "resume",
            actor,
            predict,
            lambda case, user: case_resume(actor=user, case=case, note=_text(text_ok, "恢复"), now=self.now),
        )

    def do_void(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self._tick(advance)
        actor = self._actor("void", pick)

        def predict(m: Model) -> Model:
            check(m.status in OPEN_STATUSES, CaseConflict)
            check(actor in m.supervisors, CaseForbidden)
            check(text_ok, ValidationError)
            return replace(m, status=CaseStatus.VOIDED, owner=None, suspended_status="", extension=False)

        self._run(
            "void",
            actor,
            predict,
            lambda case, user: case_void(actor=user, case=case, reason=_text(text_ok, "重复登记"), now=self.now),
        )

    # ---------------------------------------------------------------- rules
    #
    # Each action has a rule that fires when the model's state is one the action
    # plausibly applies to; `progress` takes the loop's next forward step by someone
    # allowed to (so examples get deep into the loop); `any_action` fires any action
    # in any state by anyone (so wrong-state calls are exercised too).

    @_status_in(*(set(CaseStatus.values) - {CaseStatus.VOIDED}))
    @rule(advance=ADVANCE, index=st.integers(0, len(PERSONAS) - 1), flag=st.booleans())
    def progress(self, advance: int, index: int, flag: bool) -> None:
        m, pick = self.model, (True, index)
        send_back: list[Callable[[], None]] = []
        if m.tier == Tier.DEPARTMENT and flag:
            send_back.append(lambda: self.do_send_back(pick, advance, True))
        options: dict[str, list[Callable[[], None]]] = {
            CaseStatus.SUBMITTED: [lambda: self.do_accept(pick, advance, True)]
            + ([lambda: self.do_dispatch(pick, advance, "D")] if m.tier == Tier.TOWN else []),
            CaseStatus.DISPATCHED: [lambda: self.do_sign_for(pick, advance)] + send_back,
            CaseStatus.HANDLING: [
                lambda: self.do_report_back(pick, advance, True),
                (lambda: self.do_decide_extension(pick, advance, flag, True))
                if m.extension
                else (lambda: self.do_request_extension(pick, advance, Decimal(1), True)),
            ]
            + send_back,
            CaseStatus.REPORTED: [lambda: self.do_verify(pick, advance, flag, CloseReason.FIXED, True)],
            CaseStatus.CLOSED: [lambda: self.do_rate(pick, advance, Rating.DISSATISFIED)]
            if flag and not m.rating
            else [lambda: self.do_reopen(pick, advance, True)],
            CaseStatus.SUSPENDED: [lambda: self.do_resume(pick, advance, True)],
        }
        forward = options[m.status]
        forward[index % len(forward)]()

    @_status_in(CaseStatus.SUBMITTED)
    @rule(pick=ACTOR, advance=ADVANCE, text_ok=TEXT_OK)
    def accept(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self.do_accept(pick, advance, text_ok)

    @_status_in(CaseStatus.SUBMITTED, CaseStatus.HANDLING, when=lambda m: m.tier in TIER_AFTER)
    @rule(pick=SELDOM, advance=ADVANCE, text_ok=TEXT_OK)
    def escalate(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self.do_escalate(pick, advance, text_ok)

    @_status_in(CaseStatus.SUBMITTED, CaseStatus.HANDLING)
    @rule(pick=SELDOM, advance=ADVANCE, department=st.sampled_from(DEPARTMENTS))
    def dispatch(self, pick: tuple[bool, int], advance: int, department: str) -> None:
        self.do_dispatch(pick, advance, department)

    @_status_in(CaseStatus.DISPATCHED)
    @rule(pick=ACTOR, advance=ADVANCE)
    def sign_for(self, pick: tuple[bool, int], advance: int) -> None:
        self.do_sign_for(pick, advance)

    @_status_in(CaseStatus.DISPATCHED, CaseStatus.HANDLING, when=lambda m: m.tier == Tier.DEPARTMENT)
    @rule(pick=SELDOM, advance=ADVANCE, text_ok=TEXT_OK)
    def send_back(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self.do_send_back(pick, advance, text_ok)

    @_status_in(CaseStatus.HANDLING, when=lambda m: not m.extension)
    @rule(pick=ACTOR, advance=ADVANCE, amount=AMOUNT, text_ok=TEXT_OK)
    def request_extension(self, pick: tuple[bool, int], advance: int, amount: Decimal, text_ok: bool) -> None:
        self.do_request_extension(pick, advance, amount, text_ok)

    @_status_in(CaseStatus.HANDLING, when=lambda m: m.extension)
    @rule(pick=ACTOR, advance=ADVANCE, approve=st.booleans(), text_ok=TEXT_OK)
    def decide_extension(self, pick: tuple[bool, int], advance: int, approve: bool, text_ok: bool) -> None:
        self.do_decide_extension(pick, advance, approve, text_ok)

    @_status_in(CaseStatus.HANDLING)
    @rule(pick=ACTOR, advance=ADVANCE, text_ok=TEXT_OK)
    def report_back(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self.do_report_back(pick, advance, text_ok)

    @_status_in(CaseStatus.REPORTED)
    @rule(pick=ACTOR, advance=ADVANCE, passed=st.booleans(), reason=CLOSE_REASON, text_ok=TEXT_OK)
    def verify(self, pick: tuple[bool, int], advance: int, passed: bool, reason: str, text_ok: bool) -> None:
        self.do_verify(pick, advance, passed, reason, text_ok)

    @_status_in(CaseStatus.SUBMITTED, CaseStatus.HANDLING, CaseStatus.DISPATCHED, CaseStatus.REPORTED)
    @rule(pick=SELDOM, advance=ADVANCE, reason=CLOSE_REASON, merge_into=MERGE_INTO, text_ok=TEXT_OK)
    def close(self, pick: tuple[bool, int], advance: int, reason: str, merge_into: str | None, text_ok: bool) -> None:
        self.do_close(pick, advance, reason, merge_into, text_ok)

    @_status_in(CaseStatus.CLOSED, when=lambda m: not m.rating)
    @rule(pick=ACTOR, advance=ADVANCE, rating=RATING)
    def rate(self, pick: tuple[bool, int], advance: int, rating: str) -> None:
        self.do_rate(pick, advance, rating)

    @_status_in(CaseStatus.CLOSED, when=lambda m: m.close_reason in (CloseReason.FIXED, CloseReason.NOT_FIXED))
    @rule(pick=ACTOR, advance=ADVANCE, text_ok=TEXT_OK)
    def reopen(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self.do_reopen(pick, advance, text_ok)

    @_status_in(*TIMED_STATUSES)
    @rule(pick=SELDOM, advance=ADVANCE, text_ok=TEXT_OK)
    def suspend(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self.do_suspend(pick, advance, text_ok)

    @_status_in(CaseStatus.SUSPENDED)
    @rule(pick=ACTOR, advance=ADVANCE, text_ok=TEXT_OK)
    def resume(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self.do_resume(pick, advance, text_ok)

    @_status_in(CaseStatus.SUBMITTED)
    @rule(pick=SELDOM, advance=ADVANCE, text_ok=TEXT_OK)
    def void(self, pick: tuple[bool, int], advance: int, text_ok: bool) -> None:
        self.do_void(pick, advance, text_ok)

    @rule(
        action=st.sampled_from(
            [
                "accept",
                "escalate",
                "dispatch",
                "sign_for",
                "send_back",
                "request_extension",
                "decide_extension",
                "report_back",
                "verify",
                "close",
                "rate",
                "reopen",
                "suspend",
                "resume",
                "void",
            ]
        ),
        pick=SELDOM,
        advance=ADVANCE,
        text_ok=TEXT_OK,
        flag=st.booleans(),
        reason=CLOSE_REASON,
    )
    def any_action(
        self, action: str, pick: tuple[bool, int], advance: int, text_ok: bool, flag: bool, reason: str
    ) -> None:
        """Any action in any state, by anyone: mostly refused, and then nothing may change."""
        calls = {
            "accept": lambda: self.do_accept(pick, advance, text_ok),
            "escalate": lambda: self.do_escalate(pick, advance, text_ok),
            "dispatch": lambda: self.do_dispatch(pick, advance, "D" if flag else "D2"),
            "sign_for": lambda: self.do_sign_for(pick, advance),
            "send_back": lambda: self.do_send_back(pick, advance, text_ok),
            "request_extension": lambda: self.do_request_extension(pick, advance, Decimal(2), text_ok),
            "decide_extension": lambda: self.do_decide_extension(pick, advance, flag, text_ok),
            "report_back": lambda: self.do_report_back(pick, advance, text_ok),
            "verify": lambda: self.do_verify(pick, advance, flag, reason, text_ok),
            "close": lambda: self.do_close(pick, advance, reason, "closed" if flag else "self", text_ok),
            "rate": lambda: self.do_rate(pick, advance, Rating.SATISFIED),
            "reopen": lambda: self.do_reopen(pick, advance, text_ok),
            "suspend": lambda: self.do_suspend(pick, advance, text_ok),
            "resume": lambda: self.do_resume(pick, advance, text_ok),
            "void": lambda: self.do_void(pick, advance, text_ok),
        }
        calls[action]()

    @rule(advance=ADVANCE, moment=st.sampled_from(["later", "warn_at", "due_at", "just_before_due_at"]))
    def sweep(self, advance: int, moment: str) -> None:
        """The SLA sweep at the new moment does exactly what the case's clock says; a second pass does nothing.

        The moment is `advance` minutes later, or exactly the step's warning time, exactly
        its deadline, or one second before it (when those are still ahead).
        """
        self._tick(advance)
        row = self.row
        boundary = {
            "warn_at": row["warn_at"],
            "due_at": row["due_at"],
            "just_before_due_at": row["due_at"] - timedelta(seconds=1) if row["due_at"] else None,
        }.get(moment)
        if boundary is not None and boundary > self.now:
            self.now = boundary
        now, m = self.now, self.model
        timed = row["status"] in TIMED_STATUSES
        expected = SweepResult()
        self.expect_light = row["sla_light"]
        if timed and row["sla_light"] == SlaLight.GREEN and row["warn_at"] <= now < row["due_at"]:
            expected.warned, self.expect_light = 1, SlaLight.YELLOW
        elif timed and row["due_at"] <= now and row["step_started_at"] < now and row["sla_light"] != SlaLight.RED:
            expected.breached = 1
            m = replace(m, breach_count=m.breach_count + 1)
            movable = m.status in (CaseStatus.SUBMITTED, CaseStatus.HANDLING)
            owning = OWNING_DEPARTMENT[m.category]
            self.expect_step, self.expect_light = (StepAction.AUTO_ESCALATE, None), SlaLight.GREEN
            if movable and m.tier in TIER_AFTER:
                m = replace(m, status=CaseStatus.SUBMITTED, tier=TIER_AFTER[m.tier], owner=None, extension=False)
                expected.escalated = 1
            elif movable and m.tier == Tier.TOWN and owning is not None:
                m = replace(
                    m,
                    status=CaseStatus.DISPATCHED,
                    tier=Tier.DEPARTMENT,
                    department=owning,
                    owner=None,
                    extension=False,
                )
                expected.escalated = 1
            else:
                self.expect_step, self.expect_light = (StepAction.BREACH, None), SlaLight.RED
        result = sla_sweep(now=now)
        assert result == expected, f"sweep at {now}: {result} != {expected} for {row}"
        self.model = m
        assert sla_sweep(now=now) == SweepResult(), "a second sweep at the same moment changed something"
        for name in ("warned", "breached", "escalated"):
            self.tally.sweep[name] += getattr(result, name)

    # ---------------------------------------------------------------- invariants

    @invariant()
    def invariants_hold(self) -> None:
        raw, row = self._snapshot()
        new_steps = self._new_steps()
        status, tier, m = row["status"], row["tier"], self.model
        departments = self.world.names_by_department_id

        # Every change wrote exactly one step row (with its actor and time); a refusal none.
        expected_steps = [] if self.expect_step is None else [self.expect_step]
        assert [(step[1], self._name(step[2])) for step in new_steps] == expected_steps, (new_steps, expected_steps)
        assert all(step[3] == self.now for step in new_steps)
        # version == number of steps == last seq, with no gaps.
        assert [step[0] for step in new_steps] == list(range(self.steps_seen + 1, self.steps_seen + len(new_steps) + 1))
        assert row["version"] == row["step_total"] == row["step_max"] == self.steps_seen + len(new_steps)
        # The timeline is a chain from (nothing, grid) to the case's current status and tier.
        previous = self.last_step or (0, "", None, None, "", "", "", "")
        for step in new_steps:
            assert (previous[5], previous[7]) == (step[4], step[6]), f"broken chain {previous} → {step}"
            if self.last_step is None:
                assert (step[1], step[5], step[7]) == (StepAction.SUBMIT, CaseStatus.SUBMITTED, Tier.GRID)
            previous = step
            self.step_actions[step[1]] += 1
        assert (previous[5], previous[7]) == (status, tier)
        # Only the system acts without an actor; breaches are counted once each, reopens too.
        actions = self.step_actions
        assert row["breach_count"] == actions[StepAction.AUTO_ESCALATE] + actions[StepAction.BREACH]
        assert row["reopen_count"] == actions[StepAction.REOPEN]
        if self.expect_light is not None:
            assert row["sla_light"] == self.expect_light

        # Only legal (status, tier) pairs; the handling unit matches the tier.
        effective = row["suspended_status"] if status == CaseStatus.SUSPENDED else status
        assert (status == CaseStatus.SUSPENDED) == bool(row["suspended_status"]) == (row["suspended_at"] is not None)
        assert effective != CaseStatus.SUSPENDED and tier in LEGAL_TIERS[effective], (status, effective, tier)
        expected_area = {Tier.GRID: "grid", Tier.COMMUNITY: "community"}.get(tier, "town")
        assert row["handling_area_id"] == self.world.areas[expected_area].pk, (tier, row["handling_area_id"])
        # A department is set exactly when the case is at the department tier.
        assert (row["department_id"] is not None) == (tier == Tier.DEPARTMENT), (tier, row["department_id"])

        # A single owner: exactly while handling (or suspended while handling), and one who works the tier.
        owner = self._name(row["owner_id"])
        assert (owner is not None) == (effective == CaseStatus.HANDLING), (status, effective, owner)
        if owner is not None:
            assert owner in replace(m, tier=tier, department=departments.get(row["department_id"])).handlers
        assert row["extension_requested"] is None or effective == CaseStatus.HANDLING

        # The clock runs while open and is stopped once closed or voided.
        if status in OPEN_STATUSES:
            assert row["due_at"] is not None and row["warn_at"] is not None
            assert row["step_started_at"] <= row["warn_at"] <= row["due_at"]
        else:
            assert (row["due_at"], row["warn_at"], row["sla_light"]) == (None, None, SlaLight.GREEN)
        assert row["close_due_at"] >= row["submitted_at"]

        # Closed ⇔ reason, time and tier of closing; a merge only for duplicates; ratings only when closed.
        closed = status == CaseStatus.CLOSED
        assert closed == bool(row["close_reason"]) == (row["closed_at"] is not None) == bool(row["closed_tier"])
        assert not closed or row["closed_tier"] == tier
        assert (row["merged_into_id"] is not None) == (row["close_reason"] == CloseReason.DUPLICATE)
        assert bool(row["rating"]) == (row["rated_at"] is not None)
        assert not row["rating"] or closed

        # And the database agrees with the model.
        seen = {
            "status": status,
            "tier": tier,
            "department": departments.get(row["department_id"]),
            "owner": owner,
            "last_handler": self._name(row["last_handler_id"]),
            "last_handler_tier": row["last_handler_tier"],
            "reporter": self._name(row["reporter_id"]),
            "extension": row["extension_requested"] is not None,
            "suspended_status": row["suspended_status"],
            "close_reason": row["close_reason"],
            "closed_at": row["closed_at"],
            "rating": row["rating"],
            "merged": row["merged_into_id"] is not None,
            "reopen_count": row["reopen_count"],
            "breach_count": row["breach_count"],
        }
        expected = {name: getattr(m, name) for name in seen}
        assert seen == expected, f"database {seen} != model {expected}"

        self.raw, self.row = raw, row
        self.steps_seen += len(new_steps)
        self.last_step = previous if new_steps or self.last_step else None
        self.expect_step = self.expect_light = None


def _world(tree: AreaTree, personas: dict[str, Any]) -> World:
    users = {
        "gw": personas["grid_worker"],
        "gw_other": make_user_with_role(Role.GRID_WORKER, tree.grids[1], username="gw_other"),
        "community": personas["community_staff"],
        "town": personas["town_staff"],
        "handler": personas["department_handler"],
        "command": personas["county_command"],
        "leader": personas["leader"],
        "outsider": personas["outsider"],
        "reporter": personas["resident"],
        "resident_other": make_user_with_role(Role.RESIDENT, tree.grids[0], username="resident_other"),
    }
    assert set(users) == set(PERSONAS)
    departments = {
        "D": users["handler"].role_assignments.get().department,
        "D2": department_create(actor=None, area=tree.district, code="D370281-2", name="住房和城乡建设局"),
        "FAR": department_create(actor=None, area=tree.towns[1], code="D370281-3", name="测试2街道综合执法队"),
    }
    categories = {code: Category.objects.get(code=code) for code in OWNING_DEPARTMENT}
    owned = categories["0101"].parent
    assert owned is not None
    DepartmentCategory.objects.create(department=departments["D"], category=owned)
    # 噪音扰民 counts working days: first response by close of office, then 1/2/3/5 working days.
    sla_policy_set(
        actor=None,
        category=categories["0602"],
        urgency=Urgency.NORMAL,
        unit=TimeUnit.WORKING_DAY,
        limits={
            "first_response": Decimal(0),
            "grid_limit": Decimal(1),
            "community_limit": Decimal(2),
            "town_limit": Decimal(3),
            "department_limit": Decimal(5),
            "verification_limit": Decimal(1),
            "close_limit": Decimal(10),
        },
    )
    # Merge targets elsewhere in the county: one closed (a valid target), one voided (not).
    closed = submit_case(users["gw_other"], tree.grids[1], now=EPOCH)
    case_close(actor=users["command"], case=closed, reason=CloseReason.NOT_FIXED, note="已说明", now=EPOCH)
    voided = submit_case(users["gw_other"], tree.grids[1], now=EPOCH)
    case_void(actor=users["command"], case=voided, reason="误报", now=EPOCH)
    world = World(
        users=users,
        departments=departments,
        areas={"grid": tree.grids[0], "community": tree.communities[0], "town": tree.towns[0]},
        categories=categories,
        merge_targets={"closed": closed, "voided": voided},
    )
    world.names_by_user_id = {user.pk: name for name, user in users.items()}
    world.names_by_department_id = {department.pk: name for name, department in departments.items()}
    world.areas_by_id = {area.pk: area for area in world.areas.values()}
    world.categories_by_id = {category.pk: category for category in categories.values()}
    world.departments_by_id = {department.pk: department for department in departments.values()}
    return world


def test_the_case_lifecycle_holds_its_invariants_under_random_actions(tree: AreaTree, personas: dict[str, Any]) -> None:
    # Given the county, every persona, three departments and two merge targets
    LifecycleMachine.world = _world(tree, personas)
    LifecycleMachine.tally = tally = Tally()
    started = time.perf_counter()
    # When Hypothesis runs 200 random sequences of 30 steps on a fresh case each
    run_state_machine_as_test(
        LifecycleMachine,
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
        # Every example runs all 30 steps (Hypothesis would otherwise end some early).
        _min_steps=STEPS,
    )
    wall = time.perf_counter() - started
    print(f"\ncase state machine: {tally}; wall {wall:.1f} s; steps per example {sorted(tally.lengths.items())}")
    # Then every example held the invariants (checked after every step), and the run
    # really reached every action, every kind of refusal and every sweep outcome.
    assert tally.lengths[STEPS] >= MAX_EXAMPLES, sorted(tally.lengths.items())
    every_action = {
        "submit",
        "accept",
        "escalate",
        "dispatch",
        "sign_for",
        "send_back",
        "request_extension",
        "decide_extension",
        "report_back",
        "verify_pass",
        "verify_fail",
        "close",
        "rate",
        "reopen",
        "suspend",
        "resume",
        "void",
    }
    assert every_action <= set(tally.done), every_action - set(tally.done)
    refusals = {key.split(":")[1] for key in tally.refused}
    assert refusals == {"CaseConflict", "CaseForbidden", "ValidationError"}
    assert min(tally.sweep[name] for name in ("warned", "breached", "escalated")) > 0, tally.sweep


# ------------------------------------------------------------------ regressions the machine found

NOON = datetime(2024, 9, 4, 12, 0, tzinfo=TZ)


def test_a_case_closed_by_the_community_after_the_grid_reported_back_is_reopened_at_the_community(
    tree: AreaTree, personas: dict[str, Any]
) -> None:
    worker, community = personas["grid_worker"], personas["community_staff"]
    # Given a report the grid worker handled and reported back, that failed verification,
    # went up to the community and was closed there as not fixed
    case = submit_case(worker, tree.grids[0], now=NOON)
    case_accept(actor=worker, case=case, now=NOON)
    case_report_back(actor=worker, case=case, result="已清理", now=NOON)
    case_verify(actor=worker, case=case, passed=False, note="仍有垃圾", now=NOON)
    case_escalate(actor=worker, case=case, reason="需社区协调", now=NOON)
    case_close(actor=community, case=case, reason=CloseReason.NOT_FIXED, note="业主拒不配合", now=NOON)
    # When it is reopened
    case_reopen(actor=community, case=case, reason="又堆上了", now=NOON)
    # Then it waits in the community's queue, handled by the community (it used to drop to
    # the grid tier while its handling unit stayed the community, so nobody could accept it)
    case.refresh_from_db()
    assert (case.status, case.tier, case.handling_area, case.owner) == (
        CaseStatus.SUBMITTED,
        Tier.COMMUNITY,
        tree.communities[0],
        None,
    )
    case_accept(actor=community, case=case, now=NOON)
    assert case.owner == community


def test_a_case_sent_back_by_a_department_and_closed_by_the_town_is_reopened_at_the_town(
    tree: AreaTree, personas: dict[str, Any]
) -> None:
    worker, town, handler = personas["grid_worker"], personas["town_staff"], personas["department_handler"]
    department = handler.role_assignments.get().department
    # Given a report the department handled and reported back, that failed verification,
    # was sent back to the town as misrouted and closed there as not fixed
    case = submit_case(worker, tree.grids[0], now=NOON)
    case_dispatch(actor=town, case=case, department=department, now=NOON)
    case_sign_for(actor=handler, case=case, now=NOON)
    case_report_back(actor=handler, case=case, result="已处理", now=NOON)
    case_verify(actor=worker, case=case, passed=False, note="未处理到位", now=NOON)
    case_send_back(actor=handler, case=case, reason="不属于本部门职责", now=NOON)
    case_close(actor=town, case=case, reason=CloseReason.NOT_FIXED, note="已向群众解释", now=NOON)
    # When the county command reopens it (this used to fail: back at the department tier without a department)
    case_reopen(actor=personas["county_command"], case=case, reason="群众再次反映", now=NOON)
    # Then it waits in the town's queue
    case.refresh_from_db()
    assert (case.status, case.tier, case.handling_area, case.department) == (
        CaseStatus.SUBMITTED,
        Tier.TOWN,
        tree.towns[0],
        None,
    )
