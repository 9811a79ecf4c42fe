"""`manage.py issue_api_token USERNAME [--name NAME] [--days N]`

Prints the new bearer token alone on stdout, so that a script can capture it
(`TOKEN=$(manage.py issue_api_token alice)`); the hint that it will not be
shown again goes to stderr. Only the token's digest is stored.

`--list` shows the user's tokens by prefix; `--revoke PREFIX` revokes one.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from gridgov.accounts.models import ApiToken, User
from gridgov.accounts.services import api_token_issue, api_token_revoke


class Command(BaseCommand):
    help = _("为用户签发 API 访问令牌（只显示一次），或列出、吊销该用户的令牌。")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help=_("用户名"))
        parser.add_argument("--name", default="", help=_("令牌用途，例如“12345热线对接”。"))
        parser.add_argument("--days", type=int, default=None, help=_("有效天数，默认取 GRIDGOV_API_TOKEN_DAYS。"))
        parser.add_argument("--revoke", metavar="PREFIX", default=None, help=_("吊销该用户以此前缀开头的令牌。"))
        parser.add_argument("--list", action="store_true", dest="list_tokens", help=_("列出该用户的令牌。"))

    def handle(
        self,
        *args: Any,
        username: str,
        name: str,
        days: int | None,
        revoke: str | None,
        list_tokens: bool,
        **options: Any,
    ) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("用户“%(username)s”不存在。") % {"username": username})
        if list_tokens:
            self._list(user)
            return
        if revoke is not None:
            self._revoke(user, revoke)
            return
        if not user.is_active:
            raise CommandError(_("用户“%(username)s”已停用，不能签发令牌。") % {"username": username})
        try:
            _token, raw = api_token_issue(actor=None, user=user, name=name, days=days)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        except OverflowError as error:
            raise CommandError(_("令牌有效期过长。")) from error
        self.stdout.write(raw)
        self.stderr.write(
            _("以上令牌只显示这一次，系统只保存其摘要，无法找回；请立即妥善保存。"),
            style_func=self.style.WARNING,
        )

    def _list(self, user: User) -> None:
        now = timezone.now()
        tokens = ApiToken.objects.filter(user=user).order_by("created_at", "pk")
        if not tokens:
            self.stderr.write(_("该用户没有任何令牌。"))
            return
        for token in tokens:
            if token.revoked_at is not None:
                state = _("已吊销")
            elif token.expires_at <= now:
                state = _("已过期")
            else:
                state = _("有效")
            expires = timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(f"{token.prefix}\t{state}\t{expires}\t{token.name}")

    def _revoke(self, user: User, prefix: str) -> None:
        if not prefix:
            raise CommandError(_("请给出要吊销的令牌前缀。"))
        matches = [
            token
            for token in ApiToken.objects.filter(user=user, revoked_at__isnull=True)
            if token.prefix.startswith(prefix)
        ]
        if not matches:
            raise CommandError(_("该用户没有以“%(prefix)s”开头的有效令牌。") % {"prefix": prefix})
        if len(matches) > 1:
            raise CommandError(
                _("前缀“%(prefix)s”匹配到%(count)d个令牌，请用 --list 查看后给出更长的前缀。")
                % {"prefix": prefix, "count": len(matches)}
            )
        api_token_revoke(actor=None, token=matches[0])
        self.stderr.write(_("令牌“%(prefix)s…”已吊销。") % {"prefix": matches[0].prefix}, style_func=self.style.SUCCESS)
