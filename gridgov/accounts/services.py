"""Every write to users, role assignments, tokens and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import ApiToken, AuditEvent, Department, RoleAssignment, User
from gridgov.accounts.scope import scope_forget
from gridgov.areas.models import Area

API_TOKEN_PREFIX = "ggv_"


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
        actor=actor, action="api_token_revoke", object_type="user", object_id=str(token.user_id), detail={"token": token.pk}
    )
