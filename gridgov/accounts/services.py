"""Every write to users, role assignments, tokens and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import ApiToken, AuditEvent, Department, RoleAssignment, User
from gridgov.accounts.scope import scope_forget
from gridgov.areas.models import Area

API_TOKEN_PREFIX = "ggv_"  # noqa: S105 (a public marker, not a secret)


def audit_record(*, actor: Any, action: str, object_type: str, object_id: str, detail: dict[str, Any]) -> AuditEvent:
    """Write one audit row; call inside the transaction of the change it records."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail,
    )


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    password: str | None,
    full_name: str = "",
    phone: str = "",
    validate: bool = True,
) -> User:
    """Create a user; the password is checked against the validators unless `validate` is False."""
    username = username.strip()
    if not username:
        raise ValidationError(_("用户名不能为空。"))
    if User.objects.filter(username=username).exists():
        raise ValidationError(_("用户名“%(username)s”已存在。") % {"username": username})
    user = User(username=username, full_name=full_name, phone=phone)
    if password is None:
        user.set_unusable_password()
    else:
        if validate:
            validate_password(password, user)
        user.set_password(password)
    user.save()
    audit_record(actor=actor, action="user_create", object_type="user", object_id=str(user.pk), detail={})
    return user


@transaction.atomic
def role_assign(
    *, actor: Any, user: User, role: str, area: Area, department: Department | None = None
) -> RoleAssignment:
    """Bind `user` to `role` on `area` (and `department` for department handlers)."""
    if role not in Role.values:
        raise ValidationError(_("未知的角色：%(role)s") % {"role": role})
    if role == Role.DEPARTMENT_HANDLER and department is None:
        raise ValidationError(_("职能部门办理人必须指定所属部门。"))
    if role != Role.DEPARTMENT_HANDLER and department is not None:
        raise ValidationError(_("只有职能部门办理人可以指定部门。"))
    assignment, created = RoleAssignment.objects.get_or_create(
        user=user, role=role, area=area, defaults={"department": department}
    )
    if created:
        audit_record(
            actor=actor,
            action="role_assign",
            object_type="user",
            object_id=str(user.pk),
            detail={"role": role, "area": area.code, "department": department.code if department else None},
        )
    scope_forget(user)
    return assignment


@transaction.atomic
def role_revoke(*, actor: Any, assignment: RoleAssignment) -> None:
    user = assignment.user
    detail = {"role": assignment.role, "area": assignment.area.code}
    assignment.delete()
    audit_record(actor=actor, action="role_revoke", object_type="user", object_id=str(user.pk), detail=detail)
    scope_forget(user)


@transaction.atomic
def department_create(*, actor: Any, area: Area, code: str, name: str) -> Department:
    if Department.objects.filter(code=code).exists():
        raise ValidationError(_("部门编码“%(code)s”已存在。") % {"code": code})
    department = Department.objects.create(area=area, code=code, name=name)
    audit_record(actor=actor, action="department_create", object_type="department", object_id=code, detail={})
    return department


def api_token_digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_issue(*, actor: Any, user: User, name: str = "", days: int | None = None) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the raw token, which is never stored."""
    if not user.is_active:
        raise ValidationError(_("用户已停用，不能签发令牌。"))
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    lifetime = days if days is not None else settings.API_TOKEN_DAYS
    if lifetime <= 0:
        raise ValidationError(_("令牌有效期必须大于0天。"))
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[: len(API_TOKEN_PREFIX) + 4],
        digest=api_token_digest(raw),
        expires_at=timezone.now() + timedelta(days=lifetime),
    )
    audit_record(
        actor=actor, action="api_token_issue", object_type="user", object_id=str(user.pk), detail={"token": token.pk}
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: Any, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_record(
        actor=actor,
        action="api_token_revoke",
        object_type="user",
        object_id=str(token.user_id),
        detail={"token": token.pk},
    )


@dataclass(frozen=True)
class UserSpec:
    """One user to create in bulk, with the role they get on `area`."""

    username: str
    full_name: str
    role: str
    area: Area
    department: Department | None = None


@transaction.atomic
def users_bulk_create(*, actor: Any, specs: list[UserSpec], password: str) -> list[User]:
    """Create many users sharing one initial password, each with one role (onboarding a
    county's grid workers, the demo generator).

    The password is validated and hashed once: hashing per user would take
    minutes for a county's 1,400 grid workers. One audit row records the batch.
    """
    if not specs:
        return []
    for spec in specs:
        if spec.role not in Role.values:
            raise ValidationError(_("未知的角色：%(role)s") % {"role": spec.role})
        if (spec.role == Role.DEPARTMENT_HANDLER) != (spec.department is not None):
            raise ValidationError(_("只有职能部门办理人需要且必须指定部门。"))
    usernames = [spec.username for spec in specs]
    taken = list(User.objects.filter(username__in=usernames).values_list("username", flat=True)[:5])
    if taken or len(set(usernames)) != len(usernames):
        raise ValidationError(_("用户名已存在或重复：%(names)s") % {"names": "、".join(taken) or "—"})
    validate_password(password)
    password_hash = make_password(password)
    users = User.objects.bulk_create(
        [User(username=spec.username, full_name=spec.full_name, password=password_hash) for spec in specs],
        batch_size=500,
    )
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(user=user, role=spec.role, area=spec.area, department=spec.department)
            for user, spec in zip(users, specs, strict=True)
        ],
        batch_size=500,
    )
    audit_record(
        actor=actor,
        action="users_bulk_create",
        object_type="user",
        object_id=users[0].username,
        detail={"count": len(users), "roles": sorted({spec.role for spec in specs})},
    )
    return users


@transaction.atomic
def accounts_delete_all(*, actor: Any = None) -> dict[str, int]:
    """Delete every user, role assignment, token, department, session and audit row.

    Only for replacing a demo database wholesale (`demo_county --reset`): the
    audit rows point at the users (PROTECT), and nobody may stay signed in as
    a user that no longer exists. Failed-login counters go too, since a new
    demo reuses the usernames.
    """
    from axes.utils import reset as axes_reset
    from django.contrib.sessions.models import Session

    deleted: dict[str, int] = {}
    deleted["sessions"] = Session.objects.all().delete()[0]
    deleted["role_assignments"] = RoleAssignment.objects.all().delete()[0]
    deleted["api_tokens"] = ApiToken.objects.all().delete()[0]
    deleted["audit_events"] = AuditEvent.objects.all().delete()[0]
    deleted["users"] = User.objects.all().delete()[0]
    deleted["departments"] = Department.objects.all().delete()[0]
    deleted["login_attempts"] = axes_reset()
    return deleted
