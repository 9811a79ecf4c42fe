"""Staff pages for cases. Thin: reads through selectors, writes through services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from gridgov.cases.rules import is_reporter
from gridgov.cases.selectors import case_actions_for, case_get_for_user, case_timeline


@login_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = case_get_for_user(request.user, case_id)
    for_reporter = is_reporter(request.user, case) and not case_actions_for(request.user, case)
    return render(
        request,
        "cases/detail.html",
        {
            "case": case,
            "steps": case_timeline(case, for_reporter=for_reporter),
            "actions": case_actions_for(request.user, case),
        },
    )
