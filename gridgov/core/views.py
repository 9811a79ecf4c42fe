from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A Chinese page instead of Django's English CSRF explanation."""
    return render(request, "403_csrf.html", status=403)
