from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeUnit(models.TextChoices):
    """How a time limit is counted."""

    WORKING_HOUR = "working_hour", _("工作时")
    WORKING_DAY = "working_day", _("工作日")
    NATURAL_HOUR = "natural_hour", _("自然小时")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    CRITICAL = "critical", _("特急")


class Tier(models.TextChoices):
    """Levels a case climbs: 小事不出网格、大事不出社区、难事不出镇街, then departments."""

    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    TOWN = "town", _("镇街")
    DEPARTMENT = "department", _("职能部门")


TIER_ORDER: tuple[str, ...] = (Tier.GRID, Tier.COMMUNITY, Tier.TOWN, Tier.DEPARTMENT)


class CaseKind(models.TextChoices):
    CONSULTATION = "consultation", _("咨询")
    COMPLAINT = "complaint", _("投诉")
    SUGGESTION = "suggestion", _("建议")
    HELP = "help", _("求助")
    PATROL_FINDING = "patrol_finding", _("巡查发现")


class CaseSource(models.TextChoices):
    RESIDENT = "resident", _("居民上报")
    GRID_WORKER = "grid_worker", _("网格员上报")
    HOTLINE = "hotline", _("12345热线")
    WALK_IN = "walk_in", _("来访登记")
    API = "api", _("接口接入")
    PATROL = "patrol", _("巡查发现")


class CaseStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待受理")
    HANDLING = "handling", _("办理中")
    DISPATCHED = "dispatched", _("待签收")
    REPORTED = "reported", _("待核查")
    SUSPENDED = "suspended", _("已挂起")
    CLOSED = "closed", _("已办结")
    VOIDED = "voided", _("已作废")


OPEN_STATUSES: frozenset[str] = frozenset(
    {CaseStatus.SUBMITTED, CaseStatus.HANDLING, CaseStatus.DISPATCHED, CaseStatus.REPORTED, CaseStatus.SUSPENDED}
)
# Statuses whose clock runs (the sweep looks only at these).
TIMED_STATUSES: frozenset[str] = OPEN_STATUSES - {CaseStatus.SUSPENDED}


class CloseReason(models.TextChoices):
    FIXED = "fixed", _("已解决")
    NOT_FIXED = "not_fixed", _("未解决（已说明）")
    DUPLICATE = "duplicate", _("重复件（已合并）")
    NOT_RESPONSIBLE = "not_responsible", _("非本辖区/非职责范围")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY_SATISFIED = "basically_satisfied", _("基本满意")
    DISSATISFIED = "dissatisfied", _("不满意")


# 满意率 counts 满意 and 基本满意 as satisfied, as the 12345 assessments do.
SATISFIED_RATINGS: frozenset[str] = frozenset({Rating.SATISFIED, Rating.BASICALLY_SATISFIED})


class SlaLight(models.TextChoices):
    GREEN = "green", _("正常")
    YELLOW = "yellow", _("预警")
    RED = "red", _("超时")


class StepAction(models.TextChoices):
    SUBMIT = "submit", _("登记")
    ACCEPT = "accept", _("受理")
    ESCALATE = "escalate", _("上报上一级")
    AUTO_ESCALATE = "auto_escalate", _("超时自动上报")
    DISPATCH = "dispatch", _("派遣部门")
    SIGN_FOR = "sign_for", _("签收")
    SEND_BACK = "send_back", _("回退")
    REQUEST_EXTENSION = "request_extension", _("申请延期")
    APPROVE_EXTENSION = "approve_extension", _("同意延期")
    REJECT_EXTENSION = "reject_extension", _("不同意延期")
    REPORT_BACK = "report_back", _("办理反馈")
    VERIFY_PASS = "verify_pass", _("核查通过")
    VERIFY_FAIL = "verify_fail", _("核查未通过")
    CLOSE = "close", _("结案")
    RATE = "rate", _("评价")
    REOPEN = "reopen", _("重新办理")
    SUSPEND = "suspend", _("挂起")
    RESUME = "resume", _("恢复办理")
    VOID = "void", _("作废")
    WARN = "warn", _("超时预警")
    BREACH = "breach", _("超时")
    NOTE = "note", _("记事")
