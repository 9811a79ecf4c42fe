"""The JSON API at /api/v1 (OpenAPI at /api/v1/openapi.json).

Each app keeps its operations in its own `api.py` router; this module only
mounts them and answers errors in Chinese.

Authentication is the bearer token only: a browser session cookie is never
accepted, so the API needs no CSRF protection and a page cannot make the
browser call it on the user's behalf.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as InputError

from gridgov.api.auth import BearerToken
from gridgov.areas.api import router as areas_router
from gridgov.assets.api import router as assets_router
from gridgov.cases.api import indicators_router
from gridgov.cases.api import router as cases_router
from gridgov.cases.errors import CaseConflict
from gridgov.council.api import router as council_router
from gridgov.credits.api import router as credits_router
from gridgov.dashboard.api import router as dashboard_router
from gridgov.party.api import router as party_router
from gridgov.patrols.api import router as patrols_router
from gridgov.portal.api import router as portal_router
from gridgov.registry.api import households_router, residents_router
from gridgov.tasks.api import router as tasks_router

api = NinjaAPI(
    title="GridGov API",
    version="1.0.0",
    description="网融 · 党建引领基层治理综合服务平台接口",
    auth=BearerToken(),
    urls_namespace="api-v1",
)
api.add_router("/areas", areas_router)
api.add_router("/households", households_router)
api.add_router("/residents", residents_router)
api.add_router("/cases", cases_router)
api.add_router("/indicators", indicators_router)
api.add_router("/patrols", patrols_router)
api.add_router("/dashboard", dashboard_router)
api.add_router("/portal", portal_router)
api.add_router("/tasks", tasks_router)
api.add_router("/party", party_router)
api.add_router("/council", council_router)
api.add_router("/credits", credits_router)
api.add_router("/public-assets", assets_router)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    # One fixed body for every 404, so that "exists but out of scope" and
    # "does not exist" cannot be told apart, whatever message a selector used.
    return api.create_response(request, {"detail": _("对象不存在或无权查看。")}, status=404)


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(request, {"detail": _("缺少有效的访问令牌，或令牌已过期、已吊销。")}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="gridgov"'
    return response


@api.exception_handler(CaseConflict)
def conflict(request: HttpRequest, exc: CaseConflict) -> HttpResponse:
    # The state does not allow the action, or someone else changed it first; nothing was written.
    return api.create_response(request, {"detail": exc.message}, status=409)


@api.exception_handler(PermissionDenied)
def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    message = getattr(exc, "message", "") or str(exc) or _("无权进行此操作。")
    return api.create_response(request, {"detail": message}, status=403)


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": "".join(exc.messages)}, status=400)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = str(exc)
    if exc.status_code == 400 and message.startswith("Cannot parse request body"):
        message = _("请求体不是有效的JSON。")
    return api.create_response(request, {"detail": message}, status=exc.status_code)


_PARAMETER_SOURCES = frozenset({"body", "query", "path", "header", "cookie", "form", "file"})


def _input_problem(kind: str) -> str:
    if kind == "missing":
        return _("缺少必填项")
    if kind in {"string_too_long", "too_long"}:
        return _("过长")
    if kind in {"string_too_short", "too_short"}:
        return _("过短")
    if kind.startswith(("greater_than", "less_than")):
        return _("超出允许范围")
    if kind == "json_invalid":
        return _("不是有效的JSON")
    if kind.endswith(("_type", "_parsing")):
        return _("类型或格式不正确")
    return _("不符合要求")


@api.exception_handler(InputError)
def invalid_input(request: HttpRequest, exc: InputError) -> HttpResponse:
    # Schema errors in Chinese, field by field; the submitted values are never echoed
    # (a request may carry a phone number).
    errors: list[dict[str, Any]] = []
    problems: list[str] = []
    for error in exc.errors:
        loc = [part for part in error.get("loc", ()) if isinstance(part, str | int)]
        if loc and loc[0] in _PARAMETER_SOURCES:
            # body errors name the parameter next ("payload"); other sources name the field
            loc = loc[2:] if loc[0] == "body" and len(loc) > 1 else loc[1:]
        kind = str(error.get("type", ""))
        errors.append({"loc": loc, "type": kind, "msg": str(error.get("msg", ""))})
        field = ".".join(str(part) for part in loc) or _("请求体")
        problems.append(_("%(field)s（%(problem)s）") % {"field": field, "problem": _input_problem(kind)})
    detail = _("请求内容有误：%(problems)s。") % {"problems": "；".join(problems)}
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)
