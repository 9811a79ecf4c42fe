"""Input and output schemas of the case endpoints of /api/v1 (one per operation).

The outputs are plain data: `gridgov.cases.api` fills them for the caller, so
that what a caller may see (anonymity, the reporter's view of the timeline)
is decided in one place.
"""

# No `from __future__ import annotations` here: django-ninja reads the
# Query[...] parameter types at import time.
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

# --- Errors ----------------------------------------------------------------------


class ErrorOut(Schema):
    detail: str = Field(..., description="中文说明")


class FieldErrorOut(Schema):
    loc: list[str | int]
    type: str
    msg: str


class ValidationErrorOut(Schema):
    detail: str = Field(..., description="中文说明")
    errors: list[FieldErrorOut] = Field(default_factory=list, description="逐字段的错误（不回显提交的值）")


# The error responses of a write endpoint, for `response={201: …, **WRITE_ERRORS}`.
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut}


# --- Submitting ------------------------------------------------------------------


class CaseIn(Schema):
    kind: str = Field(
        ...,
        description="事项类型：consultation 咨询、complaint 投诉、suggestion 建议、help 求助、patrol_finding 巡查发现",
    )
    category: str = Field(..., max_length=20, description="事项类别编码，如 0101（暴露垃圾）")
    title: str = Field(..., max_length=100, description="标题")
    description: str = Field(..., max_length=5000, description="问题描述")
    source: str | None = Field(
        None,
        description="来源。只有居民身份的账号一律为 resident（居民上报）；工作人员可填 grid_worker、patrol、"
        "hotline、walk_in 或 api（默认）",
    )
    urgency: str = Field("normal", description="紧急程度：normal 一般（默认）、urgent 紧急、critical 特急")
    longitude: float | None = Field(None, description="经度（与纬度同时填写，或改填 grid）")
    latitude: float | None = Field(None, description="纬度")
    crs: str = Field("wgs84", description="经纬度的坐标系：wgs84（含CGCS2000，默认）或 gcj02（高德、腾讯、微信坐标）")
    grid: str | None = Field(None, max_length=18, description="所在网格编码（不填经纬度时必填）")
    address: str = Field("", max_length=200, description="地点")
    reporter_name: str = Field("", max_length=50, description="反映人姓名")
    reporter_phone: str = Field("", max_length=30, description="反映人电话（加密保存，仅以掩码返回）")
    is_anonymous: bool = Field(False, description="对办理人匿名：只有反映人本人能看到姓名和电话")
    external_ref: str = Field("", max_length=64, description="外部系统编号（同一来源内唯一，重复提交返回原事项）")


# --- Reading ---------------------------------------------------------------------


class CaseListQuery(Schema):
    status: str | None = Field(
        None, description="状态：submitted、handling、dispatched、reported、suspended、closed、voided"
    )
    category: str | None = Field(None, max_length=20, description="类别编码，含其下级类别")
    area: str | None = Field(None, max_length=18, description="区域编码（须在可见范围内，否则404）")
    overdue: bool | None = Field(None, description="true：计时中且已超时（红灯或已过本环节时限）；false：其余")
    mine: bool = Field(False, description="只看我当前办理的")
    queue: bool = Field(False, description="只看等我处理的（待受理、待签收、待核查、待审批延期等）")


class CaseSummaryOut(Schema):
    id: int
    number: str = Field(..., description="事项编号")
    kind: str
    kind_label: str
    source: str
    source_label: str
    category_code: str
    category_name: str
    urgency: str
    urgency_label: str
    title: str
    status: str
    status_label: str
    tier: str
    tier_label: str
    grid_code: str
    grid_name: str
    address: str
    sla_light: str
    sla_light_label: str
    due_at: datetime | None = Field(..., description="本环节时限")
    close_due_at: datetime = Field(..., description="办结时限")
    submitted_at: datetime
    closed_at: datetime | None


class CaseOut(CaseSummaryOut):
    description: str
    longitude: float | None
    latitude: float | None
    reporter_name: str | None = Field(..., description="反映人；匿名事项只对反映人本人显示")
    reporter_phone_masked: str | None = Field(..., description="反映人电话（掩码）；匿名事项只对反映人本人显示")
    is_anonymous: bool
    external_ref: str
    department_code: str | None
    department_name: str | None
    first_response_at: datetime | None
    reported_at: datetime | None
    close_reason: str
    close_reason_label: str
    closed_tier: str
    merged_into_number: str | None
    rating: str
    rating_label: str
    rated_at: datetime | None
    reopen_count: int
    extension_requested: Decimal | None
    extension_reason: str
    version: int = Field(..., description="每次变更加一")


class AttachmentOut(Schema):
    id: int
    step_seq: int
    original_name: str
    content_type: str
    size: int
    created_at: datetime


class StepOut(Schema):
    seq: int
    action: str
    action_label: str
    actor: str = Field(..., description="操作人；反映人看到的是工作人员的岗位而不是姓名")
    at: datetime
    from_status: str
    to_status: str
    to_status_label: str
    from_tier: str
    to_tier: str
    to_tier_label: str
    note: str
    internal: bool
    detail: dict[str, Any]


class CaseDetailOut(CaseOut):
    handling_area_code: str
    handling_area_name: str
    owner_name: str | None = Field(..., description="当前办理人；反映人看不到")
    owned_by_me: bool
    actions: list[str] = Field(..., description="调用者现在可以执行的操作（POST /cases/{id}/{action}）")
    steps: list[StepOut]
    attachments: list[AttachmentOut]


