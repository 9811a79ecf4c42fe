"""`manage.py verify_access_log [--anchor SEQ:HASH] [--quiet]`: check the SM3 chain of the access log.

Exits non-zero and names each broken row when a row was edited, deleted, inserted
or reordered. The chain hash is unkeyed: someone with write access to the database
can rebuild it after an edit. Record the head printed on success somewhere the
database administrator cannot write (a ticket, a signed report) and pass it back
with `--anchor` so that a rebuilt chain is found as well.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from gridgov.registry.access_log import ChainProblem, access_log_verify
from gridgov.registry.models import AccessLogEntry, AccessLogHead


def _anchor_problems(anchors: list[str]) -> list[ChainProblem]:
    problems: list[ChainProblem] = []
    for anchor in anchors:
        seq_text, _sep, expected = anchor.partition(":")
        if not seq_text.isdecimal() or len(expected) != 64:
            raise CommandError(_("锚点“%(anchor)s”格式不正确，应为“序号:哈希”。") % {"anchor": anchor})
        seq = int(seq_text)
        stored = AccessLogEntry.objects.filter(seq=seq).values_list("row_hash", flat=True).first()
        if stored is None:
            problems.append(ChainProblem(seq, _("已记录的锚点所指的这一条日志不存在。")))
        elif stored != expected.lower():
            problems.append(ChainProblem(seq, _("哈希与已记录的锚点不符（日志被改写后重新计算了哈希链）。")))
    return problems


class Command(BaseCommand):
    help = _("校验个人信息访问日志的SM3哈希链，发现被篡改、删除、插入或调换顺序的记录时以非零状态退出。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help=_("此前校验通过时输出的链头（序号:哈希），可多次指定；用于发现被整体重算的哈希链。"),
        )
        parser.add_argument("--quiet", action="store_true", help=_("校验通过时不输出任何内容（适合定时任务）。"))

    def handle(self, *args: Any, anchor: list[str], quiet: bool, **options: Any) -> None:
        problems = access_log_verify() + _anchor_problems(anchor)
        if problems:
            for problem in problems:
                if problem.seq is None:
                    self.stderr.write(_("访问日志：%(message)s") % {"message": problem.message})
                else:
                    self.stderr.write(
                        _("访问日志第%(seq)d条：%(message)s") % {"seq": problem.seq, "message": problem.message}
                    )
            seqs = sorted({problem.seq for problem in problems if problem.seq is not None})
            raise CommandError(
                _("访问日志校验失败：发现%(count)d处问题，涉及序号：%(seqs)s。")
                % {"count": len(problems), "seqs": "、".join(str(seq) for seq in seqs) or "—"}
            )
        if quiet:
            return
        head = AccessLogHead.objects.filter(id=1).first()
        if head is None or head.seq == 0:
            self.stdout.write(_("访问日志完整：尚无记录。"))
            return
        self.stdout.write(
            _("访问日志完整：共%(count)d条记录，哈希链校验通过。请另行保存链头 %(seq)d:%(hash)s 作为下次校验的锚点。")
            % {"count": head.seq, "seq": head.seq, "hash": head.row_hash}
        )
