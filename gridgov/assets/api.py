"""公共资产 endpoints of /api/v1."""

from ninja import Router

router = Router(tags=["assets"])
