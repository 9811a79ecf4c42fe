"""Writes for the case lifecycle: submit, accept, escalate, dispatch … close, rate, reopen."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department, RoleAssignment
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area
from gridgov.areas.selectors import area_path_prefixes, grid_at
from gridgov.cases.choices import (
    TIMED_STATUSES,
    CaseKind,
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
from gridgov.cases.images import PreparedAttachment, attachment_prepare
from gridgov.cases.models import (
    Case,
    CaseAttachment,
    CaseStep,
    Category,
    SlaPolicy,
)
from gridgov.cases.rules import (
    TIER_ROLE,
    can_handle,
    can_supervise,
    can_verify,
    dispatches,
    duties_of,
    speaks_for_reporter,
)
from gridgov.cases.selectors import sla_policy_for, working_calendar
from gridgov.notices.choices import NoticeKind
from gridgov.notices.models import Notice
from gridgov.notices.services import notices_build, notices_queue
from gridgov.registry.crypto import field_encrypt
from gridgov.registry.identifiers import phone_mask, phone_normalise
from gridgov.tasks.selectors import emergencies_recorded, emergency_sla_override

# --- The case lifecycle ------------------------------------------------------
#
# Every function below is one transaction: a conditional UPDATE of the case on
# its `version` (so of several concurrent actors exactly one wins), one
# `CaseStep` row whose `seq` is the new version, and the outbox notices the
# change causes. Failed checks raise before anything is written.

ATTACHMENTS_PER_STEP = 9
WARN_SHARE = Decimal("0.8")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _limit(policy: SlaPolicy, field: str) -> Decimal:
    return Decimal(getattr(policy, field))


def _clock(policy: SlaPolicy, start: datetime, field: str) -> dict[str, Any]:
    """Columns of a new step's clock: start, 80 % warning and due time of the limit `field`."""
    calendar = working_calendar()
    amount = _limit(policy, field)
    due_at = calendar.add(start, float(amount), policy.unit)
    if policy.unit == TimeUnit.WORKING_DAY:
        # Working-day limits end at close of office; warn at 80 % of the real span.
        warn_at = start + (due_at - start) * float(WARN_SHARE)
    else:
        warn_at = calendar.add(start, float(amount * WARN_SHARE), policy.unit)
    return {
        "sla_unit": policy.unit,
        "step_started_at": start,
        "warn_at": warn_at,
        "due_at": due_at,
        "sla_light": SlaLight.GREEN,
    }


_STOPPED_CLOCK: dict[str, Any] = {"warn_at": None, "due_at": None, "sla_light": SlaLight.GREEN}

TIER_LIMIT_FIELD: dict[str, str] = {
    Tier.GRID: "grid_limit",
    Tier.COMMUNITY: "community_limit",
    Tier.TOWN: "town_limit",
    Tier.DEPARTMENT: "department_limit",
}


def _policy(case: Case) -> SlaPolicy:
    """The case's time limits: its category's, on the emergency clock for its whole life when it
    was submitted in an area under an active emergency (gridgov.tasks)."""
    policy = sla_policy_for(case.category, case.urgency)
    if emergencies_recorded():
        emergency = emergency_sla_override(case.grid.path, case.submitted_at)
        if emergency is not None:
            return emergency.apply(policy)
    return policy


def case_link(case_id: int) -> str:
    return reverse("cases:detail", args=[case_id])


def _transition(
    case: Case,
    *,
    actor: Any,
    action: str,
    now: datetime,
    note: str = "",
    internal: bool = False,
    detail: dict[str, Any] | None = None,
    attachments: Sequence[UploadedFile] = (),
    **changes: Any,
) -> CaseStep:
    """Apply `changes` to `case` if nobody changed it since it was read, and write its step row."""
    from_status, from_tier = case.status, case.tier
    new_version = case.version + 1
    changes.setdefault("status", case.status)
    updated = Case.objects.filter(pk=case.pk, version=case.version).update(
        version=new_version, updated_at=now, **changes
    )
    if not updated:
        raise CaseConflict(_("事项“%(number)s”已被他人处理，请刷新后再操作。") % {"number": case.number})
    for name, value in changes.items():
        setattr(case, name, value)
    case.version = new_version
    step = CaseStep.objects.create(
        case=case,
        seq=new_version,
        action=action,
        actor=actor if getattr(actor, "pk", None) else None,
        at=now,
        from_status=from_status,
        to_status=case.status,
        from_tier=from_tier,
        to_tier=case.tier,
        note=note,
        internal=internal,
        detail=detail or {},
    )
    _attach(case, step, attachments, actor)
    return step


def _attach(case: Case, step: CaseStep, files: Sequence[UploadedFile], actor: Any) -> None:
    """Store the cleaned photos (no EXIF/GPS, long side capped, with a thumbnail) and documents."""
    for upload in files:
        prepared = attachment_prepare(upload)
        CaseAttachment.objects.create(
            case=case,
            step=step,
            file=prepared.content,
            thumbnail=prepared.thumbnail or "",
            original_name=prepared.original_name,
            content_type=prepared.content_type,
            size=prepared.size,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
        )


