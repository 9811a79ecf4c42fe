"""Enter the year's holidays and 调休 days the built-in calendar does not know yet.

manage.py calendar_override 2027-02-06 holiday --note 春节
manage.py calendar_override 2027-02-14 workday --note 春节调休上班
manage.py calendar_override 2027-02-06 clear
manage.py calendar_override --list
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gridgov.cases.selectors import calendar_overrides
from gridgov.cases.services import calendar_override_clear, calendar_override_set


class Command(BaseCommand):
    help = _("维护工作日历：录入节假日、调休上班日，或清除某日的调整。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("day", nargs="?", help=_("日期，格式 YYYY-MM-DD"))
        parser.add_argument("kind", nargs="?", choices=["holiday", "workday", "clear"])
        parser.add_argument("--note", default="", help=_("说明，如“春节”"))
        parser.add_argument("--list", action="store_true", help=_("列出全部调整"))

    def handle(self, *args: Any, day: str | None, kind: str | None, note: str, list: bool, **options: Any) -> None:
        if list:
            for override in calendar_overrides():
                label = _("工作日") if override.is_working_day else _("休息日")
                self.stdout.write(f"{override.day.isoformat()}  {label}  {override.note}")
            return
        if day is None or kind is None:
            raise CommandError(_("请给出日期和类型（holiday、workday 或 clear），或使用 --list。"))
        try:
            parsed = date.fromisoformat(day)
        except ValueError as error:
            raise CommandError(_("日期“%(day)s”格式不正确，应为 YYYY-MM-DD。") % {"day": day}) from error
        if kind == "clear":
            if not calendar_override_clear(actor=None, day=parsed):
                raise CommandError(_("%(day)s 没有调整记录。") % {"day": parsed.isoformat()})
            self.stdout.write(_("已清除 %(day)s 的调整。") % {"day": parsed.isoformat()})
            return
        calendar_override_set(actor=None, day=parsed, is_working_day=kind == "workday", note=note)
        label = _("工作日") if kind == "workday" else _("休息日")
        self.stdout.write(_("已将 %(day)s 设为%(label)s。") % {"day": parsed.isoformat(), "label": label})
