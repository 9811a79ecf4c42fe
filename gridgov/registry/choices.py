from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class Relation(models.TextChoices):
    """Relation to the head of household (与户主关系)."""

    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    SIBLING = "sibling", _("兄弟姐妹")
    OTHER = "other", _("其他")


class Residence(models.TextChoices):
    """Household registration (户籍) against actual residence (人户关系)."""

    REGISTERED_LIVING = "registered_living", _("户在人在")
    REGISTERED_AWAY = "registered_away", _("户在人不在")
    NOT_REGISTERED_LIVING = "not_registered_living", _("人在户不在（流动人口）")


class TagTarget(models.TextChoices):
    HOUSEHOLD = "household", _("户")
    PERSON = "person", _("人")


class AccessAction(models.TextChoices):
    VIEW = "view", _("查看")
    REVEAL = "reveal", _("查看明文")
    EXPORT = "export", _("导出")
    DENIED = "denied", _("拒绝访问")
    ROTATE = "rotate", _("密钥轮换")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("已上传")
    VALIDATING = "validating", _("校验中")
    VALIDATED = "validated", _("校验完成")
    COMMITTING = "committing", _("导入中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")
    CANCELLED = "cancelled", _("已取消")


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", _("有错误则全部不导入")
    VALID_ROWS = "valid_rows", _("只导入无错误的行")
