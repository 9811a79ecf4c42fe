"""`AssetConflict` → 409, `AssetForbidden` → 403; bad input is a `ValidationError` (400)."""

from __future__ import annotations

from gridgov.cases.errors import CaseConflict, CaseForbidden


class AssetConflict(CaseConflict):
    pass


class AssetForbidden(CaseForbidden):
    pass
