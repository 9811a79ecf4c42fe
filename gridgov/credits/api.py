"""美德信用积分 endpoints of /api/v1."""

from ninja import Router

router = Router(tags=["credits"])
