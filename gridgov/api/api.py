"""The JSON API at /api/v1 (OpenAPI at /api/v1/openapi.json).

Each app keeps its operations in its own `api.py` router; this module only
mounts them and answers errors in Chinese.

Authentication is the bearer token only: a browser session cookie is never
accepted, so the API needs no CSRF protection and a page cannot make the
browser call it on the user's behalf.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from gridgov.api.auth import BearerToken
from gridgov.areas.api import router as areas_router
from gridgov.registry.api import households_router, residents_router

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