def attachments_validate(files: Sequence[UploadedFile]) -> list[PreparedAttachment]:
    """Photos (JPEG, PNG, WebP) and PDF documents only, checked by content, not by file name;
    the size limit first, then Pillow. Refusals are `ValidationError`s naming the file."""
    if len(files) > ATTACHMENTS_PER_STEP:
        raise ValidationError(_("每次最多上传%(count)d个附件。") % {"count": ATTACHMENTS_PER_STEP})
    return [attachment_prepare(upload) for upload in files]


@dataclass
class BatchedEffects:
    """Recipient lookups memoised and notices collected, for work over many cases at once (the
    SLA sweep): one notice INSERT per chunk instead of one per case. `flush` writes the notices
    and must run inside the transaction of the changes they are about."""

    holders: dict[tuple[str, str, int | None], list[int]] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)

    def flush(self) -> None:
        Notice.objects.bulk_create(self.notices, batch_size=1000)
        self.notices.clear()


_batched: ContextVar[BatchedEffects | None] = ContextVar("gridgov_case_batched_effects", default=None)


@contextmanager
def batched_effects() -> Iterator[BatchedEffects]:
    effects = BatchedEffects()
    token = _batched.set(effects)
    try:
        yield effects
    finally:
        _batched.reset(token)


def current_batched_effects() -> BatchedEffects | None:
    return _batched.get()


def _holders(role: str, path: str, department_id: int | None = None) -> list[int]:
    """Active users holding `role` on the node with `path` or on one of its ancestors."""
    effects = _batched.get()
    key = (role, path, department_id)
    if effects is not None and key in effects.holders:
        return list(effects.holders[key])
    assignments = RoleAssignment.objects.filter(
        role=role, area__path__in=area_path_prefixes(path), user__is_active=True
    )
    if department_id is not None:
        assignments = assignments.filter(department_id=department_id)
    holders = list(assignments.values_list("user_id", flat=True).distinct())
    if effects is not None:
        effects.holders[key] = holders
    return list(holders)


def _tier_holders(case: Case) -> list[int]:
    """Who works the case's current tier: its owner, or everyone who could take it."""
    if case.owner_id:
        return [case.owner_id]
    if case.tier == Tier.DEPARTMENT:
        return _holders(TIER_ROLE[case.tier], case.grid.path, case.department_id)
    return _holders(TIER_ROLE[case.tier], case.handling_area.path)


SUPERIOR_ROLE: dict[str, str] = {
    Tier.GRID: Role.COMMUNITY_STAFF,
    Tier.COMMUNITY: Role.TOWN_STAFF,
    Tier.TOWN: Role.COUNTY_COMMAND,
    Tier.DEPARTMENT: Role.COUNTY_COMMAND,
}


def _superior_holders(case: Case) -> list[int]:
    """The level directly above the case's tier (community for a grid, town for a community …)."""
    return _holders(SUPERIOR_ROLE[case.tier], case.grid.path)


def _notify(recipients: Iterable[int], case: Case, *, kind: str, title: str, body: str = "") -> None:
    effects = _batched.get()
    if effects is None:
        notices_queue(recipient_ids=recipients, kind=kind, title=title, body=body, link=case_link(case.pk))
        return
    effects.notices.extend(
        notices_build(recipient_ids=recipients, kind=kind, title=title, body=body, link=case_link(case.pk))
    )


def _require_status(case: Case, allowed: Iterable[str], action_label: str) -> None:
    if case.status not in set(allowed):
        raise CaseConflict(
            _("事项当前为“%(status)s”，不能%(action)s。")
            % {"status": CaseStatus(case.status).label, "action": action_label}
        )


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise CaseForbidden(message)


def _text(value: str, *, label: str, required: bool, max_length: int = 2000) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(_("请填写%(label)s。") % {"label": label})
    if len(value) > max_length:
        raise ValidationError(_("%(label)s不能超过%(max)d个字。") % {"label": label, "max": max_length})
    return value


def _ancestor_at(area: Area, level: str) -> Area | None:
    node: Area | None = area
    while node is not None and node.level != level:
        node = node.parent
    return node


def _phone_fields(raw: str) -> tuple[str, str]:
    """(ciphertext, mask) of a caller's mobile or landline number; ('', '') when none is given."""
    raw = (raw or "").strip()
    if not raw:
        return "", ""
    compact = raw.replace(" ", "")
    if _LANDLINE.fullmatch(compact):
        digits = compact.replace("-", "")
        return field_encrypt(digits, field=REPORTER_PHONE_FIELD), "*" * (len(digits) - 4) + digits[-4:]
    mobile = phone_normalise(raw)
    return field_encrypt(mobile, field=REPORTER_PHONE_FIELD), phone_mask(mobile)


REPORTER_PHONE_FIELD = "case.reporter_phone"


