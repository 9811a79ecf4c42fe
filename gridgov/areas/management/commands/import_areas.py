"""`manage.py import_areas FILE --level grid --parent CODE`: all-or-nothing GeoJSON import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gridgov.areas.choices import AREA_LEVEL_ORDER
from gridgov.areas.importing import ImportCrs, area_import_geojson


class Command(BaseCommand):
    help = _(
        "从GeoJSON要素集合导入某一上级区域的全部下级区域（通常是一个村/社区的网格）。"
        "先检查整个文件：编码、闭合多边形、自相交、超出上级边界、相互重叠、与已有区域重叠、"
        "以及是否无缝覆盖上级区域；发现任何问题都不写入数据。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("GeoJSON文件路径；“-”表示从标准输入读取。"))
        parser.add_argument("--level", required=True, choices=AREA_LEVEL_ORDER, help=_("要导入的区域层级，如grid。"))
        parser.add_argument("--parent", required=True, help=_("上级区域编码。"))
        parser.add_argument("--report-only", action="store_true", help=_("只检查并报告问题，不写入数据库。"))
        parser.add_argument(
            "--crs",
            choices=[choice.value for choice in ImportCrs],
            default=ImportCrs.WGS84.value,
            help=_("文件坐标系：wgs84（含CGCS2000，默认）或gcj02（高德、腾讯、微信坐标，导入时转换为WGS84）。"),
        )
        parser.add_argument("--code-property", default="code", help=_("存放编码的要素属性名，默认code。"))
        parser.add_argument("--name-property", default="name", help=_("存放名称的要素属性名，默认name。"))
        parser.add_argument(
            "--allow-gaps",
            action="store_true",
            help=_(
                "允许下级区域未完全覆盖上级区域。默认严格检查：按网格划分标准，网格应无缝覆盖村/社区，"
                "缝隙视为错误；仅在分批导入时使用此选项。"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data = self._read(options["file"])
        report = area_import_geojson(
            actor=None,
            data=data,
            level=options["level"],
            parent_code=options["parent"],
            report_only=options["report_only"],
            crs=options["crs"],
            code_property=options["code_property"],
            name_property=options["name_property"],
            allow_gaps=options["allow_gaps"],
        )
        for line in report.lines():
            self.stderr.write(line)
        if not report.ok:
            raise CommandError(_("发现%(count)d个问题，未写入任何数据。") % {"count": len(report.problems)})
        if report.report_only:
            self.stdout.write(
                _("检查通过：共%(count)d个要素，未写入数据库（--report-only）。") % {"count": report.features}
            )
        else:
            self.stdout.write(self.style.SUCCESS(_("已导入%(count)d个区域。") % {"count": report.created}))

    def _read(self, name: str) -> bytes:
        if name == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(name).read_bytes()
        except OSError as error:
            raise CommandError(
                _("无法读取文件“%(file)s”：%(error)s") % {"file": name, "error": error.strerror or error}
            ) from error
