"""`manage.py demo_county`: generate the synthetic demo county (thin: parse, call, report)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.demo.generator import DemoSummary, generate_county
from gridgov.demo.presets import PRESETS
from gridgov.demo.reset import database_has_data, demo_reset


class Command(BaseCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Translated when the command is loaded, i.e. in the active language.
        self.help = _(
            "生成演示用的合成县（青岛市胶州市）：区域、网格、小区、楼栋、住户和居民、部门和各角色示例账号，以及近一年的事项。"
        )

    def add_arguments(self, parser: CommandParser) -> None:
        # Called at run time, after translations are set up: plain gettext is fine here.
        parser.add_argument(
            "--preset",
            choices=sorted(PRESETS),
            default="jiaozhou",
            help=_("规模：jiaozhou（全县，默认）或 small（测试用）。"),
        )
        parser.add_argument("--seed", type=int, default=1, help=_("随机种子；相同种子生成相同数据。"))
        parser.add_argument("--summary-json", type=Path, help=_("把示例账号和统计写入此 JSON 文件。"))
        parser.add_argument(
            "--reset",
            action="store_true",
            help=_(
                "先删除库中所有事项、通知、区域、小区、楼栋、住户、居民、部门、用户、授权、审计记录和访问日志，再生成。"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        with transaction.atomic():
            if database_has_data():
                if not options["reset"]:
                    raise CommandError(
                        _("数据库中已有区域或用户，未做任何修改。如需清空后重新生成演示数据，请加 --reset。")
                    )
                try:
                    demo_reset()
                except (ProtectedError, RestrictedError) as error:
                    # Another app keeps rows that point at areas or users and
                    # has not registered its own delete in demo_reset yet.
                    objects = error.protected_objects if isinstance(error, ProtectedError) else error.restricted_objects
                    blocking = sorted({str(obj._meta.verbose_name) for obj in objects})
                    raise CommandError(
                        _("无法清空数据库：%(models)s 中仍有记录引用区域或用户。") % {"models": "、".join(blocking)}
                    ) from error
            summary = generate_county(preset=options["preset"], seed=options["seed"], progress=self._progress)
        elapsed = time.perf_counter() - started
        if options["summary_json"] is not None:
            path: Path = options["summary_json"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(summary.as_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        self._report(summary, elapsed, options["summary_json"])

    # Print residents' progress about every this many households (the full county takes minutes).
    PROGRESS_EVERY = 50_000
    _progress_shown = 0

    def _progress(self, households: int, residents: int) -> None:
        if households // self.PROGRESS_EVERY > self._progress_shown // self.PROGRESS_EVERY:
            self._progress_shown = households
            self.stdout.write(
                _("正在登记居民：已登记 %(households)d 户，%(residents)d 人……")
                % {"households": households, "residents": residents}
            )

    def _report(self, summary: DemoSummary, elapsed: float, summary_path: Path | None) -> None:
        counts = summary.counts
        write = self.stdout.write
        write(
            self.style.SUCCESS(
                _(
                    "演示县已生成：青岛市 › 胶州市（370281），"
                    "规模 %(preset)s，随机种子 %(seed)d，用时 %(seconds).1f 秒。"
                )
                % {"preset": summary.preset, "seed": summary.seed, "seconds": elapsed}
            )
        )
        write(
            _(
                "镇街 %(towns)d 个，村/社区 %(communities)d 个（其中村 %(villages)d 个），"
                "网格 %(grids)d 个，微网格 %(microgrids)d 个。"
            )
            % {
                "towns": counts["town"],
                "communities": counts["community"],
                "villages": counts["villages"],
                "grids": counts["grid"],
                "microgrids": counts["microgrid"],
            }
        )
        write(
            _("小区 %(compounds)d 个，楼栋 %(buildings)d 栋，户数 %(households)d 户；职能部门 %(departments)d 个。")
            % {
                "compounds": counts["compounds"],
                "buildings": counts["buildings"],
                "households": counts["households"],
                "departments": counts["departments"],
            }
        )
        write(
            _(
                "实有人口：登记 %(households)d 户，居民 %(residents)d 人"
                "（其中流动人口 %(floating)d 人，党员 %(party)d 人）。"
            )
            % {
                "households": counts["registered_households"],
                "residents": counts["residents"],
                "floating": counts["floating_residents"],
                "party": counts["party_members"],
            }
        )
        write(
            _("用户 %(users)d 个（网格员 %(workers)d 个），角色授权 %(assignments)d 条。")
            % {"users": counts["users"], "workers": counts["grid_workers"], "assignments": counts["role_assignments"]}
        )
        write(
            _("事项 %(cases)d 件（近一年，其中在办 %(open)d 件），办理记录 %(steps)d 条；部门职责类别 %(links)d 条。")
            % {
                "cases": counts["cases"],
                "open": counts["open_cases"],
                "steps": counts["case_steps"],
                "links": counts["department_categories"],
            }
        )
        write(_("示例账号（密码均为 %(password)s）：") % {"password": summary.password})
        for user in summary.users:
            write(f"  {user.username} · {Role(user.role).label} · {user.area_code}")
        if summary.department_handlers:
            write(_("职能部门办理人账号（密码相同）："))
            for handler in summary.department_handlers:
                write(f"  {handler.username} · {handler.department_name}")
        if summary.example_grid_worker:
            write(
                _("其余每个网格各有一名网格员，用户名为 gw 加 15 位网格编码（如 %(username)s），密码相同。")
                % {"username": summary.example_grid_worker}
            )
        write(
            _("其余每个村/社区、镇街各有一名工作人员，用户名为 cs 加 12 位村/社区编码、ts 加 9 位镇街编码，密码相同。")
        )
        if summary_path is not None:
            write(_("账号与统计已写入 %(path)s。") % {"path": summary_path})
