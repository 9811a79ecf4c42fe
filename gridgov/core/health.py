"""Liveness for load balancers and monitoring: answers without touching the database,
so it also serves as the benchmarks' floor for what the server stack alone costs."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")
