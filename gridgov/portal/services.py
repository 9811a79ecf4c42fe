"""Writes of the residents' portal: phone login by one-time code, compound QR tokens,
and a resident's report, which goes through `case_submit` like every other case.

Security choices (see docs/portal.md):
- the phone is stored SM4-encrypted with a blind index and a mask, never in plaintext;
- a code is 6 random digits, kept only as an HMAC (keyed with SECRET_KEY) and compared in
  constant time; it expires after 5 minutes, allows 5 attempts, and a newer code replaces it;
- sending is throttled per phone and per client address (1 a minute, 10 an hour);
- a resident account is created inactive when a code is first requested, and only
  activated (with its RESIDENT role) by the first correct code.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import RoleAssignment, User
from gridgov.accounts.services import role_assign, user_create
from gridgov.areas.choices import AreaLevel
from gridgov.areas.models import Area, Compound
from gridgov.cases.choices import CaseSource
from gridgov.cases.models import Case, Category
from gridgov.cases.services import CaseInput, case_submit
from gridgov.notices.choices import Channel, NoticeKind
from gridgov.notices.models import Notice
from gridgov.portal.choices import PLAIN_CATEGORY_BY_KEY, LocationMode
from gridgov.portal.models import CompoundQr, LoginCode, ResidentPhone
from gridgov.registry.crypto import blind_index, field_decrypt, field_encrypt
from gridgov.registry.identifiers import phone_mask, phone_normalise

PHONE_FIELD = "portal.phone"
PHONE_INDEX_KIND = "phone"  # the registry's kind: one phone, one index value across the system
IP_INDEX_KIND = "portal.ip"
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
CODE_MAX_ATTEMPTS = 5
# (window, most codes in it): per phone, and per client address (a compound's shared Wi-Fi or a
# carrier's NAT puts many honest residents behind one address, so it gets more).
SEND_LIMITS: tuple[tuple[timedelta, int], ...] = ((timedelta(minutes=1), 1), (timedelta(hours=1), 10))
SEND_LIMITS_PER_ADDRESS: tuple[tuple[timedelta, int], ...] = ((timedelta(minutes=1), 5), (timedelta(hours=1), 30))
# Not a NoticeKind yet (owned by the notices app): see docs/portal.md.
QR_TOKEN_BYTES = 16


class LoginThrottled(ValidationError):
    """Too many codes asked for this phone or from this address; `retry_after` in seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, code="throttled")
        self.retry_after = retry_after


@dataclass(frozen=True)
class CodeSent:
    identity: ResidentPhone
    expires_at: datetime
    resend_after: int  # seconds


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _phone(raw: str) -> str:
    """The normalised number; the refusal never repeats what was typed (it may be someone's number)."""
    try:
        return phone_normalise(raw or "")
    except ValidationError as error:
        raise ValidationError(_("手机号格式不正确，请输入1开头的11位手机号。"), code="phone") from error


def phone_index_of(phone: str) -> str:
    return blind_index(phone, kind=PHONE_INDEX_KIND)


def _ip_index(client_ip: str) -> str:
    return blind_index(client_ip or "unknown", kind=IP_INDEX_KIND)


def _code_hash(login_code_id: int, code: str) -> str:
    return salted_hmac("gridgov.portal.login_code", f"{login_code_id}:{code}", algorithm="sha256").hexdigest()


