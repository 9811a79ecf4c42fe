"""`manage.py export_areas CODE [--level grid] [--output FILE]`: a subtree as GeoJSON.

The output of `--level grid` for a community is exactly what
`import_areas FILE --level grid --parent <community>` takes back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gridgov.areas.choices import AREA_LEVEL_ORDER
from gridgov.areas.exporting import subtree_feature_collection
from gridgov.areas.models import Area


class Command(BaseCommand):
    help = _(
        "将某一区域及其全部下级导出为GeoJSON要素集合（属性：code、name、level、parent_code）。"
        "由运维人员在服务器上运行，不做权限范围过滤。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help=_("区域编码。"))
        parser.add_argument(
            "--level",
            choices=AREA_LEVEL_ORDER,
            help=_("只导出该层级的区域，如grid；导出的文件可直接用import_areas重新导入。"),
        )
        parser.add_argument("--output", help=_("输出文件路径；不指定时写到标准输出。"))

    def handle(self, *args: Any, code: str, level: str | None, output: str | None, **options: Any) -> None:
        area = Area.objects.filter(code=code).first()
        if area is None:
            raise CommandError(_("区域编码“%(code)s”不存在。") % {"code": code})
        collection = subtree_feature_collection(area)
        if level is not None:
            collection["features"] = [
                feature for feature in collection["features"] if feature["properties"]["level"] == level
            ]
        text = json.dumps(collection, ensure_ascii=False, indent=1)
        if output is None:
            self.stdout.write(text)
            return
        try:
            Path(output).write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            raise CommandError(
                _("无法写入文件“%(file)s”：%(error)s") % {"file": output, "error": error.strerror or error}
            ) from error
        self.stdout.write(
            _("已导出%(count)d个区域到%(file)s。") % {"count": len(collection["features"]), "file": output}
        )
