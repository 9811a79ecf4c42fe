"""Residents' phone identities, their one-time login codes, and the QR token of each compound.

A resident's phone number is personal data: it is stored only SM4-encrypted,
with an HMAC-SM3 blind index for lookup and a mask for display (never in
`accounts.User.phone`). Login codes are stored as keyed hashes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridgov.areas.models import Compound


class CompoundQr(models.Model):
    """The unguessable token printed (as a QR code) on a compound's poster: /r/c/<token>/."""

    compound = models.OneToOneField(
        Compound, on_delete=models.CASCADE, related_name="portal_qr", verbose_name=_("小区")
    )
    token = models.CharField(_("二维码令牌"), max_length=32, unique=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("小区二维码")
        verbose_name_plural = _("小区二维码")

    def __str__(self) -> str:
        return str(self.compound)


class ResidentPhone(models.Model):
    """The phone a resident signs in with, linked one to one to their account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resident_phone", verbose_name=_("账号")
    )
    phone_ciphertext = models.CharField(_("手机号（密文）"), max_length=200)
    phone_index = models.CharField(_("手机号索引"), max_length=64, unique=True)
    phone_masked = models.CharField(_("手机号"), max_length=20)
    compound = models.ForeignKey(
        Compound,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("常用小区"),
        help_text=_("居民最近一次扫码进入的小区，“我的地址”即此小区。"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    verified_at = models.DateTimeField(_("最近验证时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("居民手机号")
        verbose_name_plural = _("居民手机号")

    def __str__(self) -> str:
        return self.phone_masked


class LoginCode(models.Model):
    """One 6-digit code sent by SMS. Only a keyed hash of it is kept; the client IP only as a blind index."""

    identity = models.ForeignKey(
        ResidentPhone, on_delete=models.CASCADE, related_name="login_codes", verbose_name=_("手机号")
    )
    ip_index = models.CharField(_("来源地址索引"), max_length=64)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("发送时间"))
    expires_at = models.DateTimeField(_("失效时间"))
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("登录验证码")
        verbose_name_plural = _("登录验证码")
        indexes = [
            models.Index(fields=["identity", "created_at"], name="portal_code_identity_idx"),
            models.Index(fields=["ip_index", "created_at"], name="portal_code_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.identity} @ {self.created_at:%Y-%m-%d %H:%M}"