@dataclass(frozen=True)
class CaseInput:
    """What a reporter or the person registering a case says about it."""

    kind: str
    category: Category
    title: str
    description: str
    source: str
    urgency: str = Urgency.NORMAL
    longitude: float | None = None
    latitude: float | None = None
    grid: Area | None = None
    address: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""
    is_anonymous: bool = False
    external_ref: str = ""

    def fingerprint(self) -> str:
        """A digest of the content, to tell a retried submit from a different one under the same key."""
        payload = {
            "kind": self.kind,
            "category": self.category.pk,
            "title": self.title.strip(),
            "description": self.description.strip(),
            "source": self.source,
            "urgency": self.urgency,
            "longitude": self.longitude,
            "latitude": self.latitude,
            "grid": self.grid.pk if self.grid else None,
            "address": self.address.strip(),
            "reporter_name": self.reporter_name.strip(),
            "reporter_phone": self.reporter_phone.strip(),
            "is_anonymous": self.is_anonymous,
            "external_ref": self.external_ref.strip(),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


STAFF_SOURCES = frozenset({CaseSource.GRID_WORKER, CaseSource.PATROL, CaseSource.HOTLINE, CaseSource.WALK_IN})


def _resolve_grid(data: CaseInput) -> Area:
    if data.longitude is not None or data.latitude is not None:
        if data.longitude is None or data.latitude is None:
            raise ValidationError(_("经度和纬度需同时填写。"))
        if not (-180 <= data.longitude <= 180 and -90 <= data.latitude <= 90):
            raise ValidationError(_("经纬度超出范围。"))
        hit = grid_at(data.longitude, data.latitude)
        if hit is None:
            raise ValidationError(_("该位置不在任何网格内，请在地图上重新选点，或选择所在网格。"))
        # The outlines are not needed here; decoding three GeoJSON polygons per submit is not free.
        return (
            Area.objects.select_related("parent__parent")
            .defer("geometry", "parent__geometry", "parent__parent__geometry")
            .get(pk=hit.id)
        )
    if data.grid is None:
        raise ValidationError(_("请在地图上选点，或选择事项所在网格。"))
    grid = data.grid
    if grid.level == AreaLevel.MICROGRID and grid.parent is not None:
        grid = grid.parent
    if grid.level != AreaLevel.GRID:
        raise ValidationError(_("“%(name)s”不是网格，请选择事项所在网格。") % {"name": grid.name})
    return grid


def _existing_submission(actor: Any, idempotency_key: str, data: CaseInput) -> Case | None:
    """The case an earlier submit with the same key (or the same external number) created, if any."""
    # The excludes let SQLite use the partial unique indexes (key <> '') instead of scanning the
    # submitter's history; no ordering, so that no other index looks cheaper.
    if idempotency_key:
        matches = Case.objects.filter(submitted_by=actor, idempotency_key=idempotency_key).exclude(idempotency_key="")
    elif data.external_ref:
        matches = Case.objects.filter(source=data.source, external_ref=data.external_ref).exclude(external_ref="")
    else:
        return None
    existing = next(iter(matches.order_by()[:1]), None)
    if existing is None:
        return None
    if existing.idempotency_fingerprint != data.fingerprint():
        raise CaseConflict(_("该请求编号已用于内容不同的另一次提交，请换一个编号。"))
    return existing


@dataclass(frozen=True)
class _ValidSubmission:
    title: str
    description: str
    address: str
    reporter_name: str
    external_ref: str
    phone_ciphertext: str
    phone_masked: str
    grid: Area
    policy: SlaPolicy
    reporter: Any


def _submission_validated(actor: Any, data: CaseInput, attachments: Sequence[UploadedFile]) -> _ValidSubmission:
    if data.kind not in CaseKind.values:
        raise ValidationError(_("未知的事项类型：%(value)s") % {"value": data.kind})
    if data.source not in CaseSource.values:
        raise ValidationError(_("未知的事项来源：%(value)s") % {"value": data.source})
    if data.urgency not in Urgency.values:
        raise ValidationError(_("未知的紧急程度：%(value)s") % {"value": data.urgency})
    if not data.category.is_active:
        raise ValidationError(_("类别“%(name)s”已停用，请选择其他类别。") % {"name": data.category.name})
    if data.source in STAFF_SOURCES and not any(duty.role != Role.RESIDENT for duty in duties_of(actor)):
        raise CaseForbidden(_("只有工作人员可以登记这一来源的事项。"))
    title = _text(data.title, label=_("标题"), required=True, max_length=100)
    description = _text(data.description, label=_("问题描述"), required=True, max_length=5000)
    address = _text(data.address, label=_("地点"), required=False, max_length=200)
    reporter_name = _text(data.reporter_name, label=_("反映人"), required=False, max_length=50)
    external_ref = _text(data.external_ref, label=_("外部编号"), required=False, max_length=64)
    phone_ciphertext, phone_masked = _phone_fields(data.reporter_phone)
    attachments_validate(attachments)
    grid = _resolve_grid(data)
    policy = sla_policy_for(data.category, data.urgency)
    reporter = actor if data.source == CaseSource.RESIDENT else None
    if reporter is not None and not reporter_name:
        reporter_name = actor.full_name or ""
    return _ValidSubmission(
        title=title,
        description=description,
        address=address,
        reporter_name=reporter_name,
        external_ref=external_ref,
        phone_ciphertext=phone_ciphertext,
        phone_masked=phone_masked,
        grid=grid,
        policy=policy,
        reporter=reporter,
    )


def case_submit(
    *,
    actor: Any,
    data: CaseInput,
    idempotency_key: str = "",
    attachments: Sequence[UploadedFile] = (),
    now: datetime | None = None,
) -> tuple[Case, bool]:
    """Register a case and route it to its grid's worker. Returns (case, created).

    With an `idempotency_key` (per submitter) or an `external_ref` (per source,
    e.g. the 12345 order number) a repeated submit returns the first case.
    """
    now = _now(now)
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise CaseForbidden(_("请先登录。"))
    idempotency_key = (idempotency_key or "").strip()
    if len(idempotency_key) > 100:
        raise ValidationError(_("请求编号（Idempotency-Key）不能超过100个字符。"))
    try:
        valid = _submission_validated(actor, data, attachments)
    except (ValidationError, CaseForbidden):
        # A retry of a submit that was accepted earlier returns that case even if the
        # rules changed since (a category deactivated, the actor's role moved).
        existing = _existing_submission(actor, idempotency_key, data)
        if existing is None:
            raise
        return existing, False
    grid, policy, reporter = valid.grid, valid.policy, valid.reporter
    # Emergency mode (gridgov.tasks): while an event covering the grid is active, a new case
    # runs on the emergency clock (natural hours, shortened limits); the stored policy is untouched.
    emergency = emergency_sla_override(grid.path, now)
    if emergency is not None:
        policy = emergency.apply(policy)
    try:
        with transaction.atomic():
            case = Case.objects.create(
                # A unique placeholder until the id is known; replaced below in the same transaction.
                number=f"~{uuid.uuid4().hex[:19]}",
                kind=data.kind,
                source=data.source,
                category=data.category,
                urgency=data.urgency,
                title=valid.title,
                description=valid.description,
                grid=grid,
                longitude=data.longitude,
                latitude=data.latitude,
                address=valid.address,
                reporter=reporter,
                reporter_name=valid.reporter_name,
                reporter_phone_ciphertext=valid.phone_ciphertext,
                reporter_phone_masked=valid.phone_masked,
                is_anonymous=data.is_anonymous,
                submitted_by=actor,
                idempotency_key=idempotency_key,
                idempotency_fingerprint=data.fingerprint(),
                external_ref=valid.external_ref,
                status=CaseStatus.SUBMITTED,
                tier=Tier.GRID,
                handling_area=grid,
                submitted_at=now,
                close_due_at=working_calendar().add(now, float(policy.close_limit), policy.unit),
                version=1,
                **_clock(policy, now, "first_response"),
            )
            local_day = timezone.localtime(now).strftime("%Y%m%d")
            case.number = f"{local_day}{case.pk:08d}"
            Case.objects.filter(pk=case.pk).update(number=case.number)
            step = CaseStep.objects.create(
                case=case,
                seq=1,
                action=StepAction.SUBMIT,
                actor=actor,
                at=now,
                to_status=CaseStatus.SUBMITTED,
                to_tier=Tier.GRID,
                detail={"source": data.source, **({"emergency": emergency.event_id} if emergency else {})},
            )
            _attach(case, step, attachments, actor)
            _notify(
                _holders(Role.GRID_WORKER, grid.path),
                case,
                kind=NoticeKind.NEW_CASE,
                title=_("新事项：%(title)s") % {"title": valid.title},
            )
    except IntegrityError:
        # A concurrent retry with the same key committed first: answer with its case.
        existing = _existing_submission(actor, idempotency_key, data)
        if existing is None:
            raise
        return existing, False
    return case, True


@transaction.atomic
def case_accept(*, actor: Any, case: Case, note: str = "", now: datetime | None = None) -> Case:
    """First response: the grid's worker (or the staff of the tier the case was escalated to) takes it."""
    now = _now(now)
    _require_status(case, [CaseStatus.SUBMITTED], _("受理"))
    _require(can_handle(actor, case), _("只有%(tier)s的办理人员可以受理此事项。") % {"tier": Tier(case.tier).label})
    changes: dict[str, Any] = {"status": CaseStatus.HANDLING, "owner": actor}
    if case.first_response_at is None:
        changes["first_response_at"] = now
    if case.tier == Tier.GRID:
        # The first-response clock stops; the grid's handling clock starts.
        changes.update(_clock(_policy(case), now, "grid_limit"))
    _transition(
        case,
        actor=actor,
        action=StepAction.ACCEPT,
        now=now,
        note=_text(note, label=_("说明"), required=False),
        **changes,
    )
    return case


_NEXT_TIER: dict[str, tuple[str, str]] = {
    Tier.GRID: (Tier.COMMUNITY, AreaLevel.COMMUNITY),
    Tier.COMMUNITY: (Tier.TOWN, AreaLevel.TOWN),
}


def _escalation_changes(case: Case, now: datetime) -> dict[str, Any]:
    next_tier, level = _NEXT_TIER[case.tier]
    area = _ancestor_at(case.handling_area, level)
    if area is None:
        raise CaseConflict(_("找不到事项所在网格的上级%(level)s。") % {"level": AreaLevel(level).label})
    return {
        "status": CaseStatus.SUBMITTED,
        "tier": next_tier,
        "handling_area": area,
        "owner": None,
        "extension_requested": None,
        "extension_reason": "",
        **_clock(_policy(case), now, TIER_LIMIT_FIELD[next_tier]),
    }


@transaction.atomic
def case_escalate(*, actor: Any, case: Case, reason: str, now: datetime | None = None) -> Case:
    """The grid (or community) cannot settle it: hand it one level up, with the reason."""
    now = _now(now)
    _require_status(case, [CaseStatus.SUBMITTED, CaseStatus.HANDLING], _("上报"))
    if case.tier not in _NEXT_TIER:
        raise CaseConflict(_("镇街层级的事项请派遣到职能部门。"))
    _require(
        can_handle(actor, case) or can_supervise(actor, case),
        _("只有%(tier)s的办理人员或其上级可以上报此事项。") % {"tier": Tier(case.tier).label},
    )
    reason = _text(reason, label=_("上报理由"), required=True)
    _transition(case, actor=actor, action=StepAction.ESCALATE, now=now, note=reason, **_escalation_changes(case, now))
    _notify(
        _holders(TIER_ROLE[case.tier], case.handling_area.path),
        case,
        kind=NoticeKind.ASSIGNED,
        title=_("上报事项：%(title)s") % {"title": case.title},
        body=reason,
    )
    return case


def _department_covers(department: Department, grid_path: str) -> bool:
    return grid_path.startswith(department.area.path)


@transaction.atomic
def case_dispatch(
    *, actor: Any, case: Case, department: Department, note: str = "", now: datetime | None = None
) -> Case:
    """The town/street (or the county command centre) sends the case to a functional department."""
    now = _now(now)
    _require_status(case, [CaseStatus.SUBMITTED, CaseStatus.HANDLING], _("派遣"))
    allowed = dispatches(actor, grid_path=case.grid.path) and (case.tier == Tier.TOWN or can_supervise(actor, case))
    _require(allowed, _("只有镇街或县级指挥中心可以向职能部门派遣事项。"))
    if not _department_covers(department, case.grid.path):
        raise ValidationError(_("“%(name)s”不负责事项所在区域，请选择其他部门。") % {"name": department.name})
    _dispatch(case, actor=actor, department=department, now=now, note=_text(note, label=_("派遣说明"), required=False))
    return case


def _dispatch(
    case: Case,
    *,
    actor: Any,
    department: Department,
    now: datetime,
    note: str,
    automatic: bool = False,
    **extra: Any,
) -> None:
    town = _ancestor_at(case.grid, AreaLevel.TOWN) or case.handling_area
    _transition(
        case,
        actor=actor,
        action=StepAction.AUTO_ESCALATE if automatic else StepAction.DISPATCH,
        now=now,
        note=note,
        detail={"department": department.name},
        status=CaseStatus.DISPATCHED,
        tier=Tier.DEPARTMENT,
        department=department,
        handling_area=town,
        owner=None,
        extension_requested=None,
        extension_reason="",
        **_clock(_policy(case), now, "department_limit"),
        **extra,
    )
    _notify(
        _holders(Role.DEPARTMENT_HANDLER, case.grid.path, department.pk),
        case,
        kind=NoticeKind.ASSIGNED,
        title=_("派遣事项：%(title)s") % {"title": case.title},
        body=note,
    )


@transaction.atomic
def case_sign_for(*, actor: Any, case: Case, note: str = "", now: datetime | None = None) -> Case:
    """A handler of the department the case was dispatched to signs for it and owns it."""
    now = _now(now)
    _require_status(case, [CaseStatus.DISPATCHED], _("签收"))
    _require(can_handle(actor, case), _("只有承办部门的办理人员可以签收此事项。"))
    changes: dict[str, Any] = {"status": CaseStatus.HANDLING, "owner": actor}
    if case.first_response_at is None:
        changes["first_response_at"] = now
    _transition(
        case,
        actor=actor,
        action=StepAction.SIGN_FOR,
        now=now,
        note=_text(note, label=_("说明"), required=False),
        **changes,
    )
    return case


@transaction.atomic
def case_send_back(*, actor: Any, case: Case, reason: str, now: datetime | None = None) -> Case:
    """回退: the department says the case was misrouted; it returns to the town/street with the reason."""
    now = _now(now)
    _require_status(case, [CaseStatus.DISPATCHED, CaseStatus.HANDLING], _("回退"))
    if case.tier != Tier.DEPARTMENT:
        raise CaseConflict(_("只有派遣到职能部门的事项可以回退。"))
    _require(can_handle(actor, case), _("只有承办部门的办理人员可以回退此事项。"))
    reason = _text(reason, label=_("回退理由"), required=True)
    town = _ancestor_at(case.grid, AreaLevel.TOWN)
    if town is None:
        raise CaseConflict(_("找不到事项所在的镇街。"))
    _transition(
        case,
        actor=actor,
        action=StepAction.SEND_BACK,
        now=now,
        note=reason,
        detail={"department": case.department.name if case.department else ""},
        status=CaseStatus.SUBMITTED,
        tier=Tier.TOWN,
        handling_area=town,
        department=None,
        owner=None,
        extension_requested=None,
        extension_reason="",
        **_clock(_policy(case), now, "town_limit"),
    )
    _notify(
        _holders(Role.TOWN_STAFF, town.path),
        case,
        kind=NoticeKind.ASSIGNED,
        title=_("部门回退事项：%(title)s") % {"title": case.title},
        body=reason,
    )
    return case


@transaction.atomic
def case_request_extension(
    *, actor: Any, case: Case, amount: Decimal, reason: str, now: datetime | None = None
) -> Case:
    """The owner asks the level above for more time, in the unit of the case's policy."""
    now = _now(now)
    _require_status(case, [CaseStatus.HANDLING], _("申请延期"))
    _require(case.owner_id == getattr(actor, "pk", None), _("只有当前办理人可以申请延期。"))
    if case.extension_requested is not None:
        raise CaseConflict(_("已有一份延期申请在等待审批。"))
    try:
        amount = Decimal(amount)
    except (ArithmeticError, ValueError, TypeError) as error:
        raise ValidationError(_("延期时长应为数字。")) from error
    if not amount.is_finite() or amount <= 0 or amount > 999:
        raise ValidationError(_("延期时长应大于0且不超过999。"))
    reason = _text(reason, label=_("延期理由"), required=True, max_length=500)
    _transition(
        case,
        actor=actor,
        action=StepAction.REQUEST_EXTENSION,
        now=now,
        note=reason,
        detail={"amount": str(amount), "unit": case.sla_unit},
        extension_requested=amount,
        extension_reason=reason,
    )
    _notify(
        _superior_holders(case),
        case,
        kind=NoticeKind.EXTENSION,
        title=_("延期申请：%(title)s") % {"title": case.title},
        body=reason,
    )
    return case


@transaction.atomic
def case_decide_extension(
    *, actor: Any, case: Case, approve: bool, note: str = "", now: datetime | None = None
) -> Case:
    """The level above approves (moving the step's and the closing deadline) or refuses."""
    now = _now(now)
    if case.extension_requested is None:
        raise CaseConflict(_("此事项没有待审批的延期申请。"))
    _require_status(case, [CaseStatus.HANDLING], _("审批延期"))
    _require(can_supervise(actor, case), _("只有上一级可以审批延期申请。"))
    note = _text(note, label=_("审批意见"), required=not approve)
    amount = Decimal(case.extension_requested)
    changes: dict[str, Any] = {"extension_requested": None, "extension_reason": ""}
    if approve:
        calendar = working_calendar()
        due_at = calendar.add(case.due_at or now, float(amount), case.sla_unit)
        warn_at = case.step_started_at + (due_at - case.step_started_at) * float(WARN_SHARE)
        changes.update(
            due_at=due_at,
            warn_at=warn_at,
            sla_light=SlaLight.GREEN if now < warn_at else SlaLight.YELLOW,
            close_due_at=max(calendar.add(case.close_due_at, float(amount), case.sla_unit), due_at),
        )
    _transition(
        case,
        actor=actor,
        action=StepAction.APPROVE_EXTENSION if approve else StepAction.REJECT_EXTENSION,
        now=now,
        note=note,
        detail={"amount": str(amount), "unit": case.sla_unit},
        **changes,
    )
    if case.owner_id:
        _notify(
            [case.owner_id],
            case,
            kind=NoticeKind.EXTENSION,
            title=(_("延期已批准：%(title)s") if approve else _("延期未批准：%(title)s")) % {"title": case.title},
            body=note,
        )
    return case


@transaction.atomic
def case_report_back(
    *, actor: Any, case: Case, result: str, attachments: Sequence[UploadedFile] = (), now: datetime | None = None
) -> Case:
    """The owner reports what was done; the case waits for verification on site."""
    now = _now(now)
    _require_status(case, [CaseStatus.HANDLING], _("反馈办理结果"))
    _require(case.owner_id == getattr(actor, "pk", None), _("只有当前办理人可以反馈办理结果。"))
    result = _text(result, label=_("办理结果"), required=True)
    attachments_validate(attachments)
    _transition(
        case,
        actor=actor,
        action=StepAction.REPORT_BACK,
        now=now,
        note=result,
        attachments=attachments,
        status=CaseStatus.REPORTED,
        reported_at=now,
        owner=None,
        last_handler=actor,
        last_handler_tier=case.tier,
        extension_requested=None,
        extension_reason="",
        **_clock(_policy(case), now, "verification_limit"),
    )
    recipients = _holders(Role.GRID_WORKER, case.grid.path)
    if case.reporter_id:
        recipients.append(case.reporter_id)
    _notify(recipients, case, kind=NoticeKind.CASE_UPDATE, title=_("办理结果待核查：%(title)s") % {"title": case.title})
    return case


def _back_to_last_handler(case: Case, now: datetime) -> dict[str, Any]:
    """Columns that give the case back to whoever handled it last, or to its tier's queue.

    The case stays at the tier it is at (the one that reported back, or that closed
    it): its handling unit and department belong to that tier. The last handler gets
    it back only when they still work that tier; a case closed by another tier than
    the one that last reported back goes to the closing tier's queue.
    """
    handler = case.last_handler
    keeps_owner = handler is not None and handler.is_active and can_handle(handler, case)
    if keeps_owner:
        status = CaseStatus.HANDLING
    elif case.tier == Tier.DEPARTMENT:
        status = CaseStatus.DISPATCHED
    else:
        status = CaseStatus.SUBMITTED
    return {
        "status": status,
        "owner": handler if keeps_owner else None,
        **_clock(_policy(case), now, TIER_LIMIT_FIELD[case.tier]),
    }


@transaction.atomic
def case_verify(
    *,
    actor: Any,
    case: Case,
    passed: bool,
    note: str = "",
    close_reason: str = CloseReason.FIXED,
    attachments: Sequence[UploadedFile] = (),
    now: datetime | None = None,
) -> Case:
    """On-site check by the grid worker or the reporter: pass closes the case, fail sends it back."""
    now = _now(now)
    _require_status(case, [CaseStatus.REPORTED], _("核查"))
    _require(can_verify(actor, case), _("只有所在网格的网格员、反映人或办理单位可以核查此事项。"))
    attachments_validate(attachments)
    if not passed:
        note = _text(note, label=_("未通过的原因"), required=True)
        changes = _back_to_last_handler(case, now)
        _transition(
            case, actor=actor, action=StepAction.VERIFY_FAIL, now=now, note=note, attachments=attachments, **changes
        )
        _notify(
            _tier_holders(case),
            case,
            kind=NoticeKind.ASSIGNED,
            title=_("核查未通过：%(title)s") % {"title": case.title},
        )
        return case
    if close_reason not in (CloseReason.FIXED, CloseReason.NOT_FIXED):
        raise ValidationError(_("核查通过后只能以“已解决”或“未解决（已说明）”结案。"))
    note = _text(note, label=_("未解决的说明"), required=close_reason == CloseReason.NOT_FIXED)
    _close(
        case,
        actor=actor,
        action=StepAction.VERIFY_PASS,
        reason=close_reason,
        note=note,
        now=now,
        attachments=attachments,
    )
    return case


def _close(
    case: Case,
    *,
    actor: Any,
    action: str,
    reason: str,
    note: str,
    now: datetime,
    merged_into: Case | None = None,
    attachments: Sequence[UploadedFile] = (),
) -> None:
    _transition(
        case,
        actor=actor,
        action=action,
        now=now,
        note=note,
        attachments=attachments,
        detail={"close_reason": reason, **({"merged_into": merged_into.number} if merged_into else {})},
        status=CaseStatus.CLOSED,
        closed_at=now,
        close_reason=reason,
        closed_tier=case.tier,
        merged_into=merged_into,
        owner=None,
        extension_requested=None,
        extension_reason="",
        **_STOPPED_CLOCK,
    )
    if case.reporter_id:
        _notify(
            [case.reporter_id],
            case,
            kind=NoticeKind.CASE_UPDATE,
            title=_("您反映的事项已办结：%(title)s") % {"title": case.title},
            body=str(CloseReason(reason).label),
        )


@transaction.atomic
def case_close(
    *,
    actor: Any,
    case: Case,
    reason: str,
    note: str,
    merged_into: Case | None = None,
    now: datetime | None = None,
) -> Case:
    """Close without the normal verification: a duplicate, not ours, or not fixable (explained)."""
    now = _now(now)
    _require_status(
        case, [CaseStatus.SUBMITTED, CaseStatus.HANDLING, CaseStatus.DISPATCHED, CaseStatus.REPORTED], _("结案")
    )
    _require(can_handle(actor, case) or can_supervise(actor, case), _("只有当前层级的办理人员或其上级可以结案。"))
    if reason not in (CloseReason.DUPLICATE, CloseReason.NOT_RESPONSIBLE, CloseReason.NOT_FIXED):
        raise ValidationError(_("请选择结案方式：重复件、非职责范围或未解决（已说明）。已解决的事项请经核查结案。"))
    note = _text(note, label=_("结案说明"), required=True)
    if reason == CloseReason.DUPLICATE:
        if merged_into is None:
            raise ValidationError(_("重复件请填写合并到的事项编号。"))
        if merged_into.pk == case.pk:
            raise ValidationError(_("事项不能合并到自身。"))
        if merged_into.status == CaseStatus.VOIDED or merged_into.close_reason == CloseReason.DUPLICATE:
            raise ValidationError(_("不能合并到已作废或本身是重复件的事项。"))
    else:
        merged_into = None
    _close(case, actor=actor, action=StepAction.CLOSE, reason=reason, note=note, now=now, merged_into=merged_into)
    return case


def _within_reopen_window(case: Case, now: datetime) -> bool:
    return case.closed_at is not None and now - case.closed_at <= timedelta(days=settings.CASE_REOPEN_DAYS)


@transaction.atomic
def case_rate(*, actor: Any, case: Case, rating: str, note: str = "", now: datetime | None = None) -> Case:
    """The reporter says how satisfied they are (a phone call-back by staff for hotline cases)."""
    now = _now(now)
    _require_status(case, [CaseStatus.CLOSED], _("评价"))
    _require(speaks_for_reporter(actor, case), _("只有反映人可以评价此事项。"))
    if case.rating:
        raise CaseConflict(_("此事项已经评价过了。"))
    if rating not in Rating.values:
        raise ValidationError(_("请选择满意、基本满意或不满意。"))
    if not _within_reopen_window(case, now):
        raise CaseConflict(_("已超过%(days)d天的评价期限。") % {"days": settings.CASE_REOPEN_DAYS})
    _transition(
        case,
        actor=actor,
        action=StepAction.RATE,
        now=now,
        note=_text(note, label=_("评价意见"), required=False, max_length=500),
        detail={"rating": rating},
        rating=rating,
        rated_at=now,
    )
    return case


@transaction.atomic
def case_reopen(*, actor: Any, case: Case, reason: str, now: datetime | None = None) -> Case:
    """ "没有解决": the case goes back to its last handler with a fresh limit."""
    now = _now(now)
    _require_status(case, [CaseStatus.CLOSED], _("重新办理"))
    _require(speaks_for_reporter(actor, case) or can_supervise(actor, case), _("只有反映人或上级可以要求重新办理。"))
    if case.close_reason not in (CloseReason.FIXED, CloseReason.NOT_FIXED):
        raise CaseConflict(
            _("以“%(reason)s”结案的事项不能重新办理。") % {"reason": CloseReason(case.close_reason).label}
        )
    if not _within_reopen_window(case, now):
        raise CaseConflict(_("已超过%(days)d天的期限，请重新反映。") % {"days": settings.CASE_REOPEN_DAYS})
    reason = _text(reason, label=_("未解决的情况"), required=True)
    policy = _policy(case)
    changes = _back_to_last_handler(case, now)
    _transition(
        case,
        actor=actor,
        action=StepAction.REOPEN,
        now=now,
        note=reason,
        closed_at=None,
        close_reason="",
        closed_tier="",
        rating="",
        rated_at=None,
        reopen_count=case.reopen_count + 1,
        close_due_at=working_calendar().add(now, float(policy.close_limit), policy.unit),
        **changes,
    )
    _notify(_tier_holders(case), case, kind=NoticeKind.ASSIGNED, title=_("重新办理：%(title)s") % {"title": case.title})
    return case


@transaction.atomic
def case_suspend(*, actor: Any, case: Case, reason: str, now: datetime | None = None) -> Case:
    """Pause the clock (e.g. waiting for a court ruling or the weather); only the level above may."""
    now = _now(now)
    _require_status(case, TIMED_STATUSES, _("挂起"))
    _require(can_supervise(actor, case), _("只有上一级可以挂起事项。"))
    reason = _text(reason, label=_("挂起理由"), required=True)
    _transition(
        case,
        actor=actor,
        action=StepAction.SUSPEND,
        now=now,
        note=reason,
        status=CaseStatus.SUSPENDED,
        suspended_status=case.status,
        suspended_at=now,
    )
    return case


@transaction.atomic
def case_resume(*, actor: Any, case: Case, note: str = "", now: datetime | None = None) -> Case:
    """Restart the clock; every deadline moves by the time the case was suspended."""
    now = _now(now)
    _require_status(case, [CaseStatus.SUSPENDED], _("恢复办理"))
    _require(can_supervise(actor, case), _("只有上一级可以恢复挂起的事项。"))
    paused = max(now - (case.suspended_at or now), timedelta(0))
    _transition(
        case,
        actor=actor,
        action=StepAction.RESUME,
        now=now,
        note=_text(note, label=_("说明"), required=False),
        detail={"paused_seconds": int(paused.total_seconds())},
        status=case.suspended_status,
        suspended_status="",
        suspended_at=None,
        step_started_at=case.step_started_at + paused,
        due_at=case.due_at + paused if case.due_at else None,
        warn_at=case.warn_at + paused if case.warn_at else None,
        close_due_at=case.close_due_at + paused,
    )
    return case


NOTE_RETRIES = 3


@transaction.atomic
def case_note(
    *,
    actor: Any,
    case: Case,
    note: str,
    internal: bool = False,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> CaseStep:
    """Write a note on the case's timeline (记事) without changing its state: e.g. a residents'
    council decision on the case. Anyone who sees the case may; a note that is not internal is
    shown to the reporter too. Any status, closed included. `actor` None is the system (a service
    writing on behalf of a recorded decision, the demo generator).

    A note does not depend on the case's state, so a concurrent change (stale version) is not a
    conflict for it: the version is re-read and the note written after that change.
    """
    from gridgov.cases.selectors import cases_visible_to

    now = _now(now)
    if actor is not None and not cases_visible_to(actor).filter(pk=case.pk).exists():
        raise CaseForbidden(_("您无权在此事项上记事。"))
    text = _text(note, label=_("记事内容"), required=True, max_length=2000)
    for _attempt in range(NOTE_RETRIES):
        try:
            return _transition(
                case, actor=actor, action=StepAction.NOTE, now=now, note=text, internal=internal, detail=detail
            )
        except CaseConflict:
            case.refresh_from_db()
    raise CaseConflict(_("事项“%(number)s”正被频繁处理，请稍后再记事。") % {"number": case.number})


@transaction.atomic
def case_void(*, actor: Any, case: Case, reason: str, now: datetime | None = None) -> Case:
    """Withdraw a case registered in error or a malicious report; kept, with the reason, for audit."""
    now = _now(now)
    if not case.is_open:
        raise CaseConflict(_("事项当前为“%(status)s”，不能作废。") % {"status": CaseStatus(case.status).label})
    _require(can_supervise(actor, case), _("只有上一级工作人员可以作废事项。"))
    reason = _text(reason, label=_("作废理由"), required=True)
    _transition(
        case,
        actor=actor,
        action=StepAction.VOID,
        now=now,
        note=reason,
        status=CaseStatus.VOIDED,
        owner=None,
        suspended_status="",
        suspended_at=None,
        extension_requested=None,
        extension_reason="",
        **_STOPPED_CLOCK,
    )
    return case
