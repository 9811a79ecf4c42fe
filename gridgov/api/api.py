"""The JSON API at /api/v1 (OpenAPI at /api/v1/openapi.json).

Each app keeps its operations in its own `api.py` router; this module only
mounts them."""

from ninja import NinjaAPI

from gridgov.api.auth import BearerToken
from gridgov.areas.api import router as areas_router

api = NinjaAPI(
    title="GridGov API",
    version="1.0.0",
    description="网融 · 党建引领基层治理综合服务平台接口",
    auth=BearerToken(),
    urls_namespace="api-v1",
)
api.add_router("/areas", areas_router)