def _throttle(codes: Any, now: datetime, message: str, limits: tuple[tuple[timedelta, int], ...]) -> None:
    for window, limit in limits:
        recent = list(
            codes.filter(created_at__gt=now - window)
            .order_by("-created_at")
            .values_list("created_at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            retry_after = max(1, int((recent[-1] + window - now).total_seconds()) + 1)
            raise LoginThrottled(message % {"seconds": retry_after}, retry_after=retry_after)


def _identity_for_phone(phone: str) -> ResidentPhone:
    """The identity of `phone`, created (with an inactive account) on first use; locked for this transaction."""
    index = phone_index_of(phone)
    identity = ResidentPhone.objects.select_for_update().filter(phone_index=index).first()
    if identity is not None:
        return identity
    masked = phone_mask(phone)
    try:
        with transaction.atomic():
            user = user_create(
                actor=None,
                username=f"resident-{uuid.uuid4().hex[:12]}",
                password=None,
                full_name=_("居民%(masked)s") % {"masked": masked},
            )
            User.objects.filter(pk=user.pk).update(is_active=False)
            return ResidentPhone.objects.create(
                user=user,
                phone_ciphertext=field_encrypt(phone, field=PHONE_FIELD),
                phone_index=index,
                phone_masked=masked,
            )
    except IntegrityError:
        # A concurrent first request for the same number won: use its identity.
        return ResidentPhone.objects.select_for_update().get(phone_index=index)


def _require_not_disabled(identity: ResidentPhone) -> None:
    """An account staff switched off after it was in use stays off: a code does not revive it."""
    if identity.verified_at is not None and not User.objects.filter(pk=identity.user_id, is_active=True).exists():
        raise ValidationError(_("该手机号的账号已停用，如有疑问请联系社区。"), code="disabled")


@transaction.atomic
def login_code_request(*, phone: str, client_ip: str, now: datetime | None = None) -> CodeSent:
    """Send a new login code to `phone` by SMS (through the notices outbox)."""
    now = _now(now)
    normalised = _phone(phone)
    _throttle(
        LoginCode.objects.filter(ip_index=_ip_index(client_ip)),
        now,
        _("此网络获取验证码过于频繁，请%(seconds)d秒后再试。"),
        SEND_LIMITS_PER_ADDRESS,
    )
    identity = _identity_for_phone(normalised)
    _require_not_disabled(identity)
    _throttle(
        LoginCode.objects.filter(identity=identity),
        now,
        _("验证码已发送，请%(seconds)d秒后再重新获取。"),
        SEND_LIMITS,
    )
    # A newer code replaces every earlier one.
    LoginCode.objects.filter(identity=identity, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    login_code = LoginCode.objects.create(
        identity=identity,
        ip_index=_ip_index(client_ip),
        code_hash="",
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    LoginCode.objects.filter(pk=login_code.pk).update(code_hash=_code_hash(login_code.pk, code))
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    Notice.objects.create(
        recipient_id=identity.user_id,
        channel=Channel.SMS,
        kind=NoticeKind.LOGIN_CODE,
        title=_("【网融】您的登录验证码是%(code)s，%(minutes)d分钟内有效，请勿告诉他人。")
        % {"code": code, "minutes": minutes},
    )
    return CodeSent(
        identity=identity, expires_at=login_code.expires_at, resend_after=int(SEND_LIMITS[0][0].total_seconds())
    )


def _home_area(compound: Compound | None) -> Area:
    """Where a new resident's role is bound: the compound's grid when they came by its QR code,
    else the county (district) — residents' roles only show the area tree, never people's data."""
    if compound is not None:
        return compound.grid
    county = Area.objects.filter(level=AreaLevel.DISTRICT).order_by("path").first()
    if county is None:
        county = Area.objects.filter(parent__isnull=True).order_by("path").first()
    if county is None:
        raise ValidationError(_("系统尚未配置行政区域，暂时无法登录。"))
    return county


def login_code_check(
    *, identity: ResidentPhone, code: str, compound: Compound | None = None, now: datetime | None = None
) -> User:
    """Sign-in with the code last sent to `identity`; returns the (now active) resident account.

    Not one transaction on purpose: a wrong attempt must stay counted when the refusal is raised.
    """
    now = _now(now)
    code = (code or "").strip()
    _require_not_disabled(identity)
    current = (
        LoginCode.objects.filter(identity=identity, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at", "-id")
        .first()
    )
    if current is None:
        raise ValidationError(_("验证码已失效，请重新获取。"), code="expired")
    counted = LoginCode.objects.filter(pk=current.pk, attempts__lt=CODE_MAX_ATTEMPTS, used_at__isnull=True).update(
        attempts=F("attempts") + 1
    )
    if not counted:
        raise ValidationError(_("验证码输错次数过多，请重新获取。"), code="too_many_attempts")
    expected = current.code_hash
    given = _code_hash(current.pk, code) if code.isascii() and code.isdigit() and len(code) == CODE_DIGITS else ""
    if not given or not constant_time_compare(given, expected):
        left = CODE_MAX_ATTEMPTS - current.attempts - 1
        if left <= 0:
            raise ValidationError(_("验证码输错次数过多，请重新获取。"), code="too_many_attempts")
        raise ValidationError(_("验证码不正确，还可以再试%(left)d次。") % {"left": left}, code="wrong")
    with transaction.atomic():
        used = LoginCode.objects.filter(pk=current.pk, used_at__isnull=True).update(used_at=now)
        if not used:
            raise ValidationError(_("验证码已使用，请重新获取。"), code="used")
        user = User.objects.select_for_update().get(pk=identity.user_id)
        if not user.is_active:
            user.is_active = True
            user.save(update_fields=["is_active"])
        has_role = RoleAssignment.objects.filter(user=user, role=Role.RESIDENT).exists()
        if compound is not None or not has_role:
            role_assign(actor=user, user=user, role=Role.RESIDENT, area=_home_area(compound))
        changes: dict[str, Any] = {"verified_at": now}
        if compound is not None:
            changes["compound"] = compound
        ResidentPhone.objects.filter(pk=identity.pk).update(**changes)
    return user


def login_code_verify(*, phone: str, code: str, compound: Compound | None = None, now: datetime | None = None) -> User:
    """`login_code_check` for a phone number given again (the API): unknown phones fail like expired codes."""
    normalised = _phone(phone)
    identity = ResidentPhone.objects.filter(phone_index=phone_index_of(normalised)).first()
    if identity is None:
        raise ValidationError(_("验证码已失效，请重新获取。"), code="expired")
    return login_code_check(identity=identity, code=code, compound=compound, now=now)


@transaction.atomic
def resident_phone_register(
    *, phone: str, compound: Compound | None = None, user: User | None = None, now: datetime | None = None
) -> ResidentPhone:
    """A resident identity without a code (demo data, imports): an active account with its RESIDENT role.

    With `user`, the phone is attached to that existing account instead of a new one.
    """
    now = _now(now)
    normalised = _phone(phone)
    index = phone_index_of(normalised)
    if ResidentPhone.objects.filter(phone_index=index).exists():
        raise ValidationError(_("该手机号已登记。"))
    if user is None:
        identity = _identity_for_phone(normalised)
        User.objects.filter(pk=identity.user_id).update(is_active=True)
        user = User.objects.get(pk=identity.user_id)
    else:
        identity = ResidentPhone.objects.create(
            user=user,
            phone_ciphertext=field_encrypt(normalised, field=PHONE_FIELD),
            phone_index=index,
            phone_masked=phone_mask(normalised),
        )
    if compound is not None or not RoleAssignment.objects.filter(user=user, role=Role.RESIDENT).exists():
        role_assign(actor=None, user=user, role=Role.RESIDENT, area=_home_area(compound))
    ResidentPhone.objects.filter(pk=identity.pk).update(compound=compound, verified_at=now)
    identity.refresh_from_db()
    return identity


def resident_compound_set(*, identity: ResidentPhone, compound: Compound) -> None:
    """Remember the compound whose QR code the resident scanned: their "my address" from now on."""
    if identity.compound_id != compound.pk:
        ResidentPhone.objects.filter(pk=identity.pk).update(compound=compound)
        identity.compound = compound


def resident_phone_plaintext(identity: ResidentPhone) -> str:
    """The decrypted number, for the reporter's phone of a case and for an SMS gateway; never for display."""
    return field_decrypt(identity.phone_ciphertext, field=PHONE_FIELD)


def _new_token() -> str:
    return secrets.token_urlsafe(QR_TOKEN_BYTES)


def compound_qr_ensure(*, compound: Compound) -> CompoundQr:
    """The compound's QR token, created on first use."""
    qr, _created = CompoundQr.objects.get_or_create(compound=compound, defaults={"token": _new_token()})
    return qr


def compound_qr_ensure_all(*, compounds: Sequence[Compound] | None = None) -> int:
    """Give every compound (or the given ones) a token; returns how many were created."""
    queryset = Compound.objects.filter(portal_qr__isnull=True)
    if compounds is not None:
        queryset = queryset.filter(pk__in=[compound.pk for compound in compounds])
    rows = [CompoundQr(compound_id=pk, token=_new_token()) for pk in queryset.values_list("pk", flat=True)]
    CompoundQr.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


@dataclass(frozen=True)
class ResidentReport:
    """What a resident fills in on the report page."""

    problem: str  # a key of PLAIN_CATEGORIES
    description: str
    location: str  # LocationMode
    compound: Compound | None = None
    longitude: float | None = None
    latitude: float | None = None
    place_detail: str = ""  # e.g. "2号楼3单元楼道"
    reporter_name: str = ""
    is_anonymous: bool = False


def resident_report_submit(
    *,
    actor: Any,
    identity: ResidentPhone,
    report: ResidentReport,
    idempotency_key: str,
    attachments: Sequence[UploadedFile] = (),
    now: datetime | None = None,
) -> tuple[Case, bool]:
    """Turn a resident's report into a case (source 居民上报) through `case_submit`."""
    plain = PLAIN_CATEGORY_BY_KEY.get(report.problem)
    if plain is None:
        raise ValidationError(_("请选择遇到的问题。"))
    category = Category.objects.filter(code=plain.category_code, is_active=True).first()
    if category is None:
        category = Category.objects.filter(code="99", is_active=True).first()
    if category is None:
        raise ValidationError(_("问题类别尚未配置，请联系社区。"))
    description = (report.description or "").strip()
    place_detail = (report.place_detail or "").strip()
    if report.location == LocationMode.COMPOUND:
        if report.compound is None:
            raise ValidationError(_("还不知道您住在哪个小区：请扫描小区海报上的二维码，或在地图上选点。"))
        grid: Area | None = report.compound.grid
        longitude = latitude = None
        address = report.compound.name + (f" {place_detail}" if place_detail else "")
    elif report.location == LocationMode.PIN:
        if report.longitude is None or report.latitude is None:
            raise ValidationError(_("请在地图上点选问题所在位置。"))
        grid, longitude, latitude = None, report.longitude, report.latitude
        address = place_detail
    else:
        raise ValidationError(_("请选择问题所在位置。"))
    title = f"{plain.label}：{description[:30]}" if description else str(plain.label)
    data = CaseInput(
        kind=plain.kind,
        category=category,
        title=title[:100],
        description=description,
        source=CaseSource.RESIDENT,
        longitude=longitude,
        latitude=latitude,
        grid=grid,
        address=address[:200],
        reporter_name=(report.reporter_name or "").strip()[:50],
        reporter_phone=resident_phone_plaintext(identity),
        is_anonymous=report.is_anonymous,
    )
    return case_submit(actor=actor, data=data, idempotency_key=idempotency_key, attachments=attachments, now=now)


def portal_delete_all() -> dict[str, int]:
    """Delete every login code, resident phone and compound token (before users and areas go, in a reset)."""
    return {
        "portal_login_codes": LoginCode.objects.all().delete()[0],
        "portal_resident_phones": ResidentPhone.objects.all().delete()[0],
        "portal_compound_qr": CompoundQr.objects.all().delete()[0],
    }
