from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    INBOX = "inbox", _("站内消息")
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信")


class NoticeKind(models.TextChoices):
    NEW_CASE = "new_case", _("新事项")
    ASSIGNED = "assigned", _("转入待办")
    SLA_WARNING = "sla_warning", _("超时预警")
    SUPERVISION = "supervision", _("督办")
    EXTENSION = "extension", _("延期申请")
    CASE_UPDATE = "case_update", _("办理进展")
    LOGIN_CODE = "login_code", _("登录验证码")
    CONTRACT_ALERT = "contract_alert", _("合同提醒")
