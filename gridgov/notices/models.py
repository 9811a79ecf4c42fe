"""Notifications: an outbox written in the same transaction as the change that
causes it, delivered by the worker to the in-app inbox and pluggable channels."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.notices.choices import Channel, NoticeKind


class Notice(models.Model):
    """One message to one person on one channel, waiting in the outbox until delivered.

    Rows are written inside the transaction of the state change that causes
    them, so a notice exists if and only if that change committed.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices", verbose_name=_("接收人")
    )
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices, default=Channel.INBOX)
    kind = models.CharField(_("类型"), max_length=20, choices=NoticeKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=Q(delivered_at__isnull=True), name="notice_undelivered_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class InboxMessage(models.Model):
    """A delivered in-app message; one per inbox notice, so re-delivery is harmless."""

    notice = models.OneToOneField(Notice, on_delete=models.CASCADE, related_name="inbox_message")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_messages", verbose_name=_("接收人")
    )
    kind = models.CharField(_("类型"), max_length=20, choices=NoticeKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内消息")
        verbose_name_plural = _("站内消息")
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="inbox_user_unread_idx")]

    def __str__(self) -> str:
        return self.title