# --- Acting ----------------------------------------------------------------------


class NoteIn(Schema):
    note: str = Field("", max_length=2000, description="说明（可不填）")


class ReasonIn(Schema):
    reason: str = Field(..., max_length=2000, description="理由（必填）")


class DispatchIn(Schema):
    department: str = Field(..., max_length=32, description="承办部门编码")
    note: str = Field("", max_length=2000, description="派遣说明")


class ReportBackIn(Schema):
    result: str = Field(..., max_length=2000, description="办理结果")


class ExtensionRequestIn(Schema):
    amount: Decimal = Field(..., gt=0, le=999, description="延期时长，按事项时限规则的计时单位")
    reason: str = Field(..., max_length=500, description="延期理由")


class ExtensionDecisionIn(Schema):
    approve: bool = Field(..., description="true 同意，false 不同意")
    note: str = Field("", max_length=2000, description="审批意见（不同意时必填）")


class VerifyIn(Schema):
    passed: bool = Field(..., description="核查是否通过")
    note: str = Field("", max_length=2000, description="核查意见（未通过或未解决时必填）")
    close_reason: str = Field(
        "fixed", description="通过时的结案方式：fixed 已解决（默认）或 not_fixed 未解决（已说明）"
    )


class CloseIn(Schema):
    reason: str = Field(
        ..., description="结案方式：duplicate 重复件、not_responsible 非职责范围、not_fixed 未解决（已说明）"
    )
    note: str = Field(..., max_length=2000, description="结案说明")
    merged_into: str | None = Field(None, max_length=20, description="重复件合并到的事项编号")


class RateIn(Schema):
    rating: str = Field(..., description="satisfied 满意、basically_satisfied 基本满意、dissatisfied 不满意")
    note: str = Field("", max_length=500, description="评价意见")


# --- Indicators ------------------------------------------------------------------


class IndicatorQuery(Schema):
    area: str = Field(..., max_length=18, description="区域编码（网格、社区、镇街或县）")
    date_from: date = Field(..., alias="from", description="起始日期 YYYY-MM-DD（含）")
    date_to: date = Field(..., alias="to", description="截止日期 YYYY-MM-DD（含）")
    department: str | None = Field(None, max_length=32, description="只统计该部门（部门编码）")
    worker: int | None = Field(None, description="只统计该工作人员（用户ID）")


class IndicatorsOut(Schema):
    intake: int = Field(..., description="受理量")
    due_to_close: int = Field(..., description="应结案数")
    closed: int = Field(..., description="结案数")
    closed_on_time: int = Field(..., description="按期结案数")
    close_rate: float | None = Field(..., description="结案率（%）")
    on_time_rate: float | None = Field(..., description="按期结案率（%）")
    reopened: int = Field(..., description="返工数")
    closes: int = Field(..., description="结案次数（返工率分母）")
    rework_rate: float | None = Field(..., description="返工率（%）")
    rated: int = Field(..., description="已评价数")
    satisfied: int = Field(..., description="满意与基本满意数")
    satisfaction_rate: float | None = Field(..., description="满意率（%）")
    first_response_median_minutes: float | None = Field(..., description="响应时长中位数（分钟）")
    first_response_p90_minutes: float | None = Field(..., description="响应时长P90（分钟）")
    time_to_close_median_hours: float | None = Field(..., description="办结用时中位数（小时）")
    time_to_close_p90_hours: float | None = Field(..., description="办结用时P90（小时）")
    overdue_open: int = Field(..., description="在办超时数")
    tier_outcome: dict[str, int] = Field(..., description="各层级结案数")


# --- The 12345 hand-off ----------------------------------------------------------


class HotlineOrderIn(Schema):
    order_no: str = Field(..., description="工单编号（作为外部编号，重复导入不会重复建件）")
    received_at: datetime | None = Field(None, description="受理时间")
    kind: str = Field(
        ..., description="诉求类型：咨询、投诉、建议、求助（或 consultation、complaint、suggestion、help）"
    )
    category: str = Field(..., description="事项类别编码或名称")
    title: str = Field(..., description="标题")
    description: str = Field(..., description="诉求内容")
    urgency: str = Field("", description="紧急程度：一般（默认）、紧急、特急（或 normal、urgent、critical）")
    longitude: float | None = Field(None, description="经度")
    latitude: float | None = Field(None, description="纬度")
    grid: str = Field("", description="所属网格编码（不填经纬度时必填）")
    address: str = Field("", description="地址")
    reporter_name: str = Field("", description="来电人")
    reporter_phone: str = Field("", description="来电号码（加密保存，不会回显）")
    is_anonymous: bool = Field(False, description="是否匿名")


class HotlineRowErrorOut(Schema):
    row: int = Field(..., description="行号：Excel 的行号（表头为第1行），或 JSON 列表中的序号（从1起）")
    field: str = Field(..., description="字段名；为空表示整行的问题")
    column: str = Field(..., description="列名（中文表头）")
    message: str


class HotlineRowCaseOut(Schema):
    row: int
    order_no: str
    case_id: int
    case_number: str
    created: bool = Field(..., description="true 本次新建，false 此前已导入")


class HotlineReportOut(Schema):
    rows: int = Field(..., description="收到的工单数")
    created: int = Field(..., description="新建的事项数")
    already_present: int = Field(..., description="此前已导入、本次未重复建件的工单数")
    error_count: int = Field(..., description="错误总数")
    errors: list[HotlineRowErrorOut] = Field(..., description="错误明细（最多列出1000条）")
    cases: list[HotlineRowCaseOut]
