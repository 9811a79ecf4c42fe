"""Login throttling policy on top of django-axes."""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.http import HttpRequest


class OwnAttemptsResetHandler(AxesDatabaseHandler):
    """On a successful sign-in forget only the signed-in account's own failures.

    The stock handler deletes every failure matching the request's lockout
    parameters, the IP address included: an attacker with any valid account
    could then sign in after every few guesses at someone else's password and
    never reach the limit.
    """

    def reset_user_attempts(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        username = get_client_username(request, credentials)
        if not username:
            return 0
        deleted, _ = AccessAttempt.objects.filter(username=username).delete()
        return deleted
