"""Show or set which categories a department owns (the same as the 部门职责 page).

manage.py department_categories                      every department and its categories
manage.py department_categories D370281              one department
manage.py department_categories D370281 --set 01 0402  replace its categories
manage.py department_categories D370281 --set        it owns none
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gridgov.accounts.models import Department
from gridgov.cases.models import Category, DepartmentCategory
from gridgov.cases.services.config import department_categories_set


class Command(BaseCommand):
    help = _("查看或设置部门负责的事项类别。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("department", nargs="?", help=_("部门编码，如 D370281"))
        parser.add_argument("--set", nargs="*", metavar="CODE", dest="codes", help=_("类别编码，替换该部门现有的类别"))

    def handle(self, *args: Any, department: str | None, codes: list[str] | None, **options: Any) -> None:
        departments = Department.objects.order_by("code")
        if department is not None:
            found = departments.filter(code=department).first()
            if found is None:
                raise CommandError(_("部门编码“%(code)s”不存在。") % {"code": department})
            if codes is not None:
                self._set(found, codes)
            departments = departments.filter(pk=found.pk)
        elif codes is not None:
            raise CommandError(_("请给出部门编码。"))
        owned: dict[int, list[str]] = defaultdict(list)
        for department_id, code in DepartmentCategory.objects.order_by("category__code").values_list(
            "department_id", "category__code"
        ):
            owned[department_id].append(code)
        for item in departments:
            self.stdout.write(f"{item.code}  {item.name}  {' '.join(owned[item.pk]) or '—'}")

    def _set(self, department: Department, codes: list[str]) -> None:
        categories = list(Category.objects.filter(code__in=codes))
        unknown = sorted(set(codes) - {category.code for category in categories})
        if unknown:
            raise CommandError(_("类别编码不存在：%(codes)s") % {"codes": "、".join(unknown)})
        try:
            department_categories_set(actor=None, department=department, categories=categories)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
