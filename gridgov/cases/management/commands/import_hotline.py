"""Hand over 12345 hotline orders from the hotline's .xlsx export.

manage.py import_hotline orders.xlsx --as zhangsan
manage.py import_hotline orders.xlsx --as zhangsan --crs gcj02

Orders become cases with the source “12345热线”; their order numbers make a
second import of the same file create nothing new. Rows with problems are
skipped and listed; the command then exits with status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gridgov.cases.errors import CaseForbidden
from gridgov.cases.hotline import Crs, HotlineReport, hotline_import_xlsx, is_staff


class Command(BaseCommand):
    help = _("导入12345热线工单（.xlsx），登记为事项；同一工单重复导入不会重复建件。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("12345工单导出文件（.xlsx）"))
        parser.add_argument("--as", dest="username", required=True, help=_("执行导入的工作人员账号"))
        parser.add_argument(
            "--crs",
            default=Crs.WGS84,
            choices=list(Crs.ALL),
            help=_("经纬度的坐标系：wgs84（含CGCS2000，默认）或gcj02（高德、腾讯、微信坐标）"),
        )

    def handle(self, *args: Any, file: str, username: str, crs: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(_("账号“%(username)s”不存在或已停用。") % {"username": username})
        if not is_staff(user):
            raise CommandError(_("账号“%(username)s”不是工作人员，不能导入12345工单。") % {"username": username})
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("找不到文件“%(file)s”。") % {"file": file})
        try:
            with path.open("rb") as handle:
                report = hotline_import_xlsx(actor=user, file=handle, crs=crs)
        except ValidationError as error:
            raise CommandError("".join(error.messages)) from error
        except CaseForbidden as error:
            raise CommandError(error.message) from error
        self._print(report)
        if report.error_count:
            raise CommandError(
                _("有%(rows)d行未导入，请按上面的提示修改后重新导入（已导入的工单不会重复建件）。")
                % {"rows": report.rows_with_errors}
            )

    def _print(self, report: HotlineReport) -> None:
        self.stdout.write(
            _("共%(rows)d条工单：新建事项%(created)d件，此前已导入%(present)d件，错误%(errors)d处。")
            % {
                "rows": report.rows,
                "created": report.created,
                "present": report.already_present,
                "errors": report.error_count,
            }
        )
        for error in report.errors:
            if error.column:
                line = _("第%(row)d行【%(column)s】：%(message)s") % {
                    "row": error.row,
                    "column": error.column,
                    "message": error.message,
                }
            else:
                line = _("第%(row)d行：%(message)s") % {"row": error.row, "message": error.message}
            self.stdout.write(line)
        if len(report.errors) < report.error_count:
            self.stdout.write(_("……另有%(more)d处错误未列出。") % {"more": report.error_count - len(report.errors)})
