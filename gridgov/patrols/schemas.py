"""Input and output schemas of the patrol API, one per operation."""

from datetime import datetime

from ninja import Field, Schema

from gridgov.patrols.services import ROUTE_POINTS_MAX


class PatrolStartIn(Schema):
    grid: str = Field(..., max_length=18, description="要巡查的网格编码（15位），须是本人负责的网格")


class CheckIn(Schema):
    item: str = Field(..., max_length=32, description="检查项编码，见 GET /patrols/check-items")
    result: str = Field(..., description="ok 正常 / problem 有问题 / na 不适用")
    note: str = Field("", max_length=200)


class FindingIn(Schema):
    category: str = Field(..., max_length=20, description="事项类别编码，如 0607")
    description: str = Field(..., min_length=1, max_length=2000)
    longitude: float | None = Field(None, ge=-180, le=180, description="WGS84经度，须在本次巡查的网格内")
    latitude: float | None = Field(None, ge=-90, le=90)
    address: str = Field("", max_length=200)
    check_item: str | None = Field(None, max_length=32, description="发现问题的检查项编码（可不填）")


class SettleIn(Schema):
    result: str = Field(..., min_length=1, max_length=2000, description="现场处置结果")


class FinishIn(Schema):
    notes: str = Field("", max_length=2000, description="巡查记录")
    route: list[list[float]] = Field(
        default_factory=list, description=f"巡查轨迹 [[经度, 纬度, Unix秒], …]，最多{ROUTE_POINTS_MAX}个点"
    )


class CheckItemOut(Schema):
    code: str
    name: str
    hint: str
    category_code: str


class CheckOut(Schema):
    item: str
    item_name: str
    result: str
    result_label: str
    note: str
    checked_at: datetime


class VisitOut(Schema):
    household_id: int | None
    place: str
    note: str
    visited_at: datetime


class FindingOut(Schema):
    id: int
    category: str
    category_name: str
    description: str
    longitude: float | None
    latitude: float | None
    address: str
    status: str
    status_label: str
    result: str
    case_id: int | None
    case_number: str | None
    photo_count: int
    found_at: datetime


class PatrolSummaryOut(Schema):
    id: int
    worker: str
    grid: str
    grid_name: str
    status: str
    status_label: str
    started_at: datetime
    ended_at: datetime | None
    check_count: int
    visit_count: int
    finding_count: int


class PatrolOut(Schema):
    id: int
    worker: str
    grid: str
    grid_name: str
    status: str
    status_label: str
    started_at: datetime
    ended_at: datetime | None
    notes: str
    route_points: int
    checks: list[CheckOut]
    visits: list[VisitOut]
    findings: list[FindingOut]


class FindingCaseOut(Schema):
    finding: FindingOut
    case_id: int
    case_number: str
    created: bool
