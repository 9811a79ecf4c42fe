"""居民服务 endpoints of /api/v1/portal: phone login by one-time code, and "my reports".

Residents of a mini-program or app sign in with `login/code` then `login/verify`, which
answers a bearer token (30 days) for the rest of the API — the same token as staff get,
so `/api/v1/cases` (submit, detail with the reporter's view of the timeline, rate,
reopen) works for them too. Nothing else personal is answered: the phone only masked.
"""

# No `from __future__ import annotations` here: django-ninja reads the annotations at import time.
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from gridgov.accounts.services import api_token_issue
from gridgov.portal.models import ResidentPhone
from gridgov.portal.selectors import my_reports, plain_status
from gridgov.portal.services import LoginThrottled, login_code_request, login_code_verify

RESIDENT_TOKEN_DAYS = 30

router = Router(tags=["portal"])


class ErrorOut(Schema):
    detail: str = Field(..., description="中文说明")


class CodeRequestIn(Schema):
    phone: str = Field(..., max_length=20, description="中国大陆手机号，11位")


class CodeSentOut(Schema):
    phone_masked: str = Field(..., description="脱敏手机号，如 138****5678")
    expires_at: datetime
    resend_after: int = Field(..., description="多少秒后可以重新获取")


class CodeVerifyIn(Schema):
    phone: str = Field(..., max_length=20)
    code: str = Field(..., min_length=6, max_length=6, description="短信中的6位验证码")


class TokenOut(Schema):
    token: str = Field(..., description="访问令牌：请求头 Authorization: Bearer <token>")
    expires_at: datetime
    phone_masked: str


class MyReportOut(Schema):
    id: int
    number: str
    title: str
    category: str
    status: str
    status_text: str = Field(..., description="给居民看的状态说明")
    submitted_at: datetime
    closed_at: datetime | None
    rating: str


def _client_ip(request: HttpRequest) -> str:
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or ""


@router.post(
    "/login/code",
    auth=None,
    response={202: CodeSentOut, 400: ErrorOut, 429: ErrorOut},
    summary="获取登录验证码",
    description="向手机号发送6位短信验证码，5分钟内有效；同一手机号每分钟1次、每小时10次，同一来源地址同样限制。",
)
def code_request(request: HttpRequest, payload: CodeRequestIn) -> Any:
    try:
        sent = login_code_request(phone=payload.phone, client_ip=_client_ip(request))
    except LoginThrottled as refusal:
        raise HttpError(429, " ".join(refusal.messages)) from refusal
    return Status(
        202,
        {"phone_masked": sent.identity.phone_masked, "expires_at": sent.expires_at, "resend_after": sent.resend_after},
    )


@router.post(
    "/login/verify",
    auth=None,
    response={200: TokenOut, 400: ErrorOut},
    summary="验证码登录",
    description="验证码正确则签发居民的访问令牌（30天）。每个验证码最多尝试5次。",
)
def code_verify(request: HttpRequest, payload: CodeVerifyIn) -> Any:
    user = login_code_verify(phone=payload.phone, code=payload.code)
    token, raw = api_token_issue(actor=user, user=user, name=_("居民验证码登录"), days=RESIDENT_TOKEN_DAYS)
    identity = ResidentPhone.objects.get(user=user)
    return {"token": raw, "expires_at": token.expires_at, "phone_masked": identity.phone_masked}


class ReportPagination(PageNumberPagination):
    def paginate_queryset(self, queryset: Any, pagination: Any, request: HttpRequest, **params: Any) -> Any:
        page = super().paginate_queryset(queryset, pagination, request, **params)
        page[self.items_attribute] = [
            {
                "id": case.pk,
                "number": case.number,
                "title": case.title,
                "category": case.category.name,
                "status": case.status,
                "status_text": plain_status(case.status),
                "submitted_at": case.submitted_at,
                "closed_at": case.closed_at,
                "rating": case.rating,
            }
            for case in page[self.items_attribute]
        ]
        return page


@router.get(
    "/my/reports",
    response={200: list[MyReportOut]},
    summary="我反映的问题",
    description="调用者本人反映的事项，最新的在前。详情、评价、重新办理见 /api/v1/cases。",
)
@paginate(ReportPagination, page_size=20)
def my_report_list(request: HttpRequest) -> Any:
    return my_reports(request.auth)  # type: ignore[attr-defined]
