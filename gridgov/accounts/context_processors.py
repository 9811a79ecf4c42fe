from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from gridgov.accounts.choices import Capability
from gridgov.accounts.scope import user_has_capability


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Values every page template needs."""
    return {
        # One query answers every capability of the request's user (scope_for caches them all).
        "can_manage_case_rules": user_has_capability(request.user, Capability.MANAGE_CASE_RULES),
        "can_view_dashboard": user_has_capability(request.user, Capability.VIEW_CASES),
        "map_tile_url": settings.MAP_TILE_URL,
        "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
    }
