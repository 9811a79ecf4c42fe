"""Bind a user to a role on an area: `manage.py assign_role USERNAME ROLE AREA_CODE`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import Department, User
from gridgov.accounts.services import role_assign
from gridgov.areas.models import Area


class Command(BaseCommand):
    help = _("为用户在某个区域上授予角色（职能部门办理人需用 --department 指定部门编码）。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", choices=Role.values)
        parser.add_argument("area_code")
        parser.add_argument("--department", default=None, help=_("部门编码"))

    def handle(
        self, *args: Any, username: str, role: str, area_code: str, department: str | None, **options: Any
    ) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("用户“%(username)s”不存在。") % {"username": username})
        area = Area.objects.filter(code=area_code).first()
        if area is None:
            raise CommandError(_("区域编码“%(code)s”不存在。") % {"code": area_code})
        dept = None
        if department is not None:
            dept = Department.objects.filter(code=department).first()
            if dept is None:
                raise CommandError(_("部门编码“%(code)s”不存在。") % {"code": department})
        try:
            role_assign(actor=None, user=user, role=role, area=area, department=dept)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            _("已授予 %(user)s 在 %(area)s 的角色：%(role)s。")
            % {"user": user.username, "area": area.name, "role": Role(role).label}
        )
